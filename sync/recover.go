package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// recover settles journal entries an earlier run left pending: it was
// killed between recording an intent and recording the result, or a call
// failed in a way that may still have taken effect. Creates and comment
// adds are re-issued with their idempotency key, so the tracker returns
// what the first call made instead of making a second; updates are left to
// the 3-way diff, which converges whether or not they landed.
//
// Every completion is fenced by the run's lease rl, and a write is
// re-issued only while the lease is held.
func (e *Engine) recover(ctx context.Context, f *Flow, runID int64, rl *runLease, log *slog.Logger) error {
	pending, err := e.store.PendingJournal(ctx, f.Map.Name)
	if err != nil {
		return fmt.Errorf("flow %s: reading journal: %w", f.Map.Name, err)
	}
	p := e.newPlanner(f)
	// Creates on a BulkCreator are re-issued together: one key search
	// over the tracker's whole marker window finds every copy a killed
	// bulk create made, where creates re-issued one by one each look only
	// at the newest few (and each copy one of them makes pushes the
	// earlier ones further out of sight).
	if pending, err = e.recoverBulk(ctx, f, p, pending, rl, log); err != nil {
		return err
	}
	for _, j := range pending {
		var err error
		switch j.Op {
		case string(OpCreate):
			err = e.recoverCreate(ctx, f, p, j, rl)
		case string(OpCommentAdd):
			err = e.recoverComment(ctx, f, j, rl)
		default:
			err = e.store.JournalFinish(ctx, j.ID, store.JournalFailed, adapters.Ref{}, j.LinkID, fmt.Sprintf("interrupted; reconciled by run %d", runID), rl.get())
		}
		if err = e.recovered(ctx, f, j, err, rl, log); err != nil {
			return err
		}
	}
	return nil
}

// recovered settles the outcome err of recovering j: nil when it is
// recovered or dropped (a permanent refusal, logged), an error that stops
// the run otherwise.
func (e *Engine) recovered(ctx context.Context, f *Flow, j store.JournalEntry, err error, rl *runLease, log *slog.Logger) error {
	if err != nil {
		if fatal(err) || !adapters.IsPermanent(err) {
			// Planning now could copy an unrecorded copy back (a
			// comment has no other trace of being ours): stop, and
			// retry the recovery next run.
			return fmt.Errorf("flow %s: recovering interrupted %s of %s (journal %d): %w", f.Map.Name, j.Op, j.Target, j.ID, err)
		}
		log.Warn("an interrupted write cannot be recovered; it is dropped and the item re-planned", "journal_id", j.ID, "op", j.Op, "err", err)
		return e.store.JournalFinish(ctx, j.ID, store.JournalFailed, adapters.Ref{}, j.LinkID, err.Error(), rl.get())
	}
	log.Info("recovered an interrupted write", "journal_id", j.ID, "op", j.Op, "target", j.Target.String())
	return nil
}

// recoverBulk recovers the pending creates whose side is a BulkCreator,
// bulkMax to a CreateMany call with the key search on, and returns the
// entries left for one-by-one recovery.
func (e *Engine) recoverBulk(ctx context.Context, f *Flow, p *planner, pending []store.JournalEntry, rl *runLease, log *slog.Logger) ([]store.JournalEntry, error) {
	var rest []store.JournalEntry
	groups := map[store.Side][]store.JournalEntry{}
	for _, j := range pending {
		if _, ok := f.side(j.Side).(adapters.BulkCreator); ok && j.Op == string(OpCreate) {
			groups[j.Side] = append(groups[j.Side], j)
			continue
		}
		rest = append(rest, j)
	}
	for _, side := range []store.Side{store.SideA, store.SideB} {
		js := groups[side]
		for len(js) > 0 {
			n := min(len(js), bulkMax)
			if err := e.recoverCreates(ctx, f, p, js[:n], rl, log); err != nil {
				return nil, err
			}
			js = js[n:]
		}
	}
	return rest, nil
}

// recoverCreates re-issues the interrupted creates js, all on one side,
// through one CreateMany call.
func (e *Engine) recoverCreates(ctx context.Context, f *Flow, p *planner, js []store.JournalEntry, rl *runLease, log *slog.Logger) error {
	type want struct {
		j   store.JournalEntry
		src adapters.Item
	}
	var wants []want
	var reqs []adapters.CreateRequest
	for _, j := range js {
		src, it, done, err := e.recoverPrepare(ctx, f, j, rl)
		if done || err != nil {
			if err := e.recovered(ctx, f, j, err, rl, log); err != nil {
				return err
			}
			continue
		}
		wants = append(wants, want{j, src})
		reqs = append(reqs, adapters.CreateRequest{Item: it, Options: adapters.CreateOptions{IdempotencyKey: j.IdempotencyKey, BackLink: src.Ref.URL, Scope: f.scope(j.Side)}})
	}
	if len(reqs) == 0 {
		return nil
	}
	if err := rl.check(e.now()); err != nil {
		return err
	}
	tr := f.side(js[0].Side)
	// Fenced like a run's own bulk create: a recovery frozen past its
	// lease sends none of its remaining requests.
	fenced := adapters.WithFence(ctx, func() error { return rl.check(e.now()) })
	results, callErr := tr.(adapters.BulkCreator).CreateMany(fenced, reqs)
	for i, w := range wants {
		res, err := batchOutcome(tr.Name(), results, callErr, i)
		if err == nil {
			err = e.recoverLink(ctx, f, p, w.j, w.src, res, rl)
		}
		if err != nil {
			err = fmt.Errorf("re-issuing create of %s on %s: %w", w.j.Target, tr.Name(), err)
		}
		if err := e.recovered(ctx, f, w.j, err, rl, log); err != nil {
			return err
		}
	}
	return nil
}

// recoverPrepare reads what recovering the interrupted create j needs: its
// source and the item it was to make. done reports that j is settled
// already (its link exists, or its source is gone).
func (e *Engine) recoverPrepare(ctx context.Context, f *Flow, j store.JournalEntry, rl *runLease) (src, it adapters.Item, done bool, err error) {
	if l, err := e.store.FindLinkByKey(ctx, f.Map.Name, j.IdempotencyKey); err == nil {
		return src, it, true, e.store.JournalFinish(ctx, j.ID, store.JournalDone, l.Ref(j.Side), l.ID, "", rl.get())
	}
	src, err = f.side(j.Side.Other()).Get(ctx, j.Target)
	if errors.Is(err, adapters.ErrNotFound) {
		// The source is gone; its copy, if it was made, carries our key
		// and is left alone by the planner.
		return src, it, true, e.store.JournalFinish(ctx, j.ID, store.JournalFailed, adapters.Ref{}, 0, "source deleted before the interrupted create was recovered", rl.get())
	}
	if err != nil {
		return src, it, false, err
	}
	it = adapters.Item{Kind: adapters.Kind(j.After["kind"])}
	for k, v := range j.After {
		if k == "kind" {
			continue
		}
		if err := f.Map.Apply(j.Side, &it, k, v); err != nil {
			return src, it, false, err
		}
	}
	return src, it, false, nil
}

// recoverLink links the copy res that recovering j found or made.
func (e *Engine) recoverLink(ctx context.Context, f *Flow, p *planner, j store.JournalEntry, src adapters.Item, res adapters.CreateResult, rl *runLease) error {
	return e.store.Tx(ctx, func(tx store.Ops) error {
		// The journal says what the source was and what was written: a
		// person's edit to either since then is a change like any other.
		l, err := e.linkCreated(ctx, tx, f, p, j.Side, src, j.Before, j.After, j.IdempotencyKey, adapters.CreateResult{Item: res.Item, Existed: true})
		if err != nil {
			return err
		}
		return tx.JournalFinish(ctx, j.ID, store.JournalDone, res.Item.Ref, l.ID, "", rl.get())
	})
}

func (e *Engine) recoverCreate(ctx context.Context, f *Flow, p *planner, j store.JournalEntry, rl *runLease) error {
	src, it, done, err := e.recoverPrepare(ctx, f, j, rl)
	if done || err != nil {
		return err
	}
	if err := rl.check(e.now()); err != nil {
		return err
	}
	tr := f.side(j.Side)
	res, err := tr.Create(ctx, it, adapters.CreateOptions{IdempotencyKey: j.IdempotencyKey, BackLink: src.Ref.URL, Scope: f.scope(j.Side)})
	if err != nil {
		return fmt.Errorf("re-issuing create of %s on %s: %w", j.Target, tr.Name(), err)
	}
	return e.recoverLink(ctx, f, p, j, src, res, rl)
}

func (e *Engine) recoverComment(ctx context.Context, f *Flow, j store.JournalEntry, rl *runLease) error {
	cm, ok := f.side(j.Side).(adapters.Commenter)
	if !ok || j.LinkID == 0 {
		return e.store.JournalFinish(ctx, j.ID, store.JournalFailed, adapters.Ref{}, j.LinkID, "cannot recover", rl.get())
	}
	if err := rl.check(e.now()); err != nil {
		return err
	}
	c, err := cm.AddComment(ctx, j.Target, adapters.Comment{Body: j.After["body"]}, j.IdempotencyKey)
	if errors.Is(err, adapters.ErrNotFound) {
		return e.store.JournalFinish(ctx, j.ID, store.JournalFailed, adapters.Ref{}, j.LinkID, "item gone", rl.get())
	}
	if err != nil {
		return fmt.Errorf("re-issuing comment on %s: %w", j.Target, err)
	}
	return e.store.Tx(ctx, func(tx store.Ops) error {
		if err := tx.PutCommentLink(ctx, commentLink(j.LinkID, j.Side, j.After["source_id"], j.After["body"], c)); err != nil {
			return err
		}
		return tx.JournalFinish(ctx, j.ID, store.JournalDone, j.Target, j.LinkID, "", rl.get())
	})
}
