package daemon

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracksync/tracksync/daemon/jobs"
	"github.com/tracksync/tracksync/mapping"
)

// flowAge is how a flow stands against its schedule.
type flowAge struct {
	Flow    string
	LastRun time.Time     // latest run's start, any replica (zero: none yet)
	Age     time.Duration // since LastRun, or since this daemon started
	Allowed time.Duration // how long the schedule allows without a run
}

func (a flowAge) Overdue() bool { return a.Age > a.Allowed }

// allowed is how long a flow on sched may go without a run: two periods
// (one missed tick is not yet a fault) plus a lease (a dead replica's run
// is taken over within it) plus the longest webhook debounce.
func (d *Daemon) allowed(schedule string, now time.Time) time.Duration {
	sched, err := mapping.ParseSchedule(schedule)
	if err != nil {
		return 0
	}
	next := sched.Next(now)
	period := sched.Next(next).Sub(next)
	return 2*period + d.cfg.LockTTL + d.cfg.MaxDelay
}

// ages reads each flow's latest run from the store (so every replica sees
// the runs of all), in flow order.
func (d *Daemon) ages(ctx context.Context) ([]flowAge, error) {
	now := d.now()
	var out []flowAge
	for _, name := range d.flows().Order {
		f := d.flows().ByName[name]
		a := flowAge{Flow: name, Allowed: d.allowed(f.Map.Schedule, now)}
		runs, err := d.cfg.Store.ListRuns(ctx, name, 1)
		if err != nil {
			return nil, fmt.Errorf("reading flow %s's latest run: %w", name, err)
		}
		since := d.started
		if len(runs) > 0 {
			a.LastRun = runs[0].StartedAt
			if a.LastRun.After(since) {
				since = a.LastRun
			}
		}
		a.Age = max(now.Sub(since), 0)
		out = append(out, a)
	}
	return out, nil
}

// overdueCollector exports tracksync_flow_overdue and
// tracksync_flow_last_run_age_seconds at scrape time.
type overdueCollector struct{ d *Daemon }

var (
	overdueDesc = prometheus.NewDesc("tracksync_flow_overdue",
		"1 when the flow has not run for longer than its schedule allows (two periods, a lease and the webhook debounce), else 0.", []string{"flow"}, nil)
	ageDesc = prometheus.NewDesc("tracksync_flow_last_run_age_seconds",
		"Seconds since the flow's latest run started on any replica (or since this replica started, when later).", []string{"flow"}, nil)
)

func (c overdueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- overdueDesc
	ch <- ageDesc
}

func (c overdueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ages, err := c.d.ages(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(overdueDesc, err)
		return
	}
	for _, a := range ages {
		v := 0.0
		if a.Overdue() {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(overdueDesc, prometheus.GaugeValue, v, a.Flow)
		ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, a.Age.Seconds(), a.Flow)
	}
}

// publishPeriodic records this replica's periodic set in the store: only
// the leader enqueues periodic jobs, so replicas with different sets
// would run whichever the leader has. checkPeers compares.
func (d *Daemon) publishPeriodic(ctx context.Context, ps []jobs.Periodic) {
	fp := jobs.Fingerprint(ps)
	d.mu.Lock()
	d.peers = ""
	d.mu.Unlock()
	v := fp + " " + d.cfg.Owner + " " + d.now().UTC().Format(time.RFC3339)
	if err := d.cfg.Store.PutKV(ctx, kvScope, periodicKey(), v); err != nil {
		d.log.Warn("could not publish this replica's schedules for the others to compare", "err", err)
	}
}

// takeoverLoop looks, every tenth of a lease, for flows whose lease
// expired unreleased (the replica running them died or froze mid-run) and
// enqueues a sync of each on this replica's queue, which takes the flow
// over. Every replica looks, so the takeover does not wait for the
// queue's leader to rescue the dead run's job: when the dead replica was
// the leader, a new one is elected only after River's leader term (about
// 15 s) and rescues stuck jobs only after that.
func (d *Daemon) takeoverLoop(ctx context.Context) {
	repeat(ctx, max(d.cfg.LockTTL/10, 100*time.Millisecond), false, func() { d.takeOver(ctx) })
}

// flowLeasePrefix begins the name of a flow's lease (the engine's).
const flowLeasePrefix = "flow:"

// takeOver enqueues a sync of every flow whose lease expired unreleased.
func (d *Daemon) takeOver(ctx context.Context) {
	leases, err := d.cfg.Store.ExpiredLeases(ctx, flowLeasePrefix)
	if err != nil {
		d.log.Warn("looking for interrupted flows", "err", err)
		return
	}
	for _, l := range leases {
		flow := strings.TrimPrefix(l.Name, flowLeasePrefix)
		if _, ok := d.flows().ByName[flow]; !ok {
			continue
		}
		if err := d.enqueue(ctx, flow, "takeover", l.Token); err != nil {
			d.log.Warn("enqueueing the takeover of an interrupted flow", "flow", flow, "err", err)
			continue
		}
		d.mu.Lock()
		first := d.takeovers[flow] != l.Token
		if d.takeovers == nil {
			d.takeovers = map[string]int64{}
		}
		d.takeovers[flow] = l.Token
		d.mu.Unlock()
		if first {
			d.log.Info("a flow's run was interrupted: its lease expired unreleased; a sync is enqueued to take it over", "flow", flow, "holder", l.Owner, "expired", l.Expires)
		}
	}
}

// checkPeers notes when the latest replica to publish its periodic set
// has another one than this replica: their configs differ, and the
// leader's schedules win whatever this replica's config says.
func (d *Daemon) checkPeers(ctx context.Context) {
	v, ok, err := d.cfg.Store.GetKV(ctx, kvScope, periodicKey())
	if err != nil || !ok {
		return
	}
	periodic, err := d.periodicJobs(d.flows())
	if err != nil {
		return
	}
	fp := jobs.Fingerprint(periodic)
	parts := strings.Fields(v)
	note := ""
	if len(parts) == 3 && parts[0] != fp && parts[1] != d.cfg.Owner {
		note = fmt.Sprintf("replica %s (at %s) runs other flows or schedules than this one: every replica must serve the same config (only the leader's schedules run)", parts[1], parts[2])
		d.log.Warn("replicas disagree on their flows", "other", parts[1], "at", parts[2])
	}
	d.mu.Lock()
	d.peers = note
	d.mu.Unlock()
}

// overdueNames lists the overdue flows, sorted.
func overdueNames(ages []flowAge) []string {
	var out []string
	for _, a := range ages {
		if a.Overdue() {
			out = append(out, fmt.Sprintf("%s (no run for %s; its schedule allows %s)", a.Flow, a.Age.Round(time.Second), a.Allowed.Round(time.Second)))
		}
	}
	slices.Sort(out)
	return out
}
