package markup

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// wikiWriter renders canonical ADF (see normalize) as Jira wiki markup.
type wikiWriter struct {
	// braced writes every emphasis in Jira's {*}braced{*} form, which
	// needs no word boundary.
	braced bool
}

func (w *wikiWriter) blocks(nodes []*Node) string {
	var parts []string
	for _, n := range nodes {
		if s := w.block(n); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n\n")
}

func (w *wikiWriter) block(n *Node) string {
	switch n.Type {
	case "paragraph":
		return w.paragraph(n.Content)
	case "heading":
		lvl := min(max(intAttr(n.Attrs, "level", 1), 1), 6)
		prefix := "h" + itoa(lvl) + ". "
		return w.stable(n.Content, func(inl []*Node) string { return prefix + w.inline(inl) },
			func(s string) []*Node { return wikiFirstInline(s, "heading") })
	case "codeBlock":
		return wikiCode(plainText(n), strAttr(n.Attrs, "language"))
	case "blockquote":
		inner := w.blocks(n.Content)
		if inner == "" {
			return ""
		}
		return "{quote}\n" + inner + "\n{quote}"
	case "bulletList", "orderedList":
		var lines []string
		w.list(n, "", &lines)
		return strings.Join(lines, "\n")
	case "rule":
		return "----"
	case "table":
		var rows []string
		for i, r := range n.Content {
			sep := "|"
			if i == 0 {
				sep = "||"
			}
			var sb strings.Builder
			sb.WriteString(sep)
			for _, c := range r.Content {
				var inl []*Node
				if len(c.Content) > 0 {
					inl = c.Content[0].Content
				}
				s := w.cell(inl)
				if s == "" {
					s = " " // "||||" would read as one cell
				}
				sb.WriteString(s)
				sb.WriteString(sep)
			}
			rows = append(rows, sb.String())
		}
		return strings.Join(rows, "\n")
	}
	return ""
}

// wikiCode writes a code block: {code:lang} with a language, {noformat}
// without one (Jira shows a bare {code} block as Java). A block holding
// its own end tag takes the other form.
func wikiCode(code, lang string) string {
	code = normCode(code)
	lang = normLang(lang)
	name := "noformat"
	if lang != "" {
		name = "code"
	}
	if strings.Contains(code, "{"+name+"}") {
		other := map[string]string{"code": "noformat", "noformat": "code"}[name]
		if !strings.Contains(code, "{"+other+"}") {
			name = other
		} else {
			// Neither block can hold this text verbatim; keep it readable.
			code = strings.ReplaceAll(code, "{"+name+"}", "{"+name+" }")
		}
	}
	tag, end := "{"+name, "{"+name+"}"
	if name == "code" && lang != "" {
		tag += ":" + lang
	}
	if code == "" {
		return tag + "}\n" + end
	}
	return tag + "}\n" + code + "\n" + end
}

// list writes a wiki list. Wiki items hold one paragraph and nested lists,
// so further paragraphs and code blocks join the item's text as lines.
func (w *wikiWriter) list(n *Node, prefix string, lines *[]string) {
	marker := prefix + "*"
	if n.Type == "orderedList" {
		marker = prefix + "#"
	}
	for _, it := range n.Content {
		var text []*Node
		var subs []*Node
		for _, b := range it.Content {
			switch b.Type {
			case "bulletList", "orderedList":
				subs = append(subs, b)
				continue
			case "paragraph":
				if len(text) > 0 && len(b.Content) > 0 {
					text = append(text, &Node{Type: "hardBreak"})
				}
				text = append(text, b.Content...)
			case "codeBlock":
				for _, l := range strings.Split(plainText(b), "\n") {
					if len(text) > 0 {
						text = append(text, &Node{Type: "hardBreak"})
					}
					text = append(text, textNodes(l, []Mark{{Type: "code"}})...)
				}
			}
		}
		text = normInline(text, false)
		body := w.stable(text, func(n []*Node) string { return wikiEscapeLines(w.inline(n)) }, wikiItemInline)
		if body == "" {
			*lines = append(*lines, marker)
		} else {
			*lines = append(*lines, marker+" "+body)
		}
		for _, s := range subs {
			w.list(s, marker, lines)
		}
	}
}

func (w *wikiWriter) paragraph(inl []*Node) string {
	return w.stable(inl, func(n []*Node) string { return wikiEscapeLines(w.inline(n)) },
		func(s string) []*Node { return wikiFirstInline(s, "paragraph") })
}

func (w *wikiWriter) cell(inl []*Node) string {
	return w.stable(inl, func(n []*Node) string { return w.inline(n) }, func(s string) []*Node {
		doc := normalize(parseWiki("|"+s+"|", Options{}))
		if len(doc.Content) == 1 && doc.Content[0].Type == "table" {
			if c := doc.Content[0].Content[0].Content[0]; len(c.Content) > 0 {
				return c.Content[0].Content
			}
			return nil
		}
		return []*Node{{Type: "text", Text: "\x00mismatch"}}
	})
}

// stable renders inl with the richest variant whose output, parsed and
// rendered again, is unchanged: plain delimiters, then Jira's braced
// {*}form{*} everywhere, then without emphasis, then without marks.
func (w *wikiWriter) stable(inl []*Node, render func([]*Node) string, parse func(string) []*Node) string {
	defer func(b bool) { w.braced = b }(w.braced)
	var s string
	for i, f := range []func([]*Node) []*Node{keepAll, keepAll, dropEmphasis, dropAllMarks} {
		w.braced = i == 1
		s = render(f(inl))
		if render(parse(s)) == s {
			return s
		}
	}
	return s
}

// wikiItemInline parses s as the text of a list item.
func wikiItemInline(s string) []*Node {
	doc := normalize(parseWiki("* "+s, Options{}))
	if len(doc.Content) == 1 && len(doc.Content[0].Content) == 1 {
		if it := doc.Content[0].Content[0]; len(it.Content) == 1 {
			return it.Content[0].Content
		}
	}
	return []*Node{{Type: "text", Text: "\x00mismatch"}}
}

func wikiFirstInline(s, typ string) []*Node {
	doc := normalize(parseWiki(s, Options{}))
	if len(doc.Content) == 1 && doc.Content[0].Type == typ {
		return doc.Content[0].Content
	}
	if s == "" && len(doc.Content) == 0 {
		return nil
	}
	return []*Node{{Type: "text", Text: "\x00mismatch"}}
}

var (
	wikiHeadingStart = regexp.MustCompile(`^(h[1-6]|bq)\.`)
	wikiEmoticon     = regexp.MustCompile(`^(\((?:[yniNx!?/+*-]|on|off|\*[rgby])\)|[:;][()PpDd])`)
)

func wikiEscapeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		switch {
		case wikiHeadingStart.MatchString(l):
			j := strings.IndexByte(l, '.')
			l = l[:j] + `\` + l[j:]
		case strings.HasPrefix(l, "#"):
			l = `\` + l
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// wikiEscape escapes text so Jira shows it literally. A backslash itself
// cannot be escaped with a backslash ("\\" is a line break), so it becomes
// an entity.
func wikiEscape(s string) string {
	var sb strings.Builder
	prev := ' '
	skip := 0
	for i, r := range s {
		if i < skip {
			continue
		}
		if r == 'h' {
			if j := wikiURLToken(s, i, prev); j > 0 {
				sb.WriteString(s[i:j])
				prev, _ = utf8.DecodeLastRuneInString(s[i:j])
				skip = j
				continue
			}
		}
		prev = r
		switch r {
		case '\\':
			sb.WriteString("&#92;")
			continue
		case '*', '_', '-', '+', '^', '~', '{', '}', '[', ']', '|', '!':
			sb.WriteByte('\\')
		case '?':
			if strings.HasPrefix(s[i+1:], "?") || strings.HasSuffix(sb.String(), "?") {
				sb.WriteByte('\\')
			}
		case '&':
			if entityRe.MatchString(s[i:]) {
				sb.WriteString("&amp;")
				continue
			}
		case '(', ':', ';':
			if wikiEmoticon.MatchString(s[i:]) {
				sb.WriteByte('\\')
			}
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func (w *wikiWriter) inline(nodes []*Node) string { return w.seq(nodes, 0) }

// seq renders inline nodes, marks nesting as nextSpan picks them.
func (w *wikiWriter) seq(nodes []*Node, done uint) string {
	var pieces []piece
	for i := 0; i < len(nodes); {
		t, j := nextSpan(nodes, i, done)
		g := nodes[i:j]
		i = j
		if t == "" {
			pieces = append(pieces, piece{inner: leaves(g, Options{}, wikiEscape, nil, wikiMention)})
			continue
		}
		level := done | markBit(t)
		switch t {
		case "link":
			attrs := g[0].Marks[markIndex(g[0].Marks, "link")].Attrs
			href, title := strAttr(attrs, "href"), strAttr(attrs, "title")
			inner := w.seq(g, level)
			switch {
			case title != "":
				// Jira's [alias|url|tip] shows the tip as the title.
				pieces = append(pieces, piece{inner: "[" + inner + "|" + wikiURL(href) + "|" + wikiEscape(title) + "]"})
			case inner == wikiEscape(href) && wikiURL(href) == href && !strings.HasPrefix(href, "~") && !strings.HasPrefix(href, "^"):
				pieces = append(pieces, piece{inner: "[" + wikiURL(href) + "]"})
			default:
				pieces = append(pieces, piece{inner: "[" + inner + "|" + wikiURL(href) + "]"})
			}
		case "code":
			var sb strings.Builder
			for _, n := range g {
				sb.WriteString(n.Text)
			}
			pieces = append(pieces, piece{inner: "{{" + wikiEscape(sb.String()) + "}}"})
		default:
			d := map[string]string{"strong": "*", "em": "_", "strike": "-"}[t]
			pieces = appendWrapped(pieces, d, w.seq(g, level))
		}
	}
	var sb strings.Builder
	for i, p := range pieces {
		if p.wrap {
			prev, next := around(sb.String(), pieces, i)
			if w.braced || !wikiCanOpen(prev, p.inner) || !wikiCanClose(p.inner, next) {
				// Jira's braced form works inside words.
				p.open, p.close = "{"+p.open+"}", "{"+p.close+"}"
			}
		}
		sb.WriteString(p.open)
		sb.WriteString(p.inner)
		sb.WriteString(p.close)
	}
	return sb.String()
}

// Jira only reads *x* as bold at word boundaries; these mirror the rules
// parseWiki applies.
func wikiCanOpen(prev rune, inner string) bool {
	first, _ := utf8.DecodeRuneInString(inner)
	return !isAlnum(prev) && prev != '\\' && !unicode.IsSpace(first)
}

func wikiCanClose(inner string, next rune) bool {
	last, _ := utf8.DecodeLastRuneInString(inner)
	return !isAlnum(next) && !unicode.IsSpace(last)
}

// wikiURL percent-encodes what would end a wiki link early.
func wikiURL(u string) string {
	return strings.NewReplacer("|", "%7C", "]", "%5D", "[", "%5B", " ", "%20", "\n", "%0A", `\`, "%5C").Replace(u)
}

// cloudAccountID matches Jira Cloud account ids ("557058:uuid" or 24 hex).
var cloudAccountID = regexp.MustCompile(`^([0-9]+:[0-9a-fA-F-]{36}|[0-9a-f]{24})$`)

// wikiMention writes a mention as [~user] (Data Center) or
// [~accountid:id] (Cloud); "" when the id cannot be written.
func wikiMention(id string) string {
	if id == "" || strings.ContainsAny(id, "]|\n") {
		return ""
	}
	if cloudAccountID.MatchString(id) {
		return "[~accountid:" + id + "]"
	}
	return "[~" + id + "]"
}
