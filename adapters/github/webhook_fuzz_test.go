package github_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"

	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/github"
)

// FuzzDecodeWebhook: a webhook body is untrusted input that reaches the
// parser once its signature holds (a sender with the secret, or a bug on
// GitHub's side). Whatever it holds, DecodeWebhook must not panic, and
// every event it returns names an issue of this tracker.
func FuzzDecodeWebhook(f *testing.F) {
	const secret = "fuzz-secret"
	tr, err := github.New("gh", github.Options{Repo: "acme/app", Token: "tok", WebhookSecret: secret, URL: "http://127.0.0.1:1"})
	if err != nil {
		f.Fatal(err)
	}
	events := []string{"issues", "issue_comment", "sub_issues", "ping", "label", "push"}
	for i, seed := range []string{
		`{"action":"edited","issue":{"number":1,"html_url":"https://github.com/acme/app/issues/1","updated_at":"2026-12-04T10:00:00Z"},"repository":{"full_name":"acme/app"}}`,
		`{"action":"created","issue":{"number":2,"pull_request":{}},"repository":{"full_name":"acme/app"}}`,
		`{"action":"sub_issue_added","sub_issue":{"number":3,"repository_url":"https://api.github.com/repos/acme/lib"},"repository":{"full_name":"acme/app"}}`,
		`{"action":"parent_issue_added","sub_issue":{"number":4},"repository":{"full_name":"acme/app"}}`,
		`{"issue":null}`, `[]`, `{"issue":{"number":-1,"updated_at":"not a time"}}`, ``,
	} {
		f.Add(uint8(i), []byte(seed))
	}
	n := 0
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		n++
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		h := http.Header{}
		h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
		h.Set("X-GitHub-Event", events[int(kind)%len(events)])
		h.Set("X-GitHub-Delivery", "fuzz-"+strconv.Itoa(n))
		evs, err := tr.DecodeWebhook(h, body)
		if err != nil {
			return
		}
		adaptertest.CheckEvents(t, "gh", evs)
	})
}
