package jira

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// DecodeWebhook verifies a delivery's X-Hub-Signature (HMAC-SHA256 of the
// body under the webhook secret) before reading anything, then turns
// jira:issue_* and comment_* events into change events. A redelivery (same
// X-Atlassian-Webhook-Identifier) decodes to nothing.
func (t *Tracker) DecodeWebhook(h http.Header, body []byte) ([]adapters.Event, error) {
	if t.o.WebhookSecret != "" {
		if err := adapters.VerifySHA256(t.o.WebhookSecret, "X-Hub-Signature", h.Get("X-Hub-Signature"), body); err != nil {
			return nil, fmt.Errorf("jira webhook for %s: %w", t.name, err)
		}
	}
	delivery := h.Get("X-Atlassian-Webhook-Identifier")
	if delivery != "" && t.hooks.Has(delivery) {
		return nil, nil
	}
	var p struct {
		Timestamp    int64  `json:"timestamp"`
		WebhookEvent string `json:"webhookEvent"`
		Issue        *struct {
			ID     string `json:"id"`
			Key    string `json:"key"`
			Fields struct {
				Project struct {
					Key string `json:"key"`
				} `json:"project"`
			} `json:"fields"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, adapters.Permanent(fmt.Errorf("jira webhook for %s: %w: %w", t.name, adapters.ErrInvalid, err))
	}
	var typ adapters.EventType
	switch {
	case p.WebhookEvent == "jira:issue_created" || p.WebhookEvent == "jira:issue_updated":
		typ = adapters.EventUpserted
	case p.WebhookEvent == "jira:issue_deleted":
		typ = adapters.EventDeleted
	case strings.HasPrefix(p.WebhookEvent, "comment_"):
		typ = adapters.EventComment
	default:
		return nil, nil
	}
	if p.Issue == nil || p.Issue.ID == "" {
		return nil, adapters.Permanent(fmt.Errorf("jira webhook for %s: %s names no issue: %w", t.name, p.WebhookEvent, adapters.ErrInvalid))
	}
	// Claimed only now, after the delivery proved good, and atomically, so
	// two concurrent redeliveries yield one event.
	if delivery != "" && !t.hooks.Add(delivery) {
		return nil, nil
	}
	ev := adapters.Event{
		Type:       typ,
		Ref:        adapters.Ref{Tracker: t.name, Project: p.Issue.Fields.Project.Key, ID: p.Issue.ID, Key: p.Issue.Key},
		DeliveryID: delivery,
		At:         time.UnixMilli(p.Timestamp),
	}
	return []adapters.Event{ev}, nil
}

// ReleaseDelivery implements adapters.DeliveryReleaser: the delivery's
// next sighting decodes to its events again.
func (t *Tracker) ReleaseDelivery(id string) {
	if id != "" {
		t.hooks.Remove(id)
	}
}
