package jira_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

// TestUpdateAnsweredWithTheIssue: an edit of plain fields asks Jira Cloud
// for the issue in the answer (returnIssue), so the update is one request,
// not an edit and a read-back, and the item it returns is the one a read
// gives. Where the answer is not the whole issue (empty, as a Jira that
// ignores the parameter answers, or only the edited fields) the issue is
// read back as before.
func TestUpdateAnsweredWithTheIssue(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		rewrite func(body []byte) []byte // the PUT's answer as the client sees it
		want    int                      // requests of the update
	}{
		{"whole issue", nil, 1},
		{"empty answer", func([]byte) []byte { return nil }, 2},
		{"edited fields only", func(b []byte) []byte {
			var w struct {
				ID     string                     `json:"id"`
				Key    string                     `json:"key"`
				Fields map[string]json.RawMessage `json:"fields"`
			}
			if json.Unmarshal(b, &w) != nil {
				return b
			}
			w.Fields = map[string]json.RawMessage{"summary": w.Fields["summary"], "updated": w.Fields["updated"]}
			out, _ := json.Marshal(w)
			return out
		}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := jiratest.New(t, jiratest.Options{})
			target, _ := url.Parse(fake.URL)
			proxy := httptest.NewServer(&httputil.ReverseProxy{
				Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
				ModifyResponse: func(resp *http.Response) error {
					if c.rewrite == nil || resp.Request.Method != http.MethodPut {
						return nil
					}
					b, err := io.ReadAll(resp.Body)
					if err != nil {
						return err
					}
					resp.Body.Close()
					b = c.rewrite(b)
					if len(b) == 0 {
						resp.StatusCode = http.StatusNoContent
					}
					resp.Body = io.NopCloser(bytes.NewReader(b))
					resp.ContentLength = int64(len(b))
					resp.Header.Del("Content-Length")
					return nil
				},
			})
			defer proxy.Close()
			tr, err := jira.New(ctx, "acme-jira", jira.Options{URL: proxy.URL, Project: "PLAT", Email: "bot@example.com", Token: "api-token",
				RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			res, err := tr.Create(ctx, adapters.Item{Kind: adapters.KindIssue, Title: "before", Body: "a body", Status: "To Do", Labels: []string{"x"}},
				adapters.CreateOptions{IdempotencyKey: "k-1"})
			if err != nil {
				t.Fatal(err)
			}
			fake.Advance(time.Minute)
			before := len(fake.Requests())
			patch := res.Item.Clone()
			patch.Title = "after"
			got, err := tr.Update(ctx, res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: patch})
			if err != nil {
				t.Fatal(err)
			}
			var calls []string
			for _, r := range fake.Requests()[before:] {
				calls = append(calls, r.Method+" "+r.Path+"?"+r.Query)
			}
			if len(calls) != c.want {
				t.Errorf("update made %d requests, want %d:\n%s", len(calls), c.want, strings.Join(calls, "\n"))
			}
			read, err := tr.Get(ctx, res.Item.Ref)
			if err != nil {
				t.Fatal(err)
			}
			read.Comments, read.AllComments = nil, false
			got.Comments, got.AllComments = nil, false
			if d := cmp.Diff(read, got); d != "" {
				t.Errorf("the item Update returned differs from a read (-read +returned):\n%s", d)
			}
			if got.Title != "after" || got.SyncKey != "k-1" {
				t.Errorf("returned %q with sync key %q", got.Title, got.SyncKey)
			}
		})
	}
}
