package daemon

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
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

// TestPublicURLRegistersWebhooks: with Config.PublicURL (server.public_url)
// the daemon registers the webhooks of trackers that register their own
// (Asana), through a reverse proxy with a path prefix as a deployment
// has; the handshake comes back through it, and the deliveries that
// follow are verified and accepted. A URL that is not http(s) is refused
// with an error naming it.
func TestPublicURLRegistersWebhooks(t *testing.T) {
	fake := asanatest.New(t, asanatest.Options{})
	project := fake.AddProject("Board", "To do", "Done")
	tr, err := asana.New("pm", asana.Options{URL: fake.URL, Token: asanatest.DefaultToken, Workspace: fake.Workspace(), Projects: []string{project},
		Transport: fake.Client().Transport, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// The proxy forwards /ts/... to the daemon, whose address is known
	// only once it listens.
	var daemonURL atomic.Pointer[url.URL]
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(daemonURL.Load())
		r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, "/ts")
	}})
	defer proxy.Close()
	h := startWith(t, "@every 1h", 20*time.Millisecond, func(o *harnessOpts) {
		o.cfg = func(c *Config) {
			c.Flows.Trackers["pm"], c.Flows.Kinds["pm"] = tr, "asana"
			c.PublicURL = proxy.URL + "/ts/"
		}
	})
	u, _ := url.Parse(h.url)
	daemonURL.Store(u)

	n := 0
	h.until("a delivery accepted by the daemon through the registered webhook", func() bool {
		n++
		fake.CreateTask(asanatest.Task{Name: fmt.Sprintf("task %d", n), Memberships: []asanatest.Membership{{Project: project}}})
		for _, d := range fake.Deliver(h.ctx) {
			if d.Status != http.StatusOK && d.Status != http.StatusNoContent && d.Status != http.StatusAccepted {
				t.Fatalf("delivery to the registered webhook answered %d", d.Status)
			}
			if d.Events > 0 {
				return true
			}
		}
		return false
	})
	// Registering again (a restart) creates nothing new.
	if err := h.d.RegisterWebhooks(h.ctx, proxy.URL+"/ts"); err != nil {
		t.Fatal(err)
	}
	creates := 0
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/webhooks") {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("%d webhook creates, want 1 (registration is idempotent)", creates)
	}
	if err := h.d.RegisterWebhooks(h.ctx, "ftp://tracksync.acme.com"); err == nil || !strings.Contains(err.Error(), "ftp://tracksync.acme.com") {
		t.Errorf("a non-http public URL: %v, want an error naming it", err)
	}
}
