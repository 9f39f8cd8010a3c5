package jira_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"

	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

// FuzzDecodeWebhook: a webhook body is untrusted input that reaches the
// parser once its signature holds. Whatever it holds, DecodeWebhook must
// not panic, and every event it returns names an issue of this tracker.
func FuzzDecodeWebhook(f *testing.F) {
	fake := jiratest.New(f, jiratest.Options{Flavor: jiratest.Cloud, WebhookSecret: "hook-secret"})
	tr, err := jira.New(f.Context(), "acme-jira", trackerOptions(fake, jiratest.Cloud))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`{"timestamp":1733300000000,"webhookEvent":"jira:issue_updated","issue":{"id":"10001","key":"PLAT-1","fields":{"project":{"key":"PLAT"}}}}`,
		`{"webhookEvent":"comment_created","issue":{"id":"10002","key":"PLAT-2"}}`,
		`{"webhookEvent":"jira:issue_deleted","issue":{}}`,
		`{"webhookEvent":"jira:issue_created"}`, `{"webhookEvent":"sprint_started"}`,
		`{"timestamp":"soon"}`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	n := 0
	f.Fuzz(func(t *testing.T, body []byte) {
		n++
		m := hmac.New(sha256.New, []byte("hook-secret"))
		m.Write(body)
		h := http.Header{}
		h.Set("X-Hub-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
		h.Set("X-Atlassian-Webhook-Identifier", "fuzz-"+strconv.Itoa(n))
		evs, err := tr.DecodeWebhook(h, body)
		if err != nil {
			return
		}
		adaptertest.CheckEvents(t, "acme-jira", evs)
	})
}
