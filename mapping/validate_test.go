package mapping

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/config"
)

var update = flag.Bool("update", false, "rewrite golden files")

func exampleEnv(name string) (string, bool) {
	switch name {
	case "JIRA_API_TOKEN", "JIRA_WEBHOOK_SECRET", "GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET", "ASANA_TOKEN":
		return "fake-" + strings.ToLower(name) + "-value", true
	case "SLACK_WEBHOOK_URL":
		return "https://hooks.slack.com/services/T0/B0/fake-slack-hook", true
	case "TEAMS_WORKFLOW_URL":
		return "https://prod-01.westeurope.logic.azure.com/workflows/fake/triggers/manual/paths/invoke?sig=fake", true
	case "AUDIT_HOOK_SECRET":
		return "fake-audit-hook-secret", true
	}
	return "", false
}

// TestExampleValidates keeps config.example.yaml, the reference users read,
// loadable and clean.
func TestExampleValidates(t *testing.T) {
	data, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(data, "../config.example.yaml", exampleEnv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	reg := testRegistry(t)
	if ps := Validate(c, reg); len(ps) > 0 {
		t.Fatalf("example has problems:\n%v", config.Problems(ps))
	}
	if len(c.Flows) < 2 || len(c.Trackers) != 5 || len(c.Users) < 2 {
		t.Errorf("example lost content: %d flows, %d trackers, %d users", len(c.Flows), len(c.Trackers), len(c.Users))
	}
	for i, f := range c.Flows {
		fl, ps := Compile(f, "flows", c.Users, SideInfo{Name: f.A.Tracker, Kind: c.Trackers[f.A.Tracker].Kind}, SideInfo{Name: f.B.Tracker, Kind: c.Trackers[f.B.Tracker].Kind})
		if len(ps) > 0 || fl == nil {
			t.Fatalf("flows[%d]: %v", i, ps)
		}
	}
	if got := c.Redact("token fake-jira_api_token-value"); strings.Contains(got, "fake-") {
		t.Errorf("example secret not redacted: %q", got)
	}
}

// TestValidateBroken checks a config with one of every problem against the
// golden list of key paths and messages (-update rewrites it).
func TestValidateBroken(t *testing.T) {
	data, err := os.ReadFile("testdata/broken.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := func(name string) (string, bool) {
		if name == "JIRA_TOKEN" {
			return "tok-should-not-show", true
		}
		return "", false
	}
	c, err := config.Parse(data, "testdata/broken.yaml", env)
	if c == nil {
		t.Fatalf("Parse: %v", err)
	}
	ps := Validate(c, testRegistry(t))
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Error())
		b.WriteByte('\n')
		if strings.Contains(p.Msg, "tok-should-not-show") {
			t.Errorf("secret in problem %q", p)
		}
	}
	golden := filepath.Join("testdata", "broken.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestValidateNoSecretInProblems puts secrets where messages quote values.
func TestValidateNoSecretInProblems(t *testing.T) {
	secrets := map[string]string{
		"DEPLOY": "secret-deploy-value", "DIR": "secret-dir-value", "SCHED": "secret-sched",
		"STATUS": "secret-status", "UID": "secret-user-id", "TRK": "secret-tracker",
	}
	yaml := `
trackers:
  j: {kind: jira, url: 'https://x', deployment: '${DEPLOY}', auth: {token: literal-token-value}}
  g: {kind: github, auth: {app_id: literal-token-value}, webhook_secret: literal-hook-value}
users:
  - {name: A, jira: '${UID}'}
  - {name: B, jira: '${UID}'}
flows:
  - name: f
    a: {tracker: j}
    b: {tracker: '${TRK}'}
    direction: '${DIR}'
    schedule: '${SCHED}'
    fields:
      status: {direction: '${DIR}', map: [{a: '${STATUS}', b: x}]}
`
	c, _ := config.Parse([]byte(yaml), "", func(k string) (string, bool) { v, ok := secrets[k]; return v, ok })
	if c == nil {
		t.Fatal("no config")
	}
	ps := Validate(c, testRegistry(t))
	if len(ps) < 5 {
		t.Fatalf("want several problems, got %v", ps)
	}
	all := append([]string{"literal-token-value", "literal-hook-value"}, mapValues(secrets)...)
	for _, p := range ps {
		for _, s := range all {
			if strings.Contains(p.Error(), s) {
				t.Errorf("problem %q leaks %q", p, s)
			}
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// A notification rule naming a flow the config lacks (a typo) would match
// no event, silently: it is a problem at its key path.
func TestValidateNotifyRuleFlows(t *testing.T) {
	data, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(data), "flows: [platform-epics]", "flows: [platform-epic, Platform-Epics]", 1)
	if bad == string(data) {
		t.Fatal("config.example.yaml has no notification rule naming flow platform-epics")
	}
	c, err := config.Parse([]byte(bad), "../config.example.yaml", exampleEnv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var got []string
	for _, p := range Validate(c, testRegistry(t)) {
		got = append(got, p.Path+": "+p.Msg)
	}
	want := []string{`notifications.sinks[1].rules[0].flows[0]: unknown flow "platform-epic" (configured: platform-epics, roadmap-scratch)`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
