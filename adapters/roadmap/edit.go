package roadmap

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tracksync/tracksync/adapters"
	"gopkg.in/yaml.v3"
)

// An edit replaces src[start:end] with text. Edits of one splice never
// overlap; inserts (start == end) at the same offset keep their order.
type edit struct {
	start, end int
	text       string
}

// errNoRoundTrip says a splice did not mean what was intended. It is a bug
// or a layout this package does not handle; the file is left untouched.
var errNoRoundTrip = errors.New("the change cannot be written in place without reformatting the file")

// value is what a write puts under a key: a scalar or a list.
type value struct {
	scalar string
	list   []string
	isList bool
	// tag is the scalar's YAML tag: "!!str" for text that must stay text
	// ("2027" as a title), "" to let the value read as what it looks like
	// (0.42 as a number, 2027-03-31 as a date).
	tag string
}

func (v value) empty() bool {
	if v.isList {
		return len(v.list) == 0
	}
	return v.scalar == ""
}

// node is v as a yaml node, as the expected tree holds it.
func (v value) node() *yaml.Node {
	if !v.isList {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: v.tag, Value: v.scalar}
	}
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, s := range v.list {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s})
	}
	return n
}

// newline is the file's line break, so a CRLF file stays CRLF.
func (d *document) newline() string {
	if i := bytes.IndexByte(d.src, '\n'); i > 0 && d.src[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

// encode renders n with yaml.v3, indenting nested lines by step, and
// returns its lines without the final line break.
func encode(n *yaml.Node, step int) ([]string, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(step)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	s := strings.TrimSuffix(b.String(), "\n")
	return strings.Split(s, "\n"), nil
}

// indentLines joins lines with nl, indenting every line but the first by
// pad spaces (empty lines stay empty: no trailing spaces).
func indentLines(lines []string, pad int, nl string) string {
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteString(nl)
			if l != "" {
				b.WriteString(strings.Repeat(" ", pad))
			}
		}
		b.WriteString(l)
	}
	return b.String()
}

// renderScalar renders a scalar value that replaces old (nil for a new
// key), keeping old's quoting style where the new value allows it.
// keyIndent is the indentation of the key; step the extra indentation of
// block scalar content. In a flow collection ({key: v}) only one-line
// values are valid, and plain ones may not hold flow punctuation.
func renderScalar(v value, old *yaml.Node, keyIndent, step int, nl string, flow bool) (string, error) {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: v.tag, Value: v.scalar}
	if old != nil && old.Kind == yaml.ScalarNode {
		switch {
		case old.Style&yaml.DoubleQuotedStyle != 0:
			n.Style = yaml.DoubleQuotedStyle
		case old.Style&yaml.SingleQuotedStyle != 0 && !strings.Contains(v.scalar, "\n"):
			n.Style = yaml.SingleQuotedStyle
		case old.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
			// Literal keeps Markdown exactly; folded would rewrap it.
			n.Style = yaml.LiteralStyle
		}
		if old.Style&yaml.TaggedStyle != 0 {
			n.Tag, n.Style = old.Tag, n.Style|yaml.TaggedStyle
		}
	}
	if strings.Contains(v.scalar, "\n") && n.Style&yaml.DoubleQuotedStyle == 0 {
		n.Style = n.Style&yaml.TaggedStyle | yaml.LiteralStyle
	}
	if flow && (n.Style&yaml.LiteralStyle != 0 || n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0 && strings.ContainsAny(v.scalar, ",[]{}#:")) {
		n.Style = n.Style&yaml.TaggedStyle | yaml.DoubleQuotedStyle
	}
	if step < 2 || step > 9 {
		step = 2 // the encoder's range; anything else it would ignore
	}
	lines, err := encode(n, step)
	if err != nil {
		return "", err
	}
	return indentLines(lines, keyIndent, nl), nil
}

// renderList renders a list in flow style ([a, b]). Entries that were in
// old keep their quoting.
func renderList(v value, old *yaml.Node, keyIndent int, nl string) (string, error) {
	n := v.node()
	keepStyles(n, old)
	lines, err := encode(n, 2)
	if err != nil {
		return "", err
	}
	return indentLines(lines, keyIndent, nl), nil
}

// keepStyles gives the entries of list n the quoting of equal entries of
// old: "self-serve" stays quoted when the list is rewritten.
func keepStyles(n, old *yaml.Node) {
	if old == nil || old.Kind != yaml.SequenceNode {
		return
	}
	for _, c := range n.Content {
		for _, o := range old.Content {
			if o.Kind == yaml.ScalarNode && o.Value == c.Value {
				c.Style = o.Style &^ yaml.TaggedStyle &^ yaml.LiteralStyle &^ yaml.FoldedStyle
				break
			}
		}
	}
}

// renderKey renders a mapping key, quoted only when it has to be.
func renderKey(name string) (string, error) {
	lines, err := encode(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}, 2)
	if err != nil {
		return "", err
	}
	if len(lines) != 1 {
		return "", fmt.Errorf("key %q: %w", name, adapters.ErrInvalid)
	}
	return lines[0], nil
}

// splice applies edits to d's source and re-parses the result, then checks
// it means exactly what mutate does to a copy of d's tree. mutate gets a
// function mapping each node of d to its copy.
func (d *document) splice(edits []edit, st statusSet, mutate func(cp func(*yaml.Node) *yaml.Node) error) (*document, error) {
	slices.SortStableFunc(edits, func(a, b edit) int { return a.start - b.start })
	var out bytes.Buffer
	at := 0
	for _, e := range edits {
		if e.start < at || e.end < e.start || e.end > len(d.src) {
			return nil, fmt.Errorf("overlapping edits at offset %d: %w", e.start, errNoRoundTrip)
		}
		out.Write(d.src[at:e.start])
		out.WriteString(e.text)
		at = e.end
	}
	out.Write(d.src[at:])

	copies := map[*yaml.Node]*yaml.Node{}
	want := deepCopy(d.root, copies)
	if err := mutate(func(n *yaml.Node) *yaml.Node { return copies[n] }); err != nil {
		return nil, err
	}
	nd, err := parse(d.path, out.Bytes(), st)
	if err != nil {
		// Values are validated before they get here, so a result that does
		// not parse is a splice gone wrong, never the caller's input.
		return nil, fmt.Errorf("%w: %v", errNoRoundTrip, err)
	}
	var a, b bytes.Buffer
	canon(&a, want, 0)
	canon(&b, nd.root, 0)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		return nil, errNoRoundTrip
	}
	return nd, nil
}

// deepCopy copies a node tree, recording each original's copy. Aliases keep
// pointing at the original anchors: edits never change anchored nodes.
func deepCopy(n *yaml.Node, copies map[*yaml.Node]*yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = deepCopy(ch, copies)
	}
	copies[n] = &c
	return &c
}

// keyIndent is the indentation of the keys of block mapping m.
func keyIndent(m *yaml.Node) int { return m.Content[0].Column - 1 }

// colonEnd is the offset just past the ':' after key k.
func (d *document) colonEnd(k *yaml.Node) (int, error) {
	s, err := d.start(k)
	if err != nil {
		return 0, err
	}
	// A key is one line: no continuation lines to follow.
	var e int
	switch p := d.skipProps(s); {
	case k.Style&yaml.DoubleQuotedStyle != 0:
		e, err = d.quotedEnd(p, '"')
	case k.Style&yaml.SingleQuotedStyle != 0:
		e, err = d.quotedEnd(p, '\'')
	default:
		e = d.contentEnd(p, d.lines.end(d.lines.lineOf(p)))
	}
	if err != nil {
		return 0, err
	}
	for ; e < len(d.src); e++ {
		switch {
		case d.src[e] == ':':
			return e + 1, nil
		case !isSpace(d.src[e]):
			return 0, fmt.Errorf("line %d: no ':' after key %q", k.Line, k.Value)
		}
	}
	return 0, fmt.Errorf("line %d: no ':' after key %q", k.Line, k.Value)
}

// trailingComment returns the whitespace and comment after offset e on its
// line ("   # note"), or "".
func (d *document) trailingComment(e int) string {
	rest := d.src[e:d.lines.end(d.lines.lineOf(e))]
	t := bytes.TrimLeft(rest, " \t")
	if len(t) > 0 && t[0] == '#' {
		return string(rest)
	}
	return ""
}

// runeWidth is the width of s in characters, as columns count.
func runeWidth(s string) int { return utf8.RuneCountInString(s) }

// setKey writes v under key name of in: in place when the key exists,
// appended after the initiative's last key when it does not, removed when v
// is empty.
func (d *document) setKey(in *initiative, name string, v value, st statusSet) (*document, error) {
	if v.empty() {
		return d.removeKey(in, name, st)
	}
	k, old := in.own(name)
	if k == nil {
		if _, mv := in.pair(name); mv != nil && sameValue(mv, v) {
			return d, nil
		}
		// A value merged in (<<: *defaults) is overridden here, never
		// edited where it is shared.
		return d.appendKey(in, name, v, st)
	}
	if old.Anchor != "" {
		return nil, fmt.Errorf("%s has an anchor (&%s) other values may use; edit it by hand: %w", name, old.Anchor, adapters.ErrUnsupported)
	}
	if sameValue(old, v) {
		return d, nil
	}
	ki := k.Column - 1
	flow := in.node.Style&yaml.FlowStyle != 0
	s, err := d.start(old)
	if err != nil {
		return nil, err
	}
	var e int
	if flow && old.Kind == yaml.ScalarNode && old.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		e = d.flowPlainEnd(d.skipProps(s))
	} else if e, err = d.end(old, ki); err != nil {
		return nil, err
	}
	nl := d.newline()
	var ed edit
	blockColl := (old.Kind == yaml.SequenceNode || old.Kind == yaml.MappingNode) && old.Style&yaml.FlowStyle == 0
	switch {
	case v.isList && old.Kind == yaml.SequenceNode && blockColl:
		// A block list stays a block list, edited entry by entry so the
		// entries that stay keep their lines and comments.
		return d.editBlockList(in, name, old, v, st)
	case blockColl:
		// A nested list or mapping replaced by a value: put the value on the
		// key's line, keeping a comment that was there.
		ce, err := d.colonEnd(k)
		if err != nil {
			return nil, err
		}
		text, err := d.render(v, nil, ki, 2, false)
		if err != nil {
			return nil, err
		}
		ed = edit{ce, e, " " + text + d.trailingComment(ce)}
	default:
		like := old
		if old.Kind == yaml.AliasNode {
			like = nil
		}
		step := 2
		header := ""
		if like != nil && like.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			// Keep the content indentation and a comment on the | line.
			hl := d.lines.lineOf(d.skipProps(s))
			if hl < d.lines.count() {
				for l := hl + 1; l <= d.lines.lineOf(e); l++ {
					if t := d.lines.text(l); !blank(t) {
						step = indent(t) - ki
						break
					}
				}
			}
			hp := d.skipProps(s) + 1
			for hp < len(d.src) && strings.IndexByte("+-123456789", d.src[hp]) >= 0 {
				hp++
			}
			header = d.trailingComment(hp)
			// A block scalar that ended in a line break (|) keeps doing so,
			// rather than flipping to |- because the body came back trimmed.
			if strings.HasSuffix(like.Value, "\n") && !strings.HasSuffix(v.scalar, "\n") && !v.isList {
				v.scalar += "\n"
			}
		}
		text, err := d.render(v, like, ki, step, flow)
		if err != nil {
			return nil, err
		}
		if header != "" {
			first, rest, _ := strings.Cut(text, nl)
			if strings.HasPrefix(first, "|") || strings.HasPrefix(first, ">") {
				text = first + strings.TrimRight(header, " \t") + nl + rest
			} else {
				text += header
			}
		}
		if e == s {
			// An empty value (`owner:`) has no text to replace: the new
			// one goes after the colon, with the space YAML needs.
			text = " " + text
		}
		ed = edit{s, e, text}
		// Keep a trailing comment in its column when a one-line value
		// changes width: `status: done         # planned | ...`.
		if c := d.trailingComment(e); c != "" && !strings.Contains(text, "\n") && d.lines.lineOf(s) == d.lines.lineOf(e) {
			pad := len(c) - len(strings.TrimLeft(c, " "))
			if pad > 0 && !strings.HasPrefix(strings.TrimLeft(c, " "), "\t") {
				oldW := runeWidth(string(d.src[s:e]))
				newPad := max(pad+oldW-runeWidth(text), 1)
				ed = edit{s, e + pad, text + strings.Repeat(" ", newPad)}
			}
		}
	}
	return d.splice([]edit{ed}, st, func(cp func(*yaml.Node) *yaml.Node) error {
		m := cp(in.node)
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == name {
				m.Content[i+1] = v.node()
			}
		}
		return nil
	})
}

// sameValue reports whether node old already holds v.
func sameValue(old *yaml.Node, v value) bool {
	if v.isList {
		return slices.Equal(adapters.NormalizeList(listValue(old)), adapters.NormalizeList(v.list))
	}
	return (old.Kind == yaml.ScalarNode || old.Kind == yaml.AliasNode) && scalarValue(old) == v.scalar
}

// editBlockList rewrites block list old (under key name of in) to v.list,
// which mergeList ordered as old's surviving entries followed by new ones:
// removed entries lose their lines, new ones go after the last entry, and
// the lines of entries that stay are untouched.
func (d *document) editBlockList(in *initiative, name string, old *yaml.Node, v value, st statusSet) (*document, error) {
	li := d.lines
	s, err := d.start(old)
	if err != nil {
		return nil, err
	}
	dash := d.skipProps(s)
	dashIndent := dash - li.start(li.lineOf(dash))
	nl := d.newline()
	// pending starts as every wanted entry; what is left after walking the
	// old entries is what to add.
	pending := map[string]bool{}
	for _, x := range v.list {
		pending[x] = true
	}
	var edits []edit
	lastLine := 0
	for _, item := range old.Content {
		is, err := d.start(item)
		if err != nil {
			return nil, err
		}
		ie, err := d.end(item, dashIndent)
		if err != nil {
			return nil, err
		}
		last := li.lineOf(max(ie-1, is))
		lastLine = last
		if v := scalarValue(item); pending[v] && item.Kind == yaml.ScalarNode {
			delete(pending, v) // so a repeat of it loses its line
			continue
		}
		first, err := d.dashLine(is)
		if err != nil {
			return nil, err
		}
		edits = append(edits, edit{li.start(first), li.next(last), ""})
	}
	var add strings.Builder
	for _, x := range v.list {
		if !pending[x] {
			continue
		}
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x}
		lines, err := encode(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{n}}, 2)
		if err != nil {
			return nil, err
		}
		add.WriteString(strings.Repeat(" ", dashIndent) + indentLines(lines, dashIndent, nl) + nl)
	}
	if add.Len() > 0 {
		at, text := li.next(lastLine), add.String()
		if at == len(d.src) && li.end(lastLine) == at {
			// No line break after the last entry: the file ends there.
			text = nl + strings.TrimSuffix(text, nl)
		}
		edits = append(edits, edit{at, at, text})
	}
	return d.splice(edits, st, func(cp func(*yaml.Node) *yaml.Node) error {
		m := cp(in.node)
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == name {
				m.Content[i+1] = v.node()
			}
		}
		return nil
	})
}

// render renders v for a key indented by keyIndent: lists in flow style,
// scalars in old's style with block content indented step more.
func (d *document) render(v value, old *yaml.Node, keyIndent, step int, flow bool) (string, error) {
	if v.isList {
		return renderList(v, old, keyIndent, d.newline())
	}
	return renderScalar(v, old, keyIndent, step, d.newline(), flow)
}

// appendKey adds `name: v` as a new line after the initiative's last key.
func (d *document) appendKey(in *initiative, name string, v value, st statusSet) (*document, error) {
	m := in.node
	if m.Style&yaml.FlowStyle != 0 {
		return nil, fmt.Errorf("initiative %s is written in {flow: style}; adding %s needs block style: %w", in.key, name, adapters.ErrUnsupported)
	}
	e, err := d.end(m, keyIndent(m))
	if err != nil {
		return nil, err
	}
	ki := keyIndent(m)
	nl := d.newline()
	key, err := renderKey(name)
	if err != nil {
		return nil, err
	}
	text, err := d.render(v, nil, ki, 2, false)
	if err != nil {
		return nil, err
	}
	at := d.lines.end(d.lines.lineOf(e))
	line := nl + strings.Repeat(" ", ki) + key + ": " + text
	return d.splice([]edit{{at, at, line}}, st, func(cp func(*yaml.Node) *yaml.Node) error {
		c := cp(m)
		c.Content = append(c.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}, v.node())
		return nil
	})
}

// removeKey deletes key name and its value from the initiative: the whole
// lines they occupy. Comments above the key stay. When the key shares its
// line with the list's dash (`- title: x`), the next key moves up onto the
// dash line and comment lines in between move above it.
func (d *document) removeKey(in *initiative, name string, st statusSet) (*document, error) {
	m := in.node
	if in.inMerge(name) {
		return nil, fmt.Errorf("%s of initiative %s comes from a merge key (<<); removing it needs an edit by hand: %w", name, in.key, adapters.ErrUnsupported)
	}
	idx := -1
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			idx = i
		}
	}
	if idx < 0 {
		return d, nil
	}
	if m.Style&yaml.FlowStyle != 0 {
		return nil, fmt.Errorf("initiative %s is written in {flow: style}; removing %s needs block style: %w", in.key, name, adapters.ErrUnsupported)
	}
	k, v := m.Content[idx], m.Content[idx+1]
	if v.Anchor != "" {
		return nil, fmt.Errorf("%s has an anchor (&%s) other values may use; edit it by hand: %w", name, v.Anchor, adapters.ErrUnsupported)
	}
	li := d.lines
	ks, err := d.start(k)
	if err != nil {
		return nil, err
	}
	e, err := d.end(v, k.Column-1)
	if err != nil {
		return nil, err
	}
	kLine, eLine := k.Line, li.lineOf(max(e-1, ks))
	var ed edit
	if prefix := d.src[li.start(kLine):ks]; !blank(prefix) {
		if idx+2 >= len(m.Content) {
			return nil, fmt.Errorf("removing %s would leave initiative %s empty: %w", name, in.key, adapters.ErrUnsupported)
		}
		k2 := m.Content[idx+2]
		k2s, err := d.start(k2)
		if err != nil {
			return nil, err
		}
		if k2.Line <= eLine {
			return nil, errNoRoundTrip
		}
		between := string(d.src[li.next(eLine):li.start(k2.Line)])
		ed = edit{li.start(kLine), k2s, between + string(prefix)}
	} else {
		ed = edit{li.start(kLine), li.next(eLine), ""}
		if li.end(eLine) == len(d.src) && kLine > 1 {
			// The last line of a file without a final break: drop the
			// break before it instead.
			ed = edit{li.end(kLine - 1), len(d.src), ""}
		}
	}
	return d.splice([]edit{ed}, st, func(cp func(*yaml.Node) *yaml.Node) error {
		c := cp(m)
		c.Content = slices.Delete(c.Content, idx, idx+2)
		return nil
	})
}

// appendItem adds a new initiative after the last one. pairs are its keys
// and values in order.
func (d *document) appendItem(pairs []keyValue, st statusSet) (*document, error) {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, p := range pairs {
		v := p.v.node()
		if v.Kind == yaml.ScalarNode && strings.Contains(p.v.scalar, "\n") {
			v.Style = yaml.LiteralStyle
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.k}, v)
	}
	lines, err := encode(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{m}}, 2)
	if err != nil {
		return nil, err
	}
	nl := d.newline()
	li := d.lines
	var edits []edit
	var dashIndent int
	list := d.list
	switch {
	case list.Kind == yaml.SequenceNode && list.Style&yaml.FlowStyle == 0:
		s, err := d.start(list)
		if err != nil {
			return nil, err
		}
		dash := d.skipProps(s)
		dashIndent = dash - li.start(li.lineOf(dash))
		e, err := d.end(list, dashIndent)
		if err != nil {
			return nil, err
		}
		at := li.end(li.lineOf(e))
		edits = append(edits, edit{at, at, nl + strings.Repeat(" ", dashIndent) + indentLines(lines, dashIndent, nl)})
	case list.Kind == yaml.ScalarNode || len(list.Content) == 0:
		// `initiatives:`, `initiatives: ~` or `initiatives: []`: the list
		// starts on the next line, a comment on the key's line stays.
		if list.Anchor != "" {
			return nil, fmt.Errorf("initiatives: has an anchor: %w", adapters.ErrUnsupported)
		}
		ce, err := d.colonEnd(d.listKeyNode)
		if err != nil {
			return nil, err
		}
		s, err := d.start(list)
		if err != nil {
			return nil, err
		}
		e, err := d.end(list, d.listKeyNode.Column-1)
		if err != nil {
			return nil, err
		}
		if e > s {
			edits = append(edits, edit{ce, e, ""})
		}
		dashIndent = d.listKeyNode.Column - 1 + 2
		at := li.end(li.lineOf(max(e, ce)))
		edits = append(edits, edit{at, at, nl + strings.Repeat(" ", dashIndent) + indentLines(lines, dashIndent, nl)})
	default:
		return nil, fmt.Errorf("initiatives: is a [flow, style] list; new initiatives need block style: %w", adapters.ErrUnsupported)
	}
	return d.splice(edits, st, func(cp func(*yaml.Node) *yaml.Node) error {
		top := cp(d.top)
		for i := 0; i+1 < len(top.Content); i += 2 {
			if top.Content[i].Value != listKey {
				continue
			}
			l := top.Content[i+1]
			if l.Kind != yaml.SequenceNode {
				l = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
				top.Content[i+1] = l
			}
			l.Content = append(l.Content, m)
		}
		return nil
	})
}

// dashLine is the line of the dash that opens the block sequence entry
// starting at p. The dash must be the first thing on its line.
func (d *document) dashLine(p int) (int, error) {
	q := p - 1
	for q >= 0 && (isSpace(d.src[q]) || d.src[q] == '\n' || d.src[q] == '\r') {
		q--
	}
	if q < 0 || d.src[q] != '-' {
		return 0, fmt.Errorf("cannot find the list dash before offset %d: %w", p, errNoRoundTrip)
	}
	l := d.lines.lineOf(q)
	if !blank(d.src[d.lines.start(l):q]) {
		return 0, fmt.Errorf("line %d holds more than one list entry: %w", l, adapters.ErrUnsupported)
	}
	return l, nil
}

// keyValue is one key of a new initiative.
type keyValue struct {
	k string
	v value
}

// removeItem deletes an initiative: the lines from its dash to its last
// value. Comments above it stay.
func (d *document) removeItem(in *initiative, st statusSet) (*document, error) {
	list := d.list
	if list.Style&yaml.FlowStyle != 0 {
		return nil, fmt.Errorf("initiatives: is a [flow, style] list: %w", adapters.ErrUnsupported)
	}
	li := d.lines
	s, err := d.start(in.node)
	if err != nil {
		return nil, err
	}
	dashLine, err := d.dashLine(s)
	if err != nil {
		return nil, fmt.Errorf("initiative %s: %w", in.key, err)
	}
	e, err := d.end(in.node, indent(li.text(dashLine)))
	if err != nil {
		return nil, err
	}
	eLine := li.lineOf(max(e-1, s))
	ed := edit{li.start(dashLine), li.next(eLine), ""}
	if li.end(eLine) == len(d.src) && dashLine > 1 {
		// The last line of a file without a final break: drop the break
		// before the entry instead.
		ed = edit{li.end(dashLine - 1), len(d.src), ""}
	}
	return d.splice([]edit{ed}, st, func(cp func(*yaml.Node) *yaml.Node) error {
		top := cp(d.top)
		for i := 0; i+1 < len(top.Content); i += 2 {
			if top.Content[i].Value != listKey {
				continue
			}
			l := top.Content[i+1]
			c := cp(in.node)
			l.Content = slices.DeleteFunc(l.Content, func(n *yaml.Node) bool { return n == c })
			if len(l.Content) == 0 {
				top.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
			}
		}
		return nil
	})
}
