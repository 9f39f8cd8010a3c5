package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNotifications(t *testing.T) {
	env := envOf(map[string]string{"SLACK_HOOK": "https://hooks.slack.com/services/T1/B1/envSecretPath"})
	yaml := `
notifications:
  dashboard_url: https://tracksync.example.com/
  stale_after: 6h
  digest: {weekday: Monday, hour: 9}
  sinks:
    - name: pm-slack
      kind: slack
      webhook_url: ${SLACK_HOOK}
      rules:
        - events: [initiative.at_risk, initiative.date_moved]
          initiatives: [INIT-1]
    - name: eng
      kind: teams
      webhook_url: https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=literalSig
      rate: 0.5
    - name: audit
      kind: webhook
      url: https://audit.example.com/hook
      secret: literal-hmac-key
      rules: [{flows: platform, events: run.failed}]
`
	c, err := Parse([]byte(yaml), "", env)
	var ps Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			if strings.HasPrefix(p.Path, "notifications") {
				t.Errorf("problem: %v", p)
			}
		}
	} else if err != nil {
		t.Fatal(err)
	}
	want := &Notifications{
		DashboardURL: "https://tracksync.example.com/",
		StaleAfter:   6 * time.Hour,
		Digest:       DigestSchedule{Weekday: "monday", Hour: 9},
		Sinks: []NotifySink{
			{Name: "pm-slack", Kind: "slack", WebhookURL: "https://hooks.slack.com/services/T1/B1/envSecretPath",
				Rules: []NotifyRule{{Events: []string{"initiative.at_risk", "initiative.date_moved"}, Initiatives: []string{"INIT-1"}}}},
			{Name: "eng", Kind: "teams", WebhookURL: "https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=literalSig", Rate: 0.5},
			{Name: "audit", Kind: "webhook", URL: "https://audit.example.com/hook", Secret: "literal-hmac-key",
				Rules: []NotifyRule{{Events: []string{"run.failed"}, Flows: []string{"platform"}}}},
		},
	}
	if diff := cmp.Diff(want, c.Notifications); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
	// Webhook URLs and keys are secrets, written literally or not.
	red := c.Redact("envSecretPath literalSig literal-hmac-key")
	for _, s := range []string{"envSecretPath", "literalSig", "literal-hmac-key"} {
		if strings.Contains(red, s) {
			t.Errorf("Redact left %q: %q", s, red)
		}
	}
}

func TestNotificationsProblems(t *testing.T) {
	yaml := `
notifications:
  stale_after: soon
  digest: {weekday: someday, hour: 25}
  colour: blue
  sinks:
    - {name: a, kind: slack}
    - {name: a, kind: slack, token: xoxb-1}
    - {name: c, kind: teams, webhook_url: 'ftp://x'}
    - {name: d, kind: webhook, url: 'https://x'}
    - {kind: pager}
    - {name: e, kind: slack, webhook_url: 'https://x', rules: [{events: [run.exploded], team: x}]}
`
	_, err := Parse([]byte(yaml), "", envOf(nil))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want problems, got %v", err)
	}
	var got []string
	for _, p := range ps {
		if strings.HasPrefix(p.Path, "notifications") {
			got = append(got, p.Error())
		}
	}
	for _, want := range []string{
		"notifications.stale_after: want a duration",
		"notifications.digest.weekday: want a day of the week",
		"notifications.digest.hour: want a whole hour",
		"notifications.colour: unknown key",
		"notifications.sinks[0].webhook_url: missing (needed by a slack sink)",
		"notifications.sinks[1].name: sink name \"a\" repeated (first at notifications.sinks[0])",
		"notifications.sinks[1].channel: missing",
		"notifications.sinks[2].webhook_url: want an http(s) URL",
		"notifications.sinks[3].secret: missing",
		"notifications.sinks[4].name: missing",
		"notifications.sinks[4].kind: unknown sink kind \"pager\"",
		"notifications.sinks[5].rules[0].events[0]: unknown event \"run.exploded\"",
		"notifications.sinks[5].rules[0].team: unknown key",
	} {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, want)
		}
		if !found {
			t.Errorf("no problem %q in:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

// A webhook sink's HMAC key of a few characters is guessable (and, as a
// secret, masked wherever its letters appear in output): it is a problem
// at its key, not a config that validates.
func TestNotificationsShortSecret(t *testing.T) {
	yaml := `
notifications:
  sinks:
    - {name: w, kind: webhook, url: 'https://x.example/hook', secret: k3y-x}
`
	c, err := Parse([]byte(yaml), "", envOf(nil))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want problems, got %v", err)
	}
	var got []string
	for _, p := range ps {
		if strings.HasPrefix(p.Path, "notifications") {
			got = append(got, c.Redact(p.Error()))
		}
	}
	if want := "notifications.sinks[0].secret: too short (5 characters): an HMAC key needs at least 16 random ones"; len(got) != 1 || got[0] != want {
		t.Errorf("problems %q, want %q", got, want)
	}
}
