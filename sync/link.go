package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// unlinkedPrefix marks the key of a pair a person unlinked (tracksync
// unlink): both sides are tombstoned and left alone by the flow, neither
// matched nor copied, until a person links them again.
const unlinkedPrefix = "unlinked:"

func isManualUnlink(l store.Link) bool { return strings.HasPrefix(l.Key, unlinkedPrefix) }

// LinkResult says what Link or Unlink did (or, dry, would do).
type LinkResult struct {
	Flow   string     `json:"flow"`
	Link   store.Link `json:"link"`
	DryRun bool       `json:"dry_run,omitempty"`
	// Note says what else happened: a hand-made unlink replaced.
	Note string `json:"note,omitempty"`
}

// Link links item a (on side A of f) with item b (on side B) by hand.
// Both are read first (a ref may name an item by key alone). The pair gets
// no base: the next run compares them like a pair matched on first
// contact, the flow's conflict policy settling (or holding) differences.
// An item the flow links already is an error naming its link; a pair a
// person unlinked earlier may be linked again.
func (e *Engine) Link(ctx context.Context, f *Flow, a, b adapters.Ref, dryRun bool) (*LinkResult, error) {
	name := f.Map.Name
	lockName := "flow:" + name
	if _, err := e.lock(ctx, lockName); err != nil {
		return nil, fmt.Errorf("flow %s: %w", name, err)
	}
	defer e.store.Unlock(context.WithoutCancel(ctx), lockName, e.owner)
	var items [2]adapters.Item
	for i, r := range []adapters.Ref{a, b} {
		s := []store.Side{store.SideA, store.SideB}[i]
		it, err := f.side(s).Get(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("flow %s: reading %s (side %s): %w", name, r, s, err)
		}
		items[i] = it
	}
	res := &LinkResult{Flow: name, DryRun: dryRun}
	var stale []store.Link
	for i, s := range []store.Side{store.SideA, store.SideB} {
		id := items[i].Ref.ID
		if l, err := e.store.FindLink(ctx, name, s, id); err == nil && l.Tombstone() {
			// The survivor of a deletion: its old pair is gone.
			stale = append(stale, l)
		} else if err == nil {
			return nil, fmt.Errorf("flow %s: %s is linked already (link %d, with %s): unlink it first (tracksync unlink --flow %s %s)",
				name, items[i].Ref, l.ID, l.Ref(s.Other()), name, items[i].Ref)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("flow %s: reading link of %s: %w", name, items[i].Ref, err)
		}
		if l, err := e.store.FindLink(ctx, name, s, tombPrefix+id); err == nil {
			stale = append(stale, l)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("flow %s: reading link of %s: %w", name, items[i].Ref, err)
		}
	}
	l := store.Link{Flow: name, Key: f.copyKey(store.SideA, items[0].Ref.ID), A: items[0].Ref, B: items[1].Ref}
	if len(stale) > 0 {
		res.Note = fmt.Sprintf("replaces %d earlier (unlinked or tombstoned) link(s) of these items", len(stale))
	}
	if dryRun {
		res.Link = l
		return res, nil
	}
	err := e.store.Tx(ctx, func(tx store.Ops) error {
		done := map[int64]bool{}
		for _, s := range stale {
			if done[s.ID] {
				continue
			}
			done[s.ID] = true
			if err := tx.DeleteLink(ctx, s.ID); err != nil {
				return fmt.Errorf("removing link %d: %w", s.ID, err)
			}
		}
		got, err := tx.CreateLink(ctx, l)
		if err != nil {
			return fmt.Errorf("linking %s with %s: %w", l.A, l.B, err)
		}
		l = got
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("flow %s: %w", name, err)
	}
	res.Link = l
	e.log.Info("linked by hand", "flow", name, "link", l.ID, "a", l.A.String(), "b", l.B.String())
	return res, nil
}

// Unlink forgets the pair holding item r (on side s of f), keeping both
// items. The flow leaves both alone from then on: neither is matched or
// copied again until a person links them (Link).
func (e *Engine) Unlink(ctx context.Context, f *Flow, s store.Side, r adapters.Ref, dryRun bool) (*LinkResult, error) {
	name := f.Map.Name
	lockName := "flow:" + name
	if _, err := e.lock(ctx, lockName); err != nil {
		return nil, fmt.Errorf("flow %s: %w", name, err)
	}
	defer e.store.Unlock(context.WithoutCancel(ctx), lockName, e.owner)
	id := r.ID
	if id == "" {
		it, err := f.side(s).Get(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("flow %s: reading %s (side %s): %w", name, r, s, err)
		}
		id = it.Ref.ID
	}
	l, err := e.store.FindLink(ctx, name, s, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("flow %s: %s is not linked (see tracksync links --flow %s)", name, r, name)
	}
	if err != nil {
		return nil, fmt.Errorf("flow %s: reading link of %s: %w", name, r, err)
	}
	res := &LinkResult{Flow: name, Link: l, DryRun: dryRun}
	if dryRun {
		return res, nil
	}
	u := l
	u.Key = unlinkedPrefix + l.Key
	u.A.ID, u.B.ID = tombPrefix+l.A.ID, tombPrefix+l.B.ID
	err = e.store.Tx(ctx, func(tx store.Ops) error {
		// The key changes, so a fresh link of these items (or a copy
		// found by the old key) never collides with this record.
		if err := tx.DeleteLink(ctx, l.ID); err != nil {
			return err
		}
		u.ID = 0
		got, err := tx.CreateLink(ctx, u)
		u = got
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("flow %s: unlinking link %d: %w", name, l.ID, err)
	}
	e.log.Info("unlinked by hand", "flow", name, "link", l.ID, "a", l.A.String(), "b", l.B.String())
	return res, nil
}
