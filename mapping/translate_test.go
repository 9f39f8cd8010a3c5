package mapping

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/sides"
)

const (
	A = sides.A
	B = sides.B
)

var capsA = &adapters.Capabilities{
	Fields: adapters.StandardFields,
	Statuses: []adapters.StatusDef{
		{Name: "To Do", Category: adapters.CategoryTodo},
		{Name: "Backlog", Category: adapters.CategoryTodo},
		{Name: "In Progress", Category: adapters.CategoryInProgress},
		{Name: "In Review", Category: adapters.CategoryInProgress},
		{Name: "Done", Category: adapters.CategoryDone},
		{Name: "Won't Do", Category: adapters.CategoryDone},
	},
}

var capsB = &adapters.Capabilities{
	Fields: adapters.StandardFields,
	Statuses: []adapters.StatusDef{
		{Name: "open", Category: adapters.CategoryTodo},
		{Name: "closed", Category: adapters.CategoryDone},
		{Name: "resolved", Category: adapters.CategoryDone},
	},
}

const testFlow = `
users:
  - {name: Ana, jira: a-1, github: Ana-L}
  - {name: Bo, jira-main: b-1, jira: b-old, github: bo}
  - {name: Cy, jira: c-1}
flows:
  - name: t
    a: {tracker: jira-main}
    b: {tracker: gh}
    fields:
      title: both
      status:
        map:
          - {a: To Do, b: open}
          - {a: Backlog, b: open}
          - {a: In Progress, b: open, b_label: 'status: in progress'}
          - {a: Done, b: closed}
          - {a: Done, b: resolved}
        default:
          a: {in_progress: In Progress}
          b: {done: closed}
      labels:
        map:
          - {a: bug, b: 'type: bug'}
          - {a: defect, b: 'type: bug'}
      priority:
        map:
          - {a: High, b: p1}
          - {a: Highest, b: p1}
      assignees: both
      'custom:Points': {a: Story Points, b: Estimate}
`

// compileTest compiles testFlow; caps selects whether the trackers'
// workflows are known.
func compileTest(t *testing.T, caps bool) *Flow {
	t.Helper()
	c, err := config.Parse([]byte(testFlow), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := SideInfo{Name: "jira-main", Kind: "jira"}
	b := SideInfo{Name: "gh", Kind: "github"}
	if caps {
		a.Caps, b.Caps = capsA, capsB
	}
	f, ps := Compile(c.Flows[0], "flows[0]", c.Users, a, b)
	if len(ps) > 0 {
		t.Fatalf("Compile: %v", ps)
	}
	return f
}

type translateCase struct {
	name       string
	field      string
	to         sides.Side
	v, current string
	want       string
	warnings   []string
	noCaps     bool
}

func runTranslate(t *testing.T, tests []translateCase) {
	t.Helper()
	withCaps, without := compileTest(t, true), compileTest(t, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := withCaps
			if tt.noCaps {
				f = without
			}
			got, warnings := f.Translate(tt.field, tt.to, tt.v, tt.current)
			if got != tt.want {
				t.Errorf("Translate(%s, %s, %q, %q) = %q, want %q", tt.field, tt.to, tt.v, tt.current, got, tt.want)
			}
			if diff := cmp.Diff(tt.warnings, warnings, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if tt.to == B && !f.Equivalent(tt.field, tt.v, got) {
				t.Errorf("Equivalent(%s, %q, %q) = false after translating", tt.field, tt.v, got)
			}
		})
	}
}

func TestTranslateStatus(t *testing.T) {
	runTranslate(t, []translateCase{
		// Many-to-one A->B: To Do and Backlog are both open.
		{name: "A to B keeps an equivalent current", field: "status", to: B, v: "Backlog", current: "open", want: "open"},
		{name: "A to B first pair", field: "status", to: B, v: "To Do", current: "closed", want: "open"},
		{name: "A to B many-to-one", field: "status", to: B, v: "Backlog", current: "closed", want: "open"},
		{name: "A to B with status label", field: "status", to: B, v: "In Progress", current: "open", want: "open [status: in progress]"},
		{name: "A to B labelled current kept", field: "status", to: B, v: "In Progress", current: "open [status: in progress]", want: "open [status: in progress]"},
		// Many-to-one B->A: closed and resolved are both Done.
		{name: "A to B keeps resolved for Done", field: "status", to: B, v: "Done", current: "resolved", want: "resolved"},
		{name: "A to B Done from open", field: "status", to: B, v: "Done", current: "open", want: "closed"},
		{name: "B to A closed", field: "status", to: A, v: "closed", current: "To Do", want: "Done"},
		{name: "B to A resolved", field: "status", to: A, v: "resolved", current: "Backlog", want: "Done"},
		{name: "B to A open keeps Backlog", field: "status", to: A, v: "open", current: "Backlog", want: "Backlog"},
		{name: "B to A open from Done", field: "status", to: A, v: "open", current: "Done", want: "To Do"},
		{name: "B to A open loses In Progress", field: "status", to: A, v: "open", current: "In Progress", want: "To Do"},
		{name: "B to A labelled", field: "status", to: A, v: "open [status: in progress]", current: "To Do", want: "In Progress"},
		// Defaults by category, categories from Caps.
		{name: "default by category from caps", field: "status", to: B, v: "Won't Do", current: "open", want: "closed"},
		{name: "no default, caps first of category", field: "status", to: A, v: "wontfix", current: "To Do", want: "To Do"},
		{name: "unmapped with no fitting default warns", field: "status", to: B, v: "In Review", current: "closed", want: "In Review",
			warnings: []string{`status "In Review" of jira-main is not in flows[0].fields.status.map and no default fits: passed through as is`}},
		// Without Caps, categories come from names.
		{name: "heuristic done", field: "status", to: B, v: "Shipped", current: "open", want: "closed", noCaps: true},
		{name: "heuristic in progress", field: "status", to: A, v: "in review", current: "To Do", want: "In Progress", noCaps: true},
		{name: "heuristic todo, no default", field: "status", to: A, v: "triage", current: "Done", want: "triage", noCaps: true,
			warnings: []string{`status "triage" of gh is not in flows[0].fields.status.map and no default fits: passed through as is`}},
		{name: "empty keeps current", field: "status", to: B, v: "", current: "open", want: "open"},
	})
}

func TestTranslateLabelsAndPriority(t *testing.T) {
	enc := adapters.EncodeList
	runTranslate(t, []translateCase{
		{name: "map, pass through, keep target status label", field: "labels", to: B,
			v: enc([]string{"bug", "ux"}), current: enc([]string{"status: in progress", "old"}),
			want: enc([]string{"status: in progress", "type: bug", "ux"})},
		{name: "to A: status labels excluded, equivalent kept", field: "labels", to: A,
			v: enc([]string{"type: bug", "status: in progress"}), current: enc([]string{"defect"}),
			want: enc([]string{"defect"})},
		{name: "to A: first pair", field: "labels", to: A, v: enc([]string{"type: bug"}), want: enc([]string{"bug"})},
		{name: "a label that is a status label on the target is not copied", field: "labels", to: B,
			v: enc([]string{"status: in progress"}), want: ""},
		{name: "empty", field: "labels", to: B, v: "", current: enc([]string{"x"}), want: ""},
		{name: "priority many-to-one keeps current", field: "priority", to: A, v: "p1", current: "Highest", want: "Highest"},
		{name: "priority mapped", field: "priority", to: B, v: "High", current: "", want: "p1"},
		{name: "priority unmapped warns", field: "priority", to: B, v: "Low", want: "Low",
			warnings: []string{`priority "Low" of jira-main is not in flows[0].fields.priority.map: passed through as is`}},
		{name: "identity fields", field: "title", to: B, v: "Hello", current: "Old", want: "Hello"},
		{name: "parent refs untouched", field: "parent", to: B, v: "jira-main:10001", want: "jira-main:10001"},
		{name: "custom identity", field: "custom:Points", to: B, v: "5", want: "5"},
	})
	f := compileTest(t, true)
	if !f.Equivalent("labels", enc([]string{"bug"}), enc([]string{"status: in progress", "type: bug"})) {
		t.Error("labels differing only in B's status label should be equivalent")
	}
	if diff := cmp.Diff([]string{"status: in progress"}, f.StatusLabels(B)); diff != "" {
		t.Errorf("StatusLabels(B) (-want +got):\n%s", diff)
	}
	if got := f.StatusLabels(A); len(got) != 0 {
		t.Errorf("StatusLabels(A) = %q, want none", got)
	}
}

func TestTranslateAssignees(t *testing.T) {
	enc := adapters.EncodeList
	runTranslate(t, []translateCase{
		{name: "by kind", field: "assignees", to: B, v: enc([]string{"a-1", "b-1"}), want: enc([]string{"Ana-L", "bo"})},
		{name: "tracker name wins over kind", field: "assignees", to: A, v: enc([]string{"bo"}), want: enc([]string{"b-1"})},
		{name: "keeps current id of the same person", field: "assignees", to: B, v: enc([]string{"a-1"}), current: enc([]string{"ana-l"}), want: enc([]string{"ana-l"})},
		{name: "unknown user dropped with a warning", field: "assignees", to: B, v: enc([]string{"zz", "a-1"}), want: enc([]string{"Ana-L"}),
			warnings: []string{"unknown user zz on jira-main: add it to users"}},
		{name: "known user without a target id", field: "assignees", to: B, v: enc([]string{"c-1"}), want: "",
			warnings: []string{"user Cy has no id on gh: add one to users"}},
		{name: "target ids nobody is known as are left alone", field: "assignees", to: B, v: enc([]string{"a-1"}), current: enc([]string{"stranger", "bo"}), want: enc([]string{"Ana-L", "stranger"})},
		{name: "unassign", field: "assignees", to: A, v: "", current: enc([]string{"a-1"}), want: ""},
	})
}

func TestValueApply(t *testing.T) {
	f := compileTest(t, true)
	it := adapters.Item{Status: "open", Labels: []string{"status: in progress", "x"}, Fields: map[string]string{"Estimate": "3"}}
	for _, tt := range []struct {
		s     sides.Side
		field string
		want  string
	}{
		{B, "status", "open [status: in progress]"},
		{B, "labels", adapters.EncodeList([]string{"x"})},
		{A, "labels", adapters.EncodeList([]string{"status: in progress", "x"})},
		{A, "status", "open"},
		{B, "custom:Points", "3"},
		{A, "custom:Points", ""},
	} {
		if got := f.Value(tt.s, it, tt.field); got != tt.want {
			t.Errorf("Value(%s, %s) = %q, want %q", tt.s, tt.field, got, tt.want)
		}
	}
	stale := adapters.Item{Status: "closed", Labels: []string{"status: in progress"}}
	if got := f.Value(B, stale, "status"); got != "closed" {
		t.Errorf("closed with a stale status label reads %q, want closed", got)
	}

	apply := func(it adapters.Item, s sides.Side, field, v string) adapters.Item {
		t.Helper()
		it = it.Clone()
		if err := f.Apply(s, &it, field, v); err != nil {
			t.Fatalf("Apply(%s, %s, %q): %v", s, field, v, err)
		}
		return it
	}
	got := apply(it, B, "status", "closed")
	if got.Status != "closed" || !cmp.Equal(got.Labels, []string{"x"}) {
		t.Errorf("closing: %q %q", got.Status, got.Labels)
	}
	got = apply(adapters.Item{Status: "closed", Labels: []string{"x"}}, B, "status", "open [status: in progress]")
	if got.Status != "open" || !cmp.Equal(got.Labels, []string{"status: in progress", "x"}) {
		t.Errorf("reopening in progress: %q %q", got.Status, got.Labels)
	}
	got = apply(it, B, "labels", adapters.EncodeList([]string{"y"}))
	if !cmp.Equal(got.Labels, []string{"status: in progress", "y"}) {
		t.Errorf("labels keep status labels: %q", got.Labels)
	}
	got = apply(adapters.Item{}, A, "status", "In Progress")
	if got.Status != "In Progress" || got.Labels != nil {
		t.Errorf("plain status on A: %q %q", got.Status, got.Labels)
	}
	got = apply(it, A, "custom:Points", "8")
	if got.Fields["Story Points"] != "8" {
		t.Errorf("custom on A: %v", got.Fields)
	}

	for _, tt := range []struct {
		field string
		s     sides.Side
		want  []string
	}{
		{"status", B, []string{"status", "labels"}},
		{"status", A, []string{"status"}},
		{"custom:Points", B, []string{"custom:Estimate"}},
		{"title", A, []string{"title"}},
	} {
		if diff := cmp.Diff(tt.want, f.PatchFields(tt.field, tt.s)); diff != "" {
			t.Errorf("PatchFields(%s, %s) (-want +got):\n%s", tt.field, tt.s, diff)
		}
	}
}
