package notify

import (
	"slices"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/config"
)

// The config's list of event names is this package's.
func TestConfigKnowsEveryKind(t *testing.T) {
	if !slices.Equal(config.NotificationEvents, Kinds) {
		t.Errorf("config.NotificationEvents %v, notify.Kinds %v", config.NotificationEvents, Kinds)
	}
}

func TestFromConfig(t *testing.T) {
	nc := &config.Notifications{DashboardURL: dash, Sinks: []config.NotifySink{
		{Name: "s", Kind: "slack", Token: "xoxb-1", Channel: "#c"},
		{Name: "t", Kind: "teams", WebhookURL: "https://x.logic.azure.com/workflows/1", Rate: 0.5},
		{Name: "w", Kind: "webhook", URL: "https://x/hook", Secret: "k12345678", Rules: []config.NotifyRule{{Events: []string{KindRunFailed}}}},
	}}
	ts, r, err := FromConfig(nc, nil)
	if err != nil || len(ts) != 3 || r.Dashboard != dash {
		t.Fatalf("%v %v %v", ts, r, err)
	}
	if ts[0].Rate != 1 || ts[1].Rate != 0.5 || ts[2].Rate != 10 || len(ts[2].Rules) != 1 || ts[1].Sink.Name() != "t" {
		t.Errorf("targets %+v", ts)
	}
	if _, _, err := FromConfig(&config.Notifications{Sinks: []config.NotifySink{{Name: "s", Kind: "slack"}}}, nil); err == nil {
		t.Error("a slack sink without webhook_url or token built")
	}
}

// A Teams webhook_url that is no Workflows webhook (a mistyped host, an
// old connector's address) can never be sent to: the library refuses it
// before any request. It is a config error naming the key, not an event
// retried twenty times over days and then given up.
func TestTeamsURLNotAWorkflow(t *testing.T) {
	nc := &config.Notifications{Sinks: []config.NotifySink{
		{Name: "ok", Kind: "teams", WebhookURL: "https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=s"},
		{Name: "eng", Kind: "teams", WebhookURL: "https://teams-relay.example.com/workflows/abc/triggers/manual/paths/invoke?sig=SecretSig123"},
	}}
	_, _, err := FromConfig(nc, nil)
	if err == nil || !strings.Contains(err.Error(), "notifications.sinks[1].webhook_url") || strings.Contains(err.Error(), "SecretSig123") {
		t.Errorf("err = %v, want one naming notifications.sinks[1].webhook_url, without the URL", err)
	}
}
