package daemon

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
	"github.com/tracksync/tracksync/store"
)

// TestAsanaHandshakeKeptInStore: the daemon answers an Asana handshake
// through the tracker (HandshakeResponder), which keeps the secret in its
// key-value space in the state store; a new tracker instance (a restart,
// another replica) verifies deliveries signed with it.
func TestAsanaHandshakeKeptInStore(t *testing.T) {
	fake := asanatest.New(t, asanatest.Options{})
	newTracker := func() *asana.Tracker {
		tr, err := asana.New("pm", asana.Options{URL: fake.URL, Token: asanatest.DefaultToken, Workspace: fake.Workspace(),
			Transport: fake.Client().Transport, AnyHandshake: true, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	tr := newTracker()
	h := startWith(t, "@every 1h", 20*time.Millisecond, func(o *harnessOpts) {
		o.cfg = func(c *Config) {
			c.Flows.Trackers["pm"], c.Flows.Kinds["pm"] = tr, "asana"
		}
	})
	const secret = "hook-secret-4711"
	req, _ := http.NewRequest(http.MethodPost, h.url+"/webhooks/pm", nil)
	req.Header.Set("X-Hook-Secret", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Hook-Secret") != secret {
		t.Fatalf("handshake: %d %q", resp.StatusCode, resp.Header.Get("X-Hook-Secret"))
	}
	v, ok, err := h.st.GetKV(h.ctx, "pm", "webhook_secrets")
	if err != nil || !ok || !strings.Contains(v, secret) {
		t.Fatalf("secret not kept in the store: %q %v %v", v, ok, err)
	}

	restarted := newTracker()
	store.GiveKV(h.st, map[string]adapters.Tracker{"pm": restarted})
	body := []byte(`{"events":[]}`)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if _, err := restarted.DecodeWebhook(http.Header{"X-Hook-Signature": {hex.EncodeToString(mac.Sum(nil))}}, body); err != nil {
		t.Fatalf("a delivery signed with the kept secret was refused after a restart: %v", err)
	}
	if _, err := restarted.DecodeWebhook(http.Header{"X-Hook-Signature": {strings.Repeat("0", 64)}}, body); !errors.Is(err, adapters.ErrUnauthorized) {
		t.Fatalf("a wrongly signed delivery: %v, want ErrUnauthorized", err)
	}
}
