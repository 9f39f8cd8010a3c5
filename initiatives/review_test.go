package initiatives

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/store"
)

// A Refresh that fails on one tracker must not advance the cursors of the
// others: what they returned was never applied.
func TestReviewFailedRefreshLosesNoChanges(t *testing.T) {
	f, svc, ctx := loadedFixture(t)
	f.now = f.now.Add(time.Minute)
	if _, err := f.jira.Edit(f.items["Templates"].Ref, func(it *adapters.Item) { it.Status = "Done" }); err != nil {
		t.Fatal(err)
	}
	// jira is listed before gh: gh fails after jira's changes were read.
	f.gh.InjectRateLimit(1, time.Second)
	if _, err := svc.Refresh(ctx); err == nil {
		t.Fatal("refresh with gh failing: no error")
	}
	if _, err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r := f.rollup("INIT-1"); r.DoneByCount != 1 {
		t.Errorf("INIT-1 after the failed and a good refresh: done %v, want 1 (Templates' change lost)", r.DoneByCount)
	}
}

// Status reports a Refresh that failed while reading, for the dashboard.
func TestReviewStatusReportsReadErrors(t *testing.T) {
	f, svc, ctx := loadedFixture(t)
	f.gh.InjectRateLimit(1, time.Second)
	if _, err := svc.Refresh(ctx); err == nil {
		t.Fatal("refresh with gh failing: no error")
	}
	if _, err := svc.Status(); err == nil {
		t.Error("Status after a failed refresh: no error")
	}
	if _, err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Status(); err != nil {
		t.Errorf("Status after a good refresh: %v", err)
	}
}

// hookStore runs onList after each ListLinks of a flow.
type hookStore struct {
	store.Store
	mu     sync.Mutex
	onList func(flow string) error
}

func (h *hookStore) ListLinks(ctx context.Context, flow string) ([]store.Link, error) {
	links, err := h.Store.ListLinks(ctx, flow)
	h.mu.Lock()
	fn := h.onList
	h.mu.Unlock()
	if err == nil && fn != nil {
		err = fn(flow)
	}
	return links, err
}

func (f *fixture) openWith(st store.Store) *Service {
	f.t.Helper()
	svc, err := New(Options{Config: &f.cfg, Trackers: f.trackrs, Kinds: map[string]string{"plan": "roadmap", "jira": "memory", "gh": "github"},
		Flows: f.flows, Store: st, Now: func() time.Time { return f.now }})
	if err != nil {
		f.t.Fatal(err)
	}
	f.svc = svc
	return svc
}

// A flow that runs (MarkFlow) while a Load is reading must have its links
// read again at the next Refresh: the Load may have read them before.
func TestReviewMarkFlowDuringLoadIsKept(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// A GitHub copy of Email verification, not linked yet.
	cp := f.gh.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Email verification (copy)", Status: "To Do", Labels: []string{"initiative:INIT-1"}})[0]
	hs := &hookStore{Store: f.st}
	svc := f.openWith(hs)
	once := false
	hs.onList = func(flow string) error {
		if flow != "eng" || once {
			return nil
		}
		once = true
		// A sync run links the copy just after the Load read the links.
		if _, err := f.st.CreateLink(ctx, store.Link{Flow: "eng", Key: "k2", A: f.items["Email verification"].Ref, B: cp.Ref}); err != nil {
			return err
		}
		svc.MarkFlow("eng")
		return nil
	}
	if _, err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if r := f.rollup("INIT-1"); r.Total != 3 {
		t.Fatalf("INIT-1 before the link is read: total %d, want 3", r.Total)
	}
	if _, err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r := f.rollup("INIT-1"); r.Total != 2 {
		t.Errorf("INIT-1 after the refresh: total %d, want 2 (the copy linked during the Load counted once)", r.Total)
	}
}

// A flow marked dirty whose links fail to read stays dirty.
func TestReviewMarkFlowSurvivesLinkReadError(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cp := f.gh.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Email verification (copy)", Status: "To Do", Labels: []string{"initiative:INIT-1"}})[0]
	hs := &hookStore{Store: f.st}
	svc := f.openWith(hs)
	if _, err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.CreateLink(ctx, store.Link{Flow: "eng", Key: "k2", A: f.items["Email verification"].Ref, B: cp.Ref}); err != nil {
		t.Fatal(err)
	}
	svc.MarkFlow("eng")
	hs.mu.Lock()
	hs.onList = func(string) error { return store.ErrNotFound }
	hs.mu.Unlock()
	if _, err := svc.Refresh(ctx); err == nil {
		t.Fatal("refresh with the store failing: no error")
	}
	hs.mu.Lock()
	hs.onList = nil
	hs.mu.Unlock()
	if _, err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r := f.rollup("INIT-1"); r.Total != 2 {
		t.Errorf("INIT-1: total %d, want 2 (the flow's new link was dropped with the failed read)", r.Total)
	}
}

// When someone changes what write-back owns on an initiative (its status
// with status: children, its progress), the next Refresh writes it again,
// though the roll-up itself did not change. The same holds after a
// conflicting edit during write-back.
func TestReviewRefreshRewritesDriftedInitiative(t *testing.T) {
	f, svc, ctx := loadedFixture(t)
	ref := adapters.Ref{Tracker: "plan", ID: "INIT-2"}
	it, err := f.plan.Get(ctx, ref)
	if err != nil || it.Status != "in_progress" {
		t.Fatalf("INIT-2 after Load: %q %v", it.Status, err)
	}
	f.now = f.now.Add(time.Minute)
	var p adapters.Patch
	p.Fields = []string{adapters.FieldStatus, adapters.CustomPrefix + "progress"}
	p.Item.Status = "planned"
	p.Item.Fields = map[string]string{"progress": "0.9"}
	if _, err := f.plan.Update(ctx, ref, p); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	it, _ = f.plan.Get(ctx, ref)
	if it.Status != "in_progress" || it.Fields["progress"] != "0.33" {
		t.Errorf("INIT-2 after refresh: status %q progress %q, want in_progress and 0.33 (written %d)", it.Status, it.Fields["progress"], res.Written)
	}
	// And then it is quiet: nothing more to write.
	res, err = svc.Refresh(ctx)
	if err != nil || res.Written != 0 {
		t.Errorf("second refresh: %+v %v", res, err)
	}
}

// A fan-out item the store links to an initiative but that a listing
// returns only later (outside the child scope at first) joins its
// initiative when it shows up.
func TestReviewFanoutItemListedLate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, title := range []string{"Onboarding epic", "Email verification", "Templates"} {
		if _, err := f.jira.Edit(f.items[title].Ref, func(it *adapters.Item) { it.Labels = append(it.Labels, "eng") }); err != nil {
			t.Fatal(err)
		}
	}
	f.cfg.Children[0].Scope = "label:eng"
	epic := f.jira.Seed(adapters.Item{Kind: adapters.KindEpic, Title: "Trust delivery", Status: "To Do"})[0]
	init3 := adapters.Ref{Tracker: "plan", ID: "INIT-3", Key: "INIT-3"}
	if _, err := f.st.CreateLink(ctx, store.Link{Flow: FanoutFlow("jira"), Key: "initiatives/jira/plan/INIT-3", A: init3, B: epic.Ref}); err != nil {
		t.Fatal(err)
	}
	svc := f.open()
	res, err := svc.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(res.Created, func(r adapters.Ref) bool { return r.ID == epic.Ref.ID }) {
		t.Fatalf("the linked epic was created again: %v", res.Created)
	}
	if r := f.rollup("INIT-3"); r.Total != 0 {
		t.Fatalf("INIT-3 before its epic is listed: %+v", r)
	}
	f.now = f.now.Add(time.Minute)
	if _, err := f.jira.Edit(epic.Ref, func(it *adapters.Item) { it.Labels = []string{"eng"} }); err != nil {
		t.Fatal(err)
	}
	res, err = svc.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.rollup("INIT-3"); r.Total != 1 || len(r.Children) != 1 || r.Children[0].Ref.ID != epic.Ref.ID {
		t.Errorf("INIT-3 after its epic is listed: total %d children %+v (changed %v)", r.Total, r.Children, res.Changed)
	}
}

// trackingGH is the GitHub fake with a tracking section writer that
// records what it was asked to write.
type trackingGH struct {
	*memory.Tracker
	mu    sync.Mutex
	lists map[string][]string // tracking issue key -> checklist keys
	calls int
}

func (g *trackingGH) UpdateTracking(ctx context.Context, parent adapters.Ref, summary string, children []adapters.Item) (adapters.Item, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	var keys []string
	for _, c := range children {
		keys = append(keys, c.Ref.Key)
	}
	g.lists[parent.Key] = keys
	return g.Get(ctx, parent)
}

// Each tracking issue's checklist is the initiative's other direct
// children plus its own task list, not another tracking issue's.
func TestReviewTrackingChecklistPerIssue(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sub := f.gh.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Sub A", Status: "To Do"})[0]
	if _, err := f.gh.Edit(f.items["Invoice PDF"].Ref, func(it *adapters.Item) { it.Body = "- [ ] " + sub.Ref.Key }); err != nil {
		t.Fatal(err)
	}
	gh := &trackingGH{Tracker: f.gh, lists: map[string][]string{}}
	f.trackrs["gh"] = gh
	f.cfg.Children[1].Link = "tasklist"
	f.cfg.Rollup.WriteBack.Tracking = true
	svc := f.open()
	if _, err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	invoice, metering := f.items["Invoice PDF"].Ref.Key, f.items["Metering"].Ref.Key
	if got := gh.lists[invoice]; !slices.Contains(got, sub.Ref.Key) || !slices.Contains(got, metering) {
		t.Errorf("%s checklist %v: want its own %s and its sibling %s", invoice, got, sub.Ref.Key, metering)
	}
	if got := gh.lists[metering]; slices.Contains(got, sub.Ref.Key) || !slices.Contains(got, invoice) {
		t.Errorf("%s checklist %v: want its sibling %s and not %s (a child of %s)", metering, got, invoice, sub.Ref.Key, invoice)
	}
}

// A deleted item no longer resolves: a task list naming it gets no child
// with an empty ref (and waits for the key instead).
func TestReviewDeletedItemDoesNotResolve(t *testing.T) {
	f := newFixture(t)
	svc := f.open()
	ctx := context.Background()
	invoice, metering := f.items["Invoice PDF"].Ref, f.items["Metering"].Ref
	if _, err := f.gh.Edit(metering, func(it *adapters.Item) { it.Body = "- [ ] " + invoice.Key }); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	if err := f.gh.Delete(ctx, invoice); err != nil {
		t.Fatal(err)
	}
	// Metering changes too, so its node is rebuilt after the delete.
	if _, err := f.gh.Edit(metering, func(it *adapters.Item) { it.Title = "Metering v2" }); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	svc.g.mu.Lock()
	n := svc.g.node("gh:" + metering.ID)
	_, waiting := svc.g.wants[invoice.Key]["gh:"+metering.ID]
	svc.g.mu.Unlock()
	for _, c := range n.Children {
		if c.IsZero() {
			t.Errorf("Metering's node has a child with an empty ref: %+v", n.Children)
		}
	}
	if !waiting {
		t.Errorf("Metering does not wait for %s to come back", invoice.Key)
	}
}
