package github

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

func ghRef(id string) *adapters.Ref {
	repo, _, _ := strings.Cut(id, "#")
	return &adapters.Ref{Tracker: "gh", Project: repo, ID: id, Key: id}
}

// TestSubIssueParentIsRead: a sub-issue a person links shows as Parent in
// a listing, at no extra request, and moves the item's version.
func TestSubIssueParentIsRead(t *testing.T) {
	f := newFixture(t, githubtest.Options{Repos: []string{"acme/app", "acme/web"}})
	ctx := t.Context()
	f.fake.CreateIssue("acme/app", githubtest.Issue{Title: "epic"})
	f.fake.CreateIssue("acme/web", githubtest.Issue{Title: "child"})
	items, cursor := listAll(t, f.tr, "acme/app acme/web", "")
	before := items[1]
	if before.Parent != nil {
		t.Fatalf("child has parent %v before any link", before.Parent)
	}
	f.fake.Advance(2e9)
	if err := f.fake.SetParent("acme/web", 1, "acme/app#1"); err != nil {
		t.Fatal(err)
	}
	f.fake.ResetLog()
	items, _ = listAll(t, f.tr, "acme/app acme/web", cursor)
	if n := len(f.fake.Requests()); n != 2 {
		t.Errorf("listing two repositories took %d requests, want 2 (the parent comes with the issue)", n)
	}
	var child adapters.Item
	for _, it := range items {
		if it.Ref.ID == "acme/web#1" {
			child = it
		}
	}
	if got := adapters.FieldValue(child, adapters.FieldParent); got != "gh:acme/app#1" {
		t.Errorf("parent of acme/web#1 = %q, want gh:acme/app#1 (listed %d items)", got, len(items))
	}
	if child.Version == before.Version {
		t.Errorf("version %s did not move when the parent was set", child.Version)
	}
	got, err := f.tr.Get(ctx, adapters.Ref{Tracker: "gh", ID: "acme/web#1"})
	if err != nil || adapters.FieldValue(got, adapters.FieldParent) != "gh:acme/app#1" {
		t.Errorf("Get: parent %v, err %v", got.Parent, err)
	}
}

// TestSubIssueParentIsWritten: setting, moving and clearing Parent go
// through the sub-issue endpoints with the child's id; writing the
// parent it has writes nothing.
func TestSubIssueParentIsWritten(t *testing.T) {
	f := newFixture(t, githubtest.Options{Repos: []string{"acme/app", "acme/web"}})
	ctx := t.Context()
	e1 := f.fake.CreateIssue("acme/app", githubtest.Issue{Title: "epic one"})
	e2 := f.fake.CreateIssue("acme/web", githubtest.Issue{Title: "epic two"})
	child, err := f.tr.Create(ctx, adapters.Item{Title: "child", Parent: ghRef("acme/app#1")}, adapters.CreateOptions{IdempotencyKey: "k1", Scope: "acme/app"})
	if err != nil {
		t.Fatal(err)
	}
	if got := adapters.FieldValue(child.Item, adapters.FieldParent); got != "gh:acme/app#1" {
		t.Errorf("created with parent %q, want gh:acme/app#1", got)
	}
	if subs := f.fake.SubIssues("acme/app", e1.Number); len(subs) != 1 || issueID(subs[0].Repo, subs[0].Number) != child.Item.Ref.ID {
		t.Errorf("sub-issues of acme/app#1: %+v", subs)
	}
	update := func(parent *adapters.Ref) adapters.Item {
		t.Helper()
		it, err := f.tr.Update(ctx, child.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldParent}, Item: adapters.Item{Parent: parent}})
		if err != nil {
			t.Fatalf("Update parent to %v: %v", parent, err)
		}
		return it
	}
	// Moving: one POST with replace_parent.
	f.fake.ResetLog()
	if got := update(ghRef("acme/web#1")); adapters.FieldValue(got, adapters.FieldParent) != "gh:acme/web#1" {
		t.Errorf("moved: parent %v", got.Parent)
	}
	if subs := f.fake.SubIssues("acme/web", e2.Number); len(subs) != 1 {
		t.Errorf("acme/web#1 has %d sub-issues after the move, want 1", len(subs))
	}
	if subs := f.fake.SubIssues("acme/app", e1.Number); len(subs) != 0 {
		t.Errorf("acme/app#1 kept %d sub-issues after the move", len(subs))
	}
	writes := 0
	for _, r := range f.fake.Requests() {
		if r.Method != http.MethodGet {
			writes++
		}
	}
	if writes != 1 {
		t.Errorf("moving a sub-issue took %d writes, want 1", writes)
	}
	// The same parent again: no write.
	f.fake.ResetLog()
	update(ghRef("acme/web#1"))
	for _, r := range f.fake.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("writing the parent an issue has sent %s %s", r.Method, r.Path)
		}
	}
	// Clearing: DELETE .../sub_issue.
	if got := update(nil); got.Parent != nil {
		t.Errorf("cleared: parent %v", got.Parent)
	}
	if subs := f.fake.SubIssues("acme/web", e2.Number); len(subs) != 0 {
		t.Errorf("acme/web#1 kept %d sub-issues after clearing", len(subs))
	}
}

// TestSubIssueCreateFinishesParent: a create whose sub-issue link failed
// is retried with the same key; the retry finds the issue and links it.
func TestSubIssueCreateFinishesParent(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	ctx := t.Context()
	f.fake.CreateIssue(githubtest.DefaultRepo, githubtest.Issue{Title: "epic"})
	f.fake.Inject(githubtest.Fault{Method: http.MethodPost, Path: "/repos/acme/app/issues/1/sub_issues", Status: http.StatusForbidden, Message: "Resource not accessible by integration"})
	it := adapters.Item{Title: "child", Parent: ghRef("acme/app#1")}
	if _, err := f.tr.Create(ctx, it, adapters.CreateOptions{IdempotencyKey: "k"}); err == nil {
		t.Fatal("the create whose link was refused succeeded")
	}
	res, err := f.tr.Create(ctx, it, adapters.CreateOptions{IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Existed || adapters.FieldValue(res.Item, adapters.FieldParent) != "gh:acme/app#1" {
		t.Errorf("retry: existed %v, parent %v; want the first issue, linked", res.Existed, res.Item.Parent)
	}
	if n := len(f.fake.Issues(githubtest.DefaultRepo)); n != 2 {
		t.Errorf("%d issues, want 2", n)
	}
}

// TestSubIssueCap: a parent holding 100 sub-issues refuses one more; the
// error names the parent and the cap and is permanent.
func TestSubIssueCap(t *testing.T) {
	f := newFixture(t, githubtest.Options{ContentPerMinute: -1, ContentPerHour: -1})
	ctx := t.Context()
	f.fake.CreateIssue(githubtest.DefaultRepo, githubtest.Issue{Title: "epic"})
	for range MaxSubIssues {
		is := f.fake.CreateIssue(githubtest.DefaultRepo, githubtest.Issue{Title: "sub"})
		if err := f.fake.SetParent(githubtest.DefaultRepo, is.Number, "acme/app#1"); err != nil {
			t.Fatal(err)
		}
	}
	extra := f.fake.CreateIssue(githubtest.DefaultRepo, githubtest.Issue{Title: "one too many"})
	_, err := f.tr.Update(ctx, adapters.Ref{Tracker: "gh", ID: issueID(githubtest.DefaultRepo, extra.Number)},
		adapters.Patch{Fields: []string{adapters.FieldParent}, Item: adapters.Item{Parent: ghRef("acme/app#1")}})
	if err == nil {
		t.Fatal("the 101st sub-issue was accepted")
	}
	if !strings.Contains(err.Error(), "acme/app#1 already has 100 sub-issues") || !adapters.IsPermanent(err) {
		t.Errorf("error %q (permanent %v), want a permanent one naming acme/app#1 and the cap", err, adapters.IsPermanent(err))
	}
}

// TestSubIssueRefusedParents: a parent of another owner or tracker is
// refused before any write.
func TestSubIssueRefusedParents(t *testing.T) {
	f := newFixture(t, githubtest.Options{Repos: []string{"acme/app", "other/lib"}})
	ctx := t.Context()
	f.fake.CreateIssue("other/lib", githubtest.Issue{Title: "elsewhere"})
	is := f.fake.CreateIssue("acme/app", githubtest.Issue{Title: "child"})
	for _, p := range []*adapters.Ref{ghRef("other/lib#1"), {Tracker: "jira", ID: "10001", Key: "PLAT-1"}, ghRef("acme/app#1")} {
		f.fake.ResetLog()
		_, err := f.tr.Update(ctx, adapters.Ref{Tracker: "gh", ID: issueID("acme/app", is.Number)},
			adapters.Patch{Fields: []string{adapters.FieldParent}, Item: adapters.Item{Parent: p}})
		if !errors.Is(err, adapters.ErrInvalid) || !adapters.IsPermanent(err) {
			t.Errorf("parent %s: error %v, want a permanent ErrInvalid", p, err)
		}
		for _, r := range f.fake.Requests() {
			if r.Method != http.MethodGet {
				t.Errorf("parent %s: sent %s %s", p, r.Method, r.Path)
			}
		}
	}
}

// TestSubIssuesList: SubIssues lists a parent's sub-issues in order.
func TestSubIssuesList(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	f.fake.CreateIssue(githubtest.DefaultRepo, githubtest.Issue{Title: "epic"})
	for _, title := range []string{"b", "a"} {
		is := f.fake.CreateIssue(githubtest.DefaultRepo, githubtest.Issue{Title: title})
		if err := f.fake.SetParent(githubtest.DefaultRepo, is.Number, "acme/app#1"); err != nil {
			t.Fatal(err)
		}
	}
	subs, err := f.tr.SubIssues(t.Context(), *ghRef("acme/app#1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 2 || subs[0].Title != "b" || subs[1].Title != "a" || subs[0].Parent == nil {
		t.Errorf("sub-issues %+v, want b then a, with their parent", subs)
	}
}

// TestSubIssueWebhook: the sub_issues deliveries of a person linking or
// unlinking a sub-issue, from the parent's repository (sub_issue_added,
// sub_issue_removed, naming sub_issue_repo) and from the sub-issue's
// (parent_issue_added, parent_issue_removed, which carry no
// sub_issue_repo), each name the sub-issue to read again, across
// repositories too.
func TestSubIssueWebhook(t *testing.T) {
	const secret = "hook-secret"
	f := newFixture(t, githubtest.Options{Repos: []string{"acme/app", "acme/web"}}, func(o *Options) { o.WebhookSecret = secret })
	recv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(recv.Close)
	f.fake.SetWebhook(recv.URL, secret, recv.Client())
	f.fake.CreateIssue("acme/app", githubtest.Issue{Title: "epic"})
	f.fake.CreateIssue("acme/web", githubtest.Issue{Title: "child"})
	for _, parent := range []string{"acme/app#1", ""} {
		before := len(f.fake.Deliveries())
		if err := f.fake.SetParent("acme/web", 1, parent); err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, d := range f.fake.Deliveries()[before:] {
			if d.Event != "sub_issues" {
				t.Fatalf("delivery %s, want sub_issues", d.Event)
			}
			actions = append(actions, d.Action)
			evs, err := f.tr.DecodeWebhook(d.Header, d.Body)
			if err != nil || len(evs) != 1 || evs[0].Ref.ID != "acme/web#1" || evs[0].Ref.Project != "acme/web" || evs[0].Type != adapters.EventUpserted {
				t.Errorf("%s: events %+v, err %v; want acme/web#1 upserted", d.Action, evs, err)
			}
		}
		verb := "added"
		if parent == "" {
			verb = "removed"
		}
		if want := []string{"sub_issue_" + verb, "parent_issue_" + verb}; !slices.Equal(actions, want) {
			t.Errorf("deliveries %v, want %v", actions, want)
		}
	}
	// A parent_issue_added payload whose sub-issue has no repository_url
	// (not GitHub's, but tolerated): the delivery's repository is the
	// sub-issue's.
	body := []byte(`{"action":"parent_issue_added","sub_issue_id":9,"sub_issue":{"number":1,"html_url":"https://github.com/acme/web/issues/1"},"repository":{"full_name":"acme/web"},"sender":{"login":"octocat"}}`)
	h := http.Header{"X-Github-Event": {"sub_issues"}, "X-Github-Delivery": {"d-1"}, "X-Hub-Signature-256": {githubtest.Sign(secret, body)}}
	if evs, err := f.tr.DecodeWebhook(h, body); err != nil || len(evs) != 1 || evs[0].Ref.ID != "acme/web#1" {
		t.Errorf("parent_issue_added without repository_url: %+v %v", evs, err)
	}
}
