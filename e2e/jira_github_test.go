package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
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
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/mapping/markup"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
	"github.com/tracksync/tracksync/sync/synctest"
)

// The model-based convergence test of a Jira ⇄ GitHub flow shaped like
// config.example.yaml's platform-epics: the real engine and SQLite store
// between the Jira adapter on its fake (side a) and the GitHub adapter on
// its fake (side b). People edit both sides at random through the fakes'
// hooks; every tenth step the flow syncs, a third of those syncs first
// meet an injected fault (429 with Retry-After, secondary limits, 5xx, a
// write whose answer is lost, the process killed at a write). After every
// clean sync a second one must write nothing; at the end both sides must
// agree item for item. Known engine and adapter bugs are pinned by their
// own tests below (skipped while they stand) and, where the model meets
// them, logged by their exact signature rather than failed, so the model
// keeps guarding everything else.

const (
	ghRepo     = "acme/platform"
	jiraProj   = "PLAT"
	statusWord = "status: "
)

var (
	labelPool = []string{"bug", "ux", "infra", "p1", "growth"}
	ghUsers   = []string{"gh-ana", "gh-bo", "gh-cy"}
)

type variant struct {
	flavor jiratest.Flavor
	policy string // newest | manual
	// epics narrows both scopes as platform-epics does: Jira epics of
	// PLAT, GitHub issues labelled epic.
	epics bool
	// board keeps GitHub's status in project acme/1's Status field
	// (status_source project) instead of state and labels; people move
	// cards on the board.
	board bool
}

type world struct {
	t      *testing.T
	ctx    context.Context
	rnd    *rand.Rand
	seed   uint64
	v      variant
	clock  *memory.Clock
	jfake  *jiratest.Server
	a      *jira.Tracker
	person *jira.Tracker // a person's own Jira client, for creating issues
	gfake  *githubtest.Server
	b      *github.Tracker
	st     store.Store
	flow   *tsync.Flow
	eng    *tsync.Engine
	jusers []string // Jira ids of Ana, Bo, Cy

	steps, syncs int
	faulty       int            // syncs that met an injected fault first
	failed       int            // of those, runs that failed or reported item errors
	kinds        map[string]int // faults injected, by kind
	transitions  int            // workflow transitions the engine made on Jira
	crashed      bool           // the engine of the next faulty run dies mid-run
	// lostComments are items a comment copy to failed on a rate limit,
	// which the known comment bug never retries.
	lostComments map[string]bool
}

// copyingComment finds the target of a failed comment copy in a run's error.
var copyingComment = regexp.MustCompile(`copying comment \S+ to (\S+):`)

func newWorld(t *testing.T, seed uint64, v variant) *world {
	t.Helper()
	clock := memory.NewClock(flowtest.Start)
	w := &world{t: t, ctx: context.Background(), rnd: flowtest.Rand(seed), seed: seed, v: v, clock: clock, kinds: map[string]int{}, lostComments: map[string]bool{}}

	w.jfake = jiratest.New(t, jiratest.Options{Flavor: v.flavor, Start: flowtest.Start})
	w.a, w.person = flowtest.Jira(t, "a", w.jfake, jiraProj), flowtest.Jira(t, "a", w.jfake, jiraProj)
	w.jusers = w.jfake.UserIDs()

	w.gfake = githubtest.New(t, githubtest.Options{Repos: []string{ghRepo}, Users: ghUsers, Tokens: []string{"tok"}, Clock: clock.Now})
	var project *github.ProjectOptions
	// platform-epics' status map: GitHub has only open and closed, so the
	// two in-progress statuses ride on status labels; or, on a board,
	// its options named so the flow compiles before the project is read
	// (as project.categories does).
	statuses := flowtest.LabelMap
	if v.board {
		w.gfake.AddProject("acme", 1, "Status", flowtest.Names(flowtest.Board)...)
		project, statuses = &github.ProjectOptions{Owner: "acme", Number: 1, Statuses: flowtest.Board}, flowtest.BoardMap
	}
	// The adapter's pacing and Retry-After waits pass on the test's
	// clock (both fakes' clocks), not on the wall.
	w.b = flowtest.GitHub(t, "b", w.gfake, clock.Now, w.advance, github.Options{Project: project})
	w.st = flowtest.Store(t, flowtest.StateDir(t), clock.Now)

	scopeA, scopeB := "project = "+jiraProj, ghRepo
	if v.epics {
		scopeA, scopeB = scopeA+" AND issuetype = Epic", scopeB+" label:epic"
	}
	cf := flowtest.Flow(scopeA, scopeB, flowtest.FieldsWith(statuses))
	cf.Name, cf.Conflict = "platform-epics", v.policy
	w.flow = flowtest.Compile(t, cf, flowtest.Users(w.jusers, ghUsers), "jira", w.a, "github", w.b)
	w.eng = tsync.New(w.st, tsync.Options{Clock: clock.Now})
	return w
}

// advance moves time on the engine's clock, the GitHub fake's (the same
// clock) and the Jira fake's own.
func (w *world) advance(d time.Duration) {
	w.clock.Advance(d)
	w.jfake.Advance(d)
}

// jiraBody is a description or comment as the Jira fake stores it: an ADF
// document on Cloud, a wiki-markup string on Data Center.
func (w *world) jiraBody(md string) json.RawMessage {
	var v any = markup.MarkdownToADF(md, markup.Options{})
	if w.v.flavor == jiratest.DataCenter {
		v = markup.MarkdownToWiki(md, markup.Options{})
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func (w *world) step() {
	w.steps++
	flowtest.Step(w.rnd, w.advance, w.stepJira, w.stepGitHub)
	if w.steps%10 == 0 {
		w.sync()
	}
}

// stepJira plays a person on Jira.
func (w *world) stepJira(r int) {
	var issues []jiratest.Issue
	for _, is := range w.jfake.Issues() {
		if is.Project == jiraProj {
			issues = append(issues, is)
		}
	}
	if r < 8 || len(issues) == 0 {
		it := adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("jira-made %d", w.steps), Body: fmt.Sprintf("jira body %d", w.steps),
			Labels: []string{labelPool[w.rnd.IntN(len(labelPool))]}}
		if w.v.epics {
			it.Kind = adapters.KindEpic
		}
		if _, err := w.person.Create(w.ctx, it, adapters.CreateOptions{}); err != nil {
			w.t.Fatalf("step %d: a person creating a Jira issue: %v", w.steps, err)
		}
		return
	}
	is := issues[w.rnd.IntN(len(issues))]
	// A bulk edit of the status jumps anywhere; the engine's writes back
	// must walk the workflow (To Do → Done takes two hops).
	p := flowtest.JiraPerson{Fake: w.jfake, Rnd: w.rnd, Statuses: flowtest.Names(flowtest.Workflow), Labels: labelPool, Users: w.jusers}
	done, err := p.Common(r, is.Key, fmt.Sprintf("a title %d", w.steps))
	switch {
	case done:
	case r < 78:
		err = p.Edit(is.Key, func(x *jiratest.Issue) { x.Description = w.jiraBody(fmt.Sprintf("a body %d", w.steps)) })
	case r < 92:
		by := w.jusers[w.rnd.IntN(len(w.jusers))]
		err = p.Comment(is.Key, by, w.jiraBody(fmt.Sprintf("a says %d", w.steps)))
	case r < 95:
		err = p.Remove(is.Key)
	default:
		// Nobody touches Jira; the next sync still runs on schedule.
	}
	if err != nil {
		w.t.Fatalf("step %d: %v", w.steps, err)
	}
}

// stepGitHub plays a person on GitHub.
func (w *world) stepGitHub(r int) {
	p := flowtest.GitHubPerson{Fake: w.gfake, Rnd: w.rnd, Repo: ghRepo, Labels: labelPool}
	open := p.Open()
	if r < 8 || len(open) == 0 {
		labels := []string{labelPool[w.rnd.IntN(len(labelPool))]}
		if w.v.epics {
			labels = append(labels, "epic")
		}
		w.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: fmt.Sprintf("gh-made %d", w.steps), User: ghUsers[w.rnd.IntN(len(ghUsers))], Labels: labels})
		return
	}
	is := open[w.rnd.IntN(len(open))]
	var err error
	switch {
	case r < 10:
		// Pull requests share the issues list but are out of scope.
		p.PullRequest(fmt.Sprintf("pull request %d", w.steps))
	case r < 28:
		err = p.Edit(is.Number, func(x *githubtest.Issue) { x.Title = fmt.Sprintf("b title %d", w.steps) })
	case r < 50 && w.v.board:
		// Status is the card's column: a person moves it.
		if err = w.gfake.MoveCard("acme", 1, fmt.Sprintf("%s#%d", ghRepo, is.Number), flowtest.Board[w.rnd.IntN(len(flowtest.Board))].Name); err != nil {
			err = fmt.Errorf("moving the card of #%d: %w", is.Number, err)
		}
	case r < 50:
		// Status is state plus status labels, sometimes two at once.
		err = p.Edit(is.Number, func(x *githubtest.Issue) {
			x.Labels = slices.DeleteFunc(slices.Clone(x.Labels), func(l string) bool { return strings.HasPrefix(l, statusWord) })
			x.State, x.StateReason = "open", ""
			switch w.rnd.IntN(6) {
			case 0, 1:
				x.Labels = append(x.Labels, "status: in progress")
			case 2:
				x.Labels = append(x.Labels, "status: in review")
			case 3:
				x.Labels = append(x.Labels, "status: in progress", "status: in review")
			case 4:
				x.State, x.StateReason = "closed", "completed"
			}
		})
	case r < 62:
		err = p.ToggleLabel(is.Number)
	case r < 72:
		// Jira holds one assignee, so a person here assigns at most one.
		err = p.Edit(is.Number, func(x *githubtest.Issue) {
			x.Assignees = nil
			if k := w.rnd.IntN(4); k < 3 {
				x.Assignees = []string{ghUsers[k]}
			}
		})
	case r < 86:
		err = p.Comment(is.Number, ghUsers[w.rnd.IntN(len(ghUsers))], fmt.Sprintf("b says %d", w.steps))
	case r < 89:
		err = p.Delete(is.Number)
	default:
		err = p.EditComment(is.Number, fmt.Sprintf("b edited %d", w.steps))
	}
	if err != nil {
		w.t.Fatalf("step %d: %v", w.steps, err)
	}
}

// sync is one scheduled sync: a third of them meet a fault first (that
// run may fail), then clean runs settle it, and a further run must write
// nothing. Every fifth is a full reconcile, which is how deletions on
// GitHub (whose listing never shows them) are found.
func (w *world) sync() {
	w.t.Helper()
	w.syncs++
	full := w.syncs%5 == 0
	if w.rnd.IntN(3) == 0 {
		w.faultySync(full)
	}
	w.settle(full)
}

// faults are what a faulty sync meets first, one picked at random: rate
// limits as each tracker answers them, 5xx, and writes that land while
// their answer is lost.
var faults = []struct {
	name string
	arm  func(w *world)
}{
	{"jira 429", func(w *world) { w.jfake.InjectRateLimit(time.Duration(1+w.rnd.IntN(60))*time.Second, "") }},
	{"jira 503", func(w *world) {
		w.jfake.InjectFault(jiratest.Fault{Status: http.StatusServiceUnavailable, Times: 2 + w.rnd.IntN(4)})
	}},
	// 5% of requests fail (half of the failed writes after landing) and
	// 2% answer 429, anywhere in the run.
	{"jira chaos", func(w *world) { w.jfake.SetChaos(w.seed*100000+uint64(w.steps), 0.05, 0.02) }},
	{"jira create answer lost", func(w *world) {
		w.jfake.InjectFault(jiratest.Fault{Method: http.MethodPost, Path: "/issue", AfterWrite: true, Drop: true})
	}},
	{"jira edit answer lost", func(w *world) {
		w.jfake.InjectFault(jiratest.Fault{Method: http.MethodPut, AfterWrite: true, Status: http.StatusBadGateway})
	}},
	{"jira transition answer lost", func(w *world) {
		w.jfake.InjectFault(jiratest.Fault{Method: http.MethodPost, Path: "/transitions", AfterWrite: true, Status: http.StatusServiceUnavailable})
	}},
	{"jira comment answer lost", func(w *world) {
		w.jfake.InjectFault(jiratest.Fault{Method: http.MethodPost, Path: "/comment", AfterWrite: true, Drop: true})
	}},
	{"github secondary limit on POST", func(w *world) {
		w.gfake.Inject(githubtest.Fault{Method: http.MethodPost, Secondary: true, RetryAfter: time.Duration(30+w.rnd.IntN(60)) * time.Second})
	}},
	{"github secondary limit on PATCH", func(w *world) { w.gfake.Inject(githubtest.Fault{Method: http.MethodPatch, Secondary: true}) }},
	{"github 503", func(w *world) {
		w.gfake.Inject(githubtest.Fault{Method: http.MethodGet, Status: http.StatusServiceUnavailable, Times: 2})
	}},
	{"github create answer lost", func(w *world) {
		w.gfake.Inject(githubtest.Fault{Method: http.MethodPost, Path: "/repos/" + ghRepo + "/issues", Status: http.StatusBadGateway, AfterApply: true})
	}},
	{"github edit answer lost", func(w *world) {
		w.gfake.Inject(githubtest.Fault{Method: http.MethodPatch, Status: http.StatusInternalServerError, AfterApply: true})
	}},
	{"github comment answer lost", func(w *world) {
		w.gfake.Inject(githubtest.Fault{Method: http.MethodPost, Path: "/repos/" + ghRepo + "/issues/", Status: http.StatusBadGateway, AfterApply: true})
	}},
	{"killed before a write", func(w *world) { w.crashAt(tsync.CrashBeforeCall, 1+w.rnd.IntN(6)) }},
	{"killed after a write", func(w *world) { w.crashAt(tsync.CrashAfterCall, 1+w.rnd.IntN(6)) }},
}

// crashAt makes the next run's process die (kill -9) at its k-th write,
// before or after the call; faultySync then starts a new process.
func (w *world) crashAt(point tsync.CrashPoint, k int) {
	w.crashed = true
	w.eng = tsync.New(w.st, tsync.Options{Clock: w.clock.Now, Crash: flowtest.Kill(point, "", k)})
}

func (w *world) faultySync(full bool) {
	w.faulty++
	f := faults[w.rnd.IntN(len(faults))]
	kind := f.name
	f.arm(w)
	w.kinds[kind]++
	res, err := w.eng.Sync(w.ctx, w.flow, tsync.RunOptions{Force: true, Full: full})
	if err != nil {
		w.t.Logf("step %d (sync %d): faulty run (%s) failed: %v", w.steps, w.syncs, kind, err)
	} else if len(res.Errors) > 0 {
		w.t.Logf("step %d (sync %d): faulty run (%s) reported item errors: %v", w.steps, w.syncs, kind, res.Errors)
	}
	w.jfake.SetChaos(0, 0, 0)
	w.jfake.ClearFaults()
	w.gfake.ClearFaults()
	if err != nil || len(res.Errors) > 0 {
		w.failed++
	}
	var rl *adapters.RateLimitError
	if m := copyingComment.FindStringSubmatch(fmt.Sprint(err)); m != nil && errors.As(err, &rl) {
		// The known comment bug (TestCommentCopyRetriedAfterRateLimit):
		// this copy may never be retried.
		w.lostComments[strings.TrimPrefix(strings.TrimPrefix(m[1], "a:"), "b:")] = true
	}
	if w.crashed {
		// A new process on the same host, which takes the dead one's
		// lease over at once. (One on another host would wait the lease
		// out, sync.Options.LockTTL: TestCrashRecoveryAfterMarkerWindow.)
		w.crashed = false
		w.eng = tsync.New(w.st, tsync.Options{Clock: w.clock.Now})
	}
	// Wait as told, as the scheduler would, before the next run.
	wait := 10 * time.Second
	if errors.As(err, &rl) && rl.RetryAfter > wait {
		wait = rl.RetryAfter
	}
	w.advance(wait)
}

// run is one clean run; any failure is the engine's or an adapter's.
func (w *world) run(full bool) {
	w.t.Helper()
	res, err := w.eng.Sync(w.ctx, w.flow, tsync.RunOptions{Force: true, Full: full})
	if err != nil || len(res.Errors) > 0 {
		w.dumpState()
	}
	if err != nil {
		w.t.Fatalf("step %d (sync %d): a clean sync failed: %v", w.steps, w.syncs, err)
	}
	if len(res.Errors) > 0 {
		w.t.Fatalf("step %d (sync %d): a clean sync reported item errors: %v", w.steps, w.syncs, res.Errors)
	}
}

// dumpState logs the links and the last runs' journal, to tell what a
// failed run tripped over.
func (w *world) dumpState() {
	links, err := w.st.ListLinks(w.ctx, w.flow.Map.Name)
	if err != nil {
		w.t.Logf("listing links: %v", err)
	}
	for _, l := range links {
		w.t.Logf("link %d key %s: %s ⇄ %s", l.ID, l.Key, l.A.ID, l.B.ID)
	}
	runs, err := w.st.ListRuns(w.ctx, w.flow.Map.Name, 3)
	if err != nil {
		w.t.Logf("listing runs: %v", err)
	}
	for _, r := range runs {
		js, _ := w.st.RunJournal(w.ctx, r.ID)
		for _, j := range js {
			w.t.Logf("run %d journal %d: %s side %s target %s key %s → %s link %d state %s %s", r.ID, j.ID, j.Op, j.Side, j.Target, j.IdempotencyKey, j.Result, j.LinkID, j.State, j.Error)
		}
	}
}

// settle runs clean, then checks the echo rule: one more run with nobody
// editing writes nothing on either tracker.
func (w *world) settle(full bool) {
	w.t.Helper()
	w.run(full)
	w.transitions += w.jfake.Count(http.MethodPost, "/transitions")
	err := synctest.Echo(func() error {
		w.advance(time.Second)
		w.run(full)
		return nil
	}, synctest.Jira("Jira", w.jfake), synctest.GitHub("GitHub", w.gfake))
	if err != nil {
		w.t.Fatalf("step %d (sync %d): %v", w.steps, w.syncs, err)
	}
}

// check asserts the converged state (synctest.Check): links pair live
// items one to one, every live item in scope is linked (or survives its
// counterpart's deletion, on_delete: unlink), no item was copied twice,
// linked pairs agree on every synced field (or, under manual, hold a
// conflict on it), comments are mirrored, and a further plan does nothing.
func (w *world) check() {
	t := w.t
	t.Helper()
	if w.v.epics {
		// Copies land outside the other side's scope (the known gap
		// TestCopiesLandInScope pins): logged, so the rest still guards.
		if out := w.outOfScope(); len(out) > 0 {
			t.Logf("known bug: %d copies outside the flow's scope: %v", len(out), out)
		}
	}
	err := synctest.Check(w.ctx, synctest.Options{Engine: w.eng, Store: w.st, Flow: w.flow,
		A: synctest.JiraSide("jira", w.jfake, jiraProj, w.a), B: synctest.GitHubSide("github", w.gfake, ghRepo, w.b),
		TrimBodies: true, RequireSyncKeys: true})
	if err != nil {
		t.Fatal(err)
	}
}

func runWorld(t *testing.T, seed uint64, steps int, v variant) {
	w := newWorld(t, seed, v)
	for w.steps < steps {
		w.step()
	}
	w.settle(false)
	w.settle(true)
	w.check()
	if w.faulty == 0 {
		t.Error("no fault was injected")
	}
	if v := w.gfake.SecondaryViolations(); v != 0 {
		t.Errorf("GitHub's own secondary limits refused %d requests: the adapter's pacing let them through", v)
	}
	held, err := w.st.ListConflicts(w.ctx, w.flow.Map.Name, store.ConflictOpen)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d: %d steps, %d syncs, %d with a fault first (%d of those failed: %v), %d jira issues, %d github issues, %d jira transitions, %d conflicts held",
		seed, w.steps, w.syncs, w.faulty, w.failed, w.kinds, len(w.jfake.Issues()), len(w.gfake.Issues(ghRepo)), w.transitions, len(held))
}

// TestJiraGitHubConvergence runs the model over seeds: Jira Cloud and
// Data Center, each with conflict: newest and manual, over whole-project
// and repository scopes, plus one run with platform-epics' narrow scopes.
func TestJiraGitHubConvergence(t *testing.T) {
	type run struct {
		v     variant
		seeds int
	}
	steps := 300
	runs := []run{
		{variant{flavor: jiratest.Cloud, policy: "newest"}, 3},
		{variant{flavor: jiratest.Cloud, policy: "manual"}, 2},
		{variant{flavor: jiratest.DataCenter, policy: "newest"}, 2},
		{variant{flavor: jiratest.DataCenter, policy: "manual"}, 1},
		{variant{flavor: jiratest.Cloud, policy: "newest", epics: true}, 1},
		{variant{flavor: jiratest.Cloud, policy: "newest", board: true}, 2},
	}
	switch {
	case testing.Short():
		steps = 100
		runs = []run{{variant{flavor: jiratest.Cloud, policy: "newest"}, 2}, {variant{flavor: jiratest.Cloud, policy: "manual"}, 1}, {variant{flavor: jiratest.DataCenter, policy: "newest"}, 1},
			{variant{flavor: jiratest.Cloud, policy: "newest", board: true}, 1}}
	case raceEnabled:
		for i := range runs {
			runs[i].seeds = 1
		}
	}
	// A soak: TRACKSYNC_E2E_SEEDS=n runs n seeds of every variant,
	// TRACKSYNC_E2E_STEPS=n makes each n steps long.
	if n, err := strconv.Atoi(os.Getenv("TRACKSYNC_E2E_SEEDS")); err == nil && n > 0 {
		for i := range runs {
			runs[i].seeds = n
		}
	}
	if n, err := strconv.Atoi(os.Getenv("TRACKSYNC_E2E_STEPS")); err == nil && n > 0 {
		steps = n
	}
	for i, r := range runs {
		for s := range r.seeds {
			// Each variant walks its own seeds, so variants do not
			// replay one another's edits.
			seed := uint64(100*i + s + 1)
			name := fmt.Sprintf("%s/%s/seed%d", r.v.flavor, r.v.policy, seed)
			if r.v.epics {
				name = fmt.Sprintf("%s/%s/epics/seed%d", r.v.flavor, r.v.policy, seed)
			}
			if r.v.board {
				name = fmt.Sprintf("%s/%s/board/seed%d", r.v.flavor, r.v.policy, seed)
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				runWorld(t, seed, steps, r.v)
			})
		}
	}
}

// outOfScope names the items of an epics flow that its scopes leave out:
// PLAT issues that are not epics, GitHub issues not labelled epic.
func (w *world) outOfScope() []string {
	var out []string
	for _, is := range w.jfake.Issues() {
		if is.Project == jiraProj && is.Type != "Epic" {
			out = append(out, fmt.Sprintf("%s (a %s)", is.Key, is.Type))
		}
	}
	for _, is := range w.gfake.Issues(ghRepo) {
		if !is.PullRequest && !slices.Contains(is.Labels, "epic") {
			out = append(out, fmt.Sprintf("#%d (no epic label)", is.Number))
		}
	}
	return out
}

// TestCopiesLandInScope pins a known gap with platform-epics' scopes
// ('project = PLAT AND issuetype = Epic' ⇄ 'acme/platform label:epic'): a
// Jira epic's copy on GitHub must carry the epic label and a labelled
// GitHub issue's copy on Jira must be an epic, or the copies fall outside
// the flow and incremental runs never see people's edits to them. While
// the gap stands the test is skipped with what it saw.
func TestCopiesLandInScope(t *testing.T) {
	w := newWorld(t, 1, variant{flavor: jiratest.Cloud, policy: "newest", epics: true})
	if _, err := w.person.Create(w.ctx, adapters.Item{Kind: adapters.KindEpic, Title: "epic from jira", Body: "body"}, adapters.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: "epic from github", User: ghUsers[0], Labels: []string{"epic"}})
	w.settle(false)
	if n, m := len(w.jfake.Issues()), len(w.gfake.Issues(ghRepo)); n != 2 || m != 2 {
		t.Fatalf("after a sync: %d jira issues, %d github issues, want two each", n, m)
	}
	if out := w.outOfScope(); len(out) > 0 {
		t.Skipf("known bug: copies are made outside the flow's scope (GitHub Create ignores the scope's label: terms, Jira copies of GitHub issues are Stories): %v", out)
	}
	w.settle(true)
	w.check()
}

// TestAssigneeMergeIntoSingleAssignee pins a fixed bug
// describes: Jira and GitHub each assign someone else between two syncs.
// The pair must end up agreeing; while the bug stands it is skipped with
// what it saw.
func TestAssigneeMergeIntoSingleAssignee(t *testing.T) {
	w := newWorld(t, 1, variant{flavor: jiratest.Cloud, policy: "newest"})
	if _, err := w.person.Create(w.ctx, adapters.Item{Kind: adapters.KindIssue, Title: "shared", Body: "body"}, adapters.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.settle(false)
	jis, gis := w.jfake.Issues(), w.gfake.Issues(ghRepo)
	if len(jis) != 1 || len(gis) != 1 {
		t.Fatalf("after the first sync: %d jira issues, %d github issues, want one each", len(jis), len(gis))
	}
	w.advance(time.Minute)
	if err := w.jfake.EditIssue(jis[0].Key, "", func(x *jiratest.Issue) { x.Assignee = w.jusers[0] }); err != nil {
		t.Fatal(err)
	}
	w.advance(time.Minute)
	if err := w.gfake.EditIssue(ghRepo, gis[0].Number, func(x *githubtest.Issue) { x.Assignees = []string{ghUsers[2]} }); err != nil {
		t.Fatal(err)
	}
	w.settle(false)
	ai, err := w.a.Get(w.ctx, adapters.Ref{Tracker: "a", ID: fmt.Sprint(jis[0].ID)})
	if err != nil {
		t.Fatal(err)
	}
	bi, err := w.b.Get(w.ctx, adapters.Ref{Tracker: "b", ID: fmt.Sprintf("%s#%d", ghRepo, gis[0].Number)})
	if err != nil {
		t.Fatal(err)
	}
	av, bv := w.flow.Map.Value(store.SideA, ai, adapters.FieldAssignees), w.flow.Map.Value(store.SideB, bi, adapters.FieldAssignees)
	if !w.flow.Map.Equivalent(adapters.FieldAssignees, av, bv) {
		t.Fatalf("assignees disagree (Jira holds one assignee; a merged pair must be narrowed on both sides): jira %s github %s", av, bv)
	}
	w.check()
}

// TestCopyOfGitHubIssueFoundByKey pins a fixed bug: a GitHub issue's copy is made on Jira, but the read that
// follows the create is rate-limited, so the run fails without linking.
// The next run must link the copy to its source by its sync key and make
// nothing new; while the bug stands it is skipped with what it saw.
func TestCopyOfGitHubIssueFoundByKey(t *testing.T) {
	for _, fl := range []jiratest.Flavor{jiratest.Cloud, jiratest.DataCenter} {
		t.Run(string(fl), func(t *testing.T) {
			w := newWorld(t, 1, variant{flavor: fl, policy: "newest"})
			w.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: "made on github", User: ghUsers[0], Labels: []string{"bug"}})
			// Everything after the create's POST: the adapter's move to the
			// status and its read-back.
			w.jfake.InjectFault(jiratest.Fault{Method: http.MethodGet, Path: "/issue/", Status: http.StatusTooManyRequests, Times: 20})
			// A bulk create: it lands, and its answer is a rate limit.
			w.jfake.InjectFault(jiratest.Fault{Method: http.MethodPost, Path: "/issue/bulk", Status: http.StatusTooManyRequests, AfterWrite: true})
			_, err := w.eng.Sync(w.ctx, w.flow, tsync.RunOptions{Force: true})
			w.jfake.ClearFaults()
			if n := len(w.jfake.Issues()); err == nil || n != 1 {
				t.Fatalf("the faulty run: err %v, %d jira issues; want it to fail after the create landed", err, n)
			}
			w.advance(time.Minute)
			err = w.runJoined()
			if n := len(w.gfake.Issues(ghRepo)); err != nil || n != 1 {
				t.Fatalf("the run after: err %v, %d github issues; want it to link the copy (found by its sync key, an id with a slash) and make nothing", err, n)
			}
			w.settle(true)
			w.check()
		})
	}
}

// TestCommentCopyRetriedAfterRateLimit pins a fixed bug: a full run
// copies a Jira comment made some minutes earlier to GitHub, and the
// comment POST meets GitHub's secondary limit. The engine records the
// pair's base, with comments marked synced up to now, before it copies the
// comments (sync/apply.go, pair), so the failed copy is never tried again:
// a full reconcile reads only comments of items updated since the pair's
// last sync (sync/engine.go), and an incremental run lists the issue only
// while it is within the adapter's overlap window. The comment must reach
// GitHub on a later run; while the bug stands the test is skipped with
// what it saw.
func TestCommentCopyRetriedAfterRateLimit(t *testing.T) {
	w := newWorld(t, 1, variant{flavor: jiratest.Cloud, policy: "newest"})
	if _, err := w.person.Create(w.ctx, adapters.Item{Kind: adapters.KindIssue, Title: "shared", Body: "body"}, adapters.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.settle(true)
	jis, gis := w.jfake.Issues(), w.gfake.Issues(ghRepo)
	if len(jis) != 1 || len(gis) != 1 {
		t.Fatalf("after the first sync: %d jira issues, %d github issues, want one each", len(jis), len(gis))
	}
	w.advance(time.Minute)
	if err := w.jfake.AddCommentAs(jis[0].Key, w.jusers[1], w.jiraBody("first, from jira")); err != nil {
		t.Fatal(err)
	}
	// Longer than the engine's allowance for clock skew.
	w.advance(10 * time.Minute)
	w.gfake.Inject(githubtest.Fault{Method: http.MethodPost, Secondary: true, RetryAfter: time.Minute})
	if _, err := w.eng.Sync(w.ctx, w.flow, tsync.RunOptions{Force: true, Full: true}); err == nil {
		t.Fatal("the run whose comment copy met the secondary limit did not fail")
	}
	w.gfake.ClearFaults()
	w.advance(2 * time.Minute)
	w.settle(true)
	w.settle(false)
	if len(w.gfake.Comments(ghRepo, gis[0].Number)) == 0 {
		t.Fatalf("a comment copy that failed on a rate limit is never retried (base recorded as synced before the comments were copied); after full and incremental runs GitHub has no comment, and a further plan has %d ops", len(w.mustPlan().Ops))
	}
	w.check()
}

// TestCrashRecoveryAfterMarkerWindow pins a fixed bug: the process dies
// right after creating a GitHub issue's copy on Jira, and the process that
// resumes the flow runs on another host half an hour later (it cannot
// take the dead one's lease over before LockTTL, and may start later
// still) before recovering the create. The Jira adapter finds an
// earlier attempt by its sync key only among issues created in the last
// MarkerWindow (15 minutes by default; the key's entity property is not
// searchable without an app's index), so the recovery makes a second copy.
// While the bug stands the test is skipped with what it saw.
func TestCrashRecoveryAfterMarkerWindow(t *testing.T) {
	w := newWorld(t, 1, variant{flavor: jiratest.Cloud, policy: "newest"})
	w.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: "made on github", User: ghUsers[0]})
	w.crashAt(tsync.CrashAfterCall, 1)
	if _, err := w.eng.Sync(w.ctx, w.flow, tsync.RunOptions{Force: true}); err == nil {
		t.Fatal("the run did not die")
	}
	if n := len(w.jfake.Issues()); n != 1 {
		t.Fatalf("the dead run made %d jira issues, want 1", n)
	}
	w.elsewhere(31 * time.Minute)
	err := w.runJoined()
	if n := len(w.jfake.Issues()); n != 1 {
		t.Fatalf("recovering the create after the lease ran out made %d jira issues (the key lookup looks back 15 minutes only); run error: %v", n, err)
	}
	if err != nil {
		t.Fatalf("the recovering run: %v", err)
	}
	w.settle(true)
	w.check()
}

// runJoined runs the flow once; its error, or its item errors joined.
func (w *world) runJoined() error {
	res, err := w.eng.Sync(w.ctx, w.flow, tsync.RunOptions{Force: true})
	if err == nil && len(res.Errors) > 0 {
		err = errors.Join(res.Errors...)
	}
	return err
}

// elsewhere is a process on another host taking the flow over after d.
func (w *world) elsewhere(d time.Duration) {
	w.advance(d)
	w.eng = tsync.New(w.st, tsync.Options{Clock: w.clock.Now, Owner: "other-host:1"})
}

func (w *world) mustPlan() *tsync.Plan {
	p, err := w.eng.Plan(w.ctx, w.flow, tsync.RunOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// TestBulkCreateKilledMidBatch: a run dies right after a bulk create of
// 60 Jira issues (two requests of Jira's 50) answered, before any
// outcome is journaled; among the issues the bot made within the marker
// window, 40 more came before them. The next run, another process's,
// recovers every create by its key: no copy is made twice. Recovery
// used to re-issue the creates one by one, each searching only the 50
// newest recent issues, so the first batch's copies fell out of sight
// and were made again.
func TestBulkCreateKilledMidBatch(t *testing.T) {
	w := newWorld(t, 1, variant{flavor: jiratest.Cloud, policy: "newest"})
	for i := range 40 {
		w.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: fmt.Sprintf("earlier %02d", i), User: ghUsers[0]})
	}
	w.settle(true)
	for i := range 60 {
		w.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: fmt.Sprintf("batch %02d", i), User: ghUsers[0]})
	}
	before := len(w.jfake.Issues())
	w.crashAt(tsync.CrashAfterCall, 1)
	if _, err := w.eng.Sync(w.ctx, w.flow, tsync.RunOptions{Force: true}); err == nil {
		t.Fatal("the run did not die")
	}
	if n := len(w.jfake.Issues()) - before; n != 60 {
		t.Fatalf("the dead run made %d jira issues, want all 60 (one bulk create)", n)
	}
	w.elsewhere(time.Minute)
	err := w.runJoined()
	if err != nil {
		t.Fatalf("the recovering run: %v", err)
	}
	if n := len(w.jfake.Issues()) - before; n != 60 {
		t.Fatalf("after recovery jira holds %d new issues for 60 github issues", n)
	}
	w.settle(true)
	w.check()
}
