package github

import (
	"slices"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

// TestDescribe: states, fields (the milestone as custom:milestone), the
// repository's labels and assignable users; every call checked against
// the contract by the fixture.
func TestDescribe(t *testing.T) {
	f := newFixture(t, githubtest.Options{Users: []string{"ana", "bo"}})
	ctx := t.Context()
	if _, err := f.tr.Create(ctx, adapters.Item{Kind: adapters.KindIssue, Title: "x", Labels: []string{"Bug", "ui"}}, adapters.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := f.tr.Describe(ctx, githubtest.DefaultRepo+" label:ui")
	if err != nil {
		t.Fatal(err)
	}
	var st []string
	for _, s := range d.Statuses {
		st = append(st, s.Name+":"+string(s.Category))
	}
	if !slices.Equal(st, []string{"open:todo", "closed:done", "not planned:done"}) {
		t.Errorf("statuses: %v", st)
	}
	if !slices.Contains(d.Labels, "Bug") || !slices.Contains(d.Labels, "ui") {
		t.Errorf("labels: %v", d.Labels)
	}
	var users []string
	for _, u := range d.Users {
		users = append(users, u.ID)
	}
	if !slices.Contains(users, "ana") || !slices.Contains(users, "bo") {
		t.Errorf("users: %v", users)
	}
	var sync []string
	for _, fd := range d.Fields {
		sync = append(sync, fd.Sync)
	}
	if !slices.Contains(sync, FieldMilestone) || !slices.Contains(sync, adapters.FieldTitle) || d.Scope != githubtest.DefaultRepo {
		t.Errorf("fields %v, scope %q", sync, d.Scope)
	}
	// Without a scope, the tracker's own repository.
	if d2, err := f.tr.Describe(ctx, ""); err != nil || d2.Scope != githubtest.DefaultRepo {
		t.Errorf("default repo: %q %v", d2.Scope, err)
	}
	// A repository that does not exist is an error naming it.
	if _, err := f.tr.Describe(ctx, "acme/nope"); err == nil || !strings.Contains(err.Error(), "acme/nope") {
		t.Errorf("missing repo: %v", err)
	}
}
