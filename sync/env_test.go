package sync_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/sqlite"
	tsync "github.com/tracksync/tracksync/sync"
)

// Side A speaks Jira-like statuses, side B GitHub-like ones; the map is
// many-to-one so the per-side base is exercised.
var (
	statusesA = []adapters.StatusDef{{Name: "To Do", Category: adapters.CategoryTodo}, {Name: "In Progress", Category: adapters.CategoryInProgress}, {Name: "In Review", Category: adapters.CategoryInProgress}, {Name: "Done", Category: adapters.CategoryDone}}
	statusesB = []adapters.StatusDef{{Name: "open", Category: adapters.CategoryTodo}, {Name: "active", Category: adapters.CategoryInProgress}, {Name: "closed", Category: adapters.CategoryDone}}
	users     = []config.User{{Name: "Ana", IDs: map[string]string{"a": "ana", "b": "gh-ana"}}, {Name: "Bo", IDs: map[string]string{"a": "bo", "b": "gh-bo"}}, {Name: "Cy", IDs: map[string]string{"a": "cy", "b": "gh-cy"}}}
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
	return map[string]config.FieldConfig{
		"title":     {Direction: "both"},
		"body":      {Direction: "a-to-b"},
		"labels":    {Direction: "both"},
		"assignees": {Direction: "both"},
		"priority":  {Direction: "both"},
		"comments":  {Direction: "both"},
		"status": {Direction: "both", Map: []config.ValuePair{
			{A: "To Do", B: "open"}, {A: "In Progress", B: "active"}, {A: "In Review", B: "active"}, {A: "Done", B: "closed"},
		}},
	}
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
	ctx := context.Background()
	clock := memory.NewClock(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
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
	path := filepath.Join(stateDir(t), "state.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	yes := true
	cf := config.Flow{Name: "f", A: config.FlowSide{Tracker: "a", Scope: o.scopeA}, B: config.FlowSide{Tracker: "b", Scope: o.scopeB}, Direction: "both",
		Conflict: o.policy, OnDelete: o.onDelete, MaxChangeShare: o.share, Create: &yes, Fields: o.fields, Schedule: "@every 5m"}
	capsA, capsB := a.Capabilities(), b.Capabilities()
	m, probs := mapping.Compile(cf, "flows[0]", users, mapping.SideInfo{Name: "a", Kind: "memory", Caps: &capsA}, mapping.SideInfo{Name: "b", Kind: "memory", Caps: &capsB})
	if len(probs) > 0 {
		t.Fatalf("flow does not compile: %v", probs)
	}
	e := &env{t: t, ctx: ctx, clock: clock, a: a, b: b, st: st, path: path, flow: &tsync.Flow{Map: m, A: a, B: b}}
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

func commentBodies(cs []adapters.Comment) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Body
	}
	sort.Strings(out)
	return out
}

type memTracker = memory.Tracker

// stateDir is a temporary folder for a test's state file, on tmpfs where
// the machine has one: the model test syncs tens of thousands of times and
// would otherwise wait on fsync, not on the engine.
func stateDir(t testing.TB) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "tracksync-test-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

func pick(v, def int) int {
	if v != 0 {
		return v
	}
	return def
}
