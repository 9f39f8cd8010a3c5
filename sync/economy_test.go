package sync_test

import (
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	tsync "github.com/tracksync/tracksync/sync"
)

// The run after one that wrote lists the items it wrote (they changed
// since the cursor); they are at the versions it recorded, so their
// counterparts are not read again. (Comments are off: a memory item's
// Version does not cover them, so with comments on the engine reads them
// once more; Jira's and GitHub's do, see e2e's TestRequestBudget.)
func TestOwnWritesNotReadAgain(t *testing.T) {
	fields := defaultFields()
	delete(fields, "comments")
	e := newEnv(t, envOpts{fields: fields})
	seedBoth(e)
	e.sync(tsync.RunOptions{})
	e.clock.Advance(time.Minute)
	e.a.ResetCounts()
	e.b.ResetCounts()
	e.sync(tsync.RunOptions{})
	for name, tr := range map[string]*memory.Tracker{"a": e.a, "b": e.b} {
		c := tr.Counts()
		if c.Gets != 0 || c.CommentReads != 0 || c.Writes() != 0 {
			t.Errorf("side %s after a run that only wrote: %+v, want listings only", name, c)
		}
	}
	// A person's edit is still seen and copied.
	l := e.links()[0]
	e.clock.Advance(time.Minute)
	e.a.Edit(l.A, func(x *adapters.Item) { x.Title = "renamed" })
	e.sync(tsync.RunOptions{})
	if b, _ := e.b.Get(e.ctx, l.B); b.Title != "renamed" {
		t.Errorf("b's title %q after an edit on a, want renamed", b.Title)
	}
}
