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

// TestRollupBrokenInputs: what a person must fix is not "try again later"
// (exit 5): a missing or broken roadmap file exits 1 naming the file (and
// line), a negative --days is a usage error.
func TestRollupBrokenInputs(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	os.WriteFile(cfg, []byte(rollupConfig), 0o600)
	road := filepath.Join(dir, "roadmap.yaml")
	os.WriteFile(road, []byte(rollupRoadmap), 0o644)
	if code, out, errs := runCLI(t, "-c", cfg, "rollup", "--write"); code != exitOK {
		t.Fatalf("first rollup --write: %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "-c", cfg, "rollup", "--days", "-3"); code != exitUsage || !strings.Contains(errs, "--days") {
		t.Errorf("rollup --days -3: exit %d, stderr %s; want 2 naming --days", code, errs)
	}
	os.Remove(road)
	if code, _, errs := runCLI(t, "-c", cfg, "rollup"); code != exitFailed || !strings.Contains(errs, road) {
		t.Errorf("rollup with its roadmap file gone: exit %d, stderr %s; want 1 naming the file", code, errs)
	}
	os.WriteFile(road, []byte(rollupRoadmap+"  - key: INIT-1\n"), 0o644)
	if code, _, errs := runCLI(t, "-c", cfg, "rollup"); code != exitFailed || !strings.Contains(errs, road+":6:") {
		t.Errorf("rollup with a duplicate key: exit %d, stderr %s; want 1 naming %s:6", code, errs, road)
	}
}
