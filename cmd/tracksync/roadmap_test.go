package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

const roadmapFile = `# Roadmap 2027: owned by product. tracksync writes status back.
initiatives:
  - key: INIT-1
    title: Self-serve onboarding   # the big one
    status: planned
    due: 2027-03-31
    team: growth

  # Billing is next quarter.
  - key: INIT-2
    title: Usage-based billing
    status: in_progress
`

const roadmapConfig = `state:
  dsn: state.db
trackers:
  plan:
    kind: roadmap
    path: roadmap.yaml
  jira:
    kind: memory
    project: PLAT
    path: jira.json
flows:
  - name: initiatives
    a: { tracker: plan }
    b: { tracker: jira }
    conflict: a-wins
    fields:
      title: a-to-b
      status:
        direction: both
        map:
          - { a: planned,     b: 'To Do' }
          - { a: in_progress, b: 'In Progress' }
          - { a: at_risk,     b: 'In Progress' }
          - { a: done,        b: 'Done' }
          - { a: cancelled,   b: 'Done' }
`

// TestRoadmapFlow: initiatives in a PM's YAML file become epics in a
// tracker; status moved there is written back into the file without
// disturbing its comments, order or blank lines.
func TestRoadmapFlow(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	os.WriteFile(cfg, []byte(roadmapConfig), 0o600)
	os.WriteFile(filepath.Join(dir, "roadmap.yaml"), []byte(roadmapFile), 0o644)
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK || !strings.Contains(out, "2 created") {
		t.Fatalf("first sync: %d\n%s%s", code, out, errs)
	}
	jira := openMemProject(t, dir, "jira", "PLAT")
	var billing adapters.Item
	for _, it := range jira.Items() {
		if it.Title == "Usage-based billing" {
			billing = it
		}
	}
	if billing.Status != "In Progress" {
		t.Fatalf("epic for INIT-2: %+v", billing)
	}
	jira.Edit(billing.Ref, func(x *adapters.Item) { x.Status = "Done" })
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("second sync: %d\n%s%s", code, out, errs)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "roadmap.yaml"))
	want := strings.Replace(roadmapFile, "    status: in_progress\n", "    status: done\n", 1)
	if string(got) != want {
		t.Fatalf("roadmap after write-back:\n%s\nwant only INIT-2's status changed:\n%s", got, want)
	}
	// Nothing more to do: no echo into the file or the tracker.
	code, out, _ := runCLI(t, "-c", cfg, "plan")
	if code != exitOK || !strings.Contains(out, "nothing to do") {
		t.Fatalf("plan after write-back: %d\n%s", code, out)
	}
}
