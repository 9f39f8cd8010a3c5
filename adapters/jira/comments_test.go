package jira_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
)

// TestCommentSyncKeys: the issue's comment endpoint does not expand
// properties (only renderedBody), so the sync keys are read through POST
// /comment/list?expand=properties; without them a repeated AddComment
// would post the comment twice.
func TestCommentSyncKeys(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake, tr := newPair(t, fl)
			it := mustCreate(t, tr, adapters.Item{Title: "talk"}, "")
			if _, err := tr.AddComment(t.Context(), it.Ref, adapters.Comment{Body: "plain"}, ""); err != nil {
				t.Fatal(err)
			}
			first, err := tr.AddComment(t.Context(), it.Ref, adapters.Comment{Body: "synced"}, "c-1")
			if err != nil {
				t.Fatal(err)
			}
			cs, err := tr.Comments(t.Context(), it.Ref)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, c := range cs {
				keys = append(keys, c.SyncKey)
			}
			if diff := cmp.Diff([]string{"", "c-1"}, keys); diff != "" {
				t.Errorf("comment sync keys (-want +got):\n%s", diff)
			}
			again, err := tr.AddComment(t.Context(), it.Ref, adapters.Comment{Body: "synced"}, "c-1")
			if err != nil {
				t.Fatal(err)
			}
			if again.ID != first.ID {
				t.Errorf("the repeated AddComment made comment %s, want %s found again", again.ID, first.ID)
			}
			if is, _ := fake.Issue(it.Ref.ID); len(is.Comments) != 2 {
				t.Errorf("%d comments, want 2", len(is.Comments))
			}
			for _, r := range fake.Requests() {
				if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/comment") && strings.Contains(r.Query, "expand=properties") {
					t.Errorf("%s?%s asks for an expansion the endpoint does not offer", r.Path, r.Query)
				}
			}
			if fake.Count(http.MethodPost, "/comment/list") == 0 {
				t.Error("the comment properties were not read from /comment/list")
			}
		})
	}
}
