package memory_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/memory"
)

func TestConformance(t *testing.T) {
	clock := memory.NewClock(time.Time{})
	var cur *memory.Tracker // the tracker of the running subtest; they run one at a time
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) adapters.Tracker {
			cur = newTracker(t, memory.Options{Clock: clock.Now})
			return cur
		},
		Advance:         clock.Advance,
		InjectRateLimit: func(d time.Duration) { cur.InjectRateLimit(1, d) },
		Edit: func(t *testing.T, ref adapters.Ref, mutate func(*adapters.Item)) {
			if _, err := cur.Edit(ref, mutate); err != nil {
				t.Fatal(err)
			}
		},
		Break: func(t *testing.T) { cur.InjectRateLimit(1000, time.Hour) },
	})
}

// TestConformanceCustomWorkflow runs the suite on a tracker shaped unlike
// the default: its own statuses, custom fields, no parent, small pages,
// and the suite's stand-ins for Edit and Advance.
func TestConformanceCustomWorkflow(t *testing.T) {
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) adapters.Tracker {
			return newTracker(t, memory.Options{
				Statuses: []adapters.StatusDef{{Name: "Open", Category: adapters.CategoryTodo}, {Name: "Closed", Category: adapters.CategoryDone}},
				Fields:   []string{adapters.FieldTitle, adapters.FieldBody, adapters.FieldStatus, adapters.FieldLabels, "custom:Team"},
				Kinds:    []adapters.Kind{adapters.KindEpic},
				PageSize: 3,
			})
		},
	})
}

func newTracker(t *testing.T, opts memory.Options) *memory.Tracker {
	t.Helper()
	tr, err := memory.New("mem", opts)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts memory.Options
	}{
		{"duplicate status", memory.Options{Statuses: []adapters.StatusDef{{Name: "A", Category: "todo"}, {Name: "A", Category: "done"}}}},
		{"bad category", memory.Options{Statuses: []adapters.StatusDef{{Name: "A", Category: "later"}}}},
		{"unknown field", memory.Options{Fields: []string{"colour"}}},
		{"unknown kind", memory.Options{Kinds: []adapters.Kind{"story"}}},
		{"page size too big", memory.Options{PageSize: memory.MaxPageSize + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := memory.New("mem", tt.opts); err == nil {
				t.Errorf("New accepted %+v", tt.opts)
			}
		})
	}
}

func TestRefsAndVersions(t *testing.T) {
	clock := memory.NewClock(time.Time{})
	tr := newTracker(t, memory.Options{Clock: clock.Now, Project: "DEMO"})
	ctx := t.Context()
	res, err := tr.Create(ctx, adapters.Item{Title: "one"}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := adapters.Item{
		Ref:            adapters.Ref{Tracker: "mem", Project: "DEMO", ID: "1", Key: "DEMO-1", URL: "mem://mem/DEMO-1"},
		Kind:           adapters.KindIssue,
		Title:          "one",
		Status:         "To Do",
		StatusCategory: adapters.CategoryTodo,
		UpdatedAt:      clock.Now(),
		Version:        "1",
	}
	if diff := cmp.Diff(want, res.Item); diff != "" {
		t.Errorf("created item (-want +got):\n%s", diff)
	}
	clock.Advance(time.Hour)
	up, err := tr.Update(ctx, res.Item.Ref, adapters.Patch{Fields: []string{"status"}, Item: adapters.Item{Status: "In Review"}})
	if err != nil {
		t.Fatal(err)
	}
	if up.Version != "2" || !up.UpdatedAt.Equal(clock.Now()) || up.StatusCategory != adapters.CategoryInProgress {
		t.Errorf("after update: version %q, updated %v, category %q", up.Version, up.UpdatedAt, up.StatusCategory)
	}
	// Writing what is already there is no change.
	same, err := tr.Update(ctx, res.Item.Ref, adapters.Patch{Fields: []string{"status"}, Item: adapters.Item{Status: "In Review"}})
	if err != nil || same.Version != "2" {
		t.Errorf("no-op update: version %q, error %v; want version 2", same.Version, err)
	}
	_, err = tr.Update(ctx, res.Item.Ref, adapters.Patch{Fields: []string{"status"}, Item: adapters.Item{Status: "Blocked"}})
	if !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("unknown status: got %v, want ErrInvalid", err)
	}
	t.Logf("unknown status error reads: %v", err)
}

func TestInvalidWrites(t *testing.T) {
	tr := newTracker(t, memory.Options{})
	ctx := t.Context()
	parent := tr.Seed(adapters.Item{Title: "epic", Kind: adapters.KindEpic})[0]
	child := tr.Seed(adapters.Item{Title: "child", Parent: &parent.Ref})[0]
	tests := []struct {
		name  string
		write func() error
	}{
		{"no title", func() error { _, err := tr.Create(ctx, adapters.Item{}, adapters.CreateOptions{}); return err }},
		{"unknown kind", func() error {
			_, err := tr.Create(ctx, adapters.Item{Title: "x", Kind: "story"}, adapters.CreateOptions{})
			return err
		}},
		{"bad due date", func() error {
			_, err := tr.Create(ctx, adapters.Item{Title: "x", Due: "31/12/2030"}, adapters.CreateOptions{})
			return err
		}},
		{"missing parent", func() error {
			_, err := tr.Create(ctx, adapters.Item{Title: "x", Parent: &adapters.Ref{Tracker: "mem", ID: "99"}}, adapters.CreateOptions{})
			return err
		}},
		{"parent in another tracker", func() error {
			_, err := tr.Create(ctx, adapters.Item{Title: "x", Parent: &adapters.Ref{Tracker: "jira", ID: "1"}}, adapters.CreateOptions{})
			return err
		}},
		{"parent cycle", func() error {
			_, err := tr.Update(ctx, parent.Ref, adapters.Patch{Fields: []string{"parent"}, Item: adapters.Item{Parent: &child.Ref}})
			return err
		}},
		{"empty comment", func() error { _, err := tr.AddComment(ctx, child.Ref, adapters.Comment{}, ""); return err }},
		{"bad scope", func() error { _, err := tr.List(ctx, adapters.ListRequest{Scope: "project = X"}); return err }},
		{"bad cursor", func() error { _, err := tr.List(ctx, adapters.ListRequest{Cursor: "yesterday"}); return err }},
		{"bad page token", func() error { _, err := tr.List(ctx, adapters.ListRequest{PageToken: "p9-1"}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.write(); !errors.Is(err, adapters.ErrInvalid) {
				t.Errorf("got error %v, want one wrapping ErrInvalid", err)
			}
		})
	}
	if got := len(tr.Items()); got != 2 {
		t.Errorf("%d items after refused writes, want the 2 seeded", got)
	}
}

func TestPathPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	clock := memory.NewClock(time.Time{})
	ctx := t.Context()
	first := newTracker(t, memory.Options{Path: path, Clock: clock.Now})
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("New wrote %s before any write (stat error %v)", path, err)
	}
	made, err := first.Create(ctx, adapters.Item{Title: "kept", Labels: []string{"b", "a"}}, adapters.CreateOptions{IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := first.AddComment(ctx, made.Item.Ref, adapters.Comment{Body: "hello"}, "ck")
	if err != nil {
		t.Fatal(err)
	}
	gone, err := first.Create(ctx, adapters.Item{Title: "gone"}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	page, err := first.List(ctx, adapters.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Delete(ctx, gone.Item.Ref); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	if left, _ := filepath.Glob(path + ".tmp-*"); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}

	second := newTracker(t, memory.Options{Path: path, Clock: clock.Now})
	if diff := cmp.Diff(first.Items(), second.Items()); diff != "" {
		t.Errorf("items after reload (-before +after):\n%s", diff)
	}
	again, err := second.Create(ctx, adapters.Item{Title: "kept"}, adapters.CreateOptions{IdempotencyKey: "k1"})
	if err != nil || !again.Existed || again.Item.Ref.ID != made.Item.Ref.ID {
		t.Errorf("idempotent create after reload: %+v, %v", again, err)
	}
	c2, err := second.AddComment(ctx, made.Item.Ref, adapters.Comment{Body: "hello"}, "ck")
	if err != nil || c2.ID != c.ID {
		t.Errorf("idempotent comment after reload: %+v, %v; want comment %s", c2, err, c.ID)
	}
	since, err := second.List(ctx, adapters.ListRequest{Cursor: page.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(since.Items) != 0 || len(since.Deleted) != 1 || since.Deleted[0].ID != gone.Item.Ref.ID {
		t.Errorf("listing since a cursor from before the reload: items %v, deleted %v; want only %s deleted", since.Items, since.Deleted, gone.Item.Ref)
	}
	next, err := second.Create(ctx, adapters.Item{Title: "third"}, adapters.CreateOptions{})
	if err != nil || next.Item.Ref.ID != "3" {
		t.Errorf("create after reload got ID %q (error %v), want 3: IDs are never reused", next.Item.Ref.ID, err)
	}

	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := memory.New("mem", memory.Options{Path: path}); err == nil {
		t.Error("New loaded a corrupt state file without complaint")
	}
}

func TestHooks(t *testing.T) {
	ctx := t.Context()
	boom := errors.New("boom")

	t.Run("before aborts", func(t *testing.T) {
		tr := newTracker(t, memory.Options{})
		it := tr.Seed(adapters.Item{Title: "a"})[0]
		tr.SetHook(func(op string, ref adapters.Ref, p memory.Phase) error {
			if p == memory.Before {
				return boom
			}
			return nil
		})
		_, err := tr.Update(ctx, it.Ref, adapters.Patch{Fields: []string{"title"}, Item: adapters.Item{Title: "b"}})
		if !errors.Is(err, boom) {
			t.Errorf("Update: got %v, want the hook's error", err)
		}
		if _, err := tr.Create(ctx, adapters.Item{Title: "new"}, adapters.CreateOptions{}); !errors.Is(err, boom) {
			t.Errorf("Create: got %v, want the hook's error", err)
		}
		if got := tr.Items(); len(got) != 1 || got[0].Title != "a" || got[0].Version != "1" {
			t.Errorf("a write was applied despite the Before hook: %+v", got)
		}
		if n := tr.Counts().Writes(); n != 2 {
			t.Errorf("Writes() = %d, want 2 attempted writes", n)
		}
	})

	t.Run("after reports an applied write", func(t *testing.T) {
		tr := newTracker(t, memory.Options{})
		tr.SetHook(func(op string, ref adapters.Ref, p memory.Phase) error {
			if op == memory.OpCreate && p == memory.After {
				return fmt.Errorf("timeout reading the response for %s", ref)
			}
			return nil
		})
		_, err := tr.Create(ctx, adapters.Item{Title: "made"}, adapters.CreateOptions{IdempotencyKey: "k"})
		if err == nil {
			t.Fatal("Create returned no error from the After hook")
		}
		tr.SetHook(nil)
		res, err := tr.Create(ctx, adapters.Item{Title: "made"}, adapters.CreateOptions{IdempotencyKey: "k"})
		if err != nil || !res.Existed {
			t.Errorf("retried Create: %+v, %v; want it to find the item the failed call made", res, err)
		}
		if n := len(tr.Items()); n != 1 {
			t.Errorf("%d items, want 1", n)
		}
	})

	t.Run("ops and phases", func(t *testing.T) {
		tr := newTracker(t, memory.Options{})
		var got []string
		tr.SetHook(func(op string, ref adapters.Ref, p memory.Phase) error {
			got = append(got, fmt.Sprintf("%s %s %s", p, op, ref))
			return nil
		})
		res, _ := tr.Create(ctx, adapters.Item{Title: "a"}, adapters.CreateOptions{})
		ref := res.Item.Ref
		_, _ = tr.Update(ctx, ref, adapters.Patch{Fields: []string{"title"}, Item: adapters.Item{Title: "b"}})
		c, _ := tr.AddComment(ctx, ref, adapters.Comment{Body: "x"}, "")
		_, _ = tr.EditComment(ctx, ref, adapters.Comment{ID: c.ID, Body: "y"})
		_, _ = tr.Archive(ctx, ref)
		_ = tr.Delete(ctx, ref)
		want := []string{
			"before create mem:", "after create mem:MEM-1",
			"before update mem:MEM-1", "after update mem:MEM-1",
			"before comment_add mem:MEM-1", "after comment_add mem:MEM-1",
			"before comment_edit mem:MEM-1", "after comment_edit mem:MEM-1",
			"before archive mem:MEM-1", "after archive mem:MEM-1",
			"before delete mem:MEM-1", "after delete mem:MEM-1",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("hook calls (-want +got):\n%s", diff)
		}
	})

	t.Run("hook may edit the item mid-write", func(t *testing.T) {
		tr := newTracker(t, memory.Options{})
		it := tr.Seed(adapters.Item{Title: "a"})[0]
		tr.SetHook(func(op string, ref adapters.Ref, p memory.Phase) error {
			if p == memory.Before {
				_, err := tr.Edit(ref, func(x *adapters.Item) { x.Title = "a person got there first" })
				return err
			}
			return nil
		})
		_, err := tr.Update(ctx, it.Ref, adapters.Patch{Fields: []string{"title"}, Item: adapters.Item{Title: "b"}, IfVersion: it.Version})
		if !errors.Is(err, adapters.ErrConflict) {
			t.Errorf("got %v, want ErrConflict: the item changed between read and write", err)
		}
	})
}

func TestCounts(t *testing.T) {
	tr := newTracker(t, memory.Options{})
	ctx := t.Context()
	res, _ := tr.Create(ctx, adapters.Item{Title: "a"}, adapters.CreateOptions{})
	ref := res.Item.Ref
	_, _ = tr.CreateMany(ctx, []adapters.CreateRequest{{Item: adapters.Item{Title: "b"}}, {Item: adapters.Item{Title: "c"}}})
	_, _ = tr.Get(ctx, ref)
	_, _ = tr.Get(ctx, adapters.Ref{ID: "404"})
	_, _ = tr.List(ctx, adapters.ListRequest{})
	_, _ = tr.Update(ctx, ref, adapters.Patch{Fields: []string{"title"}, Item: adapters.Item{Title: "a"}})
	_, _ = tr.Comments(ctx, ref)
	c, _ := tr.AddComment(ctx, ref, adapters.Comment{Body: "x"}, "")
	_, _ = tr.EditComment(ctx, ref, adapters.Comment{ID: c.ID, Body: "y"})
	_, _ = tr.Archive(ctx, ref)
	_ = tr.Delete(ctx, ref)
	tr.Seed(adapters.Item{Title: "seeded"})
	_, _ = tr.Edit(adapters.Ref{ID: "2"}, func(x *adapters.Item) { x.Title = "edited" })
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _ = tr.Get(cancelled, ref)

	want := memory.Counts{Gets: 2, Lists: 1, Creates: 3, Updates: 1, CommentReads: 1, CommentWrites: 2, Deletes: 1, Archives: 1}
	if diff := cmp.Diff(want, tr.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if got := tr.Writes(); got != 8 {
		t.Errorf("Writes() = %d, want 8", got)
	}
	tr.ResetCounts()
	if got := tr.Counts(); got != (memory.Counts{}) {
		t.Errorf("after ResetCounts: %+v", got)
	}
}

func TestInjectRateLimit(t *testing.T) {
	tr := newTracker(t, memory.Options{})
	ctx := t.Context()
	it := tr.Seed(adapters.Item{Title: "a"})[0]
	tr.InjectRateLimit(2, 30*time.Second)
	for i := range 2 {
		_, err := tr.List(ctx, adapters.ListRequest{})
		var rl *adapters.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second {
			t.Errorf("call %d: got %v, want a RateLimitError with RetryAfter 30s", i+1, err)
		}
	}
	if _, err := tr.Get(ctx, it.Ref); err != nil {
		t.Errorf("third call: %v", err)
	}
	tr.InjectRateLimit(1, time.Second)
	if err := tr.Check(ctx); err == nil {
		t.Error("Check passed while rate limited")
	}
	if err := tr.Check(ctx); err != nil {
		t.Errorf("Check: %v", err)
	}
	tr.InjectRateLimit(5, time.Second)
	tr.InjectRateLimit(0, 0)
	if _, err := tr.Get(ctx, it.Ref); err != nil {
		t.Errorf("after clearing the injection: %v", err)
	}
}

func TestScopes(t *testing.T) {
	tr := newTracker(t, memory.Options{})
	ctx := t.Context()
	tr.Seed(
		adapters.Item{Title: "epic one", Kind: adapters.KindEpic, Labels: []string{"team-a"}},
		adapters.Item{Title: "epic two", Kind: adapters.KindEpic, Labels: []string{"team-b"}},
		adapters.Item{Title: "issue one", Kind: adapters.KindIssue, Labels: []string{"team-a", "bug"}},
		adapters.Item{Title: "task one", Kind: adapters.KindTask},
	)
	tests := []struct {
		scope string
		want  []string
	}{
		{"", []string{"epic one", "epic two", "issue one", "task one"}},
		{"kind:epic", []string{"epic one", "epic two"}},
		{"label:team-a", []string{"epic one", "issue one"}},
		{"label:team-a kind:epic", []string{"epic one"}},
		{"label:team-a label:bug", []string{"issue one"}},
		{"kind:epic kind:task", nil},
		{"label:nobody", nil},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			page, err := tr.List(ctx, adapters.ListRequest{Scope: tt.scope})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range page.Items {
				got = append(got, it.Title)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("titles (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("deletions are scoped", func(t *testing.T) {
		start, err := tr.List(ctx, adapters.ListRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"1", "4"} { // epic one, task one
			if err := tr.Delete(ctx, adapters.Ref{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		page, err := tr.List(ctx, adapters.ListRequest{Scope: "kind:epic", Cursor: start.Cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Deleted) != 1 || page.Deleted[0].ID != "1" {
			t.Errorf("deleted in scope kind:epic: %v, want only item 1", page.Deleted)
		}
	})
}

// TestListingDuringChanges checks the cursor promise in the awkward cases:
// items changed while a listing pages through, and comments.
func TestListingDuringChanges(t *testing.T) {
	tr := newTracker(t, memory.Options{})
	ctx := t.Context()
	items := tr.Seed(adapters.Item{Title: "a"}, adapters.Item{Title: "b"}, adapters.Item{Title: "c"}, adapters.Item{Title: "d"})

	p1, err := tr.List(ctx, adapters.ListRequest{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Change one item already listed and one not yet reached.
	for _, it := range []adapters.Item{items[0], items[3]} {
		if _, err := tr.Edit(it.Ref, func(x *adapters.Item) { x.Title += "!" }); err != nil {
			t.Fatal(err)
		}
	}
	p2, err := tr.List(ctx, adapters.ListRequest{PageSize: 2, PageToken: p1.NextPageToken})
	if err != nil {
		t.Fatal(err)
	}
	if p2.NextPageToken != "" {
		t.Fatalf("a third page after a two-page listing: %q", p2.NextPageToken)
	}
	next, err := tr.List(ctx, adapters.ListRequest{Cursor: p2.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range next.Items {
		got = append(got, it.Title)
	}
	if diff := cmp.Diff([]string{"a!", "d!"}, got); diff != "" {
		t.Errorf("the next listing must bring the changes made while paging (-want +got):\n%s", diff)
	}

	// A comment brings the item back without a new version.
	if _, err := tr.AddComment(ctx, items[1].Ref, adapters.Comment{Body: "note"}, ""); err != nil {
		t.Fatal(err)
	}
	after, err := tr.List(ctx, adapters.ListRequest{Cursor: next.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Items) != 1 || after.Items[0].Ref.ID != items[1].Ref.ID || after.Items[0].Version != "1" {
		t.Errorf("after a comment: listed %+v; want item %s at version 1", after.Items, items[1].Ref.ID)
	}
	if len(after.Items) == 1 && after.Items[0].Comments != nil {
		t.Errorf("listed items must come without comments")
	}
}

func TestEditAndSeed(t *testing.T) {
	clock := memory.NewClock(time.Time{})
	tr := newTracker(t, memory.Options{Clock: clock.Now})
	seeded := tr.Seed(
		adapters.Item{Title: "epic", Kind: adapters.KindEpic, Status: "In Progress",
			Comments: []adapters.Comment{{Author: "ana", Body: "kick-off"}}},
	)
	if got := seeded[0]; got.StatusCategory != adapters.CategoryInProgress || len(got.Comments) != 1 || got.Comments[0].ID == "" {
		t.Errorf("seeded: %+v", got)
	}
	clock.Advance(time.Minute)
	edited, err := tr.Edit(seeded[0].Ref, func(it *adapters.Item) {
		it.Status = "Done"
		it.Version = "bogus"
		it.Comments[0].Body = "kick-off (edited)"
		it.Comments = append(it.Comments, adapters.Comment{Author: "bo", Body: "shipped"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if edited.Version != "2" || edited.StatusCategory != adapters.CategoryDone || !edited.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("edited: version %q category %q updated %v", edited.Version, edited.StatusCategory, edited.UpdatedAt)
	}
	if len(edited.Comments) != 2 || edited.Comments[1].ID == "" || !edited.Comments[0].UpdatedAt.Equal(clock.Now()) {
		t.Errorf("edited comments: %+v", edited.Comments)
	}
	if _, err := tr.Edit(seeded[0].Ref, func(it *adapters.Item) { it.Status = "Nope" }); !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("edit to an unknown status: %v, want ErrInvalid", err)
	}
	if n := tr.Writes(); n != 0 {
		t.Errorf("Seed and Edit counted %d writes, want 0", n)
	}
	defer func() {
		if recover() == nil {
			t.Error("Seed of an item with an unknown status did not panic")
		}
	}()
	tr.Seed(adapters.Item{Title: "x", Status: "Nope"})
}

func TestRegistry(t *testing.T) {
	reg := adapters.NewRegistry()
	if err := reg.Register(memory.Spec()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	raw := map[string]any{
		"project":  "DEMO",
		"path":     "demo.json",
		"statuses": "Open:todo, Doing:in_progress, Closed:done",
		"fields":   "title, status, custom:Team",
	}
	tr, err := reg.Open(t.Context(), "demo", "memory", raw, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	caps := tr.Capabilities()
	want := []adapters.StatusDef{{Name: "Open", Category: "todo"}, {Name: "Doing", Category: "in_progress"}, {Name: "Closed", Category: "done"}}
	if diff := cmp.Diff(want, caps.Statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"title", "status", "custom:Team"}, caps.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	res, err := tr.Create(t.Context(), adapters.Item{Title: "x"}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Item.Ref.Key != "DEMO-1" {
		t.Errorf("key %q, want DEMO-1", res.Item.Ref.Key)
	}
	if _, err := os.Stat(filepath.Join(dir, "demo.json")); err != nil {
		t.Errorf("path is not relative to BaseDir: %v", err)
	}

	_, err = reg.Open(t.Context(), "bad", "memory", map[string]any{"statuses": "Open"}, nil, dir)
	if err == nil {
		t.Fatal("Open accepted statuses without categories")
	}
	t.Logf("bad statuses error reads: %v", err)
	if _, ok := adapters.Default.Lookup("memory"); !ok {
		t.Error("init did not register kind memory in adapters.Default")
	}
}

func TestConcurrentUse(t *testing.T) {
	tr := newTracker(t, memory.Options{Path: filepath.Join(t.TempDir(), "state.json")})
	ctx := t.Context()
	const workers, each = 8, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				res, err := tr.Create(ctx, adapters.Item{Title: fmt.Sprintf("w%d-%d", w, i)}, adapters.CreateOptions{IdempotencyKey: fmt.Sprintf("k%d", i)})
				if err != nil {
					t.Error(err)
					return
				}
				ref := res.Item.Ref
				_, _ = tr.Update(ctx, ref, adapters.Patch{Fields: []string{"labels"}, Item: adapters.Item{Labels: []string{fmt.Sprint(w)}}})
				_, _ = tr.AddComment(ctx, ref, adapters.Comment{Body: "hi"}, fmt.Sprint(w))
				_, _ = tr.Edit(ref, func(it *adapters.Item) { it.Body = "edited" })
				_, _ = tr.Get(ctx, ref)
				_, _ = tr.List(ctx, adapters.ListRequest{PageSize: 5})
				_ = tr.Items()
			}
		})
	}
	wg.Wait()
	// The same idempotency keys were used by every worker: one item per key.
	if n := len(tr.Items()); n != each {
		t.Errorf("%d items, want %d (one per idempotency key)", n, each)
	}
	seen := map[string]int{}
	cursor, token := "", ""
	for {
		p, err := tr.List(ctx, adapters.ListRequest{Cursor: cursor, PageToken: token, PageSize: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			seen[it.Ref.ID]++
		}
		if token = p.NextPageToken; token == "" {
			break
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("item %s listed %d times", id, n)
		}
	}
}

func TestComments(t *testing.T) {
	clock := memory.NewClock(time.Time{})
	tr := newTracker(t, memory.Options{Clock: clock.Now})
	ctx := t.Context()
	items := tr.Seed(adapters.Item{Title: "a"}, adapters.Item{Title: "b"})
	a, b := items[0].Ref, items[1].Ref

	c, err := tr.AddComment(ctx, a, adapters.Comment{Author: "ana", Body: "hi"}, "key")
	if err != nil {
		t.Fatal(err)
	}
	// The same key on another item is another comment.
	other, err := tr.AddComment(ctx, b, adapters.Comment{Body: "hi"}, "key")
	if err != nil || other.ID == c.ID {
		t.Errorf("same key on another item: %+v, %v; want a new comment", other, err)
	}
	start, err := tr.List(ctx, adapters.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	e, err := tr.EditComment(ctx, a, adapters.Comment{ID: c.ID, Body: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	want := adapters.Comment{ID: c.ID, Author: "ana", Body: "hello", CreatedAt: c.CreatedAt, UpdatedAt: clock.Now(), SyncKey: "key"}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("edited comment (-want +got):\n%s", diff)
	}
	got, _ := tr.Get(ctx, a)
	// Like Jira and GitHub: a comment moves the item's updated time but
	// not its field version.
	if got.Version != "1" || !got.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("after a comment edit: version %q (want 1), updated %v (want %v)", got.Version, got.UpdatedAt, clock.Now())
	}
	page, err := tr.List(ctx, adapters.ListRequest{Cursor: start.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Ref.ID != a.ID {
		t.Errorf("after a comment edit, listed %v; want item %s", page.Items, a.ID)
	}
	if _, err := tr.EditComment(ctx, a, adapters.Comment{ID: other.ID, Body: "x"}); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("editing another item's comment: %v, want ErrNotFound", err)
	}
}

func TestDeleteOrphansChildren(t *testing.T) {
	tr := newTracker(t, memory.Options{})
	ctx := t.Context()
	epic := tr.Seed(adapters.Item{Title: "epic", Kind: adapters.KindEpic})[0]
	child := tr.Seed(adapters.Item{Title: "child", Parent: &epic.Ref})[0]
	if child.Parent == nil || child.Parent.Key != epic.Ref.Key {
		t.Fatalf("seeded child's parent: %+v", child.Parent)
	}
	start, _ := tr.List(ctx, adapters.ListRequest{})
	if err := tr.Delete(ctx, epic.Ref); err != nil {
		t.Fatal(err)
	}
	got, err := tr.Update(ctx, child.Ref, adapters.Patch{Fields: []string{"title"}, Item: adapters.Item{Title: "child!"}})
	if err != nil {
		t.Fatalf("updating the child of a deleted item: %v", err)
	}
	if got.Parent != nil || got.Version != "3" {
		t.Errorf("child after its parent's delete and an update: parent %+v, version %q; want no parent, version 3", got.Parent, got.Version)
	}
	page, _ := tr.List(ctx, adapters.ListRequest{Cursor: start.Cursor})
	if len(page.Items) != 1 || len(page.Deleted) != 1 {
		t.Errorf("listing since before the delete: items %v, deleted %v; want the child and the epic", page.Items, page.Deleted)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	tr := newTracker(t, memory.Options{Path: filepath.Join(dir, "state.json")})
	if err := tr.Check(t.Context()); err != nil {
		t.Errorf("Check: %v", err)
	}
	gone := newTracker(t, memory.Options{Path: filepath.Join(dir, "missing", "state.json")})
	if err := gone.Check(t.Context()); err == nil {
		t.Error("Check passed with the state file's folder missing")
	}
}

func TestSyncKey(t *testing.T) {
	tr := newTracker(t, memory.Options{})
	ctx := t.Context()
	// A copy tracksync made in a run that crashed before recording it.
	seeded := tr.Seed(adapters.Item{Title: "copy", SyncKey: "flow:a:7"})[0]
	res, err := tr.Create(ctx, adapters.Item{Title: "copy", SyncKey: "ignored"}, adapters.CreateOptions{IdempotencyKey: "flow:a:7"})
	if err != nil || !res.Existed || res.Item.Ref.ID != seeded.Ref.ID {
		t.Errorf("create with a seeded item's key: %+v, %v; want the seeded item", res, err)
	}
	plain, err := tr.Create(ctx, adapters.Item{Title: "plain", SyncKey: "ignored"}, adapters.CreateOptions{})
	if err != nil || plain.Item.SyncKey != "" {
		t.Errorf("create without a key: sync key %q, error %v; want none", plain.Item.SyncKey, err)
	}
	edited, err := tr.Edit(seeded.Ref, func(it *adapters.Item) { it.SyncKey = "" })
	if err != nil || edited.SyncKey != "flow:a:7" {
		t.Errorf("after an outside edit: sync key %q, error %v; people cannot change it", edited.SyncKey, err)
	}
}
