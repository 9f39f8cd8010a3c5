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

// feed is one listing: a tracker and a scope, with its cursor.
type feed struct {
	tracker string
	scope   string
	source  bool // the initiatives' listing
	cursor  string
}

// Service keeps the roll-ups of the configured initiatives. Its methods
// are safe for concurrent use; refreshes are serialised.
//
// Its state is in parts, each with its own lock, never held while
// another part's is taken: the graph of items and their roll-ups, what
// write-back wrote, the snapshot history, the flows marked. rules and cfg
// do not change after New; o.ReadOnly and the feeds' cursors change only
// under run.
type Service struct {
	o     Options
	cfg   config.Initiatives
	log   *slog.Logger
	now   func() time.Time
	rules *rules
	feeds []*feed

	run sync.Mutex // one Load or Refresh at a time

	g       *graph       // the items read, how they link, their roll-ups
	written *writeMemory // what write-back last wrote
	hist    *history     // the snapshots and target dates stored
	dirty   *flowMarks   // flows whose links changed since the last refresh

	// mu guards the outcome of the last Load or Refresh.
	mu       sync.Mutex
	loaded   bool
	lastLoad time.Time
	lastErr  error
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
	s := &Service{o: o, cfg: *o.Config, log: o.Log, now: o.Now}
	r := &rules{source: s.cfg.Source.Tracker, trackers: map[string]bool{}, kinds: o.Kinds,
		est: map[string]estimateRule{}, labels: map[string]labelTemplate{}, tracking: map[string]bool{}}
	for name := range o.Trackers {
		r.trackers[name] = true
	}
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
			r.labels[c.Tracker] = newTemplate(c.Label)
		case "refs":
			r.refRules = append(r.refRules, c.Tracker)
		}
		if c.Link == "tasklist" || (c.Create != nil && o.Kinds[c.Tracker] == "github") {
			r.tracking[c.Tracker] = true
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
		r.est[name] = estimateRule{field: e.Field, labels: e.Labels}
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
	r.links = s.linkFlows()
	ar := s.cfg.Rollup.AtRisk
	r.rollup = rollup.Config{
		DefaultEstimate: s.cfg.Rollup.DefaultEstimate,
		Now:             s.now,
		AtRisk: rollup.AtRisk{
			DaysBeforeDue: ar.DaysBeforeDue, MinDone: ar.MinDone, UseEstimate: s.byEstimate(),
			BlockedStatuses: ar.BlockedStatuses, BlockedLabels: ar.BlockedLabels,
		},
	}
	s.rules = r
	s.g = newGraph(r)
	s.written = newWriteMemory()
	s.hist = newHistory()
	s.dirty = newFlowMarks()
	return s, nil
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

// flowMarks are the flows whose links changed since the last read of
// them. Its methods are safe for concurrent use.
type flowMarks struct {
	mu    sync.Mutex
	flows map[string]bool
}

func newFlowMarks() *flowMarks { return &flowMarks{flows: map[string]bool{}} }

// mark marks flow.
func (m *flowMarks) mark(flow string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.flows[flow] = true
}

// take returns the flows marked since the last read of their links,
// sorted, and clears the marks; putBack restores them when that read
// fails.
func (m *flowMarks) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	dirty := slices.Sorted(maps.Keys(m.flows))
	clear(m.flows)
	return dirty
}

func (m *flowMarks) putBack(dirty []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, fl := range dirty {
		m.flows[fl] = true
	}
}

func (s *Service) load(ctx context.Context) (res Result, err error) {
	res = Result{Full: true}
	// Marks from here on are for links this Load may read too early.
	// They survive the Load: a flow marked while it reads may have
	// changed its links after the Load read them.
	dirty := s.dirty.take()
	defer func() {
		if err != nil {
			s.dirty.putBack(dirty)
		}
	}()
	lists := make([]change, len(s.feeds))
	cursors := make([]string, len(s.feeds))
	for i, f := range s.feeds {
		items, _, cur, err := s.list(ctx, f, "")
		if err != nil {
			return res, err
		}
		lists[i], cursors[i] = change{items: items, source: f.source}, cur
		res.Read += len(items)
	}
	same := map[string]map[string][]adapters.Ref{}
	for _, fl := range s.rules.links {
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

	for i, f := range s.feeds {
		f.cursor = cursors[i]
	}
	all := s.g.load(lists, same, fanout)
	s.mu.Lock()
	s.loaded, s.lastLoad = true, s.now()
	s.mu.Unlock()
	for _, r := range all {
		res.Changed = append(res.Changed, r.Initiative)
	}
	return res, s.after(ctx, &res, nil, true)
}

// MarkFlow tells the Service that flow ran, so its links are re-read at
// the next Refresh (items it linked become one).
func (s *Service) MarkFlow(flow string) { s.dirty.mark(flow) }

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
	dirty := s.dirty.take()
	newSame := map[string]map[string][]adapters.Ref{}
	for _, fl := range dirty {
		if !slices.Contains(s.rules.links, fl) {
			continue
		}
		m, err := s.readLinks(ctx, fl)
		if err != nil {
			s.dirty.putBack(dirty)
			return res, err
		}
		newSame[fl] = m
	}
	for i, f := range s.feeds {
		f.cursor = cursors[i]
	}

	changed, touched := s.g.apply(changes, newSame)
	res.Changed = changed
	return res, s.after(ctx, &res, touched, false)
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

// Rollups returns the current roll-up of every initiative, sorted by key.
func (s *Service) Rollups() []rollup.Rollup { return s.g.rollups() }

// Initiative returns the current roll-up of the initiative with human key
// key (INIT-1, PLAT-7), and false when there is none.
func (s *Service) Initiative(key string) (rollup.Rollup, bool) { return s.g.initiative(key) }

// Report is the current roll-ups with their history (the last days
// snapshots, oldest first) for the outputs. Its History is shared between
// calls: read it, do not change it. only, when set, keeps one
// initiative (by its key).
func (s *Service) Report(ctx context.Context, days int, only string) (rollup.Report, error) {
	all, status := s.g.statuses()
	if only != "" {
		all = slices.DeleteFunc(all, func(r rollup.Rollup) bool { return r.Initiative.Key != only && r.Initiative.ID != only })
	}
	rep := rollup.Report{Generated: s.now(), Rollups: all, ByEstimate: s.byEstimate(), Status: status, History: map[string][]rollup.Point{}, Slips: s.Slips()}
	if days > 0 && s.o.Store != nil {
		since := s.now().UTC().AddDate(0, 0, -days).Format(time.DateOnly)
		key := fmt.Sprint(since, s.byEstimate())
		if hm, ok := s.hist.points(key); ok {
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
			s.hist.setPoints(key, rep.History)
		}
	}
	return rep, nil
}

// history returns the stored snapshots from day since on, oldest day
// first, from the cache when it covers since (the store is read once,
// then snapshot keeps the cache up to date as it writes).
func (s *Service) history(ctx context.Context, since string) ([]store.Snapshot, error) {
	if out, ok := s.hist.cached(since); ok {
		return out, nil
	}
	snaps, err := s.o.Store.ListSnapshots(ctx, "", since)
	if err != nil {
		return nil, err
	}
	s.hist.fill(snaps, since)
	return snaps, nil
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
