package e2e_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
)

// TestJiraBoardStatus: the Jira adapter and the GitHub adapter with its
// status in a Projects field (status_source project): a Jira issue's copy
// lands on the board in the mapped column, a card moved on the board
// moves the Jira issue through its workflow, a Jira transition moves the
// card, and a run with nothing new writes nothing.
func TestJiraBoardStatus(t *testing.T) {
	// The options named, as project.categories does, so the flow compiles
	// before the project is read.
	board := []adapters.StatusDef{{Name: "Todo", Category: adapters.CategoryTodo}, {Name: "In Progress", Category: adapters.CategoryInProgress},
		{Name: "In Review", Category: adapters.CategoryInProgress}, {Name: "Done", Category: adapters.CategoryDone}}
	p := newPair(t, githubtest.Options{}, github.Options{Project: &github.ProjectOptions{Owner: "acme", Number: 1, Statuses: board}},
		map[string]config.FieldConfig{
			"title": {Direction: "both"},
			"status": {Direction: "both", Map: []config.ValuePair{
				{A: "To Do", B: "Todo"}, {A: "In Progress", B: "In Progress"}, {A: "In Review", B: "In Review"}, {A: "Done", B: "Done"}}},
		})
	p.gfake.AddProject("acme", 1, "Status", "Todo", "In Progress", "In Review", "Done")

	made := p.create(adapters.Item{Kind: adapters.KindIssue, Title: "board card"})
	p.sync(false)
	card := fmt.Sprintf("%s#%d", ghRepo, flowtest.GitHubIssue(t, p.gfake, ghRepo, "board card").Number)
	if st, ok := p.gfake.CardStatus("acme", 1, card); !ok || st != "Todo" {
		t.Fatalf("the copy's card: %q (on the board %v), want Todo", st, ok)
	}

	// A card moved on the board: the Jira issue follows through its
	// workflow.
	if err := p.gfake.MoveCard("acme", 1, card, "In Review"); err != nil {
		t.Fatal(err)
	}
	p.sync(false)
	if got := flowtest.JiraIssue(t, p.jfake, "board card").Status; got != "In Review" {
		t.Errorf("after the card moved to In Review: Jira %s is %q", made.Ref.Key, got)
	}

	// A Jira transition: the card moves.
	p.advance(time.Minute)
	if _, err := p.person.Update(p.ctx, made.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "Done"}}); err != nil {
		t.Fatal(err)
	}
	p.sync(false)
	if st, _ := p.gfake.CardStatus("acme", 1, card); st != "Done" {
		t.Errorf("after the Jira transition to Done: the card is in %q", st)
	}
	if res := p.sync(false); res.Run.Counts.Updated != 0 || res.Run.Counts.Created != 0 {
		t.Errorf("a run with nothing new wrote: %+v", res.Run.Counts)
	}
}
