package markup

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// parseWiki reads Jira wiki markup into a raw (not yet normalised) ADF
// tree. It follows the Jira renderer where it matters for text coming
// from Jira (headings, lists, tables, {code}/{noformat}/{quote}/{panel},
// bq., emphasis at word boundaries, links, mentions, images, escapes) and
// keeps anything it does not understand as text.
func parseWiki(s string, o Options) *Node {
	s = strings.ReplaceAll(strings.ReplaceAll(cleanText(s), "\r\n", "\n"), "\r", "\n")
	p := &wikiParser{o: o}
	return &Node{Type: "doc", Version: 1, Content: p.blocks(s, 0)}
}

type wikiParser struct {
	o Options
}

var (
	wikiCodeTag   = regexp.MustCompile(`^\{(code|noformat)(?::([^}\n]*))?\}`)
	wikiBlockTag  = regexp.MustCompile(`^\{(quote|panel)(?::[^}\n]*)?\}`)
	wikiHeading   = regexp.MustCompile(`^h([1-6])\.(?:[ \t]+|$)`)
	wikiBq        = regexp.MustCompile(`^bq\.(?:[ \t]+|$)`)
	wikiRule      = regexp.MustCompile(`^-{4,}[ \t]*$`)
	wikiListItem  = regexp.MustCompile(`^([*#]+|-)[ \t]+`)
	wikiEmptyItem = regexp.MustCompile(`^([*#]+|-)[ \t]*$`)
)

func (p *wikiParser) blocks(s string, depth int) []*Node {
	var out []*Node
	var para []string
	var listLines []string // for the list being read: item texts with markers
	flushPara := func() {
		if len(para) > 0 {
			out = append(out, &Node{Type: "paragraph", Content: p.inline(strings.Join(para, "\n"), nil, depth)})
			para = nil
		}
	}
	flushList := func() {
		if len(listLines) > 0 {
			out = append(out, p.list(listLines, depth)...)
			listLines = nil
		}
	}
	var table []string
	flushTable := func() {
		if len(table) > 0 {
			out = append(out, p.table(table, depth))
			table = nil
		}
	}
	flush := func() { flushPara(); flushList(); flushTable() }

	for len(s) > 0 {
		line, rest, _ := strings.Cut(s, "\n")
		t := strings.TrimLeft(line, " \t")
		if t == "" {
			flush()
			s = rest
			continue
		}
		if m := wikiCodeTag.FindStringSubmatch(t); m != nil && depth < maxDepth {
			body := strings.TrimPrefix(s, line[:len(line)-len(t)])[len(m[0]):]
			end := "{" + m[1] + "}"
			if k := strings.Index(body, end); k >= 0 {
				flush()
				code := strings.TrimPrefix(body[:k], "\n")
				code = strings.TrimSuffix(code, "\n")
				lang := ""
				if m[1] == "code" {
					lang = codeLang(m[2])
				}
				out = append(out, codeBlock(code, lang))
				s = strings.TrimPrefix(body[k+len(end):], "\n")
				continue
			}
		}
		if m := wikiBlockTag.FindStringSubmatch(t); m != nil && depth < maxDepth {
			body := strings.TrimPrefix(s, line[:len(line)-len(t)])[len(m[0]):]
			end := "{" + m[1] + "}"
			if k := strings.Index(body, end); k >= 0 {
				flush()
				out = append(out, &Node{Type: "blockquote", Content: p.blocks(body[:k], depth+1)})
				s = strings.TrimPrefix(body[k+len(end):], "\n")
				continue
			}
		}
		s = rest
		switch {
		case wikiHeading.MatchString(t):
			flush()
			m := wikiHeading.FindStringSubmatch(t)
			out = append(out, &Node{Type: "heading", Attrs: map[string]any{"level": int(m[1][0] - '0')},
				Content: p.inline(t[len(m[0]):], nil, depth)})
		case wikiBq.MatchString(t):
			flush()
			m := wikiBq.FindString(t)
			out = append(out, &Node{Type: "blockquote", Content: []*Node{{Type: "paragraph", Content: p.inline(t[len(m):], nil, depth)}}})
		case wikiRule.MatchString(t):
			flush()
			out = append(out, &Node{Type: "rule"})
		case wikiListItem.MatchString(t) || wikiEmptyItem.MatchString(t):
			flushPara()
			flushTable()
			listLines = append(listLines, t)
		case strings.HasPrefix(t, "|"):
			flushPara()
			flushList()
			table = append(table, t)
		case len(listLines) > 0:
			// A plain line under an item continues the item's text.
			listLines[len(listLines)-1] += "\n" + t
		default:
			flushTable()
			para = append(para, t)
		}
	}
	flush()
	return out
}

// codeLang reads the language from {code:java} or {code:title=x|language=go}.
func codeLang(params string) string {
	for _, part := range strings.Split(params, "|") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			if !strings.Contains(params, "=") {
				return normLang(k)
			}
			continue
		}
		if strings.TrimSpace(k) == "language" || strings.TrimSpace(k) == "lang" {
			return normLang(v)
		}
	}
	return ""
}

// list builds nested lists from item lines such as "#* text".
func (p *wikiParser) list(lines []string, depth int) []*Node {
	type level struct {
		list *Node
		typ  byte
	}
	var out []*Node
	var stack []level
	for _, l := range lines {
		marker := strings.TrimRight(wikiListItem.FindString(l), " \t")
		if marker == "" {
			marker = strings.TrimRight(l, " \t\n")
			if i := strings.IndexAny(marker, " \t\n"); i >= 0 {
				marker = marker[:i]
			}
		}
		text := strings.TrimLeft(l[len(marker):], " \t")
		if marker == "-" {
			marker = "*"
		}
		if len(marker) > maxDepth {
			marker = marker[:maxDepth]
		}
		for k := 0; k < len(marker); k++ {
			typ := marker[k]
			if k < len(stack) && stack[k].typ == typ {
				if k < len(marker)-1 && len(stack[k].list.Content) == 0 {
					stack[k].list.Content = append(stack[k].list.Content, &Node{Type: "listItem", Content: []*Node{{Type: "paragraph"}}})
				}
				continue
			}
			stack = stack[:min(k, len(stack))]
			l := &Node{Type: "bulletList"}
			if typ == '#' {
				l.Type = "orderedList"
			}
			if k == 0 {
				out = append(out, l)
			} else {
				parent := stack[k-1].list
				if len(parent.Content) == 0 {
					parent.Content = append(parent.Content, &Node{Type: "listItem", Content: []*Node{{Type: "paragraph"}}})
				}
				it := parent.Content[len(parent.Content)-1]
				it.Content = append(it.Content, l)
			}
			stack = append(stack, level{list: l, typ: typ})
			if k < len(marker)-1 {
				l.Content = append(l.Content, &Node{Type: "listItem", Content: []*Node{{Type: "paragraph"}}})
			}
		}
		stack = stack[:len(marker)]
		top := stack[len(marker)-1].list
		top.Content = append(top.Content, &Node{Type: "listItem", Content: []*Node{
			{Type: "paragraph", Content: p.inline(text, nil, depth)},
		}})
	}
	return out
}

func (p *wikiParser) table(lines []string, depth int) *Node {
	t := &Node{Type: "table"}
	for _, l := range lines {
		header := strings.HasPrefix(l, "||")
		typ := "tableCell"
		if header {
			typ = "tableHeader"
		}
		row := &Node{Type: "tableRow"}
		for _, c := range splitCells(l) {
			row.Content = append(row.Content, &Node{Type: typ, Content: []*Node{
				{Type: "paragraph", Content: p.inline(strings.TrimSpace(c), nil, depth)},
			}})
		}
		t.Content = append(t.Content, row)
	}
	return t
}

// splitCells splits a table row on unescaped pipes outside links and
// monospace; the outer pipes delimit nothing.
func splitCells(l string) []string {
	var cells []string
	start := -1
	for i := 0; i < len(l); {
		switch {
		case l[i] == '\\' && i+1 < len(l):
			i += 2
			continue
		case l[i] == '[':
			if j := findClose(l, i+1, "]"); j >= 0 {
				i = j + 1
				continue
			}
		case strings.HasPrefix(l[i:], "{{"):
			if j := findClose(l, i+2, "}}"); j >= 0 {
				i = j + 2
				continue
			}
		case l[i] == '|':
			if start >= 0 {
				cells = append(cells, l[start:i])
			}
			for i < len(l) && l[i] == '|' {
				i++
			}
			start = i
			continue
		}
		i++
	}
	if start >= 0 && strings.TrimSpace(l[start:]) != "" {
		cells = append(cells, l[start:])
	}
	return cells
}

// finder remembers failed searches within one string: when no end
// closes from i, none closes from a later start on the same line either,
// which keeps runs of unmatched "[" or "*" linear instead of quadratic.
type finder struct {
	s      string
	failed map[string][2]int // end -> [from, line end)
}

func (f *finder) find(i int, end string) int {
	if r, ok := f.failed[end]; ok && i >= r[0] && i < r[1] {
		return -1
	}
	j := findClose(f.s, i, end)
	if j < 0 {
		lineEnd := strings.IndexByte(f.s[min(i, len(f.s)):], '\n')
		if lineEnd < 0 {
			lineEnd = len(f.s)
		} else {
			lineEnd += i
		}
		if f.failed == nil {
			f.failed = map[string][2]int{}
		}
		f.failed[end] = [2]int{i, lineEnd}
	}
	return j
}

// findClose finds the next unescaped end at or after i on the same line.
func findClose(s string, i int, end string) int {
	for i < len(s) && s[i] != '\n' {
		if s[i] == '\\' && i+1 < len(s) {
			i += 2
			continue
		}
		if strings.HasPrefix(s[i:], end) {
			return i
		}
		i++
	}
	return -1
}

var wikiMarks = map[byte]string{'*': "strong", '_': "em", '-': "strike", '+': "", '^': "", '~': ""}

var inlineMacro = regexp.MustCompile(`^\{(color|anchor)(?::[^}\n]*)?\}`)

// inline parses inline wiki markup; marks apply to every text produced.
func (p *wikiParser) inline(s string, marks []Mark, depth int) []*Node {
	var out []*Node
	var sb strings.Builder
	f := &finder{s: s}
	flush := func() {
		if sb.Len() > 0 {
			out = append(out, textNodes(sb.String(), marks)...)
			sb.Reset()
		}
	}
	prev := ' '
	for i := 0; i < len(s); {
		c := s[i]
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case strings.HasPrefix(s[i:], `\\`):
			flush()
			out = append(out, &Node{Type: "hardBreak"})
			i += 2
			prev = ' '
			continue
		case c == '\\' && i+1 < len(s):
			n, nsize := utf8.DecodeRuneInString(s[i+1:])
			if !isAlnum(n) && !unicode.IsSpace(n) {
				sb.WriteRune(n)
				i += 1 + nsize
				prev = n
				continue
			}
		case c == 'h':
			if j := wikiURLToken(s, i, prev); j > 0 {
				sb.WriteString(s[i:j])
				prev, _ = utf8.DecodeLastRuneInString(s[i:j])
				i = j
				continue
			}
		case c == '\n':
			flush()
			out = append(out, &Node{Type: "hardBreak"})
			i++
			prev = ' '
			continue
		case c == '&':
			if m := entityRe.FindStringSubmatch(s[i:]); m != nil {
				if v, ok := resolveEntity(m[1]); ok {
					sb.WriteString(v)
					i += len(m[0])
					prev, _ = utf8.DecodeLastRuneInString(v)
					continue
				}
			}
		case strings.HasPrefix(s[i:], "{{"):
			if j := f.find(i+2, "}}"); j > i+2 {
				flush()
				out = append(out, textNodes(wikiUnescape(s[i+2:j]), withMark(marks, Mark{Type: "code"}))...)
				i = j + 2
				prev = '}'
				continue
			}
		case c == '{' && len(s) > i+2 && s[i+2] == '}' && strings.IndexByte("*_-+^~", s[i+1]) >= 0:
			// {*}bold{*}: emphasis that needs no word boundary
			delim := s[i : i+3]
			if j := f.find(i+3, delim); j > i+3 && depth < maxDepth {
				flush()
				inner := marks
				if mark := wikiMarks[s[i+1]]; mark != "" && !hasMark(marks, mark) {
					inner = withMark(marks, Mark{Type: mark})
				}
				out = append(out, p.inline(s[i+3:j], inner, depth+1)...)
				i = j + 3
				prev = '}'
				continue
			}
			sb.WriteString(delim)
			i += 3
			prev = '}'
			continue
		case c == '{':
			if m := inlineMacro.FindString(s[i:]); m != "" {
				i += len(m)
				continue
			}
		case c == '[':
			if j := f.find(i+1, "]"); j > i+1 {
				flush()
				out = append(out, p.link(s[i+1:j], marks, depth)...)
				i = j + 1
				prev = ']'
				continue
			}
		case c == '!':
			if j := f.find(i+1, "!"); j > i+1 && !unicode.IsSpace(rune(s[i+1])) && !unicode.IsSpace(rune(s[j-1])) {
				flush()
				target, params, _ := strings.Cut(s[i+1:j], "|")
				label := target
				for _, kv := range strings.Split(params, ",") {
					if k, v, ok := strings.Cut(kv, "="); ok && strings.TrimSpace(k) == "alt" && strings.TrimSpace(v) != "" {
						label = strings.TrimSpace(v)
					}
				}
				out = append(out, textNodes(label, withMark(marks, linkMark(target, "")))...)
				i = j + 1
				prev = '!'
				continue
			}
		case strings.HasPrefix(s[i:], "??") || wikiMarks[c] != "" || c == '+' || c == '^' || c == '~':
			delim := s[i : i+1]
			mark := wikiMarks[c]
			if strings.HasPrefix(s[i:], "??") {
				delim, mark = "??", "em"
			}
			if j := f.emphasisClose(i, delim, prev); j > 0 && depth < maxDepth {
				flush()
				inner := marks
				if mark != "" && !hasMark(marks, mark) {
					inner = withMark(marks, Mark{Type: mark})
				}
				out = append(out, p.inline(s[i+len(delim):j], inner, depth+1)...)
				i = j + len(delim)
				prev = rune(delim[0])
				continue
			}
		}
		sb.WriteRune(r)
		i += size
		prev = r
	}
	flush()
	return out
}

// emphasisClose returns where the emphasis opened at i closes, or -1.
// Like Jira it opens only at a word start and closes at a word end.
func (f *finder) emphasisClose(i int, delim string, prev rune) int {
	s := f.s
	start := i + len(delim)
	first, _ := utf8.DecodeRuneInString(s[start:])
	if isAlnum(prev) || start >= len(s) || unicode.IsSpace(first) {
		return -1
	}
	key := "emph" + delim
	if r, ok := f.failed[key]; ok && start >= r[0] && start < r[1] {
		return -1
	}
	j := start
	for j < len(s) && s[j] != '\n' {
		switch {
		case s[j] == '\\' && j+1 < len(s):
			j += 2
			continue
		case s[j] == '[':
			if k := f.find(j+1, "]"); k >= 0 {
				j = k + 1
				continue
			}
		case strings.HasPrefix(s[j:], "{{"):
			if k := f.find(j+2, "}}"); k >= 0 {
				j = k + 2
				continue
			}
		case j > start && strings.HasPrefix(s[j:], delim):
			last, _ := utf8.DecodeLastRuneInString(s[:j])
			next, _ := utf8.DecodeRuneInString(s[j+len(delim):])
			if !unicode.IsSpace(last) && (j+len(delim) >= len(s) || !isAlnum(next)) {
				return j
			}
		}
		j++
	}
	if f.failed == nil {
		f.failed = map[string][2]int{}
	}
	f.failed[key] = [2]int{start, j}
	return -1
}

// link reads the inside of [...]: a mention, an attachment or a link.
func (p *wikiParser) link(c string, marks []Mark, depth int) []*Node {
	if id, ok := strings.CutPrefix(c, "~"); ok {
		id = strings.TrimPrefix(id, "accountid:")
		if id != "" {
			return []*Node{{Type: "mention", Attrs: map[string]any{"id": id, "text": "@" + id}}}
		}
	}
	if name, ok := strings.CutPrefix(c, "^"); ok {
		return textNodes(wikiUnescape(name), marks)
	}
	alias, url, tip := "", c, ""
	if k := findClose(c, 0, "|"); k >= 0 {
		alias, url = c[:k], c[k+1:]
		url, tip, _ = strings.Cut(url, "|")
	}
	url = strings.TrimFunc(url, isASCIISpace)
	m := withMark(marks, linkMark(url, wikiUnescape(tip)))
	if alias == "" {
		return textNodes(url, m)
	}
	return p.inline(alias, m, depth+1)
}

// wikiURLToken returns the end of a bare URL starting at i, or -1. Jira
// links bare URLs and applies no markup inside them, so "x_y" in a URL
// must not be escaped (the backslash would land in the link) and must not
// be read as emphasis. Writer and parser share this rule.
func wikiURLToken(s string, i int, prev rune) int {
	if isAlnum(prev) || prev == '\\' || !(strings.HasPrefix(s[i:], "http://") || strings.HasPrefix(s[i:], "https://")) {
		return -1
	}
	j := i
	for j < len(s) && (isASCIIAlnum(s[j]) || strings.IndexByte("-._~:/?#@$&'()+,;=%", s[j]) >= 0) {
		j++
	}
	return j
}

func isASCIIAlnum(c byte) bool { return c >= '0' && c <= '9' || isASCIILetter(c) }

// wikiUnescape resolves backslash escapes and entities in literal text.
func wikiUnescape(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '\\' && i+1 < len(s) {
			n, size := utf8.DecodeRuneInString(s[i+1:])
			if !isAlnum(n) && !unicode.IsSpace(n) {
				sb.WriteRune(n)
				i += 1 + size
				continue
			}
		}
		if s[i] == '&' {
			if m := entityRe.FindStringSubmatch(s[i:]); m != nil {
				if v, ok := resolveEntity(m[1]); ok {
					sb.WriteString(v)
					i += len(m[0])
					continue
				}
			}
		}
		sb.WriteByte(s[i])
		i++
	}
	return sb.String()
}
