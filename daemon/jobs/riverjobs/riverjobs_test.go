package riverjobs

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/tracksync/tracksync/daemon/jobs"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/postgres"
	"github.com/tracksync/tracksync/store/postgres/pgtest"
	"github.com/tracksync/tracksync/store/sqlite"
)

type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		<-time.After(20 * time.Millisecond)
	}
}

// pgSchema is pgtest.Schema that also drops River's schema beside it.
func pgSchema(t *testing.T) (string, string) {
	schema, dsn := pgtest.Schema(t)
	t.Cleanup(func() { DropSchemaForTest(t, dsn, schema) })
	return schema, dsn
}

type foreignArgs struct{}

func (foreignArgs) Kind() string { return "foreign_app_job" }

type foreignWorker struct {
	river.WorkerDefaults[foreignArgs]
}

func (foreignWorker) Work(context.Context, *river.Job[foreignArgs]) error { return nil }

func openPG(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestUniqueAtInsertOnly: a job is unique per (flow, full, gen) while it
// waits or runs, on both drivers; once done, the same job may be asked
// for again (and must be: the next webhook needs a run). Two jobs of one
// flow with different generations are both inserted: keeping them from
// running side by side is the flow lease's work, not the queue's.
func TestUniqueAtInsertOnly(t *testing.T) {
	ctx := context.Background()
	sq, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	_, dsn := pgSchema(t)
	for name, st := range map[string]store.Store{"sqlite": sq, "postgres": openPG(t, dsn)} {
		t.Run(name, func(t *testing.T) {
			release := make(chan struct{})
			var ran atomic.Int64
			q, err := Open(ctx, st, Options{Options: jobs.Options{Workers: 2, Poll: 20 * time.Millisecond, Handler: func(ctx context.Context, j jobs.Job) error {
				ran.Add(1)
				<-release
				return nil
			}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer q.Stop(ctx)
			ins := func(gen int64) bool {
				c, err := q.Insert(ctx, jobs.Job{Flow: "f", Gen: gen, Since: time.Now()}, jobs.InsertOpts{})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			if ins(1) {
				t.Fatal("first insert coalesced")
			}
			waitFor(t, "the job starts", func() bool { return ran.Load() == 1 })
			if !ins(1) {
				t.Fatal("a second job of the running generation was not coalesced")
			}
			if ins(2) {
				t.Fatal("the next generation's job was coalesced into the running one")
			}
			waitFor(t, "the next generation's job runs beside it (the queue does not exclude)", func() bool { return ran.Load() == 2 })
			close(release)
			waitFor(t, "the queue drains", func() bool { n, _ := q.Active(ctx); return n == 0 })
			if ins(1) {
				t.Fatal("a finished job still coalesces new ones")
			}
		})
	}
}

// TestPeriodicOnlyFromTheLeader: three replicas register the same
// periodic job (run on start); only the elected leader enqueues it, so it
// runs once, not three times.
func TestPeriodicOnlyFromTheLeader(t *testing.T) {
	ctx := context.Background()
	_, dsn := pgSchema(t)
	var made [3]atomic.Int64
	var ran atomic.Int64
	var qs []jobs.Queue
	for i := range 3 {
		st := openPG(t, dsn)
		q, err := Open(ctx, st, Options{Options: jobs.Options{ID: fmt.Sprintf("r%d", i), Poll: 20 * time.Millisecond,
			Handler: func(context.Context, jobs.Job) error { ran.Add(1); return nil },
			Periodic: []jobs.Periodic{{ID: "sync:f", Schedule: every(time.Hour), Describe: "@every 1h", RunOnStart: true,
				Make: func() (jobs.Job, bool) { made[i].Add(1); return jobs.Job{Flow: "f"}, true }}}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		qs = append(qs, q)
	}
	waitFor(t, "the periodic job runs", func() bool { return ran.Load() >= 1 })
	// Every replica has had time to fetch and run anything enqueued.
	waitFor(t, "the queue drains", func() bool { n, _ := qs[0].Active(ctx); return n == 0 })
	for _, q := range qs {
		q.Stop(ctx)
	}
	total := made[0].Load() + made[1].Load() + made[2].Load()
	if total != 1 || ran.Load() != 1 {
		t.Fatalf("periodic job made %d times (per replica %d/%d/%d) and run %d times; want once by the leader", total, made[0].Load(), made[1].Load(), made[2].Load(), ran.Load())
	}
}

// TestForeignRiverAppKeepsNoLeadership: another application runs River on
// the state's schema and leads there. tracksync's River lives in a schema
// of its own, so its leader is elected among tracksync's replicas only
// and its periodic jobs run.
func TestForeignRiverAppKeepsNoLeadership(t *testing.T) {
	ctx := context.Background()
	schema, dsn := pgSchema(t)
	st := openPG(t, dsn)
	// The foreign application: River on the state's schema, started
	// first, so it holds that schema's leadership.
	fdrv := riverpgxv5.New(st.Pool())
	m, err := rivermigrate.New(fdrv, &rivermigrate.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	fw := river.NewWorkers()
	river.AddWorker(fw, foreignWorker{})
	foreign, err := river.NewClient(fdrv, &river.Config{ID: "foreign-app", Schema: schema,
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}}, Workers: fw})
	if err != nil {
		t.Fatal(err)
	}
	if err := foreign.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer foreign.Stop(ctx)
	var leader string
	waitFor(t, "the foreign application leads its schema", func() bool {
		err := st.Pool().QueryRow(ctx, `SELECT leader_id FROM `+pgx.Identifier{schema, "river_leader"}.Sanitize()).Scan(&leader)
		return err == nil && leader == "foreign-app"
	})

	var ran atomic.Int64
	var once sync.Once
	done := make(chan struct{})
	q, err := Open(ctx, st, Options{Options: jobs.Options{ID: "tracksync-1", Poll: 20 * time.Millisecond,
		Handler: func(context.Context, jobs.Job) error { ran.Add(1); once.Do(func() { close(done) }); return nil },
		Periodic: []jobs.Periodic{{ID: "sync:f", Schedule: every(time.Hour), Describe: "@every 1h", RunOnStart: true,
			Make: func() (jobs.Job, bool) { return jobs.Job{Flow: "f"}, true }}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("tracksync's periodic job never ran beside a foreign River leader")
	}
	var ours string
	if err := st.Pool().QueryRow(ctx, `SELECT leader_id FROM `+pgx.Identifier{schema + "_river", "river_leader"}.Sanitize()).Scan(&ours); err != nil || ours != "tracksync-1" {
		t.Fatalf("leader of %s_river: %q (%v), want tracksync-1", schema, ours, err)
	}
}
