package e2e_test

import (
	"context"
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
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/store/sqlite"
	tsync "github.com/tracksync/tracksync/sync"
)

// TestIssueTypesSync: GitHub issue types mapped to Jira issue types by a
// flow's type map (Story ⇄ Feature, Bug ⇄ Bug, Task ⇄ Task, Epic ⇄
// Epic): copies are made with the mapped type (an Epic is an epic on
// both), a type changed on either side reaches the other, a change Jira
// refuses (a story into an epic needs Jira's Move) is reported with
// Jira's own message and the rest of the run goes on, and a run with
// nothing new writes nothing.
func TestIssueTypesSync(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	clock := memory.NewClock(start)
	jfake := jiratest.New(t, jiratest.Options{Start: start})
	jo := jira.Options{URL: jfake.URL, Project: jiraProj, Email: "bot@example.com", Token: "api-token", RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond}
	a, err := jira.New(ctx, "a", jo)
	if err != nil {
		t.Fatal(err)
	}
	gfake := githubtest.New(t, githubtest.Options{Repos: []string{ghRepo}, Users: ghUsers, Tokens: []string{"tok"}, Clock: clock.Now,
		IssueTypes: []string{"Task", "Bug", "Feature", "Epic"}})
	b, err := github.New("b", github.Options{URL: gfake.URL, Token: "tok", Clock: clock.Now, Transport: gfake.Client().Transport, IssueTypes: true,
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
	cf := config.Flow{Name: "typed", A: config.FlowSide{Tracker: "a", Scope: "project = " + jiraProj}, B: config.FlowSide{Tracker: "b", Scope: ghRepo},
		Direction: "both", Conflict: "newest", OnDelete: "unlink", MaxChangeShare: 1, Create: &yes,
		Fields: map[string]config.FieldConfig{
			"title": {Direction: "both"},
			"type": {Direction: "both", Map: []config.ValuePair{
				{A: "Story", B: "Feature"}, {A: "Bug", B: "Bug"}, {A: "Task", B: "Task"}, {A: "Epic", B: "Epic"}}},
		}}
	capsA, capsB := a.Capabilities(), b.Capabilities()
	m, probs := mapping.Compile(cf, "flows[0]", nil, mapping.SideInfo{Name: "a", Kind: "jira", Caps: &capsA}, mapping.SideInfo{Name: "b", Kind: "github", Caps: &capsB})
	if len(probs) > 0 {
		t.Fatalf("flow does not compile: %v", probs)
	}
	flow := &tsync.Flow{Map: m, A: a, B: b}
	eng := tsync.New(st, tsync.Options{Clock: clock.Now})
	sync := func(wantErr bool) *tsync.Result {
		t.Helper()
		clock.Advance(time.Minute)
		jfake.Advance(time.Minute)
		res, err := eng.Sync(ctx, flow, tsync.RunOptions{})
		if err != nil && !wantErr {
			t.Fatalf("sync: %v", err)
		}
		if wantErr && err == nil && (res == nil || len(res.Errors) == 0) {
			t.Fatalf("sync: no error, want one")
		}
		return res
	}
	ghType := func(title string) string {
		t.Helper()
		for _, is := range gfake.Issues(ghRepo) {
			if is.Title == title {
				return is.Type
			}
		}
		t.Fatalf("no GitHub issue %q", title)
		return ""
	}
	jiraIssue := func(title string) jiratest.Issue {
		t.Helper()
		for _, is := range jfake.Issues() {
			if is.Summary == title {
				return is
			}
		}
		t.Fatalf("no Jira issue %q", title)
		return jiratest.Issue{}
	}

	// Jira's story, bug and epic; GitHub's feature.
	for _, c := range []struct {
		title string
		kind  adapters.Kind
		typ   string
	}{{"a story", adapters.KindIssue, "Story"}, {"a bug", adapters.KindIssue, "Bug"}, {"an epic", adapters.KindEpic, "Epic"}} {
		if _, err := a.Create(ctx, adapters.Item{Kind: c.kind, Type: c.typ, Title: c.title}, adapters.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	gfake.CreateIssue(ghRepo, githubtest.Issue{Title: "a feature", Type: "Feature", User: ghUsers[0]})
	sync(false)
	for title, want := range map[string]string{"a story": "Feature", "a bug": "Bug", "an epic": "Epic"} {
		if got := ghType(title); got != want {
			t.Errorf("GitHub copy of %q: type %q, want %q", title, got, want)
		}
	}
	if got := jiraIssue("a feature").Type; got != "Story" {
		t.Errorf("Jira copy of the GitHub feature: type %q, want Story", got)
	}
	if ghType("an epic") != "Epic" {
		t.Error("the epic's copy is not an Epic")
	}

	// A person makes the feature a bug on GitHub: the Jira story becomes a
	// Bug. A person makes the Jira bug a task: the GitHub issue follows.
	num := func(title string) int {
		for _, is := range gfake.Issues(ghRepo) {
			if is.Title == title {
				return is.Number
			}
		}
		return 0
	}
	clock.Advance(time.Minute)
	if err := gfake.EditIssue(ghRepo, num("a story"), func(is *githubtest.Issue) { is.Type = "Bug" }); err != nil {
		t.Fatal(err)
	}
	if err := jfake.EditIssue(jiraIssue("a bug").Key, "", func(is *jiratest.Issue) { is.Type = "Task" }); err != nil {
		t.Fatal(err)
	}
	sync(false)
	if got := jiraIssue("a story").Type; got != "Bug" {
		t.Errorf("after GitHub's change: the Jira story is a %q, want Bug", got)
	}
	if got := ghType("a bug"); got != "Task" {
		t.Errorf("after Jira's change: the GitHub issue is a %q, want Task", got)
	}

	// A change Jira refuses: a GitHub bug made an Epic. The run reports
	// Jira's message for that issue; the other side keeps its type.
	clock.Advance(time.Minute)
	if err := gfake.EditIssue(ghRepo, num("a story"), func(is *githubtest.Issue) { is.Type = "Epic" }); err != nil {
		t.Fatal(err)
	}
	res := sync(true)
	var msgs []string
	for _, e := range res.Errors {
		msgs = append(msgs, e.Error())
	}
	if all := strings.Join(msgs, "\n"); !strings.Contains(all, "cannot become Epic issues by an edit") || !strings.Contains(all, jiraIssue("a story").Key) {
		t.Errorf("the refused change is reported as %q, want Jira's message naming %s", all, jiraIssue("a story").Key)
	}
	if got := jiraIssue("a story").Type; got != "Bug" {
		t.Errorf("the refused change left the Jira issue a %q, want Bug", got)
	}

	// Back to a Bug on GitHub: the pair agrees again, and a further run
	// writes nothing.
	clock.Advance(time.Minute)
	if err := gfake.EditIssue(ghRepo, num("a story"), func(is *githubtest.Issue) { is.Type = "Bug" }); err != nil {
		t.Fatal(err)
	}
	sync(false)
	res = sync(false)
	if res.Run.Counts.Updated != 0 || res.Run.Counts.Created != 0 {
		t.Errorf("a run with nothing new wrote: %+v", res.Run.Counts)
	}
}
