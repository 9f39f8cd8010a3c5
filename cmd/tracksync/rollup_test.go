package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

const rollupConfig = `state:
  dsn: state.db
trackers:
  plan:
    kind: roadmap
    path: roadmap.yaml
  jira:
    kind: memory
    project: PLAT
    path: jira.json
initiatives:
  source: { tracker: plan }
  children:
    - { tracker: jira, link: refs }
  rollup:
    write_back: true
`

const rollupRoadmap = `initiatives:
  - key: INIT-1
    title: Self-serve onboarding
    status: planned
    children: [PLAT-1, PLAT-2]
`

// TestRollupWriteRefusedStillReports: when write-back is refused (here the
// roadmap file is read-only), rollup --write still prints the roll-ups it
// computed, then names what failed and exits 1.
func TestRollupWriteRefusedStillReports(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	os.WriteFile(cfg, []byte(rollupConfig), 0o600)
	road := filepath.Join(dir, "roadmap.yaml")
	os.WriteFile(road, []byte(rollupRoadmap), 0o644)
	jira := openMemProject(t, dir, "jira", "PLAT")
	for i, st := range []string{"Done", "To Do"} {
		if _, err := jira.Create(t.Context(), adapters.Item{Kind: adapters.KindIssue, Title: "task " + st, Status: st}, adapters.CreateOptions{}); err != nil {
			t.Fatal(i, err)
		}
	}
	if err := os.Chmod(road, 0o444); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "-c", cfg, "rollup", "--write")
	if code != exitFailed || !strings.Contains(errs, road) {
		t.Errorf("rollup --write on a read-only roadmap: exit %d, stderr:\n%s\nwant 1 naming %s", code, errs, road)
	}
	if !strings.Contains(out, "INIT-1") || !strings.Contains(out, "50%") {
		t.Errorf("rollup --write printed no roll-up when its write-back was refused:\n%s", out)
	}
	// Read-only rollup of the same: fine.
	if code, out, errs := runCLI(t, "-c", cfg, "rollup"); code != exitOK || !strings.Contains(out, "50%") {
		t.Errorf("rollup: %d\n%s%s", code, out, errs)
	}
}
