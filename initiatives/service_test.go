package initiatives

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/adapters/roadmap"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/rollup"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/sqlite"
)

const testRoadmap = `# kept by product
initiatives:
  - key: INIT-1
    title: Self-serve onboarding   # the big bet
    status: in_progress
    due: 2027-03-31
    children: [PLAT-1]

  - key: INIT-2
    title: Billing
    status: planned

  - key: INIT-3
    title: Trust
    status: planned
    due: 2027-06-30
`

type fixture struct {
	t       *testing.T
	dir     string
	plan    *roadmap.Tracker
	jira    *memory.Tracker
	gh      *memory.Tracker
	st      store.Store
	cfg     config.Initiatives
	now     time.Time
	svc     *Service
	items   map[string]adapters.Item // seeded, by title
	flows   []config.Flow
	trackrs map[string]adapters.Tracker
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), now: time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC), items: map[string]adapters.Item{}}
	path := filepath.Join(f.dir, "roadmap.yaml")
	if err := os.WriteFile(path, []byte(testRoadmap), 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.plan, err = roadmap.New("plan", roadmap.Options{Path: path}); err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return f.now }
	if f.jira, err = memory.New("jira", memory.Options{Project: "PLAT", Clock: clock,
		Fields: append(slices.Clone(adapters.StandardFields), "custom:Story Points")}); err != nil {
		t.Fatal(err)
	}
	if f.gh, err = memory.New("gh", memory.Options{Project: "GH", Clock: clock}); err != nil {
		t.Fatal(err)
	}
	seed := func(tr *memory.Tracker, it adapters.Item) adapters.Item {
		got := tr.Seed(it)[0]
		f.items[it.Title] = got
		return got
	}
	epic := seed(f.jira, adapters.Item{Kind: adapters.KindEpic, Title: "Onboarding epic", Status: "In Progress"})
	seed(f.jira, adapters.Item{Kind: adapters.KindIssue, Title: "Email verification", Status: "Done", Parent: &epic.Ref, Fields: map[string]string{"Story Points": "3"}})
	seed(f.jira, adapters.Item{Kind: adapters.KindIssue, Title: "Templates", Status: "To Do", Parent: &epic.Ref, Fields: map[string]string{"Story Points": "5"}})
	seed(f.gh, adapters.Item{Kind: adapters.KindIssue, Title: "Invoice PDF", Status: "Done", Labels: []string{"initiative:INIT-2", "size: S"}})
	seed(f.gh, adapters.Item{Kind: adapters.KindIssue, Title: "Metering", Status: "In Progress", Labels: []string{"initiative:INIT-2", "size: L"}})
	// The copy of Templates on GitHub, linked by a flow: counted once.
	seed(f.gh, adapters.Item{Kind: adapters.KindIssue, Title: "Templates (copy)", Status: "To Do", Labels: []string{"initiative:INIT-1"}})

	if f.st, err = sqlite.Open(context.Background(), filepath.Join(f.dir, "state.db"), sqlite.Options{Clock: clock}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.st.Close() })
	if _, err := f.st.CreateLink(context.Background(), store.Link{Flow: "eng", Key: "k1", A: f.items["Templates"].Ref, B: f.items["Templates (copy)"].Ref}); err != nil {
		t.Fatal(err)
	}
	f.flows = []config.Flow{{Name: "eng", A: config.FlowSide{Tracker: "jira"}, B: config.FlowSide{Tracker: "gh"}}}
	f.cfg = config.Initiatives{
		Source: config.InitiativeSource{Tracker: "plan"},
		Status: "children",
		Children: []config.ChildRule{
			{Tracker: "jira", Link: "refs", Create: &config.CreateRule{Kind: "epic"}},
			{Tracker: "gh", Link: "label", Label: "initiative:{key}"},
		},
		Rollup: config.RollupConfig{
			Weight:    "count",
			Estimate:  map[string]config.Estimate{"jira": {Field: "Story Points"}, "gh": {Labels: map[string]float64{"size: S": 1, "size: L": 8}}},
			AtRisk:    config.AtRiskConfig{DaysBeforeDue: 45, MinDone: 0.5, BlockedLabels: []string{"blocked"}},
			WriteBack: config.WriteBack{Source: true},
		},
	}
	f.trackrs = map[string]adapters.Tracker{"plan": f.plan, "jira": f.jira, "gh": f.gh}
	return f
}

func (f *fixture) open() *Service {
	f.t.Helper()
	svc, err := New(Options{Config: &f.cfg, Trackers: f.trackrs, Kinds: map[string]string{"plan": "roadmap", "jira": "memory", "gh": "github"},
		Flows: f.flows, Store: f.st, Now: func() time.Time { return f.now }})
	if err != nil {
		f.t.Fatal(err)
	}
	f.svc = svc
	return svc
}

// loadedFixture is a fixture with its Service opened and loaded once.
func loadedFixture(t *testing.T) (*fixture, *Service, context.Context) {
	t.Helper()
	f := newFixture(t)
	svc := f.open()
	ctx := context.Background()
	if _, err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return f, svc, ctx
}

func (f *fixture) rollup(key string) rollup.Rollup {
	f.t.Helper()
	r, ok := f.svc.Initiative(key)
	if !ok {
		f.t.Fatalf("no roll-up for %s", key)
	}
	return r
}

func TestLoadRollsUpAcrossTrackers(t *testing.T) {
	f := newFixture(t)
	svc := f.open()
	res, err := svc.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Full || len(res.Changed) != 3 {
		t.Fatalf("Load: %+v", res)
	}
	// INIT-1: epic (refs) with Email verification (done) and Templates
	// (todo), Templates' GitHub copy counted once.
	r1 := f.rollup("INIT-1")
	if r1.Total != 2 || r1.Counts[adapters.CategoryDone] != 1 || r1.DoneByCount != 0.5 {
		t.Errorf("INIT-1: total %d counts %v done %v, want 2 items, 1 done", r1.Total, r1.Counts, r1.DoneByCount)
	}
	if got, want := r1.DoneByEstimate, 3.0/8; got != want {
		t.Errorf("INIT-1 by estimate = %v, want %v", got, want)
	}
	// INIT-2: two labelled GitHub issues, sizes S (1) and L (8).
	// INIT-2 and INIT-3 had no children in jira: fan-out made an epic
	// for each (INIT-1 has one).
	if len(res.Created) != 2 || res.Created[0].Tracker != "jira" || res.Created[1].Tracker != "jira" {
		t.Fatalf("created %v, want a jira epic for INIT-2 and INIT-3", res.Created)
	}
	// INIT-2: its new epic (todo, no estimate: weighs 1) and two labelled
	// GitHub issues, sizes S (1, done) and L (8).
	r2 := f.rollup("INIT-2")
	if r2.Total != 3 || r2.Counts[adapters.CategoryDone] != 1 || r2.DoneByEstimate != 0.1 {
		t.Errorf("INIT-2: %+v", r2)
	}
	epic, err := f.jira.Get(context.Background(), res.Created[1])
	if err != nil || epic.Title != "Trust" || epic.Kind != adapters.KindEpic {
		t.Fatalf("fan-out epic: %+v %v", epic, err)
	}
	r3 := f.rollup("INIT-3")
	if r3.Total != 1 || len(r3.Children) != 1 || r3.Children[0].Ref.ID != epic.Ref.ID {
		t.Errorf("INIT-3 should have its new epic as its only child: %+v", r3)
	}
	// Status follows children and progress is written into the file,
	// leaving the rest byte for byte.
	data, _ := os.ReadFile(f.plan.Path())
	if !strings.Contains(string(data), "title: Self-serve onboarding   # the big bet") {
		t.Errorf("roadmap reformatted:\n%s", data)
	}
	for want, n := range map[string]int{"progress: 0.5\n": 1, "progress: 0.33\n": 1, "progress: 0\n": 1, "status: in_progress": 2, "status: planned": 1} {
		if got := strings.Count(string(data), want); got != n {
			t.Errorf("roadmap has %d %q lines, want %d:\n%s", got, want, n, data)
		}
	}
	// A second Load writes nothing and creates nothing.
	res, err = svc.Load(context.Background())
	if err != nil || len(res.Created) != 0 || res.Written != 0 {
		t.Fatalf("second Load: %+v %v", res, err)
	}
	// Not at risk: INIT-1 is due in 30 days (within the rule's 45) but 50%
	// done is not less than min_done 0.5.
	if r1.AtRisk {
		t.Errorf("INIT-1 at risk: %v", r1.Reasons)
	}
}

func TestRefreshIsIncrementalAndCountsOnce(t *testing.T) {
	f, svc, ctx := loadedFixture(t)
	before := f.jira.Counts()
	// Nothing changed: nothing written, no roll-up changed.
	res, err := svc.Refresh(ctx)
	if err != nil || len(res.Changed) != 0 || res.Written != 0 || res.Snapshots != 0 {
		t.Fatalf("idle refresh: %+v %v", res, err)
	}
	f.now = f.now.Add(time.Minute)
	// Templates is done in Jira: INIT-1 is 100%, its status goes done.
	if _, err := f.jira.Edit(f.items["Templates"].Ref, func(it *adapters.Item) { it.Status = "Done" }); err != nil {
		t.Fatal(err)
	}
	res, err = svc.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != 1 || res.Changed[0].Key != "INIT-1" {
		t.Fatalf("refresh after one edit: %+v", res)
	}
	if r := f.rollup("INIT-1"); r.DoneByCount != 1 || r.Total != 2 {
		t.Errorf("INIT-1 after edit: %+v", r)
	}
	it, _ := f.plan.Get(ctx, adapters.Ref{Tracker: "plan", ID: "INIT-1"})
	if it.Status != "done" || it.Fields["progress"] != "1" {
		t.Errorf("INIT-1 written back as status %q progress %q", it.Status, it.Fields["progress"])
	}
	after := f.jira.Counts()
	if after.Writes() != before.Writes() || after.Gets != before.Gets {
		t.Errorf("jira counts %+v -> %+v: the refresh should only list", before, after)
	}
	// A GitHub issue gets the INIT-3 label: it joins INIT-3.
	if _, err := f.gh.Edit(f.items["Metering"].Ref, func(it *adapters.Item) { it.Labels = []string{"initiative:INIT-3"} }); err != nil {
		t.Fatal(err)
	}
	res, err = svc.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range res.Changed {
		keys = append(keys, r.Key)
	}
	if !slices.Equal(keys, []string{"INIT-2", "INIT-3"}) {
		t.Errorf("changed %v, want INIT-2 and INIT-3", keys)
	}
	if r := f.rollup("INIT-2"); r.Total != 2 || r.DoneByCount != 0.5 {
		t.Errorf("INIT-2: %+v", r)
	}
	if r := f.rollup("INIT-3"); r.Total != 2 {
		t.Errorf("INIT-3: %+v", r)
	}
	// Snapshots: one per initiative for the day, replaced as it changes.
	snaps, err := f.st.ListSnapshots(ctx, "", "")
	if err != nil || len(snaps) != 3 {
		t.Fatalf("snapshots %+v %v", snaps, err)
	}
	for _, sn := range snaps {
		if sn.Initiative == "plan:INIT-1" && sn.DoneByCount != 1 {
			t.Errorf("INIT-1 snapshot %+v", sn)
		}
	}
	// Next day: a new point per initiative.
	f.now = f.now.Add(24 * time.Hour)
	if _, err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	snaps, _ = f.st.ListSnapshots(ctx, "", "")
	if len(snaps) != 6 {
		t.Errorf("after a day: %d snapshots, want 6", len(snaps))
	}
	rep, err := svc.Report(ctx, 30, "")
	if err != nil || len(rep.History["plan:INIT-1"]) != 2 {
		t.Errorf("report history: %+v %v", rep.History, err)
	}
}

func TestBlockedAndCycles(t *testing.T) {
	f, svc, ctx := loadedFixture(t)
	f.now = f.now.Add(time.Minute)
	if _, err := f.gh.Edit(f.items["Metering"].Ref, func(it *adapters.Item) { it.Labels = append(it.Labels, "blocked") }); err != nil {
		t.Fatal(err)
	}
	// A cycle: two issues whose task lists name each other.
	if _, err := f.gh.Edit(f.items["Invoice PDF"].Ref, func(it *adapters.Item) { it.Body = "- [ ] GH-2" }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gh.Edit(f.items["Metering"].Ref, func(it *adapters.Item) { it.Body = "- [x] GH-1" }); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r := f.rollup("INIT-2"); !r.AtRisk || !slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.Contains(s, "blocked") }) {
		t.Errorf("INIT-2 should be at risk for its blocked child: %+v", r)
	}
	if r := f.rollup("INIT-2"); len(r.Cycles) != 1 || len(r.Cycles[0]) != 2 {
		t.Errorf("INIT-2 cycles: %+v", r.Cycles)
	}
}

func TestTaskRefs(t *testing.T) {
	body := "Plan:\n\n- [ ] #12\n- [x] other/repo#3 done\n- [ ] [PLAT-7](https://jira/browse/PLAT-7)\n- [ ] https://github.com/acme/x/issues/9\n- [ ] not a ref\n- plain item #5\n\n```\n- [ ] #99\n```\n"
	got := taskRefs(body, "acme/platform")
	want := []string{"acme/platform#12", "other/repo#3", "PLAT-7", "acme/x#9"}
	if !slices.Equal(got, want) {
		t.Errorf("taskRefs = %q, want %q", got, want)
	}
}

func TestLabelTemplate(t *testing.T) {
	tpl := newTemplate("initiative:{key}")
	if k, ok := tpl.match("Initiative:INIT-4"); !ok || k != "INIT-4" {
		t.Errorf("match = %q %v", k, ok)
	}
	if _, ok := tpl.match("initiative:"); ok {
		t.Error("empty key matched")
	}
	if tpl.label("INIT-1") != "initiative:INIT-1" {
		t.Error(tpl.label("INIT-1"))
	}
}

func TestNewRejectsMissingFields(t *testing.T) {
	f := newFixture(t)
	f.cfg.Rollup.Estimate = map[string]config.Estimate{"gh": {Field: "Points"}}
	_, err := New(Options{Config: &f.cfg, Trackers: f.trackrs, Store: f.st})
	if err == nil || !strings.Contains(err.Error(), "initiatives.rollup.estimate.gh") || !strings.Contains(err.Error(), `"Points"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestLabelCaseInsensitive: GitHub keeps the first spelling of a label, so
// initiative:init-2 names INIT-2.
func TestLabelCaseInsensitive(t *testing.T) {
	f, svc, ctx := loadedFixture(t)
	before := f.rollup("INIT-2").Total
	f.now = f.now.Add(time.Minute)
	if _, err := f.gh.Edit(f.items["Templates (copy)"].Ref, func(it *adapters.Item) { it.Labels = []string{"Initiative:init-2"} }); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.rollup("INIT-2").Total; got != before+1 {
		t.Errorf("INIT-2 total %d -> %d, want one more for the child labelled in lower case", before, got)
	}
}

// countingStore counts ListSnapshots calls.
type countingStore struct {
	store.Store
	lists int
}

func (c *countingStore) ListSnapshots(ctx context.Context, initiative, since string) ([]store.Snapshot, error) {
	c.lists++
	return c.Store.ListSnapshots(ctx, initiative, since)
}

// The dashboard reads the history from a cache that the snapshot writes
// keep current: one store read for any number of loads, and a new day's
// points show without another.
func TestReportHistoryCached(t *testing.T) {
	f := newFixture(t)
	cs := &countingStore{Store: f.st}
	svc, err := New(Options{Config: &f.cfg, Trackers: f.trackrs, Kinds: map[string]string{"plan": "roadmap", "jira": "memory", "gh": "github"},
		Flows: f.flows, Store: cs, Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		rep, err := svc.Report(ctx, 30, "")
		if err != nil || len(rep.History["plan:INIT-1"]) != 1 {
			t.Fatalf("history %+v %v", rep.History, err)
		}
	}
	f.now = f.now.Add(24 * time.Hour)
	f.jira.Edit(f.items["Templates"].Ref, func(it *adapters.Item) { it.Status = "Done" })
	if _, err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := svc.Report(ctx, 30, "")
	h := rep.History["plan:INIT-1"]
	if err != nil || len(h) != 2 || h[1].DoneItems != 2 || h[1].Scope != 2 {
		t.Fatalf("history after a day %+v %v", h, err)
	}
	if cs.lists != 1 {
		t.Errorf("the store was read %d times for 4 loads, want 1", cs.lists)
	}
	// A wider window than cached reads the store again.
	if _, err := svc.Report(ctx, 90, ""); err != nil || cs.lists != 2 {
		t.Errorf("wider window: %d reads, %v", cs.lists, err)
	}
}

// loaded is a service over cfg and trackers (their kinds by name), its
// state in a temporary SQLite file, after its first Load.
func loaded(t *testing.T, cfg *config.Initiatives, trackers map[string]adapters.Tracker, kinds map[string]string) *Service {
	t.Helper()
	svc, err := New(Options{Config: cfg, Trackers: trackers, Kinds: kinds, Store: flowtest.Store(t, "", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return svc
}
