package migrate_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/migrate"
	"github.com/tracksync/tracksync/migrate/migratetest"
)

// TestAsanaToJira: an Asana project's tasks with subtasks move to Jira
// (bulk): parents become epics with their subtasks under them, comments in
// order with their headers; killed five times on the way (a write failing
// before its call, or after it with nothing recorded) and resumed: nothing
// twice, nothing missing. TRACKSYNC_SOAK_GROUPS=1000 makes it the Asana
// soak of issue 15: 10,000 tasks (1,000 parents of 9 subtasks, 2 comments
// on each subtask), BENCHMARKS.md.
func TestAsanaToJira(t *testing.T) {
	groups, span := soakGroups(t, 2, 2) // a subtask's 2 comments; parents have none
	start := time.Now()
	f := newFakes(t)
	ao, rpm := asanatest.Options{}, 1500
	if groups > 2 { // limits off for a soak
		ao.RequestsPerMinute, rpm = -1, 1<<20
	}
	as := asanatest.New(t, ao)
	project := as.AddProject("Roadmap", "To do", "In progress", "Done")
	tr, err := asana.New("asana", asana.Options{URL: as.URL, Token: asanatest.DefaultToken, Workspace: as.Workspace(), Projects: []string{project},
		RequestsPerMinute: rpm, Transport: as.Client().Transport, Clock: as.Now,
		Sleep:        func(_ context.Context, d time.Duration) error { as.Advance(d); return nil },
		RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	migratetest.SeedAsana(t, as, project, groups)
	t.Logf("seeded %d Asana tasks in %s", groups*10, time.Since(start).Round(time.Second))
	start = time.Now()
	fc := migrate.DefaultFlow("asana", "jira", tr.Capabilities(), f.jira.Capabilities())
	m := flowtest.Compile(t, fc, []config.User{}, "asana", tr, "jira", f.jira).Map
	o := migrate.Options{ID: "asana-jira", Map: m, BatchSize: 5,
		From: migrate.End{Tracker: tr, Identity: "asana@app.asana.com", Kind: "asana", Scope: project},
		To:   migrate.End{Tracker: f.jira, Identity: "jira@" + f.jfake.URL, Kind: "jira", Scope: "project = PLAT"}}
	if groups > 2 {
		o.BatchSize = 0 // the default batch
	}
	kills := runWithKills(t, f, o, span, 13)
	src, dst := migratetest.All(t, tr, project), migratetest.All(t, f.jira, "project = PLAT")
	if len(src) != groups*10 {
		t.Fatalf("%d Asana tasks, want %d", len(src), groups*10)
	}
	copyOf := migratetest.Verify(t, src, dst, regexp.MustCompile(`\bnothing-to-rewrite\b`))
	migratetest.CheckAsanaCopies(t, tr, src, copyOf)
	if len(dst) != len(src) {
		t.Fatalf("%d issues on Jira for %d Asana tasks", len(dst), len(src))
	}
	rep, err := migrate.Run(t.Context(), f.st, o)
	if err != nil || rep.Counts.Writes != 0 || rep.Counts.Done != groups*10 {
		t.Fatalf("after completion: %v %+v", err, rep.Counts)
	}
	t.Logf("%d tasks, %d kills: migrated and verified in %s (0 duplicates, 0 missing)", groups*10, kills, time.Since(start).Round(time.Second))
}

// TestJiraToAsanaKilled: Jira → Asana (epics of 9 children, 3 comments
// each), killed five times (a write failing before its call, or after it
// with nothing recorded) and resumed: every task once, comments once and
// in order, every child under its epic's copy; a run after completion
// writes nothing.
func TestJiraToAsanaKilled(t *testing.T) {
	groups, span := soakGroups(t, 2, 4)
	span = min(span, 12) // Asana's creates go ten to a /batch: few writes
	f := newFakes(t)
	as := asanatest.New(t, asanatest.Options{})
	project := as.AddProject("Roadmap", "To Do", "In Progress", "Done")
	tr, err := asana.New("asana", asana.Options{URL: as.URL, Token: asanatest.DefaultToken, Workspace: as.Workspace(), Projects: []string{project},
		RequestsPerMinute: 1500, Transport: as.Client().Transport, Clock: as.Now,
		Sleep:        func(_ context.Context, d time.Duration) error { as.Advance(d); return nil },
		RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	migratetest.SeedJira(t, f.jira, groups, f.jusers)
	fc := migrate.DefaultFlow("jira", "asana", f.jira.Capabilities(), tr.Capabilities())
	m := flowtest.Compile(t, fc, []config.User{}, "jira", f.jira, "asana", tr).Map
	o := migrate.Options{ID: "jira-asana", Map: m, BatchSize: 5,
		From: migrate.End{Tracker: f.jira, Identity: "jira@" + f.jfake.URL, Kind: "jira", Scope: "project = PLAT"},
		To:   migrate.End{Tracker: tr, Identity: "asana@app.asana.com", Kind: "asana", Scope: project}}
	kills := runWithKills(t, f, o, span, 17)
	src, dst := migratetest.All(t, f.jira, "project = PLAT"), migratetest.All(t, tr, project)
	copyOf := migratetest.Verify(t, src, dst, regexp.MustCompile(`PLAT-[0-9]+`))
	migratetest.CheckEpics(t, src, copyOf)
	if len(dst) != len(src) || len(as.Tasks(project)) != len(src) {
		t.Fatalf("%d tasks on Asana (%d in the fake) for %d Jira issues", len(dst), len(as.Tasks(project)), len(src))
	}
	rep, err := migrate.Run(t.Context(), f.st, o)
	if err != nil || rep.Counts.Writes != 0 || rep.Counts.Done != groups*10 {
		t.Fatalf("after completion: %v %+v", err, rep.Counts)
	}
	t.Logf("%d issues, %d kills: 0 duplicates, 0 missing", groups*10, kills)
}

// TestIntoAsanaFromTwoStateFiles: the same Jira → Asana migration run from
// a laptop's state file, killed after a batch of creates, and then from a
// server's fresh one, each with its own adapter: the server finds the
// laptop's tasks by their keys in Asana and makes none of them again.
func TestIntoAsanaFromTwoStateFiles(t *testing.T) {
	f := newFakes(t)
	as := asanatest.New(t, asanatest.Options{})
	project := as.AddProject("Roadmap", "To Do", "In Progress", "Done")
	newTracker := func() *asana.Tracker {
		tr, err := asana.New("asana", asana.Options{URL: as.URL, Token: asanatest.DefaultToken, Workspace: as.Workspace(), Projects: []string{project},
			RequestsPerMinute: 1500, Transport: as.Client().Transport, Clock: as.Now,
			Sleep:        func(_ context.Context, d time.Duration) error { as.Advance(d); return nil },
			RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	migratetest.SeedJira(t, f.jira, 2, f.jusers)
	options := func(tr *asana.Tracker) migrate.Options {
		fc := migrate.DefaultFlow("jira", "asana", f.jira.Capabilities(), tr.Capabilities())
		m := flowtest.Compile(t, fc, []config.User{}, "jira", f.jira, "asana", tr).Map
		return migrate.Options{ID: "jira-asana", Map: m, BatchSize: 5,
			From: migrate.End{Tracker: f.jira, Identity: "jira@" + f.jfake.URL, Kind: "jira", Scope: "project = PLAT"},
			To:   migrate.End{Tracker: tr, Identity: "asana@app.asana.com", Kind: "asana", Scope: project}}
	}
	laptop := options(newTracker())
	laptop.Crash = func(p string, n int) error {
		if p == "after" && n == 25 {
			return fmt.Errorf("killed at write %d (%s)", n, p)
		}
		return nil
	}
	if _, err := migrate.Run(t.Context(), f.st, laptop); err == nil {
		t.Fatal("the laptop's run was not killed")
	}
	made := len(as.Tasks(project))
	if made == 0 {
		t.Fatal("the laptop made nothing: the test proves nothing")
	}
	server := flowtest.Store(t, "", f.clock.Now)
	rep, err := migrate.Run(t.Context(), server, options(newTracker()))
	if err != nil {
		t.Fatal(err)
	}
	src, dst := migratetest.All(t, f.jira, "project = PLAT"), migratetest.All(t, newTracker(), project)
	migratetest.CheckEpics(t, src, migratetest.Verify(t, src, dst, regexp.MustCompile(`PLAT-[0-9]+`)))
	if len(dst) != len(src) {
		t.Fatalf("%d tasks on Asana for %d Jira issues (the laptop made %d; the server: %+v)", len(dst), len(src), made, rep.Counts)
	}
	t.Logf("the laptop made %d tasks; the server: %+v", made, rep.Counts)
	if rep.Counts.Found == 0 {
		t.Errorf("the server found none of the laptop's %d tasks: %+v", made, rep.Counts)
	}
}
