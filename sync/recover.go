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
		if err != nil {
			if fatal(err) || !adapters.IsPermanent(err) {
				// Planning now could copy an unrecorded copy back (a
				// comment has no other trace of being ours): stop, and
				// retry the recovery next run.
				return fmt.Errorf("flow %s: recovering interrupted %s of %s (journal %d): %w", f.Map.Name, j.Op, j.Target, j.ID, err)
			}
			log.Warn("an interrupted write cannot be recovered; it is dropped and the item re-planned", "journal_id", j.ID, "op", j.Op, "err", err)
			if err := e.store.JournalFinish(ctx, j.ID, store.JournalFailed, adapters.Ref{}, j.LinkID, err.Error(), rl.get()); err != nil {
				return err
			}
			continue
		}
		log.Info("recovered an interrupted write", "journal_id", j.ID, "op", j.Op, "target", j.Target.String())
	}
	return nil
}

func (e *Engine) recoverCreate(ctx context.Context, f *Flow, p *planner, j store.JournalEntry, rl *runLease) error {
	tr := f.side(j.Side)
	if l, err := e.store.FindLinkByKey(ctx, f.Map.Name, j.IdempotencyKey); err == nil {
		return e.store.JournalFinish(ctx, j.ID, store.JournalDone, l.Ref(j.Side), l.ID, "", rl.get())
	}
	src, err := f.side(j.Side.Other()).Get(ctx, j.Target)
	if errors.Is(err, adapters.ErrNotFound) {
		// The source is gone; its copy, if it was made, carries our key
		// and is left alone by the planner.
		return e.store.JournalFinish(ctx, j.ID, store.JournalFailed, adapters.Ref{}, 0, "source deleted before the interrupted create was recovered", rl.get())
	}
	if err != nil {
		return err
	}
	it := adapters.Item{Kind: adapters.Kind(j.After["kind"])}
	for k, v := range j.After {
		if k == "kind" {
			continue
		}
		if err := f.Map.Apply(j.Side, &it, k, v); err != nil {
			return err
		}
	}
	if err := rl.check(e.now()); err != nil {
		return err
	}
	res, err := tr.Create(ctx, it, adapters.CreateOptions{IdempotencyKey: j.IdempotencyKey, BackLink: src.Ref.URL, Scope: f.scope(j.Side)})
	if err != nil {
		return fmt.Errorf("re-issuing create of %s on %s: %w", j.Target, tr.Name(), err)
	}
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
