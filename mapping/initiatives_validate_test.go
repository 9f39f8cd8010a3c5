package mapping

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/config"
)

const initiativesTrackers = `trackers:
  jira: {kind: jira, url: 'https://x.example'}
  gh: {kind: github}
  gh2: {kind: github}
  plan: {kind: roadmap, path: roadmap.yaml}
`

func TestValidateInitiatives(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		problems []string
	}{
		{
			name: "clean: roadmap source with parent fan-out, tasklist on github",
			yaml: `initiatives:
  source: {tracker: plan}
  status: children
  children:
    - {tracker: jira, link: parent, create: {project: PLAT, type: epic}}
    - {tracker: gh, link: label}
    - {tracker: gh2, link: tasklist, create: true}
  rollup:
    estimate: {jira: Story Points, gh: {'size: S': 1}}
    write_back: true
    schedule: '@every 10m'
`,
		},
		{
			name: "clean: jira source with a progress field",
			yaml: `initiatives:
  source: {tracker: jira, scope: 'issuetype = Initiative'}
  children: [{tracker: jira, link: parent}, {tracker: gh, link: refs}]
  rollup: {write_back: {source: true, field: Progress}, schedule: '0 * * * *'}
`,
		},
		{
			name: "unknown trackers",
			yaml: `initiatives:
  source: {tracker: roadmap}
  children: [{tracker: jira, link: parent}, {tracker: gitlab, link: label}]
  rollup: {estimate: {jira: Points, gitlab: Weight}}
`,
			problems: []string{
				`initiatives.children[1].tracker: unknown tracker "gitlab" (configured: gh, gh2, jira, plan)`,
				`initiatives.rollup.estimate.gitlab: unknown tracker "gitlab" (configured: gh, gh2, jira, plan)`,
				`initiatives.source.tracker: unknown tracker "roadmap" (configured: gh, gh2, jira, plan)`,
			},
		},
		{
			name: "tracker kinds that cannot do what is asked",
			yaml: `initiatives:
  source: {tracker: plan}
  children:
    - {tracker: jira, link: tasklist}
    - {tracker: plan, link: refs, create: true}
  rollup: {write_back: {field: Progress}, schedule: '@every 5 minutes'}
`,
			problems: []string{
				"initiatives.children[0].link: tasklist needs a github tracker; jira is a jira tracker",
				"initiatives.children[1].create: a roadmap tracker holds initiatives, not delivery items: nothing to create in plan",
				`initiatives.rollup.schedule: "@every 5 minutes" is not '@every <duration>', a descriptor like @hourly, or a 5-field cron expression: failed to parse duration @every 5 minutes: time: unknown unit " minutes" in duration "5 minutes"`,
				"initiatives.rollup.write_back.field: a roadmap source keeps progress in its file's progress key; field is for a Jira initiative",
			},
		},
		{
			name: "parse problems are repeated once, next to validate's",
			yaml: `initiatives:
  source: {tracker: nope}
  children: [{tracker: gh, link: label, label: fixed}]
`,
			problems: []string{
				`initiatives.children[0].label: "fixed" lacks {key} (the initiative's key): every initiative would share its children`,
				`initiatives.source.tracker: unknown tracker "nope" (configured: gh, gh2, jira, plan)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := config.Parse([]byte(initiativesTrackers+tt.yaml), "", nil)
			if c == nil {
				t.Fatal("Parse returned no config")
			}
			var got []string
			for _, p := range Validate(c, testRegistry(t)) {
				got = append(got, p.Error())
			}
			if diff := cmp.Diff(tt.problems, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
