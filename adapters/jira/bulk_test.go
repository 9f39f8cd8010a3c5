package jira_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

// CreateMany of keys the caller vouches for: 50 issues a bulk request, one
// bulkfetch per 100 to read them back, transitions only for issues whose
// status is not the workflow's first, each issue carrying its key; an
// issue Jira refuses is reported by its index and the others are made.
func TestCreateManyBulk(t *testing.T) {
	for _, fl := range []jiratest.Flavor{jiratest.Cloud, jiratest.DataCenter} {
		t.Run(string(fl), func(t *testing.T) {
			fake, tr := newPair(t, fl)
			var reqs []adapters.CreateRequest
			for i := range 60 {
				it := adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("bulk %d", i), Status: "To Do"}
				if i%20 == 3 {
					it.Status = "Done"
				}
				if i == 7 {
					it.Title = strings.Repeat("x", 300) // Jira refuses a summary over 255
				}
				reqs = append(reqs, adapters.CreateRequest{Item: it, Options: adapters.CreateOptions{IdempotencyKey: fmt.Sprintf("f/a/%d", i), KeyUnseen: true}})
			}
			fake.ResetRequests()
			res, err := tr.CreateMany(t.Context(), reqs)
			var ce adapters.CreateErrors
			if !errors.As(err, &ce) || len(ce) != 1 || ce[7] == nil || !adapters.IsPermanent(ce[7]) {
				t.Fatalf("CreateMany error %v, want request 7 alone refused for good", err)
			}
			if len(res) != len(reqs) {
				t.Fatalf("%d results for %d requests", len(res), len(reqs))
			}
			for i, r := range res {
				if i == 7 {
					if r.Item.Ref.ID != "" {
						t.Errorf("the refused request has a result %+v", r.Item.Ref)
					}
					continue
				}
				if r.Item.Title != reqs[i].Item.Title || r.Item.Status != reqs[i].Item.Status || r.Item.SyncKey != reqs[i].Options.IdempotencyKey {
					t.Errorf("result %d: %q %q key %q, want %q %q key %q", i, r.Item.Title, r.Item.Status, r.Item.SyncKey, reqs[i].Item.Title, reqs[i].Item.Status, reqs[i].Options.IdempotencyKey)
				}
			}
			count := map[string]int{}
			for _, r := range fake.Requests() {
				shape := r.Method + " " + r.Path[strings.Index(r.Path, "/issue"):]
				f := strings.Split(shape, "/")
				if len(f) > 2 && strings.Trim(f[2], "0123456789") == "" {
					f[2] = "N"
				}
				count[strings.Join(f, "/")]++
			}
			// Cloud: each batch read back by one bulkfetch, and the
			// three moved to Done (all in the first batch) by one more.
			want := map[string]int{"POST /issue/bulk": 2, "POST /issue/N/transitions": 6, "GET /issue/N/transitions": 2, "POST /issue/bulkfetch": 3}
			if fl == jiratest.DataCenter {
				want["GET /issue/N"], want["POST /issue/bulkfetch"] = 59+3, 0
			}
			for k, n := range want {
				if count[k] != n {
					t.Errorf("%s: %d requests, want %d (all: %v)", k, count[k], n, count)
				}
			}
			if len(count) != len(want)-btoiJ(fl == jiratest.DataCenter) {
				t.Errorf("requests beyond the bulk creates, reads and transitions: %v", count)
			}
		})
	}
}

func btoiJ(b bool) int {
	if b {
		return 1
	}
	return 0
}
