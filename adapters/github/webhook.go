package github

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// DecodeWebhook implements adapters.WebhookDecoder for the issues,
// issue_comment, sub_issues, label and ping events. X-Hub-Signature-256 is checked,
// in constant time, before a byte of the body is parsed; a delivery whose
// X-GitHub-Delivery was seen before yields no events. A ping, and a label
// event (which names no issue), yield none either; the caller answers
// them 200.
func (t *Tracker) DecodeWebhook(h http.Header, body []byte) ([]adapters.Event, error) {
	if err := adapters.VerifySHA256(t.opts.WebhookSecret, "X-Hub-Signature-256", h.Get("X-Hub-Signature-256"), body); err != nil {
		return nil, fmt.Errorf("github %s webhook: %w", t.name, err)
	}
	id := h.Get("X-GitHub-Delivery")
	if id != "" && !t.deliveries.Add(id) {
		return nil, nil
	}
	var p struct {
		Action string `json:"action"`
		Issue  *struct {
			Number      int              `json:"number"`
			HTMLURL     string           `json:"html_url"`
			UpdatedAt   time.Time        `json:"updated_at"`
			PullRequest *json.RawMessage `json:"pull_request"`
		} `json:"issue"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	event := h.Get("X-GitHub-Event")
	switch event {
	case "ping", "label":
		return nil, nil
	case "sub_issues":
		return t.subIssuesEvents(id, body)
	case "issues", "issue_comment":
	default:
		return nil, nil
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("github %s webhook %s: decoding %s payload: %w", t.name, id, event, adapters.Permanent(adapters.ErrInvalid))
	}
	if p.Issue == nil || p.Issue.PullRequest != nil || p.Repository.FullName == "" {
		return nil, nil
	}
	ev := adapters.Event{Type: adapters.EventUpserted, DeliveryID: id, At: p.Issue.UpdatedAt}
	iid := issueID(p.Repository.FullName, p.Issue.Number)
	ev.Ref = adapters.Ref{Tracker: t.name, Project: p.Repository.FullName, ID: iid, Key: iid, URL: p.Issue.HTMLURL}
	switch {
	case event == "issue_comment":
		ev.Type = adapters.EventComment
	case p.Action == "deleted" || p.Action == "transferred":
		ev.Type = adapters.EventDeleted
	}
	return []adapters.Event{ev}, nil
}

// ReleaseDelivery implements adapters.DeliveryReleaser: the delivery's
// next sighting decodes to its events again.
func (t *Tracker) ReleaseDelivery(id string) {
	if id != "" {
		t.deliveries.Remove(id)
	}
}
