package notify

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/tracksync/tracksync/config"
)

// FromConfig builds the targets and the renderer a notifications section
// describes. client, when set, is the HTTP client of every sink.
func FromConfig(nc *config.Notifications, client *http.Client) ([]Target, Renderer, error) {
	if nc == nil {
		return nil, Renderer{}, nil
	}
	var out []Target
	for i, s := range nc.Sinks {
		var sink Sink
		var err error
		rate := s.Rate
		switch s.Kind {
		case "slack":
			sink, err = NewSlack(s.Name, SlackOptions{WebhookURL: s.WebhookURL, Token: s.Token, Channel: s.Channel, APIURL: s.APIURL, Client: client})
			rate = defaultRate(rate, 1)
		case "teams":
			sink, err = NewTeams(s.Name, TeamsOptions{WebhookURL: s.WebhookURL, Client: client})
			rate = defaultRate(rate, 1)
		case "webhook":
			sink, err = NewWebhook(s.Name, WebhookOptions{URL: s.URL, Secret: s.Secret, Client: client})
			rate = defaultRate(rate, 10)
		default:
			err = fmt.Errorf("unknown sink kind %q", s.Kind)
		}
		if errors.Is(err, errNotWorkflow) {
			return nil, Renderer{}, fmt.Errorf("notifications.sinks[%d].webhook_url (%s): %w", i, s.Name, errNotWorkflow)
		}
		if err != nil {
			return nil, Renderer{}, fmt.Errorf("notifications.sinks[%d] (%s): %w", i, s.Name, err)
		}
		t := Target{Sink: sink, Rate: rate, Burst: 1}
		for _, r := range s.Rules {
			t.Rules = append(t.Rules, Rule{Events: r.Events, Initiatives: r.Initiatives, Flows: r.Flows})
		}
		out = append(out, t)
	}
	return out, Renderer{Dashboard: nc.DashboardURL}, nil
}

func defaultRate(r, def float64) float64 {
	if r > 0 {
		return r
	}
	return def
}
