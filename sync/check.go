package sync

import (
	"context"
	"errors"
	"fmt"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// DriftItem is one way a linked pair disagrees that no pending change
// explains: the next run would not fix it.
type DriftItem struct {
	Flow   string       `json:"flow"`
	LinkID int64        `json:"link_id"`
	A      adapters.Ref `json:"a"`
	B      adapters.Ref `json:"b"`
	// Field is the field that differs; "" when the pair itself is broken
	// (a counterpart is gone).
	Field  string `json:"field,omitempty"`
	AValue string `json:"a_value,omitempty"`
	BValue string `json:"b_value,omitempty"`
	// BaseA and BaseB are what both sides last agreed on.
	BaseA  string `json:"base_a,omitempty"`
	BaseB  string `json:"base_b,omitempty"`
	Reason string `json:"reason"`
}

// CheckReport is the outcome of Check for one flow.
type CheckReport struct {
	Flow string `json:"flow"`
	// Linked is how many live links the flow has; Compared how many pairs
	// were read and compared field by field.
	Linked   int `json:"linked"`
	Compared int `json:"compared"`
	// Pending counts differences the next run writes (so not drift).
	Pending int         `json:"pending"`
	Drift   []DriftItem `json:"drift"`
}

// Check compares every linked pair of f field by field through the
// flow's mapping, writing nothing, and reports the differences that no
// pending change explains: what the next (incremental) run would plan is
// pending, not drift. Drift is a change the listing cursor went past, a
// pair that disagrees through the current mapping although neither side
// changed since the last sync, or a counterpart that is gone.
//
// Comments are not compared (they are copied, not kept equal), and a
// parent whose item is not linked is left out.
func (e *Engine) Check(ctx context.Context, f *Flow) (*CheckReport, error) {
	name := f.Map.Name
	plan, err := e.plan(ctx, f, RunOptions{})
	if err != nil {
		return nil, fmt.Errorf("flow %s: planning the next run: %w", name, err)
	}
	pending := map[int64]map[string]bool{}
	mark := func(id int64, field string) {
		if pending[id] == nil {
			pending[id] = map[string]bool{}
		}
		pending[id][field] = true
	}
	for _, op := range plan.Ops {
		switch {
		case op.Kind == OpUnlink || op.Kind == OpArchive:
			mark(op.LinkID, "*")
		case op.Conflict != nil:
			mark(op.LinkID, op.Conflict.Field)
		}
		for _, fc := range op.Fields {
			mark(op.LinkID, fc.Field)
		}
	}
	links, err := e.store.ListLinks(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("flow %s: reading links: %w", name, err)
	}
	rep := &CheckReport{Flow: name, Drift: []DriftItem{}}
	p := &planner{unresolved: map[string]bool{}, goneLinks: map[int64]bool{}}
	translate := e.parentTranslator(ctx, f, p)
	for _, l := range links {
		if isTombstone(l) {
			continue
		}
		rep.Linked++
		item := DriftItem{Flow: name, LinkID: l.ID, A: l.A, B: l.B}
		a, errA := f.A.Get(ctx, l.A)
		b, errB := f.B.Get(ctx, l.B)
		gone := ""
		for _, x := range []struct {
			err  error
			side store.Side
			ref  adapters.Ref
		}{{errA, store.SideA, l.A}, {errB, store.SideB, l.B}} {
			switch {
			case x.err == nil:
			case errors.Is(x.err, adapters.ErrNotFound):
				gone = fmt.Sprintf("the %s item %s is gone (deleted, moved or no longer readable) and the link remains", x.side, x.ref)
			default:
				return nil, fmt.Errorf("flow %s: reading %s: %w", name, x.ref, x.err)
			}
		}
		if gone != "" {
			if pending[l.ID]["*"] {
				rep.Pending++
			} else {
				item.Reason = gone
				rep.Drift = append(rep.Drift, item)
			}
			continue
		}
		rep.Compared++
		base, err := e.store.GetBase(ctx, l.ID)
		hasBase := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("flow %s: reading the base of link %d: %w", name, l.ID, err)
		}
		for _, r := range f.Map.Rules {
			av, bv := f.Map.Value(store.SideA, a, r.Field), f.Map.Value(store.SideB, b, r.Field)
			if agree(translate, r.Field, av, bv) || p.unresolved[av] || p.unresolved[bv] {
				continue
			}
			if pending[l.ID][r.Field] || pending[l.ID]["*"] {
				rep.Pending++
				continue
			}
			d := item
			d.Field, d.AValue, d.BValue = r.Field, av, bv
			if hasBase {
				d.BaseA, d.BaseB = base.A[r.Field], base.B[r.Field]
			}
			d.Reason = driftReason(hasBase, av != d.BaseA, bv != d.BaseB)
			rep.Drift = append(rep.Drift, d)
		}
		if err := p.takeErr(); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// agree reports whether side A's value av and side B's bv of field mean
// the same through the mapping, either way. Set elements one side has no
// counterpart for (an assignee missing from the users table) are not
// differences: a run keeps them rather than removing them.
func agree(translate translateFunc, field, av, bv string) bool {
	if av == bv {
		return true
	}
	for _, to := range []store.Side{store.SideB, store.SideA} {
		v, cur := av, bv
		if to == store.SideA {
			v, cur = bv, av
		}
		out, _ := translate(field, to, v, cur)
		if adapters.IsListField(field) && cur != "" {
			have, _ := adapters.DecodeList(cur)
			keep, _ := adapters.DecodeList(out)
			for _, e := range have {
				if back, _ := translate(field, to.Other(), adapters.EncodeList([]string{e}), ""); back == "" {
					keep = append(keep, e)
				}
			}
			out = adapters.EncodeList(adapters.NormalizeList(keep))
			cur = adapters.EncodeList(adapters.NormalizeList(have))
		}
		if out == cur {
			return true
		}
	}
	return false
}

func driftReason(hasBase, aChanged, bChanged bool) string {
	switch {
	case !hasBase:
		return "the pair differs and no base was recorded for it; no pending run writes it"
	case aChanged && bChanged:
		return "both sides changed since the last sync and no pending run settles it (the listing cursors are past the changes)"
	case aChanged:
		return "side a changed since the last sync and no pending run copies it (the listing cursor is past the change)"
	case bChanged:
		return "side b changed since the last sync and no pending run copies it (the listing cursor is past the change)"
	}
	return "neither side changed since the last sync, yet they differ through the current mapping (the mapping changed, or a write did not hold)"
}
