package jira_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

// propertySearches counts the marker searches by JQL property clause.
func propertySearches(fake *jiratest.Server) int {
	n := 0
	for _, r := range fake.Requests() {
		if strings.Contains(r.Path, "/search") && (strings.Contains(string(r.Body), "issue.property") || strings.Contains(r.Query, "issue.property")) {
			n++
		}
	}
	return n
}

// TestCreateLostAnswerUnindexedProperty: on real Jira an entity property
// is JQL-searchable only where an app declares an index for it, so the
// marker clause finds nothing. A create whose answer was lost, and the
// engine's retry of it, must still find the issue made (by reading the
// property of the account's recent issues) and not make a second.
func TestCreateLostAnswerUnindexedProperty(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake, tr := newPair(t, fl) // the fake indexes no property
			// Issues tracksync made before, with another key and with none:
			// candidates the lookup must tell apart.
			mustCreate(t, tr, adapters.Item{Title: "older"}, "other-key")
			mustCreate(t, tr, adapters.Item{Title: "no key"}, "")
			fake.Advance(time.Minute)

			fake.InjectFault(jiratest.Fault{Method: http.MethodPost, Path: "/issue", AfterWrite: true, Drop: true})
			res, err := tr.Create(t.Context(), adapters.Item{Title: "lost"}, adapters.CreateOptions{IdempotencyKey: "lost-1"})
			if err != nil {
				t.Fatalf("Create whose answer was lost: %v", err)
			}
			if res.Item.SyncKey != "lost-1" || res.Item.Title != "lost" {
				t.Fatalf("Create found %s (title %q, key %q), want the issue just made", res.Item.Ref, res.Item.Title, res.Item.SyncKey)
			}
			// The engine retries the create it never heard back about.
			fake.Advance(5 * time.Minute)
			again, err := tr.Create(t.Context(), adapters.Item{Title: "lost"}, adapters.CreateOptions{IdempotencyKey: "lost-1"})
			if err != nil {
				t.Fatalf("retried Create: %v", err)
			}
			if !again.Existed || again.Item.Ref.ID != res.Item.Ref.ID {
				t.Errorf("retried Create: %s (Existed %v), want %s found again", again.Item.Ref, again.Existed, res.Item.Ref)
			}
			if n := len(fake.Issues()); n != 3 {
				t.Errorf("%d issues, want 3: the lost create was duplicated", n)
			}
			if propertySearches(fake) == 0 {
				t.Error("the JQL property search was not tried as the fast path")
			}
		})
	}
}

// TestCreateMarkerIndexed: where the property is indexed, the JQL clause
// finds the issue and the fallback search is not needed.
func TestCreateMarkerIndexed(t *testing.T) {
	fake := jiratest.New(t, jiratest.Options{IndexedProperties: []string{jira.PropertyKey}})
	_, tr := newPair(t, jiratest.Cloud, func(o *jira.Options) { o.URL = fake.URL })
	first := mustCreate(t, tr, adapters.Item{Title: "made"}, "k-1")
	fake.Advance(time.Hour) // beyond the marker window: only the index finds it
	fake.ResetRequests()
	res, err := tr.Create(t.Context(), adapters.Item{Title: "made"}, adapters.CreateOptions{IdempotencyKey: "k-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Existed || res.Item.Ref.ID != first.Ref.ID {
		t.Errorf("Create found %s (Existed %v), want %s", res.Item.Ref, res.Existed, first.Ref)
	}
	if n := fake.Count(http.MethodPost, "/search/jql"); n != 1 {
		t.Errorf("%d searches, want 1 (the indexed property clause)", n)
	}
}

// TestCreateLostAnswerPropertyRead: where the search answer carries no
// properties, the lookup reads each recent candidate's tracksync property
// on its own.
func TestCreateLostAnswerPropertyRead(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake := jiratest.New(t, jiratest.Options{Flavor: fl, WebhookSecret: "hook-secret"})
			target, _ := url.Parse(fake.URL)
			proxy := httputil.NewSingleHostReverseProxy(target)
			// The dropped answer reaches the adapter as the proxy's 502.
			proxy.ErrorLog = log.New(io.Discard, "", 0)
			// Drop the properties from every search answer.
			proxy.ModifyResponse = func(resp *http.Response) error {
				if !strings.Contains(resp.Request.URL.Path, "/search") || resp.StatusCode != http.StatusOK {
					return nil
				}
				var out map[string]any
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(b, &out); err != nil {
					return err
				}
				issues, _ := out["issues"].([]any)
				for _, is := range issues {
					delete(is.(map[string]any), "properties")
				}
				b, _ = json.Marshal(out)
				resp.Body = io.NopCloser(bytes.NewReader(b))
				resp.ContentLength = int64(len(b))
				resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
				return nil
			}
			front := httptest.NewServer(proxy)
			t.Cleanup(front.Close)
			_, tr := newPair(t, fl, func(o *jira.Options) { o.URL = front.URL })
			mustCreate(t, tr, adapters.Item{Title: "no key"}, "")
			fake.InjectFault(jiratest.Fault{Method: http.MethodPost, Path: "/issue", AfterWrite: true, Drop: true})
			res, err := tr.Create(t.Context(), adapters.Item{Title: "lost"}, adapters.CreateOptions{IdempotencyKey: "lost-1"})
			if err != nil {
				t.Fatalf("Create whose answer was lost: %v", err)
			}
			if res.Item.Title != "lost" || len(fake.Issues()) != 2 {
				t.Fatalf("Create found %s (%q) with %d issues, want the one just made of 2", res.Item.Ref, res.Item.Title, len(fake.Issues()))
			}
			if n := fake.Count(http.MethodGet, "/properties/"+jira.PropertyKey); n == 0 {
				t.Error("no candidate's property was read")
			}
		})
	}
}

// TestMarkerSearchRefused: a Jira site may answer a JQL clause on an
// entity property no app indexes with 400 rather than match nothing (its
// documentation does not say which). The property clause is only a fast
// path: creates, lost answers and their retries must go on through the
// lookup by creator and creation time, with no duplicate, and the
// refused clause must not be sent again.
func TestMarkerSearchRefused(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake := jiratest.New(t, jiratest.Options{Flavor: fl, WebhookSecret: "hook-secret", RefuseUnindexedProperty: true})
			_, tr := newPair(t, fl, func(o *jira.Options) { o.URL = fake.URL })
			mustCreate(t, tr, adapters.Item{Title: "older"}, "other-key")

			fake.InjectFault(jiratest.Fault{Method: http.MethodPost, Path: "/issue", AfterWrite: true, Drop: true})
			res, err := tr.Create(t.Context(), adapters.Item{Title: "lost"}, adapters.CreateOptions{IdempotencyKey: "lost-1"})
			if err != nil {
				t.Fatalf("Create whose answer was lost, on a site refusing the property clause: %v", err)
			}
			if res.Item.SyncKey != "lost-1" {
				t.Fatalf("Create found %s (key %q), want the issue just made", res.Item.Ref, res.Item.SyncKey)
			}
			again, err := tr.Create(t.Context(), adapters.Item{Title: "lost"}, adapters.CreateOptions{IdempotencyKey: "lost-1"})
			if err != nil {
				t.Fatalf("retried Create: %v", err)
			}
			if !again.Existed || again.Item.Ref.ID != res.Item.Ref.ID {
				t.Errorf("retried Create: %s (Existed %v), want %s found again", again.Item.Ref, again.Existed, res.Item.Ref)
			}
			if n := len(fake.Issues()); n != 2 {
				t.Errorf("%d issues, want 2: the lost create was duplicated", n)
			}
			if n := propertySearches(fake); n != 1 {
				t.Errorf("%d searches named the property, want 1 (refused once, then left out)", n)
			}
		})
	}
	t.Run("bulk", func(t *testing.T) {
		fake := jiratest.New(t, jiratest.Options{Flavor: jiratest.Cloud, WebhookSecret: "hook-secret", RefuseUnindexedProperty: true})
		_, tr := newPair(t, jiratest.Cloud, func(o *jira.Options) { o.URL = fake.URL })
		fake.InjectFault(jiratest.Fault{Method: http.MethodPost, Path: "/issue/bulk", Status: http.StatusBadGateway, AfterWrite: true})
		res, err := tr.CreateMany(t.Context(), bulkReqs(5, "To Do"))
		if err != nil {
			t.Fatalf("CreateMany whose answer was lost, on a site refusing the property clause: %v", err)
		}
		again, err := tr.CreateMany(t.Context(), bulkReqs(5, "To Do"))
		if err != nil {
			t.Fatalf("CreateMany again: %v", err)
		}
		for i := range again {
			if !again[i].Existed || again[i].Item.Ref.ID != res[i].Item.Ref.ID {
				t.Errorf("again, %d: existed %v id %s, want %s", i, again[i].Existed, again[i].Item.Ref.ID, res[i].Item.Ref.ID)
			}
		}
		if n := len(fake.Issues()); n != 5 {
			t.Errorf("%d issues, want 5", n)
		}
		if n := propertySearches(fake); n != 1 {
			t.Errorf("%d searches named the property, want 1 (refused once, then left out)", n)
		}
	})
}
