package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/store"
)

// Explanation is what a flow does with one item, and why.
type Explanation struct {
	Flow string       `json:"flow"`
	Side store.Side   `json:"side"` // the item's side in the flow
	Item adapters.Ref `json:"item"`
	// Linked is set when the item has a live counterpart in the flow.
	Linked      bool          `json:"linked"`
	LinkID      int64         `json:"link_id,omitempty"`
	Counterpart *adapters.Ref `json:"counterpart,omitempty"`
	// Next lists what the next run does for the item ("nothing" when
	// nothing); Reasons say why, including for nothing.
	Next    []string           `json:"next"`
	Reasons []string           `json:"reasons"`
	Fields  []FieldExplanation `json:"fields"`
}

// FieldExplanation is one synced field of a linked pair.
type FieldExplanation struct {
	Field     string `json:"field"`
	Direction string `json:"direction"`
	Owner     string `json:"owner,omitempty"`
	BaseA     string `json:"base_a"`
	BaseB     string `json:"base_b"`
	A         string `json:"a"`
	B         string `json:"b"`
	Next      string `json:"next"` // "nothing", "write b: x -> y", "conflict held"
	Why       string `json:"why"`
}

// Explain says what the next run of f would do with item it on side s,
// and why: whether it is linked, each field's base and both current
// values, the planned writes, and for what is not written the reason
// (the flow's or the field's direction, a field's owner, the conflict
// policy, the scope, a status the map lacks, a user the users table
// lacks, a write the tracker refused in a recent run, with its message).
// It plans a full run (reading every item in scope) and writes nothing.
func (e *Engine) Explain(ctx context.Context, f *Flow, s store.Side, it adapters.Item) (*Explanation, error) {
	name := f.Map.Name
	x := &Explanation{Flow: name, Side: s, Item: it.Ref, Next: []string{}, Reasons: []string{}, Fields: []FieldExplanation{}}
	plan, err := e.plan(ctx, f, RunOptions{Full: true})
	if err != nil {
		return nil, fmt.Errorf("flow %s: planning a full run: %w", name, err)
	}
	other := s.Other()
	l, err := e.store.FindLink(ctx, name, s, it.Ref.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		e.explainUnlinked(f, plan, s, it, x)
		e.refused(ctx, f, it.Ref, nil, x)
		return x, nil
	case err != nil:
		return nil, fmt.Errorf("flow %s: reading the link of %s: %w", name, it.Ref, err)
	}
	x.LinkID = l.ID
	cp := l.Ref(other)
	if isTombstone(l) {
		x.Next = append(x.Next, "nothing")
		x.Reasons = append(x.Reasons, fmt.Sprintf("unlinked: its counterpart was deleted or left the scope (link %d is kept so the item is not copied again)", l.ID))
		return x, nil
	}
	x.Linked, x.Counterpart = true, &cp
	for _, op := range plan.Ops {
		if op.LinkID == l.ID && op.Kind != OpUpdate && op.Kind != OpConflict {
			x.Next = append(x.Next, op.String())
		}
	}
	a, b := it, adapters.Item{}
	if s == store.SideB {
		a, b = b, it
	}
	cpItem, err := f.side(other).Get(ctx, cp)
	if err != nil {
		if errors.Is(err, adapters.ErrNotFound) {
			x.Reasons = append(x.Reasons, fmt.Sprintf("its counterpart %s is gone; the next run %s", cp, onDeleteWords(f.Map.OnDelete)))
			if len(x.Next) == 0 {
				x.Next = append(x.Next, "nothing")
			}
			return x, nil
		}
		return nil, fmt.Errorf("flow %s: reading counterpart %s: %w", name, cp, err)
	}
	if s == store.SideA {
		b = cpItem
	} else {
		a = cpItem
	}
	base, err := e.store.GetBase(ctx, l.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("flow %s: reading the base of link %d: %w", name, l.ID, err)
	}
	for _, r := range f.Map.Rules {
		fx := FieldExplanation{Field: r.Field, Direction: string(r.Direction), Owner: string(r.Owner),
			BaseA: base.A[r.Field], BaseB: base.B[r.Field],
			A: f.Map.Value(store.SideA, a, r.Field), B: f.Map.Value(store.SideB, b, r.Field), Next: "nothing"}
		e.explainField(f, plan, l.ID, r, &fx)
		if fx.Next != "nothing" {
			x.Next = append(x.Next, r.Field+": "+fx.Next)
		}
		x.Fields = append(x.Fields, fx)
	}
	if len(x.Next) == 0 {
		x.Next = append(x.Next, "nothing")
		x.Reasons = append(x.Reasons, "linked to "+cp.String()+"; every synced field agrees or is not written (see fields)")
	}
	e.refused(ctx, f, it.Ref, &cp, x)
	return x, nil
}

func onDeleteWords(onDelete string) string {
	switch onDelete {
	case mapping.OnDeleteClose:
		return "closes this item (on_delete: close) once the listing reports the deletion"
	case mapping.OnDeleteIgnore:
		return "keeps the link and reports it (on_delete: ignore)"
	}
	return "unlinks them (on_delete: unlink) once the listing reports the deletion"
}

// explainUnlinked says why an item without a link is (not) copied.
func (e *Engine) explainUnlinked(f *Flow, plan *Plan, s store.Side, it adapters.Item, x *Explanation) {
	for _, op := range plan.Ops {
		if (op.Kind == OpCreate || op.Kind == OpLink) && op.Source.ID == it.Ref.ID {
			x.Next = append(x.Next, op.String())
			x.Reasons = append(x.Reasons, fmt.Sprintf("not linked yet; it is in the flow's scope on %s", f.side(s).Name()))
			return
		}
	}
	x.Next = append(x.Next, "nothing")
	scope := f.scope(s)
	switch {
	case !f.Map.Direction.Allows(s.Other()):
		x.Reasons = append(x.Reasons, fmt.Sprintf("direction %s: items on side %s are not copied to side %s", f.Map.Direction, s, s.Other()))
	case !f.Map.Create:
		x.Reasons = append(x.Reasons, "not linked, and the flow has create: false: only items linked already sync")
	default:
		x.Reasons = append(x.Reasons, fmt.Sprintf("out of scope: a full listing of %s with scope %q does not return it", f.side(s).Name(), scope))
	}
}

// explainField fills fx.Next and fx.Why for one field of link id.
func (e *Engine) explainField(f *Flow, plan *Plan, id int64, r mapping.Rule, fx *FieldExplanation) {
	for _, op := range plan.Ops {
		if op.LinkID != id {
			continue
		}
		if op.Kind == OpConflict && op.Conflict != nil && op.Conflict.Field == r.Field {
			c := op.Conflict
			switch {
			case c.Winner == "":
				fx.Next = "conflict held for a person (tracksync conflicts list)"
				fx.Why = fmt.Sprintf("both sides changed it since the last sync; policy %s holds it", c.Policy)
			case r.Owner != "":
				fx.Next = "conflict settled: side " + c.Winner + " wins"
				fx.Why = fmt.Sprintf("both sides changed it; side %s owns the field (owner: %s)", r.Owner, r.Owner)
			default:
				fx.Next = "conflict settled: side " + c.Winner + " wins"
				fx.Why = fmt.Sprintf("both sides changed it; policy %s", c.Policy)
			}
			return
		}
		if op.Kind == OpUpdate {
			for _, fc := range op.Fields {
				if fc.Field == r.Field {
					fx.Next = fmt.Sprintf("write %s: %q -> %q", op.Side, fc.From, fc.To)
					if fx.Why == "" {
						fx.Why = fmt.Sprintf("side %s changed it since the last sync", op.Side.Other())
					}
				}
			}
		}
	}
	warnings := func() []string {
		var out []string
		for _, to := range []store.Side{store.SideB, store.SideA} {
			from, cur := fx.A, fx.B
			if to == store.SideA {
				from, cur = fx.B, fx.A
			}
			if (to == store.SideB && from == fx.BaseA) || (to == store.SideA && from == fx.BaseB) {
				continue // unchanged since the last sync: not copied either way
			}
			got, w := f.Map.Translate(r.Field, to, from, cur)
			out = append(out, w...)
			if r.Field == adapters.FieldStatus && len(w) == 0 && f.Map.StatusUnmapped(to.Other(), from) {
				out = append(out, fmt.Sprintf("status %q of side %s is not in %s.fields.status.map: its category (%s) picks %q on side %s",
					from, to.Other(), f.Map.Path, f.Map.StatusCategory(to.Other(), from), got, to))
			}
		}
		return out
	}
	if fx.Next != "nothing" {
		if w := warnings(); len(w) > 0 {
			fx.Why += "; " + strings.Join(w, "; ")
		}
		return
	}
	if fx.A == fx.B {
		fx.Why = "in agreement"
		return
	}
	aChanged, bChanged := fx.A != fx.BaseA, fx.B != fx.BaseB
	if w := warnings(); len(w) > 0 {
		fx.Why = strings.Join(w, "; ")
		return
	}
	if f.Map.Equivalent(r.Field, fx.A, fx.B) {
		fx.Why = "in agreement through the mapping"
		return
	}
	switch {
	case bChanged && !r.Direction.Allows(store.SideA):
		fx.Why = fmt.Sprintf("direction %s: side b's change is not copied to side a", r.Direction)
	case aChanged && !r.Direction.Allows(store.SideB):
		fx.Why = fmt.Sprintf("direction %s: side a's change is not copied to side b", r.Direction)
	default:
		fx.Why = "the sides differ but no run writes it (see tracksync check)"
	}
}

// refused adds the recent runs whose errors name the item or its
// counterpart: a write the tracker refused, with its message.
func (e *Engine) refused(ctx context.Context, f *Flow, ref adapters.Ref, cp *adapters.Ref, x *Explanation) {
	runs, err := e.store.ListRuns(ctx, f.Map.Name, 10)
	if err != nil {
		return
	}
	names := []string{ref.String()}
	if cp != nil {
		names = append(names, cp.String())
	}
	for _, r := range runs {
		if r.Error == "" {
			continue
		}
		for _, part := range strings.Split(r.Error, "; ") {
			for _, n := range names {
				if strings.Contains(part, n) || (ref.Key != "" && strings.Contains(part, ref.Key)) {
					x.Reasons = append(x.Reasons, fmt.Sprintf("run %d: a write was refused: %s", r.ID, part))
					return
				}
			}
		}
	}
}
