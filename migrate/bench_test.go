package migrate_test

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/migrate"
)

// seedPlain fills a memory tracker with n items (an epic every tenth,
// the rest its children), comments each, no assignees.
func seedPlain(src *memory.Tracker, n, comments int, refs bool) {
	var epic adapters.Ref
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		it := adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Body: fmt.Sprintf("Item %d.", i), Status: "To Do", Labels: []string{"moved"}}
		if refs {
			it.Body += fmt.Sprintf(" After MEM-%d.", i)
		}
		if i%10 == 0 {
			it.Kind = adapters.KindEpic
		} else {
			it.Parent = &epic
		}
		for c := 0; c < comments; c++ {
			it.Comments = append(it.Comments, adapters.Comment{Author: "ana", Body: fmt.Sprintf("comment %d", c), CreatedAt: at})
		}
		got := src.Seed(it)[0]
		if i%10 == 0 {
			epic = got.Ref
		}
	}
}

// BenchmarkMigrateToJiraBulk: memory → Jira fake through bulk creates,
// limits off. Reports items/s and the Jira requests per item, for items
// that name no other item and for items that each name the one before
// (mostly in the same batch, so their bodies are written again once the
// keys are known).
func BenchmarkMigrateToJiraBulk(b *testing.B) {
	for _, refs := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "every-item-refers"}[refs], func(b *testing.B) { benchJiraBulk(b, refs) })
	}
}

func benchJiraBulk(b *testing.B, refs bool) {
	const n = 500
	for b.Loop() {
		b.StopTimer()
		f := newFakes(b)
		src, _ := memory.New("mem", memory.Options{Project: "MEM"})
		seedPlain(src, n, 0, refs)
		o := f.options(b, src, f.jira, "memory", "jira")
		f.jfake.ResetRequests()
		b.StartTimer()
		start := time.Now()
		rep, err := migrate.Run(b.Context(), f.st, o)
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		if rep.Counts.Created != n {
			b.Fatalf("created %d", rep.Counts.Created)
		}
		b.ReportMetric(float64(n)/el.Seconds(), "items/s")
		b.ReportMetric(float64(len(f.jfake.Requests()))/n, "jira-requests/item")
	}
}

// BenchmarkMigrateMemory: memory → memory (bulk), 1,000 items with three
// comments each: the migration's own cost (store, ordering, rewriting).
func BenchmarkMigrateMemory(b *testing.B) {
	const n = 1000
	for b.Loop() {
		b.StopTimer()
		src, _ := memory.New("src", memory.Options{Project: "MEM"})
		dst, _ := memory.New("dst", memory.Options{Project: "NEW"})
		seedPlain(src, n, 3, true)
		st := openStore(b)
		m := compile(b, migrate.DefaultFlow("src", "dst", src.Capabilities(), dst.Capabilities()), src, dst, "memory", "memory")
		o := migrate.Options{ID: "bench", Map: m, From: migrate.End{Tracker: src, Identity: "memory@project:MEM", Kind: "memory"}, To: migrate.End{Tracker: dst, Identity: "memory@project:NEW", Kind: "memory"}}
		b.StartTimer()
		start := time.Now()
		rep, err := migrate.Run(b.Context(), st, o)
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		b.ReportMetric(float64(n)/el.Seconds(), "items/s")
		b.ReportMetric(float64(dst.Counts().Writes())/n, "writes/item")
		b.ReportMetric(float64(rep.Counts.Requests)/n, "requests/item")
	}
}

// TestPeakRSS10k migrates 10,000 items with three comments each (memory →
// memory, bulk, SQLite store) and logs the process's peak RSS. Run once:
// TRACKSYNC_BENCH_10K=1 go test -run PeakRSS10k -v ./migrate/
func TestPeakRSS10k(t *testing.T) {
	if os.Getenv("TRACKSYNC_BENCH_10K") == "" {
		t.Skip("set TRACKSYNC_BENCH_10K=1 to run (a measurement, not a check)")
	}
	const n = 10000
	src, _ := memory.New("src", memory.Options{Project: "MEM"})
	dst, _ := memory.New("dst", memory.Options{Project: "NEW"})
	seedPlain(src, n, 3, true)
	runtime.GC()
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	st := openStore(t)
	m := compile(t, migrate.DefaultFlow("src", "dst", src.Capabilities(), dst.Capabilities()), src, dst, "memory", "memory")
	o := migrate.Options{ID: "rss", Map: m, From: migrate.End{Tracker: src, Identity: "memory@project:MEM", Kind: "memory"}, To: migrate.End{Tracker: dst, Identity: "memory@project:NEW", Kind: "memory"}}
	start := time.Now()
	rep, err := migrate.Run(t.Context(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	t.Logf("%d items, %d comments in %v (%.0f items/s); peak RSS %d MB (%d MB before the migration, with both trackers' items)",
		rep.Counts.Created, rep.Counts.Comments, el.Round(time.Millisecond), float64(n)/el.Seconds(), after.Maxrss/1024, before.Maxrss/1024)
}

// TestGitHubPaceAndETA: 600 creates into the GitHub fake with its content
// limits on (80 a minute, 500 an hour) on a simulated clock: the ETA
// printed up front is within 10% of the time taken, and the run keeps to
// the limits.
func TestGitHubPaceAndETA(t *testing.T) {
	if testing.Short() {
		t.Skip("600 paced creates: not in -short")
	}
	const n = 600
	f := newFakes(t)
	src, _ := memory.New("mem", memory.Options{Project: "MEM"})
	for i := 0; i < n; i++ {
		src.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Status: "To Do"})
	}
	o := f.options(t, src, f.gh, "memory", "github")
	o.To.Pace = migrate.Pace{Windows: []migrate.Window{{Limit: 80, Per: time.Minute}, {Limit: 500, Per: time.Hour}}}
	start := f.clock.Now()
	rep, err := migrate.Run(t.Context(), f.st, o)
	if err != nil {
		t.Fatal(err)
	}
	took := f.clock.Now().Sub(start)
	eta := rep.Estimate.ETA
	t.Logf("%d creates: ETA %v, took %v on the simulated clock (%.1f%% off); %.1f creates a minute", rep.Counts.Created, eta, took, 100*float64(took-eta)/float64(eta), float64(rep.Counts.Writes)/took.Minutes())
	if d := took - eta; d > eta/10 || -d > eta/10 {
		t.Errorf("ETA %v, took %v", eta, took)
	}
	// Over a run this long the hourly window binds: at least 95% of its
	// sustained rate (500 an hour) must be used, or the pacer wastes what
	// GitHub allows.
	if used := float64(rep.Counts.Writes) / (500 * took.Hours()); used < 0.95 {
		t.Errorf("%d writes in %v: %.0f%% of the 500 an hour allowed, want at least 95%%", rep.Counts.Writes, took, 100*used)
	}
	hits := 0
	for _, r := range f.gfake.Requests() {
		if r.Status == 403 || r.Status == 429 {
			hits++
		}
	}
	if hits > 0 {
		t.Errorf("%d requests hit GitHub's limits", hits)
	}
}
