package daemon

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/redact"
	"github.com/tracksync/tracksync/notify"
	"github.com/tracksync/tracksync/store"
)

// Notify is the daemon's notification set-up: the worker that delivers
// the outbox to the sinks, and the periodic events no single change causes
// (a flow stale for too long, the weekly digest).
type Notify struct {
	Targets []notify.Target
	// Render words the messages; an empty Dashboard links the daemon's
	// own address.
	Render notify.Renderer
	// StaleAfter: a flow with no successful run for this long is
	// announced, once per stale stretch (0: never).
	StaleAfter time.Duration
	// Digest: when the weekly digest goes out (Weekday "": never).
	Digest config.DigestSchedule
	// Poll is how often the worker looks at the outbox (default 5s) and
	// Check how often stale flows and the digest are looked at (1m).
	Poll, Check time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

// NotifyFrom builds the daemon's notification set-up from the config's
// section (nil when there is none).
func NotifyFrom(nc *config.Notifications) (*Notify, error) {
	if nc == nil {
		return nil, nil
	}
	targets, render, err := notify.FromConfig(nc, nil)
	if err != nil {
		return nil, err
	}
	return &Notify{Targets: targets, Render: render, StaleAfter: nc.StaleAfter, Digest: nc.Digest}, nil
}

// withDefaults is a copy of n with the notification defaults set.
func withDefaults(n Notify) *Notify {
	if n.Poll <= 0 {
		n.Poll = 5 * time.Second
	}
	if n.Check <= 0 {
		n.Check = time.Minute
	}
	if n.Now == nil {
		n.Now = time.Now
	}
	return &n
}

// render is n's renderer; an empty dashboard links the daemon's address.
func (d *Daemon) render(n *Notify) notify.Renderer {
	render := n.Render
	if render.Dashboard == "" && d.listener != nil {
		render.Dashboard = "http://" + d.Addr() + "/"
	}
	return render
}

// newNotifier sets the notification defaults and returns the worker; Run
// calls it once the listener is bound (its address is the default
// dashboard link) and before jobs start (they kick it).
func (d *Daemon) newNotifier() *notify.Worker {
	if d.notifySet.Load() == nil {
		d.notifySet.CompareAndSwap(nil, withDefaults(*d.cfg.Notify))
	}
	n := d.notifySet.Load()
	host, _ := os.Hostname()
	return notify.NewWorker(d.cfg.Store, notify.WorkerOptions{ID: fmt.Sprintf("%s:%d", host, os.Getpid()), Targets: n.Targets, Render: d.render(n), Log: d.log, Now: n.Now,
		OnGiveUp: func(sink, kind string, n int) {
			d.metrics.notifyGivenUp.WithLabelValues(cmp.Or(sink, "all"), kind).Add(float64(n))
		}})
}

// ReloadNotify applies a reloaded config's notifications section (nil:
// none): its sinks, rules, stale_after and digest, from the next batch
// on. A daemon started without notifications writes no events: adding
// them takes a restart, which the log says.
func (d *Daemon) ReloadNotify(n *Notify) {
	if d.cfg.Notify == nil {
		if n != nil {
			d.log.Warn("notifications were added to the config; they take effect on restart")
		}
		return
	}
	if n == nil {
		n = &Notify{} // no sinks: events are settled, sent nowhere
	}
	n = withDefaults(*n)
	d.notifySet.Store(n)
	d.mu.Lock()
	w := d.notifier
	d.mu.Unlock()
	if w != nil {
		w.SetTargets(n.Targets, d.render(n))
		w.Kick()
	}
}

// notifyLoop runs the delivery worker and the periodic checks until ctx
// ends. Every replica runs them: claims and dedup keys keep the work and
// the events single.
func (d *Daemon) notifyLoop(ctx context.Context) {
	n := d.notifySet.Load()
	go d.notifier.Run(ctx, n.Poll)
	repeat(ctx, n.Check, true, func() {
		n := d.notifySet.Load()
		d.checkStale(ctx, n)
		d.checkDigest(ctx, n)
	})
}

// checkStale announces each flow whose last successful run is older than
// StaleAfter while its runs keep failing.
func (d *Daemon) checkStale(ctx context.Context, n *Notify) {
	if n.StaleAfter <= 0 {
		return
	}
	now := n.Now()
	for _, flow := range d.flows().Order {
		runs, err := d.cfg.Store.ListRuns(ctx, flow, 200)
		if err != nil || len(runs) == 0 {
			continue
		}
		var last store.Run // the last successful real run
		for _, r := range runs {
			if r.State == store.RunOK && !r.DryRun {
				last = r
				break
			}
		}
		if last.ID == runs[0].ID || runs[0].State == store.RunRunning {
			continue // the newest run went well, or is still going
		}
		since := last.FinishedAt
		if last.ID == 0 {
			since = runs[len(runs)-1].StartedAt // never succeeded: since the first run we know
		}
		if now.Sub(since) < n.StaleAfter {
			continue
		}
		p := notify.Payload{Flow: flow, LastSuccess: last.FinishedAt, Error: redact.Global.String(firstLine(runs[0].Error))}
		if last.ID == 0 {
			p.LastSuccess = time.Time{}
		}
		if _, err := d.cfg.Store.PutEvent(ctx, notify.FlowStale(p)); err != nil {
			d.log.Error("notifications: recording a stale flow", "flow", flow, "err", err)
		}
	}
}

// checkDigest puts the weekly digest in the outbox within a day after its
// time (one per week: the dedup key is the week).
func (d *Daemon) checkDigest(ctx context.Context, n *Notify) {
	if n.Digest.Weekday == "" || d.cfg.Rollups == nil {
		return
	}
	at, week := lastDigestTime(n.Now().UTC(), n.Digest)
	if n.Now().Sub(at) > 24*time.Hour {
		return
	}
	rep, err := d.cfg.Rollups.Report(ctx, 14, "")
	if err != nil {
		d.log.Error("notifications: reading the roll-ups for the weekly digest", "err", err)
		return
	}
	for _, set := range notify.DigestSets(n.Targets) {
		if _, err := d.cfg.Store.PutEvent(ctx, notify.Digest(notify.DigestPayload(rep, set), week)); err != nil {
			d.log.Error("notifications: recording the weekly digest", "set", set, "err", err)
		}
	}
}

// lastDigestTime is the latest digest time at or before now, and its day
// (YYYY-MM-DD) naming the week.
func lastDigestTime(now time.Time, s config.DigestSchedule) (time.Time, string) {
	want := time.Weekday(0)
	for i, name := range []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"} {
		if strings.EqualFold(name, s.Weekday) {
			want = time.Weekday(i)
		}
	}
	day := time.Date(now.Year(), now.Month(), now.Day(), s.Hour, 0, 0, 0, time.UTC)
	for day.Weekday() != want || day.After(now) {
		day = day.AddDate(0, 0, -1)
	}
	return day, day.Format(time.DateOnly)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
