package markup

import (
	"encoding/xml"
	"fmt"
	"html"
	"regexp"
	"strings"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Asana rich text (a task's html_notes, a story's html_text) is XML in a
// <body> root drawn from a fixed set of tags: strong, em, u, s, code and a
// inline; h1, h2 (one line, inline tags only), ul/ol/li, pre, blockquote
// and hr as blocks. There is no paragraph tag and no <br>: line breaks are
// newlines in the text, so paragraphs are written apart by a blank line.
// Lists hold no headings, quotes or code blocks, and quotes, headings and
// code blocks hold no lists; what does not fit degrades to text lines.
// Tables are written as "a | b" lines: Asana announced <table> for some
// objects but documents no table for task notes or comments, and a tag
// it does not accept fails the whole write. Tables read from Asana are
// read as such and end up as the same lines.
//
// Both directions go through the same canonical ADF as the Jira formats,
// so a body converted Markdown → Asana → Markdown is a fixed point after
// the first round trip. What Asana cannot carry: heading levels below 2
// (h3..h6 become h2), code block languages, ordered list start numbers,
// underline (kept as its text), link titles, and mentions (written as
// their "@name" text; Asana's own mention links read back as links).

// MarkdownToAsana converts Markdown to Asana rich text (html_notes or
// html_text), always a "<body>…</body>" document. An empty body is
// "<body></body>".
func MarkdownToAsana(md string) (string, error) {
	return writeAsana(MarkdownToADF(md, Options{})), nil
}

// writeAsana renders a canonical doc as Asana rich text.
func writeAsana(doc *Node) string {
	w := &asanaWriter{}
	w.sb.WriteString("<body>")
	w.blocks(doc.Content)
	w.sb.WriteString("</body>")
	return w.sb.String()
}

// AsanaToMarkdown converts Asana rich text to Markdown. The input is
// parsed as HTML (golang.org/x/net/html), so it need not be well formed;
// tags outside Asana's set keep their text (their children are read as
// if the tag were not there), comments are dropped.
func AsanaToMarkdown(rich string) (string, error) {
	doc, err := parseAsana(rich)
	if err != nil {
		return "", err
	}
	// HTML can nest what Asana's rich text cannot (a list in a quote):
	// reading back what the writer makes of it applies the same
	// degradations a trip from Markdown does, so the result is a fixed
	// point. Rich text the writer makes again unchanged (what tracksync
	// wrote, and most people's) would read back as it did: the second
	// parse, half the cost (its tokenizer's buffers), is skipped.
	if w := writeAsana(normalize(doc)); w != rich {
		if doc, err = parseAsana(w); err != nil {
			return "", err
		}
	}
	return ADFToMarkdown(doc, Options{}), nil
}

// AsanaPlainText is the plain text Asana derives from rich text (a task's
// notes from its html_notes, a story's or status update's text from its
// html_text): the character data, a line break before each list item
// after the first. Reading stops at the first malformed token.
func AsanaPlainText(rich string) string {
	d := xml.NewDecoder(strings.NewReader(rich))
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return b.String()
		}
		switch x := tok.(type) {
		case xml.CharData:
			b.Write(x)
		case xml.StartElement:
			if x.Name.Local == "li" && b.Len() > 0 {
				b.WriteString("\n")
			}
		}
	}
}

// ---- writer ----

type asanaWriter struct {
	sb strings.Builder
}

// xmlEscape escapes text for XML and replaces the characters XML 1.0 does
// not allow (Asana rejects a body holding them).
func xmlEscape(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0xFFFE || r == 0xFFFF || r >= 0xD800 && r <= 0xDFFF {
			return '\uFFFD'
		}
		return r
	}, s)
	return html.EscapeString(s)
}

func (w *asanaWriter) blocks(nodes []*Node) {
	prevPara := false
	for _, n := range nodes {
		isPara := n.Type == "paragraph" || n.Type == "table"
		if isPara && prevPara {
			w.sb.WriteString("\n\n")
		}
		w.block(n)
		prevPara = isPara
	}
}

func (w *asanaWriter) block(n *Node) {
	switch n.Type {
	case "paragraph":
		w.inline(n.Content)
	case "heading":
		tag := "h2"
		if intAttr(n.Attrs, "level", 1) <= 1 {
			tag = "h1"
		}
		w.sb.WriteString("<" + tag + ">")
		w.inline(n.Content)
		w.sb.WriteString("</" + tag + ">")
	case "codeBlock":
		w.sb.WriteString("<pre>")
		w.sb.WriteString(xmlEscape(plainText(n)))
		w.sb.WriteString("</pre>")
	case "blockquote":
		w.sb.WriteString("<blockquote>")
		w.inline(flattenBlocks(n.Content))
		w.sb.WriteString("</blockquote>")
	case "bulletList", "orderedList":
		w.list(n)
	case "rule":
		w.sb.WriteString("<hr/>")
	case "table":
		w.inline(flattenBlocks([]*Node{n}))
	}
}

func (w *asanaWriter) list(n *Node) {
	tag := "ul"
	if n.Type == "orderedList" {
		tag = "ol"
	}
	w.sb.WriteString("<" + tag + ">")
	for _, it := range n.Content {
		w.sb.WriteString("<li>")
		// An item holds inline text and nested lists only.
		var text []*Node
		flush := func() {
			if len(text) > 0 {
				w.inline(text)
				text = nil
			}
		}
		for _, k := range it.Content {
			switch k.Type {
			case "bulletList", "orderedList":
				flush()
				w.list(k)
			default:
				if len(text) > 0 {
					text = append(text, &Node{Type: "hardBreak"}, &Node{Type: "hardBreak"})
				}
				text = append(text, flattenBlocks([]*Node{k})...)
			}
		}
		flush()
		w.sb.WriteString("</li>")
	}
	w.sb.WriteString("</" + tag + ">")
}

// flattenBlocks turns canonical blocks into inline content, blocks apart
// by a blank line (two hard breaks), lists as "• item" / "1. item" lines
// and code blocks as lines of code.
func flattenBlocks(nodes []*Node) []*Node {
	var out []*Node
	sep := func() {
		if len(out) > 0 {
			out = append(out, &Node{Type: "hardBreak"}, &Node{Type: "hardBreak"})
		}
	}
	var lines func(n *Node, acc *[]*Node)
	lines = func(n *Node, acc *[]*Node) {
		num := intAttr(n.Attrs, "order", 1)
		for _, it := range n.Content {
			marker := "• "
			if n.Type == "orderedList" {
				marker = itoa(num) + ". "
				num++
			}
			if k := len(*acc); k > 0 && (*acc)[k-1].Type != "hardBreak" {
				*acc = append(*acc, &Node{Type: "hardBreak"})
			}
			*acc = append(*acc, &Node{Type: "text", Text: marker})
			for i, k := range it.Content {
				if k.Type == "bulletList" || k.Type == "orderedList" {
					lines(k, acc)
					continue
				}
				if i > 0 {
					*acc = append(*acc, &Node{Type: "hardBreak"})
				}
				*acc = append(*acc, flattenBlocks([]*Node{k})...)
			}
		}
	}
	for _, n := range nodes {
		switch n.Type {
		case "paragraph", "heading":
			sep()
			out = append(out, n.Content...)
		case "codeBlock":
			sep()
			for i, l := range strings.Split(plainText(n), "\n") {
				if i > 0 {
					out = append(out, &Node{Type: "hardBreak"})
				}
				out = append(out, textNodes(l, []Mark{{Type: "code"}})...)
			}
		case "bulletList", "orderedList":
			sep()
			lines(n, &out)
		case "blockquote":
			sep()
			out = append(out, flattenBlocks(n.Content)...)
		case "table":
			sep()
			for k, r := range n.Content {
				if k > 0 {
					out = append(out, &Node{Type: "hardBreak"})
				}
				for i, c := range r.Content {
					if i > 0 {
						out = append(out, &Node{Type: "text", Text: " | "})
					}
					if len(c.Content) > 0 {
						out = append(out, c.Content[0].Content...)
					}
				}
			}
		}
	}
	return out
}

// inline writes inline content; a mark spanning several nodes is one
// tag, the longest outermost (see nextSpan).
func (w *asanaWriter) inline(nodes []*Node) { w.seq(nodes, 0) }

func (w *asanaWriter) seq(nodes []*Node, done uint) {
	for i := 0; i < len(nodes); {
		t, j := nextSpan(nodes, i, done)
		g := nodes[i:j]
		i = j
		if t == "" {
			for _, n := range g {
				switch n.Type {
				case "text":
					w.sb.WriteString(xmlEscape(n.Text))
				case "hardBreak":
					w.sb.WriteString("\n")
				case "mention":
					text := strAttr(n.Attrs, "text")
					if text == "" {
						text = "@" + strAttr(n.Attrs, "id")
					}
					w.sb.WriteString(xmlEscape(text))
				}
			}
			continue
		}
		m := g[0].Marks[markIndex(g[0].Marks, t)]
		w.sb.WriteString(asanaOpen(m))
		w.seq(g, done|markBit(t))
		w.sb.WriteString(asanaClose(m))
	}
}

var asanaTags = map[string]string{"strong": "strong", "em": "em", "strike": "s", "code": "code", "link": "a"}

func asanaOpen(m Mark) string {
	if m.Type == "link" {
		return `<a href="` + xmlEscape(strAttr(m.Attrs, "href")) + `">`
	}
	return "<" + asanaTags[m.Type] + ">"
}

func asanaClose(m Mark) string { return "</" + asanaTags[m.Type] + ">" }

// ---- reader ----

// parseAsana reads Asana rich text into a raw (not yet normalised) ADF doc.
func parseAsana(s string) (*Node, error) {
	ctx := &xhtml.Node{Type: xhtml.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := xhtml.ParseFragment(strings.NewReader(cleanText(s)), ctx)
	if err != nil {
		return nil, fmt.Errorf("markup: reading Asana rich text: %w", err)
	}
	b := &htmlBuilder{}
	for _, n := range nodes {
		b.walk(n, nil, 0)
	}
	b.flush()
	return &Node{Type: "doc", Version: 1, Content: b.out}, nil
}

// htmlBuilder collects blocks; inline content met between blocks gathers
// in pending until a block or a blank line ends the paragraph.
type htmlBuilder struct {
	out     []*Node
	pending []*Node
}

func (b *htmlBuilder) flush() {
	if len(b.pending) > 0 {
		b.out = append(b.out, &Node{Type: "paragraph", Content: b.pending})
		b.pending = nil
	}
}

var blankLine = regexp.MustCompile(`\n[ \t]*\n`)

func (b *htmlBuilder) text(s string, marks []Mark) {
	for i, part := range blankLine.Split(s, -1) {
		if i > 0 {
			b.flush()
		}
		if part != "" {
			b.pending = append(b.pending, &Node{Type: "text", Text: part, Marks: marks})
		}
	}
}

// sub builds the blocks of n's children in a fresh builder.
func (b *htmlBuilder) sub(n *xhtml.Node, marks []Mark, depth int) []*Node {
	c := &htmlBuilder{}
	for k := n.FirstChild; k != nil; k = k.NextSibling {
		c.walk(k, marks, depth+1)
	}
	c.flush()
	return c.out
}

func (b *htmlBuilder) walk(n *xhtml.Node, marks []Mark, depth int) {
	switch n.Type {
	case xhtml.TextNode:
		b.text(n.Data, marks)
		return
	case xhtml.ElementNode:
	case xhtml.DocumentNode:
		for k := n.FirstChild; k != nil; k = k.NextSibling {
			b.walk(k, marks, depth+1)
		}
		return
	default: // comments, doctypes
		return
	}
	if depth > maxDepth {
		// Hostile nesting: keep the text, drop the structure.
		b.text(textContent(n), marks)
		return
	}
	switch n.DataAtom {
	case atom.Strong, atom.B:
		b.children(n, withMark(marks, Mark{Type: "strong"}), depth)
	case atom.Em, atom.I:
		b.children(n, withMark(marks, Mark{Type: "em"}), depth)
	case atom.S, atom.Strike, atom.Del:
		b.children(n, withMark(marks, Mark{Type: "strike"}), depth)
	case atom.Code, atom.Tt, atom.Kbd, atom.Samp:
		b.children(n, withMark(marks, Mark{Type: "code"}), depth)
	case atom.A:
		href := attr(n, "href")
		if href == "" {
			b.children(n, marks, depth)
			return
		}
		m := withMark(marks, linkMark(href, ""))
		before := len(b.pending)
		b.children(n, m, depth)
		if len(b.pending) == before {
			// A link with no text keeps its URL as the text.
			b.text(href, m)
		}
	case atom.Img:
		src := attr(n, "src")
		label := attr(n, "alt")
		if label == "" {
			label = src
		}
		if src == "" {
			b.text(label, marks)
			return
		}
		b.text(label, withMark(marks, linkMark(src, "")))
	case atom.Br:
		b.pending = append(b.pending, &Node{Type: "hardBreak"})
	case atom.P, atom.Div, atom.Section, atom.Article, atom.Header, atom.Footer, atom.Main, atom.Aside, atom.Nav:
		b.flush()
		b.out = append(b.out, b.sub(n, marks, depth)...)
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		b.flush()
		lvl := 2 // Asana has two heading levels
		if n.DataAtom == atom.H1 {
			lvl = 1
		}
		b.out = append(b.out, &Node{Type: "heading", Attrs: map[string]any{"level": lvl}, Content: b.sub(n, marks, depth)})
	case atom.Pre:
		b.flush()
		b.out = append(b.out, codeBlock(textContent(n), ""))
	case atom.Blockquote:
		b.flush()
		b.out = append(b.out, &Node{Type: "blockquote", Content: b.sub(n, marks, depth)})
	case atom.Ul, atom.Ol:
		b.flush()
		typ := "bulletList"
		if n.DataAtom == atom.Ol {
			typ = "orderedList"
		}
		l := &Node{Type: typ}
		for k := n.FirstChild; k != nil; k = k.NextSibling {
			if k.Type == xhtml.TextNode && strings.TrimSpace(k.Data) == "" {
				continue
			}
			if k.Type == xhtml.ElementNode && k.DataAtom == atom.Li {
				l.Content = append(l.Content, &Node{Type: "listItem", Content: b.sub(k, marks, depth)})
				continue
			}
			if k.Type == xhtml.ElementNode && (k.DataAtom == atom.Ul || k.DataAtom == atom.Ol) {
				c := &htmlBuilder{}
				c.walk(k, marks, depth+1)
				l.Content = append(l.Content, c.out...)
				continue
			}
			if k.Type != xhtml.ElementNode && k.Type != xhtml.TextNode {
				continue
			}
			// Stray content in a list: an item of its own.
			c := &htmlBuilder{}
			c.walk(k, marks, depth+1)
			c.flush()
			if len(c.out) > 0 {
				l.Content = append(l.Content, &Node{Type: "listItem", Content: c.out})
			}
		}
		b.out = append(b.out, l)
	case atom.Li:
		b.flush()
		b.out = append(b.out, &Node{Type: "bulletList", Content: []*Node{{Type: "listItem", Content: b.sub(n, marks, depth)}}})
	case atom.Hr:
		b.flush()
		b.out = append(b.out, &Node{Type: "rule"})
	case atom.Table:
		b.flush()
		t := &Node{Type: "table"}
		var rows func(p *xhtml.Node, d int)
		rows = func(p *xhtml.Node, d int) {
			for k := p.FirstChild; k != nil; k = k.NextSibling {
				if k.Type != xhtml.ElementNode {
					continue
				}
				switch k.DataAtom {
				case atom.Tr:
					r := &Node{Type: "tableRow"}
					for c := k.FirstChild; c != nil; c = c.NextSibling {
						if c.Type == xhtml.ElementNode && (c.DataAtom == atom.Td || c.DataAtom == atom.Th) {
							r.Content = append(r.Content, &Node{Type: "tableCell", Content: b.sub(c, marks, depth+d)})
						}
					}
					t.Content = append(t.Content, r)
				case atom.Caption:
					b.out = append(b.out, b.sub(k, marks, depth+d)...)
				default:
					if d < maxDepth {
						rows(k, d+1)
					}
				}
			}
		}
		rows(n, 1)
		b.out = append(b.out, t)
	case atom.Script, atom.Style, atom.Template, atom.Textarea, atom.Title:
		b.text(textContent(n), marks)
	default:
		// u, span, and every tag outside Asana's set: keep the content.
		b.children(n, marks, depth)
	}
}

func (b *htmlBuilder) children(n *xhtml.Node, marks []Mark, depth int) {
	for k := n.FirstChild; k != nil; k = k.NextSibling {
		b.walk(k, marks, depth+1)
	}
}

func attr(n *xhtml.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

func textContent(n *xhtml.Node) string {
	var sb strings.Builder
	var walk func(n *xhtml.Node, depth int)
	walk = func(n *xhtml.Node, depth int) {
		if depth > maxDepth*2 {
			return
		}
		if n.Type == xhtml.TextNode {
			sb.WriteString(n.Data)
			return
		}
		if n.Type == xhtml.ElementNode && n.DataAtom == atom.Br {
			sb.WriteByte('\n')
		}
		for k := n.FirstChild; k != nil; k = k.NextSibling {
			walk(k, depth+1)
		}
	}
	walk(n, 0)
	return sb.String()
}
