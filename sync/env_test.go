package sync_test

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// Side A speaks Jira-like statuses, side B GitHub-like ones; the map is
// many-to-one so the per-side base is exercised.
var (
	statusesA = flowtest.Workflow
	statusesB = flowtest.Simple
	users     = flowtest.People
)

type env struct {
	t     testing.TB
	ctx   context.Context
	clock *memory.Clock
	a, b  *memory.Tracker
	st    store.Store
	flow  *tsync.Flow
	eng   *tsync.Engine
	path  string
}

type envOpts struct {
	policy   string
	onDelete string
	share    float64
	fields   map[string]config.FieldConfig
	pageSize int
	statusB  []adapters.StatusDef
	scopeA   string
	scopeB   string
}

func defaultFields() map[string]config.FieldConfig {
	return flowtest.Fields()
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	if o.policy == "" {
		o.policy = "newest"
	}
	if o.onDelete == "" {
		o.onDelete = "unlink"
	}
	if o.share == 0 {
		o.share = 1
	}
	if o.fields == nil {
		o.fields = defaultFields()
	}
	clock := memory.NewClock(flowtest.Start)
	fields := []string{adapters.FieldTitle, adapters.FieldBody, adapters.FieldStatus, adapters.FieldAssignees, adapters.FieldLabels, adapters.FieldPriority, adapters.FieldDue, adapters.FieldParent}
	a, err := memory.New("a", memory.Options{Statuses: statusesA, Fields: fields, Clock: clock.Now, Project: "A", PageSize: pick(o.pageSize, 7)})
	if err != nil {
		t.Fatal(err)
	}
	sb := statusesB
	if o.statusB != nil {
		sb = o.statusB
	}
	b, err := memory.New("b", memory.Options{Statuses: sb, Fields: fields, Clock: clock.Now, Project: "B", PageSize: pick(o.pageSize, 5)})
	if err != nil {
		t.Fatal(err)
	}
	dir := flowtest.StateDir(t)
	st := flowtest.Store(t, dir, clock.Now)
	cf := flowtest.Flow(o.scopeA, o.scopeB, o.fields)
	cf.Conflict, cf.OnDelete, cf.MaxChangeShare = o.policy, o.onDelete, o.share
	e := &env{t: t, ctx: context.Background(), clock: clock, a: a, b: b, st: st, path: filepath.Join(dir, "state.db"),
		flow: flowtest.Compile(t, cf, users, "memory", a, "memory", b)}
	e.eng = tsync.New(st, tsync.Options{Clock: clock.Now})
	return e
}

// sync runs the flow once and fails the test on any error.
func (e *env) sync(opts tsync.RunOptions) *tsync.Result {
	e.t.Helper()
	res, err := e.eng.Sync(e.ctx, e.flow, opts)
	if err != nil {
		e.t.Fatalf("sync: %v", err)
	}
	return res
}

func (e *env) plan() *tsync.Plan {
	e.t.Helper()
	p, err := e.eng.Plan(e.ctx, e.flow, tsync.RunOptions{})
	if err != nil {
		e.t.Fatalf("plan: %v", err)
	}
	return p
}

// links returns the live links of the flow.
func (e *env) links() []store.Link {
	e.t.Helper()
	ls, err := e.st.ListLinks(e.ctx, "f")
	if err != nil {
		e.t.Fatal(err)
	}
	return ls
}

// crashRun runs the flow once in a process that dies (kill -9) at the
// first op of kind at point.
func (e *env) crashRun(point tsync.CrashPoint, kind tsync.OpKind) {
	e.eng = tsync.New(e.st, tsync.Options{Clock: e.clock.Now, Crash: flowtest.Kill(point, kind, 1)})
	e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{})
}

// restart is a new process an hour later: a fresh engine on the same
// state (the dead run's lease has run out).
func (e *env) restart() {
	e.clock.Advance(time.Hour)
	e.eng = tsync.New(e.st, tsync.Options{Clock: e.clock.Now})
}

// syncFailing runs the flow once while tr fails every op call at phase
// ph with err, and returns the run's error.
func (e *env) syncFailing(tr *memory.Tracker, op string, ph memory.Phase, err error) error {
	tr.SetHook(func(o string, _ adapters.Ref, p memory.Phase) error {
		if o == op && p == ph {
			return err
		}
		return nil
	})
	defer tr.SetHook(nil)
	_, runErr := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{})
	return runErr
}

// wantChildUnderEpic fails the test unless b's copy of the item titled
// child has b's copy of epic as its parent.
func (e *env) wantChildUnderEpic() {
	e.t.Helper()
	var epicB, childB adapters.Item
	for _, it := range e.b.Items() {
		switch it.Title {
		case "epic":
			epicB = it
		case "child":
			childB = it
		}
	}
	if childB.Parent == nil || childB.Parent.ID != epicB.Ref.ID {
		e.t.Fatalf("child copy's parent = %+v, want %s", childB.Parent, epicB.Ref)
	}
}

func commentBodies(cs []adapters.Comment) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Body
	}
	sort.Strings(out)
	return out
}

type memTracker = memory.Tracker

func pick(v, def int) int {
	if v != 0 {
		return v
	}
	return def
}
