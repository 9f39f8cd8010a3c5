package sync

import (
	"context"
	"log/slog"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// recordItems turns an applied plan into per-item history: one log line
// at info per item written (naming the item and its fields; debug adds
// the values) and, when the store keeps them (store.RunItemStore), the
// run's items for `tracksync runs show`. A write whose error names the
// item (errors name the item they are about) is recorded as failed with
// that error. A run that stopped short (err) records what it planned
// before the stop as planned, not done: those without an error are
// marked "not reached" unless the run finished.
func (e *Engine) recordItems(ctx context.Context, runID int64, plan *Plan, errs []error, runErr error, log *slog.Logger) {
	failure := func(op Op) string {
		for _, err := range errs {
			msg := err.Error()
			for _, r := range []adapters.Ref{op.Target, op.Source} {
				if !r.IsZero() && strings.Contains(msg, r.String()) {
					return msg
				}
			}
		}
		return ""
	}
	var items []store.RunItem
	for _, op := range plan.Ops {
		it := store.RunItem{LinkID: op.LinkID, Side: op.Side, Item: refString(op.Target), Source: refString(op.Source), Fields: []store.ItemField{}}
		for _, fc := range op.Fields {
			it.Fields = append(it.Fields, store.ItemField{Field: fc.Field, From: fc.From, To: fc.To})
		}
		switch op.Kind {
		case OpCreate:
			it.Action = store.ItemCreated
			if it.Item == "" {
				it.Item = string(op.Side) + ": copy of " + it.Source
			}
		case OpUpdate:
			it.Action = store.ItemUpdated
		case OpLink:
			it.Action = store.ItemLinked
		case OpUnlink:
			it.Action, it.Reason = store.ItemUnlinked, op.Reason
		case OpArchive:
			it.Action, it.Reason = store.ItemArchived, op.Reason
		case OpConflict:
			it.Action = store.ItemConflict
			if c := op.Conflict; c != nil {
				it.Fields = append(it.Fields, store.ItemField{Field: c.Field, From: c.A, To: c.B})
				it.Reason = "policy " + c.Policy
				if c.Winner == "" {
					it.Action, it.Reason = store.ItemSkipped, "conflict held for a person (policy "+c.Policy+")"
				} else {
					it.Reason += ": side " + c.Winner + " wins"
				}
			}
		default:
			continue // comment ops are counted, not itemised
		}
		if msg := failure(op); msg != "" {
			it.Action, it.Reason = store.ItemFailed, msg
		} else if runErr != nil && op.Kind.Writes() {
			it.Reason = strings.TrimSpace(it.Reason + " (the run stopped early: this write may not have been made)")
		}
		items = append(items, it)
		if op.Kind.Writes() || it.Action == store.ItemFailed {
			names := make([]string, len(it.Fields))
			for i, f := range it.Fields {
				names[i] = f.Field
			}
			attrs := []any{"item", it.Item, "action", it.Action, "fields", strings.Join(names, ",")}
			if it.Source != "" {
				attrs = append(attrs, "source", it.Source)
			}
			if it.Action == store.ItemFailed {
				log.Warn("write failed", append(attrs, "err", it.Reason)...)
			} else {
				log.Info("item written", attrs...)
			}
			for _, f := range it.Fields {
				log.Debug("field written", "item", it.Item, "field", f.Field, "from", f.From, "to", f.To)
			}
		}
	}
	for _, w := range plan.Warnings {
		items = append(items, store.RunItem{Action: store.ItemWarning, Fields: []store.ItemField{}, Reason: w})
	}
	rs, ok := e.store.(store.RunItemStore)
	if !ok || len(items) == 0 {
		return
	}
	if err := rs.AddRunItems(context.WithoutCancel(ctx), runID, items); err != nil {
		log.Warn("could not record the run's items (runs show will lack them)", "err", err)
	}
}

func refString(r adapters.Ref) string {
	if r.IsZero() {
		return ""
	}
	return r.String()
}
