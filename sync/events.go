package sync

import (
	"context"

	"github.com/tracksync/tracksync/internal/redact"
	"github.com/tracksync/tracksync/notify"
	"github.com/tracksync/tracksync/store"
)

// Outbox events of runs: a run failed, the safety valve stopped a run, a
// conflict was held. Each is written in the transaction that records what
// it reports (Options.Events), so a crash loses neither or both.

// finishRun records the end of run r with the event it causes, if any.
func (e *Engine) finishRun(ctx context.Context, r store.Run) error {
	if !e.events || r.DryRun || (r.State != store.RunFailed && r.State != store.RunStopped) {
		return e.store.FinishRun(ctx, r)
	}
	p := notify.Payload{Flow: r.Flow, RunID: r.ID, Error: redact.Global.String(r.Error)}
	ev := notify.RunFailed(p)
	if r.State == store.RunStopped {
		ev = notify.ValveStopped(p)
	}
	return e.store.Tx(ctx, func(tx store.Ops) error {
		if err := tx.FinishRun(ctx, r); err != nil {
			return err
		}
		_, err := tx.PutEvent(ctx, ev)
		return err
	})
}

// holdConflict stores conflict c of link l, held in run runID, with its
// event.
func (e *Engine) holdConflict(ctx context.Context, c store.Conflict, l store.Link, runID int64) error {
	if !e.events {
		_, err := e.store.PutConflict(ctx, c)
		return err
	}
	return e.store.Tx(ctx, func(tx store.Ops) error {
		id, err := tx.PutConflict(ctx, c)
		if err != nil {
			return err
		}
		_, err = tx.PutEvent(ctx, notify.ConflictHeld(notify.Payload{Flow: c.Flow, RunID: runID}, notify.Conflict{
			ID: id, Field: c.Field,
			ATracker: l.A.Tracker, AKey: l.A.Key, AURL: l.A.URL, AValue: c.A,
			BTracker: l.B.Tracker, BKey: l.B.Key, BURL: l.B.URL, BValue: c.B,
		}))
		return err
	})
}
