package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/slack-go/slack"

	"github.com/tracksync/tracksync/adapters"
)

// SlackOptions configure a Slack sink: an app's incoming webhook
// (WebhookURL, one channel), or a bot token and a channel
// (chat.postMessage, so one app reaches several channels).
type SlackOptions struct {
	WebhookURL string
	Token      string
	Channel    string
	// APIURL is the Web API base (default https://slack.com/api/); the
	// tests and the sandbox point it at a fake.
	APIURL string
	Client *http.Client
}

// Slack sends Block Kit messages to Slack.
type Slack struct {
	httpBase
	o SlackOptions
}

// NewSlack returns a Slack sink named name.
func NewSlack(name string, o SlackOptions) (*Slack, error) {
	switch {
	case o.WebhookURL == "" && o.Token == "":
		return nil, fmt.Errorf("notify: slack sink %s: want webhook_url, or token and channel", name)
	case o.WebhookURL != "" && o.Token != "":
		return nil, fmt.Errorf("notify: slack sink %s: webhook_url and token are exclusive", name)
	case o.Token != "" && o.Channel == "":
		return nil, fmt.Errorf("notify: slack sink %s: token needs a channel", name)
	}
	return &Slack{httpBase: newBase(name, "slack", o.Client, o.WebhookURL, o.Token), o: o}, nil
}

// webhookOK reports whether body is an incoming webhook's success answer:
// "ok", or {"ok":true} from a workflow's webhook.
func webhookOK(body []byte) bool {
	b := bytes.TrimSpace(body)
	if string(b) == "ok" {
		return true
	}
	var r struct {
		OK bool `json:"ok"`
	}
	return json.Unmarshal(b, &r) == nil && r.OK
}

// slackEscape escapes what Slack's mrkdwn treats as markup.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Blocks is m as Block Kit: a header, a section per line, the facts as
// fields (ten at most per section, Slack's limit), and link buttons.
func (s *Slack) Blocks(m Message) []slack.Block {
	icon := ""
	switch m.Severity {
	case "warning":
		icon = "⚠️ "
	case "good":
		icon = "✅ "
	}
	blocks := []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, clip(icon+m.Title, 150), true, false))}
	// Slack takes 50 blocks a message: what the facts and links leave is
	// for the lines.
	room := slackMaxBlocks - 1 - min((len(m.Facts)+9)/10, 10)
	if len(m.Links) > 0 {
		room--
	}
	for _, text := range slackSections(m.Lines, room) {
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, true), nil, nil))
	}
	for i := 0; i < len(m.Facts) && i < 100; i += 10 {
		var fields []*slack.TextBlockObject
		for _, f := range m.Facts[i:min(i+10, len(m.Facts))] {
			fields = append(fields, slack.NewTextBlockObject(slack.MarkdownType, clip("*"+slackEscape.Replace(f.Label)+"*\n"+slackEscape.Replace(f.Value), 2000), false, true))
		}
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	if len(m.Links) > 0 {
		var els []slack.BlockElement
		for i, l := range m.Links[:min(len(m.Links), 25)] { // an actions block holds 25
			b := slack.NewButtonBlockElement(fmt.Sprintf("link-%d", i), "", slack.NewTextBlockObject(slack.PlainTextType, clip(l.Text, 75), false, false))
			b.URL = l.URL
			els = append(els, b)
		}
		blocks = append(blocks, slack.NewActionBlock("links", els...))
	}
	return blocks
}

// slackMaxBlocks and slackMaxSection are Slack's limits: blocks in a
// message, characters in a section's text.
const (
	slackMaxBlocks  = 50
	slackMaxSection = 3000
)

// slackSections are the texts of the sections lines take, at most room of
// them: a section per line when they fit, else lines packed into
// sections of up to slackMaxSection characters, and the last one saying
// how many lines did not fit.
func slackSections(lines []string, room int) []string {
	var texts []string
	for _, l := range lines {
		if l != "" {
			texts = append(texts, clip(slackEscape.Replace(l), slackMaxSection))
		}
	}
	if len(texts) <= room {
		return texts
	}
	var out []string
	cur := ""
	for i, t := range texts {
		switch {
		case cur == "":
			cur = t
		case len([]rune(cur))+1+len([]rune(t)) <= slackMaxSection:
			cur += "\n" + t
		default:
			out = append(out, cur)
			cur = t
		}
		if len(out) == room-1 {
			// The last section says what is left out.
			rest := len(texts) - i
			out = append(out, fmt.Sprintf("… and %d more line(s): see the dashboard or tracksync rollup.", rest))
			return out
		}
	}
	return append(out, cur)
}

// Send posts m.
func (s *Slack) Send(ctx context.Context, m Message) error {
	client, c := s.call()
	blocks := s.Blocks(m)
	var err error
	if s.o.WebhookURL != "" {
		c.keepHead = true
		err = slack.PostWebhookCustomHTTPContext(ctx, s.o.WebhookURL, client, &slack.WebhookMessage{Text: m.Text(), Blocks: &slack.Blocks{BlockSet: blocks}})
		if err == nil && c.status == http.StatusOK && !webhookOK(c.head) {
			// Not Slack's answer (a proxy's page, a cut-off reply):
			// nothing says the message was posted, so it is retried.
			return fmt.Errorf("notify: sink %s: slack answered 200 with %q, not ok", s.name, clip(s.secrets.String(string(c.head)), 80))
		}
	} else {
		opts := []slack.Option{slack.OptionHTTPClient(client)}
		if s.o.APIURL != "" {
			opts = append(opts, slack.OptionAPIURL(s.o.APIURL))
		}
		_, _, err = slack.New(s.o.Token, opts...).PostMessageContext(ctx, s.o.Channel, slack.MsgOptionText(m.Text(), false), slack.MsgOptionBlocks(blocks...))
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return fmt.Errorf("notify: sink %s: %w", s.name, &adapters.RateLimitError{RetryAfter: rl.RetryAfter, Message: "slack rate limit"})
	}
	if err != nil && c.status == http.StatusOK {
		// chat.postMessage answers 200 with ok:false and an error code.
		msg := s.secrets.String(err.Error())
		switch msg {
		case "channel_not_found", "not_in_channel", "invalid_auth", "account_inactive", "token_revoked", "no_permission", "is_archived",
			"not_authed", "missing_scope", "restricted_action", "ekm_access_denied":
			return fmt.Errorf("notify: sink %s: slack said %s: %w", s.name, msg, adapters.Permanent(adapters.ErrForbidden))
		case "invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text", "too_many_attachments", "invalid_arguments":
			// The same message is refused however often it is sent.
			return fmt.Errorf("notify: sink %s: slack said %s: %w", s.name, msg, adapters.Permanent(adapters.ErrInvalid))
		}
		return fmt.Errorf("notify: sink %s: slack said %s", s.name, msg)
	}
	return s.classify(err, c)
}
