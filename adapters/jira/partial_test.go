package jira_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
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

// TestFieldOffTheScreen: a project whose screens lack a field (a
// team-managed project without Priority) refuses any create naming it.
// The issue is made without it, and the adapter leaves the field out of
// later creates there (one bulk request again), saying so once: before,
// every issue with a priority failed to be copied, at every run.
func TestFieldOffTheScreen(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake := jiratest.New(t, jiratest.Options{Flavor: fl, WebhookSecret: "hook-secret", OffScreen: []string{"priority"}})
			var logs strings.Builder
			_, tr := newPair(t, fl, func(o *jira.Options) {
				o.URL = fake.URL
				o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			res, err := tr.Create(t.Context(), adapters.Item{Title: "one", Priority: "High"}, adapters.CreateOptions{IdempotencyKey: "k-0"})
			if err != nil || res.Item.Ref.ID == "" {
				t.Fatalf("Create naming a field off the screen: %v", err)
			}
			reqs := bulkReqs(4, "To Do")
			for i := range reqs {
				reqs[i].Item.Priority = "High"
			}
			reqs[0].Item.Type = "Bug" // another issue type: learnt on its own
			fake.ResetRequests()
			got, err := tr.CreateMany(t.Context(), reqs)
			if err != nil {
				t.Fatalf("CreateMany naming a field off the screen: %v", err)
			}
			for i, r := range got {
				if r.Item.Ref.ID == "" {
					t.Errorf("request %d not made", i)
				}
			}
			if n := len(fake.Issues()); n != 5 {
				t.Errorf("%d issues, want 5", n)
			}
			if c := strings.Count(logs.String(), "not on the project's screen"); c < 1 || c > 2 {
				t.Errorf("%d warnings, want one a project and issue type:\n%s", c, logs.String())
			}
			// The Bug was refused once and made alone; the stories went in
			// one bulk create.
			n := 0
			for _, r := range fake.Requests() {
				if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/issue/bulk") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d bulk creates, want 1", n)
			}
		})
	}
}
