package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/daemon/jobs"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/store/sqlite"
	tsync "github.com/tracksync/tracksync/sync"
)

// BenchmarkWebhookToWrite: a person edits an issue on GitHub (the fake),
// the fake delivers a signed webhook to the daemon, and the time until the
// counterpart carries the edit is measured, end to end, with the default
// job poll interval.
func BenchmarkWebhookToWrite(b *testing.B) {
	for _, poll := range []time.Duration{time.Second, 250 * time.Millisecond, 100 * time.Millisecond} {
		b.Run(fmt.Sprintf("poll=%s", poll), func(b *testing.B) {
			h := startBench(b, poll)
			h.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "x", Status: "To Do"})
			waitUntil(b, func() bool { return len(h.fake.Issues(repo)) == 1 })
			is := h.fake.Issues(repo)[0]
			h.fake.SetWebhook(h.url+"/webhooks/github", secret, nil)
			var lat []time.Duration
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				title := fmt.Sprintf("edit %d", i)
				start := time.Now()
				h.fake.EditIssue(repo, is.Number, func(x *githubtest.Issue) { x.Title = title })
				waitUntil(b, func() bool { return h.a.Items()[0].Title == title })
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*95/100].Milliseconds()), "p95-ms")
		})
	}
}

// BenchmarkIdle: a daemon with 5 flows (memory trackers, 200 linked items
// each) sitting idle for 5 s after its first runs: CPU used and RSS.
func BenchmarkIdle(b *testing.B) {
	for _, poll := range []time.Duration{time.Second, 250 * time.Millisecond, 100 * time.Millisecond} {
		b.Run(fmt.Sprintf("poll=%s", poll), func(b *testing.B) { benchIdle(b, poll) })
	}
}

func benchIdle(b *testing.B, poll time.Duration) {
	ctx := context.Background()
	for b.Loop() {
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "state.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		fs := &tsync.Flows{ByName: map[string]*tsync.Flow{}, Trackers: map[string]adapters.Tracker{}}
		for i := range 5 {
			name := fmt.Sprintf("f%d", i)
			a, _ := memory.New(name+"a", memory.Options{Project: "A"})
			bb, _ := memory.New(name+"b", memory.Options{Project: "B"})
			for j := range 200 {
				a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprint(j), Status: "To Do"})
			}
			fs.ByName[name] = benchFlow(b, name, a, bb, "@every 5m")
			fs.Order = append(fs.Order, name)
			fs.Trackers[name+"a"], fs.Trackers[name+"b"] = a, bb
		}
		runs := make(chan struct{}, 100)
		d, err := New(ctx, Config{Store: st, Flows: fs, Listen: "127.0.0.1:0", PollInterval: poll, OnRun: func(string, *tsync.Result, error) { runs <- struct{}{} }})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- d.Run(runCtx) }()
		for range 5 {
			<-runs
		}
		var before, after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		time.Sleep(5 * time.Second) // the idle window being measured
		syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / 5
		b.ReportMetric(float64(cpu.Microseconds())/1000, "cpu-ms/s")
		b.ReportMetric(float64(after.Maxrss)/1024, "maxRSS-MB")
		cancel()
		<-done
		st.Close()
	}
}

func waitUntil(b *testing.B, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatal("not within 20s")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkMemory100k: the daemon serving one flow of 100,000 linked pairs
// (in-memory trackers, SQLite state) after its first, incremental run and
// a full reconcile: the heap it holds above the fixture's, and the
// process's max RSS (fixture included).
func BenchmarkMemory100k(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "state.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		a, _ := memory.New("a", memory.Options{Project: "A", PageSize: 100})
		bb, _ := memory.New("b", memory.Options{Project: "B", PageSize: 100})
		const n = 100_000
		items := make([]adapters.Item, n)
		for i := range n {
			items[i] = adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprint(i), Status: "To Do"}
		}
		seedLinked(b, ctx, st, "f", a, bb, items)
		fs := &tsync.Flows{ByName: map[string]*tsync.Flow{"f": benchFlow(b, "f", a, bb, "@every 5m")}, Order: []string{"f"}, Trackers: map[string]adapters.Tracker{"a": a, "b": bb}}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		runs := make(chan *tsync.Result, 10)
		d, err := New(ctx, Config{Store: st, Flows: fs, Listen: "127.0.0.1:0", OnRun: func(_ string, r *tsync.Result, _ error) { runs <- r }})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- d.Run(runCtx) }()
		<-runs // the incremental run at start
		if err := d.Enqueue(ctx, "f", "manual"); err != nil {
			b.Fatal(err)
		}
		d.queue.Insert(ctx, jobs.Job{Flow: "f", Full: true, Gen: 99}, jobs.InsertOpts{})
		for range 2 {
			<-runs
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/(1<<20), "daemon-heap-MB")
		b.ReportMetric(float64(ru.Maxrss)/1024, "maxRSS-MB")
		cancel()
		<-done
		st.Close()
	}
}

// benchFlow is flow name between in-memory trackers a and b, titles and
// statuses both ways on schedule.
func benchFlow(tb testing.TB, name string, a, b adapters.Tracker, schedule string) *tsync.Flow {
	tb.Helper()
	cf := flowtest.Flow("", "", map[string]config.FieldConfig{"title": {Direction: "both"}, "status": {Direction: "both"}})
	cf.Name, cf.A.Tracker, cf.B.Tracker, cf.Schedule = name, a.Name(), b.Name(), schedule
	return flowtest.Compile(tb, cf, nil, "memory", a, "memory", b)
}
