package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Webhook headers. The signature is "sha256=" and the hex HMAC-SHA256,
// keyed with the sink's secret, of the timestamp, a '.', and the body, so
// a receiver can reject both forged and replayed deliveries.
const (
	HeaderSignature = "X-Tracksync-Signature"
	HeaderTimestamp = "X-Tracksync-Timestamp"
	// HeaderIdempotency carries the delivery's key (the events' dedup
	// keys, joined): a receiver that saw it can drop a redelivery.
	HeaderIdempotency = "Idempotency-Key"
)

// WebhookOptions configure a generic JSON webhook sink.
type WebhookOptions struct {
	URL    string
	Secret string // HMAC key; empty sends unsigned
	Client *http.Client
}

// Webhook posts messages as JSON (WebhookBody).
type Webhook struct {
	httpBase
	o WebhookOptions
}

// WebhookBody is what a webhook receives.
type WebhookBody struct {
	Kind   string         `json:"kind"`
	Title  string         `json:"title"`
	Text   string         `json:"text"`
	Lines  []string       `json:"lines,omitempty"`
	Facts  []WebhookFact  `json:"facts,omitempty"`
	Links  []WebhookLink  `json:"links,omitempty"`
	Events []WebhookEvent `json:"events"`
}

// WebhookFact is a label/value pair.
type WebhookFact struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// WebhookLink is a link.
type WebhookLink struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// WebhookEvent is one outbox event the message carries, with its payload.
type WebhookEvent struct {
	ID       int64           `json:"id"`
	Kind     string          `json:"kind"`
	DedupKey string          `json:"dedup_key,omitempty"`
	Created  time.Time       `json:"created_at"`
	Payload  json.RawMessage `json:"payload,omitempty"`
}

// NewWebhook returns a webhook sink named name.
func NewWebhook(name string, o WebhookOptions) (*Webhook, error) {
	if o.URL == "" {
		return nil, fmt.Errorf("notify: webhook sink %s: want url", name)
	}
	return &Webhook{httpBase: newBase(name, "webhook", o.Client, o.URL, o.Secret), o: o}, nil
}

// Sign is the signature header value for body sent at ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a delivery's signature (for receivers written in Go).
func Verify(secret, signature, timestamp string, body []byte) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	return hmac.Equal([]byte(signature), []byte(Sign(secret, ts, body)))
}

// Send posts m.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body := WebhookBody{Kind: m.Kind, Title: m.Title, Text: m.Text(), Lines: m.Lines, Events: []WebhookEvent{}}
	for _, f := range m.Facts {
		body.Facts = append(body.Facts, WebhookFact(f))
	}
	for _, l := range m.Links {
		body.Links = append(body.Links, WebhookLink(l))
	}
	idem := ""
	for _, e := range m.Events {
		body.Events = append(body.Events, WebhookEvent{ID: e.ID, Kind: e.Kind, DedupKey: e.DedupKey, Created: e.CreatedAt, Payload: json.RawMessage(e.Payload)})
		k := e.DedupKey
		if k == "" {
			k = strconv.FormatInt(e.ID, 10)
		}
		if idem != "" {
			idem += ","
		}
		idem += k
	}
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("notify: sink %s: encoding the body: %w", w.name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.o.URL, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("notify: sink %s: %s", w.name, w.secrets.String(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tracksync")
	if idem != "" {
		req.Header.Set(HeaderIdempotency, idem)
	}
	if w.o.Secret != "" {
		ts := w.now().Unix()
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(HeaderSignature, Sign(w.o.Secret, ts, b))
	}
	client, c := w.call()
	c.keepHead = true
	resp, err := client.Do(req)
	if err == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	return w.classify(err, c)
}
