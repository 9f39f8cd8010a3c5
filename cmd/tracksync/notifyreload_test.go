package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/notify"
	"github.com/tracksync/tracksync/notify/notifytest"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/sqlite"
)

// TestServeReloadsNotifications: a reload (here a changed config file)
// applies the notifications section too. A Slack webhook URL rotated
// after the old one was revoked reaches the new channel without a
// restart; events are not sent to the revoked one and given up.
func TestServeReloadsNotifications(t *testing.T) {
	reloadPoll.Store(int64(20 * time.Millisecond))
	defer reloadPoll.Store(int64(2 * time.Second))
	slack := notifytest.NewSlack()
	defer slack.Close()
	dir, cfg := setup(t, "newest", 1)
	base, _ := os.ReadFile(cfg)
	withSink := func(channel string) []byte {
		return []byte(string(base) + "    schedule: '@every 1s'\nnotifications:\n  sinks:\n    - {name: pm, kind: slack, webhook_url: '" + slack.WebhookURL(channel) + "'}\n")
	}
	if err := os.WriteFile(cfg, withSink("#old"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errb, waitFor := serveInBackground(t, cfg)
	waitFor("the first sync", func() bool { return len(openMem(t, dir, "right").Items()) == 1 })
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "state.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(run int64) {
		t.Helper()
		err := st.Tx(context.Background(), func(tx store.Ops) error {
			_, err := tx.PutEvent(context.Background(), notify.RunFailed(notify.Payload{Flow: "pair", RunID: run, Error: "x"}))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	on := func(channel string) int {
		n := 0
		for _, m := range slack.Messages() {
			if m.Channel == channel {
				n++
			}
		}
		return n
	}
	put(1001)
	waitFor("the first event on #old", func() bool { return on("#old") == 1 })
	if err := os.WriteFile(cfg, withSink("#new"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor("the reload", func() bool { return strings.Contains(errb.String(), "config reloaded") })
	put(1002)
	waitFor("the second event on #new", func() bool { return on("#new") == 1 || on("#old") > 1 })
	if on("#old") != 1 || on("#new") != 1 {
		t.Errorf("after the reload: %d message(s) on #old, %d on #new; want 1 and 1", on("#old"), on("#new"))
	}
}

// TestValidateNoEnvExample: `validate --no-env` (a config repository's CI,
// without secrets) passes the shipped example, whose Slack and Teams
// webhook URLs come from variables: an unset one must not read as a
// malformed URL.
func TestValidateNoEnvExample(t *testing.T) {
	for _, v := range []string{"JIRA_API_TOKEN", "JIRA_WEBHOOK_SECRET", "GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET", "ASANA_TOKEN", "SLACK_WEBHOOK_URL", "TEAMS_WORKFLOW_URL", "AUDIT_HOOK_SECRET"} {
		if _, ok := os.LookupEnv(v); ok {
			t.Setenv(v, "")
			os.Unsetenv(v)
		}
	}
	code, out, errs := runCLI(t, "-c", "../../config.example.yaml", "validate", "--no-env")
	if code != exitOK || !strings.Contains(out, "note: environment variable SLACK_WEBHOOK_URL is not set") {
		t.Errorf("validate --no-env config.example.yaml: exit %d\n%s%s", code, out, errs)
	}
}
