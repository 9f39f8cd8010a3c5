package markup

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	gast "github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// mdParser parses CommonMark plus GFM tables and strikethrough. Linkify is
// left out on purpose: a bare URL in Jira text must stay text, or every
// round trip would turn prose into links that the other side never had.
var mdParser = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough)).Parser()

// fromMarkdown builds a raw (not yet normalised) ADF tree from Markdown.
func fromMarkdown(md string, o Options) *Node {
	src := []byte(md)
	root := mdParser.Parse(text.NewReader(src))
	c := mdConv{src: src, o: o}
	doc := &Node{Type: "doc", Version: 1}
	doc.Content = c.blocks(root)
	return doc
}

type mdConv struct {
	src []byte
	o   Options
}

func (c *mdConv) blocks(parent gast.Node) []*Node {
	var out []*Node
	for n := parent.FirstChild(); n != nil; n = n.NextSibling() {
		if b := c.block(n); b != nil {
			out = append(out, b)
		}
	}
	return out
}

func (c *mdConv) block(n gast.Node) *Node {
	switch n := n.(type) {
	case *gast.Paragraph, *gast.TextBlock:
		return &Node{Type: "paragraph", Content: c.inlines(n, nil)}
	case *gast.Heading:
		return &Node{Type: "heading", Attrs: map[string]any{"level": n.Level}, Content: c.inlines(n, nil)}
	case *gast.ThematicBreak:
		return &Node{Type: "rule"}
	case *gast.FencedCodeBlock:
		// Markdown code lines always end in a newline that is not content.
		cb := codeBlock(strings.TrimSuffix(c.lines(n), "\n"), "")
		if n.Info != nil {
			cb.Attrs = map[string]any{"language": unescapeMD(string(n.Language(c.src)))}
		}
		return cb
	case *gast.CodeBlock:
		return codeBlock(strings.TrimSuffix(c.lines(n), "\n"), "")
	case *gast.Blockquote:
		return &Node{Type: "blockquote", Content: c.blocks(n)}
	case *gast.List:
		if n.IsOrdered() {
			return &Node{Type: "orderedList", Attrs: map[string]any{"order": n.Start}, Content: c.blocks(n)}
		}
		return &Node{Type: "bulletList", Content: c.blocks(n)}
	case *gast.ListItem:
		return &Node{Type: "listItem", Content: c.blocks(n)}
	case *gast.HTMLBlock:
		s := c.lines(n)
		if n.HasClosure() {
			s += string(n.ClosureLine.Value(c.src))
		}
		s = strings.TrimRight(s, "\n")
		// HTML comments are template boilerplate in GitHub issues; they
		// would show up as noise in Jira.
		if strings.HasPrefix(strings.TrimSpace(s), "<!--") || strings.TrimSpace(s) == "" {
			return nil
		}
		return &Node{Type: "paragraph", Content: []*Node{{Type: "text", Text: s}}}
	case *east.Table:
		t := &Node{Type: "table"}
		for r := n.FirstChild(); r != nil; r = r.NextSibling() {
			cellType := "tableCell"
			if _, ok := r.(*east.TableHeader); ok {
				cellType = "tableHeader"
			}
			row := &Node{Type: "tableRow"}
			for cell := r.FirstChild(); cell != nil; cell = cell.NextSibling() {
				row.Content = append(row.Content, &Node{Type: cellType, Content: []*Node{
					{Type: "paragraph", Content: c.inlines(cell, nil)},
				}})
			}
			t.Content = append(t.Content, row)
		}
		return t
	}
	// Anything else (extensions we did not enable) keeps its text.
	if n.Type() == gast.TypeBlock {
		return &Node{Type: "paragraph", Content: c.inlines(n, nil)}
	}
	return nil
}

func (c *mdConv) lines(n gast.Node) string {
	var sb strings.Builder
	ls := n.Lines()
	for i := range ls.Len() {
		seg := ls.At(i)
		sb.Write(seg.Value(c.src))
	}
	return sb.String()
}

func codeBlock(code, lang string) *Node {
	cb := &Node{Type: "codeBlock"}
	if lang != "" {
		cb.Attrs = map[string]any{"language": lang}
	}
	if code != "" {
		cb.Content = []*Node{{Type: "text", Text: code}}
	}
	return cb
}

// inlines converts the inline children of n, each text carrying marks.
func (c *mdConv) inlines(n gast.Node, marks []Mark) []*Node {
	var out []*Node
	for ch := n.FirstChild(); ch != nil; ch = ch.NextSibling() {
		out = append(out, c.inline(ch, marks)...)
	}
	return out
}

func withMark(marks []Mark, m Mark) []Mark {
	out := make([]Mark, 0, len(marks)+1)
	out = append(out, marks...)
	return append(out, m)
}

func (c *mdConv) inline(n gast.Node, marks []Mark) []*Node {
	switch n := n.(type) {
	case *gast.Text:
		var out []*Node
		s := string(n.Value(c.src))
		if !n.IsRaw() {
			s = unescapeMD(s)
		}
		out = append(out, c.mentions(s, marks)...)
		if n.SoftLineBreak() || n.HardLineBreak() {
			// GitHub renders a single newline in issue text as a line
			// break, and so does Jira; a hardBreak keeps the lines apart.
			out = append(out, &Node{Type: "hardBreak"})
		}
		return out
	case *gast.String:
		s := string(n.Value)
		if !n.IsRaw() {
			s = unescapeMD(s)
		}
		return textNodes(s, marks)
	case *gast.CodeSpan:
		var sb strings.Builder
		for ch := n.FirstChild(); ch != nil; ch = ch.NextSibling() {
			switch t := ch.(type) {
			case *gast.Text:
				sb.Write(t.Value(c.src))
			case *gast.String:
				sb.Write(t.Value)
			}
		}
		s := strings.ReplaceAll(sb.String(), "\n", " ")
		return textNodes(s, withMark(marks, Mark{Type: "code"}))
	case *gast.Emphasis:
		t := "em"
		if n.Level >= 2 {
			t = "strong"
		}
		return c.inlines(n, withMark(marks, Mark{Type: t}))
	case *east.Strikethrough:
		return c.inlines(n, withMark(marks, Mark{Type: "strike"}))
	case *gast.Link:
		m := linkMark(unescapeMD(string(n.Destination)), unescapeMD(string(n.Title)))
		if out := c.inlines(n, withMark(marks, m)); len(out) > 0 {
			return out
		}
		// "[](url)": the URL is all there is to show.
		return textNodes(m.Attrs["href"].(string), withMark(marks, m))
	case *gast.AutoLink:
		url := string(n.URL(c.src))
		label := string(n.Label(c.src))
		if n.AutoLinkType == gast.AutoLinkEmail && !strings.HasPrefix(strings.ToLower(url), "mailto:") {
			url = "mailto:" + url
		}
		return textNodes(label, withMark(marks, linkMark(url, "")))
	case *gast.Image:
		// Jira cannot show an arbitrary remote image without uploading it,
		// so an image becomes a link to it, labelled with its alt text.
		m := linkMark(unescapeMD(string(n.Destination)), unescapeMD(string(n.Title)))
		alt := c.inlines(n, withMark(marks, m))
		if len(alt) == 0 {
			return textNodes(m.Attrs["href"].(string), withMark(marks, m))
		}
		return alt
	case *gast.RawHTML:
		var sb strings.Builder
		for i := range n.Segments.Len() {
			seg := n.Segments.At(i)
			sb.Write(seg.Value(c.src))
		}
		s := sb.String()
		if strings.HasPrefix(s, "<!--") {
			return nil
		}
		if brTag.MatchString(s) {
			return []*Node{{Type: "hardBreak"}}
		}
		return textNodes(strings.ReplaceAll(s, "\n", " "), marks)
	}
	// Unknown inline (from extensions not enabled): keep its text.
	return c.inlines(n, marks)
}

var brTag = regexp.MustCompile(`(?i)^<br\s*/?>$`)

func linkMark(href, title string) Mark {
	attrs := map[string]any{"href": href}
	if title != "" {
		attrs["title"] = title
	}
	return Mark{Type: "link", Attrs: attrs}
}

func textNodes(s string, marks []Mark) []*Node {
	if s == "" {
		return nil
	}
	return []*Node{{Type: "text", Text: s, Marks: marks}}
}

// mentionRe finds "@login" preceded by start or a non-word character, so
// e-mail addresses are left alone.
var mentionRe = regexp.MustCompile(`(^|[^\w@./-])@([A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)`)

// mentions splits s into text and mention nodes; only plain text (no code
// or link) can hold a mention, because ADF mentions carry no marks.
func (c *mdConv) mentions(s string, marks []Mark) []*Node {
	if c.o.MentionID == nil || !strings.Contains(s, "@") || hasMark(marks, "code") || hasMark(marks, "link") {
		return textNodes(s, marks)
	}
	var out []*Node
	last := 0
	for _, m := range mentionRe.FindAllStringSubmatchIndex(s, -1) {
		at, end := m[3], m[1] // m[3] is the end of the prefix group: the '@'
		name := s[m[4]:m[5]]
		id, ok := c.o.MentionID(name)
		if !ok || id == "" {
			continue
		}
		out = append(out, textNodes(s[last:at], marks)...)
		out = append(out, &Node{Type: "mention", Attrs: map[string]any{"id": id, "text": "@" + name}})
		last = end
	}
	return append(out, textNodes(s[last:], marks)...)
}

func hasMark(marks []Mark, t string) bool {
	for _, m := range marks {
		if m.Type == t {
			return true
		}
	}
	return false
}

// unescapeMD resolves backslash escapes and entity references the way a
// CommonMark renderer does, in one pass so "\&amp;" stays "&amp;".
func unescapeMD(s string) string {
	if !strings.ContainsAny(s, "\\&") {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && util.IsPunct(s[i+1]) {
			sb.WriteByte(s[i+1])
			i++
			continue
		}
		if c == '&' {
			if m := entityRe.FindStringSubmatch(s[i:]); m != nil {
				if r, ok := resolveEntity(m[1]); ok {
					sb.WriteString(r)
					i += len(m[0]) - 1
					continue
				}
			}
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

var entityRe = regexp.MustCompile(`^&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});`)

func resolveEntity(name string) (string, bool) {
	if strings.HasPrefix(name, "#") {
		var v uint64
		var err error
		if name[1] == 'x' || name[1] == 'X' {
			v, err = strconv.ParseUint(name[2:], 16, 32)
		} else {
			v, err = strconv.ParseUint(name[1:], 10, 32)
		}
		if err != nil {
			return "", false
		}
		r := rune(v)
		if r == 0 || !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		return string(r), true
	}
	if e, ok := util.LookUpHTML5EntityByName(name); ok {
		return string(e.Characters), true
	}
	return "", false
}
