package sync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// applier carries one apply through its ops.
type applier struct {
	e      *Engine
	f      *Flow
	p      *Plan
	pl     *planner
	runID  int64
	lease  *runLease
	counts *store.Counts
	log    *slog.Logger
	errs   []error
	held   map[string]bool // link/field of conflicts held this run
	copies map[string]bool // comment ids made by this run, per link
	agreed map[int64]map[string]string
	// finished: pairs whose apply ran to the end, so their held conflicts
	// are known; only those may have conflicts settled automatically.
	finished map[int64]bool
	// archiveFailed: links whose survivor could not be closed; they are
	// not tombstoned, so the close is tried again next run.
	archiveFailed map[int64]bool
	// wrote: items as this run's creates and updates read them back, by
	// side and ID, for the trackers' cursors to take note of.
	wrote [2]map[string]adapters.Item
}

// noteWrite remembers it as written on side s.
func (a *applier) noteWrite(s store.Side, it adapters.Item) {
	i := 0
	if s == store.SideB {
		i = 1
	}
	if a.wrote[i] == nil {
		a.wrote[i] = map[string]adapters.Item{}
	}
	a.wrote[i][it.Ref.ID] = it
}

// fatal reports whether err must stop the whole run: a simulated crash,
// a cancelled context or a rate limit (every later call would fail too).
func fatal(err error) bool {
	var rl *adapters.RateLimitError
	return errors.Is(err, errCrashed) || errors.Is(err, ErrDraining) || errors.Is(err, store.ErrLeaseLost) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &rl)
}

func (e *Engine) apply(ctx context.Context, f *Flow, p *Plan, runID int64, lease *runLease, counts *store.Counts, log *slog.Logger) ([]error, error) {
	a := &applier{e: e, f: f, p: p, pl: p.planner, runID: runID, lease: lease, counts: counts, log: log, held: map[string]bool{}, copies: map[string]bool{}, agreed: map[int64]map[string]string{},
		finished: map[int64]bool{}, archiveFailed: map[int64]bool{}}
	p.wrote = &a.wrote
	if err := a.createAll(ctx); err != nil {
		return a.errs, err
	}
	for _, pp := range p.pairs {
		// A pair may change only the store (a base, a link's refs): the
		// journal cannot fence that, so the lease is checked here too.
		if err := a.lease.check(a.e.now()); err != nil {
			return a.errs, err
		}
		if err := a.pair(ctx, pp); err != nil {
			if fatal(err) {
				return a.errs, err
			}
			a.errs = append(a.errs, err)
		}
	}
	for _, op := range p.opPtrs {
		var err error
		switch op.Kind {
		case OpArchive:
			err = a.archive(ctx, op)
			if err != nil {
				a.archiveFailed[op.LinkID] = true
			}
		case OpUnlink:
			if a.archiveFailed[op.LinkID] {
				continue
			}
			// Unlinking writes the store alone: checked like a pair.
			if err = a.lease.check(a.e.now()); err != nil {
				return a.errs, err
			}
			err = a.unlink(ctx, op)
		default:
			continue
		}
		if err != nil {
			if fatal(err) {
				return a.errs, err
			}
			a.errs = append(a.errs, err)
		}
	}
	if err := a.lease.check(a.e.now()); err != nil {
		return a.errs, err
	}
	if err := a.settleConflicts(ctx); err != nil {
		return a.errs, err
	}
	return a.errs, nil
}

// journaled records the intent, makes the call, and records its effect
// with after, in one transaction with the journal's completion. The intent
// and the completion carry the run's lease: the store refuses both once
// another process holds the flow (ErrLeaseLost), and the lease is checked
// once more, in memory, right before the call.
func (a *applier) journaled(ctx context.Context, op *Op, entry store.JournalEntry, call func() (adapters.Ref, error), after func(tx store.Ops, res adapters.Ref) (int64, error)) error {
	if a.e.draining != nil && a.e.draining() {
		return ErrDraining
	}
	entry, id, err := a.intent(ctx, op, entry)
	if err != nil {
		return err
	}
	if a.e.crash != nil {
		if err := a.e.crash(CrashBeforeCall, op); err != nil {
			return errCrashed
		}
	}
	// The intent is journaled; if the lease ran out meanwhile (the
	// process paused here), the new holder's recovery owns this write.
	if err := a.lease.check(a.e.now()); err != nil {
		return err
	}
	res, callErr := call()
	progressOf(ctx).step()
	if a.e.crash != nil {
		if err := a.e.crash(CrashAfterCall, op); err != nil {
			return errCrashed
		}
	}
	return a.finish(ctx, op, entry, id, res, callErr, after)
}

// intent checks the run's lease and journals op's intent under it (the
// first half of journaled).
func (a *applier) intent(ctx context.Context, op *Op, entry store.JournalEntry) (store.JournalEntry, int64, error) {
	if err := a.lease.check(a.e.now()); err != nil {
		return entry, 0, err
	}
	lease := a.lease.get()
	entry.RunID, entry.Flow, entry.Op, entry.Side = a.runID, a.f.Map.Name, string(op.Kind), op.Side
	entry.LeaseName, entry.LeaseToken = lease.Name, lease.Token
	if entry.LinkID == 0 {
		entry.LinkID = op.LinkID
	}
	id, err := a.e.store.JournalIntent(ctx, entry)
	if err != nil {
		return entry, 0, err // it names the write, its target and the flow
	}
	return entry, id, nil
}

// finish records the outcome of op's call (the second half of journaled),
// under the lease its intent was journaled with.
func (a *applier) finish(ctx context.Context, op *Op, entry store.JournalEntry, id int64, res adapters.Ref, callErr error, after func(tx store.Ops, res adapters.Ref) (int64, error)) error {
	lease := store.Lease{Name: entry.LeaseName, Token: entry.LeaseToken}
	bg := context.WithoutCancel(ctx) // what happened must be recorded even on shutdown
	if callErr != nil {
		state := store.JournalFailed
		if (op.Kind == OpCreate || op.Kind == OpCommentAdd) && !adapters.IsPermanent(callErr) {
			// Anything but a permanent refusal may have landed (a create
			// whose follow-up read met a rate limit did): re-issued,
			// idempotently, by the next run's recovery.
			state = store.JournalPending
		}
		if err := a.e.store.JournalFinish(bg, id, state, adapters.Ref{}, entry.LinkID, callErr.Error(), lease); err != nil {
			return fmt.Errorf("flow %s: journaling failure of %s: %w (after: %v)", a.f.Map.Name, op.Kind, err, callErr)
		}
		return callErr
	}
	err := a.e.store.Tx(bg, func(tx store.Ops) error {
		linkID := entry.LinkID
		if after != nil {
			l, err := after(tx, res)
			if err != nil {
				return err
			}
			if l != 0 {
				linkID = l
			}
		}
		return tx.JournalFinish(bg, id, store.JournalDone, res, linkID, "", lease)
	})
	if err != nil {
		return err
	}
	// The outcome is recorded (or the process that took the flow over
	// recorded it first). A run paused past its lease learns here that it
	// lost it, and stops before its next write, whatever comes next (a
	// follow-up transition of a created item is no new journal intent).
	return a.lease.check(a.e.now())
}

func (a *applier) create(ctx context.Context, op *Op) error {
	tr := a.f.side(op.Side)
	src, srcBase, dstSide, entry, err := a.prepareCreate(op)
	if err != nil {
		return err
	}
	var created adapters.CreateResult
	var link store.Link
	err = a.journaled(ctx, op, entry, func() (adapters.Ref, error) {
		res, err := tr.Create(ctx, *op.Item, a.createOptions(op))
		created = res
		return res.Item.Ref, err
	}, func(tx store.Ops, ref adapters.Ref) (int64, error) {
		l, err := a.e.linkCreated(ctx, tx, a.f, a.pl, dstSide, src, srcBase, nil, op.LinkKey, created)
		link = l
		return l.ID, err
	})
	if err != nil {
		return fmt.Errorf("creating copy of %s on %s: %w", src.Ref, tr.Name(), err)
	}
	a.counts.Created++
	if !created.Existed {
		a.noteWrite(op.Side, created.Item)
	}
	// Settle the new pair at once: an item found by its key may hold older
	// values, and the source's comments are copied in the same run.
	return a.settleNew(ctx, link, src, created)
}

// prepareCreate resolves op's parent (which a create earlier in this run
// may have linked) and returns the source, its base, the side the copy
// goes to and the journal entry of the create.
func (a *applier) prepareCreate(op *Op) (adapters.Item, map[string]string, store.Side, store.JournalEntry, error) {
	src := op.pair.in.a
	srcBase, dstSide := op.pair.base.A, store.SideB
	if op.Side == store.SideA {
		src, srcBase, dstSide = op.pair.in.b, op.pair.base.B, store.SideA
	}
	if a.pl.fm.Writes(adapters.FieldParent, op.Side) && src.Parent != nil && op.Item.Parent == nil {
		// The parent may have been linked by a create earlier in this run.
		v := a.pl.fm.Value(op.Side.Other(), src, adapters.FieldParent)
		delete(a.pl.unresolved, v)
		if out, _ := a.pl.translate(adapters.FieldParent, op.Side, v, ""); out != "" && !a.pl.unresolved[v] {
			if err := a.pl.fm.Apply(op.Side, op.Item, adapters.FieldParent, out); err == nil {
				srcBase[adapters.FieldParent] = v
			}
		}
		if err := a.pl.takeErr(); err != nil {
			return src, srcBase, dstSide, store.JournalEntry{}, err
		}
	}
	after := map[string]string{"kind": string(op.Item.Kind)}
	for _, r := range a.pl.rules {
		if r.field == adapters.FieldParent && op.Item.Parent == nil {
			continue // not settled yet: leave its base unknown
		}
		after[r.field] = a.pl.fm.Value(op.Side, *op.Item, r.field)
	}
	entry := store.JournalEntry{Target: op.Source, IdempotencyKey: op.LinkKey, Before: srcBase, After: after}
	return src, srcBase, dstSide, entry, nil
}

// bulkMax is how many creates one CreateMany call carries (the adapter
// splits them into the requests its tracker takes).
const bulkMax = 100

// batchable reports whether op can go in a CreateMany: its side is a
// BulkCreator and its parent, if it has one, needs no translation that a
// create in the same batch could be waiting for.
func (a *applier) batchable(op *Op) bool {
	if _, ok := a.f.side(op.Side).(adapters.BulkCreator); !ok {
		return false
	}
	src := op.pair.in.a
	if op.Side == store.SideA {
		src = op.pair.in.b
	}
	return src.Parent == nil || !a.pl.fm.Writes(adapters.FieldParent, op.Side)
}

// createAll runs the plan's creates in order, runs of batchable ones on
// one side together through CreateMany.
func (a *applier) createAll(ctx context.Context) error {
	var batch []*Op
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := a.createBatch(ctx, batch)
		batch = nil
		return err
	}
	for _, op := range a.p.opPtrs {
		if op.Kind != OpCreate {
			continue
		}
		if a.batchable(op) {
			if len(batch) > 0 && batch[0].Side != op.Side {
				if err := flush(); err != nil {
					return err
				}
			}
			if batch = append(batch, op); len(batch) == bulkMax {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		if err := a.create(ctx, op); err != nil {
			if fatal(err) {
				return err
			}
			a.errs = append(a.errs, err)
		}
	}
	return flush()
}

// createBatch is create for ops through one CreateMany call: every intent
// is journaled before the call and every outcome after it, each create
// keeping its own journal entry, link and settling.
func (a *applier) createBatch(ctx context.Context, ops []*Op) error {
	if a.e.draining != nil && a.e.draining() {
		return ErrDraining
	}
	tr := a.f.side(ops[0].Side)
	type prepared struct {
		src     adapters.Item
		srcBase map[string]string
		dst     store.Side
		entry   store.JournalEntry
		id      int64
	}
	preps := make([]prepared, len(ops))
	reqs := make([]adapters.CreateRequest, len(ops))
	for i, op := range ops {
		src, srcBase, dst, entry, err := a.prepareCreate(op)
		if err != nil {
			return err
		}
		entry, id, err := a.intent(ctx, op, entry)
		if err != nil {
			return err
		}
		preps[i] = prepared{src: src, srcBase: srcBase, dst: dst, entry: entry, id: id}
		reqs[i] = adapters.CreateRequest{Item: *op.Item, Options: a.createOptions(op)}
	}
	for _, op := range ops {
		if a.e.crash != nil {
			if err := a.e.crash(CrashBeforeCall, op); err != nil {
				return errCrashed
			}
		}
	}
	// The intents are journaled; if the lease ran out meanwhile, the new
	// holder's recovery owns these writes.
	if err := a.lease.check(a.e.now()); err != nil {
		return err
	}
	// A bulk create may take several requests: each is fenced by the
	// lease, so a run that lost it sends none of the rest.
	fenced := adapters.WithFence(ctx, func() error { return a.lease.check(a.e.now()) })
	results, callErr := tr.(adapters.BulkCreator).CreateMany(fenced, reqs)
	for range ops {
		progressOf(ctx).step()
	}
	for _, op := range ops {
		if a.e.crash != nil {
			if err := a.e.crash(CrashAfterCall, op); err != nil {
				return errCrashed
			}
		}
	}
	var stop error
	for i, op := range ops {
		pr := preps[i]
		created, err := batchOutcome(tr.Name(), results, callErr, i)
		var link store.Link
		err = a.finish(ctx, op, pr.entry, pr.id, created.Item.Ref, err, func(tx store.Ops, ref adapters.Ref) (int64, error) {
			l, err := a.e.linkCreated(ctx, tx, a.f, a.pl, pr.dst, pr.src, pr.srcBase, nil, op.LinkKey, created)
			link = l
			return l.ID, err
		})
		if err != nil {
			err = fmt.Errorf("creating copy of %s on %s: %w", pr.src.Ref, tr.Name(), err)
			if fatal(err) {
				// Every outcome is journaled first; then the run stops.
				stop = cmp.Or(stop, err)
				continue
			}
			a.errs = append(a.errs, err)
			continue
		}
		a.counts.Created++
		if !created.Existed {
			a.noteWrite(op.Side, created.Item)
		}
		if stop != nil {
			continue
		}
		if err := a.settleNew(ctx, link, pr.src, created); err != nil {
			if fatal(err) {
				stop = err
				continue
			}
			a.errs = append(a.errs, err)
		}
	}
	return stop
}

// batchOutcome is what one CreateMany answered for request i: its
// result, or why it has none (its own error, the whole call's, or
// silence).
func batchOutcome(tracker string, results []adapters.CreateResult, callErr error, i int) (adapters.CreateResult, error) {
	var each adapters.CreateErrors
	errors.As(callErr, &each)
	switch {
	case i < len(results) && results[i].Item.Ref.ID != "":
		return results[i], nil
	case each[i] != nil: // a map by request index, not a list
		return adapters.CreateResult{}, each[i]
	case callErr != nil && adapters.IsPermanent(callErr) && each == nil:
		// A refusal that names no request may concern another one of
		// the batch: not made, this one is left for recovery.
		return adapters.CreateResult{}, fmt.Errorf("not made: %s refused the batch it was in: %v", tracker, callErr)
	case callErr != nil && each == nil:
		return adapters.CreateResult{}, callErr
	}
	return adapters.CreateResult{}, fmt.Errorf("%s made no item for it and said nothing", tracker)
}

// createOptions are the options of op's create. KeyUnseen vouches for the
// key when the plan listed the whole scope (a full plan, after recovery
// re-issued every create a crash left pending): no item carried the key,
// or the plan would have linked it instead of creating. The tracker then
// skips its own lookup, a search or two per create; an incremental plan
// saw only what changed, so there the tracker still looks.
func (a *applier) createOptions(op *Op) adapters.CreateOptions {
	return adapters.CreateOptions{IdempotencyKey: op.LinkKey, BackLink: op.Source.URL, Scope: a.f.scope(op.Side), KeyUnseen: a.p.Full}
}

// linkCreated links a created (or found) counterpart and records its base:
// srcBase for the source, dstBase (nil: the created item's values) for
// the copy. A copy found rather than made (Existed) was made by an earlier,
// interrupted run from values that may since have changed: without
// dstBase from the journal, the source's fields are marked unknown so the
// source's values are carried over.
func (e *Engine) linkCreated(ctx context.Context, tx store.Ops, f *Flow, pl *planner, dst store.Side, src adapters.Item, srcBase, dstBase map[string]string, key string, created adapters.CreateResult) (store.Link, error) {
	l := store.Link{Flow: f.Map.Name, Key: key}
	if dst == store.SideB {
		l.A, l.B = src.Ref, created.Item.Ref
	} else {
		l.A, l.B = created.Item.Ref, src.Ref
	}
	got, err := tx.CreateLink(ctx, l)
	if errors.Is(err, store.ErrExists) {
		got, err = tx.FindLinkByKey(ctx, f.Map.Name, key)
	}
	if err != nil {
		return l, fmt.Errorf("linking %s: %w", src.Ref, err)
	}
	srcBase = maps.Clone(srcBase)
	if dstBase == nil {
		dstBase = map[string]string{}
		for _, r := range pl.rules {
			if _, ok := srcBase[r.field]; ok {
				dstBase[r.field] = f.Map.Value(dst, created.Item, r.field)
			}
		}
		if created.Existed {
			for k := range srcBase {
				srcBase[k] = unknownBase
			}
		}
	} else {
		dstBase = maps.Clone(dstBase)
		delete(dstBase, "kind")
	}
	b := store.Base{LinkID: got.ID, SyncedAt: e.now().UTC()}
	if created.Existed {
		// Comments of a recovered pair have not been looked at yet: a
		// zero SyncedAt makes the next full reconcile read them.
		b.SyncedAt = time.Time{}
	}
	if dst == store.SideB {
		b.A, b.B, b.AVersion, b.BVersion = srcBase, dstBase, src.Version, created.Item.Version
	} else {
		b.A, b.B, b.AVersion, b.BVersion = dstBase, srcBase, created.Item.Version, src.Version
	}
	return got, tx.PutBase(ctx, b)
}

// unknownBase marks a base value nobody knows (a copy found, not made).
const unknownBase = "\x00unknown"

// settleNew diffs a just-linked pair and applies what it needs.
func (a *applier) settleNew(ctx context.Context, l store.Link, src adapters.Item, created adapters.CreateResult) error {
	if l.ID == 0 {
		return nil
	}
	in := &pairInput{link: l}
	made := created.Item
	// An item this run just made has no comments yet; one found by its
	// key (an earlier attempt) may.
	made.AllComments = made.AllComments || !created.Existed
	if l.A.ID == src.Ref.ID && l.A.Tracker == src.Ref.Tracker {
		in.a, in.b = src, made
	} else {
		in.a, in.b = made, src
	}
	b, err := a.e.store.GetBase(ctx, l.ID)
	if err == nil {
		in.base, in.hasBase = b, true
	}
	if a.pl.comments[0] || a.pl.comments[1] {
		if err := a.e.loadComments(ctx, a.f, in); err != nil {
			return err
		}
	}
	pp := a.pl.diffPair(in)
	// The pair counts as created, not also as unchanged.
	unchanged := a.counts.Unchanged
	err = a.pair(ctx, pp)
	a.counts.Unchanged = unchanged
	return err
}

// pair applies one pair's updates, then its base, conflicts and comments.
func (a *applier) pair(ctx context.Context, pp *pairPlan) error {
	in := pp.in
	if pp.linkOp != nil {
		if err := a.linkPair(ctx, pp); err != nil {
			return err
		}
	}
	w, err := a.writeFields(ctx, pp)
	if err != nil {
		return err
	}
	if !w.wrote && w.failed == nil && !w.stale {
		a.counts.Unchanged++
	}
	bg := context.WithoutCancel(ctx)
	if err := a.holdConflicts(bg, pp); err != nil {
		return err
	}
	if a.agreed != nil {
		a.agreed[in.link.ID] = pp.base.A
	}
	commented := false
	for _, op := range pp.other {
		commented = commented || op.Kind == OpCommentAdd || op.Kind == OpCommentEdit || op.Kind == OpCommentLink
	}
	if pp.changed || w.wrote || commented {
		// SyncedAt says when comments were last settled (a full reconcile
		// reads comments only of items updated since): it moves only once
		// they are, below.
		pp.base.SyncedAt = a.e.now().UTC()
		if w.failed != nil || w.stale || commented {
			pp.base.SyncedAt = in.base.SyncedAt
		}
		if err := a.e.store.PutBase(bg, pp.base); err != nil {
			return fmt.Errorf("recording base of link %d: %w", in.link.ID, err)
		}
	}
	if w.failed != nil {
		return w.failed
	}
	if w.stale {
		return nil
	}
	if err := a.copyComments(ctx, pp); err != nil {
		return err
	}
	if commented {
		pp.base.SyncedAt = a.e.now().UTC()
		if err := a.e.store.PutBase(bg, pp.base); err != nil {
			return fmt.Errorf("recording base of link %d: %w", in.link.ID, err)
		}
	}
	a.finished[in.link.ID] = true
	return nil
}

// linkPair records a pair's new or revived link and gives its ops the
// link's id.
func (a *applier) linkPair(ctx context.Context, pp *pairPlan) error {
	in := pp.in
	if pp.linkOp.LinkID != 0 {
		if err := a.e.store.UpdateLink(ctx, in.link); err != nil {
			return fmt.Errorf("reviving link %d: %w", in.link.ID, err)
		}
	} else {
		l, err := a.e.store.CreateLink(ctx, in.link)
		if errors.Is(err, store.ErrExists) {
			l, err = a.e.store.FindLinkByKey(ctx, a.f.Map.Name, in.link.Key)
		}
		if err != nil {
			return fmt.Errorf("linking %s with %s: %w", in.link.A, in.link.B, err)
		}
		in.link = l
	}
	pp.base.LinkID = in.link.ID
	for _, op := range pp.upd {
		if op != nil {
			op.LinkID = in.link.ID
		}
	}
	for _, op := range pp.other {
		op.LinkID = in.link.ID
	}
	return nil
}

// fieldWrites is what writeFields did: a side was written, a side failed
// (failed, the first error), or a side changed under the write (stale:
// listed again next run).
type fieldWrites struct {
	wrote, stale bool
	failed       error
}

// writeFields writes a pair's field updates, side by side, recording
// what each side took in the pair's base; the fields of a side that did
// not take them go back to their old base, so the next run sees the same
// difference and writes them again. err is returned only for a crash
// (the run stops); write failures are in the result.
func (a *applier) writeFields(ctx context.Context, pp *pairPlan) (fieldWrites, error) {
	in := pp.in
	var w fieldWrites
	if (pp.upd[0] != nil || pp.upd[1] != nil) && !pp.owned {
		pp.base.A, pp.base.B, pp.owned = maps.Clone(pp.base.A), maps.Clone(pp.base.B), true
	}
	var readBack [2]*adapters.Item
	restore := func(op *Op) {
		for _, fc := range op.Fields {
			oldA, okA := in.base.A[fc.Field]
			oldB, okB := in.base.B[fc.Field]
			if okA && okB {
				pp.base.A[fc.Field], pp.base.B[fc.Field] = oldA, oldB
			} else {
				delete(pp.base.A, fc.Field)
				delete(pp.base.B, fc.Field)
			}
		}
	}
	for i, op := range pp.upd {
		if op == nil {
			continue
		}
		if w.failed != nil && fatal(w.failed) {
			// Not attempted: a rate limit or shutdown stopped the pair.
			// Its fields must not be recorded as written.
			restore(op)
			continue
		}
		cur := in.a
		if i == 1 {
			cur = in.b
		}
		got, err := a.update(ctx, op, cur)
		if err != nil {
			if errors.Is(err, errCrashed) {
				return w, err
			}
			// This side did not take its fields: their base stays what
			// it was, so the next run sees the same difference and tries
			// again. The other side's successful write is still recorded
			// below, or it would later pass for a person's edit.
			restore(op)
			pp.changed = true
			if errors.Is(err, adapters.ErrConflict) {
				// Edited between our read and our write: listed again
				// next run.
				a.log.Debug("item changed while syncing; retried next run", "item", op.Target.String())
				w.stale = true
				continue
			}
			w.failed = err
			continue
		}
		readBack[i] = &got
		w.wrote = true
		a.counts.Updated++
		side := pp.base.A
		if i == 1 {
			side = pp.base.B
			pp.base.BVersion = got.Version
		} else {
			pp.base.AVersion = got.Version
		}
		for _, fc := range op.Fields {
			side[fc.Field] = a.pl.fm.Value(op.Side, got, fc.Field)
		}
	}
	if w.failed == nil && !w.stale {
		if err := a.narrowed(ctx, pp, readBack); err != nil {
			if errors.Is(err, errCrashed) {
				return w, err
			}
			w.failed = err
		}
	}
	return w, nil
}

// holdConflicts records the pair's conflicts that no policy settled.
func (a *applier) holdConflicts(ctx context.Context, pp *pairPlan) error {
	in := pp.in
	for _, op := range pp.other {
		if op.Kind == OpConflict && op.Conflict.Winner == "" {
			c := store.Conflict{Flow: a.f.Map.Name, LinkID: in.link.ID, Field: op.Conflict.Field, Base: op.Conflict.Base, A: op.Conflict.A, B: op.Conflict.B}
			if err := a.e.holdConflict(ctx, c, in.link, a.runID); err != nil {
				return fmt.Errorf("holding conflict on %s field %s: %w", in.link.A, c.Field, err)
			}
			a.held[fmt.Sprintf("%d/%s", in.link.ID, c.Field)] = true
			a.counts.Conflicts++
		}
	}
	return nil
}

// copyComments copies, edits and links the pair's comments. A copy the
// tracker refuses for good (a comment longer than it takes) is reported
// and the later ones go on; any other failure stops here, so the copies
// keep their order.
func (a *applier) copyComments(ctx context.Context, pp *pairPlan) error {
	in := pp.in
	var refused []error
	for _, op := range pp.other {
		var err error
		switch op.Kind {
		case OpCommentAdd:
			err = a.commentAdd(ctx, pp, op)
		case OpCommentEdit:
			err = a.commentEdit(ctx, pp, op)
		case OpCommentLink:
			err = a.e.store.PutCommentLink(ctx, commentLink(in.link.ID, op.Side, op.Comment.SourceID, op.Comment.Body,
				adapters.Comment{ID: op.Comment.TargetID, Body: op.Comment.TargetBody}))
			if err == nil {
				a.copies[fmt.Sprintf("%d/%s/%s", in.link.ID, op.Side, op.Comment.TargetID)] = true
			}
		default:
			continue
		}
		if err != nil && adapters.IsPermanent(err) && !fatal(err) {
			refused = append(refused, err)
			continue
		}
		if err != nil {
			return errors.Join(append(refused, err)...)
		}
	}
	return errors.Join(refused...)
}

// narrowed handles a tracker that kept less than was written: Jira holds
// one assignee, so a merged pair of people reads back as one. The other
// side is brought to what was kept, or the pair would stay split with
// both sides unchanged against their bases.
func (a *applier) narrowed(ctx context.Context, pp *pairPlan, readBack [2]*adapters.Item) error {
	in := pp.in
	f := adapters.FieldAssignees
	for i, op := range pp.upd {
		if op == nil || readBack[i] == nil {
			continue
		}
		var wrote *FieldChange
		for j := range op.Fields {
			if op.Fields[j].Field == f {
				wrote = &op.Fields[j]
			}
		}
		kept := a.pl.fm.Value(op.Side, *readBack[i], f)
		if wrote == nil || kept == wrote.To {
			continue
		}
		o := 1 - i
		oside := op.Side.Other()
		cur := in.a
		if o == 1 {
			cur = in.b
		}
		if readBack[o] != nil {
			cur = *readBack[o]
		}
		have := a.pl.fm.Value(oside, cur, f)
		want, _ := a.pl.translate(f, oside, kept, have)
		if err := a.pl.takeErr(); err != nil {
			return err
		}
		if want == have {
			continue
		}
		fix := &Op{Kind: OpUpdate, Side: oside, LinkID: in.link.ID, LinkKey: in.link.Key, Target: in.link.Ref(oside), Source: in.link.Ref(op.Side),
			IfVersion: cur.Version, Fields: []FieldChange{{Field: f, From: have, To: want}}, pair: pp}
		got, err := a.update(ctx, fix, cur)
		if err != nil {
			return fmt.Errorf("%s kept fewer %s than written; matching %s: %w", op.Target, f, fix.Target, err)
		}
		a.counts.Updated++
		readBack[o] = &got
		m := pp.base.A
		if oside == store.SideB {
			m = pp.base.B
		}
		m[f] = a.pl.fm.Value(oside, got, f)
		if i == 0 {
			pp.base.A[f] = kept
		} else {
			pp.base.B[f] = kept
		}
		pp.changed = true
	}
	return nil
}

func (a *applier) update(ctx context.Context, op *Op, cur adapters.Item) (adapters.Item, error) {
	tr := a.f.side(op.Side)
	patch := adapters.Patch{IfVersion: op.IfVersion, Item: cur.Clone()}
	before, after := map[string]string{}, map[string]string{}
	for _, fc := range op.Fields {
		if err := a.pl.fm.Apply(op.Side, &patch.Item, fc.Field, fc.To); err != nil {
			return adapters.Item{}, fmt.Errorf("updating %s: %w", op.Target, err)
		}
		for _, pf := range a.pl.fm.PatchFields(fc.Field, op.Side) {
			if !slices.Contains(patch.Fields, pf) {
				patch.Fields = append(patch.Fields, pf)
			}
		}
		before[fc.Field], after[fc.Field] = fc.From, fc.To
	}
	var got adapters.Item
	err := a.journaled(ctx, op, store.JournalEntry{Target: op.Target, Before: before, After: after}, func() (adapters.Ref, error) {
		it, err := tr.Update(ctx, op.Target, patch)
		got = it
		return it.Ref, err
	}, nil)
	if err != nil {
		return got, fmt.Errorf("updating %s (%s): %w", op.Target, strings.Join(patch.Fields, ", "), err)
	}
	a.noteWrite(op.Side, got)
	return got, nil
}

func (a *applier) commentAdd(ctx context.Context, pp *pairPlan, op *Op) error {
	cm, ok := a.f.side(op.Side).(adapters.Commenter)
	if !ok {
		return nil
	}
	linkID := pp.in.link.ID
	if a.copies[fmt.Sprintf("%d/%s/%s", linkID, op.Side.Other(), op.Comment.SourceID)] {
		return nil // a copy this run made or found: never copy it back
	}
	var got adapters.Comment
	entry := store.JournalEntry{LinkID: linkID, Target: op.Target, IdempotencyKey: op.Comment.Key,
		After: map[string]string{"body": op.Comment.Body, "source_id": op.Comment.SourceID}}
	err := a.journaled(ctx, op, entry, func() (adapters.Ref, error) {
		c, err := cm.AddComment(ctx, op.Target, adapters.Comment{Body: op.Comment.Body}, op.Comment.Key)
		got = c
		return op.Target, err
	}, func(tx store.Ops, _ adapters.Ref) (int64, error) {
		return 0, tx.PutCommentLink(ctx, commentLink(linkID, op.Side, op.Comment.SourceID, op.Comment.Body, got))
	})
	if err != nil {
		return fmt.Errorf("copying comment %s to %s: %w", op.Comment.SourceID, op.Target, err)
	}
	a.copies[fmt.Sprintf("%d/%s/%s", linkID, op.Side, got.ID)] = true
	a.counts.Comments++
	return nil
}

// commentLink pairs source comment srcID (body srcBody) with its copy got
// written to side to.
func commentLink(linkID int64, to store.Side, srcID, srcBody string, got adapters.Comment) store.CommentLink {
	if to == store.SideB {
		return store.CommentLink{LinkID: linkID, AID: srcID, BID: got.ID, BodyHash: bodyHash(srcBody) + ":" + bodyHash(got.Body)}
	}
	return store.CommentLink{LinkID: linkID, AID: got.ID, BID: srcID, BodyHash: bodyHash(got.Body) + ":" + bodyHash(srcBody)}
}

func (a *applier) commentEdit(ctx context.Context, pp *pairPlan, op *Op) error {
	cm, ok := a.f.side(op.Side).(adapters.Commenter)
	if !ok {
		return nil
	}
	linkID := pp.in.link.ID
	var got adapters.Comment
	entry := store.JournalEntry{LinkID: linkID, Target: op.Target, After: map[string]string{"body": op.Comment.Body, "comment_id": op.Comment.TargetID}}
	err := a.journaled(ctx, op, entry, func() (adapters.Ref, error) {
		c, err := cm.EditComment(ctx, op.Target, adapters.Comment{ID: op.Comment.TargetID, Body: op.Comment.Body})
		got = c
		return op.Target, err
	}, func(tx store.Ops, _ adapters.Ref) (int64, error) {
		return 0, tx.PutCommentLink(ctx, commentLink(linkID, op.Side, op.Comment.SourceID, op.Comment.Body, got))
	})
	if err != nil {
		return fmt.Errorf("editing comment %s on %s: %w", op.Comment.TargetID, op.Target, err)
	}
	a.counts.Comments++
	return nil
}

func (a *applier) archive(ctx context.Context, op *Op) error {
	tr := a.f.side(op.Side)
	var got adapters.Item
	err := a.journaled(ctx, op, store.JournalEntry{Target: op.Target}, func() (adapters.Ref, error) {
		var err error
		if ar, ok := tr.(adapters.Archiver); ok {
			got, err = ar.Archive(ctx, op.Target)
			return got.Ref, err
		}
		// No archive call: move it to the first done status instead.
		var done string
		for _, s := range tr.Capabilities().Statuses {
			if s.Category == adapters.CategoryDone {
				done = s.Name
				break
			}
		}
		if done == "" {
			return op.Target, fmt.Errorf("%s has no done status to close %s with: %w", tr.Name(), op.Target, adapters.ErrUnsupported)
		}
		got, err = tr.Update(ctx, op.Target, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: done}})
		return got.Ref, err
	}, nil)
	if errors.Is(err, adapters.ErrNotFound) {
		return nil // already gone: nothing to close
	}
	if err != nil {
		return fmt.Errorf("closing %s: %w", op.Target, err)
	}
	a.counts.Archived++
	// The close is tracksync's own write: record it in the base, or a
	// revived link would take it for a person's edit.
	if b, err := a.e.store.GetBase(ctx, op.LinkID); err == nil {
		m := b.A
		if op.Side == store.SideB {
			m = b.B
		}
		for _, f := range []string{adapters.FieldStatus, adapters.FieldLabels} {
			if _, ok := m[f]; ok {
				m[f] = a.pl.fm.Value(op.Side, got, f)
			}
		}
		// The departed side agreed to that close too, as far as the base
		// goes: should it come back into scope open, it then reads as
		// changed and reopens the survivor, instead of the pair staying
		// split (one side done, the other open) with nothing to do.
		other := b.B
		if op.Side == store.SideB {
			other = b.A
		}
		if cur, ok := other[adapters.FieldStatus]; ok {
			if v, _ := a.pl.translate(adapters.FieldStatus, op.Side.Other(), m[adapters.FieldStatus], cur); v != "" {
				other[adapters.FieldStatus] = v
			}
		}
		if err := a.e.store.PutBase(ctx, b); err != nil {
			return fmt.Errorf("recording the close of %s: %w", op.Target, err)
		}
	}
	return nil
}

func (a *applier) unlink(ctx context.Context, op *Op) error {
	l, err := a.e.store.GetLink(ctx, op.LinkID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unlinking link %d: %w", op.LinkID, err)
	}
	if op.Side != store.SideB && !strings.HasPrefix(l.A.ID, tombPrefix) {
		l.A.ID = tombPrefix + l.A.ID
	}
	if op.Side != store.SideA && !strings.HasPrefix(l.B.ID, tombPrefix) {
		l.B.ID = tombPrefix + l.B.ID
	}
	err = a.e.store.UpdateLink(ctx, l)
	if err != nil {
		return fmt.Errorf("unlinking link %d: %w", op.LinkID, err)
	}
	a.counts.Unlinked++
	return nil
}

// settleConflicts marks held conflicts resolved once their pair was
// compared again and no longer conflicts (someone made the sides agree).
func (a *applier) settleConflicts(ctx context.Context) error {
	open, err := a.e.store.ListConflicts(ctx, a.f.Map.Name, store.ConflictOpen)
	if err != nil {
		return fmt.Errorf("flow %s: reading conflicts: %w", a.f.Map.Name, err)
	}
	for _, c := range open {
		if !a.finished[c.LinkID] || a.held[fmt.Sprintf("%d/%s", c.LinkID, c.Field)] {
			continue
		}
		// The sides now agree: record the value they agree on.
		if err := a.e.store.ResolveConflict(ctx, c.ID, "value", a.agreed[c.LinkID][c.Field]); err != nil {
			return fmt.Errorf("flow %s: settling conflict %d: %w", a.f.Map.Name, c.ID, err)
		}
	}
	return nil
}
