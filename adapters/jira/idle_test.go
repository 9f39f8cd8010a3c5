package jira_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

// An idle poll is one request however many issues changed just before
// the last one: once the last listing ran an overlap after the newest
// update (by Jira's clock, its Date header), nothing before that update
// can still be on its way into the search index.
func TestIdlePollAfterBurstIsOnePage(t *testing.T) {
	for _, fl := range []jiratest.Flavor{jiratest.Cloud, jiratest.DataCenter} {
		t.Run(string(fl), func(t *testing.T) {
			fake, tr := newPair(t, fl)
			for i := range 250 { // a burst within the overlap window
				if _, err := tr.Create(t.Context(), adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("burst %d", i)}, adapters.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			cursor := ""
			list := func() ([]adapters.Item, string, int) {
				t.Helper()
				fake.ResetRequests()
				p := adaptertest.ListAll(t, tr, adapters.ListRequest{Scope: "project = PLAT", Cursor: cursor})
				return p.Items, p.Cursor, len(fake.Requests())
			}
			items, cur, _ := list()
			if len(items) != 250 {
				t.Fatalf("first listing: %d issues, want 250", len(items))
			}
			cursor = cur
			fake.Advance(5 * time.Minute)
			// The first poll after the burst still looks back over the
			// overlap (the burst was listed less than an overlap after it
			// happened), lists nothing new, and notes the time.
			items, cur, _ = list()
			if len(items) != 0 {
				t.Fatalf("first poll: %d issues, want none", len(items))
			}
			cursor = cur
			fake.Advance(5 * time.Minute)
			items, cur, n := list()
			if len(items) != 0 || n != 1 {
				t.Errorf("idle poll: %d issues in %d requests, want none in 1", len(items), n)
			}
			cursor = cur
			// An edit is still seen.
			is := fake.Issues()[100]
			fake.Advance(time.Second)
			if err := fake.EditIssue(is.Key, "", func(x *jiratest.Issue) { x.Summary = "edited" }); err != nil {
				t.Fatal(err)
			}
			items, _, _ = list()
			if len(items) != 1 || items[0].Title != "edited" {
				t.Errorf("after an edit: %+v, want the edited issue", items)
			}
		})
	}
}

// Issues tracksync wrote after a listing, noted in its cursor, are not
// fetched by the next listing; one edited since is.
func TestNoteWritesSkipsOwnWrites(t *testing.T) {
	fake, tr := newPair(t, jiratest.Cloud)
	start := firstListing(t, tr)
	var wrote []adapters.Item
	for i := range 150 {
		fake.Advance(time.Second)
		res, err := tr.Create(t.Context(), adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("ours %d", i)}, adapters.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wrote = append(wrote, res.Item)
	}
	cur, err := tr.NoteWrites(start, wrote)
	if err != nil {
		t.Fatal(err)
	}
	fake.Advance(time.Second)
	if err := fake.EditIssue(wrote[40].Ref.Key, "", func(x *jiratest.Issue) { x.Summary = "theirs" }); err != nil {
		t.Fatal(err)
	}
	fake.ResetRequests()
	got := adaptertest.ListAll(t, tr, adapters.ListRequest{Scope: "project = PLAT", Cursor: cur}).Items
	if len(got) != 1 || got[0].Title != "theirs" {
		t.Errorf("listed %d issues (%v), want only the one edited since", len(got), got)
	}
	if n := fake.Count("POST", "/bulkfetch"); n != 1 {
		t.Errorf("%d bulkfetches, want 1 (for the edited issue)", n)
	}
}

// The first poll after a run that wrote many issues pages over them by
// id, 5,000 a search (search/jql's page when only ids are asked for),
// instead of 100 a search with their updated stamps, and fetches none
// still at the version tracksync wrote. What someone else changed is
// still listed, with all its fields: an issue edited after the run, one
// edited mid-run (tracksync wrote others after the edit), the run's last
// write edited after the run, and an issue someone else created mid-run.
func TestPollAfterManyWritesPagesByID(t *testing.T) {
	const n = 250 // three pages of 100
	type edit struct {
		after int // edited once the run has written this many
		which int // the write edited; -1: someone else creates an issue
	}
	for _, c := range []struct {
		name         string
		edits        []edit
		want         []string // titles listed
		maxSearches  int
		maxBulkFetch int
		refused      bool // Jira answers the search by id 400
	}{
		// A query naming issues Jira refuses (one it no longer knows, a
		// JQL too long): the listing pages updated stamps, as before.
		{name: "refused", edits: []edit{{150, 100}}, want: []string{"theirs 100"}, maxSearches: 1 + 3 + 1, maxBulkFetch: 1, refused: true},
		{name: "idle", maxSearches: 1},
		// An edit of one of the writes the search checks by name (the
		// last, those before the longest pauses) costs one more search,
		// over what changed after it.
		{name: "edited after the run", edits: []edit{{n, 40}}, want: []string{"theirs 40"}, maxSearches: 2, maxBulkFetch: 1},
		{name: "edited after the run, not checked by name", edits: []edit{{n, 200}}, want: []string{"theirs 200"}, maxSearches: 1, maxBulkFetch: 1},
		{name: "edited mid-run", edits: []edit{{150, 10}}, want: []string{"theirs 10"}, maxSearches: 2, maxBulkFetch: 1},
		{name: "edited mid-run, not checked by name", edits: []edit{{150, 100}}, want: []string{"theirs 100"}, maxSearches: 1, maxBulkFetch: 1},
		{name: "created mid-run", edits: []edit{{150, -1}}, want: []string{"someone else's"}, maxSearches: 1, maxBulkFetch: 1},
		{name: "last write edited", edits: []edit{{n, n - 1}, {n, 5}}, want: []string{"theirs 249", "theirs 5"}, maxSearches: 2, maxBulkFetch: 1},
		{name: "last write edited alone", edits: []edit{{n, n - 1}}, want: []string{"theirs 249"}, maxSearches: 2, maxBulkFetch: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake, tr := newPair(t, jiratest.Cloud)
			start := firstListing(t, tr)
			var wrote []adapters.Item
			apply := func(done int) {
				for _, e := range c.edits {
					if e.after != done {
						continue
					}
					fake.Advance(time.Second)
					if e.which < 0 {
						if _, err := tr.Create(t.Context(), adapters.Item{Kind: adapters.KindIssue, Title: "someone else's", Body: "their body"}, adapters.CreateOptions{}); err != nil {
							t.Fatal(err)
						}
						continue
					}
					if err := fake.EditIssue(wrote[e.which].Ref.Key, "", func(x *jiratest.Issue) { x.Summary = fmt.Sprintf("theirs %d", e.which) }); err != nil {
						t.Fatal(err)
					}
				}
			}
			for i := range n {
				apply(i)
				fake.Advance(20 * time.Millisecond)
				res, err := tr.Create(t.Context(), adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("ours %d", i), Body: fmt.Sprintf("body %d", i)}, adapters.CreateOptions{})
				if err != nil {
					t.Fatal(err)
				}
				wrote = append(wrote, res.Item)
			}
			cur, err := tr.NoteWrites(start, wrote)
			if err != nil {
				t.Fatal(err)
			}
			apply(n)
			fake.Advance(5 * time.Minute)
			fake.ResetRequests()
			if c.refused {
				fake.InjectFault(jiratest.Fault{Method: "POST", Path: "/search/jql", Status: http.StatusBadRequest})
			}
			all := adaptertest.ListAll(t, tr, adapters.ListRequest{Scope: "project = PLAT", Cursor: cur})
			got := all.Items
			cur = all.Cursor
			var titles []string
			for _, it := range got {
				titles = append(titles, it.Title)
				// Full fields: the body and the status came with it.
				if it.Body == "" || it.Status == "" || it.Version == "" {
					t.Errorf("%s listed without its fields: %+v", it.Ref.Key, it)
				}
			}
			slices.Sort(titles)
			want := slices.Sorted(slices.Values(c.want))
			if !slices.Equal(titles, want) {
				t.Errorf("listed %q, want %q", titles, want)
			}
			if s := fake.Count("POST", "/search/jql"); s > c.maxSearches {
				t.Errorf("%d searches, want at most %d", s, c.maxSearches)
			}
			if f := fake.Count("POST", "/bulkfetch"); f > c.maxBulkFetch {
				t.Errorf("%d bulkfetches, want at most %d", f, c.maxBulkFetch)
			}
			// The next poll, an overlap later, is one search listing nothing.
			fake.Advance(5 * time.Minute)
			fake.ResetRequests()
			p, err := tr.List(t.Context(), adapters.ListRequest{Scope: "project = PLAT", Cursor: cur})
			if err != nil || p.NextPageToken != "" || len(p.Items) != 0 || len(fake.Requests()) != 1 {
				t.Errorf("next poll: %d items in %d requests (%v), want none in 1", len(p.Items), len(fake.Requests()), err)
			}
		})
	}
}

// At 10,000 written issues the first poll is two searches of 5,000 ids:
// keyset paging does not list the second page's first issues again.
func TestPollAfterTenThousandWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 issues")
	}
	const n = 10000
	fake, tr := newPair(t, jiratest.Cloud)
	start := firstListing(t, tr)
	// Seeded 50 a bulk create, as the engine's writes would be; the
	// noted writes are the issues as the fake holds them.
	for start := 0; start < n; start += 50 {
		fake.Advance(time.Second)
		var ups []any
		for i := start; i < start+50; i++ {
			ups = append(ups, map[string]any{"fields": map[string]any{"project": map[string]string{"key": "PLAT"}, "issuetype": map[string]string{"name": "Story"}, "summary": fmt.Sprintf("ours %d", i)}})
		}
		b, _ := json.Marshal(map[string]any{"issueUpdates": ups})
		r, _ := http.NewRequest(http.MethodPost, fake.URL+"/rest/api/3/issue/bulk", bytes.NewReader(b))
		r.SetBasicAuth("bot@example.com", "api-token")
		r.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("bulk create: HTTP %d", res.StatusCode)
		}
	}
	var wrote []adapters.Item
	for _, is := range fake.Issues() {
		wrote = append(wrote, adapters.Item{Ref: adapters.Ref{Tracker: "acme-jira", ID: strconv.Itoa(is.ID), Key: is.Key}, UpdatedAt: is.Updated})
	}
	cur, err := tr.NoteWrites(start, wrote)
	if err != nil {
		t.Fatal(err)
	}
	fake.Advance(5 * time.Minute)
	list := func() []string {
		t.Helper()
		fake.ResetRequests()
		var titles []string
		for _, it := range adaptertest.ListAll(t, tr, adapters.ListRequest{Scope: "project = PLAT", Cursor: cur}).Items {
			titles = append(titles, it.Title)
		}
		return titles
	}
	if got := list(); len(got) != 0 || fake.Count("POST", "/search/jql") != 2 || fake.Count("POST", "/bulkfetch") != 0 {
		t.Errorf("idle: listed %q in %d searches and %d bulkfetches, want nothing in 2 and 0", got, fake.Count("POST", "/search/jql"), fake.Count("POST", "/bulkfetch"))
	}
	// The same poll after someone edited one of them.
	if err := fake.EditIssue(wrote[7000].Ref.Key, "", func(x *jiratest.Issue) { x.Summary = "theirs" }); err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, []string{"theirs"}) || fake.Count("POST", "/search/jql") != 2 || fake.Count("POST", "/bulkfetch") != 1 {
		t.Errorf("after an edit: listed %q in %d searches and %d bulkfetches, want it in 2 and 1", got, fake.Count("POST", "/search/jql"), fake.Count("POST", "/bulkfetch"))
	}
}

// firstListing is the cursor of tr's first listing of project PLAT,
// which must come in one page.
func firstListing(t *testing.T, tr *jira.Tracker) string {
	t.Helper()
	p, err := tr.List(t.Context(), adapters.ListRequest{Scope: "project = PLAT"})
	if err != nil || p.NextPageToken != "" {
		t.Fatalf("empty listing: %v %q", err, p.NextPageToken)
	}
	return p.Cursor
}
