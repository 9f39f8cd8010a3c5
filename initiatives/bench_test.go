package initiatives

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/adapters/roadmap"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/rollup"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/sqlite"
)

// benchService is 200 roadmap initiatives over 50,000 Jira children in the
// memory tracker: per initiative one epic labelled after it and 249 issues
// under the epic, a third of them done.
func benchService(b *testing.B) (*Service, *memory.Tracker, []adapters.Item) {
	b.Helper()
	dir := b.TempDir()
	var rm strings.Builder
	rm.WriteString("initiatives:\n")
	for i := range 200 {
		fmt.Fprintf(&rm, "  - key: INIT-%d\n    title: Initiative %d\n    due: 2027-06-30\n", i, i)
	}
	path := filepath.Join(dir, "roadmap.yaml")
	if err := os.WriteFile(path, []byte(rm.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	plan, err := roadmap.New("plan", roadmap.Options{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	jira, err := memory.New("jira", memory.Options{Project: "PLAT", PageSize: 100})
	if err != nil {
		b.Fatal(err)
	}
	var issues []adapters.Item
	sts := []string{"To Do", "In Progress", "Done"}
	for i := range 200 {
		epic := jira.Seed(adapters.Item{Kind: adapters.KindEpic, Title: "epic", Status: "In Progress", Labels: []string{fmt.Sprintf("initiative:INIT-%d", i)}})[0]
		batch := make([]adapters.Item, 249)
		for k := range batch {
			batch[k] = adapters.Item{Kind: adapters.KindIssue, Title: "issue", Status: sts[k%3], Parent: &epic.Ref}
		}
		issues = append(issues, jira.Seed(batch...)...)
	}
	dbDir := "/dev/shm"
	if _, err := os.Stat(dbDir); err != nil {
		dbDir = dir
	}
	db, err := os.MkdirTemp(dbDir, "tracksync-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(db) })
	st, err := sqlite.Open(context.Background(), filepath.Join(db, "state.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	cfg := config.Initiatives{
		Source:   config.InitiativeSource{Tracker: "plan"},
		Status:   "pm",
		Children: []config.ChildRule{{Tracker: "jira", Link: "label", Label: "initiative:{key}"}},
		Rollup:   config.RollupConfig{Weight: "count", AtRisk: config.AtRiskConfig{DaysBeforeDue: 30, MinDone: 0.5}},
	}
	svc, err := New(Options{Config: &cfg, Trackers: map[string]adapters.Tracker{"plan": plan, "jira": jira},
		Kinds: map[string]string{"plan": "roadmap", "jira": "memory"}, Store: st})
	if err != nil {
		b.Fatal(err)
	}
	return svc, jira, issues
}

// BenchmarkLoad200x50k is a full read: listing 50,200 items from the
// trackers, building the nodes and the Index, and storing 200 snapshots.
func BenchmarkLoad200x50k(b *testing.B) {
	svc, _, _ := benchService(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Load(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefreshOneChange is the webhook path: one issue changes status,
// Refresh lists what changed (one incremental listing per tracker), updates
// the node and its ancestors, and stores the initiative's new snapshot.
func BenchmarkRefreshOneChange(b *testing.B) {
	svc, jira, issues := benchService(b)
	ctx := context.Background()
	if _, err := svc.Load(ctx); err != nil {
		b.Fatal(err)
	}
	sts := []string{"To Do", "In Progress", "Done"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		it := issues[(i*7919)%len(issues)]
		i++
		if _, err := jira.Edit(it.Ref, func(x *adapters.Item) { x.Status = sts[i%3] }); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := svc.Refresh(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if res.Read == 0 {
			b.Fatal("the change was not read")
		}
	}
}

// BenchmarkDashboard200x90 is one load of the daemon's dashboard: the
// report (roll-ups plus 90 days of history for 200 initiatives, 18,000
// snapshots) rendered to HTML (target under 50 ms). "cached" is the
// daemon's steady state (history cached, kept current by the snapshot
// writes); "store" reads the history from SQLite and builds it on every
// load, as the dashboard did before.
func BenchmarkDashboard200x90(b *testing.B) {
	svc, _, _ := benchService(b)
	ctx := context.Background()
	if _, err := svc.Load(ctx); err != nil {
		b.Fatal(err)
	}
	today := svc.now().UTC()
	err := svc.o.Store.Tx(ctx, func(tx store.Ops) error {
		for d := 90; d >= 1; d-- {
			day := today.AddDate(0, 0, -d).Format(time.DateOnly)
			for i := range 200 {
				done := 249 * (90 - d) / 90
				if err := tx.PutSnapshot(ctx, store.Snapshot{Initiative: fmt.Sprintf("plan:INIT-%d", i), Day: day, Total: 249, Done: done, Todo: 249 - done, DoneByCount: float64(done) / 249}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"cached", "store"} {
		b.Run(mode, func(b *testing.B) {
			var n int
			b.ReportAllocs()
			for b.Loop() {
				if mode == "store" {
					svc.hist.forget()
				}
				rep, err := svc.Report(ctx, 90, "")
				if err != nil {
					b.Fatal(err)
				}
				if len(rep.History) != 200 || len(rep.History["plan:INIT-7"]) < 90 {
					b.Fatalf("history of %d initiatives, INIT-7 %d days", len(rep.History), len(rep.History["plan:INIT-7"]))
				}
				var buf bytes.Buffer
				if err := rollup.WriteHTML(&buf, rep, rollup.HTMLOptions{Refresh: 60}); err != nil {
					b.Fatal(err)
				}
				n = buf.Len()
			}
			b.ReportMetric(float64(n), "page-bytes")
		})
	}
}
