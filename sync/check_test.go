package sync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// checkEnv is a flow with three linked, converged pairs.
func checkEnv(t *testing.T) (*env, []adapters.Item) {
	e := newEnv(t, envOpts{})
	e.a.Seed(
		adapters.Item{Kind: adapters.KindIssue, Title: "one", Status: "To Do", Labels: []string{"ui"}, Assignees: []string{"ana"}},
		adapters.Item{Kind: adapters.KindIssue, Title: "two", Status: "In Review"},
		adapters.Item{Kind: adapters.KindIssue, Title: "three", Status: "Done", Assignees: []string{"bo", "nobody-known"}},
	)
	e.sync(tsync.RunOptions{})
	e.sync(tsync.RunOptions{})
	return e, e.a.Items()
}

func (e *env) check() *tsync.CheckReport {
	e.t.Helper()
	rep, err := e.eng.Check(e.ctx, e.flow)
	if err != nil {
		e.t.Fatalf("check: %v", err)
	}
	return rep
}

// counterpart returns the B item linked to A item ref.
func (e *env) counterpart(ref adapters.Ref) adapters.Ref {
	e.t.Helper()
	l, err := e.st.FindLink(e.ctx, "f", store.SideA, ref.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return l.B
}

// skipCursor moves side s's cursor past every change so far, as a listing
// that missed an edit would.
func (e *env) skipCursor(tr adapters.Tracker, s store.Side) {
	e.t.Helper()
	cur, _ := e.st.GetCursor(e.ctx, "f", s)
	req := adapters.ListRequest{Cursor: cur}
	for {
		page, err := tr.List(e.ctx, req)
		if err != nil {
			e.t.Fatal(err)
		}
		if page.NextPageToken == "" {
			if err := e.st.PutCursor(e.ctx, "f", s, page.Cursor); err != nil {
				e.t.Fatal(err)
			}
			return
		}
		req.PageToken = page.NextPageToken
	}
}

func TestCheckConverged(t *testing.T) {
	e, _ := checkEnv(t)
	rep := e.check()
	if len(rep.Drift) != 0 || rep.Linked != 3 || rep.Compared != 3 || rep.Pending != 0 {
		t.Fatalf("converged flow: %+v", rep)
	}
}

// TestCheckMissedEdit: a field changed behind the base with the cursor
// past it is drift; the same edit the next run would copy is pending.
func TestCheckMissedEdit(t *testing.T) {
	e, items := checkEnv(t)
	b := e.counterpart(items[0].Ref)
	e.clock.Advance(time.Minute)
	e.b.Edit(b, func(x *adapters.Item) { x.Title = "renamed on b" })
	rep := e.check()
	if len(rep.Drift) != 0 || rep.Pending != 1 {
		t.Fatalf("an edit the next run copies is pending, not drift: %+v", rep)
	}
	e.skipCursor(e.b, store.SideB)
	rep = e.check()
	if len(rep.Drift) != 1 || rep.Pending != 0 {
		t.Fatalf("missed edit: %+v", rep)
	}
	d := rep.Drift[0]
	if d.Field != "title" || d.AValue != "one" || d.BValue != "renamed on b" || d.BaseB != "one" || !strings.Contains(d.Reason, "side b changed") || d.B != b {
		t.Errorf("drift item: %+v", d)
	}
	// check wrote nothing.
	if got := e.a.Items()[0].Title; got != "one" {
		t.Errorf("check wrote to a: %q", got)
	}
}

// TestCheckStatusMappedDifferently: a pair that disagrees through the
// current mapping (here: the map changed since the pair was synced) is
// drift although neither side changed.
func TestCheckStatusMappedDifferently(t *testing.T) {
	e, items := checkEnv(t)
	fields := defaultFields()
	fields["status"] = config.FieldConfig{Direction: "both", Map: []config.ValuePair{
		{A: "To Do", B: "open"}, {A: "In Progress", B: "active"}, {A: "In Review", B: "closed"}, {A: "Done", B: "closed"},
	}}
	cf := flowtest.Flow("", "", fields)
	cf.Create, cf.Schedule = nil, ""
	e.flow = flowtest.Compile(t, cf, users, "memory", e.a, "memory", e.b)
	rep := e.check()
	if len(rep.Drift) != 1 {
		t.Fatalf("status mapped differently: %+v", rep)
	}
	d := rep.Drift[0]
	if d.Field != "status" || d.AValue != "In Review" || d.BValue != "active" || d.A != items[1].Ref || !strings.Contains(d.Reason, "neither side changed") {
		t.Errorf("drift item: %+v", d)
	}
}

// TestCheckDeletedCounterpart: a counterpart gone without the listing
// saying so is drift naming the item.
func TestCheckDeletedCounterpart(t *testing.T) {
	e, items := checkEnv(t)
	b := e.counterpart(items[2].Ref)
	if err := e.b.Delete(e.ctx, b); err != nil {
		t.Fatal(err)
	}
	e.skipCursor(e.b, store.SideB)
	rep := e.check()
	if len(rep.Drift) != 1 || rep.Compared != 2 {
		t.Fatalf("deleted counterpart: %+v", rep)
	}
	d := rep.Drift[0]
	if d.Field != "" || d.B != b || !strings.Contains(d.Reason, "is gone") {
		t.Errorf("drift item: %+v", d)
	}
}
