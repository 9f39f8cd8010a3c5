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
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tracksync/tracksync/adapters"
)

// Known keys, for unknown-key problems and their suggestions (and the
// example file's test): from the struct tags.
var (
	topKeys    = keysOf[Config]()
	stateKeys  = keysOf[State]()
	serverKeys = keysOf[Server]()
	logKeys    = keysOf[Log]()
	flowKeys   = keysOf[Flow]()
	sideKeys   = keysOf[FlowSide]()
	fieldKeys  = keysOf[FieldConfig]()
	pairKeys   = keysOf[ValuePair]()

	initiativesKeys = keysOf[Initiatives]()
	childKeys       = keysOf[ChildRule]()
	createKeys      = keysOf[CreateRule]()
	rollupKeys      = keysOf[RollupConfig]()
	atRiskKeys      = keysOf[AtRiskConfig]()
	writeBackKeys   = keysOf[WriteBack]()
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
	strict    bool // inside a section tagged strict
	// literal: strings are taken as they are, not expanded (values that
	// were expanded when the file was parsed).
	literal bool
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
	d := &decoder{c: c, env: env, overrides: map[string]string{}, budget: nodeBudget}
	for _, k := range envKeys {
		if v, ok := override(k); ok {
			d.overrides[k] = v
		}
	}
	if len(doc.Content) > 0 {
		d.decodeStruct(doc.Content[0], "", reflect.ValueOf(c).Elem(), nil)
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
			// The problem's path leads to the first one's line: name both.
			d.problem(p, "repeated at line %d (first at line %d)", k.Line, d.c.lines[p])
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
	if n.ShortTag() != "!!str" || d.literal {
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

// boolean decodes true or false; want is the problem otherwise.
func (d *decoder) boolean(n *yaml.Node, path, want string) (bool, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return false, false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		d.problem(path, "%s", want)
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
			if d.literal {
				return n.Value
			}
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

const initiativesPath = "initiatives"

func (d *decoder) applyOverrides() {
	for k, v := range d.overrides {
		byPath(reflect.ValueOf(d.c).Elem(), k).SetString(v)
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

// kindsHint names the kinds registered in this binary, or the planned ones
// when none are (a test binary).
func kindsHint() []string {
	if k := adapters.Default.Kinds(); len(k) > 0 {
		return k
	}
	return []string{"jira", "github", "asana", "roadmap", "memory"}
}
