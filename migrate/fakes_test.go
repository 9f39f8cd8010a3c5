package migrate_test

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/migrate"
	"github.com/tracksync/tracksync/migrate/migratetest"
	"github.com/tracksync/tracksync/store"
)

const (
	ghRepo   = "acme/platform"
	jiraProj = "PLAT"
)

var ghUsers = []string{"gh-ana", "gh-bo", "gh-cy"}

// fakes is a Jira fake and a GitHub fake with an adapter each, on one
// simulated clock: the GitHub adapter's pacing waits pass on it.
type fakes struct {
	clock  *memory.Clock
	jfake  *jiratest.Server
	jira   *jira.Tracker
	gfake  *githubtest.Server
	gh     *github.Tracker
	st     store.Store
	jusers []string
	users  []config.User
}

func newFakes(t testing.TB, tweak ...func(*githubtest.Options)) *fakes {
	t.Helper()
	f := &fakes{clock: memory.NewClock(flowtest.Start)}
	f.jfake = jiratest.New(t, jiratest.Options{Start: flowtest.Start})
	f.jira = flowtest.Jira(t, "jira", f.jfake, jiraProj)
	f.jusers = f.jfake.UserIDs()
	gopts := githubtest.Options{Repos: []string{ghRepo}, Users: ghUsers, Tokens: []string{"tok"}, Clock: f.clock.Now}
	for _, tw := range tweak {
		tw(&gopts)
	}
	f.gfake = githubtest.New(t, gopts)
	f.gh = flowtest.GitHub(t, "github", f.gfake, f.clock.Now, func(d time.Duration) {
		f.clock.Advance(d)
		f.jfake.Advance(d)
	}, github.Options{Repo: ghRepo})
	f.st = flowtest.Store(t, "", f.clock.Now)
	for i, n := range []string{"Ana", "Bo", "Cy"} {
		f.users = append(f.users, config.User{Name: n, IDs: map[string]string{"jira": f.jusers[i], "github": ghUsers[i]}})
	}
	return f
}

// statusMap is GitHub's two states with labels for Jira's in-progress
// statuses, as config.example.yaml maps them.
var statusMap = flowtest.LabelMap

func (f *fakes) options(t testing.TB, from, to adapters.Tracker, fromKind, toKind string) migrate.Options {
	t.Helper()
	fc := migrate.DefaultFlow(from.Name(), to.Name(), from.Capabilities(), to.Capabilities())
	var pairs []config.ValuePair
	switch {
	case toKind == "github":
		pairs = statusMap
	case fromKind == "github":
		pairs = nil
		for _, p := range statusMap {
			if p.BLabel == "" {
				pairs = append(pairs, config.ValuePair{A: p.B, B: p.A})
			}
		}
	}
	if pairs != nil {
		fc.Fields["status"] = config.FieldConfig{Map: pairs}
	}
	m := flowtest.Compile(t, fc, f.users, fromKind, from, toKind, to).Map
	ident := map[string]string{"jira": "jira@" + strings.TrimPrefix(f.jfake.URL, "http://"), "github": "github@" + strings.TrimPrefix(f.gfake.URL, "http://"), "memory": "memory@project:" + from.Name()}
	return migrate.Options{ID: fromKind + "-" + toKind, Map: m, Clock: f.clock.Now,
		From: migrate.End{Tracker: from, Identity: ident[fromKind], Kind: fromKind, Scope: map[string]string{"jira": "project = " + jiraProj, "github": ghRepo}[fromKind]},
		To:   migrate.End{Tracker: to, Identity: ident[toKind], Kind: toKind, Scope: map[string]string{"jira": "project = " + jiraProj, "github": ghRepo}[toKind]}}
}

func TestJiraToGitHub(t *testing.T) {
	f := newFakes(t)
	ctx := t.Context()
	// 4 epics with 5 children each; every item with labels, an assignee,
	// two comments and references to its neighbours.
	n := 0
	mk := func(kind adapters.Kind, parent *adapters.Ref, status string) adapters.Item {
		n++
		it := adapters.Item{Kind: kind, Title: fmt.Sprintf("item %d", n), Body: fmt.Sprintf("Item %d: after PLAT-%d, before PLAT-%d.", n, n-1, n+1),
			Labels: []string{"team-a"}, Assignees: []string{f.jusers[n%3]}, Parent: parent, Status: status}
		res, err := f.jira.Create(ctx, it, adapters.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for c := 1; c <= 2; c++ {
			if _, err := f.jira.AddComment(ctx, res.Item.Ref, adapters.Comment{Body: fmt.Sprintf("note %d.%d about PLAT-%d", n, c, n+1)}, ""); err != nil {
				t.Fatal(err)
			}
		}
		return res.Item
	}
	statuses := []string{"To Do", "In Progress", "Done"}
	for e := 0; e < 4; e++ {
		ep := mk(adapters.KindEpic, nil, "To Do")
		for c := 0; c < 5; c++ {
			mk(adapters.KindIssue, &ep.Ref, statuses[c%3])
		}
	}
	o := f.options(t, f.jira, f.gh, "jira", "github")
	o.To.Pace = migrate.Pace{Windows: []migrate.Window{{Limit: 80, Per: time.Minute}, {Limit: 500, Per: time.Hour}}}
	start := f.clock.Now()
	rep, err := migrate.Run(ctx, f.st, o)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := migratetest.All(t, f.jira, "project = PLAT"), migratetest.All(t, f.gh, ghRepo)
	copyOf := migratetest.Verify(t, src, dst, regexp.MustCompile(`PLAT-[0-9]+`))
	for _, s := range src {
		d := copyOf[s.Ref.ID]
		want := map[string]string{"To Do": "open", "In Progress": "open", "Done": "closed"}[s.Status]
		if d.Status != want || (s.Status == "In Progress") != strings.Contains(strings.Join(d.Labels, ","), "status: in progress") {
			t.Errorf("%s (%s) → %s: status %s, labels %v", s.Ref, s.Status, d.Ref, d.Status, d.Labels)
		}
		if len(d.Assignees) != 1 || d.Assignees[0] != ghUsers[indexOf(f.jusers, s.Assignees[0])] {
			t.Errorf("%s: assignees %v, want the GitHub login of %v", d.Ref, d.Assignees, s.Assignees)
		}
		if s.Parent != nil {
			// On GitHub the child's copy is a sub-issue of the epic's
			// copy (or, where sub-issues are not written, listed in its
			// task list).
			p := copyOf[s.Parent.ID]
			if (d.Parent == nil || d.Parent.ID != p.Ref.ID) && !strings.Contains(p.Body, "] "+d.Ref.Key) {
				t.Errorf("epic copy %s has neither %s as a sub-issue nor in its task list: %q", p.Ref, d.Ref.Key, p.Body)
			}
		}
	}
	if rep.Counts.Created != 24 || rep.Counts.Comments != 48 {
		t.Errorf("counts %+v", rep.Counts)
	}
	// The estimate named every write, and its ETA at GitHub's pace is
	// within 10% of the time the run took on the simulated clock.
	if rep.Estimate.Requests != rep.Counts.Writes {
		t.Errorf("estimated %d writes, made %d", rep.Estimate.Requests, rep.Counts.Writes)
	}
	took := f.clock.Now().Sub(start)
	if d := took - rep.Estimate.ETA; d > rep.Estimate.ETA/10+time.Second || -d > rep.Estimate.ETA/10+time.Second {
		t.Errorf("ETA %v, took %v on the simulated clock", rep.Estimate.ETA, took)
	}
	// Once more: nothing to do.
	rep, err = migrate.Run(ctx, f.st, o)
	if err != nil || rep.Counts.Writes != 0 {
		t.Fatalf("re-run: %v %+v", err, rep.Counts)
	}
}

func indexOf(l []string, v string) int {
	for i, x := range l {
		if x == v {
			return i
		}
	}
	return -1
}

func TestGitHubToJira(t *testing.T) {
	f := newFakes(t)
	ctx := t.Context()
	// 3 tracking issues, each listing 4 sub-issues in a task list.
	var made []adapters.Item
	mk := func(title, body, status string) adapters.Item {
		res, err := f.gh.Create(ctx, adapters.Item{Title: title, Body: body, Status: status, Labels: []string{"infra"}, Assignees: []string{ghUsers[len(made)%3]}}, adapters.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, res.Item)
		num := res.Item.Ref.Key[strings.LastIndexByte(res.Item.Ref.Key, '#')+1:]
		for c := 1; c <= 2; c++ {
			if _, err := f.gh.AddComment(ctx, res.Item.Ref, adapters.Comment{Body: fmt.Sprintf("remark %s.%d see #1", num, c)}, ""); err != nil {
				t.Fatal(err)
			}
		}
		return res.Item
	}
	num := 0
	for e := 0; e < 3; e++ {
		parent := num + 1
		var list []string
		for c := 1; c <= 4; c++ {
			list = append(list, fmt.Sprintf("- [ ] #%d", parent+c))
		}
		mk(fmt.Sprintf("tracking %d", e), "Sub-issues:\n\n"+strings.Join(list, "\n"), "open")
		for c := 1; c <= 4; c++ {
			mk(fmt.Sprintf("sub %d.%d", e, c), fmt.Sprintf("Part of #%d, see also acme/platform#%d.", parent, parent+c+1), []string{"open", "closed"}[c%2])
		}
		num += 5
	}
	o := f.options(t, f.gh, f.jira, "github", "jira")
	rep, err := migrate.Run(ctx, f.st, o)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := migratetest.All(t, f.gh, ghRepo), migratetest.All(t, f.jira, "project = PLAT")
	copyOf := migratetest.Verify(t, src, dst, regexp.MustCompile(`acme/platform#[0-9]+`))
	for _, s := range src {
		d := copyOf[s.Ref.ID]
		if strings.HasPrefix(s.Title, "sub ") {
			if d.Parent == nil || d.Kind != adapters.KindIssue {
				t.Errorf("%s → %s: parent %v kind %s, want the tracking issue's copy", s.Ref, d.Ref, d.Parent, d.Kind)
			}
			if regexp.MustCompile(`(?:^|[^\w/])#[0-9]`).MatchString(d.Body) || !strings.HasPrefix(d.Body, "Part of PLAT-") {
				t.Errorf("%s: references not rewritten: %q", d.Ref, d.Body)
			}
		} else if d.Kind != adapters.KindEpic {
			t.Errorf("tracking issue %s copied as a %s, want an epic", s.Ref, d.Kind)
		}
		if want := map[string]string{"open": "To Do", "closed": "Done"}[s.Status]; d.Status != want {
			t.Errorf("%s: status %s, want %s", d.Ref, d.Status, want)
		}
	}
	if rep.ByKind["issue"] != 15 || rep.Counts.Created != 15 {
		t.Errorf("by kind %v, counts %+v", rep.ByKind, rep.Counts)
	}
}

// soakGroups is TRACKSYNC_SOAK_GROUPS (groups of ten items: the
// kill-and-resume tests' size), def when unset, and the span of writes
// each kill lands within: perItem writes an item (create, comments,
// finish: at least the count given), each of the five kills within the
// next sixth of them, so all five land and spread over the run.
func soakGroups(t *testing.T, def, perItem int) (groups, span int) {
	t.Helper()
	v := os.Getenv("TRACKSYNC_SOAK_GROUPS")
	if v == "" {
		return def, 25
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("TRACKSYNC_SOAK_GROUPS=%q: want a count of groups of ten items", v)
	}
	return n, n * 10 * perItem / 6
}

// limitsOff turns the GitHub fake's rate limits off for a soak (more
// than def groups).
func limitsOff(groups, def int) func(*githubtest.Options) {
	return func(o *githubtest.Options) {
		if groups > def {
			o.RateLimit, o.ContentPerMinute, o.ContentPerHour = 1<<30, -1, -1
		}
	}
}

// runWithKills runs migration o until it completes, killing it (a write
// failing before its call, or after it with nothing recorded) at a random
// write within span five times and resuming each time; it returns the
// kills.
func runWithKills(t *testing.T, f *fakes, o migrate.Options, span int, seed uint64) int {
	t.Helper()
	rnd := seed
	kills := 0
	for attempt := 0; ; attempt++ {
		if attempt > 30 {
			t.Fatal("no progress after 30 attempts")
		}
		run := o
		if kills < 5 {
			rnd = rnd*6364136223846793005 + 1442695040888963407
			at, point := 1+int(rnd>>33)%span, []string{"before", "after"}[(rnd>>20)&1]
			run.Crash = func(p string, n int) error {
				if p == point && n == at {
					return fmt.Errorf("killed at write %d (%s)", n, p)
				}
				return nil
			}
		}
		_, err := migrate.Run(t.Context(), f.st, run)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "killed at write") {
			t.Fatal(err)
		}
		kills++
	}
	if kills < 5 {
		t.Fatalf("%d kills", kills)
	}
	return kills
}

// TestKillAndResumeOnFakes: GitHub → Jira with bulk creates, killed at
// random writes (before the call, or after it with nothing recorded) five
// times and resumed each time: every item once, every comment once.
//
// TRACKSYNC_SOAK_GROUPS=1000 makes it the soak of issue 15: 10,000 issues
// (1,000 tracking issues of 9 sub-issues each, 2 comments each), limits
// off (BENCHMARKS.md).
func TestKillAndResumeOnFakes(t *testing.T) {
	groups, span := soakGroups(t, 4, 4)
	start := time.Now()
	f := newFakes(t, limitsOff(groups, 4))
	migratetest.SeedGitHub(t, f.gh, groups, 9, ghUsers)
	t.Logf("seeded %d GitHub issues in %s", groups*10, time.Since(start).Round(time.Second))
	start = time.Now()
	o := f.options(t, f.gh, f.jira, "github", "jira")
	o.BatchSize = 7
	if groups > 4 {
		o.BatchSize = 0 // the default batch
	}
	kills := runWithKills(t, f, o, span, 7)
	src, dst := migratetest.All(t, f.gh, ghRepo), migratetest.All(t, f.jira, "project = PLAT")
	migratetest.Verify(t, src, dst, regexp.MustCompile(`acme/platform#[0-9]+`))
	if len(dst) != len(src) {
		t.Fatalf("%d issues on Jira for %d on GitHub", len(dst), len(src))
	}
	rep, err := migrate.Run(t.Context(), f.st, o)
	if err != nil || rep.Counts.Writes != 0 || rep.Counts.Done != groups*10 {
		t.Fatalf("after completion: %v %+v", err, rep.Counts)
	}
	t.Logf("%d issues, %d kills: migrated and verified in %s (0 duplicates, 0 missing)", groups*10, kills, time.Since(start).Round(time.Second))
}

// TestJiraToGitHubKilled: Jira → GitHub (epics of 9 children, 3 comments
// each, labels, assignees, references to neighbours), killed five times
// and resumed: every item once, comments in order, references rewritten,
// every child under its epic's copy. TRACKSYNC_SOAK_GROUPS=1000: 10,000.
func TestJiraToGitHubKilled(t *testing.T) {
	groups, span := soakGroups(t, 3, 4)
	start := time.Now()
	f := newFakes(t, limitsOff(groups, 3))
	migratetest.SeedJira(t, f.jira, groups, f.jusers)
	t.Logf("seeded %d Jira issues in %s", groups*10, time.Since(start).Round(time.Second))
	start = time.Now()
	o := f.options(t, f.jira, f.gh, "jira", "github")
	kills := runWithKills(t, f, o, span, 11)
	src, dst := migratetest.All(t, f.jira, "project = PLAT"), migratetest.All(t, f.gh, ghRepo)
	copyOf := migratetest.Verify(t, src, dst, regexp.MustCompile(`PLAT-[0-9]+`))
	migratetest.CheckEpics(t, src, copyOf)
	if len(dst) != len(src) {
		t.Fatalf("%d issues on GitHub for %d on Jira", len(dst), len(src))
	}
	rep, err := migrate.Run(t.Context(), f.st, o)
	if err != nil || rep.Counts.Writes != 0 || rep.Counts.Done != groups*10 {
		t.Fatalf("after completion: %v %+v", err, rep.Counts)
	}
	t.Logf("%d issues, %d kills: migrated and verified in %s (0 duplicates, 0 missing)", groups*10, kills, time.Since(start).Round(time.Second))
}
