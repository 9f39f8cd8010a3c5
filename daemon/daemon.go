// Package daemon is `tracksync serve`: every flow runs as jobs (package
// jobs; River in the state store's own database underneath) on its
// schedule, when a webhook names a change, and as a periodic full
// reconcile; an HTTP listener takes the webhooks and serves health,
// readiness and Prometheus metrics. Several replicas may serve one store.
//
// Jobs for one flow never run side by side: workers take a per-flow lock
// in the process, and the engine's flow lease (with its fencing token)
// covers other processes. A sync job carries its flow's generation, kept
// in the store and bumped each time a job of the flow starts, and is
// unique per (flow, generation) while it waits: webhooks that arrive
// before a run starts coalesce into it, those that arrive during a run
// coalesce into one job after it. A job waits for webhooks to go quiet
// (Config.Debounce, at most Config.MaxDelay) before it starts, so a burst
// of webhooks costs at most two runs, and none is lost. Because the
// generation survives restarts, a job a killed process left running
// absorbs nothing new; the queue rescues it within a lease period.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/daemon/jobs"
	"github.com/tracksync/tracksync/daemon/jobs/riverjobs"
	"github.com/tracksync/tracksync/initiatives"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/notify"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// Config is what a Daemon runs.
type Config struct {
	// Store is the state. The job queue lives in the same database
	// (riverjobs picks River's driver from the store's).
	Store  store.Store
	Flows  *tsync.Flows
	Logger *slog.Logger
	// Listen is host:port (default 127.0.0.1:8080; ":0" picks a port).
	Listen string
	// PublicURL, when set, is where the trackers reach this daemon
	// (https://tracksync.acme.com): Run registers the webhooks of trackers
	// that register their own (Asana) at <PublicURL>/webhooks/<tracker>.
	PublicURL string
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
	// ReadTimeout bounds reading a whole request, body included (default
	// 30s): a client that sends headers and then trickles its body, or
	// none, does not hold a connection for ever.
	ReadTimeout time.Duration
	// Workers is how many jobs run at once (default 2; one flow is never
	// run twice at once whatever this is).
	Workers int
	// PollInterval is how often idle workers look for new jobs (default
	// 250ms: SQLite has no notifications; BenchmarkWebhookToWrite and
	// BenchmarkIdle weigh latency against idle cost).
	PollInterval time.Duration
	// ShutdownGrace is how long a stop waits for running jobs (default 30s).
	ShutdownGrace time.Duration
	// LockTTL is the flow lease (default: the engine's, 2m). A job a
	// dead process left running is rescued within it.
	LockTTL time.Duration
	// Owner names this replica in leases and in the job queue (default
	// sync.DefaultOwner(): host, pid and a random part).
	Owner string
	// Debounce is how long a flow's webhooks must have been quiet before
	// its job starts (default 500ms; negative: start at once), and
	// MaxDelay how long a job waits for quiet at most (default 10s).
	Debounce, MaxDelay time.Duration
	// Clock is the daemon's clock for debouncing and overdue flows
	// (default time.Now); the engine keeps its own.
	Clock func() time.Time
	// Jobs opens the job queue (default riverjobs.Open).
	Jobs func(ctx context.Context, st store.Store, o riverjobs.Options) (jobs.Queue, error)
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

// Daemon runs the flows.
type Daemon struct {
	cfg      Config
	log      *slog.Logger
	eng      *tsync.Engine
	queue    jobs.Queue
	metrics  *metrics
	handler  http.Handler
	draining atomic.Bool
	flowSet  atomic.Pointer[tsync.Flows] // swapped whole by Reload
	// notifySet is the notification set-up (Config.Notify, then
	// ReloadNotify's), with its defaults.
	notifySet atomic.Pointer[Notify]
	// notifier delivers the outbox (nil without Config.Notify); set by Run
	// before anything that kicks it starts.
	notifier *notify.Worker

	started time.Time
	now     func() time.Time

	mu       sync.Mutex
	triggers map[string]time.Time // flow -> earliest webhook not yet synced
	// triggerWritten: flow -> the last webhook time this replica wrote
	triggerWritten map[string]time.Time
	gen            map[string]int64 // flow -> generation last seen (a cache of the store's)
	takeovers      map[string]int64 // flow -> token of the expired lease last taken over (logged once)
	flowMu         map[string]*sync.Mutex
	listener       net.Listener
	checks         map[string]trackerCheck // tracker -> its last health check
	drift          map[string]driftState   // flow -> its latest drift check
	peers          string                  // a peer's periodic set, when it differs from ours

	rollupKick chan struct{} // a pending roll-up refresh
}

// Coordination names in the store.
const (
	// kvScope is the daemon's key-value scope in the store.
	kvScope = "tracksync.daemon"
	// deliveryKeep is how long webhook delivery ids are remembered.
	deliveryKeep = 24 * time.Hour
)

func genName(flow string) string    { return "flow:" + flow }
func triggerKey(flow string) string { return "trigger:" + flow }
func periodicKey() string           { return "periodic" }

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

// New prepares a daemon: the job queue is opened in the state database
// and periodic jobs are set up from each flow's schedule.
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
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 30 * time.Second
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
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = 2 * time.Minute
	}
	if cfg.Owner == "" {
		cfg.Owner = tsync.DefaultOwner()
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = 500 * time.Millisecond
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Jobs == nil {
		cfg.Jobs = riverjobs.Open
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{cfg: cfg, log: cfg.Logger, now: cfg.Clock, started: cfg.Clock(), triggers: map[string]time.Time{}, triggerWritten: map[string]time.Time{}, gen: map[string]int64{}, flowMu: map[string]*sync.Mutex{}, checks: map[string]trackerCheck{}, drift: map[string]driftState{}, metrics: newMetrics(cfg.Version, cfg.Commit), rollupKick: make(chan struct{}, 1)}
	if cfg.Flows != nil {
		store.GiveKV(cfg.Store, cfg.Flows.Trackers)
	}
	d.flowSet.Store(cfg.Flows)
	for _, name := range cfg.Flows.Order {
		d.flowMu[name] = &sync.Mutex{}
	}
	d.eng = tsync.New(cfg.Store, tsync.Options{Logger: cfg.Logger, Draining: d.draining.Load, Owner: cfg.Owner, LockTTL: cfg.LockTTL, Events: cfg.Notify != nil})
	periodic, err := d.periodicJobs(cfg.Flows)
	if err != nil {
		return nil, err
	}
	// A job a killed process left running is rescued within a lease
	// (River looks every 30s): a job running that long is taken for
	// dead, and if it lives, its flow lease turns the rescued run away.
	rescue := max(cfg.LockTTL-30*time.Second, cfg.LockTTL/2)
	q, err := cfg.Jobs(ctx, cfg.Store, riverjobs.Options{Logger: cfg.Logger, Options: jobs.Options{
		Handler: d.work, Workers: cfg.Workers, Poll: cfg.PollInterval, RescueAfter: rescue,
		ID: cfg.Owner, Periodic: periodic}})
	if err != nil {
		return nil, err
	}
	d.queue = q
	d.publishPeriodic(ctx, periodic)
	d.handler = d.routes()
	adapters.SetRequestObserver(d.metrics)
	d.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tracksync_job_queue_depth",
		Help: "Sync jobs waiting to run (available or retryable)."}, d.queueDepth))
	d.metrics.reg.MustRegister(overdueCollector{d})
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
	// Webhook senders and probes send small requests: a request read
	// for longer than ReadTimeout, or a connection idle for two minutes,
	// is closed.
	srv := &http.Server{Handler: d.handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: d.cfg.ReadTimeout, IdleTimeout: 2 * time.Minute}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(d.listener) }()
	// Jobs run on a context of their own: shutdown stops them between
	// writes (draining), never in the middle of one.
	jobCtx := context.WithoutCancel(ctx)
	if d.cfg.Notify != nil {
		w := d.newNotifier()
		d.mu.Lock()
		d.notifier = w
		d.mu.Unlock()
		go d.notifyLoop(ctx)
	}
	if err := d.queue.Start(jobCtx); err != nil {
		srv.Close()
		return fmt.Errorf("starting jobs: %w", err)
	}
	d.log.Info("tracksync serving", "listen", d.Addr(), "flows", len(d.flows().Order), "replica", d.cfg.Owner)
	go repeat(ctx, checkEvery, true, func() {
		d.checkTrackers(jobCtx)
		d.checkPeers(jobCtx)
	})
	go d.takeoverLoop(ctx)
	if d.cfg.PublicURL != "" {
		go d.registerLoop(ctx)
	}
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
	if err := d.queue.Stop(stopCtx); err != nil {
		d.log.Warn("jobs did not stop in time; cancelled", "err", err)
	}
	return runErr
}

// Enqueue asks for a sync of flow (reason for metrics: schedule,
// webhook, manual). A job already waiting or running for the flow's
// current generation absorbs it; a running one re-runs once when it ends.
func (d *Daemon) Enqueue(ctx context.Context, flow, reason string) error {
	return d.enqueue(ctx, flow, reason, 0)
}

// enqueue asks for a sync of flow; takeover is the token of the expired
// lease the sync takes over, if any (see jobs.Job.Takeover).
func (d *Daemon) enqueue(ctx context.Context, flow, reason string, takeover int64) error {
	if _, ok := d.flows().ByName[flow]; !ok {
		return fmt.Errorf("no flow %q", flow)
	}
	now := d.now()
	d.mu.Lock()
	if _, ok := d.triggers[flow]; !ok {
		d.triggers[flow] = now
	}
	d.mu.Unlock()
	gen, err := d.cfg.Store.Generation(ctx, genName(flow))
	if err != nil {
		return fmt.Errorf("enqueueing a sync of flow %s: reading its generation: %w", flow, err)
	}
	d.cacheGen(flow, gen)
	if reason == "webhook" && d.cfg.Debounce > 0 {
		// Every replica's job waits for the flow's webhooks to go quiet.
		// In a burst, one write per tenth of the debounce is enough.
		d.mu.Lock()
		last := d.triggerWritten[flow]
		write := now.Sub(last) >= d.cfg.Debounce/10 || now.Before(last)
		if write {
			d.triggerWritten[flow] = now
		}
		d.mu.Unlock()
		if write {
			if err := d.cfg.Store.PutKV(ctx, kvScope, triggerKey(flow), strconv.FormatInt(now.UnixNano(), 10)); err != nil {
				d.mu.Lock()
				d.triggerWritten[flow] = time.Time{}
				d.mu.Unlock()
				return fmt.Errorf("enqueueing a sync of flow %s: recording the webhook: %w", flow, err)
			}
		}
	}
	coalesced, err := d.queue.Insert(ctx, jobs.Job{Flow: flow, Gen: gen, Since: now, Takeover: takeover}, jobs.InsertOpts{})
	if err != nil {
		return fmt.Errorf("enqueueing a sync of flow %s: %w", flow, err)
	}
	outcome := "enqueued"
	if coalesced {
		outcome = "coalesced"
	}
	d.metrics.enqueued.WithLabelValues(flow, reason, outcome).Inc()
	return nil
}

// periodicJobs are each flow's schedule and its periodic full reconcile.
// Every replica registers the same set (from the same config); only the
// elected leader enqueues them.
func (d *Daemon) periodicJobs(fs *tsync.Flows) ([]jobs.Periodic, error) {
	var periodic []jobs.Periodic
	for _, name := range fs.Order {
		f := fs.ByName[name]
		sched, err := mapping.ParseSchedule(f.Map.Schedule)
		if err != nil {
			return nil, fmt.Errorf("flow %s: schedule %q: %w", name, f.Map.Schedule, err)
		}
		periodic = append(periodic,
			jobs.Periodic{ID: "sync:" + name, Schedule: sched, Describe: f.Map.Schedule, RunOnStart: true,
				Make: func() (jobs.Job, bool) { return jobs.Job{Flow: name, Gen: d.periodicGen(name), Since: d.now()}, true }},
			jobs.Periodic{ID: "full:" + name, Schedule: every(d.cfg.FullEvery), Describe: "@every " + d.cfg.FullEvery.String(),
				Make: func() (jobs.Job, bool) {
					return jobs.Job{Flow: name, Full: true, Gen: d.periodicGen(name), Since: d.now()}, true
				}})
	}
	return periodic, nil
}

// every is a fixed-interval schedule.
type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// Reload swaps in a new set of flows (a reloaded config): schedules are
// replaced, new flows start, removed ones get no more jobs (those waiting
// are cancelled). A run in flight finishes on the flow it started with.
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
	old := d.flows()
	store.GiveKV(d.cfg.Store, fs.Trackers)
	d.flowSet.Store(fs)
	if err := d.queue.SetPeriodic(periodic); err != nil {
		return fmt.Errorf("replacing periodic jobs: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range old.Order {
		if _, kept := fs.ByName[name]; !kept {
			if n, err := d.queue.Cancel(ctx, name); err != nil {
				d.log.Warn("jobs of a removed flow not cancelled; they will cancel themselves", "flow", name, "err", err)
			} else if n > 0 {
				d.log.Info("cancelled jobs of a removed flow", "flow", name, "jobs", n)
			}
		}
	}
	d.publishPeriodic(ctx, periodic)
	d.log.Info("config reloaded", "flows", len(fs.Order))
	return nil
}

// flows is the current flow set.
func (d *Daemon) flows() *tsync.Flows { return d.flowSet.Load() }

func (d *Daemon) cacheGen(flow string, gen int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if gen > d.gen[flow] {
		d.gen[flow] = gen
	}
}

// periodicGen is a flow's generation for a periodic job: the store's,
// read with a short timeout (periodic constructors must not block long),
// else the last one seen.
func (d *Daemon) periodicGen(flow string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if gen, err := d.cfg.Store.Generation(ctx, genName(flow)); err == nil {
		d.cacheGen(flow, gen)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gen[flow]
}

// settle says how long a job of flow must still wait for the flow's
// webhooks to go quiet (0: start now).
func (d *Daemon) settle(ctx context.Context, j jobs.Job) time.Duration {
	if d.cfg.Debounce <= 0 {
		return 0
	}
	now := d.now()
	if !j.Since.IsZero() && now.Sub(j.Since) >= d.cfg.MaxDelay {
		return 0
	}
	v, ok, err := d.cfg.Store.GetKV(ctx, kvScope, triggerKey(j.Flow))
	if err != nil || !ok {
		return 0
	}
	last, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0
	}
	quiet := now.Sub(time.Unix(0, last))
	if quiet >= d.cfg.Debounce {
		return 0
	}
	return max(d.cfg.Debounce-quiet, 10*time.Millisecond)
}

// work runs one sync job.
func (d *Daemon) work(ctx context.Context, job jobs.Job) error {
	f, ok := d.flows().ByName[job.Flow]
	if !ok {
		return jobs.Cancel(fmt.Errorf("flow %q is no longer configured", job.Flow))
	}
	// Wait for the flow's webhooks to go quiet here, for a short while:
	// a snoozed job is scheduled, and River promotes scheduled jobs only
	// every 5 s, which made every webhook-triggered write take 5 s. A
	// burst longer than two debounce periods frees the worker (snooze).
	for waited := time.Duration(0); ; {
		wait := d.settle(ctx, job)
		if wait <= 0 {
			break
		}
		if waited+wait > 2*d.cfg.Debounce {
			return jobs.Snooze(wait)
		}
		select {
		case <-ctx.Done():
			return jobs.Snooze(wait)
		case <-time.After(wait):
		}
		waited += wait
	}
	if !job.Since.IsZero() {
		d.metrics.jobLatency.Observe(d.now().Sub(job.Since).Seconds())
	}
	// One run of a flow at a time in this process; the engine's lease
	// covers other processes.
	d.mu.Lock()
	fm := d.flowMu[job.Flow]
	if fm == nil {
		fm = &sync.Mutex{}
		d.flowMu[job.Flow] = fm
	}
	d.mu.Unlock()
	fm.Lock()
	defer fm.Unlock()
	// Webhooks from now on need a run after this one. In the store, so
	// that it survives a restart and every replica sees it.
	gen, err := d.cfg.Store.BumpGeneration(ctx, genName(job.Flow))
	if err != nil {
		d.log.Error("sync not started: bumping the flow's generation failed; retried", "flow", job.Flow, "err", err)
		return fmt.Errorf("flow %s: bumping its generation: %w", job.Flow, err)
	}
	d.cacheGen(job.Flow, gen)
	start := time.Now()
	res, err := d.eng.Sync(ctx, f, tsync.RunOptions{Full: job.Full})
	d.metrics.observeRun(job.Flow, res, err, time.Since(start))
	if d.notifier != nil {
		defer d.notifier.Kick() // its events are in the outbox
	}
	if d.cfg.OnRun != nil {
		defer d.cfg.OnRun(job.Flow, res, err)
	}
	if err == nil && res != nil {
		d.kickRollups(job.Flow)
	}

	d.mu.Lock()
	if first, pending := d.triggers[job.Flow]; pending && !first.After(d.now()) && err == nil {
		delete(d.triggers, job.Flow)
		if res != nil && res.Run.Counts.Created+res.Run.Counts.Updated+res.Run.Counts.Comments > 0 {
			d.metrics.webhookToWrite.WithLabelValues(job.Flow).Observe(d.now().Sub(first).Seconds())
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
		// Another replica runs the flow: come back when its lease
		// would expire (it renews it while it lives).
		return jobs.Snooze(min(max(time.Until(locked.Expires), 100*time.Millisecond), d.cfg.LockTTL))
	case errors.Is(err, tsync.ErrDraining):
		return jobs.Snooze(time.Second) // picked up again after restart
	case errors.Is(err, store.ErrLeaseLost):
		d.log.Warn("sync stopped: the flow's lease was lost (another replica runs it now)", "flow", job.Flow, "err", err)
		return jobs.Snooze(min(5*time.Second, d.cfg.LockTTL/4))
	case errors.As(err, &rl):
		return jobs.Snooze(max(rl.RetryAfter, time.Second))
	case errors.As(err, &valve):
		// A person must look: retrying would stop again.
		d.log.Warn("sync stopped by the safety valve; run `tracksync sync --once --force` after checking the plan", "flow", job.Flow, "err", err)
		return jobs.Cancel(err)
	}
	d.log.Error("sync failed; retried with backoff", "flow", job.Flow, "attempt", job.Attempt, "err", err)
	return err
}

// queueDepth counts waiting jobs, for the metric (read at scrape time).
func (d *Daemon) queueDepth() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := d.queue.Waiting(ctx)
	if err != nil {
		return -1
	}
	return float64(n)
}
