package github

import (
	"errors"
	"net/http"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

// TestUpdateTakesVersionFromGet: an Update with IfVersion right after a
// Get of the issue does not read the issue again for its version check;
// after a write through the tracker that touched the issue (a comment) it
// does, as it does for a second update from the same read.
func TestUpdateTakesVersionFromGet(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	ctx := t.Context()
	res, err := f.tr.Create(ctx, adapters.Item{Title: "before"}, adapters.CreateOptions{Scope: repoName, IdempotencyKey: "k-1"})
	if err != nil {
		t.Fatal(err)
	}
	reads := func(from int) int {
		n := 0
		for _, r := range f.fake.Requests()[from:] {
			if r.Method == http.MethodGet {
				n++
			}
		}
		return n
	}
	update := func(cur adapters.Item, title string) error {
		p := cur.Clone()
		p.Title = title
		_, err := f.tr.Update(ctx, cur.Ref, adapters.Patch{IfVersion: cur.Version, Fields: []string{adapters.FieldTitle}, Item: p})
		return err
	}
	cur, err := f.tr.Get(ctx, res.Item.Ref)
	if err != nil {
		t.Fatal(err)
	}
	before := len(f.fake.Requests())
	if err := update(cur, "after"); err != nil {
		t.Fatal(err)
	}
	if n := reads(before); n != 0 {
		t.Errorf("the update right after a Get read the issue %d times, want 0", n)
	}
	before = len(f.fake.Requests())
	f.fake.Advance(2e9)
	if err := update(cur, "again"); !errors.Is(err, adapters.ErrConflict) {
		t.Errorf("a second update at the version read before the first = %v, want a conflict", err)
	}
	if n := reads(before); n != 1 {
		t.Errorf("the second update read the issue %d times, want 1", n)
	}

	if cur, err = f.tr.Get(ctx, res.Item.Ref); err != nil {
		t.Fatal(err)
	}
	f.fake.Advance(2e9)
	if _, err := f.tr.AddComment(ctx, cur.Ref, adapters.Comment{Body: "a note"}, ""); err != nil {
		t.Fatal(err)
	}
	before = len(f.fake.Requests())
	if err := update(cur, "third"); !errors.Is(err, adapters.ErrConflict) {
		t.Errorf("an update at the version read before a comment = %v, want a conflict", err)
	}
	if n := reads(before); n != 1 {
		t.Errorf("the update after a comment read the issue %d times, want 1", n)
	}
}
