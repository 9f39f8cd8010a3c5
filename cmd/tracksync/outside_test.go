package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/store/sqlite"
)

// TestMistypedSubcommand: a group command (conflicts, trackers, store,
// notify, completion) given a mistyped subcommand printed its help and
// exited 0, so `tracksync conflicts lsit` or `completion tcsh` in a
// script looked like success.
func TestMistypedSubcommand(t *testing.T) {
	_, cfg := setup(t, "newest", 1)
	for _, args := range [][]string{
		{"conflicts", "lsit"},
		{"trackers", "descrbe", "left"},
		{"store", "cpy"},
		{"notify", "tst", "slack"},
		{"completion", "tcsh"},
	} {
		code, out, errs := runCLI(t, append([]string{"-c", cfg}, args...)...)
		if code != exitUsage || !strings.Contains(errs, `unknown command "`+args[1]+`"`) {
			t.Errorf("%v: exit %d, want %d naming the unknown command\n%s%s", args, code, exitUsage, out, errs)
		}
	}
	// Alone, a group command still shows its help.
	if code, out, errs := runCLI(t, "-c", cfg, "conflicts"); code != exitOK || !strings.Contains(out, "resolve") {
		t.Errorf("conflicts alone: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "completion", "bash"); code != exitOK || !strings.Contains(out, "complete -o default") {
		t.Errorf("completion bash: exit %d\n%.200s%s", code, out, errs)
	}
}

// TestConflictNotFoundMessage: the store's error already names the
// conflict; the message said "conflict 999: conflict 999: not found".
func TestConflictNotFoundMessage(t *testing.T) {
	_, cfg := setup(t, "newest", 1)
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync: %d\n%s%s", code, out, errs)
	}
	code, _, errs := runCLI(t, "-c", cfg, "conflicts", "resolve", "999", "--take", "a")
	if code != exitUsage || strings.Count(errs, "conflict 999") != 1 || !strings.Contains(errs, "conflicts list") {
		t.Errorf("resolve of a missing conflict: exit %d, want %d naming it once and pointing at conflicts list:\n%s", code, exitUsage, errs)
	}
}

// TestFlowLockedIsTemporary: a sync that finds another process running
// the flow (its lease held) failed with exit 1, "needs a person"; waiting
// for the other run is what fixes it, so it is exit 5, which a scheduler
// retries.
func TestFlowLockedIsTemporary(t *testing.T) {
	dir, cfg := setup(t, "newest", 1)
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync: %d\n%s%s", code, out, errs)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "state.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Lock(context.Background(), "flow:pair", "otherhost:42:abcd", time.Hour); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errs := runCLI(t, "-c", cfg, "sync", "--once")
	if code != exitTemporary || !strings.Contains(errs, "otherhost:42") {
		t.Errorf("sync of a locked flow: exit %d, want %d naming the holder\n%s%s", code, exitTemporary, out, errs)
	}
}

// TestSyncInterrupted: Ctrl-C during sync said only "context canceled"
// deep in a wrapped error; it says the run was interrupted and that the
// next sync finishes it.
func TestSyncInterrupted(t *testing.T) {
	_, cfg := setup(t, "newest", 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb strings.Builder
	code := run(ctx, []string{"-c", cfg, "sync", "--once"}, &out, &errb)
	if code == exitOK || !strings.Contains(errb.String(), "interrupted") || !strings.Contains(errb.String(), "sync --once") {
		t.Errorf("interrupted sync: exit %d, want a message saying it was interrupted and how to finish\n%s%s", code, out.String(), errb.String())
	}
}

// TestCreatedNotAlsoUnchanged: a first sync of 3 items said "3 created,
// 3 unchanged": each new pair, settled at once after its create, was
// counted as unchanged too.
func TestCreatedNotAlsoUnchanged(t *testing.T) {
	_, cfg := setup(t, "newest", 3)
	code, out, errs := runCLI(t, "-c", cfg, "sync", "--once")
	if code != exitOK || !strings.Contains(out, "3 created, 0 updated, 0 unchanged") {
		t.Errorf("first sync: exit %d, want 3 created and 0 unchanged\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "-c", cfg, "sync", "--once", "--full")
	if code != exitOK || !strings.Contains(out, "0 created, 0 updated, 3 unchanged") {
		t.Errorf("full sync with nothing new: exit %d, want 3 unchanged\n%s%s", code, out, errs)
	}
}

// TestLogLevelHelp: --log-level's help said the default was warn where
// the config sets none, but the config's log.level defaults to info.
func TestLogLevelHelp(t *testing.T) {
	_, out, _ := runCLI(t, "--help")
	if strings.Contains(out, "else warn") || !strings.Contains(out, "log.level") {
		t.Errorf("--log-level help does not name log.level and its default:\n%s", out)
	}
}

// TestValidateJSONOnProblems: validate -o json printed nothing on stdout
// for a config with problems (its "ok" was never false), so a config
// repository's CI reading the JSON got no verdict.
func TestValidateJSONOnProblems(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "typo.yaml")
	body := strings.Replace(strings.Replace(flowConfig, "%s", "newest", 1), "conflict:", "conflcit:", 1)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TS_TEST_TOKEN", "tok-SUPERSECRET-123")
	code, out, errs := runCLI(t, "-c", cfg, "-o", "json", "validate")
	var got struct {
		OK       bool `json:"ok"`
		Problems []struct {
			Path    string `json:"path"`
			Line    int    `json:"line"`
			Message string `json:"message"`
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitUsage {
		t.Fatalf("validate -o json of a bad config: exit %d, stdout not JSON (%v)\n%s%s", code, err, out, errs)
	}
	if got.OK || len(got.Problems) != 1 || got.Problems[0].Path != "flows[0].conflcit" || got.Problems[0].Line != 18 {
		t.Errorf("validate -o json: %+v, want ok false and flows[0].conflcit at line 18", got)
	}
	if !strings.Contains(errs, "flows[0].conflcit (line 18)") {
		t.Errorf("the text form left stderr:\n%s", errs)
	}
	// A file that does not parse at all still gets a JSON verdict.
	if err := os.WriteFile(cfg, []byte("a: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "-c", cfg, "-o", "json", "validate")
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitUsage || got.OK || len(got.Problems) != 1 {
		t.Errorf("validate -o json of unparsable YAML: exit %d %v %+v\n%s", code, err, got, out)
	}
}

// TestLinkJSONEmptyList: link -o json printed null when no pair could be
// linked; lists printed with -o json are [] when empty.
func TestLinkJSONEmptyList(t *testing.T) {
	_, cfg := setup(t, "newest", 1)
	code, out, errs := runCLI(t, "-c", cfg, "-o", "json", "link", "--flow", "pair", "left:L-9", "right:R-9")
	if code != exitFailed || strings.TrimSpace(out) != "[]" || !strings.Contains(errs, "L-9") {
		t.Errorf("link of missing items -o json: exit %d, want %d, [] and the error on stderr\nstdout: %s\nstderr: %s", code, exitFailed, out, errs)
	}
}

// TestSandboxCurlLinesWork: serve --sandbox prints curl lines for an edit
// by hand, but their credentials (the fakes' own) came out as
// [REDACTED], so the lines as printed were refused by the fakes.
func TestSandboxCurlLinesWork(t *testing.T) {
	dir := t.TempDir()
	out, errb, _ := runInBackground(t, "serve", "--sandbox", "--dir", dir, "--listen", "127.0.0.1:0")
	deadline := time.After(40 * time.Second)
	for !strings.Contains(out.String(), "Stop with Ctrl-C.") {
		select {
		case <-deadline:
			t.Fatalf("no sandbox banner within 40s\n%s%s", out.String(), errb.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	banner := out.String()
	for _, want := range []string{"Authorization: Bearer sandbox-github-token", "-u bot@example.com:api-token"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the printed curl lines lack %q:\n%s", want, banner)
		}
	}
}

// TestMissingConfigHint: a new user's first command without a config
// said only "open tracksync.yaml: no such file or directory"; it says how
// to name one and that init writes one.
func TestMissingConfigHint(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("TRACKSYNC_CONFIG", "")
	code, _, errs := runCLI(t, "links")
	if code != exitUsage || !strings.Contains(errs, "tracksync.yaml") || !strings.Contains(errs, "-c") || !strings.Contains(errs, "tracksync init") {
		t.Errorf("no config: exit %d, want %d naming the file, -c and init\n%s", code, exitUsage, errs)
	}
}

// TestFileErrorNotTemporary: init --out into a folder that does not exist
// exited 5 ("try again later"): an errno passed for a network error.
func TestFileErrorNotTemporary(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runCLI(t, "init", "--github-repo", "o/r", "--roadmap", filepath.Join(dir, "roadmap.yaml"), "--out", filepath.Join(dir, "nodir", "t.yaml"))
	if code != exitFailed || !strings.Contains(errs, "nodir") {
		t.Errorf("init into a missing folder: exit %d, want %d\n%s", code, exitFailed, errs)
	}
}

// TestIDCommandsNeedState: undo, conflicts resolve and migrate --resume
// name a run, conflict or migration only an existing state can hold; with
// a mistyped state.dsn they created an empty database and then said "not
// found", which hid the typo.
func TestIDCommandsNeedState(t *testing.T) {
	dir, cfg := setup(t, "newest", 1)
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte(strings.Replace(string(body), "dsn: state.db", "dsn: stat.db", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"undo", "1"},
		{"conflicts", "resolve", "1", "--take", "a"},
		{"migrate", "--from", "left", "--to", "right", "--resume", "m1"},
	} {
		code, out, errs := runCLI(t, append([]string{"-c", typo}, args...)...)
		if code != exitUsage || !strings.Contains(errs, "state.dsn") || !strings.Contains(errs, "does not exist") {
			t.Errorf("%v with a mistyped state.dsn: exit %d, want %d naming state.dsn\n%s%s", args, code, exitUsage, out, errs)
		}
		if _, err := os.Stat(filepath.Join(dir, "stat.db")); err == nil {
			t.Errorf("%v created the mistyped state database", args)
			os.Remove(filepath.Join(dir, "stat.db"))
		}
	}
}

// TestDoctorTimeoutZero: doctor --timeout 0 (or negative) failed every
// check that talks to anything, exit 1, as if the trackers were down.
func TestDoctorTimeoutZero(t *testing.T) {
	_, cfg := setup(t, "newest", 1)
	for _, d := range []string{"0", "-1s"} {
		code, out, errs := runCLI(t, "-c", cfg, "doctor", "--timeout", d)
		if code != exitUsage || !strings.Contains(errs, "--timeout") {
			t.Errorf("doctor --timeout %s: exit %d, want %d naming --timeout\n%s%s", d, code, exitUsage, out, errs)
		}
	}
}

// TestNegativeLimit: --limit -5 (meant as 5) was taken as "no limit": runs
// listed every run and migrate would have copied every item.
func TestNegativeLimit(t *testing.T) {
	_, cfg := setup(t, "newest", 2)
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync: %d\n%s%s", code, out, errs)
	}
	for _, args := range [][]string{
		{"runs", "--limit", "-5"},
		{"migrate", "--from", "left", "--to", "right", "--dry-run", "--limit", "-5"},
	} {
		code, out, errs := runCLI(t, append([]string{"-c", cfg}, args...)...)
		if code != exitUsage || !strings.Contains(errs, "--limit -5") {
			t.Errorf("%v: exit %d, want %d naming --limit\n%s%s", args, code, exitUsage, out, errs)
		}
	}
}

// TestValidateMemoryOptions: validate passed a memory tracker's page_size
// of 500 or a malformed statuses list, which every other command then
// refused when it opened the tracker.
func TestValidateMemoryOptions(t *testing.T) {
	dir, cfg := setup(t, "newest", 0)
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ option, path string }{
		{"    page_size: 500\n", "trackers.left.page_size"},
		{"    statuses: \"To Do, Done:done\"\n", "trackers.left.statuses"},
	} {
		bad := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(bad, []byte(strings.Replace(string(body), "    path: left.json\n", "    path: left.json\n"+tc.option, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCLI(t, "-c", bad, "validate")
		if code != exitUsage || !strings.Contains(errs, tc.path) {
			t.Errorf("validate with %q: exit %d, want %d naming %s\n%s%s", strings.TrimSpace(tc.option), code, exitUsage, tc.path, out, errs)
		}
	}
}

// TestFailedRunNotSynced: a run that failed (here: the roadmap file
// missing when the run lists it) printed "run 1 synced: ...".
func TestFailedRunNotSynced(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "tracksync.yaml")
	if err := os.WriteFile(cfg, []byte(roadmapConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "-c", cfg, "sync", "--once")
	if code != exitFailed || strings.Contains(out, "synced") {
		t.Errorf("failed run: exit %d, want %d and no \"synced\"\n%s%s", code, exitFailed, out, errs)
	}
}

// TestTrackerUnreachableAtOpen: a tracker that cannot be reached when it
// is opened (Jira reads its field list then) made sync exit 2, "bad usage
// or config", so a scheduler did not retry; unreachable is 5.
func TestTrackerUnreachableAtOpen(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	body := `state:
  dsn: state.db
trackers:
  jira:
    kind: jira
    url: "http://127.0.0.1:1"
    deployment: cloud
    project: PLAT
    auth:
      email: bot@example.com
      token: jira-token-123456
  mem:
    kind: memory
    path: mem.json
flows:
  - name: j
    a: { tracker: jira }
    b: { tracker: mem }
`
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "-c", cfg, "sync", "--once")
	if code != exitTemporary || !strings.Contains(errs, "trackers.jira") {
		t.Errorf("sync with Jira unreachable: exit %d, want %d naming the tracker\n%s%s", code, exitTemporary, out, errs)
	}
}

// TestLinksFanoutFlow: the README says links fan-out made for initiatives
// show under flow initiatives:<tracker>, but links --flow
// initiatives:<tracker> was refused as an unknown flow.
func TestLinksFanoutFlow(t *testing.T) {
	_, cfg := setup(t, "newest", 1)
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync: %d\n%s%s", code, out, errs)
	}
	code, out, errs := runCLI(t, "-c", cfg, "-o", "json", "links", "--flow", "initiatives:right")
	if code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("links --flow initiatives:right: exit %d, want 0 and []\n%s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "-c", cfg, "links", "--flow", "initiatives:nope"); code != exitUsage || !strings.Contains(errs, "initiatives:nope") {
		t.Errorf("links --flow initiatives:nope: exit %d, want %d\n%s", code, exitUsage, errs)
	}
}

// TestHelpUnknownTopic: help bogus printed "Unknown help topic" and the
// usage, and exited 0.
func TestHelpUnknownTopic(t *testing.T) {
	if code, out, errs := runCLI(t, "help", "bogus"); code != exitUsage || !strings.Contains(errs, "bogus") {
		t.Errorf("help bogus: exit %d, want %d naming it\n%s%s", code, exitUsage, out, errs)
	}
	if code, out, errs := runCLI(t, "help", "sync"); code != exitOK || !strings.Contains(out, "--once") {
		t.Errorf("help sync: exit %d\n%s%s", code, out, errs)
	}
}
