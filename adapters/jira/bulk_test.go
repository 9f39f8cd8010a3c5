package jira_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

func bulkReqs(n int, status string) []adapters.CreateRequest {
	reqs := make([]adapters.CreateRequest, n)
	for i := range reqs {
		reqs[i] = adapters.CreateRequest{
			Item:    adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("bulk %d", i), Body: "body", Status: status, Labels: []string{"moved"}},
			Options: adapters.CreateOptions{IdempotencyKey: fmt.Sprintf("ts2|github@x|%d|jira@y", i), BackLink: fmt.Sprintf("https://github.com/acme/platform/issues/%d", i)},
		}
	}
	return reqs
}

// TestCreateManyMatchesAnswersByKey: results come back in request order
// (matched by key, not by the answer's order), a batch of 120 takes
// three bulk requests, and the whole costs at most 1.2 requests an issue
// (the back-links are one each).
func TestCreateManyMatchesAnswersByKey(t *testing.T) {
	for _, flavor := range []jiratest.Flavor{jiratest.Cloud, jiratest.DataCenter} {
		t.Run(fmt.Sprint(flavor), func(t *testing.T) {
			fake, tr := newPair(t, flavor)
			fake.ResetRequests()
			reqs := bulkReqs(120, "To Do")
			res, err := tr.CreateMany(t.Context(), reqs)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for i, r := range res {
				if r.Item.Title != reqs[i].Item.Title || r.Item.SyncKey != reqs[i].Options.IdempotencyKey || r.Existed || seen[r.Item.Ref.ID] {
					t.Errorf("result %d: %q key %q existed %v (want %q)", i, r.Item.Title, r.Item.SyncKey, r.Existed, reqs[i].Item.Title)
				}
				seen[r.Item.Ref.ID] = true
			}
			bulk, total := 0, len(fake.Requests())
			for _, r := range fake.Requests() {
				if strings.HasSuffix(r.Path, "/issue/bulk") {
					bulk++
				}
			}
			if bulk != 3 || float64(total)/120 > 1.2 {
				t.Errorf("%d bulk requests, %d requests in all (%.2f an issue): %v", bulk, total, float64(total)/120, fake.Requests()[:8])
			}
			// Again: every one found, nothing made.
			again, err := tr.CreateMany(t.Context(), reqs)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range again {
				if !r.Existed || r.Item.Ref.ID != res[i].Item.Ref.ID {
					t.Errorf("again, %d: existed %v id %s, want %s", i, r.Existed, r.Item.Ref.ID, res[i].Item.Ref.ID)
				}
			}
			if n := len(fake.Issues()); n != 120 {
				t.Errorf("%d issues, want 120", n)
			}
		})
	}
}

// TestCreateManyLostAnswer: the bulk create happens but its answer is
// lost; the issues are found by their keys, none twice.
func TestCreateManyLostAnswer(t *testing.T) {
	fake, tr := newPair(t, jiratest.Cloud)
	fake.InjectFault(jiratest.Fault{Method: "POST", Path: "/issue/bulk", Status: 502, AfterWrite: true})
	res, err := tr.CreateMany(t.Context(), bulkReqs(5, "Done"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Issues()); n != 5 {
		t.Fatalf("%d issues after a lost answer, want 5", n)
	}
	for _, r := range res {
		if r.Item.Status != "Done" {
			t.Errorf("%s: status %s, want Done (moved after the create)", r.Item.Ref, r.Item.Status)
		}
		if got, _ := fake.Issue(r.Item.Ref.ID); got.Status != "Done" {
			t.Errorf("%s in the fake: status %s", r.Item.Ref, got.Status)
		}
	}
}

// TestCreateManyNeedsKeys: without a key the answer could not be matched.
func TestCreateManyNeedsKeys(t *testing.T) {
	_, tr := newPair(t, jiratest.Cloud)
	reqs := bulkReqs(2, "")
	reqs[1].Options.IdempotencyKey = ""
	if _, err := tr.CreateMany(t.Context(), reqs); err == nil || !strings.Contains(err.Error(), "no idempotency key") {
		t.Fatalf("CreateMany without a key: %v", err)
	}
}

// TestCreateManyFenced: a bulk create of 120 takes three requests, and
// each asks the caller's fence (adapters.WithFence) first: once the fence
// fails (the run's lease is lost), no further bulk request goes out.
func TestCreateManyFenced(t *testing.T) {
	fake, tr := newPair(t, jiratest.Cloud)
	lost := errors.New("lease lost")
	asked := 0
	ctx := adapters.WithFence(t.Context(), func() error {
		if asked++; asked > 1 {
			return lost
		}
		return nil
	})
	_, err := tr.CreateMany(ctx, bulkReqs(120, "To Do"))
	if !errors.Is(err, lost) {
		t.Fatalf("CreateMany = %v, want the fence's error", err)
	}
	if n := len(fake.Issues()); n != 50 {
		t.Errorf("%d issues made, want the first request's 50 only", n)
	}
}

// TestBackLinksOption: by default each created issue gets one remote link
// to its counterpart (single and bulk creates); with back_links off
// (Options.NoBackLinks) none, and the creates still find their keys.
func TestBackLinksOption(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("off=%v", off), func(t *testing.T) {
			fake, tr := newPair(t, jiratest.Cloud, func(o *jira.Options) { o.NoBackLinks = off })
			fake.ResetRequests()
			reqs := bulkReqs(7, "To Do")
			if _, err := tr.CreateMany(t.Context(), reqs[:6]); err != nil {
				t.Fatal(err)
			}
			if _, err := tr.Create(t.Context(), reqs[6].Item, reqs[6].Options); err != nil {
				t.Fatal(err)
			}
			links := 0
			for _, r := range fake.Requests() {
				if strings.HasSuffix(r.Path, "/remotelink") {
					links++
				}
			}
			want := 7
			if off {
				want = 0
			}
			if links != want {
				t.Errorf("%d remote links for 7 created issues, want %d", links, want)
			}
			again, err := tr.CreateMany(t.Context(), reqs)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range again {
				if !r.Existed {
					t.Errorf("again, %d: not found by its key", i)
				}
			}
			if n := len(fake.Issues()); n != 7 {
				t.Errorf("%d issues, want 7", n)
			}
		})
	}
}

// TestKeyLookupCostIsConstant: a create whose key the caller cannot vouch
// for (an incremental run) looks for the key among the issues tracksync
// made in the marker window. The window is read whole once per process;
// later lookups ask only for what was created since, so each costs one
// search whatever the number of issues in the window (before: every
// lookup paged through the whole window). Issues another installation
// made in between are still found, and an issue found once and deleted
// since is forgotten, not taken for the copy.
func TestKeyLookupCostIsConstant(t *testing.T) {
	for _, flavor := range []jiratest.Flavor{jiratest.Cloud, jiratest.DataCenter} {
		t.Run(fmt.Sprint(flavor), func(t *testing.T) {
			fake, tr := newPair(t, flavor)
			seed := bulkReqs(450, "To Do")
			for i := range seed {
				seed[i].Options.KeyUnseen = true
			}
			if _, err := tr.CreateMany(t.Context(), seed); err != nil {
				t.Fatal(err)
			}
			searches := func() int {
				n := 0
				for _, r := range fake.Requests() {
					// scans of the marker window (not Data Center's reads
					// by id, also a search)
					q, _ := url.QueryUnescape(r.Query)
					if strings.Contains(r.Path, "/search") && strings.Contains(q+string(r.Body), "creator = currentUser()") {
						n++
					}
				}
				return n
			}
			one := func(i int) adapters.CreateRequest {
				return adapters.CreateRequest{Item: adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("late %d", i), Status: "To Do"},
					Options: adapters.CreateOptions{IdempotencyKey: fmt.Sprintf("late|%d", i)}}
			}
			// Incremental runs come minutes apart (the window's scans
			// look back an overlap, 2 minutes, for the index's lag).
			var costs []int
			for i := range 4 {
				fake.Advance(5 * time.Minute)
				before := searches()
				if _, err := tr.CreateMany(t.Context(), []adapters.CreateRequest{one(i)}); err != nil {
					t.Fatal(err)
				}
				costs = append(costs, searches()-before)
			}
			// The first reads the window (5 pages of 100), and then one to
			// find what it made; the others one each for both.
			for i, c := range costs[1:] {
				if c > 2 {
					t.Errorf("create %d after the first: %d searches, want at most 2 (a lookup and the find); all: %v", i+2, c, costs)
				}
			}
			// Another installation (another tracker on the same account)
			// makes "late|9"; this one, its cache warm, must find it.
			other, err := jira.New(t.Context(), "other", trackerOptions(fake, flavor))
			if err != nil {
				t.Fatal(err)
			}
			made, err := other.CreateMany(t.Context(), []adapters.CreateRequest{one(9)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := tr.CreateMany(t.Context(), []adapters.CreateRequest{one(9)})
			if err != nil {
				t.Fatal(err)
			}
			if !res[0].Existed || res[0].Item.Ref.ID != made[0].Item.Ref.ID {
				t.Errorf("a key another installation created since the last scan: existed %v id %s, want %s", res[0].Existed, res[0].Item.Ref.ID, made[0].Item.Ref.ID)
			}
			fake.Advance(5 * time.Minute)
			// "late|9" is deleted: the lookup that finds it in the cache
			// fails on reading it, and the next one makes it again.
			if err := fake.RemoveIssue(res[0].Item.Ref.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := tr.CreateMany(t.Context(), []adapters.CreateRequest{one(9)}); !errors.Is(err, adapters.ErrNotFound) {
				t.Fatalf("a cached key whose issue is gone: %v, want ErrNotFound", err)
			}
			again, err := tr.CreateMany(t.Context(), []adapters.CreateRequest{one(9)})
			if err != nil {
				t.Fatal(err)
			}
			if again[0].Existed {
				t.Errorf("the deleted issue's key was still taken for its copy")
			}
		})
	}
}

// TestCreateManyRefusesSome: a request the adapter cannot send (a label
// with a space) and one Jira refuses in its bulk answer (a summary over
// 255 characters) fail on their own, by index (adapters.CreateErrors);
// the others of the batch are made and answered. Before, either refusal
// failed the whole batch, though Jira had made the rest.
func TestCreateManyRefusesSome(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake, tr := newPair(t, fl)
			reqs := bulkReqs(6, "To Do")
			reqs[1].Item.Labels = []string{"help wanted"}
			reqs[4].Item.Title = strings.Repeat("long ", 60)
			res, err := tr.CreateMany(t.Context(), reqs)
			var each adapters.CreateErrors
			if !errors.As(err, &each) || len(each) != 2 || each[1] == nil || each[4] == nil {
				t.Fatalf("CreateMany: %v, want requests 1 and 4 refused on their own", err)
			}
			if !strings.Contains(each[1].Error(), "spaces") || !strings.Contains(each[4].Error(), "Summary must be less than 255 characters") {
				t.Errorf("the refusals do not say why: %v", each)
			}
			if !adapters.IsPermanent(each[1]) || !adapters.IsPermanent(each[4]) {
				t.Errorf("refusals not permanent: %v", each)
			}
			if len(res) != 6 {
				t.Fatalf("%d results, want 6", len(res))
			}
			for i, r := range res {
				if made := r.Item.Ref.ID != ""; made == (i == 1 || i == 4) {
					t.Errorf("result %d: %+v", i, r.Item.Ref)
				}
			}
			if n := len(fake.Issues()); n != 4 {
				t.Errorf("%d issues in Jira, want 4", n)
			}
		})
	}
}
