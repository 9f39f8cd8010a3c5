package synctest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
	"github.com/tracksync/tracksync/sync/synctest"
)

// env is a converged flow between two in-memory trackers: an epic and its
// child made on a, an item made on b, a comment on each side.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *memory.Clock
	a, b  *memory.Tracker
	st    store.Store
	flow  *tsync.Flow
	eng   *tsync.Engine
}

var statuses = []adapters.StatusDef{{Name: "open", Category: adapters.CategoryTodo}, {Name: "closed", Category: adapters.CategoryDone}}

func newEnv(t *testing.T, policy string) *env {
	t.Helper()
	ctx := context.Background()
	clock := memory.NewClock(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	fields := []string{adapters.FieldTitle, adapters.FieldBody, adapters.FieldStatus, adapters.FieldLabels, adapters.FieldParent}
	mk := func(name string) *memory.Tracker {
		tr, err := memory.New(name, memory.Options{Statuses: statuses, Fields: fields, Clock: clock.Now, Project: strings.ToUpper(name)})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	a, b := mk("a"), mk("b")
	st := flowtest.Store(t, "", clock.Now)
	cf := flowtest.Flow("", "", map[string]config.FieldConfig{
		"title":    {Direction: "both"},
		"body":     {Direction: "a-to-b"},
		"status":   {Direction: "both"},
		"labels":   {Direction: "both"},
		"parent":   {Direction: "a-to-b"},
		"comments": {Direction: "both"},
	})
	cf.Conflict = policy
	e := &env{t: t, ctx: ctx, clock: clock, a: a, b: b, st: st, flow: flowtest.Compile(t, cf, nil, "memory", a, "memory", b), eng: tsync.New(st, tsync.Options{Clock: clock.Now})}
	epic := a.Seed(adapters.Item{Kind: adapters.KindEpic, Title: "epic", Status: "open", Body: "the epic"})[0]
	child := a.Seed(adapters.Item{Kind: adapters.KindTask, Title: "child", Status: "open", Parent: &epic.Ref, Labels: []string{"ux"}})[0]
	b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "made on b", Status: "closed"})
	if _, err := a.AddComment(ctx, child.Ref, adapters.Comment{Body: "from a"}, ""); err != nil {
		t.Fatal(err)
	}
	e.sync()
	e.sync()
	if err := synctest.Check(ctx, e.options()); err != nil {
		t.Fatalf("the control does not converge: %v", err)
	}
	return e
}

func (e *env) sync() {
	e.t.Helper()
	e.clock.Advance(time.Minute)
	if _, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{Force: true}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) options() synctest.Options {
	return synctest.Options{Engine: e.eng, Store: e.st, Flow: e.flow, A: synctest.MemorySide("a", e.a), B: synctest.MemorySide("b", e.b), RequireSyncKeys: true}
}

// item returns the item titled title on tr.
func (e *env) item(tr *memory.Tracker, title string) adapters.Item {
	e.t.Helper()
	for _, it := range tr.Items() {
		if it.Title == title {
			return it
		}
	}
	e.t.Fatalf("%s holds no item %q", tr.Name(), title)
	return adapters.Item{}
}

func (e *env) edit(tr *memory.Tracker, title string, f func(*adapters.Item)) {
	e.t.Helper()
	e.clock.Advance(time.Minute)
	if _, err := tr.Edit(e.item(tr, title).Ref, f); err != nil {
		e.t.Fatal(err)
	}
}

// twiceLinked is a store that lists its first link twice, under another
// ID, as a bookkeeping bug would leave it.
type twiceLinked struct{ store.Store }

func (s twiceLinked) ListLinks(ctx context.Context, flow string) ([]store.Link, error) {
	ls, err := s.Store.ListLinks(ctx, flow)
	if err == nil && len(ls) > 0 {
		dup := ls[0]
		dup.ID += 1000
		ls = append(ls, dup)
	}
	return ls, err
}

// TestCatchesPlantedBugs plants one bug per invariant into a converged
// flow; Check must name it.
func TestCatchesPlantedBugs(t *testing.T) {
	tests := []struct {
		name  string
		plant func(e *env, o *synctest.Options)
		want  string
	}{
		{"linked twice", func(e *env, o *synctest.Options) { o.Store = twiceLinked{e.st} }, "is linked twice"},
		{"link to a missing item", func(e *env, o *synctest.Options) {
			if err := e.b.Delete(e.ctx, e.item(e.b, "made on b").Ref); err != nil {
				t.Fatal(err)
			}
		}, "points at a missing item"},
		{"unlinked item", func(e *env, o *synctest.Options) {
			e.a.Seed(adapters.Item{Kind: adapters.KindTask, Title: "never synced", Status: "open"})
		}, `"never synced" is not linked`},
		{"pair disagrees", func(e *env, o *synctest.Options) {
			e.edit(e.b, "child", func(x *adapters.Item) { x.Labels = []string{"ux", "planted"} })
		}, "field labels"},
		{"one-way body differs", func(e *env, o *synctest.Options) {
			e.edit(e.b, "epic", func(x *adapters.Item) { x.Body = "changed on b" })
		}, "field body"},
		{"parent not mirrored", func(e *env, o *synctest.Options) {
			e.edit(e.b, "child", func(x *adapters.Item) { x.Parent = nil })
		}, "parent on b is \"\""},
		{"comment not mirrored", func(e *env, o *synctest.Options) {
			if _, err := e.b.AddComment(e.ctx, e.item(e.b, "child").Ref, adapters.Comment{Body: "only on b"}, ""); err != nil {
				t.Fatal(err)
			}
		}, "comments differ"},
		{"duplicate copy", func(e *env, o *synctest.Options) {
			copyOfChild := e.item(e.b, "child")
			e.b.Seed(adapters.Item{Kind: adapters.KindTask, Title: "second copy", Status: "open", SyncKey: copyOfChild.SyncKey})
		}, "duplicate copies"},
		{"sync keys lost", func(e *env, o *synctest.Options) {
			strip := func(tr *memory.Tracker) func(context.Context) ([]adapters.Item, error) {
				return func(context.Context) ([]adapters.Item, error) {
					items := tr.Items()
					for i := range items {
						items[i].SyncKey = ""
					}
					return items, nil
				}
			}
			o.A.Items, o.B.Items = strip(e.a), strip(e.b)
		}, "no item carries a SyncKey"},
		{"further plan not empty", func(e *env, o *synctest.Options) {
			e.edit(e.a, "made on b", func(x *adapters.Item) { x.Title = "retitled on a" })
		}, "a further run still plans work"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "newest")
			o := e.options()
			tt.plant(e, &o)
			err := synctest.Check(e.ctx, o)
			var ce *synctest.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Check = %v, want a *synctest.Error naming %q", err, tt.want)
			}
			if !slices.ContainsFunc(ce.Problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("Check did not name the planted bug (%q):\n%v", tt.want, err)
			}
		})
	}
}

// TestHeldConflict: under conflict: manual a field both sides changed is
// held, and Check accepts the disagreement on that field only.
func TestHeldConflict(t *testing.T) {
	e := newEnv(t, "manual")
	e.edit(e.a, "child", func(x *adapters.Item) { x.Title = "a's title" })
	e.edit(e.b, "child", func(x *adapters.Item) { x.Title = "b's title" })
	e.sync()
	if err := synctest.Check(e.ctx, e.options()); err != nil {
		t.Fatalf("a held conflict is converged: %v", err)
	}
	e.edit(e.b, "b's title", func(x *adapters.Item) { x.Labels = []string{"planted"} })
	err := synctest.Check(e.ctx, e.options())
	var ce *synctest.Error
	if !errors.As(err, &ce) {
		t.Fatalf("Check = %v, want the labels named", err)
	}
	var disagree []string
	for _, p := range ce.Problems {
		if strings.Contains(p, "disagree") {
			disagree = append(disagree, p)
		}
	}
	if len(disagree) != 1 || !strings.Contains(disagree[0], "field labels") {
		t.Errorf("disagreements %q, want labels alone (title holds a conflict)", disagree)
	}
}

// TestEcho: a sync that writes nothing passes, one that writes (or fails)
// does not, and the counters are reset first.
func TestEcho(t *testing.T) {
	e := newEnv(t, "newest")
	counters := []synctest.Writes{synctest.Memory("a", e.a), synctest.Memory("b", e.b)}
	run := func() error {
		_, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{Force: true})
		return err
	}
	e.edit(e.a, "epic", func(x *adapters.Item) { x.Title = "counted before the reset" })
	e.sync()
	if err := synctest.Echo(run, counters...); err != nil {
		t.Fatalf("a quiet sync: %v", err)
	}
	writing := func() error {
		if err := run(); err != nil {
			return err
		}
		// A sync with an echo bug: it writes what it just read.
		it := e.item(e.b, "made on b")
		_, err := e.b.Update(e.ctx, it.Ref, adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: it})
		return err
	}
	if err := synctest.Echo(writing, counters...); err == nil || !strings.Contains(err.Error(), "wrote 1 to b") {
		t.Errorf("Echo of a sync that writes = %v, want it to name 1 write to b", err)
	}
	failing := func() error { return errors.New("boom") }
	if err := synctest.Echo(failing, counters...); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Echo of a failing sync = %v", err)
	}
}
