// Package daemon is `tracksync serve`: every flow runs as River jobs in
// the state store's own database, on its schedule, when a webhook names a
// change, and as a periodic full reconcile; an HTTP listener takes the
// webhooks and serves health, readiness and Prometheus metrics.
//
// Jobs for one flow never run side by side: workers take a per-flow lock,
// and the engine's flow lease backs that up across processes. A sync job
// carries its flow's generation, bumped each time a job of the flow
// starts, and is unique per (flow, generation) while it waits: webhooks
// that arrive before a run starts coalesce into it, those that arrive
// during a run coalesce into one job after it. A burst of webhooks
// therefore costs at most two runs, and none is lost.
package daemon

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/initiatives"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/notify"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// Config is what a Daemon runs.
type Config struct {
	// Store is the state. River keeps its jobs in the same database, so
	// today the store must also offer its database/sql pool
	// (store.SQLDBer: the sqlite store does); a jobs interface will lift
	// that.
	Store  store.Store
	Flows  *tsync.Flows
	Logger *slog.Logger
	// Listen is host:port (default 127.0.0.1:8080; ":0" picks a port).
	Listen string
	// Token, when set, is required as a bearer token on every route but
	// the webhooks (which carry their own signatures).
	Token string
	// Version and Commit label tracksync_build_info (the CLI passes what
	// `tracksync version` prints).
	Version, Commit string
	// FullEvery is how often each flow runs a full reconcile (default 6h).
	FullEvery time.Duration
	// MaxBody caps a webhook's body (default 1 MiB).
	MaxBody int64
	// Workers is how many jobs run at once (default 2; one flow is never
	// run twice at once whatever this is).
	Workers int
	// PollInterval is how often idle workers look for new jobs (default
	// 250ms: SQLite has no notifications; BenchmarkWebhookToWrite and
	// BenchmarkIdle weigh latency against idle cost).
	PollInterval time.Duration
	// ShutdownGrace is how long a stop waits for running jobs (default 30s).
	ShutdownGrace time.Duration
	// OnRun, when set, is called after every sync run (tests, the sandbox).
	OnRun func(flow string, res *tsync.Result, err error)
	// Rollups, when set, keeps initiative roll-ups current and serves
	// them as the dashboard at / (JSON at /rollups.json).
	Rollups *initiatives.Service
	// RollupEvery is how often roll-ups refresh besides after sync runs
	// and webhooks (default 5m).
	RollupEvery time.Duration
	// OnRollup, when set, is called after every roll-up refresh (tests).
	OnRollup func(res initiatives.Result, err error)
	// CheckEvery is how often the drift check (tracksync check) runs over
	// every flow; 0 never. OnCheck, when set, is called after each flow's.
	CheckEvery time.Duration
	OnCheck    func(flow string, rep *tsync.CheckReport, err error)
	// Notify, when set, makes runs write outbox events and delivers them
	// (see Notify).
	Notify *Notify
}

// SyncArgs is a sync job: one flow, incremental or full.
type SyncArgs struct {
	Flow string `json:"flow"`
	Full bool   `json:"full,omitempty"`
	// Gen is the flow's generation when the job was asked for.
	Gen int64 `json:"gen,omitempty"`
}

// Kind implements river.JobArgs.
func (SyncArgs) Kind() string { return "tracksync_sync" }

// InsertOpts make a flow's job unique while it waits or runs.
func (SyncArgs) InsertOpts() river.InsertOpts {
	// Unique only while waiting or running: River's default also counts
	// completed jobs, which would refuse every later sync of the flow.
	return river.InsertOpts{MaxAttempts: 20, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

// Daemon runs the flows.
type Daemon struct {
	cfg      Config
	log      *slog.Logger
	eng      *tsync.Engine
	client   *river.Client[*sql.Tx]
	metrics  *metrics
	handler  http.Handler
	draining atomic.Bool
	flowSet  atomic.Pointer[tsync.Flows] // swapped whole by Reload
	// notifier delivers the outbox (nil without Config.Notify); set by Run
	// before anything that kicks it starts.
	notifier *notify.Worker

	mu       sync.Mutex
	triggers map[string]time.Time // flow -> earliest webhook not yet synced
	gen      map[string]int64     // flow -> jobs started so far
	flowMu   map[string]*sync.Mutex
	listener net.Listener
	checks   map[string]trackerCheck // tracker -> its last health check
	drift    map[string]driftState   // flow -> its latest drift check

	rollupKick chan struct{} // a pending roll-up refresh
}

// trackerCheck is the outcome of one tracker's last health check.
type trackerCheck struct {
	err error
	at  time.Time
}

// checkEvery is how often trackers' health is checked for /readyz: often
// enough to notice a revoked token, rarely enough to cost no rate budget.
const checkEvery = time.Minute

// checkTrackers runs every tracker's Check once and records the results.
func (d *Daemon) checkTrackers(ctx context.Context) {
	for name, t := range d.flows().Trackers {
		c, ok := t.(adapters.Checker)
		if !ok {
			d.metrics.observeCheck(name, nil) // opened, nothing more to ask
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := c.Check(cctx)
		cancel()
		d.metrics.observeCheck(name, err)
		d.mu.Lock()
		d.checks[name] = trackerCheck{err: err, at: time.Now()}
		d.mu.Unlock()
	}
}

// New prepares a daemon: River's tables are migrated into the state
// database, periodic jobs are set up from each flow's schedule.
func New(ctx context.Context, cfg Config) (*Daemon, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8080"
	}
	if cfg.RollupEvery <= 0 {
		cfg.RollupEvery = 5 * time.Minute
	}
	if cfg.FullEvery == 0 {
		cfg.FullEvery = 6 * time.Hour
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{cfg: cfg, log: cfg.Logger, triggers: map[string]time.Time{}, gen: map[string]int64{}, flowMu: map[string]*sync.Mutex{}, checks: map[string]trackerCheck{}, drift: map[string]driftState{}, metrics: newMetrics(cfg.Version, cfg.Commit), rollupKick: make(chan struct{}, 1)}
	d.flowSet.Store(cfg.Flows)
	for _, name := range cfg.Flows.Order {
		d.flowMu[name] = &sync.Mutex{}
	}
	d.eng = tsync.New(cfg.Store, tsync.Options{Logger: cfg.Logger, Draining: d.draining.Load, Events: cfg.Notify != nil})

	// The one place the daemon reaches past store.Store: River on
	// riversqlite shares the store's pool. To be replaced by a jobs
	// interface.
	dbs, ok := cfg.Store.(store.SQLDBer)
	if !ok {
		return nil, fmt.Errorf("state.driver: serve keeps its jobs in the state database through database/sql (the sqlite driver); this store (%T) offers no such pool", cfg.Store)
	}
	where := fmt.Sprintf("%T", cfg.Store)
	if ds, ok := cfg.Store.(store.Describer); ok {
		where = ds.Describe()
	}
	driver := riversqlite.New(dbs.DB())
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return nil, fmt.Errorf("preparing job tables: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("migrating job tables in %s: %w", where, err)
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &syncWorker{d: d}); err != nil {
		return nil, err
	}
	periodic, err := d.periodicJobs(cfg.Flows)
	if err != nil {
		return nil, err
	}
	client, err := river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:           workers,
		PeriodicJobs:      periodic,
		Logger:            riverLogger(cfg.Logger),
		JobTimeout:        -1, // a sync of a large flow may take long; draining stops it
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     min(cfg.PollInterval, 100*time.Millisecond),
	})
	if err != nil {
		return nil, fmt.Errorf("starting the job queue: %w", err)
	}
	d.client = client
	d.handler = d.routes()
	adapters.SetRequestObserver(d.metrics)
	d.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tracksync_job_queue_depth",
		Help: "Sync jobs waiting to run (available or retryable)."}, d.queueDepth))
	return d, nil
}

// Handler serves the daemon's HTTP routes.
func (d *Daemon) Handler() http.Handler { return d.handler }

// Addr is the address the listener is bound to, once Run has bound it.
func (d *Daemon) Addr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.listener == nil {
		return ""
	}
	return d.listener.Addr().String()
}

// Listen binds the listener (Run does it if not done before), so callers
// can learn the address before Run.
func (d *Daemon) Listen() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.listener != nil {
		return nil
	}
	l, err := net.Listen("tcp", d.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", d.cfg.Listen, err)
	}
	d.listener = l
	return nil
}

// Run starts the jobs and the listener and blocks until ctx is done; then
// it stops taking webhooks, lets each running sync finish the write in
// flight (and record it), and returns.
func (d *Daemon) Run(ctx context.Context) error {
	if err := d.Listen(); err != nil {
		return err
	}
	srv := &http.Server{Handler: d.handler, ReadHeaderTimeout: 5 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(d.listener) }()
	// Jobs run on a context of their own: shutdown stops them between
	// writes (draining), never in the middle of one.
	jobCtx := context.WithoutCancel(ctx)
	if d.cfg.Notify != nil {
		d.notifier = d.newNotifier()
		go d.notifyLoop(ctx)
	}
	if err := d.client.Start(jobCtx); err != nil {
		srv.Close()
		return fmt.Errorf("starting jobs: %w", err)
	}
	d.log.Info("tracksync serving", "listen", d.Addr(), "flows", len(d.flows().Order))
	go func() {
		t := time.NewTicker(checkEvery)
		defer t.Stop()
		for {
			d.checkTrackers(jobCtx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	if d.cfg.Rollups != nil {
		go d.rollupLoop(ctx)
	}
	if d.cfg.CheckEvery > 0 {
		go d.driftLoop(ctx) // read-only: a check in flight may stop with the daemon
	}
	var runErr error
	select {
	case <-ctx.Done():
	case err := <-srvErr:
		runErr = fmt.Errorf("listener: %w", err)
	}
	d.log.Info("shutting down: finishing writes in flight")
	d.draining.Store(true)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.ShutdownGrace)
	defer cancel()
	srv.Shutdown(stopCtx)
	if err := d.client.Stop(stopCtx); err != nil {
		d.log.Warn("jobs did not stop in time; cancelling", "err", err)
		d.client.StopAndCancel(context.WithoutCancel(ctx))
	}
	return runErr
}

// Enqueue asks for a sync of flow (reason for metrics: schedule,
// webhook, manual). A job already waiting or running for the flow absorbs
// it; a running one re-runs once when it ends.
func (d *Daemon) Enqueue(ctx context.Context, flow, reason string) error {
	if _, ok := d.flows().ByName[flow]; !ok {
		return fmt.Errorf("no flow %q", flow)
	}
	d.mu.Lock()
	if _, ok := d.triggers[flow]; !ok {
		d.triggers[flow] = time.Now()
	}
	gen := d.gen[flow]
	d.mu.Unlock()
	res, err := d.client.Insert(ctx, SyncArgs{Flow: flow, Gen: gen}, nil)
	if err != nil {
		return fmt.Errorf("enqueueing a sync of flow %s: %w", flow, err)
	}
	outcome := "enqueued"
	if res.UniqueSkippedAsDuplicate {
		outcome = "coalesced"
	}
	d.metrics.enqueued.WithLabelValues(flow, reason, outcome).Inc()
	return nil
}

// periodicJobs are each flow's schedule and its periodic full reconcile.
func (d *Daemon) periodicJobs(fs *tsync.Flows) ([]*river.PeriodicJob, error) {
	var periodic []*river.PeriodicJob
	for _, name := range fs.Order {
		f := fs.ByName[name]
		sched, err := mapping.ParseSchedule(f.Map.Schedule)
		if err != nil {
			return nil, fmt.Errorf("flow %s: schedule %q: %w", name, f.Map.Schedule, err)
		}
		periodic = append(periodic,
			river.NewPeriodicJob(sched, func() (river.JobArgs, *river.InsertOpts) { return SyncArgs{Flow: name, Gen: d.generation(name)}, nil },
				&river.PeriodicJobOpts{ID: "sync:" + name, RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(d.cfg.FullEvery), func() (river.JobArgs, *river.InsertOpts) {
				return SyncArgs{Flow: name, Full: true, Gen: d.generation(name)}, nil
			}, &river.PeriodicJobOpts{ID: "full:" + name}))
	}
	return periodic, nil
}

// Reload swaps in a new set of flows (a reloaded config): schedules are
// replaced, new flows start, removed ones get no more jobs. A run in
// flight finishes on the flow it started with.
func (d *Daemon) Reload(fs *tsync.Flows) error {
	periodic, err := d.periodicJobs(fs)
	if err != nil {
		return err
	}
	d.mu.Lock()
	for _, name := range fs.Order {
		if d.flowMu[name] == nil {
			d.flowMu[name] = &sync.Mutex{}
		}
	}
	d.mu.Unlock()
	d.flowSet.Store(fs)
	d.client.PeriodicJobs().Clear()
	d.client.PeriodicJobs().AddMany(periodic)
	d.log.Info("config reloaded", "flows", len(fs.Order))
	return nil
}

// flows is the current flow set.
func (d *Daemon) flows() *tsync.Flows { return d.flowSet.Load() }

func (d *Daemon) generation(flow string) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gen[flow]
}

// syncWorker runs one sync job.
type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	d *Daemon
}

func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	d := w.d
	f, ok := d.flows().ByName[job.Args.Flow]
	if !ok {
		return river.JobCancel(fmt.Errorf("flow %q is no longer configured", job.Args.Flow))
	}
	if !job.ScheduledAt.IsZero() {
		d.metrics.jobLatency.Observe(time.Since(job.ScheduledAt).Seconds())
	}
	// One run of a flow at a time in this process; the engine's lease
	// covers other processes.
	d.mu.Lock()
	fm := d.flowMu[job.Args.Flow]
	d.mu.Unlock()
	fm.Lock()
	defer fm.Unlock()
	d.mu.Lock()
	d.gen[job.Args.Flow]++ // webhooks from now on need a run after this one
	d.mu.Unlock()
	start := time.Now()
	res, err := d.eng.Sync(ctx, f, tsync.RunOptions{Full: job.Args.Full})
	d.metrics.observeRun(job.Args.Flow, res, err, time.Since(start))
	if d.notifier != nil {
		defer d.notifier.Kick() // its events are in the outbox
	}
	if d.cfg.OnRun != nil {
		defer d.cfg.OnRun(job.Args.Flow, res, err)
	}
	if err == nil && res != nil {
		d.kickRollups(job.Args.Flow)
	}

	d.mu.Lock()
	if first, pending := d.triggers[job.Args.Flow]; pending && first.Before(start) && err == nil {
		delete(d.triggers, job.Args.Flow)
		if res != nil && res.Run.Counts.Created+res.Run.Counts.Updated+res.Run.Counts.Comments > 0 {
			d.metrics.webhookToWrite.WithLabelValues(job.Args.Flow).Observe(time.Since(first).Seconds())
		}
	}
	d.mu.Unlock()

	var locked *store.LockedError
	var valve *tsync.ValveError
	var rl *adapters.RateLimitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &locked):
		return river.JobSnooze(5 * time.Second)
	case errors.Is(err, tsync.ErrDraining):
		return river.JobSnooze(time.Second) // picked up again after restart
	case errors.As(err, &rl):
		return river.JobSnooze(max(rl.RetryAfter, time.Second))
	case errors.As(err, &valve):
		// A person must look: retrying would stop again.
		d.log.Warn("sync stopped by the safety valve; run `tracksync sync --once --force` after checking the plan", "flow", job.Args.Flow, "err", err)
		return river.JobCancel(err)
	}
	d.log.Error("sync failed; retried with backoff", "flow", job.Args.Flow, "attempt", job.Attempt, "err", err)
	return err
}

// riverLogger passes on River's warnings and errors only: its info lines
// (job counts every few seconds) would drown tracksync's own.
func riverLogger(l *slog.Logger) *slog.Logger {
	return slog.New(minLevel{l.Handler(), slog.LevelWarn}).With("component", "river")
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}
func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{m.Handler.WithAttrs(a), m.min}
}
func (m minLevel) WithGroup(g string) slog.Handler { return minLevel{m.Handler.WithGroup(g), m.min} }

// queueDepth counts waiting jobs, for the metric (read at scrape time).
func (d *Daemon) queueDepth() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := d.client.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateAvailable, rivertype.JobStateRetryable).First(10000))
	if err != nil {
		return -1
	}
	return float64(len(res.Jobs))
}
