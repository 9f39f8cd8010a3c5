package asana_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/asana"
)

// FuzzDecodeWebhook: a webhook body is untrusted input that reaches the
// parser once its signature holds. Whatever it holds, DecodeWebhook must
// not panic, and every event it returns names a task of this tracker.
func FuzzDecodeWebhook(f *testing.F) {
	const secret = "fuzz-secret"
	tr, err := asana.New("as", asana.Options{Token: "tok", Workspace: "1", WebhookSecret: secret, URL: "http://127.0.0.1:1"})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"events":[{"action":"changed","resource":{"gid":"11","resource_type":"task"},"created_at":"2026-12-04T10:00:00.000Z"}]}`,
		`{"events":[{"action":"added","resource":{"gid":"12","resource_type":"story"},"parent":{"gid":"11","resource_type":"task"}}]}`,
		`{"events":[{"action":"deleted","resource":{"gid":"","resource_type":"task"}}]}`,
		`{"events":[{"resource":null,"parent":null}]}`, `{"events":null}`, `{"events":[1]}`, `[]`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		h := http.Header{}
		h.Set("X-Hook-Signature", hex.EncodeToString(m.Sum(nil)))
		evs, err := tr.DecodeWebhook(h, body)
		if err != nil {
			return
		}
		adaptertest.CheckEvents(t, "as", evs)
	})
}
