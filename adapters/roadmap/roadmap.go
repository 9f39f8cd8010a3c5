package roadmap

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"gopkg.in/yaml.v3"
)

// DefaultStatuses are the statuses of a roadmap file unless configured.
var DefaultStatuses = []adapters.StatusDef{
	{Name: "planned", Category: adapters.CategoryTodo},
	{Name: "in_progress", Category: adapters.CategoryInProgress},
	{Name: "at_risk", Category: adapters.CategoryInProgress},
	{Name: "done", Category: adapters.CategoryDone},
	{Name: "cancelled", Category: adapters.CategoryDone},
}

// KeyPrefix is the prefix of the keys Create gives new initiatives.
const KeyPrefix = "INIT-"

// Options configure a Tracker.
type Options struct {
	// Path is the roadmap file. It must exist: a missing file is an error,
	// never an empty roadmap, so a mistyped path cannot look like every
	// initiative was deleted.
	Path string
	// Statuses are the native statuses in workflow order; nil means
	// DefaultStatuses. The first todo status is what an initiative without
	// a status: key has.
	Statuses []adapters.StatusDef
	// Clock stamps UpdatedAt; nil means time.Now.
	Clock func() time.Time
}

// Tracker is a roadmap file seen as a tracker. It is safe for concurrent
// use; writes are serialised.
type Tracker struct {
	name     string
	path     string // absolute
	statuses statusSet
	clock    func() time.Time

	writeMu sync.Mutex // one read-modify-write at a time

	mu   sync.Mutex
	seen map[string]seenVersion // UpdatedAt per key, see stamp
}

// seenVersion is when this Tracker first saw version hash of an initiative.
type seenVersion struct {
	hash string
	at   time.Time
}

var (
	_ adapters.Tracker = (*Tracker)(nil)
	_ adapters.Deleter = (*Tracker)(nil)
	_ adapters.Checker = (*Tracker)(nil)
)

// New returns a Tracker named name for the roadmap file opts.Path. It does
// not read the file; Check does.
func New(name string, opts Options) (*Tracker, error) {
	if name == "" {
		return nil, fmt.Errorf("roadmap tracker: a name is required")
	}
	if opts.Path == "" {
		return nil, fmt.Errorf("roadmap tracker %s: path is required", name)
	}
	abs, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("roadmap tracker %s: path %s: %w", name, opts.Path, err)
	}
	sts := opts.Statuses
	if sts == nil {
		sts = DefaultStatuses
	}
	st, err := newStatusSet(sts)
	if err != nil {
		return nil, fmt.Errorf("roadmap tracker %s: statuses: %w", name, err)
	}
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	return &Tracker{name: name, path: abs, statuses: st, clock: clock, seen: map[string]seenVersion{}}, nil
}

// fileOptions are a roadmap tracker's options as the config file holds
// them; the tags are the keys and their help (see adapters/options.go).
type fileOptions struct {
	Path     string `yaml:"path,required" help:"the roadmap YAML file, relative to the config file's folder"`
	Statuses struct {
		Todo       []string `yaml:"todo,commas"`
		InProgress []string `yaml:"in_progress,commas"`
		Done       []string `yaml:"done,commas"`
	} `yaml:"statuses" help:"native statuses by category in workflow order, e.g. {todo: [planned], in_progress: [in_progress, at_risk], done: [done, cancelled]}"`
}

func init() {
	adapters.Register(adapters.Spec{
		Kind:         "roadmap",
		Help:         "a YAML file of initiatives kept in git by product managers",
		OptionStruct: func() any { return &fileOptions{} },
		New: func(_ context.Context, cfg adapters.Config) (adapters.Tracker, error) {
			var f fileOptions
			if err := cfg.Decode(&f); err != nil {
				return nil, err
			}
			path := f.Path
			if path != "" && !filepath.IsAbs(path) {
				path = filepath.Join(cfg.BaseDir, path)
			}
			// Categories in workflow order; none written: the defaults.
			var sts []adapters.StatusDef
			for _, c := range []struct {
				cat   adapters.StatusCategory
				names []string
			}{{adapters.CategoryTodo, f.Statuses.Todo}, {adapters.CategoryInProgress, f.Statuses.InProgress}, {adapters.CategoryDone, f.Statuses.Done}} {
				for _, n := range c.names {
					sts = append(sts, adapters.StatusDef{Name: n, Category: c.cat})
				}
			}
			return New(cfg.Name, Options{Path: path, Statuses: sts})
		},
	})
}

// statusSet is the configured statuses.
type statusSet []adapters.StatusDef

func newStatusSet(sts []adapters.StatusDef) (statusSet, error) {
	if len(sts) == 0 {
		return nil, fmt.Errorf("at least one status is needed")
	}
	seen := map[string]bool{}
	for _, s := range sts {
		switch {
		case s.Name == "" || strings.ContainsAny(s.Name, "\n\r"):
			return nil, fmt.Errorf("status name %q is empty or spans lines", s.Name)
		case seen[s.Name]:
			return nil, fmt.Errorf("status %q is listed twice", s.Name)
		case !s.Category.Valid():
			return nil, fmt.Errorf("status %q: unknown category %q", s.Name, s.Category)
		}
		seen[s.Name] = true
	}
	return slices.Clone(statusSet(sts)), nil
}

func (s statusSet) category(name string) (adapters.StatusCategory, bool) {
	for _, d := range s {
		if d.Name == name {
			return d.Category, true
		}
	}
	return "", false
}

func (s statusSet) names() []string {
	out := make([]string, len(s))
	for i, d := range s {
		out[i] = d.Name
	}
	return out
}

// first is the first status of category c, or "".
func (s statusSet) first(c adapters.StatusCategory) string {
	for _, d := range s {
		if d.Category == c {
			return d.Name
		}
	}
	return ""
}

// initial is the status of an initiative that has none.
func (s statusSet) initial() string {
	if n := s.first(adapters.CategoryTodo); n != "" {
		return n
	}
	return s[0].Name
}

// Name is the configured tracker name.
func (t *Tracker) Name() string { return t.name }

// Path is the absolute path of the roadmap file.
func (t *Tracker) Path() string { return t.path }

// Capabilities lists the standard fields a roadmap holds, plus
// custom:progress and custom:children. Any other custom:<name> is accepted
// too: it is the free key <name>.
func (t *Tracker) Capabilities() adapters.Capabilities {
	return adapters.Capabilities{
		Fields: []string{
			adapters.FieldTitle, adapters.FieldBody, adapters.FieldStatus, adapters.FieldAssignees,
			adapters.FieldLabels, adapters.FieldPriority, adapters.FieldDue,
			adapters.CustomPrefix + keyProgress, adapters.CustomPrefix + keyChildren,
		},
		Statuses: slices.Clone([]adapters.StatusDef(t.statuses)),
		Kinds:    []adapters.Kind{adapters.KindInitiative},
	}
}

// toItem translates one initiative. It never fails: parse has validated
// everything it relies on.
func (t *Tracker) toItem(in *initiative, at time.Time) adapters.Item {
	it := adapters.Item{
		Ref:       t.ref(in.key),
		Kind:      adapters.KindInitiative,
		Title:     in.scalar(keyTitle),
		Body:      strings.TrimRight(in.scalar(keyDescription), "\n"),
		Status:    in.scalar(keyStatus),
		Priority:  in.scalar(keyPriority),
		Due:       in.scalar(keyDue),
		Labels:    dedupe(listValue(pairValue(in, keyLabels))),
		UpdatedAt: at,
		Version:   in.hash,
		SyncKey:   in.scalar(keyTracksyncID),
	}
	if it.Status == "" {
		it.Status = t.statuses.initial()
	}
	it.StatusCategory, _ = t.statuses.category(it.Status)
	if o := in.scalar(keyOwner); o != "" {
		it.Assignees = []string{o}
	}
	for i := 0; i+1 < len(in.pairs); i += 2 {
		k, v := in.pairs[i].Value, in.pairs[i+1]
		switch {
		case k == keyChildren:
			if l := adapters.EncodeList(listValue(v)); l != "" {
				setField(&it, k, l)
			}
		case slices.Contains(reservedKeys, k):
		default:
			if s := scalarValue(v); s != "" {
				setField(&it, k, s)
			}
		}
	}
	return it
}

// ref names initiative key of this roadmap.
func (t *Tracker) ref(key string) adapters.Ref {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(t.path), Fragment: key}
	return adapters.Ref{Tracker: t.name, Project: filepath.Base(t.path), ID: key, Key: key, URL: u.String()}
}

func pairValue(in *initiative, name string) *yaml.Node {
	_, v := in.pair(name)
	return v
}

func setField(it *adapters.Item, k, v string) {
	if it.Fields == nil {
		it.Fields = map[string]string{}
	}
	it.Fields[k] = v
}

// dedupe drops repeats and empties, keeping file order.
func dedupe(l []string) []string {
	var out []string
	for _, s := range l {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// stamp gives each initiative of d its UpdatedAt: the time this Tracker
// first saw its current version. A key never seen before gets the file's
// mtime when that is earlier than now, which after a restart is the best
// bound on when it last changed; a known key whose content changed gets
// the clock, since it changed after we last looked.
func (t *Tracker) stamp(d *document, mtime time.Time) map[string]time.Time {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]time.Time, len(d.items))
	present := make(map[string]bool, len(d.items))
	for _, in := range d.items {
		present[in.key] = true
		s, ok := t.seen[in.key]
		switch {
		case ok && s.hash == in.hash:
		case ok:
			s = seenVersion{in.hash, now}
		default:
			at := now
			if !mtime.IsZero() && mtime.Before(now) {
				at = mtime
			}
			s = seenVersion{in.hash, at}
		}
		t.seen[in.key] = s
		out[in.key] = s.at
	}
	for k := range t.seen {
		if !present[k] {
			delete(t.seen, k)
		}
	}
	return out
}

// written records that this Tracker wrote version hash of key just now.
func (t *Tracker) written(key, hash string) {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.seen[key]; !ok || s.hash != hash {
		t.seen[key] = seenVersion{hash, now}
	}
}

// snapshot is one read of the file, translated.
type snapshot struct {
	doc   *document
	items map[string]adapters.Item
}

func (t *Tracker) load(ctx context.Context) (*snapshot, error) {
	d, mtime, err := t.read(ctx)
	if err != nil {
		return nil, err
	}
	return t.translate(d, mtime), nil
}

// read reads and parses the file as it is now; load and write both start
// from it. The document keeps the bytes read (d.src), which write compares
// the file with before replacing it.
func (t *Tracker) read(ctx context.Context) (*document, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, err
	}
	src, mtime, err := readFile(t.path)
	if err != nil {
		return nil, time.Time{}, err
	}
	d, err := parse(t.path, src, t.statuses)
	if err != nil {
		return nil, time.Time{}, err
	}
	return d, mtime, nil
}

func (t *Tracker) translate(d *document, mtime time.Time) *snapshot {
	at := t.stamp(d, mtime)
	s := &snapshot{doc: d, items: make(map[string]adapters.Item, len(d.items))}
	for _, in := range d.items {
		s.items[in.key] = t.toItem(in, at[in.key])
	}
	return s
}

// refKey is the initiative key a ref names: ID, or Key when ID is empty.
func refKey(ref adapters.Ref) string {
	if ref.ID != "" {
		return ref.ID
	}
	return ref.Key
}

func (t *Tracker) notFound(key string) error {
	return fmt.Errorf("roadmap %s: initiative %q: %w", t.path, key, adapters.ErrNotFound)
}

// Get reads one initiative; ErrNotFound when no initiative has that key.
func (t *Tracker) Get(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	s, err := t.load(ctx)
	if err != nil {
		return adapters.Item{}, err
	}
	key := refKey(ref)
	it, ok := s.items[key]
	if !ok {
		return adapters.Item{}, t.notFound(key)
	}
	return it, nil
}

// Children returns the children: of initiative key, in file order, for the
// roll-up. ErrNotFound when there is no such initiative.
func (t *Tracker) Children(ctx context.Context, key string) ([]string, error) {
	s, err := t.load(ctx)
	if err != nil {
		return nil, err
	}
	in, ok := s.doc.byKey[key]
	if !ok {
		return nil, t.notFound(key)
	}
	return dedupe(listValue(pairValue(in, keyChildren))), nil
}

// Check reads and validates the file: it exists, parses, keys are unique,
// statuses are known and due dates are dates. Every problem is reported.
func (t *Tracker) Check(ctx context.Context) error {
	_, err := t.load(ctx)
	return err
}

// write runs change against a fresh read of the file (a PM may have edited
// it since the last call) and writes the result atomically. change returns
// the new document and the key it changed (or d itself for no change). If
// the file changes on disk while this runs, the whole change is redone
// against the new content.
func (t *Tracker) write(ctx context.Context, change func(d *document) (*document, string, error)) (*snapshot, error) {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	for attempt := 0; ; attempt++ {
		d, mtime, err := t.read(ctx)
		if err != nil {
			return nil, err
		}
		nd, key, err := change(d)
		if err != nil {
			if errors.Is(err, errNoRoundTrip) {
				err = adapters.Permanent(err)
			}
			return nil, err
		}
		if nd == d {
			return t.translate(d, mtime), nil
		}
		err = writeFile(t.path, nd.src, d.src)
		if errors.Is(err, errChangedOnDisk) && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, err
		}
		if in, ok := nd.byKey[key]; ok {
			t.written(key, in.hash)
		}
		// Initiatives this Tracker had not seen yet were last changed no
		// later than the file we just replaced.
		return t.translate(nd, mtime), nil
	}
}

// Create appends a new initiative at the end of the list with the next free
// INIT-<n> key (one past the highest in the file, so a deleted key is never
// reused). With opts.IdempotencyKey it stores tracksync_id: <key> on the
// initiative, and a retry with the same key returns that one (Existed).
func (t *Tracker) Create(ctx context.Context, it adapters.Item, opts adapters.CreateOptions) (adapters.CreateResult, error) {
	if it.Kind != "" && it.Kind != adapters.KindInitiative {
		return adapters.CreateResult{}, fmt.Errorf("roadmap %s: creating a %s: a roadmap only holds initiatives: %w", t.path, it.Kind, adapters.ErrUnsupported)
	}
	if strings.ContainsAny(opts.IdempotencyKey, "\n\r") {
		return adapters.CreateResult{}, adapters.Permanent(fmt.Errorf("roadmap %s: idempotency key spans lines: %w", t.path, adapters.ErrInvalid))
	}
	var existed string
	var key string
	s, err := t.write(ctx, func(d *document) (*document, string, error) {
		if opts.IdempotencyKey != "" {
			for _, in := range d.items {
				if in.scalar(keyTracksyncID) == opts.IdempotencyKey {
					existed = in.key
					return d, "", nil
				}
			}
		}
		key = nextKey(d)
		pairs, err := t.newPairs(key, it, opts.IdempotencyKey)
		if err != nil {
			return nil, "", err
		}
		nd, err := d.appendItem(pairs, t.statuses)
		if err != nil {
			return nil, "", fmt.Errorf("roadmap %s: creating initiative %s: %w", t.path, key, err)
		}
		return nd, key, nil
	})
	if err != nil {
		return adapters.CreateResult{}, err
	}
	if existed != "" {
		return adapters.CreateResult{Item: s.items[existed], Existed: true}, nil
	}
	return adapters.CreateResult{Item: s.items[key]}, nil
}

var initKey = regexp.MustCompile(`^` + regexp.QuoteMeta(KeyPrefix) + `(\d+)$`)

// nextKey is one past the highest INIT-<n> in d.
func nextKey(d *document) string {
	n := 0
	for _, in := range d.items {
		if m := initKey.FindStringSubmatch(in.key); m != nil {
			if v, err := strconv.Atoi(m[1]); err == nil && v > n {
				n = v
			}
		}
	}
	return KeyPrefix + strconv.Itoa(n+1)
}

// newPairs lays out a created initiative's keys in the order PMs write
// them.
func (t *Tracker) newPairs(key string, it adapters.Item, idem string) ([]keyValue, error) {
	pairs := []keyValue{{keyKey, value{scalar: key, tag: "!!str"}}}
	add := func(k string, v value, err error) error {
		if err != nil {
			return err
		}
		if !v.empty() {
			pairs = append(pairs, keyValue{k, v})
		}
		return nil
	}
	status := it.Status
	if status == "" {
		status = t.statuses.first(it.StatusCategory)
	}
	if status == "" {
		status = t.statuses.initial()
	}
	for _, f := range []string{adapters.FieldTitle, adapters.FieldBody, adapters.FieldAssignees, adapters.FieldStatus, adapters.FieldDue, adapters.FieldPriority, adapters.FieldLabels} {
		src := it
		if f == adapters.FieldStatus {
			src.Status = status
		}
		k, v, err := t.fieldValue(src, f, nil)
		if err := add(k, v, err); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(it.Fields))
	for n := range it.Fields {
		names = append(names, n)
	}
	// children and progress first, as in the file shape; free keys sorted.
	sort.Slice(names, func(i, j int) bool {
		ri, rj := fieldRank(names[i]), fieldRank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		k, v, err := t.fieldValue(it, adapters.CustomPrefix+n, nil)
		if err := add(k, v, err); err != nil {
			return nil, err
		}
	}
	if idem != "" {
		pairs = append(pairs, keyValue{keyTracksyncID, value{scalar: idem, tag: "!!str"}})
	}
	return pairs, nil
}

func fieldRank(name string) int {
	switch name {
	case keyChildren:
		return 0
	case keyProgress:
		return 1
	}
	return 2
}

// fieldValue is the key and value field f of it is written as. cur is the
// initiative being updated (nil on create): lists keep its order.
func (t *Tracker) fieldValue(it adapters.Item, f string, cur *initiative) (string, value, error) {
	invalid := func(format string, a ...any) error {
		return adapters.Permanent(fmt.Errorf("field %s: %s: %w", f, fmt.Sprintf(format, a...), adapters.ErrInvalid))
	}
	str := func(k, s string) (string, value, error) {
		return k, value{scalar: s, tag: "!!str"}, nil
	}
	list := func(k string, l []string) (string, value, error) {
		var prev []string
		if cur != nil {
			prev = listValue(pairValue(cur, k))
		}
		return k, value{list: mergeList(prev, l), isList: true}, nil
	}
	switch f {
	case adapters.FieldTitle:
		return str(keyTitle, it.Title)
	case adapters.FieldBody:
		return str(keyDescription, it.Body)
	case adapters.FieldStatus:
		s := it.Status
		if s == "" && it.StatusCategory != "" {
			s = t.statuses.first(it.StatusCategory)
		}
		if s == "" {
			return "", value{}, invalid("a status is required (known: %s)", strings.Join(t.statuses.names(), ", "))
		}
		if _, ok := t.statuses.category(s); !ok {
			return "", value{}, invalid("unknown status %q (known: %s)", s, strings.Join(t.statuses.names(), ", "))
		}
		return str(keyStatus, s)
	case adapters.FieldAssignees:
		a := dedupe(it.Assignees)
		if len(a) > 1 {
			return "", value{}, invalid("an initiative has one owner, got %d assignees", len(a))
		}
		if len(a) == 0 {
			return str(keyOwner, "")
		}
		return str(keyOwner, a[0])
	case adapters.FieldLabels:
		return list(keyLabels, it.Labels)
	case adapters.FieldPriority:
		return str(keyPriority, it.Priority)
	case adapters.FieldDue:
		if it.Due != "" {
			if err := validDate(it.Due); err != nil {
				return "", value{}, invalid("%v", err)
			}
		}
		// Untagged, so it reads back as the date it looks like.
		return keyDue, value{scalar: it.Due}, nil
	case adapters.FieldParent:
		return "", value{}, adapters.Permanent(fmt.Errorf("field %s: initiatives have no parent: %w", f, adapters.ErrUnsupported))
	}
	name, ok := strings.CutPrefix(f, adapters.CustomPrefix)
	if !ok || name == "" {
		return "", value{}, adapters.Permanent(fmt.Errorf("field %q: %w", f, adapters.ErrUnsupported))
	}
	if slices.Contains(reservedKeys, name) {
		return "", value{}, invalid("%q is a standard roadmap key; use the standard field", name)
	}
	v := it.Fields[name]
	if name == keyChildren {
		l, err := adapters.DecodeList(v)
		if err != nil {
			return "", value{}, invalid("%v", err)
		}
		return list(keyChildren, l)
	}
	if strings.ContainsAny(name, "\n\r") {
		return "", value{}, invalid("key spans lines")
	}
	// Free keys are written untagged: 0.42 stays a number, growth text.
	return name, value{scalar: v}, nil
}

// mergeList is the list to write when next replaces prev: entries that stay
// keep their order in the file, new ones follow, sorted. The file's order
// is the PM's; the canonical value is a set.
func mergeList(prev, next []string) []string {
	want := adapters.NormalizeList(next)
	var out []string
	for _, s := range prev {
		if _, ok := slices.BinarySearch(want, s); ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, s := range want {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Update writes p.Fields of p.Item into the initiative in place: existing
// keys keep their position, comment and quoting; new keys follow the
// initiative's last key; an empty value removes its key. With p.IfVersion,
// a changed initiative is ErrConflict and nothing is written.
func (t *Tracker) Update(ctx context.Context, ref adapters.Ref, p adapters.Patch) (adapters.Item, error) {
	key := refKey(ref)
	s, err := t.write(ctx, func(d *document) (*document, string, error) {
		in, ok := d.byKey[key]
		if !ok {
			return nil, "", t.notFound(key)
		}
		if p.IfVersion != "" && p.IfVersion != in.hash {
			return nil, "", fmt.Errorf("roadmap %s: initiative %s is at version %s, not %s: %w", t.path, key, in.hash, p.IfVersion, adapters.ErrConflict)
		}
		// Validate every field before touching anything.
		type kv struct {
			k string
			v value
		}
		var writes []kv
		for _, f := range p.Fields {
			k, v, err := t.fieldValue(p.Item, f, in)
			if err != nil {
				return nil, "", fmt.Errorf("roadmap %s: updating initiative %s: %w", t.path, key, err)
			}
			writes = append(writes, kv{k, v})
		}
		nd := d
		for _, w := range writes {
			var err error
			// Re-find the initiative: each write re-parses the file.
			if nd, err = nd.setKey(nd.byKey[key], w.k, w.v, t.statuses); err != nil {
				return nil, "", fmt.Errorf("roadmap %s: updating initiative %s, key %s: %w", t.path, key, w.k, err)
			}
		}
		return nd, key, nil
	})
	if err != nil {
		return adapters.Item{}, err
	}
	return s.items[key], nil
}

// Delete removes the initiative's lines from the file. Comments above it
// stay. ErrNotFound when it is not there.
func (t *Tracker) Delete(ctx context.Context, ref adapters.Ref) error {
	key := refKey(ref)
	_, err := t.write(ctx, func(d *document) (*document, string, error) {
		in, ok := d.byKey[key]
		if !ok {
			return nil, "", t.notFound(key)
		}
		nd, err := d.removeItem(in, t.statuses)
		if err != nil {
			return nil, "", fmt.Errorf("roadmap %s: deleting initiative %s: %w", t.path, key, err)
		}
		return nd, key, nil
	})
	return err
}
