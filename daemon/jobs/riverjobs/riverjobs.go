// Package riverjobs is the daemon's job queue (jobs.Queue) on River, in
// the state store's own database: riversqlite when the store offers its
// database/sql pool (the sqlite driver), riverpgxv5 when it offers a pgx
// pool (the postgres driver). The store decides; the daemon sees only
// jobs.Queue.
//
// On PostgreSQL River's tables live in a schema of their own, named after
// the store's schema ("<schema>_river" unless Options.Schema says
// otherwise): River elects its leader among every client on its tables,
// and a second application on the same tables could win the leadership
// and never enqueue tracksync's periodic jobs. One installation, one
// River schema.
package riverjobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/tracksync/tracksync/daemon/jobs"
	"github.com/tracksync/tracksync/store"
)

// Options configure Open beyond jobs.Options.
type Options struct {
	jobs.Options
	// Logger receives River's warnings and errors.
	Logger *slog.Logger
	// Schema is River's PostgreSQL schema (default "<store schema>_river");
	// ignored on SQLite.
	Schema string
}

// PoolStore is a store on PostgreSQL through pgx that lets the job queue
// share its pool (store/postgres does).
type PoolStore interface {
	Pool() *pgxpool.Pool
}

// Kind is River's kind for a sync job.
const Kind = "tracksync_sync"

// syncArgs is a sync job's River args: unique by flow, full and gen.
type syncArgs struct {
	Flow     string `json:"flow" river:"unique"`
	Full     bool   `json:"full,omitempty" river:"unique"`
	Gen      int64  `json:"gen,omitempty" river:"unique"`
	Takeover int64  `json:"takeover,omitempty" river:"unique"`
	Since    int64  `json:"since,omitempty"` // unix nanoseconds
	Periodic string `json:"periodic,omitempty"`
}

func (syncArgs) Kind() string { return Kind }

// InsertOpts make a flow's job unique while it waits or runs.
func (syncArgs) InsertOpts() river.InsertOpts {
	// River's default also counts completed jobs, which would refuse
	// every later sync of the flow.
	return river.InsertOpts{MaxAttempts: 20, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

func toArgs(j jobs.Job) syncArgs {
	a := syncArgs{Flow: j.Flow, Full: j.Full, Gen: j.Gen, Periodic: j.Periodic, Takeover: j.Takeover}
	if !j.Since.IsZero() {
		a.Since = j.Since.UnixNano()
	}
	return a
}

func fromArgs(id int64, attempt int, a syncArgs) jobs.Job {
	j := jobs.Job{ID: id, Flow: a.Flow, Full: a.Full, Gen: a.Gen, Attempt: attempt, Periodic: a.Periodic, Takeover: a.Takeover}
	if a.Since != 0 {
		j.Since = time.Unix(0, a.Since)
	}
	return j
}

// Open prepares a queue in st's database: River's tables are migrated
// (one replica at a time on PostgreSQL) and the client is built, not
// started.
func Open(ctx context.Context, st store.Store, o Options) (jobs.Queue, error) {
	if o.Handler == nil {
		return nil, errors.New("riverjobs: Options.Handler is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ID == "" {
		host, _ := os.Hostname()
		o.ID = fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano()%1e6)
	}
	where := fmt.Sprintf("%T", st)
	if ds, ok := st.(store.Describer); ok {
		where = ds.Describe()
	}
	switch s := st.(type) {
	case PoolStore:
		schema := o.Schema
		if schema == "" {
			if err := s.Pool().QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
				return nil, fmt.Errorf("job queue in %s: finding the state schema: %w", where, err)
			}
			schema = SchemaFor(schema)
		}
		if err := migratePG(ctx, s.Pool(), schema); err != nil {
			return nil, fmt.Errorf("job queue in %s (schema %s): %w", where, schema, err)
		}
		return build[pgx.Tx](riverpgxv5.New(s.Pool()), schema, o)
	case store.SQLDBer:
		driver := riversqlite.New(s.DB())
		if err := migrate(ctx, driver, ""); err != nil {
			return nil, fmt.Errorf("migrating job tables in %s: %w", where, err)
		}
		return build[*sql.Tx](driver, "", o)
	}
	return nil, fmt.Errorf("state.driver: serve keeps its jobs in the state database, through database/sql (sqlite) or a pgx pool (postgres); this store (%T) offers neither", st)
}

func migrate[TTx any](ctx context.Context, d riverdriver.Driver[TTx], schema string) error {
	m, err := rivermigrate.New(d, &rivermigrate.Config{Schema: schema})
	if err != nil {
		return fmt.Errorf("preparing job tables: %w", err)
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// migratePG creates River's schema and migrates it, one replica at a time
// (an advisory lock: replicas starting together would race on CREATE).
func migratePG(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	h := fnv.New64a()
	h.Write([]byte("tracksync river migrate " + schema))
	key := int64(h.Sum64())
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return fmt.Errorf("waiting for another replica's migration: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("creating schema: %w", err)
	}
	if err := migrate(ctx, riverpgxv5.New(pool), schema); err != nil {
		return fmt.Errorf("migrating job tables: %w", err)
	}
	return nil
}

type queue[TTx any] struct {
	client *river.Client[TTx]
	id     string
	// hard is cancelled when a stop gives up waiting: only then do
	// running jobs see their context cancelled (River's job timeout,
	// which its rescuer needs, must not interrupt a long sync).
	hard       context.Context
	cancelHard context.CancelFunc
}

func build[TTx any](d riverdriver.Driver[TTx], schema string, o Options) (jobs.Queue, error) {
	var workers *river.Workers
	q := &queue[TTx]{id: o.ID}
	q.hard, q.cancelHard = context.WithCancel(context.Background())
	w := &worker{h: o.Handler, hard: q.hard}
	workers = river.NewWorkers()
	if err := river.AddWorkerSafely(workers, w); err != nil {
		return nil, err
	}
	// River rescues a running job only once it has outlived its job
	// timeout: with none (a negative one) a job a killed process left
	// running is never rescued. The timeout is the rescue period; the
	// worker keeps it from cancelling the sync itself.
	rescue := o.RescueAfter
	if rescue <= 0 {
		rescue = time.Hour
	}
	cfg := &river.Config{
		ID:                   o.ID,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: max(o.Workers, 1)}},
		Workers:              workers,
		PeriodicJobs:         periodic(o.Periodic),
		Logger:               riverLogger(o.Logger),
		JobTimeout:           rescue,
		RescueStuckJobsAfter: rescue,
		Schema:               schema,
	}
	if o.Poll > 0 {
		cfg.FetchPollInterval = o.Poll
		cfg.FetchCooldown = min(o.Poll, 100*time.Millisecond)
	}
	c, err := river.NewClient(d, cfg)
	if err != nil {
		return nil, fmt.Errorf("building the job queue: %w", err)
	}
	q.client = c
	return q, nil
}

func periodic(ps []jobs.Periodic) []*river.PeriodicJob {
	out := make([]*river.PeriodicJob, 0, len(ps))
	for _, p := range ps {
		mk := p.Make
		id := p.ID
		out = append(out, river.NewPeriodicJob(p.Schedule, func() (river.JobArgs, *river.InsertOpts) {
			j, ok := mk()
			if !ok {
				return nil, nil
			}
			j.Periodic = id
			return toArgs(j), nil
		}, &river.PeriodicJobOpts{ID: p.ID, RunOnStart: p.RunOnStart}))
	}
	return out
}

func (q *queue[TTx]) ID() string { return q.id }

func (q *queue[TTx]) Insert(ctx context.Context, j jobs.Job, o jobs.InsertOpts) (bool, error) {
	var opts *river.InsertOpts
	if !o.At.IsZero() {
		opts = &river.InsertOpts{ScheduledAt: o.At}
	}
	res, err := q.client.Insert(ctx, toArgs(j), opts)
	if err != nil {
		return false, err
	}
	return res.UniqueSkippedAsDuplicate, nil
}

func (q *queue[TTx]) SetPeriodic(ps []jobs.Periodic) error {
	pj := q.client.PeriodicJobs()
	pj.Clear()
	_, err := pj.AddManySafely(periodic(ps))
	return err
}

func (q *queue[TTx]) Cancel(ctx context.Context, flow string) (int, error) {
	res, err := q.client.JobList(ctx, river.NewJobListParams().Kinds(Kind).States(
		rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending).First(10000))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range res.Jobs {
		var a syncArgs
		if json.Unmarshal(r.EncodedArgs, &a) != nil || a.Flow != flow {
			continue
		}
		if _, err := q.client.JobCancel(ctx, r.ID); err != nil {
			return n, fmt.Errorf("cancelling job %d of flow %s: %w", r.ID, flow, err)
		}
		n++
	}
	return n, nil
}

func (q *queue[TTx]) Waiting(ctx context.Context) (int, error) {
	res, err := q.client.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateAvailable, rivertype.JobStateRetryable).First(10000))
	if err != nil {
		return 0, err
	}
	return len(res.Jobs), nil
}

func (q *queue[TTx]) Active(ctx context.Context) (int, error) {
	res, err := q.client.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateAvailable, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStatePending).First(10000))
	if err != nil {
		return 0, err
	}
	return len(res.Jobs), nil
}

func (q *queue[TTx]) Start(ctx context.Context) error { return q.client.Start(ctx) }

func (q *queue[TTx]) Stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		q.cancelHard()
		q.client.StopAndCancel(cctx)
	}
	return err
}

// worker turns River jobs into jobs.Job and the handler's verdicts back.
type worker struct {
	river.WorkerDefaults[syncArgs]
	h    jobs.Handler
	hard context.Context
}

func (w *worker) Work(ctx context.Context, job *river.Job[syncArgs]) error {
	// River cancels ctx at the job timeout (the rescue period); a long
	// sync goes on, stopped only by draining or a hard stop.
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(w.hard, cancel)
	defer stop()
	err := w.h(jctx, fromArgs(job.ID, job.Attempt, job.Args))
	if err == nil {
		return nil
	}
	if d, ok := jobs.IsSnooze(err); ok {
		return river.JobSnooze(d)
	}
	var c *jobs.CancelError
	if errors.As(err, &c) {
		return river.JobCancel(c.Err)
	}
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

// SchemaFor is River's schema beside the state schema (the default of
// Options.Schema).
func SchemaFor(stateSchema string) string { return stateSchema + "_river" }

// DropSchemaForTest drops River's schema beside stateSchema at dsn (tests
// give each run a schema of their own and drop it; River's goes too).
func DropSchemaForTest(tb interface{ Logf(string, ...any) }, dsn, stateSchema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Logf("dropping River's test schema: %v", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{SchemaFor(stateSchema)}.Sanitize()+` CASCADE`); err != nil {
		tb.Logf("dropping River's test schema: %v", err)
	}
}
