package sync

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// planRun is one Engine.plan, in named steps that share its state:
// list both sides, find the links the listings touch, read each linked
// pair's sides, diff the pairs, plan the unlinked items (revived links,
// matches, creates), and finish the plan.
type planRun struct {
	e    *Engine
	f    *Flow
	name string
	plan *Plan
	p    *planner
	full bool

	lists [2]*listing
	// deleted are the ids each listing reported deleted.
	deleted [2]map[string]bool

	// links touched by this run, by id, in the order found, and the items
	// already paired (side index -> item id -> link id). allLinks: every
	// link of the flow, on full runs only.
	links     map[int64]store.Link
	linkOrder []int64
	linkedBy  [2]map[string]int64
	allLinks  []store.Link
	// bases of every link, on full runs (incremental runs read each
	// pair's own).
	bases map[int64]store.Base

	states []linkState
	ops    []*Op
}

// linkState is what readPairs found of a link's two sides.
type linkState struct {
	l       store.Link
	items   [2]adapters.Item
	gone    [2]bool
	base    store.Base
	hasBase bool
}

// list reads both cursors and lists both sides: in full when asked, or
// when a side has no cursor yet.
func (r *planRun) list(ctx context.Context, full bool) error {
	e, f, name, plan := r.e, r.f, r.name, r.plan
	curA, err := e.store.GetCursor(ctx, name, store.SideA)
	if err != nil {
		return fmt.Errorf("flow %s: reading cursor: %w", name, err)
	}
	curB, err := e.store.GetCursor(ctx, name, store.SideB)
	if err != nil {
		return fmt.Errorf("flow %s: reading cursor: %w", name, err)
	}
	r.full = full || curA == "" || curB == ""
	if r.full {
		curA, curB = "", ""
	}
	plan.Full = r.full
	la, err := e.listSide(ctx, f, store.SideA, curA, plan)
	if err != nil {
		return err
	}
	lb, err := e.listSide(ctx, f, store.SideB, curB, plan)
	if err != nil {
		return err
	}
	plan.Cursors = [2]string{la.cursor, lb.cursor}
	r.lists = [2]*listing{la, lb}
	r.deleted = [2]map[string]bool{{}, {}}
	for i := range r.lists {
		for _, d := range r.lists[i].deleted {
			r.deleted[i][d.ID] = true
		}
	}

	r.p = e.newPlanner(f)
	for _, s := range plan.Relisted {
		r.p.warnings = append(r.p.warnings, fmt.Sprintf("the listing cursor of side %s (%s) had expired: that side was listed in full", s, f.side(s).Name()))
	}
	r.p.translate = e.parentTranslator(ctx, f, r.p)
	return nil
}

// loadLinks finds the links this run touches: every link of the flow
// (and every base) on a full run, the links of the listed items
// otherwise.
func (r *planRun) loadLinks(ctx context.Context) error {
	e, name, plan := r.e, r.name, r.plan
	r.links = map[int64]store.Link{}
	r.linkedBy = [2]map[string]int64{{}, {}}
	add := func(l store.Link) {
		if _, seen := r.links[l.ID]; !seen {
			r.links[l.ID] = l
			r.linkOrder = append(r.linkOrder, l.ID)
		}
		r.linkedBy[0][l.A.ID] = l.ID
		r.linkedBy[1][l.B.ID] = l.ID
	}
	if r.full {
		all, err := e.store.ListLinks(ctx, name)
		if err != nil {
			return fmt.Errorf("flow %s: reading links: %w", name, err)
		}
		r.allLinks = all
		for _, l := range all {
			if !l.Tombstone() {
				plan.Linked++
			}
			add(l)
		}
		r.bases, err = e.store.ListBases(ctx, name)
		if err != nil {
			return fmt.Errorf("flow %s: reading bases: %w", name, err)
		}
		return nil
	}
	for i, s := range []store.Side{store.SideA, store.SideB} {
		ids := append([]string{}, r.lists[i].order...)
		for _, d := range r.lists[i].deleted {
			ids = append(ids, d.ID)
		}
		for _, id := range ids {
			l, err := e.store.FindLink(ctx, name, s, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("flow %s: reading link of %s: %w", name, id, err)
			}
			add(l)
		}
	}
	plan.Linked = -1 // counted by finish, in one query
	return nil
}

// readPairs is the first of two passes over the links: what each link's
// sides are, and which are gone (deleted, or out of a full listing), so
// that diffPairs never writes a parent whose counterpart is gone. A side
// not listed is read; a pair listed only because of tracksync's own
// writes of the last run is skipped.
func (r *planRun) readPairs(ctx context.Context) error {
	f, name, p, lists, deleted := r.f, r.name, r.p, r.lists, r.deleted
	for _, id := range r.linkOrder {
		l := r.links[id]
		if isTombstone(l) {
			continue
		}
		st := linkState{l: l}
		if !r.full {
			b, err := r.e.store.GetBase(ctx, l.ID)
			if err == nil {
				st.base, st.hasBase = b, true
			} else if !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("flow %s: reading base of link %d: %w", name, l.ID, err)
			}
			if st.hasBase && ownWrite(p, st.base, lists, l, deleted) {
				// Listed only because of tracksync's own writes of the
				// last run: both sides are as that run left them.
				continue
			}
		}
		for i, s := range []store.Side{store.SideA, store.SideB} {
			ref := l.Ref(s)
			if deleted[i][ref.ID] {
				st.gone[i] = true
				continue
			}
			if it, ok := lists[i].items[ref.ID]; ok {
				st.items[i] = it
				continue
			}
			it, err := f.side(s).Get(ctx, ref)
			if errors.Is(err, adapters.ErrNotFound) {
				st.gone[i] = true
				continue
			}
			it.AllComments = true // Get reads comments too (the Tracker contract)
			if err != nil {
				return fmt.Errorf("flow %s: reading %s: %w", name, ref, err)
			}
			if r.full && it.SyncKey != l.Key {
				// Linked but not in a full listing: it left the scope.
				// (tracksync's own copy is exempt: a copy may not match a
				// scope the flow cannot write, e.g. a label filter, and
				// must not be taken for a departure.)
				st.gone[i] = true
			}
			st.items[i] = it
		}
		if st.gone[0] || st.gone[1] {
			p.goneLinks[l.ID] = true
		}
		r.states = append(r.states, st)
	}
	return nil
}

// diffPairs is the second pass: a pair with a side gone follows
// on_delete; the others are diffed (with their comments, read only where
// a side may have new ones).
func (r *planRun) diffPairs(ctx context.Context) error {
	p, plan := r.p, r.plan
	for _, st := range r.states {
		l, items, gone := st.l, st.items, st.gone
		if gone[0] || gone[1] {
			r.ops = append(r.ops, r.e.planGone(p, r.f, l, gone, items)...)
			continue
		}
		in := &pairInput{link: l, a: items[0], b: items[1]}
		if r.full {
			in.base, in.hasBase = r.bases[l.ID]
		} else {
			in.base, in.hasBase = st.base, st.hasBase
		}
		_, inA := r.lists[0].items[l.A.ID]
		_, inB := r.lists[1].items[l.B.ID]
		if r.full {
			// A full listing returns everything: read comments only of
			// items updated since the pair was last synced, or a full
			// reconcile would read every item's comments.
			since := in.base.SyncedAt.Add(-clockSkew)
			inA = !in.hasBase || items[0].UpdatedAt.After(since)
			inB = !in.hasBase || items[1].UpdatedAt.After(since)
		}
		if (p.comments[0] || p.comments[1]) && (inA || inB) {
			if err := r.e.loadComments(ctx, r.f, in); err != nil {
				return err
			}
		}
		pp := p.diffPair(in)
		plan.pairs = append(plan.pairs, pp)
		r.ops = append(r.ops, pairOps(pp)...)
	}
	return nil
}

// planUnlinked plans the listed items no link holds: one whose tombstoned
// link shows it back in scope revives that link; the rest are matched
// with their counterparts (match.go), and what stays unmatched is copied
// to the other side when the flow allows it.
func (r *planRun) planUnlinked(ctx context.Context) error {
	e, f, name, p, plan, lists := r.e, r.f, r.name, r.p, r.plan, r.lists
	tombs := [2]map[string]store.Link{{}, {}}
	for _, l := range r.allLinks {
		for i, ref := range []adapters.Ref{l.A, l.B} {
			if id, ok := strings.CutPrefix(ref.ID, tombPrefix); ok {
				tombs[i][id] = l
			}
		}
	}
	claimed := [2]map[string]bool{{}, {}}
	var unlinked [2][]string
	for i, s := range []store.Side{store.SideA, store.SideB} {
		o := 1 - i
		for _, id := range lists[i].order {
			if _, linked := r.linkedBy[i][id]; linked || claimed[i][id] {
				continue
			}
			it := lists[i].items[id]
			l, found := tombs[i][id]
			if !r.full {
				var err error
				l, err = e.store.FindLink(ctx, name, s, tombPrefix+id)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("flow %s: reading link of %s: %w", name, it.Ref, err)
				}
				found = err == nil
			}
			if found && isManualUnlink(l) {
				continue // unlinked by hand: left alone on both sides
			}
			if found {
				// It left the scope earlier and is back: revive its link.
				rops, err := e.planRelink(ctx, p, plan, f, l, s, it)
				if err != nil {
					return err
				}
				r.ops = append(r.ops, rops...)
				claimed[o][strings.TrimPrefix(l.Ref(s.Other()).ID, tombPrefix)] = true
				continue
			}
			unlinked[i] = append(unlinked[i], id)
		}
	}
	plan.FirstContact = r.full && len(r.allLinks) == 0
	m, err := e.match(ctx, f, p, lists, unlinked, r.linkedBy, r.full)
	if err != nil {
		return err
	}
	plan.Unlinked = m.unknown
	for _, mp := range m.pairs {
		key := mp.key
		if key == "" {
			key = f.copyKey(store.SideA, mp.a.Ref.ID)
		}
		lops, err := e.planLink(ctx, p, plan, f, mp.a, mp.b, key, mp.rule, mp.why, mp.base)
		if err != nil {
			return err
		}
		r.ops = append(r.ops, lops...)
	}
	plan.Ambiguous = m.amb
	for i, s := range []store.Side{store.SideA, store.SideB} {
		if !f.Map.Create || !directionAllows(f.Map.Direction, s.Other()) {
			continue
		}
		for _, id := range unlinked[i] {
			it, ok := m.un[i][id]
			if !ok || m.held[i][id] {
				continue
			}
			item, base := p.createItem(it, s.Other())
			op := &Op{Kind: OpCreate, Side: s.Other(), LinkKey: f.copyKey(s, id), Source: it.Ref, Item: &item}
			op.pair = &pairPlan{in: &pairInput{}, base: base}
			if s == store.SideA {
				op.pair.in.a = it
			} else {
				op.pair.in.b = it
			}
			r.ops = append(r.ops, op)
		}
	}
	return nil
}

// finish orders the ops (creates parents first, so a child's parent is
// linked by the time the child is created and its parent can be
// translated), hands the planner's warnings and errors to the plan, and
// counts the links an incremental run did not read.
func (r *planRun) finish(ctx context.Context) error {
	plan, p, ops := r.plan, r.p, r.ops
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].Kind != OpCreate || ops[j].Kind != OpCreate {
			return false
		}
		return kindRank(ops[i].Item.Kind) < kindRank(ops[j].Item.Kind)
	})
	if err := p.takeErr(); err != nil {
		return err
	}
	plan.Warnings = p.warnings
	plan.planner = p
	plan.Ops = make([]Op, 0, len(ops))
	for _, op := range ops {
		plan.Ops = append(plan.Ops, *op)
	}
	sortOps(plan.Ops)
	plan.opPtrs = ops
	if plan.Linked < 0 {
		// An incremental run reads only the links of listed items; the
		// valve and `tracksync plan` need them all.
		n, err := r.e.store.CountLinks(ctx, r.name)
		if err != nil {
			return fmt.Errorf("flow %s: counting links: %w", r.name, err)
		}
		plan.Linked = n
	}
	return nil
}
