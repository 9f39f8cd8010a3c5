package jira_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/internal/flowtest"
)

// TestUpdateTakesVersionFromGet: an Update with IfVersion right after a
// Get of the issue (the engine reads a counterpart, then writes it) does
// not read the issue again for its version check; after a write through
// the tracker that touched the issue (a comment moves its version) it
// does, and the stale version is a conflict as before.
func TestUpdateTakesVersionFromGet(t *testing.T) {
	ctx := context.Background()
	fake := jiratest.New(t, jiratest.Options{})
	tr := flowtest.Jira(t, "acme-jira", fake, "PLAT")
	res, err := tr.Create(ctx, adapters.Item{Kind: adapters.KindIssue, Title: "before", Status: "To Do"}, adapters.CreateOptions{IdempotencyKey: "k-1"})
	if err != nil {
		t.Fatal(err)
	}
	fake.Advance(time.Minute)
	reads := func(from int) int {
		n := 0
		for _, r := range fake.Requests()[from:] {
			if r.Method == http.MethodGet {
				n++
			}
		}
		return n
	}
	update := func(cur adapters.Item, title string) (adapters.Item, error) {
		p := cur.Clone()
		p.Title = title
		return tr.Update(ctx, cur.Ref, adapters.Patch{IfVersion: cur.Version, Fields: []string{adapters.FieldTitle}, Item: p})
	}

	cur, err := tr.Get(ctx, res.Item.Ref)
	if err != nil {
		t.Fatal(err)
	}
	before := len(fake.Requests())
	if _, err := update(cur, "after"); err != nil {
		t.Fatal(err)
	}
	if n := reads(before); n != 0 {
		t.Errorf("the update right after a Get read the issue %d times, want 0", n)
	}

	// The read served one write: a second update with the same version
	// reads again, and the issue has moved on (the first update).
	before = len(fake.Requests())
	if _, err := update(cur, "again"); !errors.Is(err, adapters.ErrConflict) {
		t.Errorf("a second update at the version read before the first = %v, want a conflict", err)
	}
	if n := reads(before); n != 1 {
		t.Errorf("the second update read the issue %d times, want 1", n)
	}

	// A comment through the tracker after the Get moves the version: the
	// update reads the issue again and reports the conflict.
	if cur, err = tr.Get(ctx, res.Item.Ref); err != nil {
		t.Fatal(err)
	}
	fake.Advance(time.Minute)
	if _, err := tr.AddComment(ctx, cur.Ref, adapters.Comment{Body: "a note"}, ""); err != nil {
		t.Fatal(err)
	}
	before = len(fake.Requests())
	if _, err := update(cur, "third"); !errors.Is(err, adapters.ErrConflict) {
		t.Errorf("an update at the version read before a comment = %v, want a conflict", err)
	}
	if n := reads(before); n != 1 {
		t.Errorf("the update after a comment read the issue %d times, want 1", n)
	}
}
