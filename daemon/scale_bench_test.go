package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/daemon/jobs/riverjobs"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/postgres"
	"github.com/tracksync/tracksync/store/postgres/pgtest"
	"github.com/tracksync/tracksync/store/sqlite"
	tsync "github.com/tracksync/tracksync/sync"
)

// Scale benchmark parameters (issue 14): 50 flows of 2,000 linked pairs.
const (
	scaleFlows  = 50
	scaleItems  = 2000
	scaleWindow = 20 * time.Second
	scaleRound  = time.Second
	scaleTTL    = 5 * time.Second
)

// BenchmarkFlows50x2000: 50 flows of 2,000 linked pairs each (in-memory
// trackers, shared by every replica of the process, so the figures are
// the coordination's and the store's, not a tracker's), served by one
// daemon on SQLite, or by 1 or 3 daemons on one PostgreSQL schema. For
// 20 s, every second, 1% of each flow's items are edited on side A and
// every flow is asked for a sync at a random replica. Reported: runs per
// minute, fairness (fewest runs of a flow / most), store round trips per
// run (PostgreSQL: statements and batches sent by every replica, the job
// queue's included), time until every edit has reached side B once the
// edits stop, and with 3 replicas the failover: the replica holding the
// most leases is killed as with -9 and an edit in each of its flows is
// timed until it reaches side B.
//
//	go test ./daemon -run XXX -bench Flows50x2000 -benchtime 1x -timeout 30m
func BenchmarkFlows50x2000(b *testing.B) {
	b.Run("sqlite/1", func(b *testing.B) { benchScale(b, "sqlite", 1) })
	b.Run("postgres/1", func(b *testing.B) { benchScale(b, "postgres", 1) })
	b.Run("postgres/3", func(b *testing.B) { benchScale(b, "postgres", 3) })
}

type scaleFlow struct {
	name string
	a, b *memory.Tracker
	m    *mapping.Flow
	as   []adapters.Item
	runs atomic.Int64
}

type scaleReplica struct {
	d      *Daemon
	st     store.Store
	name   string
	cancel context.CancelFunc
	done   chan error
	dead   bool
}

func benchScale(b *testing.B, driver string, replicas int) {
	ctx := context.Background()
	for b.Loop() {
		var open func() store.Store
		switch driver {
		case "sqlite":
			path := filepath.Join(b.TempDir(), "state.db")
			open = func() store.Store {
				st, err := sqlite.Open(ctx, path, sqlite.Options{})
				if err != nil {
					b.Fatal(err)
				}
				return st
			}
		default:
			schema, dsn := pgtest.Schema(b)
			b.Cleanup(func() { riverjobs.DropSchemaForTest(b, dsn, schema) })
			open = func() store.Store {
				st, err := postgres.Open(ctx, dsn, store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				return st
			}
		}
		seedStore := open()
		flows := seedScale(b, ctx, seedStore)
		seedStore.Close()

		var failed atomic.Int64
		var reps []*scaleReplica
		start := func(i int) *scaleReplica {
			st := open()
			fs := &tsync.Flows{ByName: map[string]*tsync.Flow{}, Trackers: map[string]adapters.Tracker{}}
			byName := map[string]*scaleFlow{}
			for _, f := range flows {
				fs.ByName[f.name] = &tsync.Flow{Map: f.m, A: f.a, B: f.b}
				fs.Order = append(fs.Order, f.name)
				fs.Trackers[f.a.Name()], fs.Trackers[f.b.Name()] = f.a, f.b
				byName[f.name] = f
			}
			r := &scaleReplica{st: st, name: fmt.Sprintf("replica-%d", i), done: make(chan error, 1)}
			d, err := New(ctx, Config{Store: st, Flows: fs, Listen: "127.0.0.1:0", Owner: r.name, LockTTL: scaleTTL,
				PollInterval: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
				OnRun: func(flow string, _ *tsync.Result, err error) {
					if err != nil {
						failed.Add(1)
						return
					}
					byName[flow].runs.Add(1)
				}})
			if err != nil {
				b.Fatal(err)
			}
			r.d = d
			runCtx, cancel := context.WithCancel(ctx)
			r.cancel = cancel
			go func() { r.done <- d.Run(runCtx) }()
			return r
		}
		for i := range replicas {
			reps = append(reps, start(i+1))
		}
		// The runs at start (every flow's schedule runs on start).
		waitScale(b, 2*time.Minute, func() bool {
			for _, f := range flows {
				if f.runs.Load() == 0 {
					return false
				}
			}
			return true
		})
		for _, f := range flows {
			f.runs.Store(0)
		}
		trips := func() int64 {
			var n int64
			for _, r := range reps {
				if pg, ok := r.st.(*postgres.Store); ok {
					n += pg.RoundTrips()
				}
			}
			return n
		}

		// The window: edits and sync requests.
		rng := rand.New(rand.NewPCG(1, 2))
		tripsBefore := trips()
		began := time.Now()
		round := 0
		for time.Since(began) < scaleWindow {
			next := time.Now().Add(scaleRound)
			round++
			for _, f := range flows {
				for range scaleItems / 100 {
					it := f.as[rng.IntN(len(f.as))]
					f.a.Edit(it.Ref, func(x *adapters.Item) { x.Title = fmt.Sprintf("%s r%d", it.Title, round) })
				}
				r := reps[rng.IntN(len(reps))]
				if err := r.d.Enqueue(ctx, f.name, "manual"); err != nil {
					b.Fatal(err)
				}
			}
			time.Sleep(time.Until(next))
		}
		window := time.Since(began)
		stop := time.Now()
		waitScale(b, 5*time.Minute, func() bool { return scaleConverged(flows) })
		drain := time.Since(stop)
		var per []int64
		var total int64
		for _, f := range flows {
			n := f.runs.Load()
			per = append(per, n)
			total += n
		}
		slices.Sort(per)
		b.ReportMetric(float64(total)/window.Minutes(), "runs/min")
		b.ReportMetric(float64(per[0])/float64(max(per[len(per)-1], 1)), "fairness-min/max")
		if n := trips() - tripsBefore; n > 0 {
			b.ReportMetric(float64(n)/float64(max(total, 1)), "roundtrips/run")
		}
		b.ReportMetric(drain.Seconds(), "drain-s")
		b.ReportMetric(float64(failed.Load()), "failed-runs")
		b.Logf("%s, %d replica(s): %d runs in %s (per flow %d..%d, median %d); edits reached side B %s after they stopped; %d failed runs",
			driver, replicas, total, window.Round(time.Millisecond), per[0], per[len(per)-1], per[len(per)/2], drain.Round(time.Millisecond), failed.Load())

		if replicas > 1 {
			b.ReportMetric(scaleFailover(b, ctx, flows, reps).Seconds(), "failover-s")
		}
		for _, r := range reps {
			if !r.dead {
				r.cancel()
				<-r.done
				r.st.Close()
			}
		}
	}
}

// seedScale makes the flows: both sides seeded with the same items,
// linked in the store with bases, cursors at the end of each side.
func seedScale(b *testing.B, ctx context.Context, st store.Store) []*scaleFlow {
	var flows []*scaleFlow
	for i := range scaleFlows {
		name := fmt.Sprintf("f%02d", i)
		a, _ := memory.New(name+"a", memory.Options{Project: "A", PageSize: 100})
		bb, _ := memory.New(name+"b", memory.Options{Project: "B", PageSize: 100})
		as := make([]adapters.Item, scaleItems)
		for j := range as {
			as[j] = adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("%s item %d", name, j), Status: "To Do"}
		}
		as = seedLinked(b, ctx, st, name, a, bb, as)
		flows = append(flows, &scaleFlow{name: name, a: a, b: bb, m: benchFlow(b, name, a, bb, "@every 10m").Map, as: as})
	}
	return flows
}

// scaleConverged: every flow's side B carries side A's titles.
func scaleConverged(flows []*scaleFlow) bool {
	for _, f := range flows {
		if !sameTitles(f.a.Items(), f.b.Items()) {
			return false
		}
	}
	return true
}

func sameTitles(as, bs []adapters.Item) bool {
	if len(as) != len(bs) {
		return false
	}
	ta := make([]string, len(as))
	tb := make([]string, len(bs))
	for i := range as {
		ta[i], tb[i] = as[i].Title, bs[i].Title
	}
	slices.Sort(ta)
	slices.Sort(tb)
	return slices.Equal(ta, tb)
}

// scaleFailover kills the replica holding the most flow leases (as -9:
// no release) while every flow is asked to run, edits one item in each of
// its flows, and times until all of them reached side B.
func scaleFailover(b *testing.B, ctx context.Context, flows []*scaleFlow, reps []*scaleReplica) time.Duration {
	pg := reps[0].st.(*postgres.Store)
	// Keep the replicas busy, then pick the victim.
	for _, f := range flows {
		f.a.Edit(f.as[0].Ref, func(x *adapters.Item) { x.Title += " busy" })
		reps[0].d.Enqueue(ctx, f.name, "manual")
	}
	held := map[string][]string{}
	waitScale(b, time.Minute, func() bool {
		clear(held)
		rows, err := pg.Pool().Query(ctx, `SELECT name, owner FROM locks WHERE owner <> '' AND expires_at > $1 AND name LIKE 'flow:%'`, time.Now().UnixNano())
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var name, owner string
			if err := rows.Scan(&name, &owner); err != nil {
				b.Fatal(err)
			}
			held[owner] = append(held[owner], name[len("flow:"):])
		}
		return len(held) > 0
	})
	var victim *scaleReplica
	for _, r := range reps {
		if victim == nil || len(held[r.name]) > len(held[victim.name]) {
			victim = r
		}
	}
	victimFlows := held[victim.name]
	killed := time.Now()
	victim.dead = true
	go victim.st.Close()
	victim.cancel()
	<-victim.done
	var survivor *scaleReplica
	for _, r := range reps {
		if !r.dead {
			survivor = r
			break
		}
	}
	byName := map[string]*scaleFlow{}
	for _, f := range flows {
		byName[f.name] = f
	}
	var mu sync.Mutex
	want := map[string]string{}
	for _, name := range victimFlows {
		f := byName[name]
		it, _ := f.a.Edit(f.as[1].Ref, func(x *adapters.Item) { x.Title += " after the kill" })
		mu.Lock()
		want[name] = it.Title
		mu.Unlock()
		survivor.d.Enqueue(ctx, name, "manual")
	}
	waitScale(b, 2*time.Minute, func() bool {
		for name, title := range want {
			found := false
			for _, it := range byName[name].b.Items() {
				if it.Title == title {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	})
	failover := time.Since(killed)
	b.Logf("killed %s holding %d flow lease(s); an edit in each reached side B %s after the kill (lease %s)", victim.name, len(victimFlows), failover.Round(time.Millisecond), scaleTTL)
	waitScale(b, 5*time.Minute, func() bool { return scaleConverged(flows) })
	return failover
}

func waitScale(b *testing.B, limit time.Duration, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("not within %s", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seedLinked seeds items on both memory trackers, links them pairwise in
// st under flow (bases set, in transactions of 5,000) and stores each
// side's cursor at its end, as a flow that has synced them would leave
// them. It returns side A's items as seeded.
func seedLinked(tb testing.TB, ctx context.Context, st store.Store, flow string, a, b *memory.Tracker, items []adapters.Item) []adapters.Item {
	tb.Helper()
	as, bs := a.Seed(items...), b.Seed(slices.Clone(items)...)
	for lo := 0; lo < len(as); lo += 5000 {
		err := st.Tx(ctx, func(tx store.Ops) error {
			for i := lo; i < min(lo+5000, len(as)); i++ {
				l, err := tx.CreateLink(ctx, store.Link{Flow: flow, Key: flow + "/a/" + as[i].Ref.ID, A: as[i].Ref, B: bs[i].Ref})
				if err != nil {
					return err
				}
				v := map[string]string{"title": as[i].Title, "status": as[i].Status}
				if err := tx.PutBase(ctx, store.Base{LinkID: l.ID, A: v, B: v, SyncedAt: time.Now()}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, s := range []struct {
		side store.Side
		t    adapters.Tracker
	}{{store.SideA, a}, {store.SideB, b}} {
		req := adapters.ListRequest{PageSize: 100}
		for {
			p, err := s.t.List(ctx, req)
			if err != nil {
				tb.Fatal(err)
			}
			if p.NextPageToken == "" {
				if err := st.PutCursor(ctx, flow, s.side, p.Cursor); err != nil {
					tb.Fatal(err)
				}
				break
			}
			req.PageToken = p.NextPageToken
		}
	}
	return as
}
