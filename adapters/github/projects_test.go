package github

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

var boardOptions = []string{"Todo", "In Progress", "Done"}

// newBoard is a fixture whose status is project acme/1's Status field.
func newBoard(t *testing.T, fo githubtest.Options) *fixture {
	t.Helper()
	f := newFixture(t, fo, func(o *Options) { o.Project = &ProjectOptions{Owner: "acme", Number: 1} })
	f.fake.AddProject("acme", 1, "Status", boardOptions...)
	return f
}

func restRequests(f *fixture) (n int) {
	for _, r := range f.fake.Requests() {
		if !strings.HasSuffix(r.Path, "/graphql") {
			n++
		}
	}
	return n
}

// TestProjectStatusConformance: the suite with status in a Projects field;
// a person's status edit is a card moved on the board.
func TestProjectStatusConformance(t *testing.T) {
	runStatusConformance(t, func(t *testing.T) *fixture { return newBoard(t, githubtest.Options{}) },
		func(f *fixture, ref adapters.Ref, status string) error {
			return f.fake.MoveCard("acme", 1, ref.ID, status)
		})
}

// runStatusConformance runs the suite on fixtures whose status lives
// outside the issue: a person's edit changes the issue's other fields as
// always, and its status through set (a card moved, a field set).
func runStatusConformance(t *testing.T, newF func(*testing.T) *fixture, set func(f *fixture, ref adapters.Ref, status string) error) {
	var cur *fixture
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) adapters.Tracker {
			cur = newF(t)
			return cur.tr
		},
		Scope:   githubtest.DefaultRepo,
		Advance: func(d time.Duration) { cur.fake.Advance(d) },
		Edit: func(t *testing.T, ref adapters.Ref, mutate func(*adapters.Item)) {
			t.Helper()
			before, err := cur.tr.Get(t.Context(), ref)
			if err != nil {
				t.Fatal(err)
			}
			var status string
			personEdit(t, cur.fake, ref, func(it *adapters.Item) {
				it.Status = before.Status
				mutate(it)
				status = it.Status
				it.Status = StatusOpen
				if before.StatusCategory == adapters.CategoryDone {
					it.Status = StatusClosed
				}
			})
			if status != before.Status {
				if err := set(cur, ref, status); err != nil {
					t.Fatal(err)
				}
			}
		},
	})
}

// TestProjectStatusReadWrite: statuses are the field's options; a status
// write is one mutation (plus adding the issue to the project once); a
// create puts the issue on the board with its status.
func TestProjectStatusReadWrite(t *testing.T) {
	f := newBoard(t, githubtest.Options{})
	ctx := t.Context()
	res, err := f.tr.Create(ctx, adapters.Item{Title: "card", Status: "In Progress"}, adapters.CreateOptions{IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Item.Status != "In Progress" || res.Item.StatusCategory != adapters.CategoryInProgress {
		t.Errorf("created with status %q (%s)", res.Item.Status, res.Item.StatusCategory)
	}
	if st, ok := f.fake.CardStatus("acme", 1, res.Item.Ref.ID); !ok || st != "In Progress" {
		t.Errorf("card status %q (on the board %v), want In Progress", st, ok)
	}
	var names []string
	for _, s := range f.tr.Capabilities().Statuses {
		names = append(names, s.Name+"="+string(s.Category))
	}
	if got := strings.Join(names, ","); got != "Todo=todo,In Progress=in_progress,Done=done" {
		t.Errorf("statuses %s", got)
	}
	points := f.fake.GraphQLPoints()
	f.fake.ResetLog()
	it, err := f.tr.Update(ctx, res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "Done"}, IfVersion: res.Item.Version})
	if err != nil {
		t.Fatal(err)
	}
	if it.Status != "Done" || it.StatusCategory != adapters.CategoryDone || it.Version == res.Item.Version {
		t.Errorf("after the update: %q (%s), version %s (was %s)", it.Status, it.StatusCategory, it.Version, res.Item.Version)
	}
	if st, _ := f.fake.CardStatus("acme", 1, res.Item.Ref.ID); st != "Done" {
		t.Errorf("card status %q, want Done", st)
	}
	// One lookup and one mutation; the issue itself is read twice (the
	// version check and the answer) and not written.
	if got := f.fake.GraphQLPoints() - points; got != 2 {
		t.Errorf("a status change cost %d GraphQL points, want 2", got)
	}
	for _, r := range f.fake.Requests() {
		if r.Method != http.MethodGet && !strings.HasSuffix(r.Path, "/graphql") {
			t.Errorf("a status change sent %s %s", r.Method, r.Path)
		}
	}
	// A stale version is refused before anything is written.
	_, err = f.tr.Update(ctx, res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "Todo"}, IfVersion: res.Item.Version})
	if !errors.Is(err, adapters.ErrConflict) {
		t.Errorf("stale version: %v, want ErrConflict", err)
	}
	// An option the field does not have.
	_, err = f.tr.Update(ctx, res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "Shipped"}})
	if !errors.Is(err, adapters.ErrInvalid) || !strings.Contains(err.Error(), `"Shipped"`) {
		t.Errorf("unknown option: %v", err)
	}
	// An issue off the board reads as its state's first option.
	is := f.fake.CreateIssue(githubtest.DefaultRepo, githubtest.Issue{Title: "off the board", State: "closed"})
	got, err := f.tr.Get(ctx, adapters.Ref{Tracker: "gh", ID: issueID(githubtest.DefaultRepo, is.Number)})
	if err != nil || got.Status != "Done" {
		t.Errorf("closed issue off the board: %q %v, want Done", got.Status, err)
	}
}

// TestProjectBoardMoveIsListed: moving a card changes no issue, yet the
// next listing returns the issue with its new status, once; an idle poll
// costs one REST request (answered 304) and one GraphQL point per 100
// cards.
func TestProjectBoardMoveIsListed(t *testing.T) {
	f := newBoard(t, githubtest.Options{})
	ctx := t.Context()
	var refs []adapters.Ref
	for _, title := range []string{"a", "b"} {
		res, err := f.tr.Create(ctx, adapters.Item{Title: title, Status: "Todo"}, adapters.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, res.Item.Ref)
	}
	_, cursor := listAll(t, f.tr, githubtest.DefaultRepo, "")
	f.fake.ResetLog()
	points := f.fake.GraphQLPoints()
	items, cursor := listAll(t, f.tr, githubtest.DefaultRepo, cursor)
	if len(items) != 0 {
		t.Errorf("idle poll listed %d items", len(items))
	}
	if n, p := restRequests(f), f.fake.GraphQLPoints()-points; n != 1 || p != 1 {
		t.Errorf("idle poll: %d REST requests, %d GraphQL points; want 1 and 1", n, p)
	}
	f.fake.Advance(time.Minute)
	if err := f.fake.MoveCard("acme", 1, refs[1].ID, "In Progress"); err != nil {
		t.Fatal(err)
	}
	items, cursor = listAll(t, f.tr, githubtest.DefaultRepo, cursor)
	if len(items) != 1 || items[0].Ref.ID != refs[1].ID || items[0].Status != "In Progress" {
		t.Fatalf("after a card move: %+v", items)
	}
	if items, _ = listAll(t, f.tr, githubtest.DefaultRepo, cursor); len(items) != 0 {
		t.Errorf("the move was listed again: %+v", items)
	}
}

// TestProjectGraphQLBudget: a GraphQL budget reported used up holds
// GraphQL calls until its reset, without sending them, while REST goes
// on; GitHub's RATE_LIMITED answer is a rate-limit error too.
func TestProjectGraphQLBudget(t *testing.T) {
	f := newBoard(t, githubtest.Options{GraphQLLimit: 3})
	ctx := t.Context()
	is := f.fake.CreateIssue(githubtest.DefaultRepo, githubtest.Issue{Title: "x"})
	ref := adapters.Ref{Tracker: "gh", ID: issueID(githubtest.DefaultRepo, is.Number)}
	for range 2 { // project metadata and a lookup, then a lookup: 3 points
		if _, err := f.tr.Get(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
	f.fake.ResetLog()
	_, err := f.tr.Get(ctx, ref)
	var rl *adapters.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 {
		t.Fatalf("over the GraphQL budget: %v, want a RateLimitError with a wait", err)
	}
	if n := len(f.fake.Requests()); n != 0 {
		t.Errorf("a held GraphQL call was sent (%d requests)", n)
	}
	if _, err := f.tr.Comments(ctx, ref); err != nil {
		t.Errorf("REST held by the GraphQL budget: %v", err)
	}
	// Another tracker, not knowing the budget is spent, gets GitHub's
	// RATE_LIMITED answer.
	other, err := New("gh2", Options{URL: f.fake.URL, Token: testToken, Transport: f.fake.Client().Transport, Clock: f.fake.Now,
		Project: &ProjectOptions{Owner: "acme", Number: 1}, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Get(ctx, ref); !errors.As(err, &rl) {
		t.Errorf("RATE_LIMITED answer: %v, want a RateLimitError", err)
	}
}

// TestProjectRegistry: status_source and project in the tracker's config.
func TestProjectRegistry(t *testing.T) {
	reg, base := registryFixture(t)
	tr, err := reg.Open(t.Context(), "acme-gh", "github", base(map[string]any{"status_source": "project", "issue_types": true,
		"project": map[string]any{"owner": "acme", "number": 3, "field": "Stage", "categories": map[string]any{"Shipped": "done"}}}), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	o := tr.(*Tracker).opts
	if p := o.Project; p == nil || p.Owner != "acme" || p.Number != 3 || p.Field != "Stage" || len(p.Statuses) != 1 || p.Statuses[0].Category != adapters.CategoryDone || !o.IssueTypes {
		t.Errorf("options %+v, project %+v", o, o.Project)
	}
	for name, c := range map[string]struct {
		raw  map[string]any
		want string
	}{
		"unknown source":        {map[string]any{"status_source": "columns"}, "acme-gh.status_source"},
		"project without it":    {map[string]any{"status_source": "project"}, "acme-gh.project"},
		"project, wrong source": {map[string]any{"status_source": "labels", "project": map[string]any{"owner": "acme", "number": 1}}, "acme-gh.project"},
		"no owner":              {map[string]any{"status_source": "project", "project": map[string]any{"number": 1}}, "acme-gh.project.owner"},
		"bad number":            {map[string]any{"status_source": "project", "project": map[string]any{"owner": "acme", "number": "x"}}, "acme-gh.project.number"},
		"bad category":          {map[string]any{"status_source": "project", "project": map[string]any{"owner": "acme", "number": 1, "categories": map[string]any{"Done": "finished"}}}, "acme-gh.project.categories.Done"},
		"unknown key":           {map[string]any{"status_source": "project", "project": map[string]any{"owner": "acme", "number": 1, "view": 2}}, "acme-gh.project.view"},
	} {
		_, err := reg.Open(t.Context(), "acme-gh", "github", base(c.raw), nil, "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, c.want)
		}
	}
}

// registryFixture is a registry holding the GitHub spec, and base: a
// tracker's raw options (the fake's URL and a token) with extra added.
func registryFixture(t *testing.T) (*adapters.Registry, func(extra map[string]any) map[string]any) {
	t.Helper()
	reg := adapters.NewRegistry()
	if err := reg.Register(Spec()); err != nil {
		t.Fatal(err)
	}
	fake := githubtest.New(t, githubtest.Options{})
	return reg, func(extra map[string]any) map[string]any {
		raw := map[string]any{"url": fake.URL, "auth": map[string]any{"token": "t"}}
		for k, v := range extra {
			raw[k] = v
		}
		return raw
	}
}
