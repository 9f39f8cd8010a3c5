package jira_test

import (
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

// TestUpdateWritesWhatJiraTakes: an edit one of whose values Jira refuses
// (an assignee it does not know) still writes the other fields and moves
// the status, and fails naming the refused field with Jira's words, for
// good (Permanent): before, the one value held back every other field of
// the issue at every run.
func TestUpdateWritesWhatJiraTakes(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake, tr := newPair(t, fl)
			it := mustCreate(t, tr, adapters.Item{Title: "x"}, "")
			_, err := tr.Update(t.Context(), it.Ref, adapters.Patch{
				Fields: []string{adapters.FieldTitle, adapters.FieldAssignees, adapters.FieldLabels, adapters.FieldStatus},
				Item:   adapters.Item{Title: "renamed", Assignees: []string{"nobody-such"}, Labels: []string{"kept"}, Status: "In Progress"},
			})
			if err == nil || !adapters.IsPermanent(err) || !strings.Contains(err.Error(), "assignees (User 'nobody-such' does not exist.)") {
				t.Fatalf("Update: %v, want a permanent error naming the refused assignee", err)
			}
			got, _ := fake.Issue(it.Ref.ID)
			if got.Summary != "renamed" || len(got.Labels) != 1 || got.Status != "In Progress" {
				t.Errorf("the fields Jira takes were not written: summary %q, labels %v, status %q", got.Summary, got.Labels, got.Status)
			}
			if got.Assignee != "" {
				t.Errorf("assignee %q", got.Assignee)
			}
			// A refusal about everything sent is not retried.
			_, err = tr.Update(t.Context(), it.Ref, adapters.Patch{Fields: []string{adapters.FieldAssignees}, Item: adapters.Item{Assignees: []string{"nobody-such"}}})
			if err == nil || strings.Contains(err.Error(), "other fields were written") {
				t.Errorf("an edit of the refused field alone: %v", err)
			}
		})
	}
}
