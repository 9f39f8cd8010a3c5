// Package flowtest sets up what the engine's scenario and model-based
// tests share: a compiled flow between two trackers with its SQLite state
// and engine, the Jira and GitHub adapters on their fakes, and the pieces
// of a random walk (seeds, steps, clean runs). It takes a *testing.T, so
// only _test.go files import it; the release binary never does.
package flowtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/sqlite"
	tsync "github.com/tracksync/tracksync/sync"
)

// Start is when the tests' clocks start.
var Start = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// Flow is the flow the tests sync unless they say otherwise: named f,
// both ways, newest wins, a deletion unlinks, copies are made both ways,
// no share of changes is too large, every five minutes.
func Flow(scopeA, scopeB string, fields map[string]config.FieldConfig) config.Flow {
	yes := true
	return config.Flow{Name: "f", A: config.FlowSide{Tracker: "a", Scope: scopeA}, B: config.FlowSide{Tracker: "b", Scope: scopeB},
		Direction: "both", Conflict: "newest", OnDelete: "unlink", MaxChangeShare: 1, Create: &yes, Schedule: "@every 5m", Fields: fields}
}

// Users are Ana, Bo and Cy with their ids on a and b.
func Users(a, b []string) []config.User {
	var users []config.User
	for i, n := range []string{"Ana", "Bo", "Cy"} {
		users = append(users, config.User{Name: n, IDs: map[string]string{"a": a[i], "b": b[i]}})
	}
	return users
}

// Compile compiles cf between a (a tracker of kind kindA) and b, each
// named in cf as it is named itself, and fails the test on any problem.
func Compile(t testing.TB, cf config.Flow, users []config.User, kindA string, a adapters.Tracker, kindB string, b adapters.Tracker) *tsync.Flow {
	t.Helper()
	capsA, capsB := a.Capabilities(), b.Capabilities()
	m, probs := mapping.Compile(cf, "flows[0]", users, mapping.SideInfo{Name: a.Name(), Kind: kindA, Caps: &capsA}, mapping.SideInfo{Name: b.Name(), Kind: kindB, Caps: &capsB})
	if len(probs) > 0 {
		t.Fatalf("flow does not compile: %v", probs)
	}
	return &tsync.Flow{Map: m, A: a, B: b}
}

// Store opens dir/state.db (dir "" is t.TempDir()) on clock now and
// closes it when the test ends.
func Store(t testing.TB, dir string, now func() time.Time) store.Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "state.db"), sqlite.Options{Clock: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// StateDir is a temporary folder for a test's state file, on tmpfs where
// the machine has one: model tests sync hundreds or thousands of times
// and would otherwise wait on fsync rather than on the engine.
func StateDir(t testing.TB) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "tracksync-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// JiraOptions reach fake's project as its bot (an API token on Cloud, a
// PAT on Data Center), retrying after a millisecond or two.
func JiraOptions(fake *jiratest.Server, project string) jira.Options {
	o := jira.Options{URL: fake.URL, Project: project, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond}
	if fake.Flavor() == jiratest.DataCenter {
		o.Deployment, o.PAT = jira.DataCenter, "pat-token"
	} else {
		o.Email, o.Token = "bot@example.com", "api-token"
	}
	return o
}

// Jira is a Jira adapter named name on fake's project, JiraOptions
// changed by tweak.
func Jira(t testing.TB, name string, fake *jiratest.Server, project string, tweak ...func(*jira.Options)) *jira.Tracker {
	t.Helper()
	o := JiraOptions(fake, project)
	for _, f := range tweak {
		f(&o)
	}
	tr, err := jira.New(context.Background(), name, o)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// GitHub is a GitHub adapter named name on fake with token tok, o's other
// options kept (a Transport too, which must reach the fake): its clock is
// now and its waits (pacing, Retry-After) advance the test's clocks
// instead of the wall's.
func GitHub(t testing.TB, name string, fake *githubtest.Server, now func() time.Time, advance func(time.Duration), o github.Options) *github.Tracker {
	t.Helper()
	o.URL, o.Token, o.Clock = fake.URL, "tok", now
	if o.Transport == nil {
		o.Transport = fake.Client().Transport
	}
	o.Sleep = func(ctx context.Context, d time.Duration) error {
		advance(d)
		return ctx.Err()
	}
	o.RetryWaitMin, o.RetryWaitMax = time.Millisecond, 2*time.Millisecond
	tr, err := github.New(name, o)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// Asana is an Asana adapter named name on fake as its default user, o's
// other options kept (a Transport too, which must reach the fake).
func Asana(t testing.TB, name string, fake *asanatest.Server, o asana.Options) *asana.Tracker {
	t.Helper()
	o.URL, o.Token, o.Workspace = fake.URL, asanatest.DefaultToken, fake.Workspace()
	if o.Transport == nil {
		o.Transport = fake.Client().Transport
	}
	tr, err := asana.New(name, o)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// Create makes it on tr as a person would, failing the test naming the
// title when that fails.
func Create(t testing.TB, tr adapters.Tracker, it adapters.Item) adapters.Item {
	t.Helper()
	res, err := tr.Create(context.Background(), it, adapters.CreateOptions{})
	if err != nil {
		t.Fatalf("create %q: %v", it.Title, err)
	}
	return res.Item
}

// Rand is a walk's random source for seed.
func Rand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed*7+1)) }

// Seeds runs walk as parallel subtests prefix+"seed<n>", seeds first,
// first+1, ...: three of 300 steps, or under -short two of shortSteps.
func Seeds(t *testing.T, prefix string, first uint64, shortSteps int, walk func(t *testing.T, seed uint64, steps int)) {
	seeds, steps := 3, 300
	if testing.Short() {
		seeds, steps = 2, shortSteps
	}
	for s := range seeds {
		seed := first + uint64(s)
		t.Run(fmt.Sprintf("%sseed%d", prefix, seed), func(t *testing.T) {
			t.Parallel()
			walk(t, seed, steps)
		})
	}
}

// Step is one step of a walk: time moves on by one to ninety seconds, r
// is drawn from [0, 100), and a coin picks which side's person edits
// with it. It returns r.
func Step(rnd *rand.Rand, advance func(time.Duration), editA, editB func(r int)) int {
	advance(time.Duration(1+rnd.IntN(90)) * time.Second)
	r := rnd.IntN(100)
	if rnd.IntN(2) == 0 {
		editA(r)
	} else {
		editB(r)
	}
	return r
}

// Clean runs the flow (forced) up to three times until a run reports no
// item errors, calling between after each one that did; it returns the
// error of a failed run, or one listing the last run's item errors.
func Clean(ctx context.Context, eng *tsync.Engine, flow *tsync.Flow, between func()) error {
	var last *tsync.Result
	for range 3 {
		res, err := eng.Sync(ctx, flow, tsync.RunOptions{Force: true})
		if err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		last = res
		if len(res.Errors) == 0 {
			return nil
		}
		if between != nil {
			between()
		}
	}
	return fmt.Errorf("clean syncs keep failing: %v", last.Errors)
}

// Toggle adds v to l, or removes it when l has it, leaving l as it was.
func Toggle(l []string, v string) []string {
	if slices.Contains(l, v) {
		return slices.DeleteFunc(slices.Clone(l), func(s string) bool { return s == v })
	}
	return append(slices.Clone(l), v)
}

// JiraPerson is someone editing issues on the Jira fake in a walk. Each
// edit draws what it picks from Rnd; a failed one's error names the
// issue.
type JiraPerson struct {
	Fake     *jiratest.Server
	Rnd      *rand.Rand
	Statuses []string // what a bulk edit sets (it jumps the workflow)
	Labels   []string
	Users    []string // account ids to assign
}

// Edit changes issue key as a person in the browser.
func (p JiraPerson) Edit(key string, f func(*jiratest.Issue)) error {
	if err := p.Fake.EditIssue(key, "", f); err != nil {
		return fmt.Errorf("editing %s: %w", key, err)
	}
	return nil
}

// Common makes the edits every walk's people make, by r: below 25 the
// summary becomes title, below 45 a status, below 58 a label is toggled,
// below 68 someone or nobody (one time in four) is assigned. It reports
// whether r was one of them.
func (p JiraPerson) Common(r int, key, title string) (bool, error) {
	switch {
	case r < 25:
		return true, p.Edit(key, func(x *jiratest.Issue) { x.Summary = title })
	case r < 45:
		return true, p.Edit(key, func(x *jiratest.Issue) { x.Status = p.Statuses[p.Rnd.IntN(len(p.Statuses))] })
	case r < 58:
		l := p.Labels[p.Rnd.IntN(len(p.Labels))]
		return true, p.Edit(key, func(x *jiratest.Issue) { x.Labels = Toggle(x.Labels, l) })
	case r < 68:
		u := ""
		if k := p.Rnd.IntN(len(p.Users) + 1); k < len(p.Users) {
			u = p.Users[k]
		}
		return true, p.Edit(key, func(x *jiratest.Issue) { x.Assignee = u })
	}
	return false, nil
}

// Comment adds body (as the fake stores it) to key as user by.
func (p JiraPerson) Comment(key, by string, body json.RawMessage) error {
	if err := p.Fake.AddCommentAs(key, by, body); err != nil {
		return fmt.Errorf("commenting on %s: %w", key, err)
	}
	return nil
}

// Remove deletes key.
func (p JiraPerson) Remove(key string) error {
	if err := p.Fake.RemoveIssue(key); err != nil {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	return nil
}

// GitHubPerson is someone editing issues of Repo on the GitHub fake in a
// walk. Each edit draws what it picks from Rnd; a failed one's error
// names the issue.
type GitHubPerson struct {
	Fake   *githubtest.Server
	Rnd    *rand.Rand
	Repo   string
	Labels []string
}

// Open lists the repository's issues, pull requests left out.
func (p GitHubPerson) Open() []githubtest.Issue {
	var open []githubtest.Issue
	for _, is := range p.Fake.Issues(p.Repo) {
		if !is.PullRequest {
			open = append(open, is)
		}
	}
	return open
}

// Pick is one of the open issues, or false when there are none.
func (p GitHubPerson) Pick() (githubtest.Issue, bool) {
	open := p.Open()
	if len(open) == 0 {
		return githubtest.Issue{}, false
	}
	return open[p.Rnd.IntN(len(open))], true
}

// Edit changes issue number as a person in the browser.
func (p GitHubPerson) Edit(number int, f func(*githubtest.Issue)) error {
	if err := p.Fake.EditIssue(p.Repo, number, f); err != nil {
		return fmt.Errorf("editing %s#%d: %w", p.Repo, number, err)
	}
	return nil
}

// PullRequest opens a pull request titled title (which the issues list
// returns too, out of a flow's scope).
func (p GitHubPerson) PullRequest(title string) {
	p.Fake.CreateIssue(p.Repo, githubtest.Issue{Title: title, PullRequest: true})
}

// ToggleLabel adds or removes one of Labels.
func (p GitHubPerson) ToggleLabel(number int) error {
	return p.Edit(number, func(x *githubtest.Issue) { x.Labels = Toggle(x.Labels, p.Labels[p.Rnd.IntN(len(p.Labels))]) })
}

// Comment adds body to issue number as user by.
func (p GitHubPerson) Comment(number int, by, body string) error {
	if _, err := p.Fake.AddComment(p.Repo, number, by, body); err != nil {
		return fmt.Errorf("commenting on %s#%d: %w", p.Repo, number, err)
	}
	return nil
}

// Delete deletes issue number.
func (p GitHubPerson) Delete(number int) error {
	if err := p.Fake.DeleteIssue(p.Repo, number); err != nil {
		return fmt.Errorf("deleting %s#%d: %w", p.Repo, number, err)
	}
	return nil
}

// EditComment changes one of issue number's comments (if it has any) to
// body, keeping the hidden marker of a copied one as a person editing it
// in the browser does.
func (p GitHubPerson) EditComment(number int, body string) error {
	cs := p.Fake.Comments(p.Repo, number)
	if len(cs) == 0 {
		return nil
	}
	c := cs[p.Rnd.IntN(len(cs))]
	if i := strings.Index(c.Body, "\n\n<!-- tracksync:"); i >= 0 {
		body += c.Body[i:]
	}
	if err := p.Fake.EditComment(p.Repo, c.ID, body); err != nil {
		return fmt.Errorf("editing comment %d: %w", c.ID, err)
	}
	return nil
}

// Kill is an engine's Crash hook that kills the run (kill -9) at its
// k-th call at point of an op of kind ("" any kind).
func Kill(point tsync.CrashPoint, kind tsync.OpKind, k int) func(tsync.CrashPoint, *tsync.Op) error {
	n := 0
	return func(p tsync.CrashPoint, op *tsync.Op) error {
		if p != point || (kind != "" && op.Kind != kind) {
			return nil
		}
		if n++; n == k {
			return errors.New("kill -9")
		}
		return nil
	}
}

// Run runs the flow once, forced, and fails the test if the run fails or
// reports item errors.
func Run(t testing.TB, eng *tsync.Engine, flow *tsync.Flow) *tsync.Result {
	t.Helper()
	res, err := eng.Sync(context.Background(), flow, tsync.RunOptions{Force: true})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("sync item errors: %v", res.Errors)
	}
	return res
}

// GitHubIssue is the GitHub fake's issue of repo titled title; the test
// fails when there is none.
func GitHubIssue(t testing.TB, fake *githubtest.Server, repo, title string) githubtest.Issue {
	t.Helper()
	is, ok := fake.IssueTitled(repo, title)
	if !ok {
		t.Fatalf("no GitHub issue %q", title)
	}
	return is
}

// JiraIssue is the Jira fake's issue titled title; the test fails when
// there is none.
func JiraIssue(t testing.TB, fake *jiratest.Server, title string) jiratest.Issue {
	t.Helper()
	is, ok := fake.IssueTitled(title)
	if !ok {
		t.Fatalf("no Jira issue %q", title)
	}
	return is
}
