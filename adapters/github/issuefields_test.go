package github

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

// newFieldStatus is a fixture whose status is the acme organization's
// issue field Status (and which has another field, Priority).
func newFieldStatus(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, githubtest.Options{}, func(o *Options) { o.IssueField = &IssueFieldOptions{} })
	f.fake.AddIssueField("acme", "Priority", "single_select", "High", "Low")
	f.fake.AddIssueField("acme", "Status", "single_select", boardOptions...)
	return f
}

// TestIssueFieldStatusConformance: the suite with status in an issue
// field; a person's status edit sets the field in the UI.
func TestIssueFieldStatusConformance(t *testing.T) {
	runStatusConformance(t, newFieldStatus, func(f *fixture, ref adapters.Ref, status string) error {
		repo, n, err := parseRef(ref)
		if err != nil {
			return err
		}
		return f.fake.SetIssueFieldValue(repo, n, "Status", status)
	})
}

// TestIssueFieldStatusReadWrite: statuses are the field's options; a
// status write is one POST of the field's value (and the issue read
// back), no PATCH; a create sets the field; listings carry the values at
// no extra cost, and a person's change of the field is listed.
func TestIssueFieldStatusReadWrite(t *testing.T) {
	f := newFieldStatus(t)
	ctx := t.Context()
	res, err := f.tr.Create(ctx, adapters.Item{Title: "card", Status: "In Progress"}, adapters.CreateOptions{IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	repo, n, _ := parseRef(res.Item.Ref)
	if res.Item.Status != "In Progress" || res.Item.StatusCategory != adapters.CategoryInProgress {
		t.Errorf("created with status %q (%s)", res.Item.Status, res.Item.StatusCategory)
	}
	if v := f.fake.IssueFieldValue(repo, n, "Status"); v != "In Progress" {
		t.Errorf("the field holds %q, want In Progress", v)
	}
	if is, _ := f.fake.Issue(repo, n); is.State != "open" {
		t.Errorf("created %s", is.State)
	}
	var names []string
	for _, s := range f.tr.Capabilities().Statuses {
		names = append(names, s.Name+"="+string(s.Category))
	}
	if got := strings.Join(names, ","); got != "Todo=todo,In Progress=in_progress,Done=done" {
		t.Errorf("statuses %s", got)
	}
	f.fake.ResetLog()
	it, err := f.tr.Update(ctx, res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "Done"}, IfVersion: res.Item.Version})
	if err != nil {
		t.Fatal(err)
	}
	if it.Status != "Done" || it.StatusCategory != adapters.CategoryDone || it.Version == res.Item.Version {
		t.Errorf("after the update: %q (%s), version %s (was %s)", it.Status, it.StatusCategory, it.Version, res.Item.Version)
	}
	if v := f.fake.IssueFieldValue(repo, n, "Status"); v != "Done" {
		t.Errorf("the field holds %q, want Done", v)
	}
	var sent []string
	for _, r := range f.fake.Requests() {
		sent = append(sent, r.Method+" "+strings.TrimPrefix(r.Path, "/api/v3/repos/"+repo))
	}
	// The version check, the write, the read-back; the field's id was
	// read at the create and is cached.
	if want := "GET /issues/1,POST /issues/1/issue-field-values,GET /issues/1"; strings.Join(sent, ",") != want {
		t.Errorf("a status change sent %s, want %s", strings.Join(sent, ","), want)
	}
	if is, _ := f.fake.Issue(repo, n); is.State != "open" {
		t.Errorf("a Done in the field closed the issue: %s", is.State)
	}
	// A stale version is refused before anything is written.
	_, err = f.tr.Update(ctx, res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "Todo"}, IfVersion: res.Item.Version})
	if !errors.Is(err, adapters.ErrConflict) {
		t.Errorf("stale version: %v, want ErrConflict", err)
	}
	// An option the field does not have.
	_, err = f.tr.Update(ctx, res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "Shipped"}})
	if !errors.Is(err, adapters.ErrInvalid) || !strings.Contains(err.Error(), `"Shipped"`) || !strings.Contains(err.Error(), "Todo, In Progress, Done") {
		t.Errorf("unknown option: %v", err)
	}
	// An issue with no value reads as its state's first option.
	is := f.fake.CreateIssue(githubtest.DefaultRepo, githubtest.Issue{Title: "no value", State: "closed"})
	got, err := f.tr.Get(ctx, adapters.Ref{Tracker: "gh", ID: issueID(githubtest.DefaultRepo, is.Number)})
	if err != nil || got.Status != "Done" {
		t.Errorf("closed issue without a value: %q %v, want Done", got.Status, err)
	}

	// Listing: the values come with the issues; a person setting the field
	// moves the issue, and the next poll lists it with its new status.
	_, cursor := listAll(t, f.tr, githubtest.DefaultRepo, "")
	f.fake.Advance(time.Minute)
	if err := f.fake.SetIssueFieldValue(repo, n, "Status", "Todo"); err != nil {
		t.Fatal(err)
	}
	f.fake.ResetLog()
	items, _ := listAll(t, f.tr, githubtest.DefaultRepo, cursor)
	if len(items) != 1 || items[0].Ref.ID != res.Item.Ref.ID || items[0].Status != "Todo" || items[0].StatusCategory != adapters.CategoryTodo {
		t.Fatalf("after the field was set: %+v", items)
	}
	if reqs := f.fake.Requests(); len(reqs) != 1 || reqs[0].Method != http.MethodGet {
		t.Errorf("the poll took %d requests, want 1", len(reqs))
	}
	// Archive closes the issue and sets the first done option.
	arch, err := f.tr.Archive(ctx, res.Item.Ref)
	if err != nil || arch.Status != "Done" {
		t.Fatalf("archive: %q %v", arch.Status, err)
	}
	if is, _ := f.fake.Issue(repo, n); is.State != "closed" || f.fake.IssueFieldValue(repo, n, "Status") != "Done" {
		t.Errorf("archived: %s, field %q", is.State, f.fake.IssueFieldValue(repo, n, "Status"))
	}
}

// TestIssueFieldMissing: an organization without the field, or with a
// field of that name that is not a single select, is a clear permanent
// error naming both.
func TestIssueFieldMissing(t *testing.T) {
	f := newFixture(t, githubtest.Options{}, func(o *Options) { o.IssueField = &IssueFieldOptions{Name: "Stage"} })
	f.fake.AddIssueField("acme", "Status", "single_select", boardOptions...)
	f.fake.AddIssueField("acme", "Notes", "text")
	_, err := f.tr.Create(t.Context(), adapters.Item{Title: "x", Status: "Todo"}, adapters.CreateOptions{})
	if !errors.Is(err, adapters.ErrInvalid) || !adapters.IsPermanent(err) || !strings.Contains(err.Error(), `acme has no issue field "Stage"`) || !strings.Contains(err.Error(), "Status, Notes") {
		t.Errorf("missing field: %v", err)
	}
	if err := f.tr.Check(t.Context()); err == nil || !strings.Contains(err.Error(), `no issue field "Stage"`) {
		t.Errorf("Check: %v, want the missing field named", err)
	}
	if n := len(f.fake.Issues(githubtest.DefaultRepo)); n != 0 {
		t.Errorf("a create with a missing status field made %d issues", n)
	}
	f.tr.ifields.opts.Name = "Notes"
	_, err = f.tr.Create(t.Context(), adapters.Item{Title: "y", Status: "Todo"}, adapters.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), `"Notes" of acme is a text field`) {
		t.Errorf("text field: %v", err)
	}
}

// TestIssueFieldRegistry: status_source issue-field and issue_field in
// the tracker's config.
func TestIssueFieldRegistry(t *testing.T) {
	reg, base := registryFixture(t)
	tr, err := reg.Open(t.Context(), "acme-gh", "github", base(map[string]any{"status_source": "issue-field",
		"issue_field": map[string]any{"name": "Stage", "categories": map[string]any{"Shipped": "done"}}}), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if o := tr.(*Tracker).opts.IssueField; o == nil || o.Name != "Stage" || len(o.Statuses) != 1 || o.Statuses[0].Category != adapters.CategoryDone {
		t.Errorf("options %+v", o)
	}
	if _, err := reg.Open(t.Context(), "acme-gh", "github", base(map[string]any{"status_source": "issue-field"}), nil, ""); err != nil {
		t.Errorf("issue-field with the default name: %v", err)
	}
	for name, c := range map[string]struct {
		raw  map[string]any
		want string
	}{
		"field, wrong source": {map[string]any{"status_source": "labels", "issue_field": map[string]any{"name": "Stage"}}, "acme-gh.issue_field: only used with status_source: issue-field"},
		"not a mapping":       {map[string]any{"status_source": "issue-field", "issue_field": "Stage"}, "acme-gh.issue_field: want a mapping"},
		"empty name":          {map[string]any{"status_source": "issue-field", "issue_field": map[string]any{"name": ""}}, "acme-gh.issue_field.name"},
		"bad category":        {map[string]any{"status_source": "issue-field", "issue_field": map[string]any{"categories": map[string]any{"Done": "finished"}}}, "acme-gh.issue_field.categories.Done"},
		"unknown key":         {map[string]any{"status_source": "issue-field", "issue_field": map[string]any{"owner": "acme"}}, "acme-gh.issue_field.owner"},
		"unknown source":      {map[string]any{"status_source": "fields"}, "is not state, labels, project or issue-field"},
	} {
		_, err := reg.Open(t.Context(), "acme-gh", "github", base(c.raw), nil, "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, c.want)
		}
	}
}
