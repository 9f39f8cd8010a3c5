package markup

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The canonical form every conversion passes through is the subset of ADF
// that Markdown can express: blocks paragraph, heading, codeBlock,
// blockquote, bulletList, orderedList, rule and table; inline text (marks
// strong, em, strike, code, link), hardBreak and mention. normalize maps
// any ADF onto that subset, degrading what it cannot keep to readable
// text, and enforces the ADF rules Jira checks (non-empty text, listItem
// starting with a paragraph, code marks combined only with link, ...).
// Writers can then assume canonical input, and reading back what they
// wrote gives the same canonical tree, which is what makes round trips
// stable.

// block contexts: where a block sits decides what it may contain.
type blockCtx int

const (
	ctxDoc blockCtx = iota
	ctxQuote
	ctxItem

	// ctxQuoteHeadings (a flag on the above) keeps headings inside
	// quotes: wiki markup and Markdown hold them, ADF does not.
	ctxQuoteHeadings blockCtx = 8
)

func (c blockCtx) base() blockCtx  { return c &^ ctxQuoteHeadings }
func (c blockCtx) flags() blockCtx { return c & ctxQuoteHeadings }

// maxDepth bounds recursion on hostile input; deeper content is flattened
// to text.
const maxDepth = 64

func normalize(doc *Node) *Node { return normalizeIn(doc, ctxDoc) }

// normalizeWiki is normalize for the wiki path (Markdown ⇄ wiki), which
// keeps headings inside quotes.
func normalizeWiki(doc *Node) *Node { return normalizeIn(doc, ctxDoc|ctxQuoteHeadings) }

func normalizeIn(doc *Node, root blockCtx) *Node {
	out := &Node{Type: "doc", Version: 1, Content: []*Node{}}
	if doc == nil {
		return out
	}
	kids := doc.Content
	if doc.Type != "doc" {
		kids = []*Node{doc}
	}
	out.Content = append(out.Content, normBlocks(kids, root, 0)...)
	return out
}

func normBlocks(nodes []*Node, ctx blockCtx, depth int) []*Node {
	var out []*Node
	var pending []*Node // inline nodes met at block level
	flush := func() {
		if len(pending) > 0 {
			out = appendPara(out, normInline(pending, false))
			pending = nil
		}
	}
	for _, n := range nodes {
		if n == nil {
			continue
		}
		if isInline(n.Type) {
			pending = append(pending, n)
			continue
		}
		flush()
		out = append(out, normBlock(n, ctx, depth)...)
	}
	flush()
	return out
}

func appendPara(out []*Node, inl []*Node) []*Node {
	if len(inl) == 0 {
		return out
	}
	return append(out, &Node{Type: "paragraph", Content: inl})
}

var inlineTypes = map[string]bool{
	"text": true, "hardBreak": true, "mention": true, "emoji": true, "status": true,
	"date": true, "inlineCard": true, "placeholder": true, "inlineExtension": true,
	"mediaInline": true,
}

func isInline(t string) bool { return inlineTypes[t] }

var blockTypes = map[string]bool{
	"paragraph": true, "heading": true, "codeBlock": true, "blockquote": true,
	"bulletList": true, "orderedList": true, "listItem": true, "rule": true, "table": true,
	"tableRow": true, "tableHeader": true, "tableCell": true, "panel": true, "expand": true,
	"nestedExpand": true, "mediaSingle": true, "mediaGroup": true, "media": true,
	"taskList": true, "taskItem": true, "decisionList": true, "decisionItem": true,
	"layoutSection": true, "layoutColumn": true, "bodiedExtension": true, "extension": true,
	"blockCard": true, "embedCard": true, "doc": true,
}

func normBlock(n *Node, ctx blockCtx, depth int) []*Node {
	if depth > maxDepth {
		return appendPara(nil, textNodes(collapseSpace(plainText(n)), nil))
	}
	d := depth + 1
	switch n.Type {
	case "paragraph":
		inl := normInline(n.Content, false)
		if len(inl) == 0 {
			return nil
		}
		return []*Node{{Type: "paragraph", Content: inl}}
	case "heading":
		inl := normInline(n.Content, true)
		if ctx.base() != ctxDoc && ctx != ctxQuote|ctxQuoteHeadings {
			return appendPara(nil, inl)
		}
		lvl := min(max(intAttr(n.Attrs, "level", 1), 1), 6)
		return []*Node{{Type: "heading", Attrs: map[string]any{"level": lvl}, Content: inl}}
	case "codeBlock":
		return []*Node{codeBlock(normCode(plainText(n)), normLang(strAttr(n.Attrs, "language")))}
	case "blockquote", "panel":
		kids := normBlocks(n.Content, ctxQuote|ctx.flags(), d)
		if ctx.base() != ctxDoc {
			return kids // ADF allows no blockquote inside a quote or list
		}
		if len(kids) == 0 {
			return nil
		}
		return []*Node{{Type: "blockquote", Content: kids}}
	case "expand", "nestedExpand":
		var out []*Node
		if t := collapseSpace(strAttr(n.Attrs, "title")); t != "" {
			out = append(out, &Node{Type: "paragraph", Content: textNodes(t, []Mark{{Type: "strong"}})})
		}
		return append(out, normBlocks(n.Content, ctx, d)...)
	case "bulletList", "orderedList", "taskList", "decisionList":
		return normList(n, d)
	case "listItem", "taskItem", "decisionItem":
		return normList(&Node{Type: "bulletList", Content: []*Node{n}}, d)
	case "rule":
		if ctx.base() != ctxDoc {
			return nil
		}
		return []*Node{{Type: "rule"}}
	case "table":
		return normTable(n, ctx)
	case "tableRow", "tableHeader", "tableCell":
		return normTable(&Node{Type: "table", Content: []*Node{n}}, ctx)
	case "mediaSingle", "mediaGroup", "media", "blockCard", "embedCard":
		return appendPara(nil, normInline([]*Node{n}, false))
	}
	// Layouts, extensions and unknown blocks: keep what is inside.
	if hasBlockChild(n) {
		return normBlocks(n.Content, ctx, d)
	}
	return appendPara(nil, normInline(n.Content, false))
}

func isEmptyItem(it *Node) bool {
	return len(it.Content) == 1 && it.Content[0].Type == "paragraph" && len(it.Content[0].Content) == 0
}

// hasEmptyItem reports whether canonical blocks hold an empty list item.
func hasEmptyItem(nodes []*Node) bool {
	for _, n := range nodes {
		if n.Type == "listItem" && isEmptyItem(n) || hasEmptyItem(n.Content) {
			return true
		}
	}
	return false
}

// dropEmptyItems copies canonical blocks without empty list items (and
// without lists left with no items).
func dropEmptyItems(nodes []*Node) []*Node {
	out := make([]*Node, 0, len(nodes))
	for _, n := range nodes {
		if isInline(n.Type) {
			out = append(out, n)
			continue
		}
		c := *n
		c.Content = dropEmptyItems(n.Content)
		if c.Type == "listItem" && isEmptyItem(&c) ||
			(c.Type == "bulletList" || c.Type == "orderedList") && len(c.Content) == 0 {
			continue
		}
		out = append(out, &c)
	}
	return out
}

func hasBlockChild(n *Node) bool {
	for _, c := range n.Content {
		if c != nil && blockTypes[c.Type] {
			return true
		}
	}
	return false
}

func normList(n *Node, depth int) []*Node {
	typ := "bulletList"
	if n.Type == "orderedList" {
		typ = "orderedList"
	}
	l := &Node{Type: typ}
	if typ == "orderedList" {
		if o := intAttr(n.Attrs, "order", 1); o != 1 {
			l.Attrs = map[string]any{"order": o}
		}
	}
	for _, it := range n.Content {
		if it == nil {
			continue
		}
		var kids []*Node
		switch it.Type {
		case "listItem":
			kids = normBlocks(it.Content, ctxItem, depth+1)
		case "taskItem", "decisionItem":
			// A task keeps its state as readable "[x]" text in front.
			prefix := ""
			if it.Type == "taskItem" {
				prefix = "[ ] "
				if strAttr(it.Attrs, "state") == "DONE" {
					prefix = "[x] "
				}
			}
			kids = normBlocks(append([]*Node{{Type: "text", Text: prefix}}, it.Content...), ctxItem, depth+1)
		case "bulletList", "orderedList", "taskList", "decisionList":
			// A list directly inside a list belongs to the previous item.
			sub := normList(it, depth+1)
			if len(l.Content) > 0 {
				prev := l.Content[len(l.Content)-1]
				prev.Content = append(prev.Content, sub...)
				continue
			}
			kids = sub
		default:
			kids = normBlocks([]*Node{it}, ctxItem, depth+1)
		}
		// An empty item stays (as an empty paragraph): dropping it
		// would renumber the items after it.
		if len(kids) == 0 || kids[0].Type != "paragraph" {
			kids = append([]*Node{{Type: "paragraph"}}, kids...)
		}
		l.Content = append(l.Content, &Node{Type: "listItem", Content: kids})
	}
	if len(l.Content) == 0 {
		return nil
	}
	return []*Node{l}
}

// normTable keeps a table as a rectangular grid of one-paragraph cells
// (all Markdown can say), the first row being the header. Outside the
// document root a table becomes one paragraph per row.
func normTable(n *Node, ctx blockCtx) []*Node {
	var rows [][][]*Node
	cols := 0
	for _, r := range n.Content {
		if r == nil {
			continue
		}
		cellNodes := r.Content
		if r.Type != "tableRow" {
			cellNodes = []*Node{r}
		}
		var row [][]*Node
		for _, c := range cellNodes {
			if c == nil {
				continue
			}
			row = append(row, cellInline(c))
		}
		if len(row) == 0 {
			continue
		}
		rows = append(rows, row)
		cols = max(cols, len(row))
	}
	if len(rows) == 0 {
		return nil
	}
	if ctx.base() != ctxDoc {
		var out []*Node
		for _, row := range rows {
			var inl []*Node
			for i, c := range row {
				if i > 0 {
					inl = append(inl, &Node{Type: "text", Text: " | "})
				}
				inl = append(inl, c...)
			}
			out = appendPara(out, normInline(inl, false))
		}
		return out
	}
	t := &Node{Type: "table"}
	for i, row := range rows {
		typ := "tableCell"
		if i == 0 {
			typ = "tableHeader"
		}
		tr := &Node{Type: "tableRow"}
		for j := range cols {
			p := &Node{Type: "paragraph"}
			if j < len(row) {
				p.Content = row[j]
			}
			tr.Content = append(tr.Content, &Node{Type: typ, Content: []*Node{p}})
		}
		t.Content = append(t.Content, tr)
	}
	return []*Node{t}
}

// cellInline flattens a cell's blocks into one line of inline content.
func cellInline(c *Node) []*Node {
	var inl []*Node
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		if n == nil {
			return
		}
		if isInline(n.Type) || n.Type == "mediaSingle" || n.Type == "mediaGroup" || n.Type == "media" || depth > maxDepth {
			inl = append(inl, n)
			return
		}
		if n.Type == "codeBlock" {
			inl = append(inl, &Node{Type: "text", Text: plainText(n), Marks: []Mark{{Type: "code"}}})
			return
		}
		if len(inl) > 0 {
			inl = append(inl, &Node{Type: "text", Text: " "})
		}
		for _, k := range n.Content {
			walk(k, depth+1)
		}
	}
	if isInline(c.Type) {
		walk(c, 0)
	} else {
		for _, k := range c.Content {
			walk(k, 0)
		}
	}
	out := normInline(inl, true)
	return trimInline(out)
}

// normInline canonicalises inline content. oneLine turns hard breaks into
// spaces (headings and table cells are a single line in Markdown).
func normInline(nodes []*Node, oneLine bool) []*Node {
	var flat []*Node
	addText := func(s string, marks []Mark) {
		t := strings.ReplaceAll(strings.ReplaceAll(cleanText(s), "\r\n", "\n"), "\r", "\n")
		for i, part := range strings.Split(t, "\n") {
			if i > 0 {
				flat = append(flat, &Node{Type: "hardBreak"})
			}
			flat = append(flat, textNodes(part, marks)...)
		}
	}
	var add func(n *Node, depth int)
	add = func(n *Node, depth int) {
		if n == nil {
			return
		}
		switch n.Type {
		case "text":
			addText(n.Text, normMarks(n.Marks))
		case "hardBreak":
			flat = append(flat, &Node{Type: "hardBreak"})
		case "mention":
			id := strAttr(n.Attrs, "id")
			txt := collapseSpace(strAttr(n.Attrs, "text"))
			if id == "" {
				addText(txt, nil)
				return
			}
			attrs := map[string]any{"id": id}
			if txt != "" {
				attrs["text"] = txt
			}
			flat = append(flat, &Node{Type: "mention", Attrs: attrs})
		case "emoji":
			t := strAttr(n.Attrs, "text")
			if t == "" {
				t = strAttr(n.Attrs, "shortName")
			}
			addText(cleanText(t), nil)
		case "date":
			addText(formatDate(n.Attrs["timestamp"]), nil)
		case "inlineCard", "blockCard", "embedCard":
			if url := normHref(strAttr(n.Attrs, "url")); url != "" {
				addText(url, []Mark{linkMark(url, "")})
			}
		case "media", "mediaInline":
			url := normHref(strAttr(n.Attrs, "url"))
			label := collapseSpace(strAttr(n.Attrs, "alt"))
			if label == "" {
				label = url
			}
			if url == "" {
				// Attachments have no URL we can build; name them.
				if label == "" {
					label = "attachment"
				}
				addText("["+label+"]", nil)
				return
			}
			addText(label, []Mark{linkMark(url, "")})
		default:
			if depth > maxDepth {
				return
			}
			if n.Text != "" {
				addText(cleanText(n.Text), normMarks(n.Marks))
			} else if t := strAttr(n.Attrs, "text"); t != "" {
				addText(cleanText(t), nil)
			}
			for i, k := range n.Content {
				if i > 0 && k != nil && !isInline(k.Type) {
					flat = append(flat, &Node{Type: "text", Text: " "})
				}
				add(k, depth+1)
			}
		}
	}
	for _, n := range nodes {
		add(n, 0)
	}
	if oneLine {
		for i, n := range flat {
			if n.Type == "hardBreak" {
				flat[i] = &Node{Type: "text", Text: " "}
			}
		}
	}
	return mergeText(trimLines(flat))
}

// trimLines drops the whitespace Markdown drops at line starts and ends,
// collapses runs of hard breaks and removes breaks at paragraph edges.
func trimLines(flat []*Node) []*Node {
	var out []*Node
	lineStart := true
	for _, n := range flat {
		if n.Type == "hardBreak" {
			// trim trailing whitespace of the line just ended
			out = trimTrailing(out)
			if len(out) == 0 || out[len(out)-1].Type == "hardBreak" {
				continue
			}
			out = append(out, n)
			lineStart = true
			continue
		}
		if lineStart && n.Type == "text" && markIndex(n.Marks, "code") < 0 {
			t := strings.TrimLeft(n.Text, " \t")
			if t == "" {
				continue
			}
			c := *n
			c.Text = t
			n = &c
		}
		lineStart = false
		out = append(out, n)
	}
	out = trimTrailing(out)
	for len(out) > 0 && out[len(out)-1].Type == "hardBreak" {
		out = trimTrailing(out[:len(out)-1])
	}
	return out
}

func trimTrailing(out []*Node) []*Node {
	for len(out) > 0 {
		last := out[len(out)-1]
		if last.Type != "text" || markIndex(last.Marks, "code") >= 0 {
			// Spaces in a code span are content: `  ` is two spaces.
			return out
		}
		t := strings.TrimRight(last.Text, " \t")
		if t != "" {
			c := *last
			c.Text = t
			out[len(out)-1] = &c
			return out
		}
		out = out[:len(out)-1]
	}
	return out
}

func trimInline(inl []*Node) []*Node { return trimLines(inl) }

func mergeText(nodes []*Node) []*Node {
	var out []*Node
	for i := 0; i < len(nodes); {
		n := nodes[i]
		j := i + 1
		if n.Type == "text" {
			for j < len(nodes) && nodes[j].Type == "text" && sameMarks(n.Marks, nodes[j].Marks) {
				j++
			}
		}
		if j > i+1 {
			var sb strings.Builder
			for _, m := range nodes[i:j] {
				sb.WriteString(m.Text)
			}
			c := *n
			c.Text = sb.String()
			n = &c
		}
		out = append(out, n)
		i = j
	}
	return out
}

// markOrder is the canonical order of marks on a text node (and the
// nesting order writers use, outermost first).
var markOrder = map[string]int{"link": 0, "strong": 1, "em": 2, "strike": 3, "code": 4}

func normMarks(marks []Mark) []Mark {
	var byType [5]*Mark
	for _, m := range marks {
		i, ok := markOrder[m.Type]
		if !ok || byType[i] != nil {
			continue
		}
		if m.Type == "link" {
			href := normHref(strAttr(m.Attrs, "href"))
			if href == "" {
				continue // a link to nowhere is just text
			}
			mm := linkMark(href, collapseSpace(strAttr(m.Attrs, "title")))
			byType[i] = &mm
			continue
		}
		byType[i] = &Mark{Type: m.Type}
	}
	if byType[4] != nil { // code combines with link only
		byType[1], byType[2], byType[3] = nil, nil, nil
	}
	var out []Mark
	for _, m := range byType {
		if m != nil {
			out = append(out, *m)
		}
	}
	return out
}

// normHref percent-encodes what wiki links cannot hold, so every format
// carries the same (equivalent) URL. Only ASCII whitespace is a space in
// a URL: a non-breaking space is part of it (its %C2%A0), not "%20".
func normHref(h string) string {
	return hrefEscaper.Replace(strings.Join(strings.FieldsFunc(cleanText(h), isASCIISpace), "%20"))
}

func isASCIISpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
}

var hrefEscaper = strings.NewReplacer("|", "%7C", "]", "%5D", "[", "%5B", `\`, "%5C")

func sameMarks(a, b []Mark) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || strAttr(a[i].Attrs, "href") != strAttr(b[i].Attrs, "href") ||
			strAttr(a[i].Attrs, "title") != strAttr(b[i].Attrs, "title") {
			return false
		}
	}
	return true
}

func markIndex(marks []Mark, t string) int {
	for i, m := range marks {
		if m.Type == t {
			return i
		}
	}
	return -1
}

// plainText is the text content of a subtree, hard breaks as newlines.
func plainText(n *Node) string {
	var sb strings.Builder
	var walk func(n *Node, depth int)
	walk = func(n *Node, depth int) {
		if n == nil || depth > maxDepth*2 {
			return
		}
		switch n.Type {
		case "hardBreak":
			sb.WriteByte('\n')
		case "text":
			sb.WriteString(n.Text)
		default:
			if n.Text != "" {
				sb.WriteString(n.Text)
			} else if t := strAttr(n.Attrs, "text"); t != "" {
				sb.WriteString(t)
			}
		}
		for _, k := range n.Content {
			walk(k, depth+1)
		}
	}
	walk(n, 0)
	return sb.String()
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(cleanText(s)), " ") }

// cleanText makes text safe to carry: valid UTF-8, no NULs (CommonMark
// replaces them, so keeping them would break round trips).
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

func normCode(s string) string {
	s = cleanText(s)
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	// Blank lines keep no indentation: inside a list item Markdown cannot
	// tell a line of spaces from an empty one.
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.TrimLeft(l, " \t") == "" {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// normLang keeps a code language only when it is one plain word both
// Markdown info strings and wiki {code:...} carry unchanged.
func normLang(l string) string {
	f := strings.Fields(l)
	if len(f) == 0 {
		return ""
	}
	l = f[0]
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+#.-_", r)) {
			return ""
		}
	}
	return l
}

func strAttr(a map[string]any, k string) string {
	s, _ := a[k].(string)
	return s
}

func intAttr(a map[string]any, k string, def int) int {
	var f float64
	switch v := a[k].(type) {
	case int:
		f = float64(v)
	case int64:
		f = float64(v)
	case float64:
		f = v
	case json.Number:
		x, err := v.Float64()
		if err != nil {
			return def
		}
		f = x
	case string:
		x, err := strconv.Atoi(v)
		if err != nil {
			return def
		}
		f = float64(x)
	default:
		return def
	}
	// CommonMark list numbers have at most nine digits.
	if math.IsNaN(f) || f < 0 || f > 999999999 {
		return def
	}
	return int(f)
}

func formatDate(v any) string {
	var ms int64
	switch t := v.(type) {
	case string:
		x, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return cleanText(t)
		}
		ms = x
	case float64:
		ms = int64(t)
	case int:
		ms = int64(t)
	case int64:
		ms = t
	default:
		return ""
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02")
}
