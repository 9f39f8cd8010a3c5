package github

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/github/githubtest/githubcontract"
)

// TestWebhookPayloadsFitContract: every kind of delivery the fake sends
// fits the payload schema GitHub's description gives its event and action
// (webhook-<event>-<action>), and each is decoded by the adapter without
// error. The fixture checks every other test's deliveries the same way;
// this test makes sure each kind is sent at least once.
func TestWebhookPayloadsFitContract(t *testing.T) {
	if !githubcontract.Available() {
		t.Skipf("GitHub contract not found at %s", githubcontract.Path())
	}
	const secret = "hook-secret"
	f := newFixture(t, githubtest.Options{Repos: []string{"acme/app", "acme/web"}, IssueTypes: []string{"Bug", "Epic"}},
		func(o *Options) { o.WebhookSecret = secret })
	recv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(recv.Close)
	f.fake.SetWebhook(recv.URL, secret, recv.Client())
	fk := f.fake
	m := fk.AddMilestone("acme/app", "v1")
	fk.CreateIssue("acme/app", githubtest.Issue{Title: "epic"})
	fk.CreateIssue("acme/app", githubtest.Issue{Title: "task"})
	fk.CreateIssue("acme/web", githubtest.Issue{Title: "child"})
	edit := func(mutate func(*githubtest.Issue)) {
		t.Helper()
		if err := fk.EditIssue("acme/app", 2, mutate); err != nil {
			t.Fatal(err)
		}
	}
	edit(func(is *githubtest.Issue) { is.Title, is.Body = "task, renamed", "now with a body" })
	edit(func(is *githubtest.Issue) { is.Labels = []string{"bug"} })
	edit(func(is *githubtest.Issue) { is.Labels = nil })
	edit(func(is *githubtest.Issue) { is.Assignees = []string{"user-1"} })
	edit(func(is *githubtest.Issue) { is.Assignees = nil })
	edit(func(is *githubtest.Issue) { is.Milestone = m.Number })
	edit(func(is *githubtest.Issue) { is.Milestone = 0 })
	edit(func(is *githubtest.Issue) { is.Type = "Bug" })
	edit(func(is *githubtest.Issue) { is.Type = "" })
	edit(func(is *githubtest.Issue) { is.State, is.StateReason = "closed", "completed" })
	edit(func(is *githubtest.Issue) { is.State, is.StateReason = "open", "" })
	c, err := fk.AddComment("acme/app", 2, "user-1", "a comment")
	if err != nil {
		t.Fatal(err)
	}
	if err := fk.EditComment("acme/app", c.ID, "an edited comment"); err != nil {
		t.Fatal(err)
	}
	for _, parent := range []string{"acme/app#1", ""} {
		if err := fk.SetParent("acme/web", 1, parent); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fk.TransferIssue("acme/app", 2, "acme/web"); err != nil {
		t.Fatal(err)
	}
	if err := fk.DeleteIssue("acme/app", 1); err != nil {
		t.Fatal(err)
	}

	var kinds []string
	for _, d := range fk.Deliveries() {
		kind := githubcontract.WebhookSchemaName(d.Event, d.Action)
		if !slices.Contains(kinds, kind) {
			kinds = append(kinds, kind)
		}
		for _, p := range githubcontract.CheckWebhook(t, d.Event, d.Action, d.Body) {
			t.Errorf("%s", p)
		}
		if _, err := f.tr.DecodeWebhook(d.Header, d.Body); err != nil {
			t.Errorf("%s: the adapter could not decode it: %v", kind, err)
		}
	}
	for _, want := range []string{"webhook-ping", "webhook-issues-opened", "webhook-issues-edited", "webhook-issues-labeled",
		"webhook-issues-unlabeled", "webhook-issues-assigned", "webhook-issues-unassigned", "webhook-issues-milestoned",
		"webhook-issues-demilestoned", "webhook-issues-typed", "webhook-issues-untyped", "webhook-issues-closed",
		"webhook-issues-reopened", "webhook-issue-comment-created", "webhook-issue-comment-edited",
		"webhook-sub-issues-sub-issue-added", "webhook-sub-issues-parent-issue-added", "webhook-sub-issues-sub-issue-removed",
		"webhook-sub-issues-parent-issue-removed", "webhook-issues-transferred", "webhook-issues-deleted"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("no %s delivery was sent (sent: %v)", want, kinds)
		}
	}
}
