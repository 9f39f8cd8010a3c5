package jira_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

// TestListEditMidListing: an issue on an earlier page edited between pages
// moves to the end of `ORDER BY updated`; with offset paging the issue
// after it shifts onto the page already read and is never listed, not even
// by the next incremental listing. Keyset paging lists every issue.
func TestListEditMidListing(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake, tr := newPair(t, fl)
			var keys []string
			for _, title := range []string{"first", "second", "third"} {
				keys = append(keys, mustCreate(t, tr, adapters.Item{Title: title}, "").Ref.Key)
				fake.Advance(time.Hour)
			}
			listed := map[string]bool{}
			var token, cursor string
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatal("the listing does not end")
				}
				p, err := tr.List(t.Context(), adapters.ListRequest{Scope: "project = PLAT", PageSize: 1, PageToken: token})
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range p.Items {
					listed[it.Ref.Key] = true
				}
				if pages == 0 {
					// Someone edits the first issue while the listing runs.
					if err := fake.EditIssue(keys[0], "", func(is *jiratest.Issue) { is.Summary = "first, edited" }); err != nil {
						t.Fatal(err)
					}
				}
				if p.NextPageToken == "" {
					cursor = p.Cursor
					break
				}
				token = p.NextPageToken
			}
			// Whatever the first listing missed, the next incremental one
			// must not miss too.
			fake.Advance(time.Hour)
			p, err := tr.List(t.Context(), adapters.ListRequest{Scope: "project = PLAT", Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range p.Items {
				listed[it.Ref.Key] = true
			}
			want := map[string]bool{keys[0]: true, keys[1]: true, keys[2]: true}
			if diff := cmp.Diff(want, listed); diff != "" {
				t.Errorf("issues listed (-want +got):\n%s", diff)
			}
		})
	}
}

// TestListOneStampBucket: more issues than a page share one updated stamp
// (a bulk change), so the keyset bound cannot move past them; the listing
// pages through them by position and lists each once.
func TestListOneStampBucket(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake, tr := newPair(t, fl)
			var keys []string
			for i := range 5 {
				keys = append(keys, mustCreate(t, tr, adapters.Item{Title: fmt.Sprintf("bulk %d", i)}, "").Ref.Key)
			}
			fake.Advance(time.Minute)
			if err := fake.BulkStamp(keys[1:]...); err != nil {
				t.Fatal(err)
			}
			listed := map[string]int{}
			var token string
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatal("the listing does not end")
				}
				p, err := tr.List(t.Context(), adapters.ListRequest{Scope: "project = PLAT", PageSize: 2, PageToken: token})
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range p.Items {
					listed[it.Ref.Key]++
				}
				if p.NextPageToken == "" {
					break
				}
				token = p.NextPageToken
			}
			want := map[string]int{}
			for _, k := range keys {
				want[k] = 1
			}
			if diff := cmp.Diff(want, listed); diff != "" {
				t.Errorf("times each issue was listed (-want +got):\n%s", diff)
			}
		})
	}
}
