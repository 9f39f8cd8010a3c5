package github

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
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

// TestUpdateWithoutPushAccess: GitHub answers 200 to an edit by a token
// without push access and silently drops its labels and assignees. The
// update writes the rest and fails naming them and the likely cause
// (Permanent): before, it returned the issue as if all were written.
func TestUpdateWithoutPushAccess(t *testing.T) {
	f := newFixture(t, githubtest.Options{NoPush: true})
	res, err := f.tr.Create(t.Context(), adapters.Item{Title: "x", Status: "open"}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.tr.Update(t.Context(), res.Item.Ref, adapters.Patch{
		Fields: []string{adapters.FieldTitle, adapters.FieldAssignees, adapters.FieldLabels},
		Item:   adapters.Item{Title: "renamed", Assignees: []string{"user-1"}, Labels: []string{"kept"}},
	})
	if err == nil || !adapters.IsPermanent(err) || !errors.Is(err, errOthersWritten) ||
		!strings.Contains(err.Error(), "without the assignees written") || !strings.Contains(err.Error(), "push access to "+githubtest.DefaultRepo) ||
		!strings.Contains(err.Error(), `creating label "kept"`) {
		t.Fatalf("Update: %v, want a permanent error naming the dropped assignees and the label GitHub would not make", err)
	}
	if is := f.fake.Issues(githubtest.DefaultRepo)[0]; is.Title != "renamed" {
		t.Errorf("title %q, want renamed", is.Title)
	}
	// With push access nothing is reported.
	g := newFixture(t, githubtest.Options{})
	res, err = g.tr.Create(t.Context(), adapters.Item{Title: "x", Labels: []string{"Bug"}}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.tr.Update(t.Context(), res.Item.Ref, adapters.Patch{
		Fields: []string{adapters.FieldAssignees, adapters.FieldLabels},
		Item:   adapters.Item{Assignees: []string{"user-1"}, Labels: []string{"bug", "docs"}},
	}); err != nil {
		t.Errorf("Update with push access: %v", err)
	}
}

// TestCreateWithoutPushAccessWarns: a create whose assignees GitHub
// silently dropped (no push access) makes the issue and says so in a
// warning naming the issue and the fields; a label GitHub will not make
// leaves the labels out, with a warning naming it, and does not hold
// back the issue. Before, nothing said why the assignees never arrived,
// and the refused label failed the whole create.
func TestCreateWithoutPushAccessWarns(t *testing.T) {
	var logs bytes.Buffer
	f := newFixture(t, githubtest.Options{NoPush: true}, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	res, err := f.tr.Create(t.Context(), adapters.Item{Title: "x", Labels: []string{"triaged"}, Assignees: []string{"user-1"}}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := logs.String()
	if !strings.Contains(got, "level=WARN") || !strings.Contains(got, "push access") ||
		!strings.Contains(got, "issue="+res.Item.Ref.ID) || !strings.Contains(got, "fields=assignees") {
		t.Errorf("logs %q, want a warning naming %s and its assignees", got, res.Item.Ref.ID)
	}
	if !strings.Contains(got, `creating label \"triaged\"`) || !strings.Contains(got, "HTTP 403") {
		t.Errorf("logs %q, want a warning naming the label GitHub would not make", got)
	}
}

// TestUpdateUnknownTypeWritesTheRest: a type the repository's owner
// does not have fails the update naming the owner's types, but the other
// fields of the edit are written: before, it held back the whole edit.
func TestUpdateUnknownTypeWritesTheRest(t *testing.T) {
	f := newFixture(t, githubtest.Options{IssueTypes: []string{"Task", "Epic"}}, func(o *Options) { o.IssueTypes = true })
	res, err := f.tr.Create(t.Context(), adapters.Item{Title: "x", Type: "Task"}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.tr.Update(t.Context(), res.Item.Ref, adapters.Patch{
		Fields: []string{adapters.FieldTitle, adapters.FieldType},
		Item:   adapters.Item{Title: "renamed", Type: "Bug"},
	})
	if err == nil || !adapters.IsPermanent(err) || !errors.Is(err, errOthersWritten) || !strings.Contains(err.Error(), `no issue type "Bug"`) {
		t.Fatalf("Update: %v, want a permanent error naming the missing type", err)
	}
	if is := f.fake.Issues(githubtest.DefaultRepo)[0]; is.Title != "renamed" || is.Type != "Task" {
		t.Errorf("issue %q of type %q, want renamed, Task", is.Title, is.Type)
	}
	// The type alone: the refusal as it was.
	_, err = f.tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldType}, Item: adapters.Item{Type: "Bug"}})
	if err == nil || errors.Is(err, errOthersWritten) || !strings.Contains(err.Error(), `no issue type "Bug"`) {
		t.Errorf("an edit of the type alone: %v", err)
	}
}

// TestClosedAsDuplicate: an issue closed as a duplicate (state_reason
// "duplicate", in GitHub's contract beside completed and not_planned)
// was not done: it reads as "not planned", as GitHub shows it (grey, not
// the purple of completed), and is left a duplicate when "not planned"
// is written to it. Before, it read as "closed", so its copy was marked
// done as completed work.
func TestClosedAsDuplicate(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	res, err := f.tr.Create(t.Context(), adapters.Item{Title: "again", Status: "open"}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := f.fake.Issues(githubtest.DefaultRepo)[0].Number
	if err := f.fake.EditIssue(githubtest.DefaultRepo, n, func(is *githubtest.Issue) { is.State, is.StateReason = "closed", "duplicate" }); err != nil {
		t.Fatal(err)
	}
	got, err := f.tr.Get(t.Context(), res.Item.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusNotPlanned || got.StatusCategory != adapters.CategoryDone {
		t.Errorf("status %q (%s), want %q (done)", got.Status, got.StatusCategory, StatusNotPlanned)
	}
	if _, err := f.tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: StatusNotPlanned}}); err != nil {
		t.Fatal(err)
	}
	if is := f.fake.Issues(githubtest.DefaultRepo)[0]; is.StateReason != "duplicate" {
		t.Errorf("state_reason %q after writing not planned, want duplicate kept", is.StateReason)
	}
}

// TestUpdateLabelGitHubWillNotMake: a label (or milestone) the
// repository lacks and GitHub will not create (403: the token may not
// manage labels) fails the update naming it, but the other fields of the
// edit are written: before, it held back the whole edit.
func TestUpdateLabelGitHubWillNotMake(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	res, err := f.tr.Create(t.Context(), adapters.Item{Title: "x", Status: "open"}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/labels", "/milestones"} {
		f.fake.Inject(githubtest.Fault{Method: http.MethodPost, Path: "/repos/" + githubtest.DefaultRepo + path, Status: http.StatusForbidden, Message: "Must have admin rights to Repository.", Times: 100})
	}
	_, err = f.tr.Update(t.Context(), res.Item.Ref, adapters.Patch{
		Fields: []string{adapters.FieldTitle, adapters.FieldLabels, FieldMilestone},
		Item:   adapters.Item{Title: "renamed", Labels: []string{"new-label"}, Fields: map[string]string{"milestone": "v9"}},
	})
	if err == nil || !adapters.IsPermanent(err) || !errors.Is(err, errOthersWritten) ||
		!strings.Contains(err.Error(), `creating label "new-label"`) || !strings.Contains(err.Error(), `creating milestone "v9"`) || !strings.Contains(err.Error(), "HTTP 403") {
		t.Fatalf("Update: %v, want a permanent error naming the label and the milestone GitHub would not make", err)
	}
	if is := f.fake.Issues(githubtest.DefaultRepo)[0]; is.Title != "renamed" {
		t.Errorf("title %q, want renamed", is.Title)
	}
}

// TestCreateWithAssigneeGitHubRefuses: a create naming a person GitHub
// will not assign (422 naming assignees: not a collaborator, left the
// organization) makes the issue without the assignee and warns, naming
// the field: before, the issue was never made. A refused title still
// fails the create.
func TestCreateWithAssigneeGitHubRefuses(t *testing.T) {
	var logs bytes.Buffer
	f := newFixture(t, githubtest.Options{}, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	res, err := f.tr.Create(t.Context(), adapters.Item{Title: "x", Labels: []string{"kept"}, Assignees: []string{"left-the-org"}}, adapters.CreateOptions{IdempotencyKey: "k1"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if res.Item.Title != "x" || len(res.Item.Labels) != 1 || len(res.Item.Assignees) != 0 || res.Item.SyncKey != "k1" {
		t.Errorf("created %+v, want x labelled kept, unassigned, with its key", res.Item)
	}
	if got := logs.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "assignees (invalid") {
		t.Errorf("logs %q, want a warning naming the refused assignees", got)
	}
	if _, err := f.tr.Create(t.Context(), adapters.Item{Title: " "}, adapters.CreateOptions{}); err == nil {
		t.Errorf("a create with a refused title succeeded")
	}
}

// TestTextsOverGitHubLimits: GitHub takes titles of at most 256
// characters and bodies of at most 65,536 (another tracker, or a task
// list of many children, can hold more). A body over the limit is left
// out of an edit whose other fields are written, and the error names it
// with GitHub's words; a title over it fails the create, naming it; a
// comment over it fails that comment alone.
func TestTextsOverGitHubLimits(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	res, err := f.tr.Create(t.Context(), adapters.Item{Title: "x", Status: "open"}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("b", githubtest.MaxBodyLen+1)
	_, err = f.tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldTitle, adapters.FieldBody}, Item: adapters.Item{Title: "renamed", Body: long}})
	if err == nil || !adapters.IsPermanent(err) || !strings.Contains(err.Error(), "body is too long (maximum is 65536 characters)") {
		t.Fatalf("Update: %v, want a permanent error naming the body", err)
	}
	if is := f.fake.Issues(githubtest.DefaultRepo)[0]; is.Title != "renamed" {
		t.Errorf("title %q, want renamed", is.Title)
	}
	if _, err := f.tr.Create(t.Context(), adapters.Item{Title: strings.Repeat("t", githubtest.MaxTitleLen+1)}, adapters.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "title is too long") {
		t.Errorf("Create with a long title: %v", err)
	}
	if _, err := f.tr.AddComment(t.Context(), res.Item.Ref, adapters.Comment{Body: long}, ""); err == nil || !adapters.IsPermanent(err) {
		t.Errorf("AddComment with a long body: %v, want a permanent refusal", err)
	}
	if _, err := f.tr.AddComment(t.Context(), res.Item.Ref, adapters.Comment{Body: "short"}, ""); err != nil {
		t.Errorf("AddComment after it: %v", err)
	}
}
