package daemon

import (
	"context"
	"time"

	tsync "github.com/tracksync/tracksync/sync"
)

// driftState is a flow's latest scheduled drift check, for /status.
type driftState struct {
	At      time.Time          `json:"checked_at"`
	Items   int                `json:"drift_items"`
	Pending int                `json:"pending"`
	Error   string             `json:"error,omitempty"`
	Drift   []tsync.DriftItem  `json:"drift,omitempty"`
	report  *tsync.CheckReport // nil when the check failed
}

// driftLoop runs the drift check (tracksync check) over every flow every
// CheckEvery, the first time one interval after start.
func (d *Daemon) driftLoop(ctx context.Context) {
	repeat(ctx, d.cfg.CheckEvery, false, func() { d.CheckDrift(ctx) })
}

// repeat calls fn every interval until ctx ends; first at once when now
// is set, else one interval after the start.
func repeat(ctx context.Context, interval time.Duration, now bool, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	if now {
		fn()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}

// CheckDrift checks every flow for drift now, one at a time and never
// while the flow syncs, and records the outcome (tracksync_drift_items,
// /status). A flow whose check fails keeps its metric and says why.
func (d *Daemon) CheckDrift(ctx context.Context) {
	fs := d.flows()
	for _, name := range fs.Order {
		if ctx.Err() != nil {
			return
		}
		d.mu.Lock()
		fm := d.flowMu[name]
		d.mu.Unlock()
		if fm == nil {
			continue
		}
		fm.Lock()
		rep, err := d.eng.Check(ctx, fs.ByName[name])
		fm.Unlock()
		if err != nil && ctx.Err() != nil {
			return // the daemon is stopping
		}
		st := driftState{At: time.Now(), report: rep}
		if err != nil {
			st.Error = err.Error()
			d.log.Warn("drift check failed", "flow", name, "err", err)
		} else {
			st.Items, st.Pending, st.Drift = len(rep.Drift), rep.Pending, rep.Drift
			d.metrics.drift.WithLabelValues(name).Set(float64(len(rep.Drift)))
			if len(rep.Drift) > 0 {
				d.log.Warn("linked items disagree and no pending run fixes it (see `tracksync check`)", "flow", name, "drift_items", len(rep.Drift))
			}
		}
		d.mu.Lock()
		d.drift[name] = st
		d.mu.Unlock()
		if d.cfg.OnCheck != nil {
			d.cfg.OnCheck(name, rep, err)
		}
	}
}

// driftOf is flow's latest drift check, or nil before the first.
func (d *Daemon) driftOf(flow string) *driftState {
	d.mu.Lock()
	defer d.mu.Unlock()
	st, ok := d.drift[flow]
	if !ok {
		return nil
	}
	return &st
}
