package jira_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

var flavors = []jiratest.Flavor{jiratest.Cloud, jiratest.DataCenter}

func mustCreate(t *testing.T, tr *jira.Tracker, it adapters.Item, key string) adapters.Item {
	t.Helper()
	res, err := tr.Create(t.Context(), it, adapters.CreateOptions{IdempotencyKey: key})
	if err != nil {
		t.Fatalf("Create(%q): %v", it.Title, err)
	}
	return res.Item
}

// transitionsTaken lists the transition ids POSTed, in order.
func transitionsTaken(fake *jiratest.Server) []string {
	var out []string
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/transitions") {
			var b struct {
				Transition struct {
					ID string `json:"id"`
				} `json:"transition"`
			}
			_ = json.Unmarshal(r.Body, &b)
			out = append(out, b.Transition.ID)
		}
	}
	return out
}

func TestMultiHopTransition(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake, tr := newPair(t, fl)
			a := mustCreate(t, tr, adapters.Item{Title: "a"}, "")
			fake.ResetRequests()
			got, err := tr.Update(t.Context(), a.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "Done"}})
			if err != nil {
				t.Fatalf("To Do → Done: %v", err)
			}
			if got.Status != "Done" || got.StatusCategory != adapters.CategoryDone {
				t.Fatalf("after the move: status %q (%s)", got.Status, got.StatusCategory)
			}
			// Start progress, then Done (whose screen wants a resolution).
			if diff := cmp.Diff([]string{"11", "31"}, transitionsTaken(fake)); diff != "" {
				t.Errorf("transitions taken (-want +got):\n%s", diff)
			}
			if is, _ := fake.Issue(a.Ref.ID); is.Resolution != "Done" {
				t.Errorf("resolution %q, want the default Done", is.Resolution)
			}

			// A warm cache: the same move on another issue reads no
			// transitions, only takes them.
			b := mustCreate(t, tr, adapters.Item{Title: "b"}, "")
			fake.ResetRequests()
			if _, err := tr.Update(t.Context(), b.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "Done"}}); err != nil {
				t.Fatal(err)
			}
			if n := fake.Count(http.MethodGet, "/transitions"); n != 0 {
				t.Errorf("with a warm cache the move read transitions %d times", n)
			}
			if n := fake.Count(http.MethodPost, "/transitions"); n != 2 {
				t.Errorf("the move took %d transitions, want 2", n)
			}
			// And back: Done → In Review is Reopen, Start progress, Submit.
			fake.ResetRequests()
			if _, err := tr.Update(t.Context(), b.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "In Review"}}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"61", "11", "21"}, transitionsTaken(fake)); diff != "" {
				t.Errorf("Done → In Review (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequiredScreenField(t *testing.T) {
	fake, tr := newPair(t, jiratest.Cloud)
	fake.SetRequired("Done", "resolution", jiratest.ReviewerNotesField)
	it := mustCreate(t, tr, adapters.Item{Title: "needs notes"}, "")
	_, err := tr.Update(t.Context(), it.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "Done"}})
	if err == nil {
		t.Fatal("moving to Done without a default for Reviewer Notes succeeded")
	}
	for _, want := range []string{`"Reviewer Notes"`, jiratest.ReviewerNotesField, it.Ref.Key, `"Done"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if !errors.Is(err, adapters.ErrInvalid) || !adapters.IsPermanent(err) {
		t.Errorf("error %v: want a permanent ErrInvalid", err)
	}

	_, tr2 := newPair(t, jiratest.Cloud, func(o *jira.Options) {
		o.TransitionDefaults = map[string]string{"resolution": "Won't Do", "Reviewer Notes": "synced by tracksync"}
	})
	it2 := mustCreate(t, tr2, adapters.Item{Title: "has notes"}, "")
	if _, err := tr2.Update(t.Context(), it2.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "In Progress"}}); err != nil {
		t.Fatal(err)
	}
	_ = fake
}

func TestRequiredScreenFieldFilled(t *testing.T) {
	fake, tr := newPair(t, jiratest.Cloud, func(o *jira.Options) {
		o.TransitionDefaults = map[string]string{"resolution": "Won't Do", "Reviewer Notes": "synced by tracksync"}
	})
	fake.SetRequired("Done", "resolution", jiratest.ReviewerNotesField)
	it := mustCreate(t, tr, adapters.Item{Title: "has notes", Status: "Done"}, "")
	is, _ := fake.Issue(it.Ref.ID)
	// Reviewer Notes is a multi-line text field: Cloud holds the default
	// as an Atlassian Document.
	notes := string(is.Custom[jiratest.ReviewerNotesField])
	if is.Status != "Done" || is.Resolution != "Won't Do" || !strings.Contains(notes, `"type":"doc"`) || !strings.Contains(notes, `"text":"synced by tracksync"`) {
		t.Errorf("stored status %q resolution %q notes %s", is.Status, is.Resolution, is.Custom[jiratest.ReviewerNotesField])
	}
}

// TestRequiredScreenFieldOption: a select-list (option) field on a
// transition screen is sent as the matched allowed value's id; Jira
// refuses {"name": ...} for it.
func TestRequiredScreenFieldOption(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake, tr := newPair(t, fl, func(o *jira.Options) {
				o.TransitionDefaults = map[string]string{"resolution": "Won't Do", "Severity": "Major"}
			})
			fake.SetRequired("Done", "resolution", jiratest.SeverityField)
			it := mustCreate(t, tr, adapters.Item{Title: "severe", Status: "Done"}, "")
			is, _ := fake.Issue(it.Ref.ID)
			var sev struct {
				ID    string `json:"id"`
				Value string `json:"value"`
			}
			_ = json.Unmarshal(is.Custom[jiratest.SeverityField], &sev)
			if is.Status != "Done" || is.Resolution != "Won't Do" || sev.ID != "10101" || sev.Value != "Major" {
				t.Errorf("stored status %q resolution %q severity %+v; want Done, Won't Do, 10101 Major", is.Status, is.Resolution, sev)
			}
		})
	}
}

func TestMissingCustomField(t *testing.T) {
	fake := jiratest.New(t, jiratest.Options{})
	_, err := jira.New(t.Context(), "j", jira.Options{URL: fake.URL, Email: "bot@example.com", Token: "api-token", CustomFields: []string{"Team", "Story Points"}})
	if err == nil || !strings.Contains(err.Error(), `"Story Points"`) || !errors.Is(err, adapters.ErrInvalid) {
		t.Fatalf("New with a missing custom field: %v; want ErrInvalid naming \"Story Points\"", err)
	}
}

func TestJQLInjection(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake, plat := newPair(t, fl)
			_, ops := newPair(t, fl, func(o *jira.Options) { o.URL = fake.URL; o.Project = "OPS" })
			victim := mustCreate(t, ops, adapters.Item{Title: "in OPS"}, `y`)
			keys := []string{
				`x" OR project = OPS OR key = "y`,
				`x\" OR project = OPS OR issue.property[tracksync].key = \"y`,
				`x' OR project = OPS OR '`,
				"x\" OR project = OPS\n OR \"",
				`") OR (project = OPS`,
			}
			for _, k := range keys {
				res, err := plat.Create(t.Context(), adapters.Item{Title: `title " OR project = OPS`}, adapters.CreateOptions{IdempotencyKey: k})
				if err != nil {
					t.Fatalf("Create with key %q: %v", k, err)
				}
				if res.Existed || res.Item.Ref.ID == victim.Ref.ID || res.Item.Ref.Project != "PLAT" {
					t.Errorf("key %q changed the marker query: found %s (Existed %v)", k, res.Item.Ref, res.Existed)
				}
				again, err := plat.Create(t.Context(), adapters.Item{Title: "again"}, adapters.CreateOptions{IdempotencyKey: k})
				if err != nil || !again.Existed || again.Item.Ref.ID != res.Item.Ref.ID {
					t.Errorf("key %q: the second Create found %s (Existed %v, err %v), want %s", k, again.Item.Ref, again.Existed, err, res.Item.Ref)
				}
			}
		})
	}
}

// TestOldSearchNeverUsed: Cloud answers /rest/api/{2,3}/search with 410
// Gone; the adapter must use search/jql for listing, markers and parents.
func TestOldSearchNeverUsed(t *testing.T) {
	fake, tr := newPair(t, jiratest.Cloud)
	ctx := t.Context()
	epic := mustCreate(t, tr, adapters.Item{Kind: adapters.KindEpic, Title: "e"}, "k1")
	mustCreate(t, tr, adapters.Item{Title: "s", Parent: &epic.Ref}, "k2")
	mustCreate(t, tr, adapters.Item{Title: "s"}, "k2")
	if _, err := tr.List(ctx, adapters.ListRequest{Scope: "project = PLAT ORDER BY key DESC"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range fake.Requests() {
		if r.Path == "/rest/api/3/search" || r.Path == "/rest/api/2/search" {
			t.Errorf("the adapter called the removed %s", r)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, fake.URL+"/rest/api/3/search", strings.NewReader(`{"jql":"project = PLAT"}`))
	req.SetBasicAuth("bot@example.com", "api-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Errorf("the fake answers the old search with %d, want 410", resp.StatusCode)
	}
}

func TestListBulkFetchBatches(t *testing.T) {
	fake, tr := newPair(t, jiratest.Cloud)
	const n = 250
	for i := range n {
		mustCreate(t, tr, adapters.Item{Title: fmt.Sprintf("issue %d", i)}, "")
	}
	fake.Advance(time.Minute)
	fake.ResetRequests()
	seen := map[string]int{}
	var cursor, token string
	pages := 0
	for {
		p, err := tr.List(t.Context(), adapters.ListRequest{Scope: "project = PLAT", PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range p.Items {
			seen[it.Ref.ID]++
		}
		if p.NextPageToken == "" {
			cursor = p.Cursor
			break
		}
		token = p.NextPageToken
	}
	if len(seen) != n {
		t.Errorf("listed %d distinct issues, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("issue %s listed %d times", id, c)
		}
	}
	searches, fetches := fake.Count(http.MethodPost, "/search/jql"), fake.Count(http.MethodPost, "/bulkfetch")
	if searches != 3 || fetches != 3 || len(fake.Requests()) != 6 {
		t.Errorf("initial listing of %d: %d searches, %d bulk fetches, %d requests in all; want 3, 3, 6", n, searches, fetches, len(fake.Requests()))
	}
	// An idle poll costs one request.
	fake.Advance(time.Minute)
	fake.ResetRequests()
	p, err := tr.List(t.Context(), adapters.ListRequest{Scope: "project = PLAT", Cursor: cursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 0 || len(fake.Requests()) != 1 {
		t.Errorf("idle poll: %d items in %d requests, want 0 in 1", len(p.Items), len(fake.Requests()))
	}
}

func TestWebhookSignature(t *testing.T) {
	fake, tr := newPair(t, jiratest.Cloud)
	it := mustCreate(t, tr, adapters.Item{Title: "hooked"}, "")
	if err := fake.EditIssue(it.Ref.ID, "", func(is *jiratest.Issue) { is.Summary = "edited" }); err != nil {
		t.Fatal(err)
	}
	ds := fake.Deliveries()
	d := ds[len(ds)-1]
	with := func(mut func(h http.Header)) http.Header {
		h := d.Header.Clone()
		mut(h)
		return h
	}
	tests := []struct {
		name    string
		h       http.Header
		body    []byte
		wantErr error
		events  int
	}{
		{"good", d.Header, d.Body, nil, 1},
		{"redelivery", d.Header, d.Body, nil, 0},
		{"missing", with(func(h http.Header) { h.Del("X-Hub-Signature") }), d.Body, adapters.ErrUnauthorized, 0},
		{"bad", with(func(h http.Header) { h.Set("X-Hub-Signature", jiratest.Sign("wrong", d.Body)) }), d.Body, adapters.ErrUnauthorized, 0},
		{"tampered body", d.Header, append([]byte(" "), d.Body...), adapters.ErrUnauthorized, 0},
		// Garbage with a bad signature is refused for the signature,
		// before any parsing.
		{"garbage unsigned", with(func(h http.Header) { h.Set("X-Hub-Signature", "sha256=00") }), []byte("{not json"), adapters.ErrUnauthorized, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := tr.DecodeWebhook(tc.h, tc.body)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if len(evs) != tc.events {
				t.Fatalf("%d events, want %d", len(evs), tc.events)
			}
			if tc.events == 1 && (evs[0].Type != adapters.EventUpserted || evs[0].Ref.ID != it.Ref.ID || evs[0].Ref.Tracker != tr.Name()) {
				t.Errorf("event %+v", evs[0])
			}
		})
	}
}

func TestRateLimitSurfaced(t *testing.T) {
	fake, tr := newPair(t, jiratest.Cloud)
	it := mustCreate(t, tr, adapters.Item{Title: "limited"}, "")
	fake.InjectRateLimit(3*time.Second, "jira-per-issue-on-write")
	_, err := tr.Update(t.Context(), it.Ref, adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: adapters.Item{Title: "x"}})
	var rl *adapters.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 3*time.Second || !strings.Contains(rl.Scope, "issue") {
		t.Fatalf("got %v (%+v), want a RateLimitError of 3s scoped to the issue", err, rl)
	}
	if strings.Contains(err.Error(), "api-token") {
		t.Errorf("the error shows the token: %v", err)
	}
}

func TestCreateLostResponse(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake, tr := newPair(t, fl)
			fake.InjectFault(jiratest.Fault{Method: http.MethodPost, Path: "/issue", AfterWrite: true, Drop: true})
			res, err := tr.Create(t.Context(), adapters.Item{Title: "lost"}, adapters.CreateOptions{IdempotencyKey: "lost-1"})
			if err != nil {
				t.Fatalf("Create whose answer was lost: %v", err)
			}
			if len(fake.Issues()) != 1 || res.Item.SyncKey != "lost-1" {
				t.Fatalf("%d issues, sync key %q; want the one made, found by its marker", len(fake.Issues()), res.Item.SyncKey)
			}
			// A 5xx before the write: not retried blindly, nothing made.
			fake.InjectFault(jiratest.Fault{Method: http.MethodPost, Path: "/issue", Status: 503})
			if _, err := tr.Create(t.Context(), adapters.Item{Title: "refused"}, adapters.CreateOptions{IdempotencyKey: "lost-2"}); err == nil {
				t.Fatal("Create answered 503 succeeded")
			}
			if len(fake.Issues()) != 1 {
				t.Fatalf("%d issues after a refused create, want 1", len(fake.Issues()))
			}
			// A 5xx on a read is retried.
			fake.InjectFault(jiratest.Fault{Method: http.MethodGet, Path: "/issue/", Status: 502, Times: 2})
			if _, err := tr.Get(t.Context(), res.Item.Ref); err != nil {
				t.Fatalf("Get through two 502s: %v", err)
			}
		})
	}
}

func TestUnauthorized(t *testing.T) {
	fake := jiratest.New(t, jiratest.Options{})
	_, err := jira.New(context.Background(), "j", jira.Options{URL: fake.URL, Email: "bot@example.com", Token: "wrong-secret-value"})
	if !errors.Is(err, adapters.ErrUnauthorized) || strings.Contains(err.Error(), "wrong-secret-value") {
		t.Fatalf("New with a wrong token: %v; want ErrUnauthorized without the token", err)
	}
}

// TestWebhookDelivery: the fake POSTs signed deliveries to a registered
// URL; the adapter decodes them there, comments included.
func TestWebhookDelivery(t *testing.T) {
	fake, tr := newPair(t, jiratest.Cloud)
	var got []adapters.Event
	var errs []error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		evs, err := tr.DecodeWebhook(r.Header, body)
		if err != nil {
			errs = append(errs, err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got = append(got, evs...)
	}))
	defer srv.Close()
	fake.SetWebhookURL(srv.URL)
	it := mustCreate(t, tr, adapters.Item{Title: "hooked"}, "")
	if _, err := tr.AddComment(t.Context(), it.Ref, adapters.Comment{Body: "hi"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := fake.EditIssue(it.Ref.ID, "", func(is *jiratest.Issue) { is.Summary = "edited" }); err != nil {
		t.Fatal(err)
	}
	if err := fake.RemoveIssue(it.Ref.ID); err != nil {
		t.Fatal(err)
	}
	var types []adapters.EventType
	for _, e := range got {
		types = append(types, e.Type)
		if e.Ref.ID != it.Ref.ID || e.DeliveryID == "" {
			t.Errorf("event %+v", e)
		}
	}
	want := []adapters.EventType{adapters.EventUpserted, adapters.EventComment, adapters.EventUpserted, adapters.EventDeleted}
	if diff := cmp.Diff(want, types); diff != "" || len(errs) > 0 {
		t.Errorf("events (-want +got):\n%s\nerrors: %v", diff, errs)
	}
}

// TestCreateTimeoutAfterWrite: the create happened but the answer never
// came; the client times out and the marker finds the issue.
func TestCreateTimeoutAfterWrite(t *testing.T) {
	fake, tr := newPair(t, jiratest.Cloud, func(o *jira.Options) { o.Timeout = 100 * time.Millisecond })
	fake.InjectFault(jiratest.Fault{Method: http.MethodPost, Path: "/rest/api/3/issue", AfterWrite: true, Hang: true})
	res, err := tr.Create(t.Context(), adapters.Item{Title: "slow"}, adapters.CreateOptions{IdempotencyKey: "slow-1"})
	if err != nil {
		t.Fatalf("Create that timed out after the write: %v", err)
	}
	if n := len(fake.Issues()); n != 1 || res.Item.SyncKey != "slow-1" {
		t.Fatalf("%d issues, sync key %q", n, res.Item.SyncKey)
	}
}

func TestForbidden(t *testing.T) {
	fake := jiratest.New(t, jiratest.Options{ReadOnlyProjects: []string{"OPS"}})
	open := func(project string) *jira.Tracker {
		tr, err := jira.New(t.Context(), "j", jira.Options{URL: fake.URL, Email: "bot@example.com", Token: "api-token", Project: project})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	_, err := open("OPS").Create(t.Context(), adapters.Item{Title: "x"}, adapters.CreateOptions{IdempotencyKey: "k"})
	if !errors.Is(err, adapters.ErrForbidden) || !strings.Contains(err.Error(), "HTTP 403") || !strings.Contains(err.Error(), "permission") {
		t.Errorf("Create in a read-only project: %v; want ErrForbidden with Jira's message", err)
	}
	if _, err := open("PLAT").Create(t.Context(), adapters.Item{Title: "x"}, adapters.CreateOptions{}); err != nil {
		t.Errorf("Create in a writable project: %v", err)
	}
}

func TestRateBudget(t *testing.T) {
	fake, tr := newPair(t, jiratest.DataCenter)
	it := mustCreate(t, tr, adapters.Item{Title: "budgeted"}, "")
	fake.SetRateBudget(4, time.Minute)
	for i := range 4 { // a Get is one request: the issue says it has no comments
		if _, err := tr.Get(t.Context(), it.Ref); err != nil {
			t.Fatalf("Get %d within the budget: %v", i, err)
		}
	}
	fake.Advance(20 * time.Second)
	_, err := tr.Get(t.Context(), it.Ref)
	var rl *adapters.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 40*time.Second || !strings.HasPrefix(rl.Scope, "global") {
		t.Fatalf("over the budget: %v (%+v); want a global RateLimitError of 40s", err, rl)
	}
	fake.Advance(40 * time.Second)
	if _, err := tr.Get(t.Context(), it.Ref); err != nil {
		t.Fatalf("in the next window: %v", err)
	}
}

// TestCustomFieldsOption: custom_fields in the config (a list, or one
// comma-separated string) reaches the adapter, and a missing field is named
// with its key path.
func TestCustomFieldsOption(t *testing.T) {
	fake := jiratest.New(t, jiratest.Options{})
	raw := func(cf any) map[string]any {
		return map[string]any{"url": fake.URL, "auth": map[string]any{"email": "bot@example.com", "token": "api-token"}, "custom_fields": cf}
	}
	for _, cf := range []any{[]any{"Team"}, "Team"} {
		tr, err := adapters.Default.Open(t.Context(), "j", "jira", raw(cf), nil, ".")
		if err != nil {
			t.Fatalf("custom_fields %v: %v", cf, err)
		}
		if !tr.Capabilities().HasField("custom:Team") {
			t.Errorf("custom_fields %v: fields %v lack custom:Team", cf, tr.Capabilities().Fields)
		}
	}
	_, err := adapters.Default.Open(t.Context(), "j", "jira", raw([]any{"Story Points"}), nil, ".")
	if err == nil || !strings.Contains(err.Error(), "trackers.j") || !strings.Contains(err.Error(), `"Story Points"`) {
		t.Fatalf("a missing custom field: %v", err)
	}
	if _, err := adapters.Default.Open(t.Context(), "j", "jira", raw([]any{[]any{"Team"}}), nil, "."); err == nil || !strings.Contains(err.Error(), "trackers.j.custom_fields[0]: want a single value") {
		t.Fatalf("a list in custom_fields: %v", err)
	}
}
