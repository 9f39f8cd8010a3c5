package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/store"
)

// Flow is one configured flow with its two trackers opened.
type Flow struct {
	Map  *mapping.Flow
	A, B adapters.Tracker
	// Identity is the tracker instance on side A and B
	// (mapping.TrackerIdentity); copies' keys are made from it. Empty: the
	// tracker's kind and name.
	Identity [2]string
}

func (f *Flow) side(s store.Side) adapters.Tracker {
	if s == store.SideA {
		return f.A
	}
	return f.B
}

func (f *Flow) scope(s store.Side) string {
	if s == store.SideA {
		return f.Map.A.Scope
	}
	return f.Map.B.Scope
}

// CrashPoint names a place in apply where a test may simulate the process
// dying.
type CrashPoint string

// Crash points, around every tracker write.
const (
	CrashBeforeCall CrashPoint = "before_call" // journal intent recorded, API not called
	CrashAfterCall  CrashPoint = "after_call"  // API call made, journal not updated
)

// ErrDraining stops a run between two writes when the process shuts down.
var ErrDraining = errors.New("stopped between writes: shutting down")

// errCrashed aborts apply without any further bookkeeping, as a killed
// process would.
var errCrashed = errors.New("simulated crash")

// Options configure an Engine.
type Options struct {
	Logger *slog.Logger
	Clock  func() time.Time
	// Owner names this process in locks; default DefaultOwner().
	Owner string
	// LockTTL is how long a flow lock is held without renewal; default 2m.
	// A run renews it every third of that, so a run killed mid-way frees
	// the flow within LockTTL (at once for a dead process of this host).
	LockTTL time.Duration
	// Crash, for tests: called at each crash point of each write; a
	// non-nil error makes apply stop dead, recording nothing more.
	Crash func(point CrashPoint, op *Op) error
	// Draining, when it reports true, makes a run stop before its next
	// write (the write in flight finishes and is recorded): a daemon
	// shutting down. The run is recorded as failed and its cursors stay,
	// so the next run picks up where it stopped.
	Draining func() bool
	// Progress, when set, hears where each run stands: listing each side
	// (items so far), then writing (writes made of planned), and every
	// rate-limit wait with its reason and length.
	Progress func(Progress)
	// Events makes runs write outbox events (a run failed, the safety
	// valve stopped one, a conflict was held) for notifications.
	Events bool
}

// Engine runs flows against a state store.
type Engine struct {
	store    store.Store
	log      *slog.Logger
	now      func() time.Time
	owner    string
	ttl      time.Duration
	crash    func(CrashPoint, *Op) error
	draining func() bool
	progress func(Progress)
	events   bool
	// renewKick makes a run's renewal happen at once (tests only; nothing
	// else sends on it).
	renewKick chan struct{}
}

// New returns an engine over st.
func New(st store.Store, opts Options) *Engine {
	e := &Engine{store: st, log: opts.Logger, now: opts.Clock, owner: opts.Owner, ttl: opts.LockTTL, crash: opts.Crash, draining: opts.Draining, progress: opts.Progress, events: opts.Events, renewKick: make(chan struct{})}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.owner == "" {
		e.owner = DefaultOwner()
	}
	if e.ttl == 0 {
		// Short, and renewed while a run goes: a process that dies is
		// taken over within minutes, also from another host.
		e.ttl = 2 * time.Minute
	}
	return e
}

// RunOptions tune one run.
type RunOptions struct {
	DryRun bool // plan only
	Force  bool // proceed past the safety valve
	Full   bool // full reconcile: list everything, check every link
}

// WriteErrors are the writes of one run that failed, every one of them:
// showing only the first hid the others from `runs`.
type WriteErrors struct {
	Flow string
	Errs []error
}

func (e *WriteErrors) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("flow %s: %d write(s) failed: %s", e.Flow, len(e.Errs), strings.Join(msgs, "; "))
}

// Unwrap lets errors.Is and errors.As see every failed write.
func (e *WriteErrors) Unwrap() []error { return e.Errs }

// ValveError says the safety valve stopped a run before its first write:
// it would close, archive or reassign too many items (Destructive), create
// too many (Creates), or it is a flow's first run over two trackers that
// both hold work already (FirstContact).
type ValveError struct {
	Flow        string
	Destructive int // items the run would close, archive or reassign
	Linked      int
	Limit       float64
	// Creates is set when the create valve tripped (limit CreateLimit).
	Creates     int
	CreateLimit float64
	// FirstContact is set when a first run met Unlinked items on both
	// sides, more than FirstContactLimit each.
	FirstContact      bool
	Unlinked          [2]int
	FirstContactLimit int
}

func (e *ValveError) Error() string {
	switch {
	case e.FirstContact:
		return fmt.Sprintf("flow %s: first run over trackers that both hold work: %d unlinked item(s) on side a and %d on side b (more than first_contact_limit %d each); nothing was written. Review the matches with `tracksync plan --flow %s`, link what the rules cannot tell (`tracksync link --flow %s --file mapping.csv`), then rerun with --force",
			e.Flow, e.Unlinked[0], e.Unlinked[1], e.FirstContactLimit, e.Flow, e.Flow)
	case e.Creates > 0:
		return fmt.Sprintf("flow %s: safety valve: the run would create %d item(s) against %d linked (more than %d and more than max_create_share %.0f%% of the linked); nothing was written. Check the plan with `tracksync plan --flow %s` (are these items already on the other side? see match: and tracksync link), then rerun with --force if it is intended",
			e.Flow, e.Creates, e.Linked, createFloor, e.CreateLimit*100, e.Flow)
	}
	share := 0.0
	if e.Linked > 0 {
		share = float64(e.Destructive) / float64(e.Linked)
	}
	return fmt.Sprintf("flow %s: safety valve: the run would close, archive or reassign %d of %d linked items (%.0f%%, limit %.0f%%); nothing was written. Check the plan with `tracksync plan --flow %s`, then rerun with --force if it is intended",
		e.Flow, e.Destructive, e.Linked, share*100, e.Limit*100, e.Flow)
}

// createFloor: runs creating at most this many items never trip the create
// valve, so the first run of a small flow goes through.
const createFloor = config.CreateFloor

// valve weighs a plan against the flow's safety limits; nil when it may
// run (or opts.Force).
func valve(f *Flow, plan *Plan, opts RunOptions) *ValveError {
	if opts.Force {
		return nil
	}
	m := f.Map
	if plan.FirstContact && plan.Unlinked[0] > m.FirstContactLimit && plan.Unlinked[1] > m.FirstContactLimit {
		return &ValveError{Flow: m.Name, FirstContact: true, Unlinked: plan.Unlinked, FirstContactLimit: m.FirstContactLimit, Linked: plan.Linked}
	}
	linked := max(plan.Linked, 1)
	if d := plan.Destructive(); d > valveFloor && float64(d) > m.MaxChangeShare*float64(linked) {
		return &ValveError{Flow: m.Name, Destructive: d, Linked: plan.Linked, Limit: m.MaxChangeShare}
	}
	if c := plan.Count(OpCreate); c > createFloor && float64(c) > m.MaxCreateShare*float64(plan.Linked) {
		return &ValveError{Flow: m.Name, Creates: c, Linked: plan.Linked, CreateLimit: m.MaxCreateShare}
	}
	return nil
}

// Result is the outcome of Sync.
type Result struct {
	Run  store.Run
	Plan *Plan
	// Errors are the per-item write failures of the run.
	Errors []error
}

// clockSkew is how far a tracker's clock may be ahead of ours.
const clockSkew = 5 * time.Minute

// valveFloor: runs touching at most this many items never trip the valve,
// so a two-item flow can still close one of them.
const valveFloor = 2

// Plan computes what a run would do without writing anything.
func (e *Engine) Plan(ctx context.Context, f *Flow, opts RunOptions) (*Plan, error) {
	pending, err := e.store.PendingJournal(ctx, f.Map.Name)
	if err != nil {
		return nil, fmt.Errorf("flow %s: reading journal: %w", f.Map.Name, err)
	}
	p, err := e.plan(ctx, f, opts)
	if err != nil {
		return nil, err
	}
	p.Pending = len(pending)
	if verr := valve(f, p, opts); verr != nil {
		p.Stop = verr.Error()
	}
	return p, nil
}

// Sync runs one flow once: recover interrupted writes, plan, check the
// safety valve, apply. The returned error is the run's failure (a read
// failed, the valve tripped, a write failed); Result is set whenever a run
// was recorded.
func (e *Engine) Sync(ctx context.Context, f *Flow, opts RunOptions) (*Result, error) {
	name := f.Map.Name
	lockName := "flow:" + name
	rl, err := e.lockRun(ctx, lockName)
	if err != nil {
		return nil, fmt.Errorf("flow %s: %w", name, err)
	}
	defer e.store.Unlock(context.WithoutCancel(ctx), lockName, e.owner)
	stopRenew := e.renew(ctx, rl)
	defer stopRenew()

	ctx = withProgress(ctx, name, e.progress)
	run, err := e.store.StartRun(ctx, name, opts.DryRun)
	if err != nil {
		return nil, fmt.Errorf("flow %s: recording run: %w", name, err)
	}
	res := &Result{Run: run}
	log := e.log.With("flow", name, "run_id", run.ID)
	finish := func(state string, runErr error) (*Result, error) {
		res.Run.State = state
		res.Run.FinishedAt = e.now().UTC()
		if errors.Is(runErr, store.ErrLeaseLost) {
			runErr = fmt.Errorf("flow %s: the run lost its lease and stopped before its next write (another process runs the flow now, or this one was paused past the lease): %w", name, runErr)
		}
		if runErr != nil {
			res.Run.Error = runErr.Error()
		}
		if err := e.finishRun(context.WithoutCancel(ctx), res.Run); err != nil && runErr == nil {
			runErr = fmt.Errorf("flow %s: recording run end: %w", name, err)
		}
		return res, runErr
	}

	if !opts.DryRun {
		if err := e.recover(ctx, f, run.ID, rl, log); err != nil {
			if errors.Is(err, errCrashed) {
				return res, err
			}
			return finish(store.RunFailed, err)
		}
	}
	plan, err := e.plan(ctx, f, opts)
	if err != nil {
		return finish(store.RunFailed, err)
	}
	res.Plan = plan
	for _, w := range plan.Warnings {
		log.Warn(w)
	}
	if len(plan.Ambiguous) > 0 {
		// Someone must act: these items are neither linked nor copied.
		log.Warn("items with several candidate counterparts left alone; see tracksync plan", "ambiguous", len(plan.Ambiguous), "first", plan.Ambiguous[0].String())
	}
	if verr := valve(f, plan, opts); verr != nil {
		log.Warn("safety valve stopped the run", "destructive", verr.Destructive, "creates", verr.Creates, "linked", plan.Linked)
		return finish(store.RunStopped, verr)
	}
	if opts.DryRun {
		res.Run.Counts = planCounts(plan)
		return finish(store.RunOK, nil)
	}
	progressOf(ctx).phase("writing", plan.Writes())
	errs, err := e.apply(ctx, f, plan, run.ID, rl, &res.Run.Counts, log)
	res.Errors = errs
	e.recordItems(ctx, run.ID, plan, errs, err, log)
	if errors.Is(err, errCrashed) {
		return res, err
	}
	permanentOnly := len(errs) > 0
	for _, e := range errs {
		permanentOnly = permanentOnly && adapters.IsPermanent(e)
	}
	if err == nil && len(errs) > 0 {
		err = &WriteErrors{Flow: name, Errs: errs}
	}
	if err != nil && !permanentOnly {
		res.Run.Counts.Errors = len(errs)
		log.Error("sync run failed", "err", err)
		return finish(store.RunFailed, err)
	}
	// Only writes the tracker refused for good (a 400, a 403) failed:
	// retrying the same listing cannot help, and holding the cursor back
	// would stall the whole flow on one item. The cursors move on; the
	// refused items keep their old base, so a change to them, or the next
	// full reconcile, tries them again.
	// Cursors move only after a clean run, so nothing listed this time is
	// lost if a write failed: the next run lists it again.
	// A run that lost its lease may have stopped short of what it listed;
	// its cursors must not overwrite the new holder's.
	if lerr := rl.check(e.now()); lerr != nil {
		return finish(store.RunFailed, lerr)
	}
	for i, s := range []store.Side{store.SideA, store.SideB} {
		if plan.Cursors[i] == "" {
			continue
		}
		if wn, ok := f.side(s).(adapters.WriteNoter); ok && plan.wrote != nil && len(plan.wrote[i]) > 0 {
			// The next listing need not fetch what this run wrote.
			if c, err := wn.NoteWrites(plan.Cursors[i], slices.Collect(maps.Values(plan.wrote[i]))); err == nil {
				plan.Cursors[i] = c
			} else {
				log.Warn("the tracker could not note this run's writes in its cursor; the next run reads them again", "tracker", f.side(s).Name(), "err", err)
			}
		}
		if err := e.store.PutCursor(ctx, name, s, plan.Cursors[i]); err != nil {
			return finish(store.RunFailed, fmt.Errorf("flow %s: storing cursor: %w", name, err))
		}
	}
	if err != nil {
		res.Run.Counts.Errors = len(errs)
		log.Error("sync run finished with refused writes", "errors", len(errs), "err", err)
		return finish(store.RunFailed, err)
	}
	c := res.Run.Counts
	log.Info("sync run finished", "created", c.Created, "updated", c.Updated, "unchanged", c.Unchanged,
		"conflicts", c.Conflicts, "archived", c.Archived, "unlinked", c.Unlinked, "comments", c.Comments)
	state := store.RunOK
	if len(plan.Held()) > 0 {
		state = store.RunConflicts
	}
	return finish(state, nil)
}

func planCounts(p *Plan) store.Counts {
	var c store.Counts
	for _, op := range p.Ops {
		switch op.Kind {
		case OpCreate:
			c.Created++
		case OpUpdate:
			c.Updated++
		case OpArchive:
			c.Archived++
		case OpUnlink:
			c.Unlinked++
		case OpCommentAdd, OpCommentEdit:
			c.Comments++
		case OpConflict:
			if op.Conflict.Winner == "" {
				c.Conflicts++
			}
		}
	}
	return c
}

// listing is everything one side's listing returned.
type listing struct {
	items   map[string]adapters.Item // by ID
	order   []string
	deleted []adapters.Ref
	cursor  string
}

func (e *Engine) list(ctx context.Context, f *Flow, s store.Side, cursor string) (*listing, error) {
	tr := f.side(s)
	l := &listing{items: map[string]adapters.Item{}}
	req := adapters.ListRequest{Scope: f.scope(s), Cursor: cursor}
	prog := progressOf(ctx)
	prog.phase(fmt.Sprintf("listing %s (%s)", s, tr.Name()), 0)
	for pages := 0; ; pages++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		page, err := tr.List(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("flow %s: listing %s (side %s): %w", f.Map.Name, tr.Name(), s, err)
		}
		for _, it := range page.Items {
			if _, dup := l.items[it.Ref.ID]; !dup {
				l.order = append(l.order, it.Ref.ID)
			}
			l.items[it.Ref.ID] = it
		}
		l.deleted = append(l.deleted, page.Deleted...)
		prog.set(len(l.order))
		if page.NextPageToken == "" {
			l.cursor = page.Cursor
			return l, nil
		}
		if page.NextPageToken == req.PageToken {
			return nil, fmt.Errorf("flow %s: listing %s: page token did not advance", f.Map.Name, tr.Name())
		}
		req.PageToken = page.NextPageToken
	}
}

// listSide lists side s since cursor. A cursor the tracker reports
// expired (adapters.ErrCursorExpired: an Asana sync token older than a
// day) is answered once with a full listing of that side, recorded in
// plan.Relisted; the new cursor is stored after a clean run as usual.
func (e *Engine) listSide(ctx context.Context, f *Flow, s store.Side, cursor string, plan *Plan) (*listing, error) {
	l, err := e.list(ctx, f, s, cursor)
	if cursor == "" || !errors.Is(err, adapters.ErrCursorExpired) {
		return l, err
	}
	e.log.Info("listing cursor expired: listing the side in full", "flow", f.Map.Name, "side", string(s), "tracker", f.side(s).Name())
	plan.Relisted = append(plan.Relisted, s)
	return e.list(ctx, f, s, "")
}

func (e *Engine) newPlanner(f *Flow) *planner {
	m := f.Map
	p := &planner{flow: m.Name, policy: string(m.Conflict), fm: m, caps: [2]adapters.Capabilities{f.A.Capabilities(), f.B.Capabilities()}, unresolved: map[string]bool{}, goneLinks: map[int64]bool{}}
	p.translate = func(field string, to store.Side, v, current string) (string, []string) {
		return m.Translate(field, to, v, current)
	}
	for _, r := range m.Rules {
		p.rules = append(p.rules, rule{field: r.Field, toA: m.Writes(r.Field, store.SideA), toB: m.Writes(r.Field, store.SideB), owner: r.Owner})
	}
	_, ca := f.A.(adapters.Commenter)
	_, cb := f.B.(adapters.Commenter)
	if ca && cb {
		p.comments = [2]bool{m.Comments == mapping.Both || m.Comments == mapping.BToA, m.Comments == mapping.Both || m.Comments == mapping.AToB}
	}
	return p
}

// parentTranslator wraps the flow's mapping so that parent refs are
// translated through the flow's links: a parent on A is written to B as
// the B item linked to it.
func (e *Engine) parentTranslator(ctx context.Context, f *Flow, p *planner) translateFunc {
	cache := map[string]string{}
	return func(field string, to store.Side, v, current string) (string, []string) {
		if field != adapters.FieldParent {
			return f.Map.Translate(field, to, v, current)
		}
		if v == "" {
			return "", nil
		}
		if out, ok := cache[string(to)+v]; ok {
			return out, nil
		}
		_, id, _ := strings.Cut(v, ":")
		l, err := e.store.FindLink(ctx, f.Map.Name, to.Other(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			// The state could not be read: not a parent "not linked
			// yet" but a failed run. The translate signature has no
			// error, so the planner holds it for plan (or apply) to
			// return; the field is left alone meanwhile.
			p.fail(fmt.Errorf("flow %s: reading the link of parent %s: %w", f.Map.Name, v, err))
			p.unresolved[v] = true
			return current, nil
		}
		if err != nil || isTombstone(l) || p.goneLinks[l.ID] {
			// Not linked (yet): the field is left alone and its base
			// unrecorded, so it is written once the parent is linked.
			p.unresolved[v] = true
			return current, []string{fmt.Sprintf("parent %s is not linked in flow %s (yet): parent left as it is", v, f.Map.Name)}
		}
		r := l.Ref(to)
		out := r.Tracker + ":" + r.ID
		cache[string(to)+v] = out
		return out, nil
	}
}

// Tombstones: a link whose one side was deleted (or left scope) under
// on_delete unlink or close keeps the surviving side's ref, so the survivor
// is not copied back as new. The deleted side's ID is prefixed.
const tombPrefix = store.TombstonePrefix

func isTombstone(l store.Link) bool { return l.Tombstone() }

func (e *Engine) plan(ctx context.Context, f *Flow, opts RunOptions) (*Plan, error) {
	r := &planRun{e: e, f: f, name: f.Map.Name, plan: &Plan{Flow: f.Map.Name}}
	steps := []func(context.Context) error{
		func(ctx context.Context) error { return r.list(ctx, opts.Full) },
		r.loadLinks,
		r.readPairs,
		r.diffPairs,
		r.planUnlinked,
		r.finish,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return r.plan, nil
}

// ownWrite reports whether an incremental listing showed link l's items
// only at the versions its base recorded, that is, as tracksync's own
// last writes left them, with nothing deleted and no field of the base
// unsettled. Such a pair has nothing to do; reading the other side (and
// both sides' comments) again would cost requests per item after every
// run that wrote.
func ownWrite(p *planner, b store.Base, lists [2]*listing, l store.Link, deleted [2]map[string]bool) bool {
	versions := [2]string{b.AVersion, b.BVersion}
	listed := false
	for i, ref := range []adapters.Ref{l.A, l.B} {
		if deleted[i][ref.ID] {
			return false
		}
		it, ok := lists[i].items[ref.ID]
		if !ok {
			continue
		}
		if it.Version == "" || it.Version != versions[i] {
			return false
		}
		// A version can be as coarse as an updated stamp (Jira's is
		// milliseconds): the values must be the ones written too.
		side, bv := store.SideA, b.A
		if i == 1 {
			side, bv = store.SideB, b.B
		}
		for _, r := range p.rules {
			if v, ok := bv[r.field]; ok && p.fm.Value(side, it, r.field) != v {
				return false
			}
		}
		if (p.comments[0] || p.comments[1]) && !p.caps[i].VersionedComments && !it.UpdatedAt.Before(b.SyncedAt) {
			// This tracker's Version does not cover comments: an item
			// touched since the pair was settled may have new ones.
			return false
		}
		listed = true
	}
	if !listed {
		return false
	}
	for _, r := range p.rules {
		va, okA := b.A[r.field]
		vb, okB := b.B[r.field]
		if okA != okB || va == unknownBase || vb == unknownBase {
			return false
		}
		if r.field == adapters.FieldParent && !okA {
			return false // a parent not linked yet: written once it is
		}
	}
	return true
}

func directionAllows(d mapping.Direction, to store.Side) bool {
	switch d {
	case mapping.AToB:
		return to == store.SideB
	case mapping.BToA:
		return to == store.SideA
	case mapping.None:
		return false
	}
	return true
}

// planLink pairs a (on side A) with b (on side B) and diffs them at once,
// so the run that links them also settles them, comments included. base,
// when set, is what the pair last agreed on (carried from another flow);
// without one, every difference is a conflict for the flow's policy, so
// neither side is overwritten unless the policy says so.
func (e *Engine) planLink(ctx context.Context, p *planner, plan *Plan, f *Flow, a, b adapters.Item, key, rule, why string, base *store.Base) ([]*Op, error) {
	l := store.Link{Flow: f.Map.Name, Key: key, A: a.Ref, B: b.Ref}
	in := &pairInput{link: l, a: a, b: b}
	if base != nil {
		in.base, in.hasBase = *base, true
	}
	if p.comments[0] || p.comments[1] {
		if err := e.loadComments(ctx, f, in); err != nil {
			return nil, err
		}
	}
	pp := p.diffPair(in)
	plan.pairs = append(plan.pairs, pp)
	op := &Op{Kind: OpLink, LinkKey: l.Key, Source: a.Ref, Target: b.Ref, Rule: rule, Reason: why, pair: pp}
	pp.linkOp = op
	return append([]*Op{op}, pairOps(pp)...), nil
}

// kindRank orders creates parents first.
func kindRank(k adapters.Kind) int {
	switch k {
	case adapters.KindInitiative:
		return 0
	case adapters.KindEpic:
		return 1
	case adapters.KindIssue:
		return 2
	}
	return 3
}

func pairOps(pp *pairPlan) []*Op {
	var ops []*Op
	for _, op := range pp.other {
		if op.Kind == OpConflict {
			ops = append(ops, op)
		}
	}
	for _, op := range pp.upd {
		if op != nil {
			ops = append(ops, op)
		}
	}
	for _, op := range pp.other {
		if op.Kind != OpConflict {
			ops = append(ops, op)
		}
	}
	return ops
}

// planGone applies the flow's on_delete policy to a link one side of which
// was deleted or left the scope.
func (e *Engine) planGone(p *planner, f *Flow, l store.Link, gone [2]bool, items [2]adapters.Item) []*Op {
	if gone[0] && gone[1] {
		// Both tombstoned, not deleted: the comment links survive, so if
		// both come back nothing is copied twice.
		return []*Op{{Kind: OpUnlink, LinkID: l.ID, LinkKey: l.Key, Target: l.A, Reason: "both sides are gone", Destructive: true}}
	}
	gi, si := 0, 1
	if gone[1] {
		gi, si = 1, 0
	}
	sides := []store.Side{store.SideA, store.SideB}
	goneRef, survivor := l.Ref(sides[gi]), l.Ref(sides[si])
	reason := fmt.Sprintf("%s was deleted or left the scope", goneRef)
	unlink := &Op{Kind: OpUnlink, Side: sides[gi], LinkID: l.ID, LinkKey: l.Key, Target: survivor, Reason: reason, Destructive: true}
	switch f.Map.OnDelete {
	case "ignore":
		// The link stays, but someone should know its other side is gone.
		p.warn(fmt.Sprintf("%s; on_delete: ignore keeps link %d to %s", reason, l.ID, survivor))
		return nil
	case "close":
		if items[si].StatusCategory == adapters.CategoryDone {
			return []*Op{unlink}
		}
		arch := &Op{Kind: OpArchive, Side: sides[si], LinkID: l.ID, LinkKey: l.Key, Target: survivor, Reason: reason, Destructive: true}
		return []*Op{arch, unlink}
	}
	return []*Op{unlink}
}

func (e *Engine) loadComments(ctx context.Context, f *Flow, in *pairInput) error {
	// An item that already holds all its comments (read by Get, or listed
	// as having none) is not asked again: a request per item and side.
	ca, cb := in.a.Comments, in.b.Comments
	var err error
	if !in.a.AllComments {
		if ca, err = f.A.(adapters.Commenter).Comments(ctx, in.link.A); err != nil {
			return fmt.Errorf("flow %s: reading comments of %s: %w", f.Map.Name, in.link.A, err)
		}
	}
	if !in.b.AllComments {
		if cb, err = f.B.(adapters.Commenter).Comments(ctx, in.link.B); err != nil {
			return fmt.Errorf("flow %s: reading comments of %s: %w", f.Map.Name, in.link.B, err)
		}
	}
	var cl []store.CommentLink
	if in.link.ID != 0 {
		cl, err = e.store.ListCommentLinks(ctx, in.link.ID)
		if err != nil {
			return fmt.Errorf("flow %s: reading comment links of link %d: %w", f.Map.Name, in.link.ID, err)
		}
	}
	in.withComments, in.ca, in.cb, in.clinks = true, ca, cb, cl
	return nil
}

// planRelink revives a tombstoned link whose gone side came back into
// scope. When both sides were gone, the other side is revived too if it
// still exists.
func (e *Engine) planRelink(ctx context.Context, p *planner, plan *Plan, f *Flow, l store.Link, s store.Side, it adapters.Item) ([]*Op, error) {
	o := s.Other()
	oref := l.Ref(o)
	oref.ID = strings.TrimPrefix(oref.ID, tombPrefix)
	other, err := f.side(o).Get(ctx, oref)
	if errors.Is(err, adapters.ErrNotFound) {
		p.warn(fmt.Sprintf("%s came back into scope but its counterpart %s is gone: left unlinked", it.Ref, oref))
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("flow %s: reading %s, the counterpart of %s: %w", f.Map.Name, oref, it.Ref, err)
	}
	if s == store.SideA {
		l.A, l.B = it.Ref, other.Ref
	} else {
		l.A, l.B = other.Ref, it.Ref
	}
	in := &pairInput{link: l}
	if b, err := e.store.GetBase(ctx, l.ID); err == nil {
		in.base, in.hasBase = b, true
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("flow %s: reading base of link %d: %w", f.Map.Name, l.ID, err)
	}
	if s == store.SideA {
		in.a, in.b = it, other
	} else {
		in.a, in.b = other, it
	}
	if p.comments[0] || p.comments[1] {
		if err := e.loadComments(ctx, f, in); err != nil {
			return nil, err
		}
	}
	pp := p.diffPair(in)
	plan.pairs = append(plan.pairs, pp)
	op := &Op{Kind: OpLink, LinkID: l.ID, LinkKey: l.Key, Source: other.Ref, Target: it.Ref, Reason: "came back into scope: link revived", pair: pp}
	pp.linkOp = op
	return append([]*Op{op}, pairOps(pp)...), nil
}
