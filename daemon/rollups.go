package daemon

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/tracksync/tracksync/initiatives"
	"github.com/tracksync/tracksync/rollup"
)

// Roll-ups in the daemon: a full Load at start and every FullEvery, an
// incremental Refresh after every sync run, on every accepted webhook and
// every RollupEvery. Kicks coalesce: a burst of webhooks costs one
// refresh (plus one if a kick lands while it runs).

// kickRollups asks for a roll-up refresh; flow, when set, is a flow that
// just ran, whose links are re-read.
func (d *Daemon) kickRollups(flow string) {
	if d.cfg.Rollups == nil {
		return
	}
	if flow != "" {
		d.cfg.Rollups.MarkFlow(flow)
	}
	select {
	case d.rollupKick <- struct{}{}:
	default: // one is already pending
	}
}

// rollupLoop runs until ctx ends.
func (d *Daemon) rollupLoop(ctx context.Context) {
	svc := d.cfg.Rollups
	tick := time.NewTicker(d.cfg.RollupEvery)
	defer tick.Stop()
	lastFull := time.Time{}
	for {
		full := time.Since(lastFull) >= d.cfg.FullEvery
		start := time.Now()
		var res initiatives.Result
		var err error
		if full {
			res, err = svc.Load(ctx)
			if err == nil || svc.Initialised() {
				lastFull = start
			}
		} else {
			res, err = svc.Refresh(ctx)
		}
		d.metrics.observeRollup(res, err, time.Since(start), svc)
		if err != nil && ctx.Err() == nil {
			d.log.Error("roll-up refresh failed; retried at the next kick or tick", "full", full, "err", err)
		} else if len(res.Changed) > 0 {
			d.log.Info("roll-ups updated", "full", full, "initiatives", len(res.Changed), "created", len(res.Created), "written", res.Written)
		}
		if d.notifier != nil && len(res.Changed) > 0 {
			d.notifier.Kick() // at-risk and date events are in the outbox
		}
		if d.cfg.OnRollup != nil {
			d.cfg.OnRollup(res, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.rollupKick:
		case <-tick.C:
		}
	}
}

// dashboard serves the roll-up dashboard: server-rendered HTML, inline CSS
// and SVG, no scripts.
func (d *Daemon) dashboard(w http.ResponseWriter, r *http.Request) {
	rep, footer, err := d.report(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := rollup.WriteHTML(&buf, rep, rollup.HTMLOptions{Refresh: 60, Footer: footer}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// rollupsJSON is the dashboard's data as JSON (the rollup --format json shape).
func (d *Daemon) rollupsJSON(w http.ResponseWriter, r *http.Request) {
	rep, _, err := d.report(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := rollup.WriteJSON(&buf, rep); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

func (d *Daemon) report(r *http.Request) (rollup.Report, string, error) {
	svc := d.cfg.Rollups
	if svc == nil {
		return rollup.Report{Generated: time.Now()}, "No initiatives section in the config: only sync flows run. See /status.", nil
	}
	rep, err := svc.Report(r.Context(), 90, r.URL.Query().Get("initiative"))
	if err != nil {
		return rep, "", err
	}
	last, lerr := svc.Status()
	footer := "Roll-ups not read yet: the first read is running."
	if !last.IsZero() {
		footer = fmt.Sprintf("Full read of the trackers at %s; updated on every sync run and webhook.", last.Format("2006-01-02 15:04:05 MST"))
	}
	if lerr != nil {
		footer += " Last refresh failed: " + lerr.Error()
	}
	return rep, footer, nil
}
