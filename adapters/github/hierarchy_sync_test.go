package github_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	tsync "github.com/tracksync/tracksync/sync"
)

// hierEnv is the real engine between a Jira-like in-memory tracker (epics
// and issues under them by parent) and the GitHub adapter on the fake,
// with status in project acme/1's Status field and parent synced both
// ways.
type hierEnv struct {
	t     *testing.T
	ctx   context.Context
	clock *memory.Clock
	a     *memory.Tracker
	fake  *githubtest.Server
	b     *github.Tracker
	flow  *tsync.Flow
	eng   *tsync.Engine
}

func newHierEnv(t *testing.T) *hierEnv {
	clock := memory.NewClock(flowtest.Start)
	fields := []string{adapters.FieldTitle, adapters.FieldStatus, adapters.FieldParent}
	a, err := memory.New("a", memory.Options{Statuses: statusesA, Fields: fields, Clock: clock.Now, Project: "A"})
	if err != nil {
		t.Fatal(err)
	}
	fake := githubtest.New(t, githubtest.Options{Repos: []string{syncRepo}, Tokens: []string{"tok"}, Clock: clock.Now})
	fake.AddProject("acme", 1, "Status", "Todo", "In Progress", "Done")
	b := flowtest.GitHub(t, "b", fake, clock.Now, clock.Advance, github.Options{Project: &github.ProjectOptions{Owner: "acme", Number: 1}})
	st := flowtest.Store(t, "", clock.Now)
	cf := flowtest.Flow("", syncRepo, map[string]config.FieldConfig{
		"title":  {Direction: "both"},
		"parent": {Direction: "both"},
		"status": {Direction: "both", Map: []config.ValuePair{
			{A: "To Do", B: "Todo"}, {A: "In Progress", B: "In Progress"}, {A: "In Review", B: "In Progress"}, {A: "Done", B: "Done"},
		}},
	})
	return &hierEnv{t: t, ctx: context.Background(), clock: clock, a: a, fake: fake, b: b,
		flow: flowtest.Compile(t, cf, nil, "memory", a, "github", b), eng: tsync.New(st, tsync.Options{Clock: clock.Now})}
}

func (e *hierEnv) sync() {
	e.t.Helper()
	e.clock.Advance(time.Minute)
	flowtest.Run(e.t, e.eng, e.flow)
}

func (e *hierEnv) itemTitled(title string) adapters.Item {
	e.t.Helper()
	for _, it := range e.a.Items() {
		if it.Title == title {
			return it
		}
	}
	e.t.Fatalf("no item %q on side a", title)
	return adapters.Item{}
}

// TestSyncSubIssuesAndProjectStatus: an epic and its child in Jira become
// an issue and its sub-issue on GitHub, on the board with their statuses;
// a sub-issue linked on GitHub becomes a child in Jira; a card moved on
// the board reaches Jira and a Jira transition moves the card; unlinking
// in Jira removes the sub-issue.
func TestSyncSubIssuesAndProjectStatus(t *testing.T) {
	e := newHierEnv(t)
	epic := e.a.Seed(adapters.Item{Kind: adapters.KindEpic, Title: "Billing", Status: "In Progress"})[0]
	e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Invoices", Status: "To Do", Parent: &epic.Ref})
	e.sync()
	e.sync() // a parent resolved after its child's create is written now
	ghEpic, ghChild := flowtest.GitHubIssue(t, e.fake, syncRepo, "Billing"), flowtest.GitHubIssue(t, e.fake, syncRepo, "Invoices")
	if ghChild.Parent != syncRepo+"#"+itoa(ghEpic.Number) {
		t.Errorf("GitHub copy of Invoices has parent %q, want the copy of Billing (#%d)", ghChild.Parent, ghEpic.Number)
	}
	if st, _ := e.fake.CardStatus("acme", 1, syncRepo+"#"+itoa(ghEpic.Number)); st != "In Progress" {
		t.Errorf("Billing's card is %q, want In Progress", st)
	}

	// A person makes an issue on GitHub and links it as a sub-issue.
	e.clock.Advance(time.Minute)
	tax := e.fake.CreateIssue(syncRepo, githubtest.Issue{Title: "Tax"})
	if err := e.fake.SetParent(syncRepo, tax.Number, syncRepo+"#"+itoa(ghEpic.Number)); err != nil {
		t.Fatal(err)
	}
	e.sync()
	e.sync()
	if got := e.itemTitled("Tax"); got.Parent == nil || got.Parent.ID != epic.Ref.ID {
		t.Errorf("Jira copy of Tax has parent %v, want %s", got.Parent, epic.Ref.ID)
	}

	// A card moved on the board reaches Jira.
	e.clock.Advance(time.Minute)
	if err := e.fake.MoveCard("acme", 1, syncRepo+"#"+itoa(ghChild.Number), "Done"); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if got := e.itemTitled("Invoices"); got.Status != "Done" {
		t.Errorf("Invoices in Jira is %q after its card moved to Done", got.Status)
	}
	// A Jira transition moves the card.
	if _, err := e.a.Edit(epic.Ref, func(it *adapters.Item) { it.Status = "Done" }); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if st, _ := e.fake.CardStatus("acme", 1, syncRepo+"#"+itoa(ghEpic.Number)); st != "Done" {
		t.Errorf("Billing's card is %q after the Jira transition, want Done", st)
	}
	// Unlinking in Jira removes the sub-issue.
	if _, err := e.a.Edit(e.itemTitled("Invoices").Ref, func(it *adapters.Item) { it.Parent = nil }); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if is, _ := e.fake.Issue(syncRepo, ghChild.Number); is.Parent != "" {
		t.Errorf("Invoices on GitHub still has parent %q", is.Parent)
	}
	if subs := e.fake.SubIssues(syncRepo, ghEpic.Number); len(subs) != 1 || subs[0].Title != "Tax" {
		t.Errorf("sub-issues of Billing: %+v, want just Tax", subs)
	}
}

func itoa(n int) string { return fmt.Sprint(n) }
