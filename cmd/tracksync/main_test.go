package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

const flowConfig = `state:
  dsn: state.db
server:
  token: ${TS_TEST_TOKEN}
trackers:
  left:
    kind: memory
    project: L
    path: left.json
  right:
    kind: memory
    project: R
    path: right.json
flows:
  - name: pair
    a: { tracker: left }
    b: { tracker: right }
    conflict: %s
    max_change_share: 0.25
    fields:
      title: both
      status: both
      labels: both
`

// setup writes a config and seeds the left tracker with n items.
func setup(t *testing.T, policy string, n int) (dir, cfg string) {
	t.Helper()
	dir = t.TempDir()
	cfg = filepath.Join(dir, "tracksync.yaml")
	if err := os.WriteFile(cfg, []byte(strings.Replace(flowConfig, "%s", policy, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TS_TEST_TOKEN", "tok-SUPERSECRET-123")
	left := openMem(t, dir, "left")
	for i := 0; i < n; i++ {
		left.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "item " + string(rune('A'+i)), Status: "To Do"})
	}
	return dir, cfg
}

func openMem(t *testing.T, dir, name string) *memory.Tracker {
	t.Helper()
	project := "L"
	if name == "right" {
		project = "R"
	}
	return openMemProject(t, dir, name, project)
}

func openMemProject(t *testing.T, dir, name, project string) *memory.Tracker {
	t.Helper()
	tr, err := memory.New(name, memory.Options{Project: project, Path: filepath.Join(dir, name+".json")})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestExitCodes(t *testing.T) {
	dir, cfg := setup(t, "manual", 8)
	if code, _, errs := runCLI(t, "-c", cfg, "sync"); code != exitUsage || !strings.Contains(errs, "--once") {
		t.Fatalf("sync without --once: %d %s", code, errs)
	}
	if code, _, _ := runCLI(t, "-c", cfg, "bogus"); code != exitUsage {
		t.Fatalf("unknown command: %d", code)
	}
	// Dry run: a plan, nothing written.
	code, out, errs := runCLI(t, "-c", cfg, "sync", "--once", "--dry-run")
	if code != exitOK || !strings.Contains(out, "create on b") {
		t.Fatalf("dry run: %d\n%s%s", code, out, errs)
	}
	if n := len(openMem(t, dir, "right").Items()); n != 0 {
		t.Fatalf("dry run wrote %d items", n)
	}
	if code, out, errs = runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK || !strings.Contains(out, "8 created") {
		t.Fatalf("sync: %d\n%s%s", code, out, errs)
	}
	// A conflict held: exit 4.
	left, right := openMem(t, dir, "left"), openMem(t, dir, "right")
	li, ri := left.Items()[0], right.Items()[0]
	for _, it := range right.Items() {
		if it.Title == li.Title {
			ri = it
		}
	}
	left.Edit(li.Ref, func(x *adapters.Item) { x.Title = "left says" })
	right.Edit(ri.Ref, func(x *adapters.Item) { x.Title = "right says" })
	if code, out, errs = runCLI(t, "-c", cfg, "sync", "--once"); code != exitConflicts {
		t.Fatalf("conflict: %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "-c", cfg, "-o", "json", "conflicts", "list")
	var cs []struct{ ID int64 }
	if err := json.Unmarshal([]byte(out), &cs); code != 0 || err != nil || len(cs) != 1 {
		t.Fatalf("conflicts list: %d %v %s", code, err, out)
	}
	if code, out, errs = runCLI(t, "-c", cfg, "conflicts", "resolve", "1", "--take", "value"); code != exitUsage {
		t.Fatalf("--take value without --value: %d %s%s", code, out, errs)
	}
	if code, out, errs = runCLI(t, "-c", cfg, "conflicts", "resolve", "1", "--take", "value", "--value", "agreed"); code != exitOK {
		t.Fatalf("resolve: %d %s%s", code, out, errs)
	}
	// The safety valve: closing 3 of 8 linked items (37% > 25%): exit 3.
	right = openMem(t, dir, "right")
	for _, it := range right.Items()[:3] {
		right.Edit(it.Ref, func(x *adapters.Item) { x.Status = "Done" })
	}
	code, _, errs = runCLI(t, "-c", cfg, "sync", "--once")
	if code != exitValve || !strings.Contains(errs, "safety valve") || !strings.Contains(errs, "--force") {
		t.Fatalf("valve: %d %s", code, errs)
	}
	if code, out, errs = runCLI(t, "-c", cfg, "sync", "--once", "--force"); code != exitOK {
		t.Fatalf("forced: %d %s%s", code, out, errs)
	}
	// Undo the forced run: the three items reopen on the left.
	code, out, _ = runCLI(t, "-c", cfg, "-o", "json", "runs", "--limit", "1")
	var runs []struct{ ID int64 }
	if err := json.Unmarshal([]byte(out), &runs); code != exitOK || err != nil || len(runs) != 1 {
		t.Fatalf("runs: %d %v %s", code, err, out)
	}
	if code, out, errs = runCLI(t, "-c", cfg, "undo", itoa(runs[0].ID)); code != exitOK || !strings.Contains(out, "3 reverted") {
		t.Fatalf("undo: %d %s%s", code, out, errs)
	}
	done := 0
	for _, it := range openMem(t, dir, "left").Items() {
		if it.Status == "Done" {
			done++
		}
	}
	if done != 0 {
		t.Fatalf("after undo %d items still Done on the left", done)
	}
	// links and version answer.
	if code, out, _ = runCLI(t, "-c", cfg, "links"); code != 0 || strings.Count(out, "\n") != 9 {
		t.Fatalf("links: %d\n%s", code, out)
	}
	if code, out, _ = runCLI(t, "version"); code != 0 || !strings.HasPrefix(out, "tracksync ") {
		t.Fatalf("version: %d %s", code, out)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestRunFailedExitCode(t *testing.T) {
	dir, cfg := setup(t, "newest", 2)
	// The right tracker's file is unreadable JSON: opening it fails, which
	// is a config-level problem for that tracker.
	os.WriteFile(filepath.Join(dir, "right.json"), []byte("{not json"), 0o600)
	code, _, errs := runCLI(t, "-c", cfg, "sync", "--once")
	if code == exitOK || !strings.Contains(errs, "right") {
		t.Fatalf("broken tracker file: %d %s", code, errs)
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	bad := `state:
  driver: oracle
trackers:
  left:
    kind: memory
    colour: blue
  right:
    kind: nosuchkind
flows:
  - name: pair
    a: { tracker: left }
    b: { tracker: missing }
    conflict: loudest
    max_change_share: 7
    fields:
      title: sideways
      nosuchfield: both
`
	os.WriteFile(cfg, []byte(bad), 0o600)
	code, out, errs := runCLI(t, "-c", cfg, "validate")
	if code != exitUsage {
		t.Fatalf("exit %d, want 2\n%s%s", code, out, errs)
	}
	for _, want := range []string{"state.driver", "trackers.left.colour", "trackers.right.kind", "flows[0].b.tracker", "flows[0].conflict", "flows[0].max_change_share", "flows[0].fields.title", "flows[0].fields.nosuchfield"} {
		if !strings.Contains(errs, want) {
			t.Errorf("validate output lacks %s:\n%s", want, errs)
		}
	}
}

// TestValidateNestedTrackerOptions: what an adapter checks beyond option
// types (a GitHub status source's nested options) is reported by validate,
// with its key path, before any tracker is opened.
func TestValidateNestedTrackerOptions(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	bad := `trackers:
  board:
    kind: github
    auth: { token: ghp-validate-token }
    status_source: project
    project: { owner: acme, number: seven }
  fields:
    kind: github
    auth: { token: ghp-validate-token }
    status_source: issue-field
    issue_field: { name: Stage, colour: red }
  left:
    kind: memory
flows:
  - name: pair
    a: { tracker: left }
    b: { tracker: board, scope: acme/app }
`
	os.WriteFile(cfg, []byte(bad), 0o600)
	code, out, errs := runCLI(t, "-c", cfg, "validate")
	if code != exitUsage {
		t.Fatalf("exit %d, want 2\n%s%s", code, out, errs)
	}
	for _, want := range []string{"trackers.board.project.number (line 6): want a number (the project's number)", "trackers.fields.issue_field.colour (line 11): unknown key"} {
		if !strings.Contains(errs, want) {
			t.Errorf("validate output lacks %q:\n%s", want, errs)
		}
	}
}

func TestExampleConfigValidates(t *testing.T) {
	// config.example.yaml is the documented reference: it must validate
	// clean against the real adapters' option specs.
	for _, v := range []string{"JIRA_API_TOKEN", "JIRA_WEBHOOK_SECRET", "GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET", "ASANA_TOKEN", "AUDIT_HOOK_SECRET"} {
		t.Setenv(v, "example-"+strings.ToLower(v)) // not "x": redaction is process-wide
	}
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/example")
	t.Setenv("TEAMS_WORKFLOW_URL", "https://prod-01.westeurope.logic.azure.com/workflows/example")
	code, out, errs := runCLI(t, "-c", "../../config.example.yaml", "validate")
	if code != exitOK || !strings.Contains(out, "is valid") {
		t.Fatalf("config.example.yaml: exit %d\n%s%s", code, out, errs)
	}
}

func TestSecretsNeverShown(t *testing.T) {
	const secret = "tok-SUPERSECRET-123"
	dir, cfg := setup(t, "newest", 2)
	// A state path built from a secret that cannot be opened.
	t.Setenv("TS_DSN_SECRET", secret)
	body, _ := os.ReadFile(cfg)
	// A regular file where a folder should be: not even root can open it.
	os.WriteFile(filepath.Join(dir, "afile"), nil, 0o600)
	broken := strings.Replace(string(body), "dsn: state.db", "dsn: afile/${TS_DSN_SECRET}/state.db", 1)
	bad := filepath.Join(dir, "broken.yaml")
	os.WriteFile(bad, []byte(broken), 0o600)
	var all strings.Builder
	for _, args := range [][]string{
		{"-c", cfg, "validate"},
		{"-c", cfg, "--log-level", "debug", "sync", "--once"},
		{"-c", cfg, "-o", "json", "plan"},
		{"-c", bad, "--log-level", "debug", "sync", "--once"},
		{"-c", bad, "runs"},
	} {
		_, out, errs := runCLI(t, args...)
		all.WriteString(out + errs)
	}
	if strings.Contains(all.String(), secret) {
		t.Fatalf("a secret reached the output:\n%s", all.String())
	}
	if !strings.Contains(all.String(), "[REDACTED]") {
		t.Fatalf("expected the failing state path to be shown redacted:\n%s", all.String())
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "demo", "--dir", dir)
	if code != exitOK || !strings.Contains(out, "demo passed") || strings.Contains(out, "✗") {
		t.Fatalf("demo: exit %d\n%s%s", code, out, errs)
	}
}

// TestServe runs `tracksync serve` on the demo-style config until the
// first scheduled run has synced, then stops it as SIGTERM would.
func TestServe(t *testing.T) {
	dir, cfg := setup(t, "newest", 3)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() { done <- run(ctx, []string{"-c", cfg, "serve", "--listen", "127.0.0.1:0"}, &out, &errb) }()
	deadline := time.After(30 * time.Second)
	for {
		if n := len(openMem(t, dir, "right").Items()); n == 3 {
			break
		}
		select {
		case <-deadline:
			cancel()
			t.Fatalf("serve did not sync within 30s:\n%s%s", out.String(), errb.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("serve exited %d:\n%s", code, errb.String())
	}
}

func TestDoctor(t *testing.T) {
	_, cfg := setup(t, "newest", 1)
	code, out, errs := runCLI(t, "-c", cfg, "doctor")
	if code != exitOK || !strings.Contains(out, "ok    tracker left") || !strings.Contains(out, "ok    state store") {
		t.Fatalf("doctor: %d\n%s%s", code, out, errs)
	}
	// A status the tracker does not have: doctor names the key path.
	body, _ := os.ReadFile(cfg)
	bad := strings.Replace(string(body), "      status: both\n", "      status:\n        map:\n          - { a: 'Nope', b: 'To Do' }\n", 1)
	os.WriteFile(cfg, []byte(bad), 0o600)
	code, out, _ = runCLI(t, "-c", cfg, "doctor")
	if code != exitFailed || !strings.Contains(out, "FAIL") || !strings.Contains(out, "flows[0].fields.status.map[0].a") {
		t.Fatalf("doctor on a missing status: %d\n%s", code, out)
	}
}

// TestServeReload: a broken config is refused (the old one keeps running,
// the log says why); a good one adds a flow, which starts syncing.
func TestServeReload(t *testing.T) {
	reloadPoll.Store(int64(20 * time.Millisecond))
	defer reloadPoll.Store(int64(2 * time.Second))
	dir, cfg := setup(t, "newest", 2)
	_, errb, waitFor := serveInBackground(t, cfg)
	waitFor("first sync", func() bool { return len(openMem(t, dir, "right").Items()) == 2 })
	good, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte("flows: [ {name: broken"), 0o600)
	waitFor("the bad config refused", func() bool { return strings.Contains(errb.String(), "keeping the old config") })
	added := string(good) + `  - name: third-flow
    a: { tracker: left }
    b: { tracker: third }
    schedule: '@every 1h'
`
	added = strings.Replace(added, "flows:\n", "  third:\n    kind: memory\n    project: T\n    path: third.json\nflows:\n", 1)
	os.WriteFile(cfg, []byte(added), 0o600)
	waitFor("the new flow syncs", func() bool { return len(openMemProject(t, dir, "third", "T").Items()) == 2 })
}

// lockedBuffer is a bytes.Buffer safe for the log writer and the test.
// serveInBackground runs `serve` on cfg until the test ends. waitFor
// polls cond for up to 30 s and fails the test, with serve's log, if it
// does not hold by then.
func serveInBackground(t *testing.T, cfg string) (out, errb *lockedBuffer, waitFor func(what string, cond func() bool)) {
	t.Helper()
	return runInBackground(t, "-c", cfg, "serve", "--listen", "127.0.0.1:0")
}

// runInBackground runs the command args (a serve) until the test ends;
// waitFor is serveInBackground's.
func runInBackground(t *testing.T, args ...string) (out, errb *lockedBuffer, waitFor func(what string, cond func() bool)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	out, errb = &lockedBuffer{}, &lockedBuffer{}
	go func() { done <- run(ctx, args, out, errb) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitFor = func(what string, cond func() bool) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for !cond() {
			select {
			case <-deadline:
				t.Fatalf("%s: not within 30s\n%s", what, errb.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return out, errb, waitFor
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeSandbox: `serve --sandbox` syncs the seeded Jira and GitHub
// fakes, and an edit made through the GitHub fake's HTTP API (as the
// printed curl line does) reaches Jira by webhook.
func TestServeSandbox(t *testing.T) {
	dir := t.TempDir()
	out, errb, _ := runInBackground(t, "serve", "--sandbox", "--dir", dir, "--listen", "127.0.0.1:0")
	cfg := filepath.Join(dir, "tracksync.yaml")
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.After(40 * time.Second)
		for !cond() {
			select {
			case <-deadline:
				t.Fatalf("%s: not within 40s\n%s%s", what, out.String(), errb.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	// Flow platform's links only: the board flow links the epics to
	// Asana cards too, before or after platform's first run.
	wait("the first sync links all ten items", func() bool {
		_, o, _ := runCLI(t, "-c", cfg, "links", "--flow", "platform")
		return strings.Count(o, " linked\n") == 10
	})
	var ghURL string
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "GitHub" && f[1] == "fake:" {
			ghURL = f[2]
		}
	}
	req, _ := http.NewRequest(http.MethodPatch, ghURL+"/repos/acme/platform/issues/1", strings.NewReader(`{"title":"Renamed from curl"}`))
	req.Header.Set("Authorization", "Bearer sandbox-github-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH on the GitHub fake: %v %v", err, resp)
	}
	resp.Body.Close()
	wait("the edit reaches Jira", func() bool { return jiraHasTitle(t, cfg, "Renamed from curl") })
}

// jiraHasTitle asks the sandbox's Jira fake, over its REST API, whether
// an issue of project PLAT has title.
func jiraHasTitle(t *testing.T, cfg, title string) bool {
	t.Helper()
	body, _ := os.ReadFile(cfg)
	var url string
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "url:") && url == "" {
			url = strings.Trim(strings.TrimSpace(strings.TrimPrefix(line, "url:")), `"`)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, url+"/rest/api/3/search/jql?jql=project%20%3D%20PLAT&fields=summary", nil)
	req.SetBasicAuth("bot@example.com", "api-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), title)
}
