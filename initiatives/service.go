// Package initiatives keeps roadmap initiatives linked to the items that
// deliver them and their roll-ups current: it reads the initiatives and
// their children from the configured trackers (the config's initiatives
// section), feeds them to the rollup Index, keeps it up to date from
// incremental listings, creates delivery items for new initiatives
// (fan-out), writes progress back and keeps a daily snapshot per initiative
// in the store.
//
// How children are found (see config.ChildRule):
//   - every item's parent field makes it a child of its parent, and every
//     item of a GitHub tracker has the issues its body's task list names as
//     children, so the tree goes down initiative → epics → issues →
//     sub-tasks across trackers;
//   - an initiative's direct children are further: the items labelled after
//     it (link label, tasklist), the keys its children field lists (link
//     refs), and the items fan-out created for it (linked in the store
//     under flow "initiatives:<tracker>");
//   - items linked to each other by a sync flow are the same work, counted
//     once (rollup.Node.SameAs).
package initiatives

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/rollup"
	"github.com/tracksync/tracksync/store"
)

// FanoutFlow is the store flow name under which fan-out links of tracker
// live: A is the initiative, B the item made for it.
func FanoutFlow(tracker string) string { return "initiatives:" + tracker }

// Options wire a Service.
type Options struct {
	Config *config.Initiatives
	// Trackers by name: at least the source and every child tracker.
	Trackers map[string]adapters.Tracker
	// Kinds are the configured kinds by tracker name (github gets task
	// lists and tracking-issue write-back).
	Kinds map[string]string
	// Flows are the configured sync flows: their links say which items
	// are the same work in two trackers.
	Flows []config.Flow
	Store store.Store
	Log   *slog.Logger
	// Now is the clock (dates, at-risk rules, snapshot days); nil: time.Now.
	Now func() time.Time
	// ReadOnly makes no tracker writes: no fan-out, no write-back.
	// Snapshots are still stored (they are tracksync's own state).
	ReadOnly bool
	// Events makes the snapshots write outbox events: an initiative
	// turned at risk or back on track, its target date moved.
	Events bool
}

type estimateRule struct {
	field  string
	labels map[string]float64
}

// feed is one listing: a tracker and a scope, with its cursor.
type feed struct {
	tracker string
	scope   string
	source  bool // the initiatives' listing
	cursor  string
}

// Service keeps the roll-ups of the configured initiatives. Its methods
// are safe for concurrent use; refreshes are serialised.
type Service struct {
	o        Options
	cfg      config.Initiatives
	log      *slog.Logger
	now      func() time.Time
	feeds    []*feed
	est      map[string]estimateRule
	labels   map[string]labelTemplate // tracker -> template, for link label/tasklist
	refRules []string                 // trackers with link refs
	tracking map[string]bool          // trackers whose labelled or created children are tracking issues
	links    []string                 // flows whose links merge items (linkFlows)

	run sync.Mutex // one Load or Refresh at a time

	mu     sync.Mutex
	loaded bool
	index  *rollup.Index
	items  map[string]adapters.Item // by rollup.Key
	inits  map[string]bool          // rollup keys of initiatives
	human  map[string]string        // tracker + "\x00" + human key -> rollup key
	anyKey map[string][]string      // human key -> rollup keys (every tracker)
	// folded are the initiatives by lower-case human key: labels name
	// initiatives case-insensitively (GitHub keeps a label's first spelling).
	folded map[string]string
	// kids are the parent-field children: parent rollup key -> child keys.
	kids map[string]map[string]bool
	// labelled are label children: initiative human key -> child keys.
	labelled map[string]map[string]bool
	// wants are the nodes whose children lists name a human key not (yet)
	// read: human key -> referrer rollup keys.
	wants map[string]map[string]bool
	// same are flow links: flow -> rollup key -> counterparts.
	same map[string]map[string][]adapters.Ref
	// fanout are fan-out links: initiative rollup key -> tracker -> ref.
	fanout map[string]map[string]adapters.Ref
	// fanBack is fanout reversed: item rollup key -> initiative rollup
	// key, so an item listed after its initiative joins it.
	fanBack map[string]string
	// written remembers what write-back last wrote, to write only changes.
	written map[string]string
	// snaps remembers the last snapshot stored per initiative.
	snaps map[string]store.Snapshot
	// hist caches the snapshots from day histSince on (oldest day first),
	// so the dashboard does not read the store on every load; snapshot
	// adds what it writes. histOK is false until the first read.
	hist      []store.Snapshot
	histSince string
	histOK    bool
	// histMap is the last Report's History (read-only once built), for
	// the window and basis histMapKey; snapshot writes drop it.
	histMap    map[string][]rollup.Point
	histMapKey string
	// primed is set once the last process's snapshots and target dates
	// are read; targets are the last known target date and slips the
	// date history, by initiative rollup key.
	primed  bool
	targets map[string]string
	slips   map[string][]rollup.Slip
	// dirtyFlows are flows whose links changed since the last refresh.
	dirtyFlows map[string]bool
	lastLoad   time.Time
	lastErr    error
}

// Open opens the trackers cfg's initiatives section names, reusing those
// in open (the daemon's, already connected), and returns a Service. It
// fails when cfg has no initiatives section.
func Open(ctx context.Context, cfg *config.Config, reg *adapters.Registry, log *slog.Logger, st store.Store, open map[string]adapters.Tracker) (*Service, error) {
	ic := cfg.Initiatives
	if ic == nil {
		return nil, fmt.Errorf("%s has no initiatives section: see the README's Initiatives and roll-ups", cfg.Path)
	}
	trackers := map[string]adapters.Tracker{}
	kinds := map[string]string{}
	names := []string{ic.Source.Tracker}
	for _, c := range ic.Children {
		names = append(names, c.Tracker)
	}
	for _, name := range names {
		if _, ok := trackers[name]; ok {
			continue
		}
		tc, ok := cfg.Trackers[name]
		if !ok {
			return nil, fmt.Errorf("initiatives: no tracker %q in the config", name)
		}
		kinds[name] = tc.Kind
		if t, ok := open[name]; ok {
			trackers[name] = t
			continue
		}
		t, err := reg.Open(ctx, name, tc.Kind, tc.Options, log, cfg.BaseDir())
		if err != nil {
			return nil, fmt.Errorf("initiatives: opening tracker %s: %w", name, err)
		}
		trackers[name] = t
	}
	return New(Options{Config: ic, Trackers: trackers, Kinds: kinds, Flows: cfg.Flows, Store: st, Log: log, Events: cfg.Notifications != nil})
}

// New checks o against the trackers' capabilities and returns a Service
// that has read nothing yet (Load or Refresh does).
func New(o Options) (*Service, error) {
	if o.Config == nil {
		return nil, errors.New("initiatives: no initiatives section in the config")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{o: o, cfg: *o.Config, log: o.Log, now: o.Now,
		est: map[string]estimateRule{}, labels: map[string]labelTemplate{}, tracking: map[string]bool{}}
	var errs []error
	need := func(path, name string) adapters.Tracker {
		t, ok := o.Trackers[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: tracker %q is not open", path, name))
		}
		return t
	}
	src := need("initiatives.source.tracker", s.cfg.Source.Tracker)
	s.feeds = append(s.feeds, &feed{tracker: s.cfg.Source.Tracker, scope: s.cfg.Source.Scope, source: true})
	for i, c := range s.cfg.Children {
		p := fmt.Sprintf("initiatives.children[%d]", i)
		t := need(p+".tracker", c.Tracker)
		if c.Tracker != s.cfg.Source.Tracker || c.Scope != s.cfg.Source.Scope {
			s.feeds = append(s.feeds, &feed{tracker: c.Tracker, scope: c.Scope})
		}
		switch c.Link {
		case "label", "tasklist":
			s.labels[c.Tracker] = newTemplate(c.Label)
		case "refs":
			s.refRules = append(s.refRules, c.Tracker)
		}
		if c.Link == "tasklist" || (c.Create != nil && o.Kinds[c.Tracker] == "github") {
			s.tracking[c.Tracker] = true
		}
		if c.Create != nil && t != nil {
			kind := adapters.Kind(c.Create.Kind)
			if kind == "" {
				kind = adapters.KindEpic
			}
			if ks := t.Capabilities().Kinds; len(ks) > 0 && !slices.Contains(ks, kind) {
				errs = append(errs, fmt.Errorf("%s.create.type: tracker %s cannot create a %s (it makes: %v)", p, c.Tracker, kind, ks))
			}
		}
	}
	for name, e := range s.cfg.Rollup.Estimate {
		p := "initiatives.rollup.estimate." + name
		t := need(p, name)
		if e.Field != "" && t != nil && !t.Capabilities().HasField(adapters.CustomPrefix+e.Field) {
			errs = append(errs, fmt.Errorf("%s: tracker %s has no field %q (list it under trackers.%s.custom_fields)", p, name, e.Field, name))
		}
		s.est[name] = estimateRule{field: e.Field, labels: e.Labels}
	}
	wb := s.cfg.Rollup.WriteBack
	if src != nil && wb.Field != "" && !src.Capabilities().HasField(adapters.CustomPrefix+wb.Field) {
		errs = append(errs, fmt.Errorf("initiatives.rollup.write_back.field: tracker %s has no field %q (list it under trackers.%s.custom_fields)", s.cfg.Source.Tracker, wb.Field, s.cfg.Source.Tracker))
	}
	if src != nil && wb.Comment {
		if _, ok := src.(adapters.Commenter); !ok {
			errs = append(errs, fmt.Errorf("initiatives.rollup.write_back.comment: tracker %s has no comments", s.cfg.Source.Tracker))
		}
	}
	if src != nil && s.cfg.Status == "children" && !src.Capabilities().HasField(adapters.FieldStatus) {
		errs = append(errs, fmt.Errorf("initiatives.status: tracker %s cannot write a status", s.cfg.Source.Tracker))
	}
	if sc, ok := src.(SourceChecker); ok {
		if err := sc.CheckInitiativeSource(s.cfg.Source.Scope, s.cfg.Status == "children"); err != nil {
			errs = append(errs, fmt.Errorf("initiatives.status: %w", err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s.links = s.linkFlows()
	s.reset()
	return s, nil
}

func (s *Service) reset() {
	s.items = map[string]adapters.Item{}
	s.inits = map[string]bool{}
	s.human = map[string]string{}
	s.anyKey = map[string][]string{}
	s.folded = map[string]string{}
	s.kids = map[string]map[string]bool{}
	s.labelled = map[string]map[string]bool{}
	s.wants = map[string]map[string]bool{}
	s.same = map[string]map[string][]adapters.Ref{}
	s.fanout = map[string]map[string]adapters.Ref{}
	s.fanBack = map[string]string{}
	if s.written == nil {
		s.written = map[string]string{}
		s.snaps = map[string]store.Snapshot{}
	}
	// dirtyFlows survives a reset: a flow marked while a Load reads may
	// have changed its links after the Load read them.
	if s.dirtyFlows == nil {
		s.dirtyFlows = map[string]bool{}
	}
	s.index = rollup.NewIndex(s.rollupConfig(), nil)
}

func (s *Service) rollupConfig() rollup.Config {
	ar := s.cfg.Rollup.AtRisk
	return rollup.Config{
		DefaultEstimate: s.cfg.Rollup.DefaultEstimate,
		Now:             s.now,
		AtRisk: rollup.AtRisk{
			DaysBeforeDue: ar.DaysBeforeDue, MinDone: ar.MinDone, UseEstimate: s.byEstimate(),
			BlockedStatuses: ar.BlockedStatuses, BlockedLabels: ar.BlockedLabels,
		},
	}
}

func (s *Service) byEstimate() bool { return s.cfg.Rollup.Weight == "estimate" }

// Done is "the" percent done of r (0..1), by the configured weight.
func (s *Service) Done(r rollup.Rollup) float64 {
	if s.byEstimate() {
		return r.DoneByEstimate
	}
	return r.DoneByCount
}

// Result says what a Load or Refresh did.
type Result struct {
	Read      int            // items read from the trackers
	Changed   []adapters.Ref // initiatives whose roll-up changed
	Created   []adapters.Ref // fan-out items made
	Written   int            // write-back writes
	Snapshots int            // snapshots stored
	Full      bool           // a full read, not an incremental one
}

// Load reads every initiative and child from scratch and rebuilds the
// roll-ups, then creates missing delivery items, writes back and stores
// snapshots. It is the periodic full reconcile; Refresh is the cheap path.
func (s *Service) Load(ctx context.Context) (Result, error) {
	s.run.Lock()
	defer s.run.Unlock()
	res, err := s.load(ctx)
	s.setErr(err)
	return res, err
}

// setErr records the outcome of a Load or Refresh for Status.
func (s *Service) setErr(err error) {
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
}

// takeDirty returns the flows marked since the last read of their links
// and clears the marks; putBack restores them when that read fails.
func (s *Service) takeDirty() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	dirty := slices.Sorted(maps.Keys(s.dirtyFlows))
	clear(s.dirtyFlows)
	return dirty
}

func (s *Service) putBack(dirty []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fl := range dirty {
		s.dirtyFlows[fl] = true
	}
}

func (s *Service) load(ctx context.Context) (res Result, err error) {
	res = Result{Full: true}
	// Marks from here on are for links this Load may read too early.
	dirty := s.takeDirty()
	defer func() {
		if err != nil {
			s.putBack(dirty)
		}
	}()
	lists := make([][]adapters.Item, len(s.feeds))
	cursors := make([]string, len(s.feeds))
	for i, f := range s.feeds {
		items, _, cur, err := s.list(ctx, f, "")
		if err != nil {
			return res, err
		}
		lists[i], cursors[i] = items, cur
		res.Read += len(items)
	}
	same := map[string]map[string][]adapters.Ref{}
	for _, fl := range s.links {
		m, err := s.readLinks(ctx, fl)
		if err != nil {
			return res, err
		}
		same[fl] = m
	}
	fanout, err := s.readFanout(ctx)
	if err != nil {
		return res, err
	}

	s.mu.Lock()
	s.reset()
	for i, f := range s.feeds {
		f.cursor = cursors[i]
		for _, it := range lists[i] {
			s.put(it, f.source)
		}
	}
	s.same, s.fanout = same, fanout
	for ik, m := range fanout {
		for _, r := range m {
			s.fanBack[rollup.Key(r)] = ik
		}
	}
	nodes := make([]rollup.Node, 0, len(s.items))
	for _, k := range slices.Sorted(maps.Keys(s.items)) {
		nodes = append(nodes, s.node(k))
	}
	s.index = rollup.NewIndex(s.rollupConfig(), nodes)
	s.loaded, s.lastLoad = true, s.now()
	all := s.index.All()
	s.mu.Unlock()
	for _, r := range all {
		res.Changed = append(res.Changed, r.Initiative)
	}
	return res, s.after(ctx, &res, nil, true)
}

// MarkFlow tells the Service that flow ran, so its links are re-read at
// the next Refresh (items it linked become one).
func (s *Service) MarkFlow(flow string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirtyFlows != nil {
		s.dirtyFlows[flow] = true
	}
}

// Refresh reads what changed since the last read (one incremental listing
// per tracker and scope), updates the roll-ups of the initiatives it
// touches, and does fan-out, write-back and snapshots for those. The first
// call is a Load.
func (s *Service) Refresh(ctx context.Context) (Result, error) {
	s.run.Lock()
	defer s.run.Unlock()
	s.mu.Lock()
	loaded := s.loaded
	s.mu.Unlock()
	var res Result
	var err error
	if loaded {
		res, err = s.refresh(ctx)
	} else {
		res, err = s.load(ctx)
	}
	s.setErr(err)
	return res, err
}

func (s *Service) refresh(ctx context.Context) (Result, error) {
	var res Result
	type change struct {
		items   []adapters.Item
		deleted []adapters.Ref
		source  bool
	}
	// Cursors move only once every read succeeded: a failed read leaves
	// all of them where they were, so nothing read is lost unapplied.
	changes := make([]change, len(s.feeds))
	cursors := make([]string, len(s.feeds))
	for i, f := range s.feeds {
		items, deleted, cur, err := s.list(ctx, f, f.cursor)
		if err != nil {
			return res, err
		}
		cursors[i] = cur
		res.Read += len(items)
		changes[i] = change{items, deleted, f.source}
	}
	dirty := s.takeDirty()
	newSame := map[string]map[string][]adapters.Ref{}
	for _, fl := range dirty {
		if !slices.Contains(s.links, fl) {
			continue
		}
		m, err := s.readLinks(ctx, fl)
		if err != nil {
			s.putBack(dirty)
			return res, err
		}
		newSame[fl] = m
	}
	for i, f := range s.feeds {
		f.cursor = cursors[i]
	}

	s.mu.Lock()
	affected := map[string]bool{}
	for _, c := range changes {
		for _, it := range c.items {
			for k := range s.put(it, c.source) {
				affected[k] = true
			}
		}
		for _, ref := range c.deleted {
			for k := range s.drop(ref) {
				affected[k] = true
			}
		}
	}
	for fl, m := range newSame {
		old := s.same[fl]
		for k := range keysOfBoth(old, m) {
			if !slices.Equal(old[k], m[k]) {
				affected[k] = true
			}
		}
		s.same[fl] = m
	}
	changed := s.upsert(affected)
	// Initiatives touched whose roll-up did not change still get fan-out
	// and write-back: their own item may have changed (a person set the
	// status or progress write-back owns, a write lost to a conflict).
	// Both write only what differs.
	var touched []adapters.Ref
	for _, k := range slices.Sorted(maps.Keys(affected)) {
		if it, ok := s.items[k]; ok && s.inits[k] {
			touched = append(touched, it.Ref)
		}
	}
	s.mu.Unlock()
	res.Changed = changed
	return res, s.after(ctx, &res, touched, false)
}

func keysOfBoth[V any](a, b map[string]V) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// upsert rebuilds the nodes of keys (those gone are removed) and returns
// the initiatives whose roll-up changed. s.mu is held.
func (s *Service) upsert(keys map[string]bool) []adapters.Ref {
	seen := map[string]adapters.Ref{}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		var refs []adapters.Ref
		if _, ok := s.items[k]; ok {
			refs = s.index.Upsert(s.node(k))
		} else if ref, ok := refOfKey(k); ok {
			refs = s.index.Remove(ref)
		}
		for _, r := range refs {
			seen[rollup.Key(r)] = r
		}
	}
	out := make([]adapters.Ref, 0, len(seen))
	for _, k := range slices.Sorted(maps.Keys(seen)) {
		out = append(out, seen[k])
	}
	return out
}

// refOfKey is the ref a rollup key names (tracker:id).
func refOfKey(k string) (adapters.Ref, bool) {
	t, id, ok := strings.Cut(k, ":")
	return adapters.Ref{Tracker: t, ID: id}, ok
}

// list reads every page of feed f from cursor.
func (s *Service) list(ctx context.Context, f *feed, cursor string) ([]adapters.Item, []adapters.Ref, string, error) {
	t := s.o.Trackers[f.tracker]
	var items []adapters.Item
	var deleted []adapters.Ref
	req := adapters.ListRequest{Scope: f.scope, Cursor: cursor}
	for {
		page, err := t.List(ctx, req)
		if err != nil {
			what := "children"
			if f.source {
				what = "initiatives"
			}
			return nil, nil, "", fmt.Errorf("initiatives: reading the %s in tracker %s (scope %q): %w", what, f.tracker, f.scope, err)
		}
		items = append(items, page.Items...)
		deleted = append(deleted, page.Deleted...)
		if page.NextPageToken == "" {
			return items, deleted, page.Cursor, nil
		}
		req.PageToken = page.NextPageToken
	}
}

// linkFlows are the configured flows whose two trackers both feed the
// roll-ups: their links make two items one.
func (s *Service) linkFlows() []string {
	var out []string
	for _, f := range s.o.Flows {
		_, a := s.o.Trackers[f.A.Tracker]
		_, b := s.o.Trackers[f.B.Tracker]
		if a && b && s.reads(f.A.Tracker) && s.reads(f.B.Tracker) {
			out = append(out, f.Name)
		}
	}
	return out
}

// reads reports whether some feed lists tracker.
func (s *Service) reads(tracker string) bool {
	return slices.ContainsFunc(s.feeds, func(f *feed) bool { return f.tracker == tracker })
}

// readLinks reads flow's live links as counterparts by rollup key.
func (s *Service) readLinks(ctx context.Context, flow string) (map[string][]adapters.Ref, error) {
	links, err := s.o.Store.ListLinks(ctx, flow)
	if err != nil {
		return nil, fmt.Errorf("initiatives: reading the links of flow %s: %w", flow, err)
	}
	m := map[string][]adapters.Ref{}
	for _, l := range links {
		if l.Tombstone() {
			continue
		}
		ka, kb := rollup.Key(l.A), rollup.Key(l.B)
		m[ka] = append(m[ka], l.B)
		m[kb] = append(m[kb], l.A)
	}
	return m, nil
}

// readFanout reads the fan-out links of every child tracker with create.
func (s *Service) readFanout(ctx context.Context) (map[string]map[string]adapters.Ref, error) {
	out := map[string]map[string]adapters.Ref{}
	for _, c := range s.cfg.Children {
		links, err := s.o.Store.ListLinks(ctx, FanoutFlow(c.Tracker))
		if err != nil {
			return nil, fmt.Errorf("initiatives: reading the items made for initiatives in %s: %w", c.Tracker, err)
		}
		for _, l := range links {
			if l.Tombstone() {
				continue
			}
			k := rollup.Key(l.A)
			if out[k] == nil {
				out[k] = map[string]adapters.Ref{}
			}
			out[k][c.Tracker] = l.B
		}
	}
	return out, nil
}

// put records item it and returns the rollup keys whose node it may change:
// itself, its old and new parents, the initiatives its labels name before
// and after, and the nodes waiting for its key. s.mu is held.
func (s *Service) put(it adapters.Item, source bool) map[string]bool {
	k := rollup.Key(it.Ref)
	aff := map[string]bool{k: true}
	old, had := s.items[k]
	if had && old.Version != "" && old.Version == it.Version && old.UpdatedAt.Equal(it.UpdatedAt) && old.Ref == it.Ref && (s.inits[k] || !source) {
		// Read again (an overlapping listing) but unchanged.
		return nil
	}
	if had {
		s.unindex(k, old, aff)
	}
	if ik, ok := s.fanBack[k]; ok {
		aff[ik] = true
	}
	if source {
		s.inits[k] = true
		if it.Ref.Key != "" {
			s.folded[strings.ToLower(it.Ref.Key)] = k
		}
	}
	s.items[k] = it
	if it.Ref.Key != "" {
		hk := it.Ref.Tracker + "\x00" + it.Ref.Key
		s.human[hk] = k
		if !slices.Contains(s.anyKey[it.Ref.Key], k) {
			s.anyKey[it.Ref.Key] = append(s.anyKey[it.Ref.Key], k)
		}
		for _, w := range []string{it.Ref.Key, it.Ref.Tracker + ":" + it.Ref.Key} {
			for r := range s.wants[w] {
				aff[r] = true
			}
		}
	}
	if it.Parent != nil && !it.Parent.IsZero() {
		pk := s.parentKey(*it.Parent)
		if s.kids[pk] == nil {
			s.kids[pk] = map[string]bool{}
		}
		s.kids[pk][k] = true
		aff[pk] = true
	}
	for _, ik := range s.labelInits(it) {
		ik = strings.ToLower(ik)
		if s.labelled[ik] == nil {
			s.labelled[ik] = map[string]bool{}
		}
		s.labelled[ik][k] = true
		if rk, ok := s.initByHuman(ik); ok {
			aff[rk] = true
		}
	}
	return aff
}

// drop forgets the item ref names and returns the keys it may change.
func (s *Service) drop(ref adapters.Ref) map[string]bool {
	k := rollup.Key(ref)
	aff := map[string]bool{k: true}
	if old, ok := s.items[k]; ok {
		s.unindex(k, old, aff)
		delete(s.items, k)
		delete(s.inits, k)
		// Its key no longer names it: resolve must not find a zero item.
		if key := old.Ref.Key; key != "" {
			if hk := old.Ref.Tracker + "\x00" + key; s.human[hk] == k {
				delete(s.human, hk)
			}
			s.anyKey[key] = slices.DeleteFunc(s.anyKey[key], func(x string) bool { return x == k })
			if len(s.anyKey[key]) == 0 {
				delete(s.anyKey, key)
			}
		}
	}
	return aff
}

// unindex removes old's parent and label entries, adding what they touched
// to aff.
func (s *Service) unindex(k string, old adapters.Item, aff map[string]bool) {
	if old.Parent != nil && !old.Parent.IsZero() {
		pk := s.parentKey(*old.Parent)
		delete(s.kids[pk], k)
		aff[pk] = true
	}
	for _, ik := range s.labelInits(old) {
		delete(s.labelled[strings.ToLower(ik)], k)
		if rk, ok := s.initByHuman(ik); ok {
			aff[rk] = true
		}
	}
}

// parentKey is the rollup key of a parent ref: by ID, or by its human key
// when the ID is unknown and the item is known.
func (s *Service) parentKey(p adapters.Ref) string {
	if p.ID == "" {
		if k, ok := s.human[p.Tracker+"\x00"+p.Key]; ok {
			return k
		}
	}
	return rollup.Key(p)
}

// labelInits returns the initiative keys it's labels name.
func (s *Service) labelInits(it adapters.Item) []string {
	tpl, ok := s.labels[it.Ref.Tracker]
	if !ok {
		return nil
	}
	var out []string
	for _, l := range it.Labels {
		if key, ok := tpl.match(l); ok {
			out = append(out, key)
		}
	}
	return out
}

func (s *Service) initByHuman(key string) (string, bool) {
	k, ok := s.human[s.cfg.Source.Tracker+"\x00"+key]
	if !ok {
		k, ok = s.folded[strings.ToLower(key)]
	}
	return k, ok && s.inits[k]
}

// resolve finds the item a written ref (PLAT-12, acme/platform#45,
// tracker:key) names among trackers, recording referrer as waiting for it
// when it is not read (yet).
func (s *Service) resolve(ref string, trackers []string, referrer string) (adapters.Ref, bool) {
	if t, key, ok := strings.Cut(ref, ":"); ok {
		if _, known := s.o.Trackers[t]; known {
			if k, ok := s.human[t+"\x00"+key]; ok {
				return s.items[k].Ref, true
			}
			s.want(ref, referrer)
			return adapters.Ref{}, false
		}
	}
	for _, k := range s.anyKey[ref] {
		it := s.items[k]
		if trackers == nil || slices.Contains(trackers, it.Ref.Tracker) {
			return it.Ref, true
		}
	}
	s.want(ref, referrer)
	return adapters.Ref{}, false
}

func (s *Service) want(ref, referrer string) {
	if s.wants[ref] == nil {
		s.wants[ref] = map[string]bool{}
	}
	s.wants[ref][referrer] = true
}

// node builds the rollup node of item k. s.mu is held.
func (s *Service) node(k string) rollup.Node {
	it := s.items[k]
	n := rollup.Node{
		Ref: it.Ref, Kind: it.Kind, Title: it.Title, Category: it.StatusCategory, Status: it.Status,
		Labels: it.Labels, Estimate: estimateOf(it, s.est[it.Ref.Tracker]),
		Started: startOf(it), Due: dateOf(it.Due),
	}
	if n.Kind == adapters.KindInitiative && !s.inits[k] {
		// An initiative-kind item outside the source's scope is an
		// ordinary node here: only the source's are roll-up roots.
		n.Kind = adapters.KindEpic
	}
	if s.inits[k] {
		n.Kind = adapters.KindInitiative
	}
	seen := map[string]bool{}
	add := func(r adapters.Ref) {
		if rk := rollup.Key(r); !seen[rk] && rk != k {
			seen[rk] = true
			n.Children = append(n.Children, r)
		}
	}
	for _, ck := range slices.Sorted(maps.Keys(s.kids[k])) {
		add(s.items[ck].Ref)
	}
	if s.inits[k] {
		for _, ck := range slices.Sorted(maps.Keys(s.labelled[strings.ToLower(it.Ref.Key)])) {
			add(s.items[ck].Ref)
		}
		if len(s.refRules) > 0 {
			if l, err := adapters.DecodeList(it.Fields["children"]); err == nil {
				for _, r := range l {
					if ref, ok := s.resolve(r, s.refRules, k); ok {
						add(ref)
					}
				}
			}
		}
		for _, t := range slices.Sorted(maps.Keys(s.fanout[k])) {
			r := s.fanout[k][t]
			if ck := rollup.Key(r); s.items[ck].Ref.ID != "" {
				add(s.items[ck].Ref)
			}
		}
	}
	if s.o.Kinds[it.Ref.Tracker] == "github" {
		for _, r := range taskRefs(it.Body, repoOf(it)) {
			if ref, ok := s.resolve(r, nil, k); ok {
				add(ref)
			}
		}
	}
	for _, fl := range slices.Sorted(maps.Keys(s.same)) {
		n.SameAs = append(n.SameAs, s.same[fl][k]...)
	}
	return n
}

// Rollups returns the current roll-up of every initiative, sorted by key.
func (s *Service) Rollups() []rollup.Rollup {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index.All()
}

// Initiative returns the current roll-up of the initiative with human key
// key (INIT-1, PLAT-7), and false when there is none.
func (s *Service) Initiative(key string) (rollup.Rollup, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.initByHuman(key)
	if !ok {
		return rollup.Rollup{}, false
	}
	return s.index.Rollup(s.items[k].Ref)
}

// Report is the current roll-ups with their history (the last days
// snapshots, oldest first) for the outputs. Its History is shared between
// calls: read it, do not change it. only, when set, keeps one
// initiative (by its key).
func (s *Service) Report(ctx context.Context, days int, only string) (rollup.Report, error) {
	s.mu.Lock()
	all := s.index.All()
	status := map[string]string{}
	for _, r := range all {
		status[rollup.Key(r.Initiative)] = s.items[rollup.Key(r.Initiative)].Status
	}
	s.mu.Unlock()
	if only != "" {
		all = slices.DeleteFunc(all, func(r rollup.Rollup) bool { return r.Initiative.Key != only && r.Initiative.ID != only })
	}
	rep := rollup.Report{Generated: s.now(), Rollups: all, ByEstimate: s.byEstimate(), Status: status, History: map[string][]rollup.Point{}, Slips: s.Slips()}
	if days > 0 && s.o.Store != nil {
		since := s.now().UTC().AddDate(0, 0, -days).Format(time.DateOnly)
		key := fmt.Sprint(since, s.byEstimate())
		s.mu.Lock()
		hm, ok := s.histMap, s.histMapKey == key && s.histMap != nil
		s.mu.Unlock()
		if ok {
			rep.History = hm
		} else {
			snaps, err := s.history(ctx, since)
			if err != nil {
				return rep, fmt.Errorf("initiatives: reading roll-up history: %w", err)
			}
			for _, sn := range snaps {
				d := sn.DoneByCount
				if s.byEstimate() {
					d = sn.DoneByEstimate
				}
				rep.History[sn.Initiative] = append(rep.History[sn.Initiative], rollup.Point{Day: sn.Day, Done: d, Scope: sn.Total, DoneItems: sn.Done, AtRisk: sn.AtRisk})
			}
			s.mu.Lock()
			s.histMap, s.histMapKey = rep.History, key
			s.mu.Unlock()
		}
	}
	return rep, nil
}

// history returns the stored snapshots from day since on, oldest day
// first, from the cache when it covers since (the store is read once,
// then snapshot keeps the cache up to date as it writes).
func (s *Service) history(ctx context.Context, since string) ([]store.Snapshot, error) {
	s.mu.Lock()
	if s.histOK && s.histSince <= since {
		i, _ := slices.BinarySearchFunc(s.hist, since, func(sn store.Snapshot, day string) int { return strings.Compare(sn.Day, day) })
		out := s.hist[i:len(s.hist):len(s.hist)]
		s.mu.Unlock()
		return out, nil
	}
	s.mu.Unlock()
	snaps, err := s.o.Store.ListSnapshots(ctx, "", since)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.hist, s.histSince, s.histOK = snaps, since, true
	s.mu.Unlock()
	return snaps, nil
}

// cacheSnapshots adds written snapshots to the history cache (s.mu held):
// one of the same initiative and day is replaced, else it is appended
// (written snapshots are of today, the newest day).
func (s *Service) cacheSnapshots(written []store.Snapshot) {
	if !s.histOK {
		return
	}
	hist := slices.Clone(s.hist) // readers may hold the old slice
	for _, sn := range written {
		replaced := false
		for i := len(hist) - 1; i >= 0 && hist[i].Day >= sn.Day; i-- {
			if hist[i].Day == sn.Day && hist[i].Initiative == sn.Initiative {
				hist[i], replaced = sn, true
				break
			}
		}
		if !replaced {
			hist = append(hist, sn)
		}
	}
	slices.SortStableFunc(hist, func(a, b store.Snapshot) int { return strings.Compare(a.Day, b.Day) })
	s.hist = hist
	s.histMap = nil
}

// Status is the state of the last Load or Refresh, for the dashboard.
func (s *Service) Status() (lastLoad time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastLoad, s.lastErr
}

// Initialised reports whether a Load has completed.
func (s *Service) Initialised() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loaded
}

// SetReadOnly switches tracker writes (fan-out, write-back) off or on.
func (s *Service) SetReadOnly(ro bool) {
	s.run.Lock()
	defer s.run.Unlock()
	s.o.ReadOnly = ro
}
