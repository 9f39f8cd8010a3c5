package asana

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/tracksync/tracksync/adapters"
)

// Webhooks.
//
// Asana opens each webhook with a handshake: a POST carrying X-Hook-Secret
// that the receiver must echo. That secret then signs every delivery:
// X-Hook-Signature is the HMAC-SHA256 of the body under it, as bare hex.
// Each webhook (one per project) has its own secret, so the tracker keeps
// them all, in its KV when it has one (a restart must not lose them), and
// accepts a delivery signed by any. Heartbeats are deliveries with no
// events.

// Handshakes are accepted only while EnsureWebhooks is creating a webhook
// (Asana sends the handshake before it answers the create), unless the
// tracker was told to accept any (AnyHandshake: webhooks created by hand).
// Otherwise anyone who can reach the receiver could plant a secret of
// their own and sign deliveries with it.

// kvSecrets is the KV key holding the handshake secrets (a JSON list).
const kvSecrets = "webhook_secrets"

// SetKV implements adapters.KVUser.
func (t *Tracker) SetKV(kv adapters.KV) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.kv = kv
}

// Handshake implements adapters.HandshakeResponder.
func (t *Tracker) Handshake(ctx context.Context, h http.Header) (http.Header, bool, error) {
	secret := h.Get("X-Hook-Secret")
	if secret == "" {
		return nil, false, nil
	}
	t.mu.Lock()
	if t.registering == 0 && !t.opts.AnyHandshake {
		t.mu.Unlock()
		return nil, true, fmt.Errorf("asana tracker %s: a webhook handshake arrived while tracksync was not creating a webhook (create webhooks with tracksync, or set handshakes: any): %w", t.name, adapters.ErrUnauthorized)
	}
	kv := t.kv
	known := slices.Contains(t.secrets, secret)
	if !known {
		t.secrets = append(t.secrets, secret)
	}
	all := slices.Clone(t.secrets)
	t.mu.Unlock()
	if kv != nil && !known {
		b, _ := json.Marshal(all)
		if err := kv.Put(ctx, kvSecrets, string(b)); err != nil {
			return nil, true, fmt.Errorf("asana tracker %s: keeping the webhook secret: %w", t.name, err)
		}
	}
	t.log.Info("asana webhook handshake answered")
	return http.Header{"X-Hook-Secret": {secret}}, true, nil
}

// webhookSecrets are the secrets deliveries may be signed with.
func (t *Tracker) webhookSecrets(ctx context.Context) ([]string, error) {
	t.mu.Lock()
	kv := t.kv
	out := slices.Clone(t.secrets)
	t.mu.Unlock()
	if kv != nil {
		v, ok, err := kv.Get(ctx, kvSecrets)
		if err != nil {
			return nil, fmt.Errorf("asana tracker %s: reading webhook secrets: %w", t.name, err)
		}
		if ok {
			var l []string
			if err := json.Unmarshal([]byte(v), &l); err != nil {
				return nil, fmt.Errorf("asana tracker %s: webhook secrets in the store are unreadable: %w", t.name, err)
			}
			for _, s := range l {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out, nil
}

// DecodeWebhook implements adapters.WebhookDecoder: the signature is
// checked, in constant time, before the body is parsed.
func (t *Tracker) DecodeWebhook(h http.Header, body []byte) ([]adapters.Event, error) {
	secrets, err := t.webhookSecrets(context.Background())
	if err != nil {
		return nil, err
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("asana tracker %s: no webhook secret yet (no handshake was answered, no webhook_secret configured): %w", t.name, adapters.ErrUnauthorized)
	}
	sig := h.Get("X-Hook-Signature")
	if sig == "" {
		return nil, fmt.Errorf("asana tracker %s: no X-Hook-Signature: %w", t.name, adapters.ErrUnauthorized)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return nil, fmt.Errorf("asana tracker %s: malformed X-Hook-Signature (want hex): %w", t.name, adapters.ErrUnauthorized)
	}
	ok := false
	for _, s := range secrets {
		m := hmac.New(sha256.New, []byte(s))
		m.Write(body)
		if hmac.Equal(got, m.Sum(nil)) {
			ok = true
		}
	}
	if !ok {
		return nil, fmt.Errorf("asana tracker %s: X-Hook-Signature does not match: %w", t.name, adapters.ErrUnauthorized)
	}
	var d struct {
		Events []event `json:"events"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, adapters.Permanent(fmt.Errorf("asana tracker %s: webhook body: %v: %w", t.name, err, adapters.ErrInvalid))
	}
	if !t.seenHook.Add(sig) {
		return nil, nil // a redelivery
	}
	var out []adapters.Event
	seen := map[string]bool{}
	for _, e := range d.Events {
		var ev adapters.Event
		switch {
		case e.Resource.ResourceType == "task" && e.Action == "deleted":
			ev = adapters.Event{Type: adapters.EventDeleted, Ref: adapters.Ref{Tracker: t.name, ID: e.Resource.GID, Key: e.Resource.GID}}
		case e.Resource.ResourceType == "task":
			ev = adapters.Event{Type: adapters.EventUpserted, Ref: adapters.Ref{Tracker: t.name, ID: e.Resource.GID, Key: e.Resource.GID}}
		case e.Resource.ResourceType == "story" && e.Parent != nil && e.Parent.ResourceType == "task":
			ev = adapters.Event{Type: adapters.EventComment, Ref: adapters.Ref{Tracker: t.name, ID: e.Parent.GID, Key: e.Parent.GID}}
		default:
			continue
		}
		if ev.Ref.ID == "" {
			continue // names no task
		}
		ev.DeliveryID, ev.At = sig, e.CreatedAt
		if k := string(ev.Type) + ev.Ref.ID; !seen[k] {
			seen[k] = true
			out = append(out, ev)
		}
	}
	return out, nil
}

type webhookRec struct {
	GID      string   `json:"gid"`
	Active   bool     `json:"active"`
	Target   string   `json:"target"`
	Resource *compact `json:"resource"`
}

// EnsureWebhooks implements adapters.WebhookRegistrar: every project the
// tracker knows gets a webhook delivering to target unless it has one.
func (t *Tracker) EnsureWebhooks(ctx context.Context, target string) error {
	hooks, err := listAll[webhookRec](ctx, t, "/webhooks", url.Values{"workspace": {t.workspace}, "opt_fields": {"active,target,resource"}}, "webhooks")
	if err != nil {
		return fmt.Errorf("asana tracker %s: listing webhooks: %w", t.name, err)
	}
	t.mu.Lock()
	projects := slices.Clone(t.projects)
	t.mu.Unlock()
	for _, p := range projects {
		if slices.ContainsFunc(hooks, func(h webhookRec) bool {
			return h.Active && h.Target == target && h.Resource != nil && h.Resource.GID == p
		}) {
			continue
		}
		t.mu.Lock()
		t.registering++
		t.mu.Unlock()
		var out one[webhookRec]
		err := t.call(ctx, request{method: http.MethodPost, path: "/webhooks", body: map[string]any{"resource": p, "target": target}}, recordShape("a webhook"), &out)
		t.mu.Lock()
		t.registering--
		t.mu.Unlock()
		if err != nil {
			return fmt.Errorf("asana tracker %s: creating the webhook of project %s to %s: %w", t.name, p, target, err)
		}
		t.log.Info("asana webhook created", "project", p, "webhook", out.Data.GID)
	}
	return nil
}

// ReleaseDelivery implements adapters.DeliveryReleaser: the delivery's
// next sighting decodes to its events again.
func (t *Tracker) ReleaseDelivery(id string) {
	if id != "" {
		t.seenHook.Remove(id)
	}
}
