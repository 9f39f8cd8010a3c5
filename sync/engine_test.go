package sync_test

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

func seedBoth(e *env) {
	e.a.Seed(
		adapters.Item{Kind: adapters.KindEpic, Title: "Onboarding", Status: "In Progress", Labels: []string{"growth"}, Assignees: []string{"ana"}, Body: "Make it self-serve"},
		adapters.Item{Kind: adapters.KindIssue, Title: "Fix login", Status: "To Do", Labels: []string{"bug"}, Priority: "high"},
	)
	e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Docs site", Status: "open", Labels: []string{"ux"}, Assignees: []string{"gh-bo"}})
}

// linked is an env whose trackers were seeded (seedBoth) and synced once:
// it returns the links.
func linked(t *testing.T, o envOpts) (*env, []store.Link) {
	t.Helper()
	e := newEnv(t, o)
	seedBoth(e)
	e.sync(tsync.RunOptions{})
	return e, e.links()
}

func TestFirstSyncCreatesAndLinks(t *testing.T) {
	e := newEnv(t, envOpts{})
	seedBoth(e)
	first := e.a.Items()[0]
	if _, err := e.a.AddComment(e.ctx, first.Ref, adapters.Comment{Body: "kick-off notes"}, ""); err != nil {
		t.Fatal(err)
	}
	res := e.sync(tsync.RunOptions{})
	if got := res.Run.Counts.Created; got != 3 {
		t.Fatalf("created %d, want 3", got)
	}
	if n := len(e.links()); n != 3 {
		t.Fatalf("%d links, want 3", n)
	}
	bs := e.b.Items()
	var onb adapters.Item
	for _, it := range bs {
		if it.Title == "Onboarding" {
			onb = it
		}
	}
	if onb.Status != "active" || onb.Body != "Make it self-serve" || !cmp.Equal(onb.Assignees, []string{"gh-ana"}) {
		t.Fatalf("copy on b = %+v", onb)
	}
	if len(onb.Comments) != 1 || onb.Comments[0].Body != "kick-off notes" {
		t.Fatalf("comment not copied with the create: %+v", onb.Comments)
	}
	var docs adapters.Item
	for _, it := range e.a.Items() {
		if it.Title == "Docs site" {
			docs = it
		}
	}
	if docs.Status != "To Do" || !cmp.Equal(docs.Assignees, []string{"bo"}) {
		t.Fatalf("copy on a = %+v", docs)
	}
}

func TestEchoFreeAndManyToOneStatus(t *testing.T) {
	e := newEnv(t, envOpts{})
	seedBoth(e)
	e.sync(tsync.RunOptions{})
	e.a.ResetCounts()
	e.b.ResetCounts()
	res := e.sync(tsync.RunOptions{})
	if w := e.a.Writes() + e.b.Writes(); w != 0 {
		t.Fatalf("second run wrote %d times", w)
	}
	if res.Run.Counts.Updated != 0 {
		t.Fatalf("second run counts %+v", res.Run.Counts)
	}
	// In Progress -> In Review maps to the same B status: nothing to write
	// on B, and no echo back to A.
	var onb adapters.Item
	for _, it := range e.a.Items() {
		if it.Title == "Onboarding" {
			onb = it
		}
	}
	e.clock.Advance(time.Minute)
	if _, err := e.a.Edit(onb.Ref, func(x *adapters.Item) { x.Status = "In Review" }); err != nil {
		t.Fatal(err)
	}
	e.b.ResetCounts()
	e.a.ResetCounts()
	e.sync(tsync.RunOptions{})
	if w := e.a.Writes() + e.b.Writes(); w != 0 {
		t.Fatalf("many-to-one status move wrote %d times", w)
	}
	got, _ := e.a.Get(e.ctx, onb.Ref)
	if got.Status != "In Review" {
		t.Fatalf("a status %q, want In Review kept", got.Status)
	}
	// B moves to closed: A follows to Done.
	for _, it := range e.b.Items() {
		if it.Title == "Onboarding" {
			e.clock.Advance(time.Minute)
			e.b.Edit(it.Ref, func(x *adapters.Item) { x.Status = "closed" })
		}
	}
	e.sync(tsync.RunOptions{})
	got, _ = e.a.Get(e.ctx, onb.Ref)
	if got.Status != "Done" {
		t.Fatalf("a status %q, want Done", got.Status)
	}
}

func TestLabelSetMergeAndConflictPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy    string
		wantTitle string
		held      int
	}{
		{"newest", "b title", 0},
		{"a-wins", "a title", 0},
		{"b-wins", "b title", 0},
		{"manual", "", 1},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			e, ls := linked(t, envOpts{policy: tc.policy})
			l := ls[0]
			e.clock.Advance(time.Minute)
			e.a.Edit(l.A, func(x *adapters.Item) { x.Title = "a title"; x.Labels = append(x.Labels, "infra") })
			e.clock.Advance(time.Minute)
			e.b.Edit(l.B, func(x *adapters.Item) { x.Title = "b title"; x.Labels = append(x.Labels, "p1") })
			res := e.sync(tsync.RunOptions{})
			a, _ := e.a.Get(e.ctx, l.A)
			b, _ := e.b.Get(e.ctx, l.B)
			if !cmp.Equal(a.Labels, b.Labels) || !strings.Contains(strings.Join(a.Labels, ","), "infra") || !strings.Contains(strings.Join(a.Labels, ","), "p1") {
				t.Fatalf("labels not merged element-wise: a=%v b=%v", a.Labels, b.Labels)
			}
			if tc.held > 0 {
				if a.Title != "a title" || b.Title != "b title" {
					t.Fatalf("manual policy wrote a side: a=%q b=%q", a.Title, b.Title)
				}
				cs, _ := e.st.ListConflicts(e.ctx, "f", store.ConflictOpen)
				if len(cs) != 1 || cs[0].Field != "title" || cs[0].A != "a title" || cs[0].B != "b title" {
					t.Fatalf("held conflicts = %+v", cs)
				}
				if res.Run.State != store.RunConflicts {
					t.Fatalf("run state %q, want conflicts", res.Run.State)
				}
				// Held on every run until settled; resolving writes both.
				if _, err := e.eng.Resolve(e.ctx, e.flow, cs[0].ID, "b", ""); err != nil {
					t.Fatal(err)
				}
				a, _ = e.a.Get(e.ctx, l.A)
				if a.Title != "b title" {
					t.Fatalf("after resolve a title = %q", a.Title)
				}
				if p := e.plan(); len(p.Ops) != 0 {
					t.Fatalf("after resolve plan = %+v", p.Ops)
				}
				return
			}
			if a.Title != tc.wantTitle || b.Title != tc.wantTitle {
				t.Fatalf("titles a=%q b=%q, want %q", a.Title, b.Title, tc.wantTitle)
			}
		})
	}
}

func TestSafetyValve(t *testing.T) {
	e := newEnv(t, envOpts{share: 0.25})
	for i := 0; i < 8; i++ {
		e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Status: "To Do"})
	}
	e.sync(tsync.RunOptions{})
	for i, it := range e.b.Items() {
		if i < 3 {
			e.b.Edit(it.Ref, func(x *adapters.Item) { x.Status = "closed" })
		}
	}
	e.a.ResetCounts()
	_, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{})
	var verr *tsync.ValveError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want a ValveError", err)
	}
	if verr.Destructive != 3 || verr.Linked != 8 {
		t.Fatalf("valve = %+v", verr)
	}
	if w := e.a.Writes(); w != 0 {
		t.Fatalf("valve let %d writes through", w)
	}
	runs, _ := e.st.ListRuns(e.ctx, "f", 1)
	if runs[0].State != store.RunStopped || !strings.Contains(runs[0].Error, "--force") {
		t.Fatalf("run = %+v", runs[0])
	}
	res := e.sync(tsync.RunOptions{Force: true})
	if res.Run.Counts.Updated != 3 {
		t.Fatalf("forced run counts %+v", res.Run.Counts)
	}
}

func TestUndo(t *testing.T) {
	e, ls := linked(t, envOpts{})
	e.clock.Advance(time.Minute)
	e.a.Edit(ls[0].A, func(x *adapters.Item) { x.Title = "renamed" })
	e.a.Edit(ls[1].A, func(x *adapters.Item) { x.Title = "renamed too" })
	res := e.sync(tsync.RunOptions{})
	// Someone edits the second copy after the run: undo must leave it.
	e.clock.Advance(time.Minute)
	e.b.Edit(ls[1].B, func(x *adapters.Item) { x.Title = "hand edit" })
	rep, err := e.eng.Undo(e.ctx, map[string]*tsync.Flow{"f": e.flow}, res.Run.ID)
	if err != nil {
		t.Fatal(err)
	}
	b0, _ := e.b.Get(e.ctx, ls[0].B)
	b1, _ := e.b.Get(e.ctx, ls[1].B)
	if b0.Title != "Onboarding" {
		t.Fatalf("undo did not revert: %q", b0.Title)
	}
	if b1.Title != "hand edit" {
		t.Fatalf("undo overwrote a later edit: %q", b1.Title)
	}
	if len(rep.Reverted) != 1 || len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], "changed since") {
		t.Fatalf("report = %+v", rep)
	}
	// The pair is not left split: a full plan carries the revert to the
	// side the run copied from, and a sync makes both sides agree.
	p, err := e.eng.Plan(e.ctx, e.flow, tsync.RunOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Count(tsync.OpUpdate) == 0 {
		var b strings.Builder
		p.WriteText(&b)
		t.Fatalf("after undo a full plan has nothing to do, pair split:\n%s", b.String())
	}
	e.sync(tsync.RunOptions{Full: true})
	a0, _ := e.a.Get(e.ctx, ls[0].A)
	b0, _ = e.b.Get(e.ctx, ls[0].B)
	if a0.Title != b0.Title || a0.Title != "Onboarding" {
		t.Fatalf("after undo and sync: a %q, b %q; want both reverted", a0.Title, b0.Title)
	}
}

// state is a comparable picture of both trackers: what a person sees.
func state(e *env) []string {
	var out []string
	for _, side := range []struct {
		n string
		t *memory.Tracker
	}{{"a", e.a}, {"b", e.b}} {
		for _, it := range side.t.Items() {
			cs := commentBodies(it.Comments)
			out = append(out, fmt.Sprintf("%s|%s|%s|%s|%v|%v|%s|%v", side.n, it.Title, it.Status, it.Body, it.Labels, it.Assignees, it.Priority, cs))
		}
	}
	sort.Strings(out)
	return out
}

// scripted sets up a flow with edits pending on both sides.
func scripted(t *testing.T) *env {
	e := newEnv(t, envOpts{})
	seedBoth(e)
	items := e.a.Items()
	e.a.AddComment(e.ctx, items[0].Ref, adapters.Comment{Body: "first"}, "")
	e.sync(tsync.RunOptions{})
	ls := e.links()
	e.clock.Advance(time.Minute)
	e.a.Edit(ls[0].A, func(x *adapters.Item) { x.Title = "changed on a"; x.Status = "Done" })
	e.b.Edit(ls[1].B, func(x *adapters.Item) { x.Labels = []string{"p1"} })
	e.a.AddComment(e.ctx, ls[1].A, adapters.Comment{Body: "second"}, "")
	e.b.AddComment(e.ctx, ls[2].B, adapters.Comment{Body: "third"}, "")
	e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "new on a", Status: "In Progress"})
	e.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "new on b", Status: "active"})
	e.a.Delete(e.ctx, ls[2].A)
	return e
}

// TestCrashAtEveryWrite kills the run at every write, before and after
// the API call, then reruns: the end state must equal an uninterrupted
// run's, with no duplicates.
func TestCrashAtEveryWrite(t *testing.T) {
	ref := scripted(t)
	ref.sync(tsync.RunOptions{})
	want := state(ref)
	writes := 0
	// Count the writes of the scripted run.
	probe := scripted(t)
	probe.eng = tsync.New(probe.st, tsync.Options{Clock: probe.clock.Now, Crash: func(p tsync.CrashPoint, op *tsync.Op) error {
		if p == tsync.CrashBeforeCall {
			writes++
		}
		return nil
	}})
	probe.sync(tsync.RunOptions{})
	if writes < 5 {
		t.Fatalf("scripted run made only %d writes", writes)
	}
	for _, point := range []tsync.CrashPoint{tsync.CrashBeforeCall, tsync.CrashAfterCall} {
		for k := 1; k <= writes; k++ {
			t.Run(fmt.Sprintf("%s/%d", point, k), func(t *testing.T) {
				e := scripted(t)
				e.eng = tsync.New(e.st, tsync.Options{Clock: e.clock.Now, Crash: flowtest.Kill(point, "", k)})
				if _, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{}); err == nil {
					t.Fatal("crash not injected")
				}
				e.restart()
				e.sync(tsync.RunOptions{})
				if diff := cmp.Diff(want, state(e)); diff != "" {
					t.Fatalf("end state differs from an uninterrupted run (-want +got):\n%s", diff)
				}
				e.a.ResetCounts()
				e.b.ResetCounts()
				e.sync(tsync.RunOptions{})
				if w := e.a.Writes() + e.b.Writes(); w != 0 {
					t.Fatalf("after recovery, a further run wrote %d times", w)
				}
				pend, _ := e.st.PendingJournal(e.ctx, "f")
				if len(pend) != 0 {
					t.Fatalf("%d journal entries still pending", len(pend))
				}
			})
		}
	}
}

// TestAmbiguousFailure: the tracker applies a create but the response is
// lost (a timeout): the next run must find the copy, not make another.
func TestAmbiguousFailure(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "one", Status: "To Do"})
	if err := e.syncFailing(e.b, "create", memory.After, errors.New("read tcp: i/o timeout")); err == nil {
		t.Fatal("want the run to fail")
	}
	e.sync(tsync.RunOptions{})
	if n := len(e.b.Items()); n != 1 {
		t.Fatalf("b has %d items, want 1 (no duplicate)", n)
	}
	if n := len(e.links()); n != 1 {
		t.Fatalf("%d links", n)
	}
}

func TestRateLimitStopsRunAndKeepsCursor(t *testing.T) {
	e, ls := linked(t, envOpts{})
	e.a.Edit(ls[0].A, func(x *adapters.Item) { x.Title = "t2" })
	e.b.InjectRateLimit(1, 30*time.Second)
	// The listing of B is the first call on B.
	_, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{})
	var rl *adapters.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second {
		t.Fatalf("err = %v, want a rate limit with retry-after", err)
	}
	e.sync(tsync.RunOptions{})
	b, _ := e.b.Get(e.ctx, ls[0].B)
	if b.Title != "t2" {
		t.Fatalf("change lost after a rate-limited run: %q", b.Title)
	}
}

func TestOnDeleteClose(t *testing.T) {
	e, ls := linked(t, envOpts{onDelete: "close"})
	e.a.Delete(e.ctx, ls[0].A)
	res := e.sync(tsync.RunOptions{Full: true})
	if res.Run.Counts.Archived != 1 {
		t.Fatalf("counts %+v", res.Run.Counts)
	}
	b, _ := e.b.Get(e.ctx, ls[0].B)
	if b.StatusCategory != adapters.CategoryDone {
		t.Fatalf("survivor not closed: %+v", b)
	}
	// The survivor is not copied back as new.
	e.sync(tsync.RunOptions{Full: true})
	if n := len(e.a.Items()); n != 2 {
		t.Fatalf("a has %d items, want 2", n)
	}
}

// TestOneWayField: body is a-to-b. B's own edit of it is kept (never
// silently reverted) until A changes it, and then A's value wins; B's edit
// never reaches A.
func TestOneWayField(t *testing.T) {
	e, ls := linked(t, envOpts{})
	l := ls[0]
	e.clock.Advance(time.Minute)
	e.b.Edit(l.B, func(x *adapters.Item) { x.Body = "edited on b" })
	e.sync(tsync.RunOptions{})
	a, _ := e.a.Get(e.ctx, l.A)
	b, _ := e.b.Get(e.ctx, l.B)
	if a.Body != "Make it self-serve" || b.Body != "edited on b" {
		t.Fatalf("after b edit: a=%q b=%q", a.Body, b.Body)
	}
	e.clock.Advance(time.Minute)
	e.a.Edit(l.A, func(x *adapters.Item) { x.Body = "new spec" })
	e.sync(tsync.RunOptions{})
	b, _ = e.b.Get(e.ctx, l.B)
	if b.Body != "new spec" {
		t.Fatalf("a's change did not reach b: %q", b.Body)
	}
	// Both change: A owns the field whatever the flow policy says.
	e.clock.Advance(time.Minute)
	e.a.Edit(l.A, func(x *adapters.Item) { x.Body = "a again" })
	e.clock.Advance(time.Minute)
	e.b.Edit(l.B, func(x *adapters.Item) { x.Body = "b again, newer" })
	e.sync(tsync.RunOptions{})
	a, _ = e.a.Get(e.ctx, l.A)
	b, _ = e.b.Get(e.ctx, l.B)
	if a.Body != "a again" || b.Body != "a again" {
		t.Fatalf("owner did not win: a=%q b=%q", a.Body, b.Body)
	}
}

// TestStatusLabels: B is GitHub-like (open/closed); statuses beyond that
// are carried by labels. Setting one swaps the other status labels in the
// same write, other labels are untouched, and status labels never leak
// into label sync.
func TestStatusLabels(t *testing.T) {
	fields := defaultFields()
	fields["status"] = config.FieldConfig{Direction: "both", Map: []config.ValuePair{
		{A: "To Do", B: "open"},
		{A: "In Progress", B: "open", BLabel: "status: in progress"},
		{A: "In Review", B: "open", BLabel: "status: in review"},
		{A: "Done", B: "closed"},
	}}
	gh := []adapters.StatusDef{{Name: "open", Category: adapters.CategoryTodo}, {Name: "closed", Category: adapters.CategoryDone}}
	e := newEnv(t, envOpts{fields: fields, statusB: gh})
	e.a.Seed(adapters.Item{Kind: adapters.KindEpic, Title: "Billing", Status: "In Progress", Labels: []string{"growth"}})
	e.sync(tsync.RunOptions{})
	l := e.links()[0]
	b, _ := e.b.Get(e.ctx, l.B)
	if b.Status != "open" || !cmp.Equal(b.Labels, []string{"growth", "status: in progress"}) {
		t.Fatalf("created copy: status %q labels %v", b.Status, b.Labels)
	}
	e.clock.Advance(time.Minute)
	e.a.Edit(l.A, func(x *adapters.Item) { x.Status = "In Review" })
	e.sync(tsync.RunOptions{})
	b, _ = e.b.Get(e.ctx, l.B)
	if b.Status != "open" || !cmp.Equal(b.Labels, []string{"growth", "status: in review"}) {
		t.Fatalf("after In Review: status %q labels %v", b.Status, b.Labels)
	}
	a, _ := e.a.Get(e.ctx, l.A)
	if !cmp.Equal(a.Labels, []string{"growth"}) {
		t.Fatalf("a status label leaked into a's labels: %v", a.Labels)
	}
	// On GitHub someone drops the status label and adds another label:
	// plain "open" maps to To Do, and the new label crosses over.
	e.clock.Advance(time.Minute)
	e.b.Edit(l.B, func(x *adapters.Item) { x.Labels = []string{"growth", "ux"} })
	e.sync(tsync.RunOptions{})
	a, _ = e.a.Get(e.ctx, l.A)
	if a.Status != "To Do" || !cmp.Equal(a.Labels, []string{"growth", "ux"}) {
		t.Fatalf("a after b's label edit: status %q labels %v", a.Status, a.Labels)
	}
	e.a.ResetCounts()
	e.b.ResetCounts()
	e.sync(tsync.RunOptions{})
	if w := e.a.Writes() + e.b.Writes(); w != 0 {
		t.Fatalf("echo: %d writes", w)
	}
}

// TestDeadOwnerLockTakenOver: a run killed with -9 leaves its lease; the
// next run on the same host takes it over instead of waiting it out, but
// a live owner still blocks.
func TestDeadOwnerLockTakenOver(t *testing.T) {
	e := newEnv(t, envOpts{})
	seedBoth(e)
	host, _ := os.Hostname()
	// A pid that cannot be running: above the kernel's pid_max.
	if _, err := e.st.Lock(e.ctx, "flow:f", host+":4194305", time.Hour); err != nil {
		t.Fatal(err)
	}
	e.sync(tsync.RunOptions{})
	if _, err := e.st.Lock(e.ctx, "flow:f", host+":1", time.Hour); err != nil { // pid 1 is alive
		t.Fatal(err)
	}
	_, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{})
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), host+":1") {
		t.Fatalf("err = %v, want locked by %s:1", err, host)
	}
}

// TestSameHostAndPidOwnersExclude: two processes whose host name and pid
// agree (two containers started with the host's network, or one hostname,
// each tracksync their PID 1) are still two lease owners. While one runs
// a flow, the other is turned away: sharing the lease (and its fencing
// token) would let both write, duplicating every create.
func TestSameHostAndPidOwnersExclude(t *testing.T) {
	e := newEnv(t, envOpts{})
	seedBoth(e)
	other := tsync.New(e.st, tsync.Options{Clock: e.clock.Now}) // same host, same pid
	var otherErr error
	asked := false
	first := tsync.New(e.st, tsync.Options{Clock: e.clock.Now, Draining: func() bool {
		if !asked {
			asked = true
			_, otherErr = other.Sync(e.ctx, e.flow, tsync.RunOptions{})
		}
		return false
	}})
	if _, err := first.Sync(e.ctx, e.flow, tsync.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if !asked {
		t.Fatal("the first run made no write; the test proves nothing")
	}
	if !errors.Is(otherErr, store.ErrLocked) {
		t.Errorf("a second process with the same host and pid ran the flow during the first's run: err = %v, want locked", otherErr)
	}
	if n := len(e.links()); n != 3 {
		t.Errorf("%d links, want 3 (no duplicate)", n)
	}
}
