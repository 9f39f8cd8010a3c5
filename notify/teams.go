package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	goteamsnotify "github.com/atc0005/go-teams-notify/v2"
	"github.com/atc0005/go-teams-notify/v2/adaptivecard"
)

// TeamsOptions configure a Microsoft Teams sink: a Workflows webhook
// ("Post to a channel when a webhook request is received"), which takes an
// Adaptive Card. Office 365 connectors were retired in 2026.
type TeamsOptions struct {
	WebhookURL string
	Client     *http.Client
}

// Teams sends Adaptive Cards to a Teams Workflows webhook.
type Teams struct {
	httpBase
	o TeamsOptions
}

// errNotWorkflow is a Teams webhook URL the library will not send to.
var errNotWorkflow = errors.New("not a Teams Workflows webhook URL (https://….logic.azure.com/workflows/… or https://….api.powerplatform.com/…)")

// NewTeams returns a Teams sink named name.
func NewTeams(name string, o TeamsOptions) (*Teams, error) {
	if o.WebhookURL == "" {
		return nil, fmt.Errorf("notify: teams sink %s: want webhook_url", name)
	}
	// The library refuses, at every send, a URL outside the Workflows
	// patterns (the fakes' loopback ones aside): better said once, now.
	if !loopback(o.WebhookURL) && goteamsnotify.NewTeamsClient().ValidateWebhook(o.WebhookURL) != nil {
		return nil, fmt.Errorf("notify: teams sink %s: webhook_url: %w", name, errNotWorkflow)
	}
	return &Teams{httpBase: newBase(name, "teams", o.Client, o.WebhookURL), o: o}, nil
}

// Card is m as an Adaptive Card: a title, a text block per line, the
// facts as a fact set, and an "open URL" action per link.
func (t *Teams) Card(m Message) (*adaptivecard.Message, error) {
	card := adaptivecard.NewCard()
	title := adaptivecard.NewTitleTextBlock(m.Title, true)
	if m.Severity == "warning" {
		title.Color = adaptivecard.ColorAttention
	} else if m.Severity == "good" {
		title.Color = adaptivecard.ColorGood
	}
	if err := card.AddElement(false, title); err != nil {
		return nil, err
	}
	for _, l := range m.Lines {
		if l == "" {
			continue
		}
		if err := card.AddElement(false, adaptivecard.NewTextBlock(l, true)); err != nil {
			return nil, err
		}
	}
	if len(m.Facts) > 0 {
		fs := adaptivecard.NewFactSet()
		for _, f := range m.Facts {
			if err := fs.AddFact(adaptivecard.Fact{Title: f.Label, Value: f.Value}); err != nil {
				return nil, err
			}
		}
		if err := card.AddFactSet(false, fs); err != nil {
			return nil, err
		}
	}
	for _, l := range m.Links {
		a, err := adaptivecard.NewActionOpenURL(l.URL, l.Text)
		if err != nil {
			return nil, err
		}
		if err := card.AddAction(false, a); err != nil {
			return nil, err
		}
	}
	return adaptivecard.NewMessageFromCard(card)
}

// Send posts m.
func (t *Teams) Send(ctx context.Context, m Message) error {
	msg, err := t.Card(m)
	if err != nil {
		return fmt.Errorf("notify: sink %s: building the adaptive card for %q: %s", t.name, m.Title, t.secrets.String(err.Error()))
	}
	client, c := t.call()
	tc := goteamsnotify.NewTeamsClient().SetHTTPClient(client).SetUserAgent("tracksync")
	// The fakes listen on loopback; real Workflows URLs are checked by
	// the library's patterns.
	tc.SkipWebhookURLValidationOnSend(loopback(t.o.WebhookURL))
	return t.classify(tc.SendWithContext(ctx, t.o.WebhookURL, msg), c)
}
