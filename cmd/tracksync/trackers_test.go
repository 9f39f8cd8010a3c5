package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func TestTrackersDescribe(t *testing.T) {
	dir, cfg := setup(t, "manual", 0)
	left := openMem(t, dir, "left")
	left.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "a", Status: "To Do", Labels: []string{"ui"}, Assignees: []string{"ana"}})
	code, out, errs := runCLI(t, "-c", cfg, "-o", "json", "trackers", "describe", "left")
	if code != exitOK {
		t.Fatalf("describe: %d %s", code, errs)
	}
	golden(t, "describe-memory.json", strings.ReplaceAll(out, dir, "DIR"))
	code, out, errs = runCLI(t, "-c", cfg, "trackers", "describe", "left")
	for _, want := range []string{"tracker left (kind memory)", "path", "STATUS", "To Do", "any", "SYNC AS", "labels: ui", "  ana"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("describe (text): %d, no %q in\n%s%s", code, want, out, errs)
		}
	}
	code, _, errs = runCLI(t, "-c", cfg, "trackers", "describe", "nope")
	if code != exitUsage || !strings.Contains(errs, `tracker "nope"`) || !strings.Contains(errs, "left, right") {
		t.Errorf("unknown tracker: %d %s", code, errs)
	}
	if code, out, _ := runCLI(t, "-c", cfg, "__complete", "trackers", "describe", ""); code != exitOK || !strings.Contains(out, "left\nright\n") {
		t.Errorf("tracker name completion: %q", out)
	}
}

// TestTrackersDescribeSecrets: a secret option says it is set, never its
// value.
func TestTrackersDescribeSecrets(t *testing.T) {
	const token = "jira-SECRET-token-42"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	t.Setenv("TS_TOKEN", token)
	os.WriteFile(cfg, []byte(`state: { dsn: state.db }
trackers:
  jira:
    kind: jira
    url: `+jiraFake(t)+`
    project: PLAT
    auth:
      email: bot@example.com
      token: ${TS_TOKEN}
  mem: { kind: memory }
flows:
  - name: f
    a: { tracker: jira, scope: 'project = PLAT' }
    b: { tracker: mem }
    fields: { title: both }
`), 0o600)
	code, out, errs := runCLI(t, "-c", cfg, "-o", "json", "trackers", "describe", "jira")
	if code != exitOK || strings.Contains(out+errs, token) || !strings.Contains(out, `"name": "auth.token"`) || !strings.Contains(out, `"In Review"`) || !strings.Contains(out, `"transitions_to"`) {
		t.Fatalf("describe jira: %d\n%s%s", code, out, errs)
	}
}

// jiraFake starts the Jira fake with the default credentials.
func jiraFake(t *testing.T) string {
	t.Helper()
	return jiratest.New(t, jiratest.Options{Email: "bot@example.com", Token: "jira-SECRET-token-42", Projects: []string{"PLAT"}}).URL
}
