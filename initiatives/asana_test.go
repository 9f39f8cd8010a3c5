package initiatives

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
)

// TestAsanaInitiatives: the PM keeps initiatives as tasks of an Asana
// project (a board: Planned, In progress, Done); engineering's Jira epics
// carry the initiative's label. The roll-up is written back to the
// initiative task: percent done into its Progress number field, its
// section following its children, and one summary comment kept up to
// date. On the Asana and Jira fakes.
func TestAsanaInitiatives(t *testing.T) {
	ctx := context.Background()
	af := asanatest.New(t, asanatest.Options{})
	board := af.AddProject("Initiatives", "Planned", "In progress", "Done")
	af.AddCustomField(asanatest.CustomField{Name: "Progress", Type: asanatest.TypeNumber}, board)
	pm := flowtest.Asana(t, "pm", af, asana.Options{Projects: []string{board}, RequestsPerMinute: 100000})
	res, err := pm.Create(ctx, adapters.Item{Title: "Self-serve revenue", Status: "Planned"}, adapters.CreateOptions{Scope: board})
	if err != nil {
		t.Fatal(err)
	}
	init := res.Item

	jf, jt, last := engineering(t, init.Ref.Key)
	svc := loadedAsana(t, pm, jt, board)
	check := func(when string, progress, section, summary string) {
		t.Helper()
		got, err := pm.Get(ctx, init.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if got.Fields["Progress"] != progress || got.Status != section {
			t.Errorf("%s: Progress %q in section %q, want %s in %q", when, got.Fields["Progress"], got.Status, progress, section)
		}
		if len(got.Comments) != 1 || !strings.Contains(got.Comments[0].Body, summary) {
			t.Errorf("%s: comments %+v, want one holding %q", when, got.Comments, summary)
		}
	}
	check("after the first load", "50", "In progress", "Progress: 50%")

	// The last issue is done: the comment is edited, not added to, and
	// the initiative moves to Done.
	finish(t, svc, jf, af, last)
	check("after the last issue was done", "100", "Done", "Progress: 100%")

	// Nothing changed: nothing written.
	jf.Advance(time.Minute)
	af.Advance(time.Minute)
	af.ResetLog()
	r, err := svc.Refresh(ctx)
	if err != nil || r.Written != 0 {
		t.Errorf("idle refresh: %+v %v", r, err)
	}
	if w := af.Count().Writes; w != 0 {
		t.Errorf("idle refresh wrote to Asana %d times: %v", w, af.Count().ByRoute)
	}
}

// TestAsanaPortfolioInitiatives: the PM's initiatives are the projects of
// an Asana portfolio (scope portfolio:<gid>); engineering's Jira epics
// carry the label initiative:<project gid>. The roll-up is written back to
// each project: percent done into its Progress number field, its Health
// enum field following the children (At risk while its target date has
// passed), and one status update by tracksync with the matching status
// type, replaced when it changes. An idle refresh writes nothing.
func TestAsanaPortfolioInitiatives(t *testing.T) {
	ctx := context.Background()
	af := asanatest.New(t, asanatest.Options{})
	revenue := af.AddProject("Self-serve revenue")
	sso := af.AddProject("Enterprise SSO")
	roadmap := af.AddPortfolio("FY27 roadmap", revenue, sso)
	af.AddCustomField(asanatest.CustomField{Name: "Progress", Type: asanatest.TypeNumber}, roadmap)
	af.AddCustomField(asanatest.CustomField{Name: "Health", Type: asanatest.TypeEnum,
		Options: []asanatest.EnumOption{{Name: "On track"}, {Name: "At risk"}, {Name: "Done"}}}, roadmap)
	// Its target date has passed: at risk until it is done.
	if err := af.EditProject(revenue, func(p *asanatest.Project) { p.DueOn = "2026-01-01" }); err != nil {
		t.Fatal(err)
	}
	// A person's own status update stays.
	if _, err := af.AddStatusUpdate(revenue, "", "on_track", "Kick-off went well."); err != nil {
		t.Fatal(err)
	}
	pm := flowtest.Asana(t, "pm", af, asana.Options{Status: asana.StatusFieldPrefix + "Health", RequestsPerMinute: 100000})

	jf, jt, last := engineering(t, revenue, adapters.Item{Kind: adapters.KindEpic, Title: "SAML", Status: "Done", Labels: []string{"initiative:" + sso}})
	svc := loadedAsana(t, pm, jt, "portfolio:"+roadmap)
	// ours are the status updates tracksync made on project p (the
	// invisible marker aside, they say "Kept up to date by tracksync").
	ours := func(p string) []asanatest.StatusUpdate {
		var out []asanatest.StatusUpdate
		for _, u := range af.StatusUpdates(p) {
			if strings.Contains(u.Text, "tracksync") {
				out = append(out, u)
			}
		}
		return out
	}
	check := func(when, p, progress, health, statusType, summary string) {
		t.Helper()
		got, err := pm.Get(ctx, adapters.Ref{Tracker: "pm", Project: "portfolio:" + roadmap, ID: p, Key: p})
		if err != nil {
			t.Fatal(err)
		}
		if got.Fields["Progress"] != progress || got.Status != health {
			t.Errorf("%s: project %s: Progress %q, Health %q; want %s, %q", when, got.Title, got.Fields["Progress"], got.Status, progress, health)
		}
		us := ours(p)
		if len(us) != 1 || us[0].StatusType != statusType || !strings.Contains(us[0].Text, summary) {
			t.Errorf("%s: project %s: tracksync's status updates %+v, want one %s holding %q", when, got.Title, us, statusType, summary)
		}
	}
	check("after the first load", revenue, "50", "At risk", "at_risk", "Progress: 50%")
	check("after the first load", sso, "100", "Done", "complete", "Progress: 100%")

	// The last issue is done: the status update is replaced (status
	// updates cannot be edited), the project's fields follow.
	finish(t, svc, jf, af, last)
	check("after the last issue was done", revenue, "100", "Done", "complete", "Progress: 100%")
	if n := len(af.StatusUpdates(revenue)); n != 2 {
		t.Errorf("project %s holds %d status updates, want 2 (the person's and tracksync's)", revenue, n)
	}

	// Nothing changed: nothing written.
	jf.Advance(time.Minute)
	af.Advance(time.Minute)
	af.ResetLog()
	r, err := svc.Refresh(ctx)
	if err != nil || r.Written != 0 {
		t.Errorf("idle refresh: %+v %v", r, err)
	}
	if c := af.Count(); c.Writes != 0 {
		t.Errorf("idle refresh wrote to Asana %d times: %v", c.Writes, c.ByRoute)
	}
	if n := af.Count().ByRoute["GET /portfolios/{gid}/items"]; n != 1 {
		t.Errorf("idle refresh read the portfolio %d times, want 1", n)
	}
}

// TestAsanaPortfolioStatusNeedsEnum: under status: children, a
// portfolio's projects need the tracker's status to be an enum custom
// field; without one the service refuses to start, naming both keys.
func TestAsanaPortfolioStatusNeedsEnum(t *testing.T) {
	af := asanatest.New(t, asanatest.Options{})
	roadmap := af.AddPortfolio("FY27 roadmap", af.AddProject("Self-serve revenue"))
	pm := flowtest.Asana(t, "pm", af, asana.Options{RequestsPerMinute: 100000})
	cfg := config.Initiatives{Source: config.InitiativeSource{Tracker: "pm", Scope: "portfolio:" + roadmap}, Status: "children"}
	_, err := New(Options{Config: &cfg, Trackers: map[string]adapters.Tracker{"pm": pm}, Kinds: map[string]string{"pm": "asana"}})
	if err == nil || !strings.Contains(err.Error(), "initiatives.status") || !strings.Contains(err.Error(), "trackers.pm.status") {
		t.Errorf("New: %v, want an error naming initiatives.status and trackers.pm.status", err)
	}
	cfg.Status = "pm"
	if _, err := New(Options{Config: &cfg, Trackers: map[string]adapters.Tracker{"pm": pm}, Kinds: map[string]string{"pm": "asana"}}); err != nil {
		t.Errorf("New with status pm: %v", err)
	}
}

// engineering is the Jira side of the Asana initiative tests, on its
// fake: epic Onboarding labelled for initiative of, Verify email (done)
// and Templates (to do) under it, more, and an issue of no initiative.
// It returns Templates as last.
func engineering(t *testing.T, of string, more ...adapters.Item) (jf *jiratest.Server, jt adapters.Tracker, last adapters.Item) {
	t.Helper()
	jf = jiratest.New(t, jiratest.Options{})
	jt = flowtest.Jira(t, "jira", jf, "PLAT")
	epic := flowtest.Create(t, jt, adapters.Item{Kind: adapters.KindEpic, Title: "Onboarding", Status: "In Progress", Labels: []string{"initiative:" + of}})
	flowtest.Create(t, jt, adapters.Item{Kind: adapters.KindIssue, Title: "Verify email", Status: "Done", Parent: &epic.Ref})
	last = flowtest.Create(t, jt, adapters.Item{Kind: adapters.KindIssue, Title: "Templates", Status: "To Do", Parent: &epic.Ref})
	for _, it := range more {
		flowtest.Create(t, jt, it)
	}
	flowtest.Create(t, jt, adapters.Item{Kind: adapters.KindIssue, Title: "Unrelated", Status: "To Do"})
	return jf, jt, last
}

// loadedAsana is a loaded service whose initiatives are Asana's pm in
// scope, their children Jira epics carrying their label, with the
// roll-up written back as Progress and a comment.
func loadedAsana(t *testing.T, pm, jt adapters.Tracker, scope string) *Service {
	t.Helper()
	cfg := config.Initiatives{
		Source:   config.InitiativeSource{Tracker: "pm", Scope: scope},
		Status:   "children",
		Children: []config.ChildRule{{Tracker: "jira", Link: "label", Label: config.DefaultChildLabel, Scope: "project = PLAT"}},
		Rollup:   config.RollupConfig{Weight: "count", WriteBack: config.WriteBack{Source: true, Field: "Progress", Comment: true}},
	}
	return loaded(t, &cfg, map[string]adapters.Tracker{"pm": pm, "jira": jt}, map[string]string{"pm": "asana", "jira": "jira"})
}

// finish makes last done on Jira a minute later, and refreshes.
func finish(t *testing.T, svc *Service, jf *jiratest.Server, af *asanatest.Server, last adapters.Item) {
	t.Helper()
	jf.Advance(time.Minute)
	af.Advance(time.Minute)
	if err := jf.EditIssue(last.Ref.Key, "", func(is *jiratest.Issue) { is.Status = "Done" }); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
}
