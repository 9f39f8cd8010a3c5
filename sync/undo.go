package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// UndoReport says what Undo reverted and what it left alone, and why.
type UndoReport struct {
	Run      store.Run `json:"run"`      // the run that made the reverting writes
	Reverted []string  `json:"reverted"` // "tracker:key field: value -> value"
	Skipped  []string  `json:"skipped"`  // with the reason
}

// Undo reverts the field writes of run runID from the journal's
// before-values, newest first. A field changed since that run (its value is
// no longer what the run wrote) is skipped and listed, never overwritten.
// The next sync carries each revert to the other side of its pair (the
// side the run copied from), so a pair is never left silently split.
// Creates, archives and comments are listed, not undone.
func (e *Engine) Undo(ctx context.Context, flows map[string]*Flow, runID int64) (*UndoReport, error) {
	orig, err := e.store.GetRun(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("undo: %w", err) // the store's error names the run
	}
	f, ok := flows[orig.Flow]
	if !ok {
		return nil, fmt.Errorf("run %d belongs to flow %q, which is not in the config", runID, orig.Flow)
	}
	entries, err := e.store.RunJournal(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("run %d: reading journal: %w", runID, err)
	}
	lockName := "flow:" + orig.Flow
	rl, err := e.lockRun(ctx, lockName)
	if err != nil {
		return nil, fmt.Errorf("flow %s: %w", orig.Flow, err)
	}
	defer e.store.Unlock(context.WithoutCancel(ctx), lockName, e.owner)
	defer e.renew(ctx, rl)()
	run, err := e.store.StartRun(ctx, orig.Flow, false)
	if err != nil {
		return nil, err
	}
	rep := &UndoReport{}
	a := &applier{e: e, f: f, pl: e.newPlanner(f), runID: run.ID, lease: rl, counts: &run.Counts, log: e.log}
	var firstErr error
	for i := len(entries) - 1; i >= 0; i-- {
		j := entries[i]
		if j.State != store.JournalDone {
			continue
		}
		if j.Op != string(OpUpdate) {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s of %s: only field updates are undone", j.Op, j.Target))
			continue
		}
		if err := e.undoEntry(ctx, a, f, j, rep); err != nil {
			if fatal(err) {
				firstErr = err
				break
			}
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", j.Target, err))
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	run.State, run.FinishedAt = store.RunOK, e.now().UTC()
	if firstErr != nil {
		run.State, run.Error = store.RunFailed, firstErr.Error()
	}
	if err := e.store.FinishRun(context.WithoutCancel(ctx), run); err != nil && firstErr == nil {
		firstErr = err
	}
	rep.Run = run
	return rep, firstErr
}

func (e *Engine) undoEntry(ctx context.Context, a *applier, f *Flow, j store.JournalEntry, rep *UndoReport) error {
	tr := f.side(j.Side)
	cur, err := tr.Get(ctx, j.Target)
	if errors.Is(err, adapters.ErrNotFound) {
		rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: deleted since", j.Target))
		return e.store.JournalSetState(ctx, j.ID, store.JournalUndone)
	}
	if err != nil {
		return err
	}
	op := &Op{Kind: OpUpdate, Side: j.Side, LinkID: j.LinkID, Target: j.Target, IfVersion: cur.Version}
	for _, field := range sortedKeys(j.After) {
		now := f.Map.Value(j.Side, cur, field)
		if now != j.After[field] {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s %s: changed since run %d (now %s), left as it is", j.Target, field, j.RunID, short(now)))
			continue
		}
		op.Fields = append(op.Fields, FieldChange{Field: field, From: now, To: j.Before[field]})
	}
	if len(op.Fields) == 0 {
		return e.store.JournalSetState(ctx, j.ID, store.JournalUndone)
	}
	_, err = a.update(ctx, op, cur)
	if err != nil {
		return err
	}
	a.counts.Updated++
	for _, fc := range op.Fields {
		rep.Reverted = append(rep.Reverted, fmt.Sprintf("%s %s: %s -> %s", j.Target, fc.Field, short(fc.From), short(fc.To)))
	}
	// The pair's base keeps the values the run wrote, so the next sync
	// sees the revert as a change of this side and carries it to the
	// other side, whose value the run copied (or, if that side changed
	// since, settles the difference by the flow's policy or holds it).
	// Recording the reverted values instead would leave the pair split
	// with nothing to do: the other side still holds what the run copied.
	if j.LinkID != 0 {
		b, err := e.store.GetBase(ctx, j.LinkID)
		if err == nil {
			m := b.A
			if j.Side == store.SideB {
				m = b.B
			}
			for _, fc := range op.Fields {
				if _, ok := m[fc.Field]; ok {
					m[fc.Field] = fc.From
				}
			}
			if err := e.store.PutBase(ctx, b); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return e.store.JournalSetState(ctx, j.ID, store.JournalUndone)
}

// Resolve settles held conflict id: take "a" or "b" keeps that side's
// current value, take "value" writes value (in side A's vocabulary) to
// both. Both sides and the base are brought to the chosen value.
func (e *Engine) Resolve(ctx context.Context, f *Flow, id int64, take, value string) (store.Run, error) {
	c, err := e.store.GetConflict(ctx, id)
	if err != nil {
		return store.Run{}, fmt.Errorf("conflict %d: %w", id, err)
	}
	if c.State != store.ConflictOpen {
		return store.Run{}, fmt.Errorf("conflict %d is already %s", id, c.State)
	}
	if c.Flow != f.Map.Name {
		return store.Run{}, fmt.Errorf("conflict %d belongs to flow %s, not %s", id, c.Flow, f.Map.Name)
	}
	lockName := "flow:" + f.Map.Name
	rl, err := e.lockRun(ctx, lockName)
	if err != nil {
		return store.Run{}, fmt.Errorf("flow %s: %w", f.Map.Name, err)
	}
	defer e.store.Unlock(context.WithoutCancel(ctx), lockName, e.owner)
	defer e.renew(ctx, rl)()
	l, err := e.store.GetLink(ctx, c.LinkID)
	if err != nil {
		return store.Run{}, fmt.Errorf("conflict %d: link %d: %w", id, c.LinkID, err)
	}
	ia, err := f.A.Get(ctx, l.A)
	if err != nil {
		return store.Run{}, fmt.Errorf("conflict %d: reading %s: %w", id, l.A, err)
	}
	ib, err := f.B.Get(ctx, l.B)
	if err != nil {
		return store.Run{}, fmt.Errorf("conflict %d: reading %s: %w", id, l.B, err)
	}
	p := e.newPlanner(f)
	p.translate = e.parentTranslator(ctx, f, p)
	aVal, bVal := f.Map.Value(store.SideA, ia, c.Field), f.Map.Value(store.SideB, ib, c.Field)
	var chosen string
	switch take {
	case "a":
		chosen = aVal
	case "b":
		chosen = p.toSide(c.Field, store.SideA, bVal, aVal)
	case "value":
		chosen = value
	default:
		return store.Run{}, fmt.Errorf("conflict %d: --take must be a, b or value, not %q", id, take)
	}
	newB := p.toSide(c.Field, store.SideB, chosen, bVal)
	if take == "b" {
		newB = bVal
	}

	run, err := e.store.StartRun(ctx, f.Map.Name, false)
	if err != nil {
		return run, err
	}
	a := &applier{e: e, f: f, pl: p, runID: run.ID, lease: rl, counts: &run.Counts, log: e.log}
	base, err := e.store.GetBase(ctx, l.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return run, err
	}
	if base.A == nil {
		base = store.Base{LinkID: l.ID, A: map[string]string{}, B: map[string]string{}}
	}
	base.A[c.Field], base.B[c.Field] = chosen, newB
	var runErr error
	for _, w := range []struct {
		side     store.Side
		it       adapters.Item
		from, to string
	}{{store.SideA, ia, aVal, chosen}, {store.SideB, ib, bVal, newB}} {
		if w.from == w.to {
			continue
		}
		op := &Op{Kind: OpUpdate, Side: w.side, LinkID: l.ID, Target: l.Ref(w.side), IfVersion: w.it.Version,
			Fields: []FieldChange{{Field: c.Field, From: w.from, To: w.to}}}
		got, err := a.update(ctx, op, w.it)
		if err != nil {
			runErr = err
			break
		}
		run.Counts.Updated++
		if w.side == store.SideA {
			base.A[c.Field] = f.Map.Value(store.SideA, got, c.Field)
		} else {
			base.B[c.Field] = f.Map.Value(store.SideB, got, c.Field)
		}
	}
	if runErr == nil {
		base.SyncedAt = e.now().UTC()
		if err := e.store.PutBase(ctx, base); err != nil {
			runErr = err
		} else if err := e.store.ResolveConflict(ctx, id, take, chosen); err != nil {
			runErr = err
		}
	}
	run.State, run.FinishedAt = store.RunOK, e.now().UTC()
	if runErr != nil {
		run.State, run.Error = store.RunFailed, runErr.Error()
	}
	if err := e.store.FinishRun(context.WithoutCancel(ctx), run); err != nil && runErr == nil {
		runErr = err
	}
	return run, runErr
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
