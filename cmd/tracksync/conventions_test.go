package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errs := runCLI(t, args...)
		if code != exitOK || !strings.HasPrefix(out, "tracksync ") || !strings.Contains(out, "\ncommit: ") || !strings.Contains(out, "go: "+runtime.Version()) {
			t.Errorf("%v: %d %q %q, want version, commit and Go version", args, code, out, errs)
		}
	}
	code, out, _ := runCLI(t, "-o", "json", "version")
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); code != exitOK || err != nil || v["version"] == "" || v["commit"] == nil || v["go_version"] != runtime.Version() {
		t.Errorf("version -o json: %d %s %v", code, out, err)
	}
	old := version
	version, commit = "v9.8.7", "deadbeef"
	defer func() { version, commit = old, "" }()
	if _, out, _ := runCLI(t, "--version"); !strings.Contains(out, "tracksync v9.8.7\ncommit: deadbeef") {
		t.Errorf("a stamped build: %q", out)
	}
}

func TestLogLevelChecked(t *testing.T) {
	_, cfg := setup(t, "manual", 0)
	code, _, errs := runCLI(t, "-c", cfg, "--log-level", "verbose", "validate")
	if code != exitUsage || !strings.Contains(errs, `--log-level must be debug, info, warn or error, not "verbose"`) {
		t.Errorf("--log-level verbose: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "-c", cfg, "--log-level", "DEBUG", "validate"); code != exitOK {
		t.Errorf("--log-level DEBUG: %d %q", code, errs)
	}
}

// TestUnknownFlowEverywhere: every command taking --flow refuses a flow
// the config does not have, naming the known ones.
func TestUnknownFlowEverywhere(t *testing.T) {
	_, cfg := setup(t, "manual", 1)
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync: %d %s%s", code, out, errs)
	}
	for _, args := range [][]string{
		{"plan", "--flow", "nope"},
		{"sync", "--once", "--flow", "nope"},
		{"links", "--flow", "nope"},
		{"runs", "--flow", "nope"},
		{"conflicts", "list", "--flow", "nope"},
	} {
		code, out, errs := runCLI(t, append([]string{"-c", cfg}, args...)...)
		if code != exitUsage || !strings.Contains(errs, `--flow "nope": no such flow`) || !strings.Contains(errs, "flows: pair") {
			t.Errorf("%v: %d %q %q, want a usage error naming the flows", args, code, out, errs)
		}
	}
}

// TestReadOnlyCommandsCreateNoState: commands that only read the state
// refuse a state database that is not there (a mistyped path) instead of
// creating an empty one.
func TestReadOnlyCommandsCreateNoState(t *testing.T) {
	dir, cfg := setup(t, "manual", 1)
	for _, args := range [][]string{{"plan"}, {"links"}, {"runs"}, {"conflicts", "list"}, {"-o", "json", "links"}} {
		code, out, errs := runCLI(t, append([]string{"-c", cfg}, args...)...)
		if code != exitUsage || !strings.Contains(errs, "state.dsn: ") || !strings.Contains(errs, "does not exist") {
			t.Errorf("%v without a state database: %d %q %q", args, code, out, errs)
		}
	}
	// doctor: not created yet is fine where its folder exists...
	code, out, _ := runCLI(t, "-c", cfg, "doctor")
	if code != exitOK || !strings.Contains(out, "ok    state store: state.dsn ") || !strings.Contains(out, "not created yet") {
		t.Errorf("doctor without a state database: %d %s", code, out)
	}
	// ...a folder that does not exist is a mistyped path.
	body, _ := os.ReadFile(cfg)
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte(strings.Replace(string(body), "dsn: state.db", "dsn: stat/state.db", 1)), 0o600)
	code, out, _ = runCLI(t, "-c", typo, "doctor")
	if code != exitFailed || !strings.Contains(out, "FAIL  state store: state.dsn: folder ") {
		t.Errorf("doctor with a mistyped state folder: %d %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.db")); !os.IsNotExist(err) {
		t.Fatalf("a read-only command created the state database: %v", err)
	}
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync creates it: %d %s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "-c", cfg, "links"); code != exitOK {
		t.Errorf("links after a sync: %d %s", code, errs)
	}
}

// TestEmptyJSONLists: what -o json prints as a list is [] when empty,
// never null.
func TestEmptyJSONLists(t *testing.T) {
	_, cfg := setup(t, "manual", 0)
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync: %d %s%s", code, out, errs)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"links"}, "[]\n"},
		{[]string{"runs", "--flow", "pair", "--limit", "0"}, ""},
		{[]string{"conflicts", "list"}, "[]\n"},
		{[]string{"plan"}, `"ops": []`},
		{[]string{"sync", "--once", "--dry-run"}, `"ops": []`},
		{[]string{"undo", "1"}, `"reverted": []`},
	} {
		code, out, errs := runCLI(t, append([]string{"-c", cfg, "-o", "json"}, tc.args...)...)
		if code != exitOK || strings.Contains(out, "null") || !strings.Contains(out, tc.want) {
			t.Errorf("%v: %d\n%s%s\nwant %q and no null", tc.args, code, out, errs, tc.want)
		}
	}
}

// TestTemporaryFailureExit5: a tracker answering 503 makes the run exit 5,
// not 1 (someone must act) or 2 (usage).
func TestTemporaryFailureExit5(t *testing.T) {
	jiraURL := searchFailingJira(t, "bot@example.com", "exit5-token-value", http.StatusServiceUnavailable, func(*http.Request) string {
		return `{"errorMessages":["Jira is under maintenance"]}`
	})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`state:
  dsn: state.db
trackers:
  jira:
    kind: jira
    url: %s
    auth: { email: bot@example.com, token: exit5-token-value }
  mem:
    kind: memory
    project: M
    path: mem.json
flows:
  - name: pair
    a: { tracker: jira, scope: 'project = PLAT' }
    b: { tracker: mem }
    fields:
      title: both
`, jiraURL)), 0o600)
	code, out, errs := runCLI(t, "-c", cfg, "sync", "--once")
	if code != exitTemporary || !strings.Contains(out+errs, "503") {
		t.Errorf("sync against a Jira answering 503: exit %d, want 5\n%s%s", code, out, errs)
	}
}

// TestCompletion: flow names, run ids and conflict ids complete from the
// config and the state.
func TestCompletion(t *testing.T) {
	dir, cfg := setup(t, "manual", 0)
	code, out, _ := runCLI(t, "-c", cfg, "__complete", "plan", "--flow", "")
	if code != exitOK || !strings.Contains(out, "pair\n") {
		t.Errorf("--flow completion: %d %q", code, out)
	}
	// Before any sync: no ids, and no state database created.
	if _, out, _ = runCLI(t, "-c", cfg, "__complete", "undo", ""); strings.Contains(out, "\t") {
		t.Errorf("run ids before any run: %q", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.db")); !os.IsNotExist(err) {
		t.Fatalf("completion created the state database")
	}
	left := openMem(t, dir, "left")
	left.Seed(memItem("one"))
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync: %d %s%s", code, out, errs)
	}
	if _, out, _ = runCLI(t, "-c", cfg, "__complete", "undo", ""); !strings.Contains(out, "1\tpair ") {
		t.Errorf("run id completion: %q", out)
	}
	// Hold a conflict, then complete its id.
	right := openMem(t, dir, "right")
	li, ri := left.Items()[0], right.Items()[0]
	left.Edit(li.Ref, func(x *adapters.Item) { x.Title = "left says" })
	right.Edit(ri.Ref, func(x *adapters.Item) { x.Title = "right says" })
	if code, _, _ := runCLI(t, "-c", cfg, "sync", "--once"); code != exitConflicts {
		t.Fatalf("conflict: %d", code)
	}
	if _, out, _ = runCLI(t, "-c", cfg, "__complete", "conflicts", "resolve", ""); !strings.Contains(out, "1\tpair title") {
		t.Errorf("conflict id completion: %q", out)
	}
}

// TestMigrateEmptyJSONLists: a migration with nothing to copy prints []
// for its warnings and id map, not null.
func TestMigrateEmptyJSONLists(t *testing.T) {
	_, cfg := setup(t, "manual", 0)
	code, out, errs := runCLI(t, "-c", cfg, "-o", "json", "migrate", "--from", "left", "--to", "right", "--flow", "pair", "--dry-run")
	if code != exitOK || strings.Contains(out, "null") || !strings.Contains(out, `"warnings": []`) || !strings.Contains(out, `"id_map": []`) {
		t.Errorf("migrate of nothing: %d\n%s%s", code, out, errs)
	}
}
