package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/store/sqlite"
	tsync "github.com/tracksync/tracksync/sync"
)

// TestJiraBoardStatus: the Jira adapter and the GitHub adapter with its
// status in a Projects field (status_source project): a Jira issue's copy
// lands on the board in the mapped column, a card moved on the board
// moves the Jira issue through its workflow, a Jira transition moves the
// card, and a run with nothing new writes nothing.
func TestJiraBoardStatus(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	clock := memory.NewClock(start)
	jfake := jiratest.New(t, jiratest.Options{Start: start})
	jo := jira.Options{URL: jfake.URL, Project: jiraProj, Email: "bot@example.com", Token: "api-token", RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond}
	a, err := jira.New(ctx, "a", jo)
	if err != nil {
		t.Fatal(err)
	}
	person, err := jira.New(ctx, "a", jo)
	if err != nil {
		t.Fatal(err)
	}
	gfake := githubtest.New(t, githubtest.Options{Repos: []string{ghRepo}, Users: ghUsers, Tokens: []string{"tok"}, Clock: clock.Now})
	gfake.AddProject("acme", 1, "Status", "Todo", "In Progress", "In Review", "Done")
	b, err := github.New("b", github.Options{URL: gfake.URL, Token: "tok", Clock: clock.Now, Transport: gfake.Client().Transport,
		// The options named, as project.categories does, so the flow
		// compiles before the project is read.
		Project: &github.ProjectOptions{Owner: "acme", Number: 1, Statuses: []adapters.StatusDef{{Name: "Todo", Category: adapters.CategoryTodo},
			{Name: "In Progress", Category: adapters.CategoryInProgress}, {Name: "In Review", Category: adapters.CategoryInProgress}, {Name: "Done", Category: adapters.CategoryDone}}},
		Sleep:        func(ctx context.Context, d time.Duration) error { clock.Advance(d); jfake.Advance(d); return ctx.Err() },
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, stateDir(t)+"/state.db", sqlite.Options{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	yes := true
	cf := config.Flow{Name: "board", A: config.FlowSide{Tracker: "a", Scope: "project = " + jiraProj}, B: config.FlowSide{Tracker: "b", Scope: ghRepo},
		Direction: "both", Conflict: "newest", OnDelete: "unlink", MaxChangeShare: 1, Create: &yes,
		Fields: map[string]config.FieldConfig{
			"title": {Direction: "both"},
			"status": {Direction: "both", Map: []config.ValuePair{
				{A: "To Do", B: "Todo"}, {A: "In Progress", B: "In Progress"}, {A: "In Review", B: "In Review"}, {A: "Done", B: "Done"}}},
		}}
	capsA, capsB := a.Capabilities(), b.Capabilities()
	m, probs := mapping.Compile(cf, "flows[0]", nil, mapping.SideInfo{Name: "a", Kind: "jira", Caps: &capsA}, mapping.SideInfo{Name: "b", Kind: "github", Caps: &capsB})
	if len(probs) > 0 {
		t.Fatalf("flow does not compile: %v", probs)
	}
	flow := &tsync.Flow{Map: m, A: a, B: b}
	eng := tsync.New(st, tsync.Options{Clock: clock.Now})
	sync := func() *tsync.Result {
		t.Helper()
		clock.Advance(time.Minute)
		jfake.Advance(time.Minute)
		res, err := eng.Sync(ctx, flow, tsync.RunOptions{})
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		return res
	}
	jiraStatus := func(key string) string {
		t.Helper()
		is, ok := jfake.Issue(key)
		if !ok {
			t.Fatalf("no Jira issue %s", key)
		}
		return is.Status
	}

	made, err := person.Create(ctx, adapters.Item{Kind: adapters.KindIssue, Title: "board card"}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := made.Item.Ref.Key
	sync()
	issues := gfake.Issues(ghRepo)
	if len(issues) != 1 {
		t.Fatalf("%d GitHub issues after the first sync, want 1", len(issues))
	}
	card := fmt.Sprintf("%s#%d", ghRepo, issues[0].Number)
	if st, ok := gfake.CardStatus("acme", 1, card); !ok || st != "Todo" {
		t.Fatalf("the copy's card: %q (on the board %v), want Todo", st, ok)
	}

	// A card moved on the board: the Jira issue follows through its
	// workflow.
	if err := gfake.MoveCard("acme", 1, card, "In Review"); err != nil {
		t.Fatal(err)
	}
	sync()
	if got := jiraStatus(key); got != "In Review" {
		t.Errorf("after the card moved to In Review: Jira %s is %q", key, got)
	}

	// A Jira transition: the card moves.
	clock.Advance(time.Minute)
	jfake.Advance(time.Minute)
	if _, err := person.Update(ctx, made.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "Done"}}); err != nil {
		t.Fatal(err)
	}
	sync()
	if st, _ := gfake.CardStatus("acme", 1, card); st != "Done" {
		t.Errorf("after the Jira transition to Done: the card is in %q", st)
	}
	if res := sync(); res.Run.Counts.Updated != 0 || res.Run.Counts.Created != 0 {
		t.Errorf("a run with nothing new wrote: %+v", res.Run.Counts)
	}
}
