package github

import (
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

// TestUpdateWritesWhatGitHubTakes: an edit one of whose values GitHub
// refuses (a person who cannot be assigned) still writes the other
// fields, and fails naming the refused one, for good (Permanent): before,
// the one value held back every other field of the issue.
func TestUpdateWritesWhatGitHubTakes(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	res, err := f.tr.Create(t.Context(), adapters.Item{Title: "x", Status: "open"}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.tr.Update(t.Context(), res.Item.Ref, adapters.Patch{
		Fields: []string{adapters.FieldTitle, adapters.FieldAssignees, adapters.FieldLabels},
		Item:   adapters.Item{Title: "renamed", Assignees: []string{"not-a-collaborator"}, Labels: []string{"kept"}},
	})
	if err == nil || !adapters.IsPermanent(err) || !strings.Contains(err.Error(), "GitHub refused assignees (invalid)") {
		t.Fatalf("Update: %v, want a permanent error naming the refused assignees", err)
	}
	is := f.fake.Issues(githubtest.DefaultRepo)[0]
	if is.Title != "renamed" || len(is.Labels) != 1 || len(is.Assignees) != 0 {
		t.Errorf("issue %q labels %v assignees %v, want renamed, [kept], none", is.Title, is.Labels, is.Assignees)
	}
	// A refusal of everything sent is the refusal as it came.
	_, err = f.tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldAssignees}, Item: adapters.Item{Assignees: []string{"not-a-collaborator"}}})
	if err == nil || strings.Contains(err.Error(), "other fields were written") {
		t.Errorf("an edit of the refused field alone: %v", err)
	}
}

// TestUpdateWithProjectStatusGoesOn: with the status on a Projects board,
// a refused assignee does not hold back the card's move either.
func TestUpdateWithProjectStatusGoesOn(t *testing.T) {
	f := newBoard(t, githubtest.Options{})
	res, err := f.tr.Create(t.Context(), adapters.Item{Title: "x", Status: "Todo"}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.tr.Update(t.Context(), res.Item.Ref, adapters.Patch{
		Fields: []string{adapters.FieldTitle, adapters.FieldAssignees, adapters.FieldStatus},
		Item:   adapters.Item{Title: "renamed", Assignees: []string{"not-a-collaborator"}, Status: "In Progress"},
	})
	if err == nil || !adapters.IsPermanent(err) || !strings.Contains(err.Error(), "GitHub refused assignees") {
		t.Fatalf("Update: %v, want a permanent error naming the refused assignees", err)
	}
	got, err := f.tr.Get(t.Context(), res.Item.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "renamed" || got.Status != "In Progress" {
		t.Errorf("issue %q on the board in %q, want renamed, In Progress", got.Title, got.Status)
	}
}
