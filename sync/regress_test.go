package sync_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// Regression tests for bugs found in review; each names the scenario.

// A person edits B while the run writes to A and B: B's write is refused
// as stale, A's write must still be recorded, and the person's edit wins
// the next run instead of being overwritten by our own earlier write.
func TestPartialPairWriteKeepsPersonsEdit(t *testing.T) {
	e, ls := linked(t, envOpts{})
	l := ls[0]
	e.clock.Advance(time.Minute)
	e.b.Edit(l.B, func(x *adapters.Item) { x.Title = "y" })
	e.a.Edit(l.A, func(x *adapters.Item) { x.Priority = "low" })
	once := false
	e.b.SetHook(func(op string, ref adapters.Ref, ph memory.Phase) error {
		if op == "update" && ph == memory.Before && !once {
			once = true
			// A person, racing us, at the same instant as our write to A:
			// only the recorded base can tell the two apart.
			e.b.Edit(l.B, func(x *adapters.Item) { x.Title = "z" })
		}
		return nil
	})
	e.sync(tsync.RunOptions{})
	e.b.SetHook(nil)
	e.clock.Advance(time.Minute)
	e.sync(tsync.RunOptions{})
	a, _ := e.a.Get(e.ctx, l.A)
	b, _ := e.b.Get(e.ctx, l.B)
	if a.Title != "z" || b.Title != "z" || b.Priority != "low" {
		t.Fatalf("a title %q, b title %q priority %q; want the person's z everywhere and low on b", a.Title, b.Title, b.Priority)
	}
}

// A parent and its child created in one run: the child's copy gets the
// parent's copy as parent.
func TestParentAndChildCreatedTogether(t *testing.T) {
	fields := defaultFields()
	fields["parent"] = config.FieldConfig{Direction: "a-to-b"}
	e := newEnv(t, envOpts{fields: fields})
	// Seeded child first, so a naive create order would make it first.
	epic := e.a.Seed(adapters.Item{Kind: adapters.KindEpic, Title: "epic", Status: "To Do"})[0]
	e.a.Seed(adapters.Item{Kind: adapters.KindTask, Title: "child", Status: "To Do", Parent: &epic.Ref})
	e.sync(tsync.RunOptions{})
	e.wantChildUnderEpic()
	if p := e.plan(); len(p.Ops) != 0 {
		t.Fatalf("plan after = %v", p.Ops)
	}
}

// A child whose parent is linked only later gets its parent then.
func TestParentLinkedLater(t *testing.T) {
	fields := defaultFields()
	fields["parent"] = config.FieldConfig{Direction: "a-to-b"}
	e := newEnv(t, envOpts{fields: fields, scopeA: "label:sync"})
	epic := e.a.Seed(adapters.Item{Kind: adapters.KindEpic, Title: "epic", Status: "To Do"})[0]
	e.a.Seed(adapters.Item{Kind: adapters.KindTask, Title: "child", Status: "To Do", Parent: &epic.Ref, Labels: []string{"sync"}})
	e.sync(tsync.RunOptions{})
	e.clock.Advance(time.Minute)
	e.a.Edit(epic.Ref, func(x *adapters.Item) { x.Labels = []string{"sync"} }) // the epic enters scope
	e.sync(tsync.RunOptions{})
	e.sync(tsync.RunOptions{Full: true})
	e.wantChildUnderEpic()
}

// on_delete close, the item leaves scope (B closed), comes back: the
// returning item must not be closed by our own earlier close.
func TestCloseThenBackIntoScope(t *testing.T) {
	e := newEnv(t, envOpts{onDelete: "close", scopeA: "label:sync"})
	it := e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "x", Status: "In Progress", Labels: []string{"sync"}})[0]
	e.sync(tsync.RunOptions{})
	e.clock.Advance(time.Minute)
	e.a.Edit(it.Ref, func(x *adapters.Item) { x.Labels = nil })
	e.sync(tsync.RunOptions{Full: true})
	b := e.b.Items()[0]
	if b.StatusCategory != adapters.CategoryDone {
		t.Fatalf("survivor not closed: %q", b.Status)
	}
	e.clock.Advance(time.Minute)
	e.a.Edit(it.Ref, func(x *adapters.Item) { x.Labels = []string{"sync"} })
	e.sync(tsync.RunOptions{})
	a, _ := e.a.Get(e.ctx, it.Ref)
	if a.Status != "In Progress" {
		t.Fatalf("returning item was closed: %q", a.Status)
	}
	// Nor may the pair stay split, one side open and the other closed by
	// our own earlier close, with every later plan saying nothing to do:
	// the close is undone on the survivor.
	b = e.b.Items()[0]
	if b.Status != "active" {
		t.Fatalf("the survivor stays closed after its counterpart came back: %q (a is %q)", b.Status, a.Status)
	}
	if p := e.plan(); len(p.Ops) != 0 {
		t.Fatalf("further plan: %+v", p.Ops)
	}
	full := e.sync(tsync.RunOptions{Full: true})
	if full.Run.Counts.Updated != 0 {
		t.Fatalf("a full run still writes: %+v", full.Run.Counts)
	}
}

// A crash after a create's API call: the source's comments still reach
// the copy, once.
func TestCommentsAfterRecoveredCreate(t *testing.T) {
	e := newEnv(t, envOpts{})
	it := e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "x", Status: "To Do"})[0]
	e.a.AddComment(e.ctx, it.Ref, adapters.Comment{Body: "hello"}, "")
	e.crashRun(tsync.CrashAfterCall, tsync.OpCreate)
	e.restart()
	e.sync(tsync.RunOptions{})
	e.sync(tsync.RunOptions{Full: true})
	bs := e.b.Items()
	if len(bs) != 1 || len(bs[0].Comments) != 1 || bs[0].Comments[0].Body != "hello" {
		t.Fatalf("b = %+v", bs)
	}
}

// A crash after a create's API call, then a person edits the copy before
// the restart: the edit is kept and carried back, not reverted.
func TestRecoveryKeepsEditToCopy(t *testing.T) {
	e := newEnv(t, envOpts{})
	it := e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "original", Status: "To Do"})[0]
	e.crashRun(tsync.CrashAfterCall, tsync.OpCreate)
	e.clock.Advance(time.Minute)
	cp := e.b.Items()[0]
	e.b.Edit(cp.Ref, func(x *adapters.Item) { x.Title = "edited copy" })
	e.restart()
	e.sync(tsync.RunOptions{})
	a, _ := e.a.Get(e.ctx, it.Ref)
	b, _ := e.b.Get(e.ctx, cp.Ref)
	if a.Title != "edited copy" || b.Title != "edited copy" {
		t.Fatalf("a %q b %q, want the edit to the copy on both", a.Title, b.Title)
	}
}

// A held conflict stays open (same ID) when its pair fails to apply.
func TestHeldConflictSurvivesFailedPair(t *testing.T) {
	e, ls := linked(t, envOpts{policy: "manual"})
	l := ls[0]
	e.clock.Advance(time.Minute)
	e.a.Edit(l.A, func(x *adapters.Item) { x.Title = "a says" })
	e.b.Edit(l.B, func(x *adapters.Item) { x.Title = "b says" })
	e.sync(tsync.RunOptions{})
	cs, _ := e.st.ListConflicts(e.ctx, "f", store.ConflictOpen)
	if len(cs) != 1 {
		t.Fatalf("conflicts %+v", cs)
	}
	e.clock.Advance(time.Minute)
	e.a.Edit(l.A, func(x *adapters.Item) { x.Priority = "low" })
	e.syncFailing(e.b, "update", memory.Before, errors.New("503 service unavailable"))
	cs2, _ := e.st.ListConflicts(e.ctx, "f", store.ConflictOpen)
	if len(cs2) != 1 || cs2[0].ID != cs[0].ID {
		t.Fatalf("conflict after a failed pair: %+v, want #%d still open", cs2, cs[0].ID)
	}
}

// A comment copied B→A whose bookkeeping was lost, and whose recovery
// first fails: never copied back to B.
func TestCommentCopyNeverCopiedBack(t *testing.T) {
	e, ls := linked(t, envOpts{})
	l := ls[0]
	e.b.AddComment(e.ctx, l.B, adapters.Comment{Body: "from b"}, "")
	e.crashRun(tsync.CrashAfterCall, tsync.OpCommentAdd)
	e.restart()
	if err := e.syncFailing(e.a, "comment_add", memory.Before, errors.New("connection reset")); err == nil {
		t.Fatal("want the run to stop while recovery fails")
	}
	e.sync(tsync.RunOptions{})
	e.sync(tsync.RunOptions{Full: true})
	ca, _ := e.a.Comments(e.ctx, l.A)
	cb, _ := e.b.Comments(e.ctx, l.B)
	if diff := cmp.Diff([]string{"from b"}, commentBodies(cb)); diff != "" {
		t.Fatalf("b comments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"from b"}, commentBodies(ca)); diff != "" {
		t.Fatalf("a comments (-want +got):\n%s", diff)
	}
}

// Both sides leave scope and come back: comments are not copied twice.
func TestBothGoneAndBack(t *testing.T) {
	e := newEnv(t, envOpts{scopeA: "label:sync", scopeB: "label:sync"})
	it := e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "x", Status: "To Do", Labels: []string{"sync"}})[0]
	e.a.AddComment(e.ctx, it.Ref, adapters.Comment{Body: "one"}, "")
	e.sync(tsync.RunOptions{})
	cp := e.b.Items()[0]
	e.b.AddComment(e.ctx, cp.Ref, adapters.Comment{Body: "two"}, "")
	e.sync(tsync.RunOptions{})
	e.clock.Advance(time.Minute)
	e.a.Edit(it.Ref, func(x *adapters.Item) { x.Labels = nil })
	e.b.Edit(cp.Ref, func(x *adapters.Item) { x.Labels = nil })
	e.sync(tsync.RunOptions{Full: true})
	e.clock.Advance(time.Minute)
	e.a.Edit(it.Ref, func(x *adapters.Item) { x.Labels = []string{"sync"}; x.Title = "back" })
	e.b.Edit(cp.Ref, func(x *adapters.Item) { x.Labels = []string{"sync"} })
	e.sync(tsync.RunOptions{})
	e.sync(tsync.RunOptions{Full: true})
	ca, _ := e.a.Comments(e.ctx, it.Ref)
	cb, _ := e.b.Comments(e.ctx, cp.Ref)
	want := []string{"one", "two"}
	if !cmp.Equal(want, commentBodies(ca)) || !cmp.Equal(want, commentBodies(cb)) {
		t.Fatalf("comments a=%v b=%v, want %v on both", commentBodies(ca), commentBodies(cb), want)
	}
	if b, _ := e.b.Get(e.ctx, cp.Ref); b.Title != "back" || len(e.b.Items()) != 1 || len(e.a.Items()) != 1 {
		t.Fatalf("after coming back: b %q, %d/%d items", b.Title, len(e.a.Items()), len(e.b.Items()))
	}
}

// A close that fails is tried again, not forgotten behind a tombstone.
func TestFailedArchiveRetried(t *testing.T) {
	e, ls := linked(t, envOpts{onDelete: "close"})
	l := ls[0]
	e.a.Delete(e.ctx, l.A)
	e.syncFailing(e.b, "archive", memory.Before, errors.New("503 service unavailable"))
	e.sync(tsync.RunOptions{Full: true})
	b, _ := e.b.Get(e.ctx, l.B)
	if b.StatusCategory != adapters.CategoryDone {
		t.Fatalf("survivor still %q after the close was retried", b.Status)
	}
}

// A copy that does not match the other side's scope (the flow cannot
// write the label the scope filters on) is not taken for a departure.
func TestCopyOutsideScopeNotClosed(t *testing.T) {
	e := newEnv(t, envOpts{onDelete: "close", scopeB: "label:sync"})
	it := e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "x", Status: "In Progress"})[0]
	e.sync(tsync.RunOptions{})
	res := e.sync(tsync.RunOptions{Full: true})
	a, _ := e.a.Get(e.ctx, it.Ref)
	if a.Status != "In Progress" || res.Run.Counts.Archived != 0 {
		t.Fatalf("original closed because its copy is outside b's scope: %q, %+v", a.Status, res.Run.Counts)
	}
}

// A write the tracker refuses for good fails the run (and says so) but
// does not hold the cursor back: other items keep syncing.
func TestPermanentErrorDoesNotStall(t *testing.T) {
	e, ls := linked(t, envOpts{})
	e.clock.Advance(time.Minute)
	e.a.Edit(ls[0].A, func(x *adapters.Item) { x.Title = "refused" })
	e.b.SetHook(func(op string, ref adapters.Ref, ph memory.Phase) error {
		if op == "update" && ph == memory.Before && ref.ID == ls[0].B.ID {
			return adapters.Permanent(errors.New("400: summary too long"))
		}
		return nil
	})
	if _, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{}); err == nil || !strings.Contains(err.Error(), "summary too long") {
		t.Fatalf("err = %v, want the tracker's refusal", err)
	}
	// Another item changes; the next run lists only it (the cursor moved).
	e.clock.Advance(time.Minute)
	e.a.Edit(ls[1].A, func(x *adapters.Item) { x.Title = "fine" })
	e.a.ResetCounts()
	res, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{})
	if err != nil {
		t.Fatalf("next run: %v", err)
	}
	if res.Run.Counts.Updated != 1 {
		t.Fatalf("next run counts %+v, want the one new change only", res.Run.Counts)
	}
	// A full reconcile tries the refused one again; now it is accepted.
	e.b.SetHook(nil)
	e.sync(tsync.RunOptions{Full: true})
	b, _ := e.b.Get(e.ctx, ls[0].B)
	if b.Title != "refused" {
		t.Fatalf("full reconcile did not retry the refused write: %q", b.Title)
	}
}

// single hides a tracker's CreateMany, so each create is a write of its own.
type single struct {
	adapters.Tracker
	adapters.Commenter
}

// Draining stops a run between writes; the next run finishes the job.
// (Creates one at a time: a CreateMany is one write, drained as a whole.)
func TestDrainingStopsBetweenWrites(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.flow.B = single{e.b, e.b}
	for i := 0; i < 5; i++ {
		e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: string(rune('a' + i)), Status: "To Do"})
	}
	writes := 0
	e.eng = tsync.New(e.st, tsync.Options{Clock: e.clock.Now, Draining: func() bool { return writes >= 2 },
		Crash: func(p tsync.CrashPoint, op *tsync.Op) error {
			if p == tsync.CrashAfterCall {
				writes++
			}
			return nil
		}})
	_, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{})
	if !errors.Is(err, tsync.ErrDraining) {
		t.Fatalf("err = %v, want ErrDraining", err)
	}
	if n := len(e.b.Items()); n != 2 {
		t.Fatalf("%d items made before draining, want 2 (the writes in flight)", n)
	}
	pend, _ := e.st.PendingJournal(e.ctx, "f")
	if len(pend) != 0 {
		t.Fatalf("%d writes left pending: the one in flight must be recorded", len(pend))
	}
	e.eng = tsync.New(e.st, tsync.Options{Clock: e.clock.Now})
	e.sync(tsync.RunOptions{})
	if n := len(e.b.Items()); n != 5 || len(e.links()) != 5 {
		t.Fatalf("after restart: %d items, %d links; want 5 and 5", n, len(e.links()))
	}
}

// failingLinks is a store whose FindLink fails for one item ID once armed,
// as a locked or broken database would.
type failingLinks struct {
	store.Store
	id  string
	err error
}

func (s *failingLinks) FindLink(ctx context.Context, flow string, side store.Side, id string) (store.Link, error) {
	if s.err != nil && id == s.id {
		return store.Link{}, s.err
	}
	return s.Store.FindLink(ctx, flow, side, id)
}

// A store error while translating a parent fails the plan, naming the
// parent; it is not a parent "not linked (yet)" to warn about and skip.
func TestParentStoreErrorFailsPlan(t *testing.T) {
	fields := defaultFields()
	fields["parent"] = config.FieldConfig{Direction: "a-to-b"}
	e := newEnv(t, envOpts{fields: fields})
	epic := e.a.Seed(adapters.Item{Kind: adapters.KindEpic, Title: "epic", Status: "To Do"})[0]
	e.sync(tsync.RunOptions{})
	e.clock.Advance(time.Hour)
	// A run with nothing to do moves the cursors past the epic, so the
	// next run lists only the child and reads the epic's link only to
	// translate the parent.
	e.sync(tsync.RunOptions{})
	e.clock.Advance(time.Hour)
	e.a.Seed(adapters.Item{Kind: adapters.KindTask, Title: "child", Status: "To Do", Parent: &epic.Ref})
	fs := &failingLinks{Store: e.st, id: epic.Ref.ID, err: errors.New("database disk image is malformed")}
	eng := tsync.New(fs, tsync.Options{Clock: e.clock.Now})
	p, err := eng.Plan(e.ctx, e.flow, tsync.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "malformed") || !strings.Contains(err.Error(), "a:"+epic.Ref.ID) {
		var warns []string
		if p != nil {
			warns = p.Warnings
		}
		t.Fatalf("plan err = %v (warnings %q), want the store's error naming parent a:%s", err, warns, epic.Ref.ID)
	}
	if _, err := eng.Sync(e.ctx, e.flow, tsync.RunOptions{}); err == nil {
		t.Fatal("sync with a failing store succeeded")
	}
	if n := len(e.b.Items()); n != 1 {
		t.Fatalf("b holds %d items after the failed run, want only the epic's copy", n)
	}
	fs.err = nil
	e.sync(tsync.RunOptions{})
	e.wantChildUnderEpic()
}

// An incremental plan (cursors stored, nothing listed) still counts the
// flow's links.
func TestIncrementalPlanCountsLinks(t *testing.T) {
	e := newEnv(t, envOpts{})
	seedBoth(e)
	e.sync(tsync.RunOptions{})
	want := len(e.links())
	p := e.plan()
	if p.Full || p.Linked != want || want == 0 {
		t.Fatalf("plan: full %v, %d linked; want incremental with %d", p.Full, p.Linked, want)
	}
	var b strings.Builder
	p.WriteText(&b)
	if !strings.Contains(b.String(), fmt.Sprintf("flow f: %d linked", want)) {
		t.Errorf("plan text:\n%s", b.String())
	}
}

// Undo of an unknown run names the run once.
func TestUndoUnknownRunMessage(t *testing.T) {
	e := newEnv(t, envOpts{})
	_, err := e.eng.Undo(e.ctx, map[string]*tsync.Flow{"f": e.flow}, 999)
	if !errors.Is(err, store.ErrNotFound) || strings.Count(err.Error(), "run 999") != 1 {
		t.Fatalf("undo 999: %v, want not found naming run 999 once", err)
	}
}
