package mapping

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/sides"
)

func parseFlow(t *testing.T, yaml string) (config.Flow, []config.User) {
	t.Helper()
	c, err := config.Parse([]byte(yaml), "", nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c.Flows[0], c.Users
}

func TestCompileRules(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		rules    []Rule
		comments Direction
		writes   map[string][2]bool // field -> writes to A, to B
	}{
		{
			name: "no fields key: title, body, status",
			yaml: "flows: [{name: f, a: {tracker: x}, b: {tracker: y}}]",
			rules: []Rule{
				{Field: "title", Direction: Both}, {Field: "body", Direction: Both}, {Field: "status", Direction: Both},
			},
			comments: None,
			writes:   map[string][2]bool{"title": {true, true}, "labels": {false, false}, "comments": {false, false}},
		},
		{
			name:     "empty fields: nothing",
			yaml:     "flows: [{name: f, a: {tracker: x}, b: {tracker: y}, fields: {}}]",
			comments: None,
		},
		{
			name: "one-way flow narrows both; none drops; order standard then custom in file order",
			yaml: `
flows:
  - name: f
    a: {tracker: x}
    b: {tracker: y}
    direction: a-to-b
    fields:
      'custom:Z': both
      labels: {map: [{a: x, b: y}]}
      status: none
      comments: both
      body: a-to-b
      title: {direction: both, owner: b}
      'custom:A': a-to-b
`,
			rules: []Rule{
				{Field: "title", Direction: AToB, Owner: sides.B}, {Field: "body", Direction: AToB},
				{Field: "labels", Direction: AToB}, {Field: "custom:Z", Direction: AToB}, {Field: "custom:A", Direction: AToB},
			},
			comments: AToB,
			writes: map[string][2]bool{
				"title": {false, true}, "status": {false, false}, "comments": {false, true}, "custom:A": {false, true},
			},
		},
		{
			name:     "per-field directions in a both-way flow",
			yaml:     "flows: [{name: f, a: {tracker: x}, b: {tracker: y}, fields: {due: b-to-a, parent: a-to-b, comments: none}}]",
			rules:    []Rule{{Field: "due", Direction: BToA}, {Field: "parent", Direction: AToB}},
			comments: None,
			writes:   map[string][2]bool{"due": {true, false}, "parent": {false, true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf, users := parseFlow(t, tt.yaml)
			f, ps := Compile(cf, "flows[0]", users, SideInfo{Name: "x"}, SideInfo{Name: "y"})
			if len(ps) > 0 {
				t.Fatalf("Compile: %v", ps)
			}
			if diff := cmp.Diff(tt.rules, f.Rules, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Rules (-want +got):\n%s", diff)
			}
			if f.Comments != tt.comments {
				t.Errorf("Comments = %q, want %q", f.Comments, tt.comments)
			}
			for _, r := range tt.rules {
				if got, ok := f.Rule(r.Field); !ok || got != r {
					t.Errorf("Rule(%s) = %v, %v", r.Field, got, ok)
				}
			}
			for field, w := range tt.writes {
				if got := [2]bool{f.Writes(field, sides.A), f.Writes(field, sides.B)}; got != w {
					t.Errorf("Writes(%s) to a, b = %v, want %v", field, got, w)
				}
			}
		})
	}
}

func TestCompileSettings(t *testing.T) {
	cf, _ := parseFlow(t, `
flows:
  - {name: f, a: {tracker: x, scope: 'q'}, b: {tracker: y}, conflict: b-wins, on_delete: close, max_change_share: 1, create: false, schedule: '0 9 * * 1-5'}
`)
	f, ps := Compile(cf, "flows[0]", nil, SideInfo{Name: "x"}, SideInfo{Name: "y"})
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	got := []any{f.Name, f.A.Scope, f.Direction, f.Conflict, f.OnDelete, f.MaxChangeShare, f.Create, f.Schedule}
	want := []any{"f", "q", Both, BWins, "close", 1.0, false, "0 9 * * 1-5"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A flow built in Go, zero values everywhere but names: defaults apply.
	f, ps = Compile(config.Flow{Name: "g", A: config.FlowSide{Tracker: "x"}, B: config.FlowSide{Tracker: "y"}}, "flows[1]", nil, SideInfo{}, SideInfo{})
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if f.Direction != Both || f.Conflict != Newest || f.OnDelete != "unlink" || f.MaxChangeShare != 0.25 || !f.Create || f.Schedule != "@every 5m" {
		t.Errorf("defaults not applied: %+v", f)
	}
}

// TestCompileCaps checks what only a tracker's capabilities can tell.
func TestCompileCaps(t *testing.T) {
	cf, _ := parseFlow(t, `
flows:
  - name: f
    a: {tracker: x}
    b: {tracker: y}
    fields:
      priority: both
      status:
        map: [{a: 'To Do', b: 'opened'}, {a: 'Dne', b: 'closed'}]
        default: {b: {done: shut}}
`)
	noPriority := *capsB
	noPriority.Fields = []string{"title", "status"}
	_, ps := Compile(cf, "flows[0]", nil, SideInfo{Name: "x", Kind: "jira", Caps: capsA}, SideInfo{Name: "y", Kind: "github", Caps: &noPriority})
	var got []string
	for _, p := range ps {
		got = append(got, p.Error())
	}
	want := []string{
		"flows[0].fields.priority: y (github) has no priority field",
		`flows[0].fields.status.default.b.done: "shut" is not a status of y (statuses: open, closed, resolved)`,
		`flows[0].fields.status.map[0].b: "opened" is not a status of y (statuses: open, closed, resolved)`,
		`flows[0].fields.status.map[1].a: "Dne" is not a status of x (statuses: To Do, Backlog, In Progress, In Review, Done, Won't Do)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestGuessCategory(t *testing.T) {
	for s, want := range map[string]adapters.StatusCategory{
		"Done": adapters.CategoryDone, "closed": adapters.CategoryDone, "Resolved": adapters.CategoryDone,
		"In Progress": adapters.CategoryInProgress, "Code Review": adapters.CategoryInProgress, "doing": adapters.CategoryInProgress,
		"To Do": adapters.CategoryTodo, "open": adapters.CategoryTodo, "": adapters.CategoryTodo,
	} {
		if got := GuessCategory(s); got != want {
			t.Errorf("GuessCategory(%q) = %s, want %s", s, got, want)
		}
	}
}
