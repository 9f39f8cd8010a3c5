package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	tsync "github.com/tracksync/tracksync/sync"
)

// TestLabelsDroppedWithoutPushAccess: GitHub answers 200 to an edit of
// assignees by a token without push access to the repository (a
// triager's, a reader's) and silently leaves them out; it refuses to
// make a new label (403). The run must say so, naming the fields and the
// cause, while the rename in the same edit lands: before, the refused
// label held back the whole edit, and without it the run counted the
// update as done, reported nothing, and the assignee never reached
// GitHub.
func TestLabelsDroppedWithoutPushAccess(t *testing.T) {
	fields := map[string]config.FieldConfig{
		"title":     {Direction: "both"},
		"labels":    {Direction: "both"},
		"assignees": {Direction: "both"},
	}
	p := newPair(t, githubtest.Options{NoPush: true}, github.Options{}, fields)
	cf := flowtest.Flow("project = "+jiraProj, ghRepo, fields)
	cf.Name, cf.Schedule = "pair", ""
	jusers := p.jfake.UserIDs()
	p.flow = flowtest.Compile(t, cf, flowtest.Users(jusers, ghUsers), "jira", p.a, "github", p.b)
	p.create(adapters.Item{Kind: adapters.KindIssue, Title: "jira task"})
	p.sync(false)
	key := flowtest.JiraIssue(t, p.jfake, "jira task").Key
	if err := p.jfake.EditIssue(key, "ana", func(is *jiratest.Issue) {
		is.Labels, is.Summary, is.Assignee = append(is.Labels, "triaged"), "renamed", jusers[1]
	}); err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		p.advance(time.Minute)
		res, err := p.eng.Sync(p.ctx, p.flow, tsync.RunOptions{})
		if res == nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if run == 1 && (len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "without the assignees written") ||
			!strings.Contains(res.Errors[0].Error(), "push access") || !strings.Contains(res.Errors[0].Error(), `creating label "triaged"`)) {
			t.Errorf("run %d: errors %v, want the refused label and the dropped assignee reported", run, res.Errors)
		}
		if run == 2 && res.Run.Counts.Updated != 0 {
			t.Errorf("run 2 counted %d updates, want none", res.Run.Counts.Updated)
		}
		if _, ok := p.gfake.IssueTitled(ghRepo, "renamed"); !ok {
			t.Errorf("run %d: the rename did not reach GitHub", run)
		}
		if got := flowtest.JiraIssue(t, p.jfake, "renamed").Labels; len(got) != 1 || got[0] != "triaged" {
			t.Errorf("run %d: Jira labels %v, want [triaged] kept", run, got)
		}
	}
}

// TestMissingIssueTypeHoldsBackNothing: the type map names a GitHub
// issue type the organization does not have (deleted there, or never
// made). A Jira issue made that type and renamed in the same edit gets
// its rename on GitHub, and the run reports the type alone, naming the
// types the organization has: before, the unknown type failed the whole
// edit, at every change of the issue.
func TestMissingIssueTypeHoldsBackNothing(t *testing.T) {
	p := newPair(t, githubtest.Options{IssueTypes: []string{"Task", "Feature", "Epic"}}, github.Options{IssueTypes: true},
		map[string]config.FieldConfig{
			"title": {Direction: "both"},
			"type": {Direction: "both", Map: []config.ValuePair{
				{A: "Story", B: "Feature"}, {A: "Bug", B: "Bug"}, {A: "Task", B: "Task"}, {A: "Epic", B: "Epic"}}},
		})
	p.create(adapters.Item{Kind: adapters.KindIssue, Type: "Task", Title: "a task"})
	p.sync(false)
	key := flowtest.JiraIssue(t, p.jfake, "a task").Key
	if err := p.jfake.EditIssue(key, "", func(is *jiratest.Issue) { is.Type, is.Summary = "Bug", "a bug now" }); err != nil {
		t.Fatal(err)
	}
	res := p.sync(true)
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), `no issue type "Bug"`) {
		t.Errorf("errors %v, want the missing type alone", res.Errors)
	}
	gh, ok := p.gfake.IssueTitled(ghRepo, "a bug now")
	if !ok {
		t.Fatalf("the rename did not reach GitHub: %+v", p.gfake.Issues(ghRepo))
	}
	if gh.Type != "Task" {
		t.Errorf("GitHub type %q, want Task kept", gh.Type)
	}
	if got := flowtest.JiraIssue(t, p.jfake, "a bug now").Type; got != "Bug" {
		t.Errorf("Jira type %q, want Bug kept", got)
	}
}

// TestLoginsInAnotherCase: GitHub logins are case-insensitive (assigning
// GH-ANA assigns gh-ana, and the answer spells it gh-ana). A users table
// spelling them in another case copies assignees both ways and settles:
// no write at a run with nothing new.
func TestLoginsInAnotherCase(t *testing.T) {
	fields := map[string]config.FieldConfig{"title": {Direction: "both"}, "assignees": {Direction: "both"}}
	p := newPair(t, githubtest.Options{}, github.Options{}, fields)
	cf := flowtest.Flow("project = "+jiraProj, ghRepo, fields)
	cf.Name, cf.Schedule = "pair", ""
	jusers := p.jfake.UserIDs()
	var upper []string
	for _, u := range ghUsers {
		upper = append(upper, strings.ToUpper(u))
	}
	p.flow = flowtest.Compile(t, cf, flowtest.Users(jusers, upper), "jira", p.a, "github", p.b)
	p.create(adapters.Item{Kind: adapters.KindIssue, Title: "t", Assignees: []string{jusers[0]}})
	p.sync(false)
	if err := p.jfake.EditIssue(p.jfake.Issues()[0].Key, "", func(is *jiratest.Issue) { is.Assignee = jusers[1] }); err != nil {
		t.Fatal(err)
	}
	p.sync(false)
	if got := flowtest.GitHubIssue(t, p.gfake, ghRepo, "t").Assignees; len(got) != 1 || got[0] != ghUsers[1] {
		t.Errorf("GitHub assignees %v, want [%s]", got, ghUsers[1])
	}
	num := flowtest.GitHubIssue(t, p.gfake, ghRepo, "t").Number
	if err := p.gfake.EditIssue(ghRepo, num, func(x *githubtest.Issue) { x.Assignees = []string{ghUsers[2]} }); err != nil {
		t.Fatal(err)
	}
	p.sync(false)
	if got := p.jfake.Issues()[0].Assignee; got != jusers[2] {
		t.Errorf("Jira assignee %q, want %q", got, jusers[2])
	}
	if res := p.sync(false); res.Run.Counts.Updated+res.Run.Counts.Created != 0 {
		t.Errorf("a run with nothing new wrote: %+v", res.Run.Counts)
	}
}

// TestCopyMadeWithoutRefusedAssignee: the users table maps a Jira person
// to a GitHub login that cannot be assigned in the repository (not a
// collaborator; left the organization). A Jira issue assigned to them is
// still copied, unassigned on GitHub, and Jira keeps its assignee; a
// later change to someone GitHub takes reaches it: before, GitHub's 422
// failed the create and the issue was never copied.
func TestCopyMadeWithoutRefusedAssignee(t *testing.T) {
	fields := map[string]config.FieldConfig{"title": {Direction: "both"}, "assignees": {Direction: "both"}}
	p := newPair(t, githubtest.Options{}, github.Options{}, fields)
	cf := flowtest.Flow("project = "+jiraProj, ghRepo, fields)
	cf.Name, cf.Schedule = "pair", ""
	jusers := p.jfake.UserIDs()
	p.flow = flowtest.Compile(t, cf, flowtest.Users(jusers, []string{ghUsers[0], "left-the-org", ghUsers[2]}), "jira", p.a, "github", p.b)
	p.create(adapters.Item{Kind: adapters.KindIssue, Title: "theirs", Assignees: []string{jusers[1]}})
	p.sync(false)
	if got := flowtest.GitHubIssue(t, p.gfake, ghRepo, "theirs").Assignees; len(got) != 0 {
		t.Errorf("GitHub copy assigned to %v, want nobody", got)
	}
	if res := p.sync(false); res.Run.Counts.Updated+res.Run.Counts.Created != 0 {
		t.Errorf("a run with nothing new wrote: %+v", res.Run.Counts)
	}
	if got := flowtest.JiraIssue(t, p.jfake, "theirs").Assignee; got != jusers[1] {
		t.Errorf("Jira assignee %q, want %q kept", got, jusers[1])
	}
	if err := p.jfake.EditIssue(flowtest.JiraIssue(t, p.jfake, "theirs").Key, "", func(is *jiratest.Issue) { is.Assignee = jusers[2] }); err != nil {
		t.Fatal(err)
	}
	p.sync(false)
	if got := flowtest.GitHubIssue(t, p.gfake, ghRepo, "theirs").Assignees; len(got) != 1 || got[0] != ghUsers[2] {
		t.Errorf("GitHub assignees %v after Jira's change, want [%s]", got, ghUsers[2])
	}
}
