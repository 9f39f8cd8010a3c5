package roadmap

import (
	"bytes"
	"fmt"
	"sort"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// yaml.v3 reports where a node starts (line and column, columns counted in
// characters) but not where it ends. Writing in place needs both, so this
// file finds a node's end by re-reading the source with the same rules the
// YAML parser applies: quoted scalars end at their closing quote, block
// scalars at the first line indented less than their content, plain scalars
// at a comment or a line not indented past their parent, flow collections at
// their matching bracket, and block collections where their last child
// ends. Any mistake here is caught later by re-parsing the spliced text.

var bom = []byte("\xef\xbb\xbf")

// lineIndex maps the parser's 1-based line and column numbers to byte
// offsets. Line breaks are what libyaml counts as breaks: CRLF, CR, LF and
// the Unicode NEL, LS and PS.
type lineIndex struct {
	src    []byte
	starts []int // offset of each line's first byte
	ends   []int // offset of each line's break (or len(src))
}

func newLineIndex(src []byte) lineIndex {
	li := lineIndex{src: src}
	start := 0
	if bytes.HasPrefix(src, bom) {
		start = len(bom)
	}
	for i := start; i < len(src); {
		n := breakLen(src, i)
		if n == 0 {
			i++
			continue
		}
		li.starts = append(li.starts, start)
		li.ends = append(li.ends, i)
		i += n
		start = i
	}
	li.starts = append(li.starts, start)
	li.ends = append(li.ends, len(src))
	return li
}

// breakLen is the length of the line break at src[i], 0 if there is none.
func breakLen(src []byte, i int) int {
	switch c := src[i]; {
	case c == '\r':
		if i+1 < len(src) && src[i+1] == '\n' {
			return 2
		}
		return 1
	case c == '\n':
		return 1
	case c == 0xc2 && i+1 < len(src) && src[i+1] == 0x85:
		return 2
	case c == 0xe2 && i+2 < len(src) && src[i+1] == 0x80 && (src[i+2] == 0xa8 || src[i+2] == 0xa9):
		return 3
	}
	return 0
}

func (li lineIndex) count() int { return len(li.starts) }

// offset converts a parser position to a byte offset.
func (li lineIndex) offset(line, col int) (int, error) {
	if line < 1 || line > len(li.starts) || col < 1 {
		return 0, fmt.Errorf("position %d:%d is outside the file", line, col)
	}
	off, end := li.starts[line-1], li.ends[line-1]
	for c := 1; c < col; c++ {
		if off >= end {
			return 0, fmt.Errorf("position %d:%d is past the end of its line", line, col)
		}
		_, n := utf8.DecodeRune(li.src[off:end])
		off += n
	}
	return off, nil
}

// lineOf is the 1-based line holding offset off.
func (li lineIndex) lineOf(off int) int {
	i := sort.Search(len(li.starts), func(i int) bool { return li.starts[i] > off })
	if i == 0 {
		return 1
	}
	return i
}

func (li lineIndex) start(line int) int { return li.starts[line-1] }
func (li lineIndex) end(line int) int   { return li.ends[line-1] }

// next is the offset where the line after line starts, len(src) for the last.
func (li lineIndex) next(line int) int {
	if line >= len(li.starts) {
		return len(li.src)
	}
	return li.starts[line]
}

func (li lineIndex) text(line int) []byte { return li.src[li.starts[line-1]:li.ends[line-1]] }

// indent counts the leading spaces of a line (tabs never indent in YAML).
func indent(b []byte) int {
	n := 0
	for n < len(b) && b[n] == ' ' {
		n++
	}
	return n
}

func blank(b []byte) bool { return len(bytes.Trim(b, " \t")) == 0 }

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// start is the offset of n's first character (its anchor or tag, if any).
func (d *document) start(n *yaml.Node) (int, error) {
	return d.lines.offset(n.Line, n.Column)
}

// skipProps moves past anchors and tags (&a, !!str) and the space after
// them, to where the node's content starts.
func (d *document) skipProps(p int) int {
	src := d.src
	for p < len(src) && (src[p] == '&' || src[p] == '!') {
		for p < len(src) && !isSpace(src[p]) && breakLen(src, p) == 0 {
			p++
		}
		for p < len(src) {
			switch {
			case isSpace(src[p]):
				p++
				continue
			case src[p] == '#':
				p = d.lines.end(d.lines.lineOf(p))
				continue
			}
			if n := breakLen(src, p); n > 0 {
				p += n
				continue
			}
			break
		}
	}
	return p
}

// propsEnd is the end of the anchors and tags at p on p's own line.
func (d *document) propsEnd(p int) int {
	src := d.src
	end := p
	for p < len(src) && (src[p] == '&' || src[p] == '!') {
		for p < len(src) && !isSpace(src[p]) && breakLen(src, p) == 0 {
			p++
		}
		end = p
		for p < len(src) && isSpace(src[p]) {
			p++
		}
	}
	return end
}

// end is the offset just past n's last character (its trailing comment and
// line break excluded). parentIndent is the indentation of the collection
// holding n: a mapping's key column minus one, a sequence's dash column
// minus one.
func (d *document) end(n *yaml.Node, parentIndent int) (int, error) {
	start, err := d.start(n)
	if err != nil {
		return 0, err
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			// An empty plain scalar (`team:`) has no text: it ends where
			// it starts, after any anchor or tag.
			return d.propsEnd(start), nil
		}
		p := d.skipProps(start)
		switch {
		case n.Style&yaml.DoubleQuotedStyle != 0:
			return d.quotedEnd(p, '"')
		case n.Style&yaml.SingleQuotedStyle != 0:
			return d.quotedEnd(p, '\'')
		case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
			return d.blockScalarEnd(p, parentIndent)
		}
		return d.plainEnd(p, parentIndent), nil
	case yaml.AliasNode:
		p := start
		for p < len(d.src) && !isSpace(d.src[p]) && breakLen(d.src, p) == 0 && !bytes.ContainsRune([]byte(",[]{}"), rune(d.src[p])) {
			p++
		}
		return p, nil
	case yaml.SequenceNode, yaml.MappingNode:
		if n.Style&yaml.FlowStyle != 0 {
			return d.flowEnd(d.skipProps(start))
		}
		if len(n.Content) == 0 {
			return 0, fmt.Errorf("line %d: empty block collection", n.Line)
		}
		last := n.Content[len(n.Content)-1]
		if n.Kind == yaml.MappingNode {
			return d.end(last, n.Content[0].Column-1)
		}
		dash := d.skipProps(start)
		if dash >= len(d.src) || d.src[dash] != '-' {
			return 0, fmt.Errorf("line %d: cannot find the sequence's dash", n.Line)
		}
		return d.end(last, dash-d.lines.start(d.lines.lineOf(dash)))
	}
	return 0, fmt.Errorf("line %d: unexpected node kind %v", n.Line, n.Kind)
}

// quotedEnd finds the closing quote of a quoted scalar opening at p.
func (d *document) quotedEnd(p int, q byte) (int, error) {
	src := d.src
	if p >= len(src) || src[p] != q {
		return 0, fmt.Errorf("offset %d: expected a quote", p)
	}
	for i := p + 1; i < len(src); i++ {
		switch {
		case q == '"' && src[i] == '\\':
			i++
		case src[i] == q && q == '\'' && i+1 < len(src) && src[i+1] == '\'':
			i++
		case src[i] == q:
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("offset %d: unterminated quoted value", p)
}

// contentEnd is where the plain text on line starting at p ends: before a
// comment (a # after a space), a ": " that makes it a key, and trailing
// space.
func (d *document) contentEnd(p, lineEnd int) int {
	src := d.src
	end := p
	for i := p; i < lineEnd; i++ {
		if src[i] == '#' && i > p && isSpace(src[i-1]) {
			break
		}
		if src[i] == ':' && (i+1 == lineEnd || isSpace(src[i+1])) {
			break
		}
		if !isSpace(src[i]) {
			end = i + 1
		}
	}
	return end
}

// plainEnd finds the end of a plain scalar starting at p, following its
// continuation lines: lines indented past the parent that are not comments.
func (d *document) plainEnd(p, parentIndent int) int {
	li := d.lines
	line := li.lineOf(p)
	end := d.contentEnd(p, li.end(line))
	for l := line + 1; l <= li.count(); l++ {
		text := li.text(l)
		if blank(text) {
			continue
		}
		if indent(text) <= parentIndent {
			break
		}
		rest := bytes.TrimLeft(text, " \t")
		if rest[0] == '#' {
			break
		}
		s := li.start(l) + len(text) - len(rest)
		end = d.contentEnd(s, li.end(l))
	}
	return end
}

// flowPlainEnd finds the end of a plain scalar inside a flow collection:
// it stops at flow punctuation, a ": " and comments, and may span lines.
func (d *document) flowPlainEnd(p int) int {
	src := d.src
	end := p
	for i := p; i < len(src); i++ {
		c := src[i]
		switch {
		case bytes.IndexByte([]byte(",[]{}"), c) >= 0:
			return end
		case c == ':' && (i+1 == len(src) || isSpace(src[i+1]) || breakLen(src, i+1) > 0 || bytes.IndexByte([]byte(",[]{}"), src[i+1]) >= 0):
			return end
		case c == '#' && i > p && (isSpace(src[i-1]) || breakLen(src, i-1) > 0):
			return end
		case !isSpace(c) && breakLen(src, i) == 0:
			end = i + 1
		}
	}
	return end
}

// blockScalarEnd finds the end of a literal or folded scalar whose header
// (| or >) is at p: its last content line, or with keep chomping (+) the
// last of the empty lines that follow it.
func (d *document) blockScalarEnd(p, parentIndent int) (int, error) {
	src, li := d.src, d.lines
	if p >= len(src) || (src[p] != '|' && src[p] != '>') {
		return 0, fmt.Errorf("offset %d: expected a block scalar header", p)
	}
	keep, explicit := false, 0
	for i := p + 1; i < len(src) && i <= p+2; i++ {
		switch c := src[i]; {
		case c == '+':
			keep = true
		case c >= '1' && c <= '9':
			explicit = int(c - '0')
		}
	}
	header := li.lineOf(p)
	end := li.end(header)
	m := 0
	if explicit > 0 {
		m = parentIndent + explicit
		if parentIndent < 0 {
			m = explicit
		}
	} else {
		for l := header + 1; l <= li.count(); l++ {
			if t := li.text(l); !blank(t) {
				m = indent(t)
				break
			}
		}
		if m <= parentIndent {
			m = parentIndent + 1
		}
	}
	trailing := end
	for l := header + 1; l <= li.count(); l++ {
		t := li.text(l)
		if len(bytes.TrimLeft(t, " ")) == 0 && len(t) <= m {
			trailing = li.end(l)
			continue
		}
		if indent(t) < m {
			break
		}
		end = li.end(l)
		trailing = end
	}
	if keep {
		return trailing, nil
	}
	return end, nil
}

// flowEnd finds the bracket closing the flow collection opening at p,
// skipping quoted scalars and comments.
func (d *document) flowEnd(p int) (int, error) {
	src := d.src
	if p >= len(src) || (src[p] != '[' && src[p] != '{') {
		return 0, fmt.Errorf("offset %d: expected [ or {", p)
	}
	depth := 0
	prev := byte('[') // the last significant character outside quotes
	for i := p; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		case (c == '"' || c == '\'') && bytes.IndexByte([]byte("[{,:?"), prev) >= 0:
			e, err := d.quotedEnd(i, c)
			if err != nil {
				return 0, err
			}
			i = e - 1
		case c == '#' && (i == d.lines.start(d.lines.lineOf(i)) || isSpace(src[i-1])):
			i = d.lines.end(d.lines.lineOf(i)) - 1
			continue
		}
		if !isSpace(c) && breakLen(src, i) == 0 {
			prev = src[i]
		}
	}
	return 0, fmt.Errorf("offset %d: unterminated flow collection", p)
}
