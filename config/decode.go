package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tracksync/tracksync/adapters"
)

// Known keys, for unknown-key problems and their suggestions.
var (
	topKeys    = []string{"state", "server", "log", "trackers", "users", "flows", "initiatives", "notifications"}
	stateKeys  = []string{"driver", "dsn"}
	serverKeys = []string{"listen", "public_url", "token", "check_schedule"}
	logKeys    = []string{"level", "format"}
	flowKeys   = []string{"name", "a", "b", "direction", "schedule", "conflict", "on_delete", "max_change_share", "max_create_share", "first_contact_limit", "match", "match_file", "create", "fields"}
	sideKeys   = []string{"tracker", "scope"}
	fieldKeys  = []string{"direction", "owner", "map", "default", "a", "b"}
	pairKeys   = []string{"a", "b", "a_label", "b_label"}

	initiativesKeys = []string{"source", "status", "children", "rollup"}
	childKeys       = []string{"tracker", "link", "label", "scope", "create"}
	createKeys      = []string{"project", "type"}
	rollupKeys      = []string{"weight", "estimate", "default_estimate", "at_risk", "write_back", "schedule"}
	atRiskKeys      = []string{"days_before_due", "min_done", "blocked_statuses", "blocked_labels"}
	writeBackKeys   = []string{"source", "field", "comment", "tracking"}
)

// nodeBudget bounds how many nodes one parse visits, so that aliases
// referring to aliases ("billion laughs") cannot blow up.
const nodeBudget = 1 << 17

type decoder struct {
	c         *Config
	env       func(string) (string, bool)
	overrides map[string]string // key path -> value from the environment
	problems  Problems
	budget    int
	exhausted bool
	// zeroShare marks flows (by index) with an explicit max_change_share
	// of 0, already reported, so defaults does not fill 0.25 over it.
	zeroShare map[int]bool
	// blockedLabels is set when the file has initiatives.rollup.at_risk.
	// blocked_labels, even empty, so defaults does not fill [blocked] over it.
	blockedLabels bool
}

func parse(data []byte, path string, env func(string) (string, bool), override func(string) (string, bool)) (*Config, error) {
	file := path
	if file == "" {
		file = "config"
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, syntaxError(file, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &SyntaxError{File: file, Line: extra.Line, Msg: "a second YAML document (---): a config file holds one"}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(file, err)
	}

	c := &Config{Path: path, lines: map[string]int{}, secrets: newSecretSet()}
	d := &decoder{c: c, env: env, overrides: map[string]string{}, budget: nodeBudget, zeroShare: map[int]bool{}}
	for _, k := range envKeys {
		if v, ok := override(k); ok {
			d.overrides[k] = v
		}
	}
	if len(doc.Content) > 0 {
		d.top(doc.Content[0])
	}
	d.applyOverrides()
	d.defaults()
	d.check()

	c.markSecretsByName()
	c.markBasicAuth()
	c.MarkSecretOptions(adapters.Default)
	c.secrets.add(c.Server.Token)
	c.secrets.add(dsnPassword(c.State.DSN))
	for i := range d.problems {
		d.problems[i].Msg = c.Redact(d.problems[i].Msg)
	}
	SortProblems(d.problems)
	c.problems = d.problems
	return c, errProblems(c.Problems())
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxError(file string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &SyntaxError{File: file, Line: n, Msg: m[2]}
	}
	return &SyntaxError{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

func (d *decoder) problem(path, format string, args ...any) {
	d.problems = append(d.problems, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// spend counts one visited node against the budget.
func (d *decoder) spend() bool {
	if d.budget <= 0 {
		if !d.exhausted {
			d.exhausted = true
			d.problem("(file)", "too many YAML nodes after expanding aliases (more than %d)", nodeBudget)
		}
		return false
	}
	d.budget--
	return true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 64 {
			return nil
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "nothing"
}

type entry struct {
	key string
	val *yaml.Node
}

// mapping returns n's entries in file order, with merge keys (<<) applied
// and repeated keys reported. present is false for a missing or null node
// and for a node that is not a mapping (reported).
func (d *decoder) mapping(n *yaml.Node, path string) (entries []entry, present bool) {
	n = resolve(n)
	if isNull(n) || !d.spend() {
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		d.problem(pathOr(path), "want a mapping (key: value lines), got %s", kindName(n))
		return nil, false
	}
	seen := map[string]bool{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content) && !d.exhausted; i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		k = resolve(k)
		if k == nil || k.Kind != yaml.ScalarNode {
			d.problem(pathOr(path), "a key must be a single value, not a list or mapping")
			continue
		}
		p := join(path, k.Value)
		if seen[k.Value] {
			d.problem(p, "repeated (first at line %d)", d.c.lines[p])
			continue
		}
		seen[k.Value] = true
		if _, ok := d.c.lines[p]; !ok {
			d.c.lines[p] = k.Line
		}
		entries = append(entries, entry{k.Value, v})
	}
	// Explicit keys win over merged ones; earlier merges win over later.
	for _, m := range merges {
		m = resolve(m)
		var srcs []*yaml.Node
		switch {
		case m == nil:
		case m.Kind == yaml.MappingNode:
			srcs = []*yaml.Node{m}
		case m.Kind == yaml.SequenceNode:
			srcs = m.Content
		}
		if len(srcs) == 0 {
			d.problem(join(path, "<<"), "want a mapping or a list of mappings to merge")
			continue
		}
		for _, src := range srcs {
			sub, _ := d.mapping(src, path)
			for _, e := range sub {
				if !seen[e.key] {
					seen[e.key] = true
					entries = append(entries, e)
				}
			}
		}
	}
	return entries, true
}

func pathOr(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

// sequence returns n's items; present as for mapping.
func (d *decoder) sequence(n *yaml.Node, path string) (items []*yaml.Node, present bool) {
	n = resolve(n)
	if isNull(n) || !d.spend() {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		d.problem(path, "want a list (lines starting with -), got %s", kindName(n))
		return nil, false
	}
	return n.Content, true
}

// str decodes a single value as text, expanding ${VAR} in quoted and plain
// strings. ok is false for null (absent) and for problems.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	n = resolve(n)
	if isNull(n) || !d.spend() {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		d.problem(path, "want a single value, got %s", kindName(n))
		return "", false
	}
	if n.ShortTag() != "!!str" {
		return n.Value, true
	}
	return d.expand(n.Value, path)
}

func (d *decoder) expand(s, path string) (string, bool) {
	out, secrets, problems := expand(s, d.env)
	for _, v := range secrets {
		d.c.secrets.add(v)
	}
	for _, p := range problems {
		d.problem(path, "%s", p)
	}
	return out, len(problems) == 0
}

// setting decodes a string setting that a TRACKSYNC_ variable may override;
// an overridden value is not even expanded, so its problems cannot matter.
func (d *decoder) setting(n *yaml.Node, path string, dst *string) {
	if _, ok := d.overrides[path]; ok {
		return
	}
	if s, ok := d.str(n, path); ok {
		*dst = s
	}
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return false, false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		d.problem(path, "want true or false")
		return false, false
	}
	return b, true
}

func (d *decoder) number(n *yaml.Node, path string) (float64, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil {
		d.problem(path, "want a number")
		return 0, false
	}
	return f, true
}

// value decodes any node into plain Go values (map[string]any, []any,
// string, int, float64, bool, nil), expanding ${VAR} in strings. Dates
// stay text: adapters parse what they need.
func (d *decoder) value(n *yaml.Node, path string) any {
	n = resolve(n)
	if n == nil || !d.spend() {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		entries, _ := d.mapping(n, path)
		m := make(map[string]any, len(entries))
		for _, e := range entries {
			m[e.key] = d.value(e.val, join(path, e.key))
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for i, sub := range n.Content {
			if d.exhausted {
				break
			}
			l = append(l, d.value(sub, index(path, i)))
		}
		return l
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil
		case "!!str":
			s, _ := d.expand(n.Value, path)
			return s
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err == nil {
				return v
			}
		}
		return n.Value
	}
	return nil
}

func (d *decoder) unknown(path, key string, known []string) {
	msg := "unknown key"
	if s := suggest(key, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	} else {
		msg += " (known: " + strings.Join(known, ", ") + ")"
	}
	d.problem(join(path, key), "%s", msg)
}

func (d *decoder) top(n *yaml.Node) {
	entries, present := d.mapping(n, "")
	if !present {
		return
	}
	for _, e := range entries {
		switch e.key {
		case "state":
			d.section(e.val, "state", stateKeys, map[string]*string{"driver": &d.c.State.Driver, "dsn": &d.c.State.DSN})
		case "server":
			d.section(e.val, "server", serverKeys, map[string]*string{"listen": &d.c.Server.Listen, "public_url": &d.c.Server.PublicURL, "token": &d.c.Server.Token, "check_schedule": &d.c.Server.CheckSchedule})
		case "log":
			d.section(e.val, "log", logKeys, map[string]*string{"level": &d.c.Log.Level, "format": &d.c.Log.Format})
		case "trackers":
			d.trackers(e.val)
		case "users":
			d.users(e.val)
		case "flows":
			d.flows(e.val)
		case "initiatives":
			d.initiatives(e.val)
		case "notifications":
			d.notifications(e.val)
		default:
			d.unknown("", e.key, topKeys)
		}
	}
}

// section decodes a mapping of string settings.
func (d *decoder) section(n *yaml.Node, path string, known []string, dst map[string]*string) {
	entries, _ := d.mapping(n, path)
	for _, e := range entries {
		p, ok := dst[e.key]
		if !ok {
			d.unknown(path, e.key, known)
			continue
		}
		d.setting(e.val, join(path, e.key), p)
	}
}

func (d *decoder) trackers(n *yaml.Node) {
	entries, _ := d.mapping(n, "trackers")
	d.c.Trackers = make(map[string]Tracker, len(entries))
	for _, e := range entries {
		path := join("trackers", e.key)
		sub, present := d.mapping(e.val, path)
		if !present {
			if isNull(resolve(e.val)) {
				d.problem(path, "want a mapping with at least a kind")
			}
			continue
		}
		t := Tracker{Name: e.key, Options: map[string]any{}}
		for _, se := range sub {
			if se.key == "kind" {
				t.Kind, _ = d.str(se.val, join(path, "kind"))
				continue
			}
			t.Options[se.key] = d.value(se.val, join(path, se.key))
		}
		if t.Kind == "" {
			d.problem(join(path, "kind"), "required (the adapter: %s)", strings.Join(kindsHint(), ", "))
		}
		d.c.Trackers[e.key] = t
	}
}

// kindsHint names the kinds registered in this binary, or the planned ones
// when none are (a test binary).
func kindsHint() []string {
	if k := adapters.Default.Kinds(); len(k) > 0 {
		return k
	}
	return []string{"jira", "github", "asana", "roadmap", "memory"}
}

func (d *decoder) users(n *yaml.Node) {
	items, _ := d.sequence(n, "users")
	for i, item := range items {
		path := index("users", i)
		entries, present := d.mapping(item, path)
		if !present {
			if isNull(resolve(item)) {
				d.problem(path, "empty user")
			}
			continue
		}
		u := User{IDs: map[string]string{}}
		for _, e := range entries {
			p := join(path, e.key)
			switch e.key {
			case "name":
				u.Name, _ = d.str(e.val, p)
			case "email":
				u.Email, _ = d.str(e.val, p)
			default:
				// Any other key is a tracker name or kind; mapping.Validate
				// checks that against the trackers and the registry.
				if id, ok := d.str(e.val, p); ok {
					u.IDs[e.key] = id
				}
			}
		}
		d.c.Users = append(d.c.Users, u)
	}
}

func (d *decoder) flows(n *yaml.Node) {
	items, _ := d.sequence(n, "flows")
	for i, item := range items {
		path := index("flows", i)
		entries, present := d.mapping(item, path)
		if !present {
			if isNull(resolve(item)) {
				d.problem(path, "empty flow")
			}
			continue
		}
		var f Flow
		for _, e := range entries {
			p := join(path, e.key)
			switch e.key {
			case "name":
				f.Name, _ = d.str(e.val, p)
			case "a":
				f.A = d.side(e.val, p)
			case "b":
				f.B = d.side(e.val, p)
			case "direction":
				f.Direction, _ = d.str(e.val, p)
			case "schedule":
				f.Schedule, _ = d.str(e.val, p)
			case "conflict":
				f.Conflict, _ = d.str(e.val, p)
			case "on_delete":
				f.OnDelete, _ = d.str(e.val, p)
			case "max_change_share":
				if v, ok := d.number(e.val, p); ok {
					if v == 0 {
						// mapping.Compile reads 0 as "unset" (a flow built
						// in Go), so an explicit 0 is caught here.
						d.problem(p, "must be more than 0 and at most 1 (0.25 is a quarter of the flow's items)")
						d.zeroShare[len(d.c.Flows)] = true
					}
					f.MaxChangeShare = v
				}
			case "max_create_share":
				if v, ok := d.number(e.val, p); ok {
					if !(v > 0) || math.IsNaN(v) || math.IsInf(v, 0) {
						d.problem(p, "must be more than 0 (0.5: a run may create at most half as many items as the flow links; 1: as many)")
					} else {
						f.MaxCreateShare = v
					}
				}
			case "first_contact_limit":
				if v, ok := d.number(e.val, p); ok {
					if v < 0 || v != math.Trunc(v) {
						d.problem(p, "must be a whole number, 0 or more (how many unlinked items both sides may hold before a flow's first run stops for a plan review)")
					} else {
						n := int(v)
						f.FirstContactLimit = &n
					}
				}
			case "match":
				f.Match = d.strs(e.val, p)
				if f.Match == nil {
					f.Match = []string{} // present and empty: match nothing
				}
				for j, r := range f.Match {
					if !slices.Contains(MatchRules, r) {
						d.problem(index(p, j), "%q is not a match rule (%s)", r, strings.Join(MatchRules, ", "))
					}
				}
			case "match_file":
				if v, ok := d.str(e.val, p); ok && v != "" {
					if !filepath.IsAbs(v) {
						v = filepath.Join(d.c.BaseDir(), v)
					}
					f.MatchFile = v
				}
			case "create":
				if v, ok := d.boolean(e.val, p); ok {
					f.Create = &v
				}
			case "fields":
				d.fields(e.val, p, &f)
			default:
				d.unknown(path, e.key, flowKeys)
			}
		}
		d.c.Flows = append(d.c.Flows, f)
	}
}

func (d *decoder) side(n *yaml.Node, path string) FlowSide {
	var s FlowSide
	entries, present := d.mapping(n, path)
	if !present {
		return s
	}
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "tracker":
			s.Tracker, _ = d.str(e.val, p)
		case "scope":
			s.Scope, _ = d.str(e.val, p)
		default:
			d.unknown(path, e.key, sideKeys)
		}
	}
	return s
}

func (d *decoder) fields(n *yaml.Node, path string, f *Flow) {
	entries, present := d.mapping(n, path)
	if !present {
		return
	}
	f.Fields = make(map[string]FieldConfig, len(entries))
	for _, e := range entries {
		f.Order = append(f.Order, e.key)
		f.Fields[e.key] = d.field(e.val, join(path, e.key))
	}
}

// field decodes a field rule from a bare direction or a mapping.
func (d *decoder) field(n *yaml.Node, path string) FieldConfig {
	var fc FieldConfig
	n = resolve(n)
	if isNull(n) {
		return fc
	}
	if n.Kind == yaml.ScalarNode {
		fc.Direction, _ = d.str(n, path)
		return fc
	}
	entries, present := d.mapping(n, path)
	if !present {
		return fc
	}
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "direction":
			fc.Direction, _ = d.str(e.val, p)
		case "owner":
			fc.Owner, _ = d.str(e.val, p)
		case "a":
			fc.A, _ = d.str(e.val, p)
		case "b":
			fc.B, _ = d.str(e.val, p)
		case "map":
			items, _ := d.sequence(e.val, p)
			for j, item := range items {
				fc.Map = append(fc.Map, d.pair(item, index(p, j)))
			}
		case "default":
			fc.Default = d.defaults2(e.val, p)
		default:
			d.unknown(path, e.key, fieldKeys)
		}
	}
	return fc
}

func (d *decoder) pair(n *yaml.Node, path string) ValuePair {
	var vp ValuePair
	entries, present := d.mapping(n, path)
	if !present {
		if isNull(resolve(n)) {
			d.problem(path, "empty map entry (want {a: ..., b: ...})")
		}
		return vp
	}
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "a":
			vp.A, _ = d.str(e.val, p)
		case "b":
			vp.B, _ = d.str(e.val, p)
		case "a_label":
			vp.ALabel, _ = d.str(e.val, p)
		case "b_label":
			vp.BLabel, _ = d.str(e.val, p)
		default:
			d.unknown(path, e.key, pairKeys)
		}
	}
	return vp
}

// defaults2 decodes a two-level mapping of strings (status defaults).
func (d *decoder) defaults2(n *yaml.Node, path string) map[string]map[string]string {
	entries, present := d.mapping(n, path)
	if !present {
		return nil
	}
	out := make(map[string]map[string]string, len(entries))
	for _, e := range entries {
		p := join(path, e.key)
		sub, _ := d.mapping(e.val, p)
		m := make(map[string]string, len(sub))
		for _, se := range sub {
			if s, ok := d.str(se.val, join(p, se.key)); ok {
				m[se.key] = s
			}
		}
		out[e.key] = m
	}
	return out
}

const initiativesPath = "initiatives"

func (d *decoder) initiatives(n *yaml.Node) {
	entries, present := d.mapping(n, initiativesPath)
	if !present {
		return
	}
	in := &Initiatives{}
	d.c.Initiatives = in
	for _, e := range entries {
		p := join(initiativesPath, e.key)
		switch e.key {
		case "source":
			in.Source = InitiativeSource(d.side(e.val, p))
		case "status":
			in.Status, _ = d.str(e.val, p)
		case "children":
			items, _ := d.sequence(e.val, p)
			// Every item is kept, even a broken one, so that Children[i]
			// is children[i] in the file and checks name the right index.
			in.Children = make([]ChildRule, 0, len(items))
			for i, item := range items {
				in.Children = append(in.Children, d.child(item, index(p, i)))
			}
		case "rollup":
			d.rollup(e.val, p, &in.Rollup)
		default:
			d.unknown(initiativesPath, e.key, initiativesKeys)
		}
	}
}

func (d *decoder) child(n *yaml.Node, path string) ChildRule {
	var c ChildRule
	entries, present := d.mapping(n, path)
	if !present {
		if isNull(resolve(n)) {
			d.problem(path, "empty child rule (want {tracker: ..., link: ...})")
		}
		return c
	}
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "tracker":
			c.Tracker, _ = d.str(e.val, p)
		case "link":
			c.Link, _ = d.str(e.val, p)
		case "label":
			c.Label, _ = d.str(e.val, p)
		case "scope":
			c.Scope, _ = d.str(e.val, p)
		case "create":
			c.Create = d.create(e.val, p)
		default:
			d.unknown(path, e.key, childKeys)
		}
	}
	return c
}

// create decodes a fan-out rule: true (tracker defaults), false, or a
// mapping of project and type.
func (d *decoder) create(n *yaml.Node, path string) *CreateRule {
	if on, scalar := d.switchOr(n, path, createKeys); scalar {
		if on {
			return &CreateRule{}
		}
		return nil
	}
	entries, present := d.mapping(n, path)
	if !present {
		return nil
	}
	r := &CreateRule{}
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "project":
			r.Project, _ = d.str(e.val, p)
		case "type":
			if s, ok := d.str(e.val, p); ok {
				r.Kind = strings.ToLower(s)
			}
		default:
			d.unknown(path, e.key, createKeys)
		}
	}
	return r
}

// switchOr decodes a single true/false value where a mapping of known
// keys may stand instead. scalar is false when n is a mapping (or absent),
// which the caller then decodes.
func (d *decoder) switchOr(n *yaml.Node, path string, known []string) (on, scalar bool) {
	r := resolve(n)
	if isNull(r) || r.Kind != yaml.ScalarNode {
		return false, false
	}
	s, ok := d.str(r, path)
	if !ok {
		return false, true
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		d.problem(path, "want true, false or a mapping (%s)", strings.Join(known, ", "))
		return false, true
	}
	return b, true
}

func (d *decoder) rollup(n *yaml.Node, path string, r *RollupConfig) {
	entries, _ := d.mapping(n, path)
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "weight":
			r.Weight, _ = d.str(e.val, p)
		case "estimate":
			r.Estimate = d.estimates(e.val, p)
		case "default_estimate":
			r.DefaultEstimate, _ = d.number(e.val, p)
		case "at_risk":
			d.atRisk(e.val, p, &r.AtRisk)
		case "write_back":
			r.WriteBack = d.writeBack(e.val, p)
		case "schedule":
			r.Schedule, _ = d.str(e.val, p)
		default:
			d.unknown(path, e.key, rollupKeys)
		}
	}
}

// estimates decodes, by tracker, a custom field name or a mapping of size
// labels to numbers.
func (d *decoder) estimates(n *yaml.Node, path string) map[string]Estimate {
	entries, present := d.mapping(n, path)
	if !present {
		return nil
	}
	out := make(map[string]Estimate, len(entries))
	for _, e := range entries {
		p := join(path, e.key)
		v := resolve(e.val)
		switch {
		case !isNull(v) && v.Kind == yaml.MappingNode:
			sub, _ := d.mapping(v, p)
			labels := make(map[string]float64, len(sub))
			for _, se := range sub {
				if f, ok := d.number(se.val, join(p, se.key)); ok {
					labels[se.key] = f
				}
			}
			out[e.key] = Estimate{Labels: labels}
		case !isNull(v) && v.Kind == yaml.ScalarNode:
			if s, ok := d.str(v, p); ok {
				out[e.key] = Estimate{Field: s}
			}
		default:
			d.problem(p, "want a custom field name ('Story Points') or a mapping of labels to numbers ({'size: S': 1})")
		}
	}
	return out
}

func (d *decoder) atRisk(n *yaml.Node, path string, a *AtRiskConfig) {
	entries, _ := d.mapping(n, path)
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "days_before_due":
			if f, ok := d.number(e.val, p); ok {
				if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
					d.problem(p, "want a whole number of days")
					continue
				}
				a.DaysBeforeDue = int(f)
			}
		case "min_done":
			a.MinDone, _ = d.number(e.val, p)
		case "blocked_statuses":
			a.BlockedStatuses = d.strs(e.val, p)
		case "blocked_labels":
			if !isNull(resolve(e.val)) {
				d.blockedLabels = true
			}
			a.BlockedLabels = d.strs(e.val, p)
		default:
			d.unknown(path, e.key, atRiskKeys)
		}
	}
}

// strs decodes a list of non-empty strings, or one string standing for a
// list of one.
func (d *decoder) strs(n *yaml.Node, path string) []string {
	if r := resolve(n); !isNull(r) && r.Kind == yaml.ScalarNode {
		s, ok := d.str(r, path)
		switch {
		case !ok:
			return nil
		case s == "":
			d.problem(path, "empty (want a value or a list of values)")
			return nil
		}
		return []string{s}
	}
	items, present := d.sequence(n, path)
	if !present {
		return nil
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		p := index(path, i)
		if s, ok := d.str(item, p); ok && s != "" {
			out = append(out, s)
		} else if ok || isNull(resolve(item)) {
			d.problem(p, "empty")
		}
	}
	return out
}

// writeBack decodes true (source and tracking), false, or a mapping.
func (d *decoder) writeBack(n *yaml.Node, path string) WriteBack {
	var w WriteBack
	if on, scalar := d.switchOr(n, path, writeBackKeys); scalar {
		if on {
			w.Source, w.Tracking = true, true
		}
		return w
	}
	entries, _ := d.mapping(n, path)
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "source":
			w.Source, _ = d.boolean(e.val, p)
		case "field":
			w.Field, _ = d.str(e.val, p)
		case "comment":
			w.Comment, _ = d.boolean(e.val, p)
		case "tracking":
			w.Tracking, _ = d.boolean(e.val, p)
		default:
			d.unknown(path, e.key, writeBackKeys)
		}
	}
	return w
}

func (d *decoder) applyOverrides() {
	dst := map[string]*string{
		"state.driver": &d.c.State.Driver, "state.dsn": &d.c.State.DSN,
		"server.listen": &d.c.Server.Listen, "server.token": &d.c.Server.Token,
		"server.public_url": &d.c.Server.PublicURL,
		"log.level":         &d.c.Log.Level, "log.format": &d.c.Log.Format,
	}
	for k, v := range d.overrides {
		*dst[k] = v
	}
}

func (d *decoder) defaults() {
	c := d.c
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&c.State.Driver, DefaultDriver)
	set(&c.Server.Listen, DefaultListen)
	set(&c.Server.CheckSchedule, DefaultCheckSchedule)
	set(&c.Log.Level, DefaultLogLevel)
	set(&c.Log.Format, DefaultLogFormat)
	if c.State.DSN == "" && c.State.Driver == DefaultDriver {
		c.State.DSN = DefaultDSN
	}
	if c.State.Driver == "sqlite" {
		c.State.DSN = resolveSQLite(c.State.DSN, c.BaseDir())
	}
	for i := range c.Flows {
		f := &c.Flows[i]
		set(&f.Direction, DefaultDirection)
		set(&f.Schedule, DefaultSchedule)
		set(&f.Conflict, DefaultConflict)
		set(&f.OnDelete, DefaultOnDelete)
		if f.MaxChangeShare == 0 && !d.zeroShare[i] {
			f.MaxChangeShare = DefaultMaxChangeShare
		}
		if f.MaxCreateShare == 0 {
			f.MaxCreateShare = DefaultMaxCreateShare
		}
		if f.FirstContactLimit == nil {
			n := DefaultFirstContactLimit
			f.FirstContactLimit = &n
		}
		if f.Match == nil {
			f.Match = slices.Clone(MatchRules)
		}
	}
	if in := c.Initiatives; in != nil {
		set(&in.Status, DefaultInitiativeStatus)
		for i := range in.Children {
			ch := &in.Children[i]
			if ch.Link == "label" || ch.Link == "tasklist" {
				set(&ch.Label, DefaultChildLabel)
			}
			if ch.Create != nil {
				set(&ch.Create.Kind, DefaultCreateKind)
			}
		}
		r := &in.Rollup
		if len(r.Estimate) > 0 {
			set(&r.Weight, "estimate")
		} else {
			set(&r.Weight, "count")
		}
		set(&r.Schedule, DefaultRollupSchedule)
		if !d.blockedLabels {
			r.AtRisk.BlockedLabels = []string{DefaultBlockedLabel}
		}
	}
}

// resolveSQLite makes a relative sqlite database path relative to the
// config file's folder, not to wherever the daemon was started, keeping a
// file: prefix and ?parameters.
func resolveSQLite(dsn, base string) string {
	if dsn == "" || dsn == ":memory:" || strings.Contains(dsn, "mode=memory") {
		return dsn
	}
	prefix := ""
	rest := dsn
	if r, ok := strings.CutPrefix(dsn, "file:"); ok {
		prefix, rest = "file:", r
	}
	p, query, hasQuery := strings.Cut(rest, "?")
	if p == "" || filepath.IsAbs(p) {
		return dsn
	}
	out := prefix + filepath.Join(base, p)
	if hasQuery {
		out += "?" + query
	}
	return out
}

// source says where a setting came from, for messages.
func (d *decoder) source(key string) string {
	if _, ok := d.overrides[key]; ok {
		return " (from " + EnvName(key) + ")"
	}
	return ""
}

func (d *decoder) oneOf(key, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		d.problem(key, "%q is not one of %s%s", v, strings.Join(allowed, ", "), d.source(key))
	}
}

// check validates the settings that belong to this package alone.
func (d *decoder) check() {
	c := d.c
	d.oneOf("state.driver", c.State.Driver, "sqlite", "postgres")
	if c.State.Driver == "postgres" && c.State.DSN == "" {
		d.problem("state.dsn", "required with the postgres driver (postgres://user@host/db)")
	}
	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		d.problem("server.listen", "want host:port, like 127.0.0.1:8080%s", d.source("server.listen"))
	}
	if p := c.Server.PublicURL; p != "" {
		if u, err := url.Parse(p); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			d.problem("server.public_url", "want the http(s) URL the trackers reach tracksync serve at, like https://tracksync.acme.com, not %q%s", p, d.source("server.public_url"))
		}
	}
	d.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	d.oneOf("log.format", c.Log.Format, "text", "json")
	d.checkInitiatives()
}

// reported says whether path already has a problem, so that a broken
// shape is not also reported as a missing value.
func (d *decoder) reported(path string) bool {
	return slices.ContainsFunc(d.problems, func(p Problem) bool { return p.Path == path })
}

// checkInitiatives checks the initiatives section on its own; which
// trackers exist and what kind they are is mapping.Validate's to check,
// as is the schedule.
func (d *decoder) checkInitiatives() {
	in := d.c.Initiatives
	if in == nil {
		return
	}
	const p = initiativesPath
	if in.Source.Tracker == "" && !d.reported(p+".source") && !d.reported(p+".source.tracker") {
		d.problem(p+".source.tracker", "required: the tracker holding the initiatives")
	}
	d.oneOf(p+".status", in.Status, InitiativeStatuses...)

	cp := p + ".children"
	if len(in.Children) == 0 && !d.reported(cp) {
		d.problem(cp, "required: at least one tracker whose items are the initiatives' children")
	}
	first := map[string]int{}
	for i, ch := range in.Children {
		ip := index(cp, i)
		if d.reported(ip) {
			continue
		}
		switch j, dup := first[ch.Tracker]; {
		case ch.Tracker == "":
			if !d.reported(ip + ".tracker") {
				d.problem(ip+".tracker", "required: the tracker holding these children")
			}
		case dup:
			d.problem(ip+".tracker", "%q is also %s's tracker: one child rule per tracker", ch.Tracker, index(cp, j))
		default:
			first[ch.Tracker] = i
		}
		switch {
		case ch.Link == "":
			if !d.reported(ip + ".link") {
				d.problem(ip+".link", "required: how children are found (%s)", strings.Join(ChildLinks, ", "))
			}
		case !slices.Contains(ChildLinks, ch.Link):
			d.oneOf(ip+".link", ch.Link, ChildLinks...)
		case ch.Link == "label" || ch.Link == "tasklist":
			if !strings.Contains(ch.Label, "{key}") {
				d.problem(ip+".label", "%q lacks {key} (the initiative's key): every initiative would share its children", ch.Label)
			}
		case ch.Label != "":
			d.problem(ip+".label", "only link label and tasklist use a label, not link %s", ch.Link)
		}
		if ch.Create != nil && ch.Create.Kind != "" {
			d.oneOf(ip+".create.type", ch.Create.Kind, CreateKinds...)
		}
	}

	rp := p + ".rollup"
	r := in.Rollup
	switch {
	case !slices.Contains(RollupWeights, r.Weight):
		d.oneOf(rp+".weight", r.Weight, RollupWeights...)
	case r.Weight == "estimate" && len(r.Estimate) == 0 && !d.reported(rp+".estimate"):
		d.problem(rp+".weight", "estimate needs rollup.estimate: where each tracker's estimates are read")
	}
	for _, name := range slices.Sorted(maps.Keys(r.Estimate)) {
		est, ep := r.Estimate[name], join(rp+".estimate", name)
		switch {
		case est.Labels != nil && len(est.Labels) == 0:
			d.problem(ep, "empty: want at least one label and its number")
		case est.Labels == nil && est.Field == "":
			d.problem(ep, "empty: want a custom field name ('Story Points') or a mapping of labels to numbers")
		}
		for label, v := range est.Labels {
			if !(v > 0) || math.IsInf(v, 0) {
				d.problem(join(ep, label), "must be more than 0 (what an item with this label weighs)")
			}
		}
	}
	if v := r.DefaultEstimate; !(v >= 0) || math.IsInf(v, 0) {
		d.problem(rp+".default_estimate", "must be 0 or more (what an item without an estimate weighs; 0 means 1)")
	}
	ap := rp + ".at_risk"
	if v := r.AtRisk.MinDone; !(v >= 0 && v <= 1) {
		d.problem(ap+".min_done", "must be from 0 to 1 (0.5 is half done)")
	}
	if r.AtRisk.DaysBeforeDue < 0 {
		d.problem(ap+".days_before_due", "must be 0 or more")
	}
}

// suggest returns the known key closest to k when it is close enough to be
// a typo (or differs only in case).
func suggest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if dist := editDistance(strings.ToLower(k), c); dist < bestD && dist*2 < len([]rune(k)) {
			best, bestD = c, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
