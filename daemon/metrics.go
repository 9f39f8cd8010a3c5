package daemon

import (
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/initiatives"
	"github.com/tracksync/tracksync/rollup"
	tsync "github.com/tracksync/tracksync/sync"
)

// observeRollup records one roll-up refresh and the initiatives' figures.
func (m *metrics) observeRollup(res initiatives.Result, err error, took time.Duration, svc *initiatives.Service) {
	kind, outcome := "incremental", "ok"
	if res.Full {
		kind = "full"
	}
	if err != nil {
		outcome = "failed"
	}
	m.rollupRuns.WithLabelValues(kind, outcome).Inc()
	m.rollupSeconds.Observe(took.Seconds())
	risky := 0
	for _, r := range svc.Rollups() {
		m.rollupDone.WithLabelValues(r.Initiative.Key).Set(svc.Done(r))
		if r.AtRisk {
			risky++
		}
	}
	m.rollupAtRisk.Set(float64(risky))
	m.setAtRisk(svc.Rollups())
}

// setAtRisk sets tracksync_initiative_at_risk for each initiative.
func (m *metrics) setAtRisk(rs []rollup.Rollup) {
	m.initiativeAtRisk.Reset() // initiatives no longer configured go away
	for _, r := range rs {
		v := 0.0
		if r.AtRisk {
			v = 1
		}
		m.initiativeAtRisk.WithLabelValues(r.Initiative.Key).Set(v)
	}
}

// observeCheck records one tracker health check as tracksync_tracker_up.
func (m *metrics) observeCheck(tracker string, err error) {
	v := 1.0
	if err != nil {
		v = 0
	}
	m.trackerUp.WithLabelValues(tracker).Set(v)
}

// metrics are the daemon's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg            *prometheus.Registry
	runs           *prometheus.CounterVec
	items          *prometheus.CounterVec
	conflicts      *prometheus.GaugeVec
	runSeconds     *prometheus.HistogramVec
	webhooks       *prometheus.CounterVec
	enqueued       *prometheus.CounterVec
	webhookToWrite *prometheus.HistogramVec
	jobLatency     prometheus.Histogram
	apiRequests    *prometheus.CounterVec
	apiSeconds     *prometheus.HistogramVec
	rateRemaining  *prometheus.GaugeVec
	rollupRuns     *prometheus.CounterVec
	rollupSeconds  prometheus.Histogram
	rollupDone     *prometheus.GaugeVec
	rollupAtRisk   prometheus.Gauge

	buildInfo        *prometheus.GaugeVec
	trackerUp        *prometheus.GaugeVec
	flowLastSuccess  *prometheus.GaugeVec
	initiativeAtRisk *prometheus.GaugeVec
	writeErrors      *prometheus.CounterVec
	drift            *prometheus.GaugeVec
	notifyGivenUp    *prometheus.CounterVec
	now              func() time.Time
}

func newMetrics(version, commit string) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracksync_runs_total",
			Help: "Sync runs by flow and outcome (ok, conflicts, failed, stopped, interrupted)."}, []string{"flow", "outcome"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracksync_items_total",
			Help: "Items touched by sync runs, by flow and action (created, updated, unchanged, archived, unlinked, comments)."}, []string{"flow", "action"}),
		conflicts: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tracksync_conflicts_held",
			Help: "Conflicts held for a person after the flow's latest run."}, []string{"flow"}),
		runSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tracksync_run_duration_seconds",
			Help: "How long sync runs take.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}, []string{"flow"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracksync_webhooks_total",
			Help: "Webhook deliveries by tracker and result (accepted, bad_signature, malformed, too_large, unknown, unsupported)."}, []string{"tracker", "result"}),
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracksync_jobs_enqueued_total",
			Help: "Sync jobs asked for, by flow, reason and outcome (enqueued, or coalesced into one already waiting or running)."}, []string{"flow", "reason", "outcome"}),
		webhookToWrite: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tracksync_webhook_to_write_seconds",
			Help: "From a webhook's arrival to the end of the run that wrote its change to the other side.", Buckets: prometheus.ExponentialBuckets(0.025, 2, 12)}, []string{"flow"}),
		jobLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tracksync_job_latency_seconds",
			Help: "From a job's scheduled time to its start.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracksync_api_requests_total",
			Help: "HTTP requests to trackers (each attempt), by tracker, method, endpoint class and status code (0: no answer)."}, []string{"tracker", "method", "endpoint", "code"}),
		apiSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tracksync_api_request_duration_seconds",
			Help: "How long tracker requests take.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"tracker"}),
		rateRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tracksync_rate_budget_remaining",
			Help: "Requests left in the tracker's current rate window, as its last answer said (X-RateLimit-Remaining)."}, []string{"tracker"}),
	}
	m.rollupRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracksync_rollup_refreshes_total",
		Help: "Roll-up refreshes by kind (full, incremental) and outcome (ok, failed)."}, []string{"kind", "outcome"})
	m.rollupSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tracksync_rollup_refresh_duration_seconds",
		Help: "How long roll-up refreshes take, reads and write-back included.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)})
	m.rollupDone = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tracksync_initiative_done_ratio",
		Help: "Each initiative's share done (0..1), by the configured weight."}, []string{"initiative"})
	m.rollupAtRisk = prometheus.NewGauge(prometheus.GaugeOpts{Name: "tracksync_initiatives_at_risk",
		Help: "Initiatives at risk after the latest roll-up refresh."})
	m.reg.MustRegister(m.rollupRuns, m.rollupSeconds, m.rollupDone, m.rollupAtRisk)
	m.now = time.Now
	if version == "" {
		version = "dev"
	}
	if commit == "" {
		commit = "unknown"
	}
	m.buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tracksync_build_info",
		Help: "Always 1; the labels say which build is running."}, []string{"version", "commit", "goversion"})
	m.buildInfo.WithLabelValues(version, commit, runtime.Version()).Set(1)
	m.trackerUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tracksync_tracker_up",
		Help: "1 when the tracker's latest health check passed (credentials, permissions, project), 0 when it failed."}, []string{"tracker"})
	m.flowLastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tracksync_flow_last_success_timestamp_seconds",
		Help: "When the flow's latest run that finished without failing ended (Unix seconds; held conflicts count as finished)."}, []string{"flow"})
	m.initiativeAtRisk = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tracksync_initiative_at_risk",
		Help: "1 when the initiative is at risk after the latest roll-up refresh, else 0."}, []string{"initiative"})
	m.writeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracksync_write_errors_total",
		Help: "Tracker writes that failed in sync runs, by flow and kind (temporary: network, 5xx, rate limit; permanent: the rest)."}, []string{"flow", "kind"})
	m.drift = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tracksync_drift_items",
		Help: "Differences between linked items that no pending run explains, by flow, after the latest scheduled drift check (tracksync check)."}, []string{"flow"})
	m.notifyGivenUp = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracksync_notifications_given_up_total",
		Help: "Notification events given up on, by sink (all: they ran out of attempts) and event kind (a sink refused them for good)."}, []string{"sink", "kind"})
	m.reg.MustRegister(m.buildInfo, m.trackerUp, m.flowLastSuccess, m.initiativeAtRisk, m.writeErrors, m.drift, m.notifyGivenUp)
	m.reg.MustRegister(m.runs, m.items, m.conflicts, m.runSeconds, m.webhooks, m.enqueued, m.webhookToWrite, m.jobLatency,
		m.apiRequests, m.apiSeconds, m.rateRemaining,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observeRun(flow string, res *tsync.Result, err error, took time.Duration) {
	outcome := "ok"
	var valve *tsync.ValveError
	switch {
	case errors.Is(err, tsync.ErrDraining):
		outcome = "interrupted"
	case errors.As(err, &valve):
		outcome = "stopped"
	case err != nil:
		outcome = "failed"
	case res != nil && res.Run.Counts.Conflicts > 0:
		outcome = "conflicts"
	}
	m.runs.WithLabelValues(flow, outcome).Inc()
	if outcome == "ok" || outcome == "conflicts" {
		m.flowLastSuccess.WithLabelValues(flow).Set(float64(m.now().UnixNano()) / 1e9)
	}
	var we *tsync.WriteErrors
	if errors.As(err, &we) {
		for _, e := range we.Errs {
			kind := "permanent"
			if adapters.IsTemporary(e) {
				kind = "temporary"
			}
			m.writeErrors.WithLabelValues(flow, kind).Inc()
		}
	}
	m.runSeconds.WithLabelValues(flow).Observe(took.Seconds())
	if res == nil {
		return
	}
	c := res.Run.Counts
	for action, n := range map[string]int{"created": c.Created, "updated": c.Updated, "unchanged": c.Unchanged, "archived": c.Archived, "unlinked": c.Unlinked, "comments": c.Comments} {
		m.items.WithLabelValues(flow, action).Add(float64(n))
	}
	m.conflicts.WithLabelValues(flow).Set(float64(c.Conflicts))
}

// ObserveRequest implements adapters.RequestObserver.
func (m *metrics) ObserveRequest(tracker, method, endpoint string, status int, took time.Duration, h http.Header) {
	m.apiRequests.WithLabelValues(tracker, method, endpoint, strconv.Itoa(status)).Inc()
	m.apiSeconds.WithLabelValues(tracker).Observe(took.Seconds())
	if v := h.Get("X-RateLimit-Remaining"); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			m.rateRemaining.WithLabelValues(tracker).Set(n)
		}
	}
}
