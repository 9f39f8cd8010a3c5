package markup

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// mdWriter renders canonical ADF (see normalize) as Markdown.
type mdWriter struct {
	o      Options
	inLink int // rendering link text: brackets there must be escaped
}

func (w *mdWriter) blocks(nodes []*Node) string {
	var parts []string
	prevList := ""
	alt := false
	for _, n := range nodes {
		var s string
		switch n.Type {
		case "bulletList", "orderedList":
			// Two lists in a row would merge into one in Markdown; a
			// different marker keeps them apart.
			if prevList == n.Type {
				alt = !alt
			} else {
				alt = false
			}
			s = w.list(n, alt)
			prevList = n.Type
		default:
			s = w.block(n)
			prevList = ""
		}
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n\n")
}

func (w *mdWriter) block(n *Node) string {
	switch n.Type {
	case "paragraph":
		return w.paragraph(n.Content)
	case "heading":
		lvl := min(max(intAttr(n.Attrs, "level", 1), 1), 6)
		return w.heading(lvl, n.Content)
	case "codeBlock":
		return codeFence(plainText(n), strAttr(n.Attrs, "language"))
	case "blockquote":
		inner := w.blocks(n.Content)
		if inner == "" {
			return ""
		}
		lines := strings.Split(inner, "\n")
		for i, l := range lines {
			if l == "" {
				lines[i] = ">"
			} else {
				lines[i] = "> " + l
			}
		}
		return strings.Join(lines, "\n")
	case "rule":
		return "---"
	case "table":
		return w.table(n)
	}
	return ""
}

func (w *mdWriter) list(n *Node, alt bool) string {
	ordered := n.Type == "orderedList"
	num := intAttr(n.Attrs, "order", 1)
	bullet, delim := "-", "."
	if alt {
		bullet, delim = "*", ")"
	}
	var items []string
	loose := false
	for _, it := range n.Content {
		marker := bullet
		if ordered {
			marker = itoa(num) + delim
			num++
		}
		body := w.item(it)
		if strings.Contains(body, "\n\n") {
			loose = true
		}
		pad := strings.Repeat(" ", len(marker)+1)
		lines := strings.Split(body, "\n")
		for i, l := range lines {
			switch {
			case i == 0 && l == "":
				lines[i] = marker
			case i == 0:
				lines[i] = marker + " " + l
			case l != "":
				lines[i] = pad + l
			}
		}
		items = append(items, strings.Join(lines, "\n"))
	}
	if !loose {
		return strings.Join(items, "\n")
	}
	var sb strings.Builder
	for i, it := range items {
		if i > 0 {
			// A blank line after an empty item ("-" alone) ends the
			// enclosing lists for goldmark; the list stays loose anyway.
			if emptyItemLine.MatchString(items[i-1][strings.LastIndexByte(items[i-1], '\n')+1:]) {
				sb.WriteString("\n")
			} else {
				sb.WriteString("\n\n")
			}
		}
		sb.WriteString(it)
	}
	return sb.String()
}

// emptyItemLine matches a line holding only a list marker.
var emptyItemLine = regexp.MustCompile(`^[ \t]*(?:[-*+]|[0-9]{1,9}[.)])$`)

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// item renders a list item's blocks; the first is always a paragraph.
func (w *mdWriter) item(it *Node) string {
	var sb strings.Builder
	kids := it.Content
	first := ""
	if len(kids) > 0 && kids[0].Type == "paragraph" {
		first = w.paragraph(kids[0].Content)
		kids = kids[1:]
	}
	sb.WriteString(first)
	rest := w.blocks(kids)
	if rest == "" {
		return sb.String()
	}
	switch {
	case first == "":
		// Content can start on the marker line ("- - a", "- ```");
		// a marker alone on its line is read differently by parsers.
	case len(kids) > 0 && canInterrupt(kids[0]):
		sb.WriteString("\n")
	default:
		sb.WriteString("\n\n")
	}
	sb.WriteString(rest)
	return sb.String()
}

// canInterrupt reports whether a list may follow a paragraph line
// directly: CommonMark only lets a non-empty bullet or a list starting at
// 1 interrupt a paragraph.
func canInterrupt(n *Node) bool {
	if n.Type != "bulletList" && n.Type != "orderedList" {
		return false
	}
	if n.Type == "orderedList" && intAttr(n.Attrs, "order", 1) != 1 {
		return false
	}
	if len(n.Content) == 0 || len(n.Content[0].Content) == 0 {
		return false
	}
	p := n.Content[0].Content[0]
	return p.Type == "paragraph" && len(p.Content) > 0
}

func codeFence(code, lang string) string {
	code = normCode(code)
	fence := "```"
	if longest := longestRun(code, '`'); longest >= 3 {
		fence = strings.Repeat("`", longest+1)
	}
	var sb strings.Builder
	sb.WriteString(fence)
	sb.WriteString(normLang(lang))
	sb.WriteByte('\n')
	if code != "" {
		sb.WriteString(code)
		sb.WriteByte('\n')
	}
	sb.WriteString(fence)
	return sb.String()
}

func longestRun(s string, c byte) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

func (w *mdWriter) table(n *Node) string {
	var lines []string
	for i, r := range n.Content {
		cells := make([]string, 0, len(r.Content))
		for _, c := range r.Content {
			var inl []*Node
			if len(c.Content) > 0 {
				inl = c.Content[0].Content
			}
			cells = append(cells, w.cell(inl))
		}
		lines = append(lines, "| "+strings.Join(cells, " | ")+" |")
		if i == 0 {
			lines = append(lines, "|"+strings.Repeat(" --- |", len(cells)))
		}
	}
	return strings.Join(lines, "\n")
}

// Each writer for inline content tries all marks first, then without
// emphasis, then plain text, keeping the first whose Markdown reads back
// to itself.
var fallbacks = []func([]*Node) []*Node{keepAll, dropEmphasis, dropAllMarks}

func keepAll(n []*Node) []*Node { return n }

func dropEmphasis(nodes []*Node) []*Node { return stripMarks(nodes, "strong", "em", "strike") }

func dropAllMarks(nodes []*Node) []*Node {
	return stripMarks(nodes, "strong", "em", "strike", "code", "link")
}

func stripMarks(nodes []*Node, types ...string) []*Node {
	out := make([]*Node, 0, len(nodes))
	for _, n := range nodes {
		if n.Type == "text" && len(n.Marks) > 0 {
			c := *n
			c.Marks = nil
			for _, m := range n.Marks {
				if !contains(types, m.Type) {
					c.Marks = append(c.Marks, m)
				}
			}
			n = &c
		}
		out = append(out, n)
	}
	// Spaces a code span held at a line edge are not text either.
	return mergeText(trimLines(out))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (w *mdWriter) paragraph(inl []*Node) string {
	return w.stable(inl, func(n []*Node) string { return escapeLines(w.inline(n, false)) },
		func(s string) []*Node { return firstInline(s, "paragraph", w.o) })
}

func (w *mdWriter) heading(level int, inl []*Node) string {
	prefix := strings.Repeat("#", level)
	render := func(n []*Node) string {
		s := w.inline(n, false)
		if strings.HasSuffix(s, "#") {
			// a trailing # would be read as the closing sequence
			s = s[:len(s)-1] + `\#`
		}
		if s == "" {
			return prefix
		}
		return prefix + " " + s
	}
	return w.stable(inl, render, func(s string) []*Node { return firstInline(s, "heading", w.o) })
}

func (w *mdWriter) cell(inl []*Node) string {
	render := func(n []*Node) string { return escapeCell(w.inline(n, true)) }
	parse := func(s string) []*Node {
		doc := MarkdownToADF("| "+s+" |\n| --- |", w.o)
		if len(doc.Content) == 1 && doc.Content[0].Type == "table" {
			c := doc.Content[0].Content[0].Content[0]
			if len(c.Content) > 0 {
				return c.Content[0].Content
			}
		}
		return nil
	}
	return w.stable(inl, render, parse)
}

// stable renders inl with the richest fallback whose output, parsed and
// rendered again, is unchanged: that is what makes a second round trip a
// no-op even where CommonMark's delimiter rules defeat the local checks.
func (w *mdWriter) stable(inl []*Node, render func([]*Node) string, parse func(string) []*Node) string {
	var s string
	for _, f := range fallbacks {
		s = render(f(inl))
		if render(parse(s)) == s {
			return s
		}
	}
	return s
}

// firstInline parses md and returns the inline content of its single
// block of the given type (nil when it parses as anything else).
func firstInline(md, typ string, o Options) []*Node {
	doc := MarkdownToADF(md, o)
	if len(doc.Content) == 1 && doc.Content[0].Type == typ {
		return doc.Content[0].Content
	}
	return []*Node{{Type: "text", Text: "\x00mismatch"}}
}

var (
	atxStart     = regexp.MustCompile(`^#{1,6}(?:[ \t]|$)`)
	orderedStart = regexp.MustCompile(`^([0-9]{1,9})([.)])(?:[ \t]|$)`)
	delimRow     = regexp.MustCompile(`^[|:\- \t]+$`)
)

// escapeLines escapes what would start a block at the start of a line.
func escapeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		switch {
		case l == "":
		case atxStart.MatchString(l), l[0] == '>', l[0] == '-', l[0] == '+', l[0] == '=':
			l = `\` + l
		case orderedStart.MatchString(l):
			m := orderedStart.FindStringSubmatchIndex(l)
			l = l[:m[4]] + `\` + l[m[4]:]
		}
		if delimRow.MatchString(l) {
			l = strings.ReplaceAll(l, "|", `\|`)
			l = strings.Replace(l, "-", `\-`, 1)
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// escapeCell escapes pipes that would split a table cell, including the
// ones inside code spans (GFM unescapes "\|" there before parsing code).
func escapeCell(s string) string {
	var sb strings.Builder
	bs := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '|' && bs%2 == 0 {
			sb.WriteByte('\\')
		}
		if c == '\\' {
			bs++
		} else {
			bs = 0
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

var markSeq = []string{"link", "strong", "em", "strike", "code"}

type piece struct {
	open, inner, close string
	wrap               bool // open/close may be dropped if they would not parse
}

// appendWrapped appends inner wrapped in delimiter d. Whitespace at the
// edges cannot sit inside delimiters in either format, so it is moved
// outside them.
func appendWrapped(pieces []piece, d, inner string) []piece {
	trimmed := strings.TrimFunc(inner, unicode.IsSpace)
	if trimmed == "" {
		return append(pieces, piece{inner: inner})
	}
	lead := inner[:strings.Index(inner, trimmed)]
	trail := inner[len(lead)+len(trimmed):]
	if lead != "" {
		pieces = append(pieces, piece{inner: lead})
	}
	pieces = append(pieces, piece{open: d, inner: trimmed, close: d, wrap: true})
	if trail != "" {
		pieces = append(pieces, piece{inner: trail})
	}
	return pieces
}

// around returns the runes either side of pieces[i]: the last one written
// so far and the first of the next piece (a space where there is none).
func around(written string, pieces []piece, i int) (prev, next rune) {
	prev, next = ' ', ' '
	if written != "" {
		prev, _ = utf8.DecodeLastRuneInString(written)
	}
	if i+1 < len(pieces) {
		q := pieces[i+1]
		if s := q.open + q.inner + q.close; s != "" {
			next, _ = utf8.DecodeRuneInString(s)
		}
	}
	return prev, next
}

// inline renders canonical inline nodes: consecutive nodes sharing a
// mark are wrapped together, the mark spanning the most nodes outermost
// (see nextSpan), so "*a **b***" stays one emphasis.
func (w *mdWriter) inline(nodes []*Node, cell bool) string {
	return w.seq(nodes, 0, cell)
}

// nextSpan picks the span starting at nodes[i] among marks not yet in
// done (a bit set over markSeq): the mark whose run of consecutive nodes
// is longest, ties going to markSeq order; code only when nothing else
// is left, since a code span holds no other markup. It returns the mark
// type and the end of its run, or "" and the end of the run of nodes
// with no mark left.
func nextSpan(nodes []*Node, i int, done uint) (string, int) {
	best, bestEnd := "", i+1
	for k, t := range markSeq {
		if done&(1<<k) != 0 {
			continue
		}
		key := groupKey(nodes[i], t)
		if key == "" || t == "code" && best != "" {
			continue
		}
		j := i + 1
		for j < len(nodes) && groupKey(nodes[j], t) == key {
			j++
		}
		if best == "" || j > bestEnd {
			best, bestEnd = t, j
		}
	}
	if best != "" {
		return best, bestEnd
	}
	j := i + 1
	for j < len(nodes) && !hasMarkLeft(nodes[j], done) {
		j++
	}
	return "", j
}

func hasMarkLeft(n *Node, done uint) bool {
	for k, t := range markSeq {
		if done&(1<<k) == 0 && groupKey(n, t) != "" {
			return true
		}
	}
	return false
}

func markBit(t string) uint {
	for k, s := range markSeq {
		if s == t {
			return 1 << k
		}
	}
	return 0
}

func groupKey(n *Node, t string) string {
	if n.Type != "text" {
		return ""
	}
	i := markIndex(n.Marks, t)
	if i < 0 {
		return ""
	}
	return t + "\x00" + strAttr(n.Marks[i].Attrs, "href") + "\x00" + strAttr(n.Marks[i].Attrs, "title")
}

func (w *mdWriter) seq(nodes []*Node, done uint, cell bool) string {
	var pieces []piece
	for i := 0; i < len(nodes); {
		t, j := nextSpan(nodes, i, done)
		g := nodes[i:j]
		i = j
		if t == "" {
			esc := escapeText
			if w.inLink > 0 {
				esc = escapeLinkText
			}
			pieces = append(pieces, piece{inner: leaves(g, w.o, esc, func(name string) string { return "@" + name }, func(string) string { return "" })})
			continue
		}
		level := done | markBit(t)
		switch t {
		case "link":
			attrs := g[0].Marks[markIndex(g[0].Marks, "link")].Attrs
			w.inLink++
			inner := w.seq(g, level, cell)
			w.inLink--
			pieces = append(pieces, piece{open: "[", inner: inner, close: "](" + linkDest(strAttr(attrs, "href")) + linkTitle(strAttr(attrs, "title")) + ")"})
		case "code":
			var sb strings.Builder
			for _, n := range g {
				sb.WriteString(n.Text)
			}
			pieces = append(pieces, piece{inner: codeSpan(sb.String())})
		default:
			d := map[string]string{"strong": "**", "em": "*", "strike": "~~"}[t]
			pieces = appendWrapped(pieces, d, w.seq(g, level, cell))
		}
	}
	// Drop delimiters that would not parse as emphasis where they stand.
	var sb strings.Builder
	for i, p := range pieces {
		if p.wrap {
			prev, next := around(sb.String(), pieces, i)
			if !canWrap(p.open, sb.String(), prev, p.inner, next) {
				p.open, p.close = "", ""
			}
		}
		if p.open == "[" {
			if s := sb.String(); strings.HasSuffix(s, "!") {
				// "![" would start an image
				sb.Reset()
				sb.WriteString(s[:len(s)-1] + `\!`)
			}
		}
		sb.WriteString(p.open)
		sb.WriteString(p.inner)
		sb.WriteString(p.close)
	}
	return sb.String()
}

// trailingRun counts the bytes c at the end of s.
func trailingRun(s string, c byte) int {
	n := 0
	for n < len(s) && s[len(s)-1-n] == c {
		n++
	}
	return n
}

func isPunct(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }

// canWrap applies CommonMark's flanking rules for a delimiter run d
// around inner, given the characters just outside (prev, next; see
// around); written is the Markdown written before it. A backslash or
// delimiter character just before counts only when it is live: "\\\\"
// (an escaped backslash) neither escapes the delimiter nor joins its run,
// and neither does an escaped "\\*".
func canWrap(d, written string, prev rune, inner string, next rune) bool {
	dc := rune(d[0])
	first, _ := utf8.DecodeRuneInString(inner)
	last, _ := utf8.DecodeLastRuneInString(inner)
	if next == dc {
		return false
	}
	if prev == '\\' && trailingRun(written, '\\')%2 == 1 {
		return false // the delimiter would be escaped
	}
	if prev == dc && trailingRun(written[:len(written)-1], '\\')%2 == 0 {
		return false // the delimiter would join the run before it
	}
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return false
	}
	leftOpen := !isPunct(first) || unicode.IsSpace(prev) || isPunct(prev)
	rightClose := !isPunct(last) || unicode.IsSpace(next) || isPunct(next)
	return leftOpen && rightClose
}

// leaves renders unmarked inline nodes. Adjacent text (including
// mentions written as their display text) is escaped as one string, so
// escaping never depends on how the text happened to be split.
func leaves(nodes []*Node, o Options, escape func(string) string, named func(string) string, byID func(string) string) string {
	var out, buf strings.Builder
	flush := func() {
		out.WriteString(escape(buf.String()))
		buf.Reset()
	}
	for i, n := range nodes {
		switch n.Type {
		case "hardBreak":
			flush()
			out.WriteString("\n")
		case "text":
			buf.WriteString(n.Text)
		case "mention":
			id := strAttr(n.Attrs, "id")
			if s := byID(id); s != "" {
				flush()
				out.WriteString(s)
				continue
			}
			// "@name" reads back as a mention only at a word boundary.
			prev, _ := utf8.DecodeLastRuneInString(out.String())
			if buf.Len() > 0 {
				prev, _ = utf8.DecodeLastRuneInString(buf.String())
			}
			next := ""
			if i+1 < len(nodes) && nodes[i+1].Type == "text" {
				next = nodes[i+1].Text
			}
			if o.MentionName != nil && !mentionGlued(prev, next) {
				if name, ok := o.MentionName(id); ok && mentionName.MatchString(name) {
					flush()
					out.WriteString(named(name))
					continue
				}
			}
			t := strAttr(n.Attrs, "text")
			if t == "" {
				t = id
			}
			buf.WriteString(t)
		}
	}
	flush()
	return out.String()
}

// mentionGlued reports whether text around "@name" would change which
// name (if any) Markdown reads; see mentionRe.
func mentionGlued(prev rune, next string) bool {
	if prev == '@' || prev == '.' || prev == '/' || prev == '-' || prev == '_' || isAlnum(prev) {
		return true
	}
	r, size := utf8.DecodeRuneInString(next)
	if r == '_' || isAlnum(r) {
		return true
	}
	if r == '.' || r == '-' {
		r2, _ := utf8.DecodeRuneInString(next[size:])
		return r2 == '_' || isAlnum(r2)
	}
	return false
}

var mentionName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// escapeText backslash-escapes what Markdown would read as markup. A
// "[" alone starts nothing (no reference definitions are ever written),
// so only a "]" that could close a link is escaped: "[ ] task" stays.
func escapeText(s string) string { return escapeMD(s, false) }

func escapeLinkText(s string) string { return escapeMD(s, true) }

func escapeMD(s string, inLink bool) string {
	var sb strings.Builder
	var prev rune
	for i, r := range s {
		switch r {
		case '\\', '*', '`', '~', '|':
			sb.WriteByte('\\')
		case '[':
			if inLink {
				sb.WriteByte('\\')
			}
		case ']':
			// "@" may be followed by a mention written as "@name"
			if inLink || i+1 >= len(s) || strings.ContainsRune("([:@", rune(s[i+1])) {
				sb.WriteByte('\\')
			}
		case '_':
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if !(isAlnum(prev) && isAlnum(next)) {
				sb.WriteByte('\\')
			}
		case '<':
			// Anything but a space after "<" may open an HTML tag or an
			// autolink (including e-mail ones, "<a.b@c>").
			if i+1 >= len(s) || (s[i+1] != ' ' && s[i+1] != '\t') {
				sb.WriteByte('\\')
			}
		case '&':
			if entityRe.MatchString(s[i:]) {
				sb.WriteByte('\\')
			}
		}
		sb.WriteRune(r)
		prev = r
	}
	return sb.String()
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func codeSpan(s string) string {
	ticks := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") ||
		(strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") && strings.Trim(s, " ") != "") {
		s = " " + s + " "
	}
	return ticks + s + ticks
}

func linkDest(href string) string {
	if href != "" && !strings.ContainsAny(href, " \t\n<>()\\") && !hasControl(href) {
		return href
	}
	r := strings.NewReplacer(`\`, `\\`, `<`, `\<`, `>`, `\>`)
	return "<" + r.Replace(href) + ">"
}

// linkTitle writes a link title as ` "title"`, escaping what would end
// it or be read as an escape or entity; "" when there is none.
func linkTitle(t string) string {
	if t == "" {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(` "`)
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c == '"' || c == '\\' || c == '&' && entityRe.MatchString(t[i:]) {
			sb.WriteByte('\\')
		}
		sb.WriteByte(c)
	}
	sb.WriteByte('"')
	return sb.String()
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
