package config

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// parseProblems parses yaml and returns the config and its problems as
// "path: msg" lines.
func parseProblems(t *testing.T, yaml string) (*Config, []string) {
	t.Helper()
	c, err := Parse([]byte(yaml), "", nil)
	var ps Problems
	if err != nil && !errors.As(err, &ps) {
		t.Fatalf("Parse: %v", err)
	}
	if c == nil {
		t.Fatal("Parse returned no config")
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Error())
	}
	return c, got
}

const fullInitiatives = `initiatives:
  source: { tracker: acme-jira, scope: 'issuetype = Initiative' }
  status: children
  children:
    - { tracker: acme-jira, link: parent, scope: 'project = PLAT', create: { project: PLAT, type: Epic } }
    - { tracker: acme-gh, link: label, label: 'initiative:{key}' }
    - { tracker: acme-gh2, link: tasklist, create: true }
    - { tracker: plan, link: refs, create: false }
  rollup:
    weight: estimate
    estimate: { acme-jira: 'Story Points', acme-gh: { 'size: S': 1, 'size: M': 3, 'size: L': 8 } }
    default_estimate: 1
    at_risk: { days_before_due: 14, min_done: 0.5, blocked_statuses: [Blocked], blocked_labels: [blocked] }
    write_back: true
    schedule: '@every 5m'
`

func TestInitiativesDecode(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want *Initiatives
	}{
		{
			name: "the full example",
			yaml: fullInitiatives,
			want: &Initiatives{
				Source: InitiativeSource{Tracker: "acme-jira", Scope: "issuetype = Initiative"},
				Status: "children",
				Children: []ChildRule{
					{Tracker: "acme-jira", Link: "parent", Scope: "project = PLAT", Create: &CreateRule{Project: "PLAT", Kind: "epic"}},
					{Tracker: "acme-gh", Link: "label", Label: "initiative:{key}"},
					{Tracker: "acme-gh2", Link: "tasklist", Label: "initiative:{key}", Create: &CreateRule{Kind: "epic"}},
					{Tracker: "plan", Link: "refs"},
				},
				Rollup: RollupConfig{
					Weight: "estimate",
					Estimate: map[string]Estimate{
						"acme-jira": {Field: "Story Points"},
						"acme-gh":   {Labels: map[string]float64{"size: S": 1, "size: M": 3, "size: L": 8}},
					},
					DefaultEstimate: 1,
					AtRisk:          AtRiskConfig{DaysBeforeDue: 14, MinDone: 0.5, BlockedStatuses: []string{"Blocked"}, BlockedLabels: []string{"blocked"}},
					WriteBack:       WriteBack{Source: true, Tracking: true},
					Schedule:        "@every 5m",
				},
			},
		},
		{
			name: "defaults",
			yaml: "initiatives:\n  source: {tracker: plan}\n  children: [{tracker: j, link: parent}, {tracker: g, link: tasklist}]\n",
			want: &Initiatives{
				Source: InitiativeSource{Tracker: "plan"},
				Status: "pm",
				Children: []ChildRule{
					{Tracker: "j", Link: "parent"},
					{Tracker: "g", Link: "tasklist", Label: "initiative:{key}"},
				},
				Rollup: RollupConfig{Weight: "count", Schedule: "@every 5m", AtRisk: AtRiskConfig{BlockedLabels: []string{"blocked"}}},
			},
		},
		{
			name: "weight follows estimate; single strings for lists; write_back mapping; explicit empty blocked_labels",
			yaml: `initiatives:
  source: {tracker: plan}
  status: pm
  children: [{tracker: j, link: parent, create: {type: ISSUE}}]
  rollup:
    estimate: {j: Points}
    at_risk: {blocked_statuses: Blocked, blocked_labels: []}
    write_back: {source: true, field: Progress, comment: true, tracking: false}
    schedule: '@hourly'
`,
			want: &Initiatives{
				Source:   InitiativeSource{Tracker: "plan"},
				Status:   "pm",
				Children: []ChildRule{{Tracker: "j", Link: "parent", Create: &CreateRule{Kind: "issue"}}},
				Rollup: RollupConfig{
					Weight:    "estimate",
					Estimate:  map[string]Estimate{"j": {Field: "Points"}},
					AtRisk:    AtRiskConfig{BlockedStatuses: []string{"Blocked"}, BlockedLabels: []string{}},
					WriteBack: WriteBack{Source: true, Field: "Progress", Comment: true},
					Schedule:  "@hourly",
				},
			},
		},
		{
			name: "write_back false writes nothing",
			yaml: "initiatives:\n  source: {tracker: plan}\n  children: [{tracker: j, link: parent}]\n  rollup: {write_back: false, weight: count}\n",
			want: &Initiatives{
				Source:   InitiativeSource{Tracker: "plan"},
				Status:   "pm",
				Children: []ChildRule{{Tracker: "j", Link: "parent"}},
				Rollup:   RollupConfig{Weight: "count", Schedule: "@every 5m", AtRisk: AtRiskConfig{BlockedLabels: []string{"blocked"}}},
			},
		},
		{name: "absent", yaml: "log: {level: info}\n", want: nil},
		{name: "null", yaml: "initiatives:\n", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, problems := parseProblems(t, tt.yaml)
			if len(problems) > 0 {
				t.Errorf("unexpected problems: %q", problems)
			}
			// BlockedLabels: [] and nil differ on purpose (no default).
			if diff := cmp.Diff(tt.want, c.Initiatives); diff != "" {
				t.Errorf("initiatives (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInitiativesProblems(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		problems []string
	}{
		{
			name:     "empty section",
			yaml:     "initiatives: {}\n",
			problems: []string{"initiatives.children: required: at least one tracker whose items are the initiatives' children", "initiatives.source.tracker: required: the tracker holding the initiatives"},
		},
		{
			name: "wrong values",
			yaml: `initiatives:
  source: {tracker: plan}
  status: team
  children:
    - {tracker: j}
    - {link: sideways}
    - {tracker: g, link: label, label: 'initiative'}
    - {tracker: j, link: tasklist, label: 'epic-{id}'}
    - {tracker: k, link: parent, label: 'x:{key}', create: {type: story}}
    -
  rollup:
    weight: points
    estimate: {j: {'size: S': 0, 'size: M': -2, 'size: L': 3}, g: {}, k: ''}
    default_estimate: -1
    at_risk: {days_before_due: -3, min_done: 1.5}
`,
			problems: []string{
				`initiatives.children[0].link: required: how children are found (parent, label, refs, tasklist)`,
				`initiatives.children[1].link: "sideways" is not one of parent, label, refs, tasklist`,
				`initiatives.children[1].tracker: required: the tracker holding these children`,
				`initiatives.children[2].label: "initiative" lacks {key} (the initiative's key): every initiative would share its children`,
				`initiatives.children[3].label: "epic-{id}" lacks {key} (the initiative's key): every initiative would share its children`,
				`initiatives.children[3].tracker: "j" is also initiatives.children[0]'s tracker: one child rule per tracker`,
				`initiatives.children[4].create.type: "story" is not one of epic, issue`,
				`initiatives.children[4].label: only link label and tasklist use a label, not link parent`,
				`initiatives.children[5]: empty child rule (want {tracker: ..., link: ...})`,
				`initiatives.rollup.at_risk.days_before_due: must be 0 or more`,
				`initiatives.rollup.at_risk.min_done: must be from 0 to 1 (0.5 is half done)`,
				`initiatives.rollup.default_estimate: must be 0 or more (what an item without an estimate weighs; 0 means 1)`,
				`initiatives.rollup.estimate.g: empty: want at least one label and its number`,
				`initiatives.rollup.estimate.j.size: M: must be more than 0 (what an item with this label weighs)`,
				`initiatives.rollup.estimate.j.size: S: must be more than 0 (what an item with this label weighs)`,
				`initiatives.rollup.estimate.k: empty: want a custom field name ('Story Points') or a mapping of labels to numbers`,
				`initiatives.rollup.weight: "points" is not one of count, estimate`,
				`initiatives.status: "team" is not one of pm, children`,
			},
		},
		{
			name: "wrong shapes",
			yaml: `initiatives:
  source: plan
  children: {tracker: j}
  rollup:
    estimate: {j: [1], g: }
    default_estimate: lots
    at_risk: {days_before_due: 1.5, min_done: half, blocked_statuses: {a: b}, blocked_labels: ['', x]}
    write_back: sometimes
`,
			problems: []string{
				"initiatives.children: want a list (lines starting with -), got a mapping",
				"initiatives.rollup.at_risk.blocked_labels[0]: empty",
				"initiatives.rollup.at_risk.blocked_statuses: want a list (lines starting with -), got a mapping",
				"initiatives.rollup.at_risk.days_before_due: want a whole number of days",
				"initiatives.rollup.at_risk.min_done: want a number",
				"initiatives.rollup.default_estimate: want a number",
				"initiatives.rollup.estimate.g: want a custom field name ('Story Points') or a mapping of labels to numbers ({'size: S': 1})",
				"initiatives.rollup.estimate.j: want a custom field name ('Story Points') or a mapping of labels to numbers ({'size: S': 1})",
				"initiatives.rollup.write_back: want true, false or a mapping (source, field, comment, tracking)",
				"initiatives.source: want a mapping (key: value lines), got a single value",
			},
		},
		{
			name:     "weight estimate without estimates",
			yaml:     "initiatives:\n  source: {tracker: plan}\n  children: [{tracker: j, link: parent}]\n  rollup: {weight: estimate}\n",
			problems: []string{"initiatives.rollup.weight: estimate needs rollup.estimate: where each tracker's estimates are read"},
		},
		{
			name: "unknown keys with suggestions",
			yaml: `initiatives:
  sorce: {tracker: plan}
  source: {tracker: plan, scop: x}
  children:
    - {tracker: j, link: parent, create: {project: P, kind: epic}, lable: x}
  rollup:
    wieght: count
    at_risk: {min_don: 0.5}
    write_back: {feild: Progress}
    banana: 1
`,
			problems: []string{
				"initiatives.children[0].create.kind: unknown key (known: project, type)",
				"initiatives.children[0].lable: unknown key (did you mean label?)",
				"initiatives.rollup.at_risk.min_don: unknown key (did you mean min_done?)",
				"initiatives.rollup.banana: unknown key (known: weight, estimate, default_estimate, at_risk, write_back, schedule)",
				"initiatives.rollup.wieght: unknown key (did you mean weight?)",
				"initiatives.rollup.write_back.feild: unknown key (did you mean field?)",
				"initiatives.sorce: unknown key (did you mean source?)",
				"initiatives.source.scop: unknown key (did you mean scope?)",
			},
		},
		{
			name:     "create neither bool nor mapping",
			yaml:     "initiatives:\n  source: {tracker: plan}\n  children: [{tracker: j, link: parent, create: yes please}]\n",
			problems: []string{"initiatives.children[0].create: want true, false or a mapping (project, type)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := parseProblems(t, tt.yaml)
			if diff := cmp.Diff(tt.problems, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestInitiativesLines checks that problems in the section can be pointed
// at in the file.
func TestInitiativesLines(t *testing.T) {
	c, problems := parseProblems(t, fullInitiatives+"    at_rsk: {}\n")
	if diff := cmp.Diff([]string{"initiatives.rollup.at_rsk: unknown key (did you mean at_risk?)"}, problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	for path, want := range map[string]int{
		"initiatives":                                 1,
		"initiatives.source.tracker":                  2,
		"initiatives.status":                          3,
		"initiatives.children[0].create.type":         5,
		"initiatives.children[1].label":               6,
		"initiatives.rollup.estimate.acme-gh.size: M": 11,
		"initiatives.rollup.at_risk.min_done":         13,
		"initiatives.rollup.write_back":               14,
		"initiatives.rollup.schedule":                 15,
		"initiatives.rollup.at_rsk":                   16,
	} {
		if got := c.Line(path); got != want {
			t.Errorf("Line(%s) = %d, want %d", path, got, want)
		}
	}
}

// TestInitiativesAnchors checks that merge keys work inside the section as
// everywhere else.
func TestInitiativesAnchors(t *testing.T) {
	c, problems := parseProblems(t, `initiatives:
  source: {tracker: plan}
  children:
    - &jira {tracker: j, link: parent, create: {project: P}}
    - {<<: *jira, tracker: k}
`)
	if len(problems) > 0 {
		t.Fatalf("problems: %q", problems)
	}
	want := []ChildRule{
		{Tracker: "j", Link: "parent", Create: &CreateRule{Project: "P", Kind: "epic"}},
		{Tracker: "k", Link: "parent", Create: &CreateRule{Project: "P", Kind: "epic"}},
	}
	if diff := cmp.Diff(want, c.Initiatives.Children, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("children (-want +got):\n%s", diff)
	}
}
