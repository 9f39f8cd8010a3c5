package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/notify/notifytest"
)

func TestNotifyTest(t *testing.T) {
	slack, teams := notifytest.NewSlack(), notifytest.NewTeams()
	defer slack.Close()
	defer teams.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	hook := slack.WebhookURL("#roadmap") + "XsecretHookPart99"
	t.Setenv("TS_SLACK_HOOK", hook)
	body := strings.Replace(flowConfig, "%s", "newest", 1) + `notifications:
  dashboard_url: https://tracksync.example.com/
  sinks:
    - {name: pm, kind: slack, webhook_url: '${TS_SLACK_HOOK}'}
    - {name: eng, kind: teams, webhook_url: '` + teams.WebhookURL("wf") + `'}
`
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TS_TEST_TOKEN", "tok-SUPERSECRET-123")
	code, out, errb := runCLI(t, "-c", cfg, "notify", "test", "pm")
	if code != 0 || !strings.Contains(out, "sent a sample message to pm") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errb)
	}
	if m := slack.Messages(); len(m) != 1 || m[0].Header() != "tracksync test message" || m[0].Channel != "#roadmapXsecretHookPart99" {
		t.Fatalf("slack got %+v", m)
	}
	if code, _, errb := runCLI(t, "-c", cfg, "notify", "test", "nope"); code == 0 || !strings.Contains(errb, `no sink "nope" (known: eng, pm)`) {
		t.Errorf("unknown sink: exit %d %s", code, errb)
	}
	// A failing sink: the receiver's answer, never the webhook URL.
	slack.Fail(notifytest.Fault{Status: 404, Times: 1})
	code, _, errb = runCLI(t, "-c", cfg, "notify", "test", "pm")
	if code == 0 || !strings.Contains(errb, "404") || strings.Contains(errb, "XsecretHookPart99") {
		t.Errorf("failing sink: exit %d, stderr %s", code, errb)
	}
	if code, _, errb := runCLI(t, "-c", cfg, "notify", "test", "eng"); code != 0 || len(teams.Cards()) != 1 {
		t.Errorf("teams: exit %d %s", code, errb)
	}
}
