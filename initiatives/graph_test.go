package initiatives

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/rollup"
)

// testGraph is an empty graph over trackers plan (the initiatives), jira
// and gh (GitHub, labels initiative:{key}), jira's children lists read as
// refs.
func testGraph() *graph {
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	return newGraph(&rules{
		source:   "plan",
		trackers: map[string]bool{"plan": true, "jira": true, "gh": true},
		kinds:    map[string]string{"plan": "roadmap", "jira": "memory", "gh": "github"},
		labels:   map[string]labelTemplate{"gh": newTemplate("initiative:{key}")},
		refRules: []string{"jira"},
		rollup:   rollup.Config{Now: func() time.Time { return now }},
	})
}

func ref(tracker, id, key string) adapters.Ref {
	return adapters.Ref{Tracker: tracker, ID: id, Key: key}
}

// A written ref resolves by tracker:key in that tracker only, by a bare
// key in any tracker allowed; what does not resolve is waited for under
// the ref as written.
func TestGraphResolve(t *testing.T) {
	g := testGraph()
	plat1 := ref("jira", "10", "PLAT-1")
	xJira, xGH := ref("jira", "11", "X-1"), ref("gh", "12", "X-1")
	web3 := ref("gh", "13", "acme/web#3")
	for _, r := range []adapters.Ref{plat1, xJira, xGH, web3} {
		g.put(adapters.Item{Ref: r, Version: "1"}, false)
	}
	for _, tc := range []struct {
		ref      string
		trackers []string
		want     adapters.Ref // zero: not found
	}{
		{ref: "jira:PLAT-1", want: plat1},
		{ref: "gh:PLAT-1"},
		{ref: "PLAT-1", want: plat1},
		{ref: "PLAT-1", trackers: []string{"gh"}},
		{ref: "X-1", trackers: []string{"gh"}, want: xGH},
		{ref: "X-1", trackers: []string{"jira"}, want: xJira},
		{ref: "X-1", trackers: []string{"plan"}},
		{ref: "acme/web#3", want: web3},
		// Not a tracker's name: the whole of it is a key.
		{ref: "nope:PLAT-1"},
	} {
		got, ok := g.resolve(tc.ref, tc.trackers, "plan:referrer")
		if got != tc.want || ok != !tc.want.IsZero() {
			t.Errorf("resolve(%q, %v) = %v, %v; want %v", tc.ref, tc.trackers, got, ok, tc.want)
		}
		_, waits := g.wants[tc.ref]["plan:referrer"]
		if waits != tc.want.IsZero() {
			t.Errorf("resolve(%q, %v): referrer waiting %v, want %v", tc.ref, tc.trackers, waits, tc.want.IsZero())
		}
	}
}

// A dropped item leaves every index: its key no longer resolves, its
// parent and the initiative its label names lose it, and those are
// among the keys to rebuild; when it comes back, who waits for it is.
func TestGraphDrop(t *testing.T) {
	g := testGraph()
	init := ref("plan", "INIT-1", "INIT-1")
	epic := ref("gh", "1", "acme/web#1")
	issue := ref("gh", "2", "acme/web#2")
	g.put(adapters.Item{Ref: init, Version: "1"}, true)
	g.put(adapters.Item{Ref: epic, Version: "1"}, false)
	it := adapters.Item{Ref: issue, Version: "1", Parent: &epic, Labels: []string{"initiative:INIT-1"}}
	g.put(it, false)
	if _, ok := g.resolve("acme/web#2", nil, "gh:1"); !ok {
		t.Fatal("acme/web#2 does not resolve before the drop")
	}

	aff := g.drop(issue)
	want := []string{"gh:1", "gh:2", "plan:INIT-1"}
	if got := slices.Sorted(maps.Keys(aff)); !slices.Equal(got, want) {
		t.Errorf("drop affects %v, want %v", got, want)
	}
	if _, ok := g.items["gh:2"]; ok {
		t.Error("the item is still there")
	}
	if g.kids["gh:1"]["gh:2"] || g.labelled["init-1"]["gh:2"] {
		t.Errorf("still a child: of its parent %v, by label %v", g.kids["gh:1"], g.labelled["init-1"])
	}
	if _, ok := g.anyKey["acme/web#2"]; ok {
		t.Error("its key still names it")
	}
	if r, ok := g.resolve("gh:acme/web#2", nil, "jira:77"); ok {
		t.Errorf("gh:acme/web#2 resolves to %v after the drop", r)
	}

	it.Version = "2"
	if aff := g.put(it, false); !aff["gh:1"] || !aff["plan:INIT-1"] || !aff["jira:77"] {
		t.Errorf("back again, it affects %v: want its parent, its initiative and who waits for it", aff)
	}
}

// An item moved to another parent leaves the old one's children; one read
// again unchanged changes nothing.
func TestGraphPutMovesParent(t *testing.T) {
	g := testGraph()
	a, b := ref("jira", "1", "PLAT-1"), ref("jira", "2", "PLAT-2")
	child := adapters.Item{Ref: ref("jira", "3", "PLAT-3"), Version: "1", Parent: &a}
	g.put(child, false)
	if aff := g.put(child, false); aff != nil {
		t.Errorf("read again unchanged: affects %v, want nothing", aff)
	}
	child.Version, child.Parent = "2", &b
	aff := g.put(child, false)
	if !aff["jira:1"] || !aff["jira:2"] {
		t.Errorf("moved: affects %v, want both parents", aff)
	}
	if g.kids["jira:1"]["jira:3"] || !g.kids["jira:2"]["jira:3"] {
		t.Errorf("children after the move: old %v, new %v", g.kids["jira:1"], g.kids["jira:2"])
	}
}

// An initiative's children: labels name it in any case, its children
// field by ref, and a GitHub task list by key; apply then finds the
// roll-up changed when a child does and when one is deleted.
func TestGraphNodeAndApply(t *testing.T) {
	g := testGraph()
	init := adapters.Item{Ref: ref("plan", "INIT-2", "INIT-2"), Version: "1", Fields: map[string]string{"children": `["PLAT-9"]`}}
	labelled := adapters.Item{Ref: ref("gh", "1", "acme/web#1"), Version: "1", StatusCategory: adapters.CategoryTodo,
		Labels: []string{"Initiative:init-2"}, Body: "- [ ] acme/web#2"}
	task := adapters.Item{Ref: ref("gh", "2", "acme/web#2"), Version: "1", StatusCategory: adapters.CategoryTodo}
	named := adapters.Item{Ref: ref("jira", "9", "PLAT-9"), Version: "1", StatusCategory: adapters.CategoryDone}
	all := g.load([]change{{items: []adapters.Item{init}, source: true}, {items: []adapters.Item{labelled, task}}, {items: []adapters.Item{named}}}, nil, nil)
	// Leaves: the task under the labelled issue, and PLAT-9.
	if len(all) != 1 || all[0].Total != 2 {
		t.Fatalf("after the load: %+v, want one initiative over 2 leaves", all)
	}
	g.mu.Lock()
	n := g.node("plan:INIT-2")
	g.mu.Unlock()
	if diff := cmp.Diff([]adapters.Ref{labelled.Ref, named.Ref}, n.Children); diff != "" {
		t.Errorf("the initiative's children (-want +got):\n%s", diff)
	}

	task.Version, task.StatusCategory = "2", adapters.CategoryDone
	changed, touched := g.apply([]change{{items: []adapters.Item{task}}}, nil)
	if len(changed) != 1 || changed[0] != init.Ref || len(touched) != 0 {
		t.Errorf("a task done: changed %v, touched %v; want the initiative changed, nothing touched", changed, touched)
	}
	changed, _ = g.apply([]change{{deleted: []adapters.Ref{named.Ref}}}, nil)
	r, _ := g.initiative("init-2")
	if len(changed) != 1 || r.Total != 1 {
		t.Errorf("PLAT-9 deleted: changed %v, total %d; want the initiative changed, total 1", changed, r.Total)
	}
}
