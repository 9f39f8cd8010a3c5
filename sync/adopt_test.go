package sync_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// flowOver compiles another flow over e's trackers and store (a renamed
// flow, a split, a migration): cf starts as e's flow with name, then
// mutate changes it.
func (e *env) flowOver(name string, mutate func(*config.Flow)) *tsync.Flow {
	e.t.Helper()
	cf := flowtest.Flow("", "", defaultFields())
	cf.Name = name
	if mutate != nil {
		mutate(&cf)
	}
	return flowtest.Compile(e.t, cf, users, "memory", e.a, "memory", e.b)
}

func (e *env) syncFlow(f *tsync.Flow, opts tsync.RunOptions) *tsync.Result {
	e.t.Helper()
	res, err := e.eng.Sync(e.ctx, f, opts)
	if err != nil {
		e.t.Fatalf("sync %s: %v", f.Map.Name, err)
	}
	return res
}

func planText(p *tsync.Plan) string {
	var b strings.Builder
	p.WriteText(&b)
	return b.String()
}

// links of one flow, not tombstones.
func liveLinks(e *env, flow string) []store.Link {
	e.t.Helper()
	ls, err := e.st.ListLinks(e.ctx, flow)
	if err != nil {
		e.t.Fatal(err)
	}
	return slices.DeleteFunc(ls, func(l store.Link) bool { return l.Tombstone() })
}

// noDuplicates fails when a title appears more than once on a side.
func noDuplicates(t testing.TB, e *env) {
	t.Helper()
	for _, tr := range []*memTracker{e.a, e.b} {
		seen := map[string]int{}
		for _, it := range tr.Items() {
			seen[it.Title]++
		}
		for title, n := range seen {
			if n > 1 {
				t.Fatalf("tracker %s holds %q %d times", tr.Name(), title, n)
			}
		}
	}
}

func TestMatchRules(t *testing.T) {
	tests := []struct {
		name string
		seed func(e *env)
		// wantRule of the one link the plan makes; creates it may make.
		wantRule    string
		wantCreates int
	}{
		{"reference: Jira key in the GitHub body", func(e *env) {
			e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Checkout is slow", Status: "To Do"})
			e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Speed up checkout", Status: "open", Body: "Tracked in A-1 on the board."})
		}, "reference", 0},
		{"reference: the other's URL in the Jira description", func(e *env) {
			b := e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Speed up checkout", Status: "open"})[0]
			e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Checkout is slow", Status: "To Do", Body: "Mirror of B-" + b.Ref.ID + "."})
		}, "reference", 0},
		{"title: same normalized title, unique on both sides", func(e *env) {
			e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Fix  Login.", Status: "To Do"})
			e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "fix login", Status: "open"})
		}, "title", 0},
		{"key: a copy another flow made (first-format key)", func(e *env) {
			a := e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Old name", Status: "To Do"})[0]
			e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Different title", Status: "open", SyncKey: "migration/a/" + a.Ref.ID})
		}, "key", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			tt.seed(e)
			p := e.plan()
			if n := p.Count(tsync.OpLink); n != 1 {
				t.Fatalf("%d links planned, want 1:\n%s", n, planText(p))
			}
			for _, op := range p.Ops {
				if op.Kind == tsync.OpLink && op.Rule != tt.wantRule {
					t.Fatalf("matched by %q, want %q:\n%s", op.Rule, tt.wantRule, planText(p))
				}
			}
			if !strings.Contains(planText(p), "matched by "+tt.wantRule) {
				t.Fatalf("plan does not show the rule:\n%s", planText(p))
			}
			if n := p.Count(tsync.OpCreate); n != tt.wantCreates {
				t.Fatalf("%d creates, want %d:\n%s", n, tt.wantCreates, planText(p))
			}
			e.sync(tsync.RunOptions{})
			if na, nb := len(e.a.Items()), len(e.b.Items()); na != 1 || nb != 1 {
				t.Fatalf("after sync a holds %d, b %d items; want 1 each", na, nb)
			}
			if n := len(liveLinks(e, "f")); n != 1 {
				t.Fatalf("%d links", n)
			}
		})
	}
}

func TestMatchFile(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Payments v2", Status: "To Do"})[0]
	b := e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Billing rewrite", Status: "open"})[0]
	path := filepath.Join(t.TempDir(), "mapping.csv")
	if err := os.WriteFile(path, []byte("a_key,b_key\n"+a.Ref.Key+", "+b.Ref.Key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.flow = e.flowOver("f", func(cf *config.Flow) { cf.MatchFile = path })
	p := e.plan()
	if p.Count(tsync.OpLink) != 1 || p.Count(tsync.OpCreate) != 0 || !strings.Contains(planText(p), "matched by file: "+path+" line 2") {
		t.Fatalf("plan:\n%s", planText(p))
	}
	// Without the file the two are unrelated: each is copied.
	e.flow = e.flowOver("f", nil)
	if p := e.plan(); p.Count(tsync.OpCreate) != 2 {
		t.Fatalf("without the file:\n%s", planText(p))
	}
}

func TestMatchAmbiguous(t *testing.T) {
	tests := []struct {
		name string
		seed func(e *env)
		// held: items neither linked nor copied
		held int
	}{
		{"two titles on one side", func(e *env) {
			e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Flaky test", Status: "To Do"}, adapters.Item{Kind: adapters.KindIssue, Title: "flaky test", Status: "To Do"})
			e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Flaky Test", Status: "open"})
		}, 3},
		{"a body naming two items", func(e *env) {
			e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "one", Status: "To Do"}, adapters.Item{Kind: adapters.KindIssue, Title: "two", Status: "To Do"})
			e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "both", Status: "open", Body: "covers A-1 and A-2"})
		}, 3},
		{"two items naming one", func(e *env) {
			e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "one", Status: "To Do", Body: "see B-1"}, adapters.Item{Kind: adapters.KindIssue, Title: "two", Status: "To Do", Body: "also B-1"})
			e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "target", Status: "open"})
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			tt.seed(e)
			p := e.plan()
			if p.Count(tsync.OpLink) != 0 || p.Count(tsync.OpCreate) != 0 {
				t.Fatalf("an ambiguous item was linked or copied:\n%s", planText(p))
			}
			if len(p.Ambiguous) == 0 || !strings.Contains(planText(p), "ambiguous (") || !strings.Contains(planText(p), "candidates") {
				t.Fatalf("ambiguity not listed:\n%s", planText(p))
			}
			e.sync(tsync.RunOptions{})
			if n := len(e.a.Items()) + len(e.b.Items()); n != tt.held {
				t.Fatalf("%d items after sync, want the %d there were", n, tt.held)
			}
		})
	}
}

// A title match under manual holds every difference as a conflict: nothing
// is overwritten on first contact.
func TestFirstContactNothingOverwritten(t *testing.T) {
	for _, policy := range []string{"manual", "newest"} {
		t.Run(policy, func(t *testing.T) {
			e := newEnv(t, envOpts{policy: policy})
			e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Search", Status: "In Progress", Labels: []string{"ux"}})
			e.clock.Advance(time.Minute)
			e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Search", Status: "closed", Labels: []string{"bug"}})
			res, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			a, b := e.a.Items()[0], e.b.Items()[0]
			switch policy {
			case "manual":
				if a.Status != "In Progress" || b.Status != "closed" || !slices.Equal(a.Labels, []string{"ux"}) || !slices.Equal(b.Labels, []string{"bug"}) {
					t.Fatalf("manual overwrote on first contact: a %+v, b %+v", a, b)
				}
				if res.Run.Counts.Conflicts != 2 || res.Run.State != store.RunConflicts {
					t.Fatalf("counts %+v state %s: want 2 conflicts held", res.Run.Counts, res.Run.State)
				}
			case "newest":
				// B is newer: the policy says B wins.
				if a.Status != "Done" || !slices.Equal(a.Labels, []string{"bug"}) {
					t.Fatalf("newest: a %+v", a)
				}
			}
			if len(e.a.Items()) != 1 || len(e.b.Items()) != 1 {
				t.Fatal("a duplicate was made")
			}
		})
	}
}

func TestFlowRenameCreatesNothing(t *testing.T) {
	e := newEnv(t, envOpts{})
	seedBoth(e)
	e.sync(tsync.RunOptions{})
	before := len(e.a.Items()) + len(e.b.Items())
	// Renamed: the state knows nothing of "platform-epics".
	renamed := e.flowOver("platform-epics", nil)
	p, err := e.eng.Plan(e.ctx, renamed, tsync.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Count(tsync.OpCreate) != 0 || p.Count(tsync.OpLink) != 3 || p.Count(tsync.OpUpdate) != 0 || p.Count(tsync.OpConflict) != 0 {
		t.Fatalf("renamed flow plan:\n%s", planText(p))
	}
	e.a.ResetCounts()
	e.b.ResetCounts()
	e.syncFlow(renamed, tsync.RunOptions{})
	if w := e.a.Writes() + e.b.Writes(); w != 0 {
		t.Fatalf("the renamed flow's first run wrote %d times", w)
	}
	if n := len(e.a.Items()) + len(e.b.Items()); n != before {
		t.Fatalf("%d items after the rename, %d before", n, before)
	}
	// And it syncs on.
	e.clock.Advance(time.Minute)
	e.a.Edit(liveLinks(e, "platform-epics")[0].A, func(x *adapters.Item) { x.Title = "renamed item" })
	e.syncFlow(renamed, tsync.RunOptions{})
	if !slices.ContainsFunc(e.b.Items(), func(it adapters.Item) bool { return it.Title == "renamed item" }) {
		t.Fatal("edit not carried by the renamed flow")
	}
}

// Old-format keys (flow/side/id) from a flow that no longer exists are
// still recognised: a renamed flow links, not copies, with no store links
// of the old flow to go by.
func TestFlowRenameOldFormatKeys(t *testing.T) {
	e := newEnv(t, envOpts{})
	as := e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "one", Status: "To Do"}, adapters.Item{Kind: adapters.KindIssue, Title: "two", Status: "To Do"})
	for _, a := range as {
		e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: a.Title + " (copy)", Status: "open", SyncKey: "platform/a/" + a.Ref.ID})
	}
	res := e.sync(tsync.RunOptions{})
	if res.Run.Counts.Created != 0 || len(liveLinks(e, "f")) != 2 {
		t.Fatalf("counts %+v, %d links", res.Run.Counts, len(liveLinks(e, "f")))
	}
}

func TestFlowSplit(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.a.Seed(adapters.Item{Kind: adapters.KindEpic, Title: "Epic one", Status: "To Do"}, adapters.Item{Kind: adapters.KindIssue, Title: "Story one", Status: "To Do"})
	e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "From b", Status: "open"})
	e.sync(tsync.RunOptions{})
	before := len(e.a.Items()) + len(e.b.Items())
	epics := e.flowOver("epics", func(cf *config.Flow) {
		cf.A.Scope, cf.B.Scope = "kind:epic", "kind:epic"
	})
	rest := e.flowOver("stories", func(cf *config.Flow) {
		cf.A.Scope, cf.B.Scope = "kind:issue", "kind:issue"
	})
	for _, f := range []*tsync.Flow{epics, rest, epics, rest} {
		res := e.syncFlow(f, tsync.RunOptions{})
		if res.Run.Counts.Created != 0 {
			t.Fatalf("flow %s created %d", f.Map.Name, res.Run.Counts.Created)
		}
	}
	if n := len(e.a.Items()) + len(e.b.Items()); n != before {
		t.Fatalf("%d items after the split, %d before", n, before)
	}
	if ne, ns := len(liveLinks(e, "epics")), len(liveLinks(e, "stories")); ne != 1 || ns != 2 {
		t.Fatalf("links: epics %d, stories %d", ne, ns)
	}
}

// A one-off migration (another flow, a-to-b) copies A into B; a two-way
// flow started afterwards links the copies instead of copying back.
func TestMigrationThenFlow(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "alpha", Status: "To Do"}, adapters.Item{Kind: adapters.KindIssue, Title: "beta", Status: "Done"})
	migrate := e.flowOver("migration", func(cf *config.Flow) { cf.Direction = "a-to-b" })
	e.syncFlow(migrate, tsync.RunOptions{})
	if len(e.b.Items()) != 2 {
		t.Fatalf("migration made %d", len(e.b.Items()))
	}
	// The migration's state is gone (another machine, a wiped file): the
	// flow has only the keys on the items.
	for _, l := range liveLinks(e, "migration") {
		if err := e.st.DeleteLink(e.ctx, l.ID); err != nil {
			t.Fatal(err)
		}
	}
	res := e.sync(tsync.RunOptions{})
	if res.Run.Counts.Created != 0 || len(liveLinks(e, "f")) != 2 {
		t.Fatalf("counts %+v, links %d", res.Run.Counts, len(liveLinks(e, "f")))
	}
	noDuplicates(t, e)
}

func TestCreateValve(t *testing.T) {
	e := newEnv(t, envOpts{})
	for i := range config.CreateFloor + 5 {
		e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "item " + strings.Repeat("x", i+1), Status: "To Do"})
	}
	_, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{})
	var verr *tsync.ValveError
	if !errors.As(err, &verr) || verr.Creates != config.CreateFloor+5 {
		t.Fatalf("err = %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "create 30 item(s)") || !strings.Contains(msg, "--force") {
		t.Fatalf("message: %s", msg)
	}
	if len(e.b.Items()) != 0 {
		t.Fatal("the valve let creates through")
	}
	e.sync(tsync.RunOptions{Force: true})
	if len(e.b.Items()) != config.CreateFloor+5 {
		t.Fatalf("forced: %d", len(e.b.Items()))
	}
	// A small flow's first run is not blocked.
	small := newEnv(t, envOpts{})
	seedBoth(small)
	small.sync(tsync.RunOptions{})
}

func TestFirstContactStops(t *testing.T) {
	e := newEnv(t, envOpts{})
	for i := range 12 {
		e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "a " + strings.Repeat("i", i+1), Status: "To Do"})
		e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "b " + strings.Repeat("i", i+1), Status: "open"})
	}
	if txt := planText(e.plan()); !strings.Contains(txt, "first contact: 12 unlinked item(s) on side a and 12 on side b") || !strings.Contains(txt, "stop: flow f: first run over trackers that both hold work") {
		t.Fatalf("plan does not say the run would stop:\n%s", txt)
	}
	_, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{})
	var verr *tsync.ValveError
	if !errors.As(err, &verr) || !verr.FirstContact || !strings.Contains(err.Error(), "tracksync plan --flow f") {
		t.Fatalf("err = %v", err)
	}
	if e.a.Writes()+e.b.Writes() != 0 {
		t.Fatal("written")
	}
	e.sync(tsync.RunOptions{Force: true})
	// Not a first run any more.
	e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "later", Status: "To Do"})
	e.sync(tsync.RunOptions{})
}

// The valve counts items: a close under on_delete: close is an archive
// and an unlink of one item, counted once.
func TestValveCountsItems(t *testing.T) {
	e := newEnv(t, envOpts{onDelete: "close", share: 0.5})
	for i := range 5 {
		e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "item " + strings.Repeat("i", i+1), Status: "To Do"})
	}
	e.sync(tsync.RunOptions{})
	ls := liveLinks(e, "f")
	for _, l := range ls[:3] {
		if err := e.a.Delete(e.ctx, l.A); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{Full: true})
	var verr *tsync.ValveError
	if !errors.As(err, &verr) || verr.Destructive != 3 || verr.Linked != 5 || !strings.Contains(err.Error(), "3 of 5 linked items (60%") {
		t.Fatalf("err = %v", err)
	}
}

func TestLinkAndUnlinkByHand(t *testing.T) {
	e := newEnv(t, envOpts{policy: "manual"})
	a := e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Jira's name", Status: "To Do"})[0]
	b := e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "GitHub's name", Status: "open"})[0]
	dry, err := e.eng.Link(e.ctx, e.flow, adapters.Ref{Key: a.Ref.Key}, adapters.Ref{Key: b.Ref.Key}, true)
	if err != nil || !dry.DryRun || len(liveLinks(e, "f")) != 0 {
		t.Fatalf("dry run: %+v %v, %d links", dry, err, len(liveLinks(e, "f")))
	}
	if _, err := e.eng.Link(e.ctx, e.flow, adapters.Ref{Key: a.Ref.Key}, adapters.Ref{Key: b.Ref.Key}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.Link(e.ctx, e.flow, adapters.Ref{Key: a.Ref.Key}, adapters.Ref{Key: b.Ref.Key}, false); err == nil || !strings.Contains(err.Error(), "linked already") {
		t.Fatalf("second link: %v", err)
	}
	res := e.sync(tsync.RunOptions{})
	if res.Run.Counts.Created != 0 || res.Run.Counts.Conflicts != 1 {
		t.Fatalf("counts %+v: want the title difference held, nothing created", res.Run.Counts)
	}
	if _, err := e.eng.Unlink(e.ctx, e.flow, store.SideA, adapters.Ref{Key: a.Ref.Key}, false); err != nil {
		t.Fatal(err)
	}
	// Both kept, and left alone: not copied, not re-matched.
	for range 2 {
		res = e.sync(tsync.RunOptions{Full: true})
		if res.Run.Counts.Created != 0 || len(liveLinks(e, "f")) != 0 || len(e.a.Items()) != 1 || len(e.b.Items()) != 1 {
			t.Fatalf("after unlink: counts %+v, %d links", res.Run.Counts, len(liveLinks(e, "f")))
		}
	}
	// Linked again by hand.
	if _, err := e.eng.Link(e.ctx, e.flow, a.Ref, b.Ref, false); err != nil {
		t.Fatal(err)
	}
	if n := len(liveLinks(e, "f")); n != 1 {
		t.Fatalf("%d links after relinking", n)
	}
}

// Comments both sides already hold (copied by hand or by another tool)
// are paired on first contact, not copied again.
func TestFirstContactPairsEqualComments(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Shared", Status: "To Do", Comments: []adapters.Comment{{Body: "decided: ship it"}, {Body: "only on a"}}})[0]
	b := e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Shared", Status: "open", Comments: []adapters.Comment{{Body: "decided:  ship it"}}})[0]
	e.sync(tsync.RunOptions{})
	ca, _ := e.a.Comments(e.ctx, a.Ref)
	cb, _ := e.b.Comments(e.ctx, b.Ref)
	if len(ca) != 2 || len(cb) != 2 {
		t.Fatalf("comments a %v, b %v", commentBodies(ca), commentBodies(cb))
	}
}

// runAdoptModel starts a flow over two trackers that both hold work:
// items on one side only, the same item on both with equal titles, items
// whose body names their counterpart (either way), and copies a migration
// left behind with its first-format key. The first run must link every
// counterpart and copy only the rest (zero duplicates), overwrite nothing
// under manual, and the flow must then converge under random edits like
// any other (the convergence model's check).
func runAdoptModel(t *testing.T, seed uint64, policy string, faults bool) {
	fields := defaultFields()
	fields["parent"] = config.FieldConfig{Direction: "a-to-b"}
	e := newEnv(t, envOpts{policy: policy, fields: fields})
	rnd := rand.New(rand.NewPCG(seed, seed*31+7))
	status := func(defs []adapters.StatusDef) string { return defs[rnd.IntN(len(defs))].Name }
	labels := func() []string { return []string{labelPool[rnd.IntN(len(labelPool))]} }
	concepts := 15 + rnd.IntN(20)
	var pre []adapters.Item // every seeded item, as seeded
	seedA := func(it adapters.Item) adapters.Item {
		it.Kind = adapters.KindIssue
		got := e.a.Seed(it)[0]
		pre = append(pre, got)
		return got
	}
	seedB := func(it adapters.Item) adapters.Item {
		it.Kind = adapters.KindIssue
		got := e.b.Seed(it)[0]
		pre = append(pre, got)
		return got
	}
	for k := range concepts {
		e.clock.Advance(time.Duration(1+rnd.IntN(30)) * time.Second)
		switch rnd.IntN(6) {
		case 0:
			seedA(adapters.Item{Title: fmt.Sprintf("only a %d", k), Status: status(statusesA), Labels: labels(), Body: "a's"})
		case 1:
			seedB(adapters.Item{Title: fmt.Sprintf("only b %d", k), Status: status(statusesB), Labels: labels()})
		case 2:
			seedA(adapters.Item{Title: fmt.Sprintf("Shared %d", k), Status: status(statusesA), Labels: labels(), Body: "a's",
				Comments: []adapters.Comment{{Body: fmt.Sprintf("note %d", k)}, {Body: "a only"}}})
			e.clock.Advance(time.Second)
			seedB(adapters.Item{Title: fmt.Sprintf("shared  %d", k), Status: status(statusesB), Labels: labels(),
				Comments: []adapters.Comment{{Body: fmt.Sprintf("note %d", k)}}})
		case 3:
			a := seedA(adapters.Item{Title: fmt.Sprintf("jira name %d", k), Status: status(statusesA), Labels: labels(), Body: "a's"})
			seedB(adapters.Item{Title: fmt.Sprintf("github name %d", k), Status: status(statusesB), Labels: labels(), Body: "Tracked in " + a.Ref.Key})
		case 4:
			b := seedB(adapters.Item{Title: fmt.Sprintf("gh %d", k), Status: status(statusesB), Labels: labels()})
			seedA(adapters.Item{Title: fmt.Sprintf("jira %d", k), Status: status(statusesA), Labels: labels(), Body: "Mirrors " + b.Ref.Key + "."})
		case 5:
			a := seedA(adapters.Item{Title: fmt.Sprintf("migrated %d", k), Status: status(statusesA), Labels: labels(), Body: "a's"})
			seedB(adapters.Item{Title: fmt.Sprintf("migrated %d (copy)", k), Status: status(statusesB), Labels: labels(), SyncKey: "old-migration/a/" + a.Ref.ID})
		}
	}
	m := &model{env: e, rnd: rnd, faults: faults}
	m.sync() // the first contact (forced past the first-contact stop), then an echo check
	if na, nb, nl := len(e.a.Items()), len(e.b.Items()), len(liveLinks(e, "f")); na != concepts || nb != concepts || nl != concepts {
		t.Fatalf("seed %d: %d concepts became %d items on a, %d on b, %d links (duplicates or misses)", seed, concepts, na, nb, nl)
	}
	if policy == "manual" {
		// Nothing a person wrote was overwritten (body is a-to-b: the
		// flow's config gives it to a).
		now := [2]map[string]adapters.Item{byID(e.a.Items()), byID(e.b.Items())}
		for _, it := range pre {
			i := 0
			if it.Ref.Tracker == "b" {
				i = 1
			}
			got := now[i][it.Ref.ID]
			if got.Title != it.Title || got.Status != it.Status || !slices.Equal(got.Labels, it.Labels) {
				t.Fatalf("seed %d: %s overwritten on first contact under manual: was %q/%s/%v, now %q/%s/%v",
					seed, it.Ref, it.Title, it.Status, it.Labels, got.Title, got.Status, got.Labels)
			}
		}
	}
	m.check()
	for range 150 {
		m.step()
	}
	m.sync()
	m.check()
}

// TestAdoptionModel: first contact over partially overlapping trackers,
// over seeds and policies, then random edits.
func TestAdoptionModel(t *testing.T) {
	seeds := 8
	if testing.Short() || raceEnabled {
		seeds = 3
	}
	for _, policy := range []string{"manual", "newest", "a-wins", "b-wins"} {
		for s := range seeds {
			seed := uint64(500 + s)
			t.Run(fmt.Sprintf("%s/seed%d", policy, seed), func(t *testing.T) {
				t.Parallel()
				runAdoptModel(t, seed, policy, policy == "newest" && s%2 == 1)
			})
		}
	}
}

// BenchmarkMatchFirstContact10k: the plan of a flow's first run over two
// trackers holding 10,000 items each, partially overlapping: 40% of the
// items on both sides with one title, 20% naming their counterpart in the
// body, 10% copies carrying a key from an earlier flow, 30% on one side
// only. Requests per side are reported: one listing per side (pages of
// 100) and no per-item reads. Comment sync is off here; with it on, each
// matched pair costs one comment read per side.
func BenchmarkMatchFirstContact10k(b *testing.B) {
	const n = 10_000
	fields := defaultFields()
	delete(fields, "comments")
	e := newEnv(b, envOpts{pageSize: 100, fields: fields})
	var as, bs []adapters.Item
	for i := range n {
		as = append(as, adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Status: "In Progress", Labels: []string{"infra"}, Body: "spec"})
	}
	as = e.a.Seed(as...)
	for i := range n {
		it := adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("b item %d", i), Status: "active", Labels: []string{"infra"}}
		switch r := i % 10; {
		case r < 4:
			it.Title = fmt.Sprintf("Item %d", i)
		case r < 6:
			it.Body = "tracked in " + as[i].Ref.Key
		case r < 7:
			it.SyncKey = "old/a/" + as[i].Ref.ID
		}
		bs = append(bs, it)
	}
	e.b.Seed(bs...)
	b.ReportAllocs()
	var p *tsync.Plan
	for b.Loop() {
		e.a.ResetCounts()
		e.b.ResetCounts()
		var err error
		p, err = e.eng.Plan(e.ctx, e.flow, tsync.RunOptions{})
		if err != nil {
			b.Fatal(err)
		}
	}
	if links := p.Count(tsync.OpLink); links != n*7/10 {
		b.Fatalf("%d pairs matched, want %d", links, n*7/10)
	}
	ca, cb := e.a.Counts(), e.b.Counts()
	if ca.Gets+cb.Gets+ca.CommentReads+cb.CommentReads != 0 {
		b.Fatalf("per-item reads: a %+v, b %+v", ca, cb)
	}
	b.ReportMetric(float64(p.Count(tsync.OpLink)), "matched")
	b.ReportMetric(float64(ca.Lists), "requests-a")
	b.ReportMetric(float64(cb.Lists), "requests-b")
	b.ReportMetric(peakHeapMB(func() { e.eng.Plan(e.ctx, e.flow, tsync.RunOptions{}) }), "peak-heap-MB")
}

// A renamed flow over many linked items is not a first contact: its items
// are accounted for by their keys and the old flow's links.
func TestRenamedFlowIsNotFirstContact(t *testing.T) {
	e := newEnv(t, envOpts{})
	for i := range 15 {
		e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("a %d", i), Status: "To Do"})
		e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("b %d", i), Status: "open"})
	}
	e.sync(tsync.RunOptions{Force: true}) // the real first contact
	renamed := e.flowOver("renamed", nil)
	res, err := e.eng.Sync(e.ctx, renamed, tsync.RunOptions{})
	if err != nil {
		t.Fatalf("renamed flow stopped: %v", err)
	}
	if res.Run.Counts.Created != 0 || len(liveLinks(e, "renamed")) != 30 {
		t.Fatalf("counts %+v, %d links", res.Run.Counts, len(liveLinks(e, "renamed")))
	}
}

// The survivor of a deletion (on_delete: unlink) can be linked by hand to
// another item.
func TestLinkSurvivorOfDeletion(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "survivor", Status: "To Do"})[0]
	e.sync(tsync.RunOptions{})
	if err := e.b.Delete(e.ctx, liveLinks(e, "f")[0].B); err != nil {
		t.Fatal(err)
	}
	e.sync(tsync.RunOptions{Full: true})
	if n := len(liveLinks(e, "f")); n != 0 {
		t.Fatalf("%d live links after the deletion", n)
	}
	e.flow.Map.Create = false
	b := e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "new home", Status: "open"})[0]
	if _, err := e.eng.Link(e.ctx, e.flow, a.Ref, b.Ref, false); err != nil {
		t.Fatal(err)
	}
	if n := len(liveLinks(e, "f")); n != 1 {
		t.Fatalf("%d live links", n)
	}
}

func byID(items []adapters.Item) map[string]adapters.Item {
	m := map[string]adapters.Item{}
	for _, it := range items {
		m[it.Ref.ID] = it
	}
	return m
}
