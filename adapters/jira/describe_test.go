package jira_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

// TestDescribe: statuses with categories and the workflow's transitions,
// custom fields with ids and types, issue types, labels and assignable
// users, all read through endpoints checked against the contract.
func TestDescribe(t *testing.T) {
	router := jiraRouter(t)
	fake, tr := newPair(t, jiratest.Cloud)
	ctx := t.Context()
	if _, err := tr.Create(ctx, adapters.Item{Kind: adapters.KindIssue, Title: "x", Labels: []string{"ui", "backend"}}, adapters.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := tr.Describe(ctx, "project = PLAT AND issuetype = Epic")
	if err != nil {
		t.Fatal(err)
	}
	if d.Scope != "PLAT" || len(d.Notes) != 0 {
		t.Errorf("scope %q, notes %v", d.Scope, d.Notes)
	}
	to := map[string]string{}
	for _, s := range d.Statuses {
		to[s.Name] = string(s.Category) + " -> " + strings.Join(s.To, ",")
	}
	want := map[string]string{
		"To Do":       "todo -> In Progress",
		"In Progress": "in_progress -> Done,In Review,To Do",
		"In Review":   "in_progress -> Done,In Progress,To Do",
		"Done":        "done -> To Do",
	}
	for name, w := range want {
		if to[name] != w {
			t.Errorf("status %s: %q, want %q", name, to[name], w)
		}
	}
	var team, notes *adapters.FieldDescription
	for i, f := range d.Fields {
		switch f.Name {
		case "Team":
			team = &d.Fields[i]
		case "Reviewer Notes":
			notes = &d.Fields[i]
		}
		if f.ID == "summary" && f.Sync != adapters.FieldTitle {
			t.Errorf("summary syncs as %q", f.Sync)
		}
	}
	if team == nil || !team.Custom || !strings.HasPrefix(team.ID, "customfield_") || team.Type == "" || team.Sync != "custom:Team" {
		t.Errorf("custom field Team: %+v", team)
	}
	// A multi-line text field shows as one: its schema type ("string")
	// would not tell it from Team.
	if team != nil && team.Type != "string" || notes == nil || notes.Type != "textarea" || notes.Sync != "custom:Reviewer Notes" {
		t.Errorf("text fields: Team %+v, Reviewer Notes %+v", team, notes)
	}
	if !slices.Contains(d.IssueTypes, "Epic") || !slices.Contains(d.IssueTypes, "Initiative") {
		t.Errorf("issue types: %v", d.IssueTypes)
	}
	if !slices.Equal(d.Labels, []string{"backend", "ui"}) {
		t.Errorf("labels: %v", d.Labels)
	}
	var emails []string
	for _, u := range d.Users {
		emails = append(emails, u.Email)
	}
	if !slices.Contains(emails, "ana@example.com") || len(d.Users) != len(fake.Users()) || d.Users[1].ID == "" || d.Users[1].Name == "" {
		t.Errorf("users: %+v", d.Users)
	}
	var log []jiratest.Request
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, "/rest/api/3/") {
			log = append(log, r)
		}
	}
	checkContract(t, router, log)
}

// TestDescribeNotes: what cannot be read becomes a note; Data Center says
// which parts it does not list.
func TestDescribeNotes(t *testing.T) {
	fake, tr := newPair(t, jiratest.Cloud)
	fake.InjectFault(jiratest.Fault{Path: "/rest/api/3/user/assignable/search", Status: 403})
	d, err := tr.Describe(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "users: ") || !strings.Contains(d.Notes[0], "403") {
		t.Errorf("notes: %v", d.Notes)
	}
	if len(d.Statuses) == 0 || len(d.Fields) == 0 {
		t.Errorf("the rest was not described: %+v", d)
	}
	_, dc := newPair(t, jiratest.DataCenter)
	d, err = dc.Describe(t.Context(), "")
	if err != nil || len(d.Statuses) == 0 || len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "Data Center") {
		t.Errorf("Data Center: %+v %v", d, err)
	}
}

// TestCheckScope: doctor's JQL check goes through Jira's parse endpoint,
// checked against the contract, and carries Jira's message.
func TestCheckScope(t *testing.T) {
	router := jiraRouter(t)
	fake, tr := newPair(t, jiratest.Cloud)
	ctx := t.Context()
	if err := tr.CheckScope(ctx, "project = PLAT AND issuetype = Epic"); err != nil {
		t.Errorf("a valid scope: %v", err)
	}
	err := tr.CheckScope(ctx, "project = PLAT AND colour = red")
	if !errors.Is(err, adapters.ErrInvalid) || !strings.Contains(err.Error(), "colour") {
		t.Errorf("an unknown field: %v", err)
	}
	if err := tr.CheckScope(ctx, "project = PLAT AND (status = Done"); err == nil {
		t.Error("an unbalanced parenthesis passed")
	}
	var log []jiratest.Request
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, "/rest/api/3/jql") {
			log = append(log, r)
		}
	}
	if len(log) != 3 {
		t.Fatalf("%d parse requests, want 3", len(log))
	}
	checkContract(t, router, log)
}
