package migrate

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/store"
)

// End is one end of a migration: a tracker and the scope to read or write.
type End struct {
	Tracker adapters.Tracker
	// Identity is the tracker instance (mapping.TrackerIdentity); the
	// copies' keys are made from it, as a flow's are.
	Identity string
	Scope    string
	// Kind is the tracker's kind (jira, github, memory, ...).
	Kind string
	// Pace is how fast the tracker accepts writes, for the estimate.
	Pace Pace
}

// HandOver names the flow the migrated pairs are linked under when the
// migration is done.
type HandOver struct {
	Map *mapping.Flow
	// SourceSide is the side of Map the migration's source is on.
	SourceSide store.Side
}

// Options configure a migration.
type Options struct {
	// ID names the migration in the store (flow "migrate:<ID>"). Running
	// again with the same ID continues it. Required.
	ID       string
	From, To End
	// Map holds the field, status, label and user rules; the source is on
	// side SourceSide of it (A when empty).
	Map        *mapping.Flow
	SourceSide store.Side
	// Since keeps only items updated at or after it; Limit only the first
	// Limit items (parents first); 0 for all.
	Since time.Time
	Limit int
	// DryRun stops after the estimate.
	DryRun bool
	// Link hands the pairs over to a flow (nil: none).
	Link *HandOver
	// CommentOnSource adds a comment on each source item pointing at its copy.
	CommentOnSource bool
	// BatchSize is the size of a bulk create (default 50).
	BatchSize int
	// Logger gets the plan, one line per item finished and a summary.
	Logger   *slog.Logger
	Progress Progress
	Clock    func() time.Time
	// Crash, for tests: called before and after every tracker write with
	// the write's number in this run (from 1); an error stops the run
	// there as a killed process would, recording nothing more.
	Crash func(point string, n int) error
	// Estimated is called with the estimate before the first write; an
	// error stops the run (a prompt said no).
	Estimated func(Estimate) error
}

// Progress receives what a run is doing, for a progress bar or log lines.
type Progress interface {
	// Phase starts a phase of total steps.
	Phase(name string, total int)
	// Add reports n more steps done.
	Add(n int)
}

// FlowName is the flow the links of migration id live under.
func FlowName(id string) string { return "migrate:" + id }

// Counts are what a run did.
type Counts struct {
	Listed          int `json:"listed"`
	Created         int `json:"created"`
	Found           int `json:"found"`    // copies made by an earlier, interrupted run, found by their key
	Finished        int `json:"finished"` // items finished (comments, references, status) by this run
	Done            int `json:"done"`     // items done before this run
	Updates         int `json:"updates"`  // updates of copies (status, rewritten references)
	Comments        int `json:"comments"` // comments copied
	SourceComments  int `json:"source_comments"`
	Linked          int `json:"linked"`   // pairs handed over to the link flow
	Writes          int `json:"writes"`   // target and source write calls made
	Requests        int `json:"requests"` // tracker calls made (reads included)
	AttachmentLinks int `json:"attachment_links"`
}

// Warning is something a person should know about one item.
type Warning struct {
	Kind string `json:"kind"` // unknown_user, unmapped_status, mapping, truncated_body, attachment_linked, parent_outside, kind_changed
	Item string `json:"item"`
	Msg  string `json:"msg"`
}

// Pair is one entry of the id map.
type Pair struct {
	Source adapters.Ref `json:"source"`
	Target adapters.Ref `json:"target"`
}

// Report is the outcome of a run.
type Report struct {
	ID       string          `json:"id"`
	From     string          `json:"from"`
	To       string          `json:"to"`
	DryRun   bool            `json:"dry_run,omitempty"`
	RunID    int64           `json:"run_id,omitempty"`
	Estimate Estimate        `json:"estimate"`
	Counts   Counts          `json:"counts"`
	ByKind   map[string]int  `json:"by_kind"` // items in the migration, by kind
	Warnings []Warning       `json:"warnings"`
	WarnKind map[string]int  `json:"warnings_by_kind"`
	IDMap    []Pair          `json:"id_map"`
	Elapsed  time.Duration   `json:"elapsed_ns"`
	Notes    []string        `json:"notes,omitempty"`
	warnSeen map[string]bool `json:"-"`
}

// warn records a warning once (an item's copy is built more than once),
// reporting whether it is new.
func (r *Report) warn(kind string, item adapters.Ref, format string, args ...any) bool {
	msg := fmt.Sprintf(format, args...)
	k := kind + "\x00" + item.String() + "\x00" + msg
	if r.warnSeen[k] {
		return false
	}
	r.warnSeen[k] = true
	r.Warnings = append(r.Warnings, Warning{Kind: kind, Item: item.String(), Msg: msg})
	r.WarnKind[kind]++
	return true
}

// entry is one item of the migration as this run knows it.
type entry struct {
	pos    int
	src    adapters.Item
	link   store.Link // zero until created
	done   bool       // finished: base recorded
	target adapters.Item
	fresh  bool // target holds the item as this run's create returned it
	// comments are the source's comments, read up front for the estimate.
	comments []adapters.Comment
	children []*entry // items of the migration whose parent this is
}

// Run migrates. It is idempotent: what an earlier run (of the same ID) did
// is found in the store and not done again.
func Run(ctx context.Context, st store.Store, o Options) (*Report, error) {
	if o.ID == "" || o.From.Tracker == nil || o.To.Tracker == nil || o.Map == nil {
		return nil, fmt.Errorf("migrate: an id, both trackers and a map are required: %w", adapters.ErrInvalid)
	}
	if o.SourceSide == "" {
		o.SourceSide = store.SideA
	}
	if o.BatchSize <= 0 || o.BatchSize > 50 {
		o.BatchSize = 50
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Progress == nil {
		o.Progress = nopProgress{}
	}
	m := &run{o: o, st: st, flow: FlowName(o.ID), src: o.SourceSide, dst: o.SourceSide.Other(), started: o.Clock()}
	m.rep = &Report{ID: o.ID, From: o.From.Tracker.Name(), To: o.To.Tracker.Name(), DryRun: o.DryRun, ByKind: map[string]int{}, WarnKind: map[string]int{}, Warnings: []Warning{}, IDMap: []Pair{}, warnSeen: map[string]bool{}}
	err := m.run(ctx)
	m.rep.Elapsed = o.Clock().Sub(m.started)
	return m.rep, err
}

type run struct {
	o        Options
	st       store.Store
	flow     string
	src, dst store.Side
	rep      *Report
	runID    int64
	started  time.Time
	entries  []*entry
	byID     map[string]*entry // by source item id
	idx      *refIndex
	writes   int
}

type nopProgress struct{}

func (nopProgress) Phase(string, int) {}
func (nopProgress) Add(int)           {}

// keyEscaper keeps a key component from holding the separator; the format
// is the sync engine's (sync/identity.go), so flows find migrated copies.
var keyEscaper = strings.NewReplacer("%", "%25", "|", "%7C")

// CopyKey is the idempotency key of the copy, in tracker instance to, of
// item id of tracker instance from: the same key a flow gives its copies.
func CopyKey(from, id, to string) string {
	return "ts2|" + keyEscaper.Replace(from) + "|" + keyEscaper.Replace(id) + "|" + keyEscaper.Replace(to)
}

// commentKey is the key of the copy of comment id from side s of a pair
// keyed linkKey, as the engine makes them.
func commentKey(linkKey string, s store.Side, id string) string {
	return fmt.Sprintf("%s/comment/%s/%s", linkKey, s, id)
}

func bodyHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

func (m *run) run(ctx context.Context) error {
	o := m.o
	if err := m.list(ctx); err != nil {
		return err
	}
	if err := m.loadState(ctx); err != nil {
		return err
	}
	if err := m.readComments(ctx); err != nil {
		return err
	}
	est := m.estimate()
	m.rep.Estimate = est
	o.Logger.Info("migration planned", "migration", o.ID, "items", len(m.entries), "to_create", est.Creates, "requests", est.Requests, "eta", est.ETA.String())
	if o.Estimated != nil {
		if err := o.Estimated(est); err != nil {
			return err
		}
	}
	if o.DryRun {
		m.fillIDMap()
		return nil
	}
	r, err := m.st.StartRun(ctx, m.flow, false)
	if err != nil {
		return fmt.Errorf("migration %s: recording the run: %w", o.ID, err)
	}
	m.runID, m.rep.RunID = r.ID, r.ID
	err = m.apply(ctx)
	m.fillIDMap()
	r.FinishedAt = o.Clock().UTC()
	r.State = store.RunOK
	if err != nil {
		r.State, r.Error = store.RunFailed, err.Error()
	}
	c := m.rep.Counts
	r.Counts = store.Counts{Created: c.Created, Updated: c.Updates, Comments: c.Comments, Unchanged: c.Done}
	if errors.Is(err, errCrashed) {
		return err // a killed process records nothing more
	}
	o.Logger.Info("migration run finished", "migration", o.ID, "run_id", r.ID, "state", r.State, "created", c.Created, "found", c.Found, "finished", c.Finished, "comments", c.Comments, "writes", c.Writes)
	if ferr := m.st.FinishRun(context.WithoutCancel(ctx), r); ferr != nil && err == nil {
		err = fmt.Errorf("migration %s: recording the run's end: %w", o.ID, ferr)
	}
	return err
}

func (m *run) apply(ctx context.Context) error {
	if err := m.createAll(ctx); err != nil {
		return err
	}
	if err := m.settleJournal(ctx); err != nil {
		return err
	}
	if err := m.finishAll(ctx); err != nil {
		return err
	}
	if m.o.Link != nil {
		return m.handOverDone(ctx)
	}
	return nil
}

// list reads every item in the source scope and orders them parents first.
func (m *run) list(ctx context.Context) error {
	o := m.o
	var items []adapters.Item
	o.Progress.Phase("listing "+o.From.Tracker.Name(), 0)
	tok := ""
	for {
		page, err := o.From.Tracker.List(ctx, adapters.ListRequest{Scope: o.From.Scope, PageToken: tok})
		m.rep.Counts.Requests++
		if err != nil {
			return fmt.Errorf("migration %s: listing %s (scope %q): %w", o.ID, o.From.Tracker.Name(), o.From.Scope, err)
		}
		for _, it := range page.Items {
			if !o.Since.IsZero() && it.UpdatedAt.Before(o.Since) {
				continue
			}
			items = append(items, it)
		}
		o.Progress.Add(len(page.Items))
		if page.NextPageToken == "" {
			break
		}
		tok = page.NextPageToken
	}
	// A tracking issue's task list is hierarchy too, also on a tracker
	// with a parent field of its own (GitHub's sub-issues): items without
	// a parent take the first tracking issue that lists them.
	parentsFromTaskLists(items)
	items = order(items)
	if o.Limit > 0 && len(items) > o.Limit {
		items = items[:o.Limit]
	}
	m.rep.Counts.Listed = len(items)
	m.entries = make([]*entry, len(items))
	m.byID = make(map[string]*entry, len(items))
	for i, it := range items {
		e := &entry{pos: i, src: it}
		m.entries[i], m.byID[it.Ref.ID] = e, e
		m.rep.ByKind[string(cmp.Or(it.Kind, adapters.KindIssue))]++
	}
	for _, e := range m.entries {
		if p := e.src.Parent; p != nil {
			if pe, ok := m.byID[p.ID]; ok {
				pe.children = append(pe.children, e)
			}
		}
	}
	m.idx = newRefIndex(items)
	return nil
}

// taskItem is one line of a task list: "- [ ] #12 ...", "* [x] PROJ-3".
var taskItem = regexp.MustCompile(`(?m)^[ \t]*[-*+][ \t]+\[[ xX]\][ \t]+(.*)$`)

// parentsFromTaskLists gives the items without a parent that a tracking
// issue's task list names that issue as their parent (the first tracking
// issue naming them, when several do).
func parentsFromTaskLists(items []adapters.Item) {
	idx := newRefIndex(items)
	for i := range items {
		for _, line := range taskItem.FindAllStringSubmatch(items[i].Body, -1) {
			idx.rewrite(line[1], items[i].Ref, func(pos int) (adapters.Ref, bool) {
				if c := &items[pos]; pos != i && c.Parent == nil {
					p := items[i].Ref
					c.Parent = &p
				}
				return adapters.Ref{}, false
			})
		}
	}
}

// order sorts items parents first: by depth in the hierarchy (within the
// listing), then by key in natural order, so copies are numbered as the
// originals were.
func order(items []adapters.Item) []adapters.Item {
	byID := make(map[string]int, len(items))
	for i, it := range items {
		byID[it.Ref.ID] = i
	}
	depth := make([]int, len(items))
	for i := range depth {
		depth[i] = -1
	}
	var d func(i, guard int) int
	d = func(i, guard int) int {
		if depth[i] >= 0 {
			return depth[i]
		}
		p := items[i].Parent
		depth[i] = 0
		if p != nil && guard < len(items) {
			if j, ok := byID[p.ID]; ok && j != i {
				depth[i] = d(j, guard+1) + 1
			}
		}
		return depth[i]
	}
	type ranked struct {
		it    adapters.Item
		depth int
	}
	rs := make([]ranked, len(items))
	for i, it := range items {
		rs[i] = ranked{it, d(i, 0)}
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		if c := cmp.Compare(a.depth, b.depth); c != 0 {
			return c
		}
		return naturalCompare(cmp.Or(a.it.Ref.Key, a.it.Ref.ID), cmp.Or(b.it.Ref.Key, b.it.Ref.ID))
	})
	out := make([]adapters.Item, len(rs))
	for i, r := range rs {
		out[i] = r.it
	}
	return out
}

// naturalCompare orders PLAT-9 before PLAT-10.
func naturalCompare(a, b string) int {
	pa, na := splitNum(a)
	pb, nb := splitNum(b)
	if c := strings.Compare(pa, pb); c != 0 {
		return c
	}
	if c := cmp.Compare(na, nb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func splitNum(s string) (string, int) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n, _ := strconv.Atoi(s[i:])
	return s[:i], n
}

// loadState reads what earlier runs did: the links (copies made) and bases
// (items finished) of the migration's flow.
func (m *run) loadState(ctx context.Context) error {
	links, err := m.st.ListLinks(ctx, m.flow)
	if err != nil {
		return fmt.Errorf("migration %s: reading its links: %w", m.o.ID, err)
	}
	bases, err := m.st.ListBases(ctx, m.flow)
	if err != nil {
		return fmt.Errorf("migration %s: reading its progress: %w", m.o.ID, err)
	}
	for _, l := range links {
		e, ok := m.byID[l.A.ID]
		if !ok {
			continue
		}
		e.link = l
		_, e.done = bases[l.ID]
	}
	return nil
}

// readComments reads the comments of the items not finished yet, for the
// estimate and the copy.
func (m *run) readComments(ctx context.Context) error {
	c, ok := m.o.From.Tracker.(adapters.Commenter)
	if !ok || !m.o.Map.Comments.Allows(m.dst) {
		return nil
	}
	todo := 0
	for _, e := range m.entries {
		if !e.done {
			todo++
		}
	}
	m.o.Progress.Phase("reading comments", todo)
	for _, e := range m.entries {
		if e.done {
			continue
		}
		cs, err := c.Comments(ctx, e.src.Ref)
		m.rep.Counts.Requests++
		if err != nil {
			return fmt.Errorf("migration %s: reading the comments of %s: %w", m.o.ID, e.src.Ref, err)
		}
		e.comments = cs
		m.o.Progress.Add(1)
	}
	return nil
}

// Estimate is what a run will do, before it does it.
type Estimate struct {
	Items    int  `json:"items"`
	Done     int  `json:"done"`     // finished by earlier runs
	Creates  int  `json:"creates"`  // items to create
	Finish   int  `json:"finish"`   // items to finish
	Comments int  `json:"comments"` // comments to copy
	Requests int  `json:"requests"` // write requests to the target (and source comments)
	Bulk     bool `json:"bulk"`
	// ETA is the wall time the writes take at the target's pace (its
	// limits; 0 when it has none).
	ETA time.Duration `json:"eta_ns"`
}

func (m *run) estimate() Estimate {
	est := Estimate{Items: len(m.entries)}
	_, bulk := m.o.To.Tracker.(adapters.BulkCreator)
	est.Bulk = bulk
	// A reference resolves at create time when its item was copied in an
	// earlier batch (or run).
	batchOf := map[int]int{}
	var todo []*entry
	for _, e := range m.entries {
		if e.link.ID == 0 {
			todo = append(todo, e)
		}
	}
	bs := m.batches(todo)
	for i, b := range bs {
		for _, e := range b {
			batchOf[e.pos] = i + 1
		}
	}
	for _, e := range m.entries {
		switch {
		case e.done:
			est.Done++
			continue
		case e.link.ID == 0:
			est.Creates++
		}
		est.Finish++
		est.Comments += len(e.comments)
		if mine := batchOf[e.pos]; mine > 0 {
			_, pending := m.idx.rewrite(e.src.Body, e.src.Ref, func(pos int) (adapters.Ref, bool) {
				b := batchOf[pos]
				return adapters.Ref{Key: "x"}, b == 0 || b < mine
			})
			list := len(e.children) > 0 && !has(m.o.To.Tracker.Capabilities(), adapters.FieldParent) && m.o.Map.Writes(adapters.FieldBody, m.dst)
			if pending || list {
				est.Requests++
			}
		}
		if m.o.CommentOnSource {
			est.Requests++
		}
	}
	est.Requests += len(bs) + est.Comments
	est.ETA = m.o.To.Pace.Duration(est.Requests)
	return est
}

// Pace is how fast a tracker takes writes: a steady rate and windows
// (GitHub: 80 a minute and 500 an hour).
type Pace struct {
	PerSecond float64  `json:"per_second,omitempty"`
	Windows   []Window `json:"windows,omitempty"`
	// Latency is the time one request takes, for trackers without limits.
	Latency time.Duration `json:"latency,omitempty"`
}

// Window is at most Limit requests in any Per.
type Window struct {
	Limit int           `json:"limit"`
	Per   time.Duration `json:"per"`
}

// Duration is how long n requests take at pace p, starting with full
// windows: the last of them waits for every window to let it through.
func (p Pace) Duration(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	var d time.Duration
	for _, w := range p.Windows {
		if w.Limit > 0 {
			d = max(d, time.Duration((n-1)/w.Limit)*w.Per)
		}
	}
	if p.PerSecond > 0 {
		d = max(d, time.Duration(float64(n-1)/p.PerSecond*float64(time.Second)))
	}
	return max(d, time.Duration(n)*p.Latency)
}

func (m *run) fillIDMap() {
	for _, e := range m.entries {
		if e.link.ID != 0 {
			m.rep.IDMap = append(m.rep.IDMap, Pair{Source: e.link.A, Target: e.link.B})
		}
	}
}

var errCrashed = errors.New("simulated crash")

// write wraps one tracker write with the crash points and counts.
func (m *run) write(fn func() error) error {
	m.writes++
	n := m.writes
	if m.o.Crash != nil {
		if err := m.o.Crash("before", n); err != nil {
			return fmt.Errorf("%w: %v", errCrashed, err)
		}
	}
	err := fn()
	m.rep.Counts.Writes++
	m.rep.Counts.Requests++
	if m.o.Crash != nil {
		if cerr := m.o.Crash("after", n); cerr != nil {
			return fmt.Errorf("%w: %v", errCrashed, cerr)
		}
	}
	return err
}
