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
	// Teams takes messages of about 28 KB: the lines and facts share a
	// budget, and what does not fit is counted in a last line.
	budget, left := teamsTextBudget, 0
	fits := func(texts ...string) bool {
		n := teamsElementCost
		for _, x := range texts {
			n += len(x)
		}
		if left > 0 || n > budget {
			left++
			return false
		}
		budget -= n
		return true
	}
	for _, l := range m.Lines {
		if l == "" || !fits(l) {
			continue
		}
		if err := card.AddElement(false, adaptivecard.NewTextBlock(l, true)); err != nil {
			return nil, err
		}
	}
	if len(m.Facts) > 0 {
		fs := adaptivecard.NewFactSet()
		for _, f := range m.Facts {
			if !fits(f.Label, f.Value) {
				continue
			}
			if err := fs.AddFact(adaptivecard.Fact{Title: f.Label, Value: f.Value}); err != nil {
				return nil, err
			}
		}
		if len(fs.Facts) > 0 {
			if err := card.AddFactSet(false, fs); err != nil {
				return nil, err
			}
		}
	}
	if left > 0 {
		more := fmt.Sprintf("… and %d more line(s) or fact(s): see the dashboard or tracksync rollup.", left)
		if err := card.AddElement(false, adaptivecard.NewTextBlock(more, true)); err != nil {
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

// teamsTextBudget is how many bytes of text a card's lines and facts may
// hold (Teams takes about 28 KB a message, JSON and the rest included),
// and teamsElementCost what each element adds around its text.
const (
	teamsTextBudget  = 18 << 10
	teamsElementCost = 64
)

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
