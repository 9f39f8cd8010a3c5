package roadmap

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"gopkg.in/yaml.v3"
)

// Keys with a meaning of their own; every other scalar key is a free field.
const (
	keyKey         = "key"
	keyTitle       = "title"
	keyDescription = "description"
	keyOwner       = "owner"
	keyStatus      = "status"
	keyDue         = "due"
	keyPriority    = "priority"
	keyLabels      = "labels"
	keyChildren    = "children"
	keyProgress    = "progress"
	// keyTracksyncID holds the idempotency key of the Create that made the
	// initiative, so a retried Create finds it instead of adding another.
	keyTracksyncID = "tracksync_id"
	listKey        = "initiatives"
)

// reservedKeys are the keys a custom:<name> field may not write, because a
// standard field (or tracksync itself) owns them.
var reservedKeys = []string{keyKey, keyTitle, keyDescription, keyOwner, keyStatus, keyDue, keyPriority, keyLabels, keyTracksyncID}

// ParseError is one problem in the roadmap file, named the way a compiler
// names one (path:line) so a PM can go straight to it. It wraps
// adapters.ErrInvalid: retrying cannot help until someone edits the file.
type ParseError struct {
	Path string
	Line int    // 1-based; 0 when no single line is to blame
	Key  string // the initiative concerned, when known
	Msg  string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("roadmap ")
	b.WriteString(e.Path)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString("initiative ")
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes a broken file classify as a permanent, invalid-input error.
func (e *ParseError) Unwrap() error { return adapters.ErrInvalid }

// document is one parsed version of the roadmap file: the source bytes, the
// node tree and the initiatives found in it, in file order.
type document struct {
	path  string
	src   []byte
	lines lineIndex
	root  *yaml.Node // the document node
	top   *yaml.Node // the top-level mapping
	// listKey and list are the `initiatives:` key and its value (a sequence,
	// or a null scalar for an empty roadmap).
	listKeyNode *yaml.Node
	list        *yaml.Node
	items       []*initiative
	byKey       map[string]*initiative
}

// initiative is one entry of the list.
type initiative struct {
	node *yaml.Node // the mapping
	// pairs are its keys and values as YAML means them (key, value, key,
	// ...): its own, then those merged in with <<: *defaults that it does
	// not set itself. Merged key nodes belong to the shared mapping, which
	// writes never edit.
	pairs []*yaml.Node
	key   string
	line  int
	hash  string
}

// pair returns the key and value nodes of name in the initiative, merged
// ones included, or nils.
func (in *initiative) pair(name string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(in.pairs); i += 2 {
		if in.pairs[i].Value == name {
			return in.pairs[i], in.pairs[i+1]
		}
	}
	return nil, nil
}

// own returns the key and value nodes of name written in the initiative's
// own mapping, or nils: what a write may edit in place.
func (in *initiative) own(name string) (k, v *yaml.Node) {
	return mappingPair(in.node, name)
}

// inMerge reports whether a mapping merged in with << (<<: *defaults)
// holds name, so that the initiative has a value for it even without its
// own.
func (in *initiative) inMerge(name string) bool {
	only := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(in.node.Content); i += 2 {
		if isMergeKey(in.node.Content[i]) {
			only.Content = append(only.Content, in.node.Content[i], in.node.Content[i+1])
		}
	}
	var bad []*yaml.Node
	k, _ := mappingPair(&yaml.Node{Content: effectivePairs(only, 0, &bad)}, name)
	return k != nil
}

// isMergeKey reports whether k is YAML's merge key (<<, unquoted).
func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// effectivePairs is mapping m's pairs with YAML's merge keys applied: its
// own keys, then those of each merged mapping (<<: *a, or <<: [*a, *b],
// earlier ones first) that no earlier source set. bad collects the merge
// values that are not mappings.
func effectivePairs(m *yaml.Node, depth int, bad *[]*yaml.Node) []*yaml.Node {
	var out, merges []*yaml.Node
	has := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if isMergeKey(k) {
			merges = append(merges, v)
			continue
		}
		out = append(out, k, v)
		has[k.Value] = true
	}
	deref := func(n *yaml.Node) *yaml.Node {
		if n != nil && n.Kind == yaml.AliasNode {
			return n.Alias
		}
		return n
	}
	for _, v := range merges {
		srcs := []*yaml.Node{v}
		if dv := deref(v); dv != nil && dv.Kind == yaml.SequenceNode {
			srcs = dv.Content
		}
		for _, src := range srcs {
			sm := deref(src)
			if sm == nil || sm.Kind != yaml.MappingNode || depth > 8 {
				*bad = append(*bad, src)
				continue
			}
			mp := effectivePairs(sm, depth+1, bad)
			for i := 0; i+1 < len(mp); i += 2 {
				if !has[mp[i].Value] {
					has[mp[i].Value] = true
					out = append(out, mp[i], mp[i+1])
				}
			}
		}
	}
	return out
}

func mappingPair(m *yaml.Node, name string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// scalar returns the string value of key name: "" when absent or null.
func (in *initiative) scalar(name string) string {
	_, v := in.pair(name)
	return scalarValue(v)
}

// scalarValue is the text of a scalar (following an alias), "" for null,
// absent or non-scalar nodes.
func scalarValue(v *yaml.Node) string {
	if v != nil && v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v == nil || v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
		return ""
	}
	return v.Value
}

// listValue returns the scalars of a list-valued key in file order. A
// single scalar counts as a one-element list, so `labels: growth` works.
func listValue(v *yaml.Node) []string {
	if v != nil && v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v == nil {
		return nil
	}
	switch v.Kind {
	case yaml.ScalarNode:
		if s := scalarValue(v); s != "" {
			return []string{s}
		}
	case yaml.SequenceNode:
		var out []string
		for _, c := range v.Content {
			if s := scalarValue(c); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse reads src as a roadmap. Every problem found is reported (joined),
// each as a *ParseError, so one run of `tracksync doctor` shows them all.
func parse(path string, src []byte, st statusSet) (doc *document, err error) {
	// yaml.v3 has panicked on hostile input before; a roadmap is user input.
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, &ParseError{Path: path, Msg: fmt.Sprintf("the YAML parser failed: %v", r)}
		}
	}()
	d := &document{path: path, src: src, lines: newLineIndex(src), byKey: map[string]*initiative{}}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ParseError{Path: path, Msg: "the file is empty; want a mapping with an initiatives: list"}
		}
		return nil, yamlError(path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &ParseError{Path: path, Line: extra.Line, Msg: "more than one YAML document; a roadmap is a single document"}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(path, err)
	}
	d.root = &root
	if len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		line := root.Line
		if len(root.Content) == 1 {
			line = root.Content[0].Line
		}
		return nil, &ParseError{Path: path, Line: line, Msg: "the top level must be a mapping with an initiatives: list"}
	}
	d.top = root.Content[0]
	var errs []error
	if err := dupKeys(path, "", d.top); err != nil {
		errs = append(errs, err...)
	}
	d.listKeyNode, d.list = mappingPair(d.top, listKey)
	if d.list == nil {
		return nil, &ParseError{Path: path, Line: d.top.Line, Msg: "no initiatives: list at the top level"}
	}
	switch {
	case d.list.Kind == yaml.ScalarNode && d.list.ShortTag() == "!!null":
		// `initiatives:` with nothing under it: an empty roadmap.
	case d.list.Kind == yaml.SequenceNode:
		for _, n := range d.list.Content {
			in, ierrs := d.initiative(n, st)
			errs = append(errs, ierrs...)
			if in == nil {
				continue
			}
			if first, dup := d.byKey[in.key]; dup {
				errs = append(errs, &ParseError{Path: path, Line: in.line, Key: in.key,
					Msg: fmt.Sprintf("duplicate key %s at lines %d and %d", in.key, first.line, in.line)})
				continue
			}
			d.byKey[in.key] = in
			d.items = append(d.items, in)
		}
	default:
		return nil, &ParseError{Path: path, Line: d.list.Line, Msg: "initiatives: must be a list"}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// yamlError turns a yaml.v3 error into a *ParseError with its line.
func yamlError(path string, err error) error {
	msg := err.Error()
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if strings.HasPrefix(m[2], "did not find expected") {
			// yaml.v3 reports its parser errors at the 0-based line of
			// the list or mapping being parsed; make it the 1-based line
			// an editor shows, where that construct starts.
			line++
		}
		return &ParseError{Path: path, Line: line, Msg: m[2]}
	}
	return &ParseError{Path: path, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// dupKeys reports keys repeated within mapping m; yaml.v3 only checks that
// when decoding into Go values, not into nodes.
func dupKeys(path, initKey string, m *yaml.Node) []error {
	var errs []error
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		if first, ok := seen[k.Value]; ok {
			errs = append(errs, &ParseError{Path: path, Line: k.Line, Key: initKey,
				Msg: fmt.Sprintf("duplicate key %q at lines %d and %d", k.Value, first, k.Line)})
			continue
		}
		seen[k.Value] = k.Line
	}
	return errs
}

// initiative validates one list entry. It returns nil when the entry has no
// usable key (the error says so).
func (d *document) initiative(n *yaml.Node, st statusSet) (*initiative, []error) {
	if n.Kind != yaml.MappingNode {
		return nil, []error{&ParseError{Path: d.path, Line: n.Line, Msg: "an initiative must be a mapping of key: value"}}
	}
	var bad []*yaml.Node
	in := &initiative{node: n, line: n.Line, pairs: effectivePairs(n, 0, &bad)}
	if len(n.Content) > 0 {
		in.line = n.Content[0].Line
	}
	kn, kv := in.pair(keyKey)
	in.key = scalarValue(kv)
	if in.key == "" {
		line := in.line
		if kn != nil {
			line = kn.Line
		}
		return nil, []error{&ParseError{Path: d.path, Line: line, Msg: "initiative has no key: (want e.g. key: INIT-1)"}}
	}
	if strings.ContainsAny(in.key, "\n\r") {
		return nil, []error{&ParseError{Path: d.path, Line: kv.Line, Msg: "initiative key spans lines"}}
	}
	errs := dupKeys(d.path, in.key, n)
	for _, b := range bad {
		errs = append(errs, &ParseError{Path: d.path, Line: b.Line, Key: in.key, Msg: "a merge key (<<) must merge a mapping or a list of mappings"})
	}
	for i := 0; i+1 < len(in.pairs); i += 2 {
		k, v := in.pairs[i], in.pairs[i+1]
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, &ParseError{Path: d.path, Line: k.Line, Key: in.key, Msg: "keys must be plain names"})
			continue
		}
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		switch k.Value {
		case keyKey, keyTitle, keyDescription, keyOwner, keyStatus, keyDue, keyPriority, keyTracksyncID, keyProgress:
			if v.Kind != yaml.ScalarNode {
				errs = append(errs, &ParseError{Path: d.path, Line: v.Line, Key: in.key, Msg: fmt.Sprintf("%s must be a single value", k.Value)})
			}
		case keyLabels, keyChildren:
			if v.Kind == yaml.MappingNode {
				errs = append(errs, &ParseError{Path: d.path, Line: v.Line, Key: in.key, Msg: fmt.Sprintf("%s must be a list", k.Value)})
			}
			if v.Kind == yaml.SequenceNode {
				for _, c := range v.Content {
					if c.Kind != yaml.ScalarNode && (c.Kind != yaml.AliasNode || c.Alias == nil || c.Alias.Kind != yaml.ScalarNode) {
						errs = append(errs, &ParseError{Path: d.path, Line: c.Line, Key: in.key, Msg: fmt.Sprintf("%s must be a list of names", k.Value)})
						break
					}
				}
			}
		}
	}
	if s := in.scalar(keyStatus); s != "" {
		if _, ok := st.category(s); !ok {
			_, v := in.pair(keyStatus)
			errs = append(errs, &ParseError{Path: d.path, Line: v.Line, Key: in.key,
				Msg: fmt.Sprintf("unknown status %q (known: %s)", s, strings.Join(st.names(), ", "))})
		}
	}
	if s := in.scalar(keyDue); s != "" {
		if err := validDate(s); err != nil {
			_, v := in.pair(keyDue)
			errs = append(errs, &ParseError{Path: d.path, Line: v.Line, Key: in.key, Msg: err.Error()})
		}
	}
	in.hash = nodeHash(n)
	return in, errs
}

// validDate checks a due date is a real calendar day as YYYY-MM-DD.
func validDate(s string) error {
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return fmt.Errorf("due %q is not a date as YYYY-MM-DD", s)
	}
	return nil
}

// nodeHash is an initiative's Version: a hash of its content with mapping
// keys sorted and comments, quoting and layout ignored.
func nodeHash(n *yaml.Node) string {
	var b bytes.Buffer
	canon(&b, n, 0)
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:8])
}

// canon writes an unambiguous, order-normalised form of n: equal exactly
// when two trees mean the same values. An alias contributes its anchor name
// and, one level deep, its target, so a changed anchored value changes the
// hash without letting nested aliases blow up exponentially.
func canon(b *bytes.Buffer, n *yaml.Node, aliasDepth int) {
	if n == nil {
		b.WriteString("~")
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		b.WriteString("D(")
		for _, c := range n.Content {
			canon(b, c, aliasDepth)
		}
		b.WriteString(")")
	case yaml.ScalarNode:
		v := n.Value
		if n.ShortTag() == "!!null" {
			v = ""
		}
		fmt.Fprintf(b, "S%d:%s", len(v), v)
	case yaml.AliasNode:
		fmt.Fprintf(b, "A%d:%s", len(n.Value), n.Value)
		if aliasDepth == 0 && n.Alias != nil {
			canon(b, n.Alias, 1)
		}
	case yaml.SequenceNode:
		b.WriteString("[")
		for _, c := range n.Content {
			canon(b, c, aliasDepth)
		}
		b.WriteString("]")
	case yaml.MappingNode:
		type kv struct{ k, v []byte }
		pairs := make([]kv, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			var kb, vb bytes.Buffer
			canon(&kb, n.Content[i], aliasDepth)
			canon(&vb, n.Content[i+1], aliasDepth)
			pairs = append(pairs, kv{kb.Bytes(), vb.Bytes()})
		}
		slices.SortFunc(pairs, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
		b.WriteString("{")
		for _, p := range pairs {
			b.Write(p.k)
			b.WriteString("=")
			b.Write(p.v)
		}
		b.WriteString("}")
	}
}
