// Package markup converts issue and comment bodies between canonical Markdown
// and Jira's two body formats, Atlassian Document Format (Cloud, REST v3) and
// wiki markup (Data Center/Server), and Asana rich text (html_notes,
// html_text; see MarkdownToAsana).
//
// Every conversion goes through one canonical form: the subset of ADF that
// Markdown can express. Readers (Markdown via goldmark, wiki, ADF itself)
// are normalised into it, degrading what it cannot hold to readable text;
// writers render it and check each paragraph by reading it back, dropping
// marks that would not survive. So after one round trip through either
// Jira format a body is a fixed point: converting it again changes nothing.
//
// A single newline inside a Markdown paragraph becomes a hard break, as
// GitHub and Jira both show it as a line break.
package markup

// Node is one node of an Atlassian Document Format document (Jira Cloud REST v3 bodies and comments).
type Node struct {
	Type    string         `json:"type"`
	Attrs   map[string]any `json:"attrs,omitempty"`
	Content []*Node        `json:"content,omitempty"`
	Text    string         `json:"text,omitempty"`
	Marks   []Mark         `json:"marks,omitempty"`
	Version int            `json:"version,omitempty"` // 1 on the doc node only
}

// Mark is a formatting mark on an ADF text node.
type Mark struct {
	Type  string         `json:"type"`
	Attrs map[string]any `json:"attrs,omitempty"`
}

// Options customise conversions; the zero value is usable.
type Options struct {
	// MentionID maps a Markdown mention "@login" to the tracker's user id (Cloud accountId, DC username); ok=false leaves "@login" as text.
	MentionID func(name string) (id string, ok bool)
	// MentionName maps a user id back to the name written as "@name" in Markdown; ok=false writes the mention's display text.
	MentionName func(id string) (name string, ok bool)
}

// MarkdownToADF converts Markdown (CommonMark with GFM tables and
// strikethrough) to an ADF document; it never returns nil. What ADF cannot
// hold degrades to text: images become links to the image, raw HTML stays
// as text (HTML comments are dropped). For empty Markdown the doc has no
// content, and since Content is omitempty its JSON lacks "content", which
// Jira rejects: send no body (null) when len(doc.Content) == 0.
func MarkdownToADF(md string, o Options) *Node {
	return normalize(fromMarkdown(cleanText(md), o))
}

// ADFToMarkdown converts an ADF document to Markdown; a nil doc gives "".
// Nodes Markdown cannot express degrade to readable text (panels become
// block quotes, status/emoji/date nodes their text, unknown nodes their
// text content); marks that would not survive a re-parse are dropped.
func ADFToMarkdown(doc *Node, o Options) string {
	if doc == nil {
		return ""
	}
	return toMarkdown(doc, o, normalize)
}

// toMarkdown renders doc, canonicalised by norm, as Markdown.
func toMarkdown(doc *Node, o Options, norm func(*Node) *Node) string {
	n := norm(doc)
	w := &mdWriter{o: o}
	md := w.blocks(n.Content)
	if hasEmptyItem(n.Content) && w.blocks(norm(fromMarkdown(cleanText(md), o)).Content) != md {
		// CommonMark ends an item at a blank line after an empty
		// first line, and goldmark closes enclosing lists after an
		// empty item in places; where the empty items do not read
		// back, they go rather than reshaping the lists around them.
		md = w.blocks(norm(&Node{Type: "doc", Content: dropEmptyItems(n.Content)}).Content)
	}
	return md
}

// MarkdownToWiki converts Markdown to Jira Data Center/Server wiki markup.
// Wiki list items hold a single paragraph plus nested lists, so further
// blocks in an item join its text as lines; list start numbers are lost.
// Headings inside quotes stay headings ({quote} holds them; ADF does not).
func MarkdownToWiki(md string, o Options) string {
	return adfToWiki(fromMarkdown(cleanText(md), o))
}

// WikiToMarkdown converts Jira wiki markup to Markdown.
func WikiToMarkdown(wiki string, o Options) string {
	return toMarkdown(parseWiki(wiki, o), o, normalizeWiki)
}

func adfToWiki(doc *Node) string {
	w := &wikiWriter{}
	return w.blocks(normalizeWiki(doc).Content)
}
