package notify

import (
	"slices"
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
