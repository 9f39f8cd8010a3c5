package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/sqlite"
)

func TestRunItems(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run, err := s.StartRun(ctx, "f", false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.ListRunItems(ctx, run.ID); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no items yet: %v %v", got, err)
	}
	first := []store.RunItem{
		{LinkID: 3, Side: store.SideB, Item: "gh:acme/app#1", Source: "jira:PLAT-1", Action: store.ItemUpdated, Fields: []store.ItemField{{Field: "title", From: "a", To: "b"}}},
		{Side: store.SideB, Item: "gh:acme/app#2", Source: "jira:PLAT-2", Action: store.ItemCreated},
	}
	second := []store.RunItem{{Item: "jira:PLAT-9", Action: store.ItemFailed, Reason: "HTTP 400: Summary must be less than 255 characters."}}
	if err := s.AddRunItems(ctx, run.ID, first); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRunItems(ctx, run.ID, second); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListRunItems(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]store.RunItem{}, first...), second...)
	for i := range want {
		want[i].RunID, want[i].Seq = run.ID, i+1
		if want[i].Fields == nil {
			want[i].Fields = []store.ItemField{}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("run items (-want +got):\n%s", diff)
	}
}
