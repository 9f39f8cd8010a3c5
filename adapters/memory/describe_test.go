package memory_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
)

func TestDescribe(t *testing.T) {
	statuses, err := memory.ParseStatuses("Open:todo, Doing:in_progress, Shipped:done")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := memory.New("m", memory.Options{Project: "M", Statuses: statuses, Fields: []string{"title", "status", "labels", "assignees", "custom:Points"}})
	if err != nil {
		t.Fatal(err)
	}
	tr.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "a", Status: "Open", Labels: []string{"ui", "bug"}, Assignees: []string{"ana"}},
		adapters.Item{Kind: adapters.KindIssue, Title: "b", Status: "Doing", Labels: []string{"bug"}, Assignees: []string{"bo", "ana"}})
	d, err := tr.Describe(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	want := adapters.Description{
		Scope:    "M",
		Statuses: []adapters.StatusDescription{{Name: "Open", Category: "todo"}, {Name: "Doing", Category: "in_progress"}, {Name: "Shipped", Category: "done"}},
		Fields: []adapters.FieldDescription{
			{ID: "title", Name: "title", Type: "string", Sync: "title"}, {ID: "status", Name: "status", Type: "string", Sync: "status"},
			{ID: "labels", Name: "labels", Type: "array", Sync: "labels"}, {ID: "assignees", Name: "assignees", Type: "array", Sync: "assignees"},
			{ID: "Points", Name: "Points", Type: "string", Custom: true, Sync: "custom:Points"},
		},
		IssueTypes: d.IssueTypes,
		Labels:     []string{"bug", "ui"},
		Users:      []adapters.UserDescription{{ID: "ana"}, {ID: "bo"}},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
	if len(d.IssueTypes) == 0 {
		t.Error("no issue types")
	}
}
