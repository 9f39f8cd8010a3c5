package github_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	tsync "github.com/tracksync/tracksync/sync"
	"github.com/tracksync/tracksync/sync/synctest"
)

// The real engine between Jira (its adapter on jiratest) and a GitHub
// board whose other Projects fields are synced: Jira's due date with the
// board's Target date, Jira's priority with the board's Priority
// single-select, Jira's Team (text) and Severity (select list) custom
// fields with the board's Team text field and Severity single-select. The
// Jira fake has no Story Points (number) field, so a number field is
// synced against the in-memory tracker's custom:Story Points below.

// boardFields adds the project fields a test board has besides Status.
func boardFields(t *testing.T, fake *githubtest.Server, fields ...githubtest.ProjectField) {
	t.Helper()
	fake.AddProject("acme", 1, "Status", boardOptions...)
	for _, f := range fields {
		if err := fake.AddProjectField("acme", 1, f); err != nil {
			t.Fatal(err)
		}
	}
}

func newBoardTracker(t *testing.T, fake *githubtest.Server, clock *memory.Clock, po github.ProjectOptions) *github.Tracker {
	t.Helper()
	po.Owner, po.Number, po.Statuses = "acme", 1, flowtest.Board
	return flowtest.GitHub(t, "b", fake, clock.Now, clock.Advance, github.Options{Project: &po})
}

// fieldFlow is a compiled both-ways flow between a and b over fields.
func fieldFlow(t *testing.T, a, b adapters.Tracker, kindA, scopeA string, fields map[string]config.FieldConfig, clock *memory.Clock) (*tsync.Flow, *tsync.Engine) {
	t.Helper()
	st := flowtest.Store(t, "", clock.Now)
	fields["title"] = config.FieldConfig{Direction: "both"}
	return flowtest.Compile(t, flowtest.Flow(scopeA, syncRepo, fields), nil, kindA, a, "github", b), tsync.New(st, tsync.Options{Clock: clock.Now})
}

// TestSyncJiraDueDateWithProjectTargetDate: a Jira issue's due date,
// priority and custom fields reach the board's fields when the issue is
// copied and when they change; a person editing the board's fields
// reaches Jira; a sync with no edits writes nothing to either side.
func TestSyncJiraDueDateWithProjectTargetDate(t *testing.T) {
	ctx := t.Context()
	clock := memory.NewClock(flowtest.Start)
	jfake := jiratest.New(t, jiratest.Options{Start: flowtest.Start})
	customs := func(o *jira.Options) { o.CustomFields = []string{"Team", "Severity"} }
	a, person := flowtest.Jira(t, "a", jfake, "PLAT", customs), flowtest.Jira(t, "a", jfake, "PLAT", customs)
	gfake := githubtest.New(t, githubtest.Options{Repos: []string{syncRepo}, Tokens: []string{"tok"}, Clock: clock.Now})
	boardFields(t, gfake,
		githubtest.ProjectField{Name: "Target date", Type: githubtest.FieldDate},
		githubtest.ProjectField{Name: "Priority", Type: githubtest.FieldSingleSelect, Options: []string{"P0", "P1", "P2", "P3", "P4"}},
		githubtest.ProjectField{Name: "Team", Type: githubtest.FieldText},
		githubtest.ProjectField{Name: "Severity", Type: githubtest.FieldSingleSelect, Options: []string{"Minor", "Major", "Critical"}})
	b := newBoardTracker(t, gfake, clock, github.ProjectOptions{Fields: []string{"Team", "Severity"}, DueField: "Target date", PriorityField: "Priority"})
	flow, eng := fieldFlow(t, a, b, "jira", "project = PLAT", map[string]config.FieldConfig{
		"status":          {Direction: "both", Map: flowtest.BoardMap},
		"due":             {Direction: "both"},
		"priority":        {Direction: "both", Map: []config.ValuePair{{A: "Highest", B: "P0"}, {A: "High", B: "P1"}, {A: "Medium", B: "P2"}, {A: "Low", B: "P3"}, {A: "Lowest", B: "P4"}}},
		"custom:Team":     {Direction: "both"},
		"custom:Severity": {Direction: "both"},
	}, clock)
	advance := func(d time.Duration) {
		clock.Advance(d)
		jfake.Advance(d)
	}
	card := func(issue, field string) string {
		v, _ := gfake.CardField("acme", 1, issue, field)
		return v
	}

	made, err := person.Create(ctx, adapters.Item{Kind: adapters.KindIssue, Title: "ship the importer", Due: "2026-12-01", Priority: "High",
		Fields: map[string]string{"Team": "Platform", "Severity": "Major"}}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := made.Item.Ref.Key
	advance(time.Minute)
	flowtest.Run(t, eng, flow)
	issues := gfake.Issues(syncRepo)
	if len(issues) != 1 {
		t.Fatalf("%d GitHub issues after the first sync, want 1", len(issues))
	}
	gh := syncRepo + "#" + strconv.Itoa(issues[0].Number)
	for field, want := range map[string]string{"Target date": "2026-12-01", "Priority": "P1", "Team": "Platform", "Severity": "Major"} {
		if got := card(gh, field); got != want {
			t.Errorf("copied card: %s = %q, want %q", field, got, want)
		}
	}

	// Jira's due date moves: the Target date follows.
	advance(time.Minute)
	if err := jfake.EditIssue(key, "", func(x *jiratest.Issue) { x.Due = "2026-12-08" }); err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	flowtest.Run(t, eng, flow)
	if got := card(gh, "Target date"); got != "2026-12-08" {
		t.Errorf("after Jira's due date moved: Target date %q, want 2026-12-08", got)
	}

	// A person moves the Target date and the priority on the board, and
	// clears Team: Jira follows, though the issue itself did not change.
	advance(time.Minute)
	for field, v := range map[string]string{"Target date": "2026-12-15", "Priority": "P0", "Team": "", "Severity": "Critical"} {
		if err := gfake.SetCardField("acme", 1, gh, field, v); err != nil {
			t.Fatal(err)
		}
	}
	advance(time.Minute)
	flowtest.Run(t, eng, flow)
	got, ok := jfake.Issue(key)
	if !ok {
		t.Fatalf("%s gone", key)
	}
	if got.Due != "2026-12-15" || got.Priority != "Highest" {
		t.Errorf("Jira after the board edit: due %q priority %q, want 2026-12-15 and Highest", got.Due, got.Priority)
	}
	if _, ok := got.Custom[jiratest.TeamField]; ok {
		t.Errorf("Jira's Team still set: %s", got.Custom[jiratest.TeamField])
	}
	var sev struct{ Value string }
	_ = json.Unmarshal(got.Custom[jiratest.SeverityField], &sev)
	if sev.Value != "Critical" {
		t.Errorf("Jira's Severity %q, want Critical", sev.Value)
	}

	// Clearing the due date in Jira clears the Target date.
	advance(time.Minute)
	if err := jfake.EditIssue(key, "", func(x *jiratest.Issue) { x.Due = "" }); err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	flowtest.Run(t, eng, flow)
	if v, on := gfake.CardField("acme", 1, gh, "Target date"); v != "" || !on {
		t.Errorf("after Jira's due date was cleared: Target date %q (on the board %v)", v, on)
	}

	err = synctest.Echo(func() error {
		advance(time.Minute)
		_, err := eng.Sync(ctx, flow, tsync.RunOptions{Force: true})
		return err
	}, synctest.Jira("Jira", jfake), synctest.GitHub("github", gfake))
	if err != nil {
		t.Error(err)
	}
}

// TestSyncStoryPointsWithProjectNumberField: a number custom field (Story
// Points on side a, the board's Estimate number field on GitHub, named
// per side in the flow) syncs both ways, fractions included, and settles.
func TestSyncStoryPointsWithProjectNumberField(t *testing.T) {
	ctx := t.Context()
	clock := memory.NewClock(flowtest.Start)
	a, err := memory.New("a", memory.Options{Statuses: statusesA, Fields: []string{adapters.FieldTitle, adapters.FieldStatus, "custom:Story Points"}, Clock: clock.Now, Project: "A"})
	if err != nil {
		t.Fatal(err)
	}
	gfake := githubtest.New(t, githubtest.Options{Repos: []string{syncRepo}, Tokens: []string{"tok"}, Clock: clock.Now})
	boardFields(t, gfake, githubtest.ProjectField{Name: "Estimate", Type: githubtest.FieldNumber})
	b := newBoardTracker(t, gfake, clock, github.ProjectOptions{Fields: []string{"Estimate"}})
	flow, eng := fieldFlow(t, a, b, "memory", "", map[string]config.FieldConfig{
		"status":              {Direction: "both", Map: flowtest.BoardMap},
		"custom:Story Points": {Direction: "both", A: "Story Points", B: "Estimate"},
	}, clock)
	made, err := a.Create(ctx, adapters.Item{Kind: adapters.KindIssue, Title: "estimate me", Status: "To Do", Fields: map[string]string{"Story Points": "5"}}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	flowtest.Run(t, eng, flow)
	issues := gfake.Issues(syncRepo)
	if len(issues) != 1 {
		t.Fatalf("%d GitHub issues, want 1", len(issues))
	}
	gh := syncRepo + "#" + strconv.Itoa(issues[0].Number)
	if v, _ := gfake.CardField("acme", 1, gh, "Estimate"); v != "5" {
		t.Errorf("Estimate %q, want 5", v)
	}
	clock.Advance(time.Minute)
	if err := gfake.SetCardField("acme", 1, gh, "Estimate", "2.5"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	flowtest.Run(t, eng, flow)
	it, err := a.Get(ctx, made.Item.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if v := it.Fields["Story Points"]; v != "2.5" {
		t.Errorf("Story Points %q after the board's Estimate became 2.5", v)
	}
	clock.Advance(time.Minute)
	if _, err := a.Edit(made.Item.Ref, func(x *adapters.Item) { x.Fields["Story Points"] = "13" }); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	flowtest.Run(t, eng, flow)
	if v, _ := gfake.CardField("acme", 1, gh, "Estimate"); v != "13" {
		t.Errorf("Estimate %q after Story Points became 13", v)
	}
	w := gfake.FieldWrites()
	if last := w[len(w)-1]; last.Field != "Estimate" || last.Kind != "number" || last.Value != "13" {
		t.Errorf("last field write %+v, want Estimate number 13", last)
	}
	err = synctest.Echo(func() error {
		clock.Advance(time.Minute)
		_, err := eng.Sync(ctx, flow, tsync.RunOptions{Force: true})
		return err
	}, synctest.Memory("a", a), synctest.GitHub("github", gfake))
	if err != nil {
		t.Error(err)
	}
}

// TestProjectFieldsFromYAML: the keys as a config file spells them reach
// the tracker (lists and names with spaces through the YAML decoder).
func TestProjectFieldsFromYAML(t *testing.T) {
	fake := githubtest.New(t, githubtest.Options{})
	c, err := config.Parse([]byte(`
trackers:
  acme-gh:
    kind: github
    url: `+fake.URL+`
    auth: { token: t }
    status_source: project
    project:
      owner: acme
      number: 7
      fields: [Estimate, Iteration]
      due_field: Target date
      priority_field: Priority
flows: []
`), "tracksync.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := c.Trackers["acme-gh"]
	reg := adapters.NewRegistry()
	if err := reg.Register(github.Spec()); err != nil {
		t.Fatal(err)
	}
	tr, err := reg.Open(t.Context(), "acme-gh", tc.Kind, tc.Options, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	caps := tr.Capabilities()
	for _, f := range []string{adapters.FieldDue, adapters.FieldPriority, "custom:Estimate", "custom:Iteration"} {
		if !caps.HasField(f) {
			t.Errorf("capabilities lack %s: %v", f, caps.Fields)
		}
	}
}
