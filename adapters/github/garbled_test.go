package github

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

var garbles = []githubtest.Garble{githubtest.GarbleHTML, githubtest.GarbleCut, githubtest.GarbleEmpty, githubtest.GarbleEmptyObject}

// newGarbleFixture is newFixture without the contract checker: a garbled
// answer breaks the contract on purpose.
func newGarbleFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, githubtest.Options{})
	tr, err := New("gh", Options{
		URL: f.fake.URL, Token: testToken, Repo: githubtest.DefaultRepo, Clock: f.fake.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			f.fake.Advance(d)
			return ctx.Err()
		},
		Transport:    f.fake.Client().Transport,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.tr = tr
	return f
}

// TestGarbledListing: a listing answered 200 with a login page, cut JSON,
// an empty body or {} is an error, not an "ok" empty page (whose cursor
// would skip the changes for good).
func TestGarbledListing(t *testing.T) {
	for _, g := range garbles {
		t.Run(g.String(), func(t *testing.T) {
			f := newGarbleFixture(t)
			for i := range 3 {
				f.fake.CreateIssue(repoName, githubtest.Issue{Title: fmt.Sprint("issue ", i)})
			}
			f.fake.Inject(githubtest.Fault{Method: http.MethodGet, Path: "/repos/" + repoName + "/issues", Garble: g})
			p, err := f.tr.List(t.Context(), adapters.ListRequest{Scope: repoName})
			if err == nil {
				t.Fatalf("listing answered %s: %d items, cursor %q and no error", g, len(p.Items), p.Cursor)
			}
			adaptertest.WantBadResponse(t, "the listing", err, testToken)
			p, err = f.tr.List(t.Context(), adapters.ListRequest{Scope: repoName})
			if err != nil || len(p.Items) != 3 {
				t.Fatalf("listing again: %d items, %v; want 3", len(p.Items), err)
			}
		})
	}
}

// TestGarbledCreate: a create answered garbled is an error, never an item
// linked to #0; the issue it may have made is found by its marker next
// time, not made twice.
func TestGarbledCreate(t *testing.T) {
	for _, g := range garbles {
		for _, applied := range []bool{false, true} {
			t.Run(fmt.Sprint(g, "/applied=", applied), func(t *testing.T) {
				f := newGarbleFixture(t)
				f.fake.Inject(githubtest.Fault{Method: http.MethodPost, Path: "/repos/" + repoName + "/issues", Garble: g, AfterApply: applied})
				res, err := f.tr.Create(t.Context(), adapters.Item{Title: "x"}, adapters.CreateOptions{IdempotencyKey: "k-1"})
				if err == nil {
					t.Fatalf("create answered %s: linked to %s and no error", g, res.Item.Ref.ID)
				}
				adaptertest.WantBadResponse(t, "the create", err, testToken)
				res, err = f.tr.Create(t.Context(), adapters.Item{Title: "x"}, adapters.CreateOptions{IdempotencyKey: "k-1"})
				if err != nil {
					t.Fatalf("creating again: %v", err)
				}
				all := f.fake.Issues(repoName)
				if len(all) != 1 || res.Item.Ref.ID != issueID(repoName, all[0].Number) {
					t.Fatalf("created %s; the fake holds %d issues", res.Item.Ref.ID, len(all))
				}
				if made := applied || g == githubtest.GarbleCut; res.Existed != made {
					t.Errorf("Existed = %v, want %v", res.Existed, made)
				}
			})
		}
	}
}

// TestGarbledGetAndUpdate: reads and writes answered with a login page
// are errors; the write did not happen.
func TestGarbledGetAndUpdate(t *testing.T) {
	for _, g := range garbles {
		t.Run(g.String(), func(t *testing.T) {
			f := newGarbleFixture(t)
			is := f.fake.CreateIssue(repoName, githubtest.Issue{Title: "before"})
			ref := adapters.Ref{Tracker: "gh", ID: issueID(repoName, is.Number)}
			path := fmt.Sprintf("/repos/%s/issues/%d", repoName, is.Number)
			f.fake.Inject(githubtest.Fault{Method: http.MethodGet, Path: path, Garble: g})
			_, err := f.tr.Get(t.Context(), ref)
			adaptertest.WantBadResponse(t, "Get", err, testToken)
			f.fake.Inject(githubtest.Fault{Method: http.MethodPatch, Path: path, Garble: g})
			_, err = f.tr.Update(t.Context(), ref, adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: adapters.Item{Title: "after"}})
			adaptertest.WantBadResponse(t, "the PATCH", err, testToken)
			if g != githubtest.GarbleCut {
				if got, _ := f.fake.Issue(repoName, is.Number); got.Title != "before" {
					t.Errorf("title %q: the proxy's answer was taken for GitHub's", got.Title)
				}
			}
		})
	}
}
