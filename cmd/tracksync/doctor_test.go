package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

// TestDoctorEveryTracker: a tracker that fails to open, one that hangs
// and an invalid JQL scope each get their own FAIL line; the healthy
// tracker is still checked, and the hang says what doctor waited for.
func TestDoctorEveryTracker(t *testing.T) {
	good := jiratest.New(t, jiratest.Options{Email: "bot@example.com", Token: "doctor-good-token", Projects: []string{"PLAT"}})
	hang := jiratest.New(t, jiratest.Options{Email: "bot@example.com", Token: "doctor-good-token", Projects: []string{"PLAT"}})
	hang.InjectFault(jiratest.Fault{Path: "/myself", Hang: true, Times: 10})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	tracker := func(name, url, token string) string {
		return fmt.Sprintf("  %s:\n    kind: jira\n    url: %s\n    project: PLAT\n    auth:\n      email: bot@example.com\n      token: %s\n", name, url, token)
	}
	os.WriteFile(cfg, []byte("state: { dsn: state.db }\ntrackers:\n"+
		tracker("bad", good.URL, "doctor-wrong-token")+tracker("good", good.URL, "doctor-good-token")+tracker("slow", hang.URL, "doctor-good-token")+
		`  mem1: { kind: memory, project: M }
  mem2: { kind: memory, project: N }
flows:
  - name: typo
    a: { tracker: good, scope: 'project = PLAT AND colour = red' }
    b: { tracker: mem1 }
    fields: { title: both }
  - name: broken
    a: { tracker: bad, scope: 'project = PLAT' }
    b: { tracker: mem2 }
    fields: { title: both }
`), 0o600)
	start := time.Now()
	code, out, errs := runCLI(t, "-c", cfg, "doctor", "--timeout", "300ms")
	if code != exitFailed {
		t.Fatalf("doctor: %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"FAIL  tracker bad: opening: ",
		"ok    tracker good: credentials, permissions and project ok",
		"FAIL  tracker slow: no answer within 300ms while waiting for jira tracker slow to answer the health check",
		"FAIL  flow typo flows[0].a.scope: ",
		"colour",
		"FAIL  flow broken: not checked: tracker bad did not open",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("doctor took %s with a 300ms check timeout", took)
	}
}

// TestValidateNoEnv: unset variables are notes with --no-env, errors
// without it; a GitHub scope with a bad qualifier fails validate.
func TestValidateNoEnv(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	os.WriteFile(cfg, []byte(`state: { dsn: state.db }
trackers:
  gh:
    kind: github
    auth:
      token: ${OPERATOR_TEST_UNSET_TOKEN}
  mem: { kind: memory }
flows:
  - name: f
    a: { tracker: gh, scope: 'acme/app' }
    b: { tracker: mem }
    fields: { title: both }
`), 0o600)
	code, _, errs := runCLI(t, "-c", cfg, "validate")
	if code != exitUsage || !strings.Contains(errs, "OPERATOR_TEST_UNSET_TOKEN is not set") {
		t.Errorf("validate without the variable: %d %s", code, errs)
	}
	code, out, errs := runCLI(t, "-c", cfg, "validate", "--no-env")
	if code != exitOK || !strings.Contains(out, "note: environment variable OPERATOR_TEST_UNSET_TOKEN is not set") {
		t.Errorf("validate --no-env: %d %s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "-c", cfg, "-o", "json", "validate", "--no-env")
	if code != exitOK || !strings.Contains(out, `"notes": [`) {
		t.Errorf("validate --no-env -o json: %d %s", code, out)
	}
	body, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(body), "scope: 'acme/app'", "scope: 'acme/app is:open'", 1)), 0o600)
	code, _, errs = runCLI(t, "-c", cfg, "validate", "--no-env")
	if code != exitUsage || !strings.Contains(errs, "flows[0].a.scope") || !strings.Contains(errs, "is:open") {
		t.Errorf("a bad GitHub qualifier: %d %s", code, errs)
	}
}
