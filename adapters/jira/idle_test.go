package jira_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
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
				var items []adapters.Item
				req := adapters.ListRequest{Scope: "project = PLAT", Cursor: cursor}
				for {
					p, err := tr.List(t.Context(), req)
					if err != nil {
						t.Fatal(err)
					}
					items = append(items, p.Items...)
					if p.NextPageToken == "" {
						return items, p.Cursor, len(fake.Requests())
					}
					req.PageToken = p.NextPageToken
				}
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
	p, err := tr.List(t.Context(), adapters.ListRequest{Scope: "project = PLAT"})
	if err != nil || p.NextPageToken != "" {
		t.Fatalf("empty listing: %v %q", err, p.NextPageToken)
	}
	var wrote []adapters.Item
	for i := range 150 {
		fake.Advance(time.Second)
		res, err := tr.Create(t.Context(), adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("ours %d", i)}, adapters.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wrote = append(wrote, res.Item)
	}
	cur, err := tr.NoteWrites(p.Cursor, wrote)
	if err != nil {
		t.Fatal(err)
	}
	fake.Advance(time.Second)
	if err := fake.EditIssue(wrote[40].Ref.Key, "", func(x *jiratest.Issue) { x.Summary = "theirs" }); err != nil {
		t.Fatal(err)
	}
	fake.ResetRequests()
	var got []adapters.Item
	req := adapters.ListRequest{Scope: "project = PLAT", Cursor: cur}
	for {
		p, err := tr.List(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Items...)
		if p.NextPageToken == "" {
			break
		}
		req.PageToken = p.NextPageToken
	}
	if len(got) != 1 || got[0].Title != "theirs" {
		t.Errorf("listed %d issues (%v), want only the one edited since", len(got), got)
	}
	if n := fake.Count("POST", "/bulkfetch"); n != 1 {
		t.Errorf("%d bulkfetches, want 1 (for the edited issue)", n)
	}
}
