package github_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
	"github.com/tracksync/tracksync/sync/synctest"
)

// The convergence test: the real engine between an in-memory tracker with
// Jira-like statuses (side A) and the GitHub adapter on the fake (side B),
// random edits by people on both sides, secondary rate limits and faults
// injected, shaped like sync/model_test.go.

const syncRepo = "acme/app"

var (
	statusesA = flowtest.Workflow
	labelPool = []string{"bug", "ux", "infra", "p1"}
	usersA    = []string{"ana", "bo", "cy"}
	usersB    = []string{"gh-ana", "gh-bo", "gh-cy"}
)

type syncEnv struct {
	t     *testing.T
	ctx   context.Context
	clock *memory.Clock
	a     *memory.Tracker
	fake  *githubtest.Server
	b     *github.Tracker
	st    store.Store
	flow  *tsync.Flow
	eng   *tsync.Engine
	rnd   *rand.Rand
	steps int
	// faulty is set while faults may be pending: a run may then fail.
	faulty  bool
	errRuns int
	// board: status is project acme/1's Status field, not state and
	// labels; field: the acme organization's issue field Status.
	board, field bool
}

func newSyncEnv(t *testing.T, seed uint64) *syncEnv { return newSyncEnvWith(t, seed, "") }

// boardOptions are the project field's options (and the issue field's),
// for a syncEnv with board or field set.
var boardOptions = flowtest.Names(flowtest.Board)

// newSyncEnvWith is a syncEnv whose GitHub status source is source:
// "" (state and labels), "project" or "issue-field".
func newSyncEnvWith(t *testing.T, seed uint64, source string) *syncEnv {
	board, field := source == "project", source == "issue-field"
	clock := memory.NewClock(flowtest.Start)
	fields := []string{adapters.FieldTitle, adapters.FieldBody, adapters.FieldStatus, adapters.FieldAssignees, adapters.FieldLabels}
	a, err := memory.New("a", memory.Options{Statuses: statusesA, Fields: fields, Clock: clock.Now, Project: "A", PageSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	fake := githubtest.New(t, githubtest.Options{Repos: []string{syncRepo}, Users: usersB, Tokens: []string{"tok"}, Clock: clock.Now})
	var project *github.ProjectOptions
	var issueField *github.IssueFieldOptions
	statusMap := flowtest.LabelMap
	if field {
		fake.AddIssueField("acme", "Status", "single_select", boardOptions...)
		issueField, statusMap = &github.IssueFieldOptions{Statuses: flowtest.Board}, flowtest.BoardMap
	}
	if board {
		fake.AddProject("acme", 1, "Status", boardOptions...)
		// The options are named so the flow compiles before the project
		// is read, as the config's project.categories does.
		project, statusMap = &github.ProjectOptions{Owner: "acme", Number: 1, Statuses: flowtest.Board}, flowtest.BoardMap
	}
	b := flowtest.GitHub(t, "b", fake, clock.Now, clock.Advance, github.Options{Project: project, IssueField: issueField})
	st := flowtest.Store(t, "", clock.Now)
	cf := flowtest.Flow("", syncRepo, flowtest.FieldsWith(statusMap))
	return &syncEnv{t: t, ctx: context.Background(), clock: clock, a: a, fake: fake, b: b, st: st,
		flow: flowtest.Compile(t, cf, flowtest.People, "memory", a, "github", b), eng: tsync.New(st, tsync.Options{Clock: clock.Now}),
		rnd: flowtest.Rand(seed), board: board, field: field}
}

// run syncs once; with faults pending a failed run is expected, and the
// caller runs again.
func (e *syncEnv) run() bool {
	e.t.Helper()
	// GitHub's listing does not report deleted issues (only webhooks and
	// a 410 on reading do), so every fifth run is a full reconcile, as a
	// deployment schedules them, which reads every linked item.
	full := e.steps%50 == 0
	res, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{Force: true, Full: full})
	if err == nil && len(res.Errors) == 0 {
		return true
	}
	if !e.faulty {
		e.t.Fatalf("step %d: sync without faults failed: %v %v", e.steps, err, resErrors(res))
	}
	e.errRuns++
	var rl *adapters.RateLimitError
	if errors.As(err, &rl) {
		// Wait as told, as the scheduler would.
		e.clock.Advance(rl.RetryAfter)
	}
	return false
}

func resErrors(res *tsync.Result) []error {
	if res == nil {
		return nil
	}
	return res.Errors
}

// settle runs until a run succeeds with every fault cleared, then checks
// the echo rule: one more run writes nothing on either side.
func (e *syncEnv) settle() {
	e.t.Helper()
	e.fake.ClearFaults()
	for i := 0; !e.run(); i++ {
		if i == 5 {
			e.t.Fatalf("step %d: sync keeps failing after the faults were cleared", e.steps)
		}
		e.fake.ClearFaults()
	}
	e.faulty = false
	err := synctest.Echo(func() error {
		e.clock.Advance(time.Second)
		e.run()
		return nil
	}, synctest.Memory("a", e.a), synctest.GitHub("github", e.fake))
	if err != nil {
		e.t.Fatalf("step %d: %v", e.steps, err)
	}
}

// inject arms a fault on GitHub for the next run.
func (e *syncEnv) inject() {
	e.faulty = true
	switch e.rnd.IntN(5) {
	case 0:
		e.fake.Inject(githubtest.Fault{Method: http.MethodPost, Secondary: true, RetryAfter: time.Duration(30+e.rnd.IntN(60)) * time.Second})
	case 1:
		e.fake.Inject(githubtest.Fault{Method: http.MethodPatch, Secondary: true})
	case 2:
		// The create is made but its answer is lost.
		e.fake.Inject(githubtest.Fault{Method: http.MethodPost, Path: "/repos/" + syncRepo + "/issues", Status: http.StatusBadGateway, AfterApply: true})
	case 3:
		e.fake.Inject(githubtest.Fault{Method: http.MethodGet, Status: http.StatusServiceUnavailable, Times: 2})
	case 4:
		e.fake.Inject(githubtest.Fault{Method: http.MethodPatch, Status: http.StatusInternalServerError, AfterApply: true})
	}
}

func (e *syncEnv) pickA() (adapters.Item, bool) {
	items := e.a.Items()
	if len(items) == 0 {
		return adapters.Item{}, false
	}
	return items[e.rnd.IntN(len(items))], true
}

func (e *syncEnv) step() {
	e.steps++
	flowtest.Step(e.rnd, e.clock.Advance, e.stepA, e.stepB)
	if e.steps%10 == 0 {
		if e.rnd.IntN(3) == 0 {
			e.inject()
			e.run()
		}
		e.settle()
	}
}

func (e *syncEnv) stepA(r int) {
	it, ok := e.pickA()
	edit := func(f func(*adapters.Item)) {
		if _, err := e.a.Edit(it.Ref, f); err != nil {
			e.t.Fatal(err)
		}
	}
	switch {
	case r < 10 || !ok:
		e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("a-made %d", e.steps), Status: statusesA[0].Name,
			Labels: []string{labelPool[e.rnd.IntN(len(labelPool))]}, Body: "body a"})
	case r < 30:
		edit(func(x *adapters.Item) { x.Title = fmt.Sprintf("a title %d", e.steps) })
	case r < 50:
		edit(func(x *adapters.Item) { x.Status = statusesA[e.rnd.IntN(len(statusesA))].Name })
	case r < 62:
		edit(func(x *adapters.Item) { x.Labels = flowtest.Toggle(x.Labels, labelPool[e.rnd.IntN(len(labelPool))]) })
	case r < 72:
		edit(func(x *adapters.Item) { x.Assignees = e.someOf(usersA) })
	case r < 80:
		edit(func(x *adapters.Item) { x.Body = fmt.Sprintf("a body %d", e.steps) })
	case r < 90:
		if _, err := e.a.AddComment(e.ctx, it.Ref, adapters.Comment{Body: fmt.Sprintf("a says %d", e.steps)}, ""); err != nil {
			e.t.Fatal(err)
		}
	case r < 93:
		if err := e.a.Delete(e.ctx, it.Ref); err != nil {
			e.t.Fatal(err)
		}
	default:
		cs, _ := e.a.Comments(e.ctx, it.Ref)
		if len(cs) > 0 {
			c := cs[e.rnd.IntN(len(cs))]
			c.Body = fmt.Sprintf("a edited %d", e.steps)
			if _, err := e.a.EditComment(e.ctx, it.Ref, c); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

// stepB plays a person on GitHub, through the fake's hooks.
func (e *syncEnv) stepB(r int) {
	p := flowtest.GitHubPerson{Fake: e.fake, Rnd: e.rnd, Repo: syncRepo, Labels: labelPool}
	is, ok := p.Pick()
	var err error
	switch {
	case r < 8 || !ok:
		e.fake.CreateIssue(syncRepo, githubtest.Issue{Title: fmt.Sprintf("b-made %d", e.steps), Labels: []string{labelPool[e.rnd.IntN(len(labelPool))]}})
	case r < 10:
		p.PullRequest(fmt.Sprintf("pull request %d", e.steps))
	case r < 28:
		err = p.Edit(is.Number, func(x *githubtest.Issue) { x.Title = fmt.Sprintf("b title %d", e.steps) })
	case r < 50 && e.field:
		// Status: the issue field set in the UI.
		err = e.fake.SetIssueFieldValue(syncRepo, is.Number, "Status", boardOptions[e.rnd.IntN(len(boardOptions))])
	case r < 50 && e.board:
		// Status: a card moved on the board.
		err = e.fake.MoveCard("acme", 1, fmt.Sprintf("%s#%d", syncRepo, is.Number), boardOptions[e.rnd.IntN(len(boardOptions))])
	case r < 50:
		// Status: state plus status labels, sometimes several at once.
		err = p.Edit(is.Number, func(x *githubtest.Issue) {
			x.Labels = slices.DeleteFunc(slices.Clone(x.Labels), func(l string) bool { return strings.HasPrefix(l, "status: ") })
			x.State, x.StateReason = "open", ""
			switch e.rnd.IntN(5) {
			case 0:
				x.Labels = append(x.Labels, "status: in progress")
			case 1:
				x.Labels = append(x.Labels, "status: in review")
			case 2:
				x.Labels = append(x.Labels, "status: in progress", "status: in review")
			case 3:
				x.State = "closed"
			}
		})
	case r < 62:
		err = p.ToggleLabel(is.Number)
	case r < 72:
		err = p.Edit(is.Number, func(x *githubtest.Issue) { x.Assignees = e.someOf(usersB) })
	case r < 87:
		err = p.Comment(is.Number, "gh-bo", fmt.Sprintf("b says %d", e.steps))
	case r < 90:
		err = p.Delete(is.Number)
	default:
		err = p.EditComment(is.Number, fmt.Sprintf("b edited %d", e.steps))
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// someOf is each of users with a chance of one in three.
func (e *syncEnv) someOf(users []string) []string {
	var out []string
	for _, u := range users {
		if e.rnd.IntN(3) == 0 {
			out = append(out, u)
		}
	}
	return out
}

// check asserts convergence (synctest.Check).
func (e *syncEnv) check() {
	e.t.Helper()
	err := synctest.Check(e.ctx, synctest.Options{Engine: e.eng, Store: e.st, Flow: e.flow,
		A: synctest.MemorySide("a", e.a), B: synctest.GitHubSide("github", e.fake, syncRepo, e.b),
		TrimBodies: true, RequireSyncKeys: true})
	if err != nil {
		e.t.Fatal(err)
	}
}

// walk runs the convergence walk from seed first on (see flowtest.Seeds)
// with GitHub's status in source (see newSyncEnvWith); after checks and
// logs what the variant adds once the walk has converged.
func walk(t *testing.T, first uint64, source string, after func(t *testing.T, seed uint64, e *syncEnv)) {
	flowtest.Seeds(t, "", first, 120, func(t *testing.T, seed uint64, steps int) {
		e := newSyncEnvWith(t, seed, source)
		for e.steps < steps {
			e.step()
		}
		e.settle()
		e.check()
		after(t, seed, e)
	})
}

func noSecondaryViolations(t *testing.T, e *syncEnv) {
	t.Helper()
	if v := e.fake.SecondaryViolations(); v != 0 {
		t.Errorf("%d requests refused by GitHub's secondary limits: pacing let them through", v)
	}
}

// TestSyncWithGitHub is the model-based convergence test against the
// GitHub fake.
func TestSyncWithGitHub(t *testing.T) {
	walk(t, 1, "", func(t *testing.T, seed uint64, e *syncEnv) {
		noSecondaryViolations(t, e)
		t.Logf("seed %d: %d steps, %d runs failed on injected faults, %d issues", seed, e.steps, e.errRuns, len(e.fake.Issues(syncRepo)))
	})
}

// TestSyncWithGitHubBoard is the convergence test with status in a
// Projects field: people move cards on the board, and faults hit GraphQL
// as they hit REST.
func TestSyncWithGitHubBoard(t *testing.T) {
	walk(t, 11, "project", func(t *testing.T, seed uint64, e *syncEnv) {
		noSecondaryViolations(t, e)
		t.Logf("seed %d: %d steps, %d runs failed on injected faults, %d issues, %d GraphQL points", seed, e.steps, e.errRuns, len(e.fake.Issues(syncRepo)), e.fake.GraphQLPoints())
	})
}

// TestSyncWithGitHubIssueField is the convergence test with status in an
// organization's issue field: people set the field in the UI.
func TestSyncWithGitHubIssueField(t *testing.T) {
	walk(t, 21, "issue-field", func(t *testing.T, seed uint64, e *syncEnv) {
		set := 0
		for _, is := range e.fake.Issues(syncRepo) {
			if !is.PullRequest && e.fake.IssueFieldValue(syncRepo, is.Number, "Status") != "" {
				set++
			}
		}
		if set == 0 {
			t.Error("no issue has a value in the status field")
		}
		t.Logf("seed %d: %d steps, %d runs failed on injected faults, %d issues, %d with the field set", seed, e.steps, e.errRuns, len(e.fake.Issues(syncRepo)), set)
	})
}

// TestStatusLabels: an issue carrying several status labels is read as
// one status, stays stable, and a status change from A swaps state and
// status labels in one PATCH.
func TestStatusLabels(t *testing.T) {
	e := newSyncEnv(t, 1)
	e.fake.CreateIssue(syncRepo, githubtest.Issue{Title: "two status labels", Labels: []string{"bug", "status: in progress", "status: in review"}})
	e.settle()
	items := e.a.Items()
	if len(items) != 1 {
		t.Fatalf("a holds %d items", len(items))
	}
	a := items[0]
	if a.Status != "In Progress" && a.Status != "In Review" {
		t.Errorf("a status %q, want one the status labels stand for", a.Status)
	}
	if diff := cmp.Diff([]string{"bug"}, a.Labels); diff != "" {
		t.Errorf("a labels (-want +got): status labels must not be copied as labels\n%s", diff)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.a.Edit(a.Ref, func(x *adapters.Item) { x.Status = "Done" }); err != nil {
		t.Fatal(err)
	}
	e.fake.ResetLog()
	if !e.run() {
		t.Fatal("run failed")
	}
	var patches []string
	for _, r := range e.fake.Requests() {
		if r.Method == http.MethodPatch {
			patches = append(patches, r.Path)
		}
	}
	is, _ := e.fake.Issue(syncRepo, 1)
	if is.State != "closed" || !cmp.Equal(is.Labels, []string{"bug"}) || len(patches) != 1 {
		t.Errorf("after Done on a: state %q labels %v, %d PATCHes; want closed, [bug], one PATCH", is.State, is.Labels, len(patches))
	}
	e.settle()
	e.check()
}
