package asanatest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
)

// portfolioEnv is a PM's portfolio of two projects, with a Progress number
// and a Health enum field on the portfolio (so on its projects).
type portfolioEnv struct {
	s             *asanatest.Server
	tr            *asana.Tracker
	portfolio     string
	revenue, sso  string
	progress, hlt asanatest.CustomField
	seen          []asanatest.Request // the log before each reset
	checked       map[string]int      // operations checked against the contract
	wantOps       []string            // operations the test must have sent
}

// reset empties the fake's request log, keeping it for the contract check.
func (e *portfolioEnv) reset() {
	e.seen = append(e.seen, e.s.Requests()...)
	e.s.ResetLog()
}

func newPortfolioEnv(t *testing.T) *portfolioEnv {
	t.Helper()
	s := asanatest.New(t, asanatest.Options{})
	e := &portfolioEnv{s: s}
	sam := s.AddUser("Sam Engineer", "sam@example.com")
	e.revenue = s.AddProject("Self-serve revenue", "To do", "Done")
	e.sso = s.AddProject("Enterprise SSO")
	e.portfolio = s.AddPortfolio("FY27 roadmap", e.revenue, e.sso)
	e.progress = s.AddCustomField(asanatest.CustomField{Name: "Progress", Type: asanatest.TypeNumber}, e.portfolio)
	e.hlt = s.AddCustomField(asanatest.CustomField{Name: "Health", Type: asanatest.TypeEnum,
		Options: []asanatest.EnumOption{{Name: "On track"}, {Name: "At risk"}, {Name: "Done"}}}, e.portfolio)
	ten := 10.0
	if err := s.EditProject(e.revenue, func(p *asanatest.Project) {
		p.HTMLNotes = "<body>Grow <strong>self-serve</strong> revenue.</body>"
		p.Owner, p.DueOn = sam, "2027-03-31"
		p.CustomValues[e.progress.GID] = asanatest.FieldValue{Number: &ten, HasValue: true}
	}); err != nil {
		t.Fatal(err)
	}
	tr, err := asana.New("pm", asana.Options{URL: s.URL, Token: asanatest.DefaultToken, Workspace: s.Workspace(),
		Status: asana.StatusFieldPrefix + "Health", RequestsPerMinute: 100000, Transport: s.Client().Transport, Clock: s.Now,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	e.tr = tr
	t.Cleanup(func() {
		e.checked = asanatest.CheckContract(t, append(e.seen, s.Requests()...))
		t.Logf("checked against the contract: %v", e.checked)
		for _, op := range e.wantOps {
			if e.checked[op] == 0 {
				t.Errorf("%s was never called, so its contract went unchecked", op)
			}
		}
	})
	return e
}

func listAll(t *testing.T, tr adapters.Tracker, req adapters.ListRequest) adapters.ListPage {
	t.Helper()
	return adaptertest.ListAll(t, tr, req)
}

// TestPortfolioItems: a portfolio's projects are listed as items (one
// page a project here, so pagination is exercised), an idle incremental
// listing is one request returning nothing, and a changed project comes
// back alone.
func TestPortfolioItems(t *testing.T) {
	e := newPortfolioEnv(t)
	e.wantOps = []string{"getItemsForPortfolio", "getProject"}
	scope := "portfolio:" + e.portfolio
	all := listAll(t, e.tr, adapters.ListRequest{Scope: scope, PageSize: 1})
	want := []adapters.Item{
		{Ref: adapters.Ref{Tracker: "pm", Project: scope, ID: e.revenue, Key: e.revenue}, Kind: adapters.KindInitiative,
			Title: "Self-serve revenue", Body: "Grow **self-serve** revenue.", Assignees: []string{"sam@example.com"},
			Due: "2027-03-31", Fields: map[string]string{"Progress": "10"}},
		{Ref: adapters.Ref{Tracker: "pm", Project: scope, ID: e.sso, Key: e.sso}, Kind: adapters.KindInitiative, Title: "Enterprise SSO"},
	}
	opts := cmp.Options{cmpopts.IgnoreFields(adapters.Item{}, "UpdatedAt", "Version"), cmpopts.IgnoreFields(adapters.Ref{}, "URL"), cmpopts.EquateEmpty()}
	if d := cmp.Diff(want, all.Items, opts); d != "" {
		t.Errorf("portfolio items (-want +got):\n%s", d)
	}
	if n := e.s.Count().ByRoute["GET /portfolios/{gid}/items"]; n != 2 {
		t.Errorf("%d item pages read, want 2 (page size 1)", n)
	}

	e.reset()
	idle := listAll(t, e.tr, adapters.ListRequest{Scope: scope, Cursor: all.Cursor})
	if len(idle.Items) != 0 || len(idle.Deleted) != 0 {
		t.Errorf("idle listing: %+v", idle)
	}
	if c := e.s.Count(); c.Total != 1 {
		t.Errorf("idle listing sent %d requests, want 1: %v", c.Total, c.ByRoute)
	}

	e.s.Advance(time.Minute)
	if err := e.s.EditProject(e.sso, func(p *asanatest.Project) { p.Name = "Enterprise SSO (SAML)" }); err != nil {
		t.Fatal(err)
	}
	changed := listAll(t, e.tr, adapters.ListRequest{Scope: scope, Cursor: idle.Cursor})
	if len(changed.Items) != 1 || changed.Items[0].Title != "Enterprise SSO (SAML)" {
		t.Errorf("after a rename: %+v", changed.Items)
	}

	// A project taken out of the portfolio is reported deleted.
	if err := e.s.RemoveFromPortfolio(e.portfolio, e.sso); err != nil {
		t.Fatal(err)
	}
	gone := listAll(t, e.tr, adapters.ListRequest{Scope: scope, Cursor: changed.Cursor})
	if len(gone.Items) != 0 || len(gone.Deleted) != 1 || gone.Deleted[0].ID != e.sso || gone.Deleted[0].Project != scope {
		t.Errorf("after removing a project: items %+v, deleted %+v", gone.Items, gone.Deleted)
	}

	got, err := e.tr.Get(t.Context(), want[0].Ref)
	if err != nil || got.Title != "Self-serve revenue" || got.Fields["Progress"] != "10" {
		t.Errorf("Get of a project: %+v, %v", got, err)
	}
}

// TestPortfolioWriteBack: the roll-up's fields go to the project in one
// PUT /projects/{gid}, its status update is posted once, replaced (the
// earlier one deleted) when it changes, and left alone when it does not;
// people's status updates are never touched.
func TestPortfolioWriteBack(t *testing.T) {
	e := newPortfolioEnv(t)
	e.wantOps = []string{"getItemsForPortfolio", "getProject", "updateProject", "getStatusesForObject", "createStatusForObject", "deleteStatus"}
	ctx := t.Context()
	all := listAll(t, e.tr, adapters.ListRequest{Scope: "portfolio:" + e.portfolio})
	rev := all.Items[0]

	got, err := e.tr.Update(ctx, rev.Ref, adapters.Patch{IfVersion: rev.Version,
		Fields: []string{adapters.CustomPrefix + "Progress", adapters.FieldStatus},
		Item:   adapters.Item{Status: "At risk", Fields: map[string]string{"Progress": "50"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Fields["Progress"] != "50" || got.Status != "At risk" {
		t.Errorf("after the update: Progress %q, status %q", got.Fields["Progress"], got.Status)
	}
	p, _ := e.s.Project(e.revenue)
	if v := p.CustomValues[e.progress.GID]; v.Number == nil || *v.Number != 50 {
		t.Errorf("fake's Progress: %+v", v)
	}
	if n := e.s.Count().ByRoute["PUT /projects/{gid}"]; n != 1 {
		t.Errorf("%d PUT /projects, want 1", n)
	}
	// A stale version is a conflict, and nothing is written.
	_, err = e.tr.Update(ctx, rev.Ref, adapters.Patch{IfVersion: rev.Version, Fields: []string{adapters.CustomPrefix + "Progress"},
		Item: adapters.Item{Fields: map[string]string{"Progress": "60"}}})
	if !errors.Is(err, adapters.ErrConflict) {
		t.Errorf("update with a stale version: %v, want ErrConflict", err)
	}

	if _, err := e.s.AddStatusUpdate(e.revenue, "", "on_track", "Kick-off went well."); err != nil {
		t.Fatal(err)
	}
	post := func(text, health string) bool {
		t.Helper()
		wrote, err := e.tr.PostStatus(ctx, rev.Ref, text, health)
		if err != nil {
			t.Fatal(err)
		}
		return wrote
	}
	if !post("**Progress: 50%** · 1 of 2 done", asana.HealthAtRisk) {
		t.Error("first status update: nothing written")
	}
	e.reset()
	if post("**Progress: 50%** · 1 of 2 done", asana.HealthAtRisk) {
		t.Error("unchanged status update: written again")
	}
	if c := e.s.Count(); c.Writes != 0 {
		t.Errorf("unchanged status update wrote %d times: %v", c.Writes, c.ByRoute)
	}
	e.s.Advance(time.Minute)
	if !post("**Progress: 100%** · 2 of 2 done", asana.HealthComplete) {
		t.Error("changed status update: nothing written")
	}
	ups := e.s.StatusUpdates(e.revenue)
	var texts []string
	for _, u := range ups {
		texts = append(texts, u.StatusType+": "+strings.Map(func(r rune) rune {
			if r >= '\u2000' && r <= '\u206f' && r != '\u00b7' {
				return -1
			}
			return r
		}, u.Text))
	}
	wantTexts := []string{"on_track: Kick-off went well.", "complete: Progress: 100% · 2 of 2 done"}
	if d := cmp.Diff(wantTexts, texts); d != "" {
		t.Errorf("status updates on the project (-want +got):\n%s", d)
	}

	// Tasks carry comments, not status updates.
	if e.tr.CanPostStatus(adapters.Ref{Tracker: "pm", ID: "1"}) {
		t.Error("a task ref can post status updates")
	}
}

// TestPortfolioScopeUse: a portfolio scope is refused where projects
// cannot be items (a flow, a child rule), and for creates.
func TestPortfolioScopeUse(t *testing.T) {
	for _, tc := range []struct {
		scope string
		use   adapters.ScopeUse
		ok    bool
	}{
		{"portfolio:123", adapters.UseInitiatives, true},
		{"portfolio:123", adapters.UseFlow, false},
		{"portfolio:123", adapters.UseChildren, false},
		{"portfolio:123 456", adapters.UseInitiatives, false},
		{"portfolio:abc", adapters.UseInitiatives, false},
		{"456 section:Done", adapters.UseFlow, true},
	} {
		err := adapters.CheckScope("asana", tc.scope, tc.use)
		if (err == nil) != tc.ok {
			t.Errorf("CheckScope(%q, %d) = %v, want ok %v", tc.scope, tc.use, err, tc.ok)
		}
	}
	e := newPortfolioEnv(t)
	_, err := e.tr.Create(t.Context(), adapters.Item{Title: "x"}, adapters.CreateOptions{Scope: "portfolio:" + e.portfolio})
	if !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("create in a portfolio scope: %v, want ErrInvalid", err)
	}
}
