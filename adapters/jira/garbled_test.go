package jira_test

import (
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
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

var garbles = []jiratest.Garble{jiratest.GarbleHTML, jiratest.GarbleCut, jiratest.GarbleEmpty, jiratest.GarbleEmptyObject}

// TestGarbledListing: a search answered 200 with a login page, cut JSON,
// an empty body or {} is an error, never an empty page.
func TestGarbledListing(t *testing.T) {
	for _, fl := range flavors {
		for _, g := range garbles {
			t.Run(fmt.Sprint(fl, "/", g), func(t *testing.T) {
				fake, tr := newPair(t, fl)
				for i := range 3 {
					mustCreate(t, tr, adapters.Item{Title: fmt.Sprint("issue ", i)}, "")
				}
				fake.Advance(time.Minute)
				fake.InjectFault(jiratest.Fault{Path: "/search", Garble: g})
				p, err := tr.List(t.Context(), adapters.ListRequest{Scope: "project = PLAT"})
				if err == nil {
					t.Fatalf("listing answered %s: %d items and no error", g, len(p.Items))
				}
				adaptertest.WantBadResponse(t, "the listing", err)
				if g == jiratest.GarbleHTML && !strings.Contains(err.Error(), "<!DOCTYPE html>") {
					t.Errorf("%v does not show the body's first bytes", err)
				}
				p, err = tr.List(t.Context(), adapters.ListRequest{Scope: "project = PLAT"})
				if err != nil || len(p.Items) != 3 {
					t.Fatalf("listing again: %d items, %v; want 3", len(p.Items), err)
				}
			})
		}
	}
}

// TestGarbledBulkFetch: the second step of a Cloud listing is checked too.
func TestGarbledBulkFetch(t *testing.T) {
	fake, tr := newPair(t, jiratest.Cloud)
	mustCreate(t, tr, adapters.Item{Title: "one"}, "")
	fake.Advance(time.Minute)
	fake.InjectFault(jiratest.Fault{Path: "/bulkfetch", Garble: jiratest.GarbleEmptyObject})
	_, err := tr.List(t.Context(), adapters.ListRequest{Scope: "project = PLAT"})
	adaptertest.WantBadResponse(t, "the bulk fetch", err)
}

// TestGarbledGet: an issue answered with anything but an issue is an
// error, not an empty item.
func TestGarbledGet(t *testing.T) {
	for _, fl := range flavors {
		for _, g := range garbles {
			t.Run(fmt.Sprint(fl, "/", g), func(t *testing.T) {
				fake, tr := newPair(t, fl)
				it := mustCreate(t, tr, adapters.Item{Title: "one"}, "")
				fake.InjectFault(jiratest.Fault{Method: http.MethodGet, Path: "/issue/", Garble: g})
				got, err := tr.Get(t.Context(), it.Ref)
				if err == nil {
					t.Fatalf("Get answered %s: %+v and no error", g, got.Ref)
				}
				adaptertest.WantBadResponse(t, "Get", err)
			})
		}
	}
}

// TestGarbledWrite: a PUT answered 200 with a login page (a Jira PUT
// answers 204) was not written, and says so.
func TestGarbledWrite(t *testing.T) {
	for _, fl := range flavors {
		t.Run(string(fl), func(t *testing.T) {
			fake, tr := newPair(t, fl)
			it := mustCreate(t, tr, adapters.Item{Title: "before"}, "")
			fake.InjectFault(jiratest.Fault{Method: http.MethodPut, Path: "/issue/", Garble: jiratest.GarbleHTML})
			_, err := tr.Update(t.Context(), it.Ref, adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: adapters.Item{Title: "after"}})
			adaptertest.WantBadResponse(t, "the PUT", err)
			if is, _ := fake.Issue(it.Ref.Key); is.Summary != "before" {
				t.Fatalf("summary %q: the fault was not a proxy's answer", is.Summary)
			}
			if _, err := tr.Update(t.Context(), it.Ref, adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: adapters.Item{Title: "after"}}); err != nil {
				t.Fatalf("writing again: %v", err)
			}
		})
	}
}

// TestGarbledCreate: a create answered garbled may have happened. With an
// idempotency key the marker settles it: the issue made is found, and
// none is made when the proxy answered instead of Jira.
func TestGarbledCreate(t *testing.T) {
	for _, fl := range flavors {
		for _, g := range garbles {
			t.Run(fmt.Sprint(fl, "/", g), func(t *testing.T) {
				fake, tr := newPair(t, fl)
				if g != jiratest.GarbleCut {
					fake.InjectFault(jiratest.Fault{Method: http.MethodPost, Path: "/issue", Garble: g})
					_, err := tr.Create(t.Context(), adapters.Item{Title: "never made"}, adapters.CreateOptions{IdempotencyKey: "k-0"})
					adaptertest.WantBadResponse(t, "a create nobody made", err)
					if n := len(fake.Issues()); n != 0 {
						t.Fatalf("%d issues", n)
					}
				}
				fake.InjectFault(jiratest.Fault{Method: http.MethodPost, Path: "/issue", Garble: g, AfterWrite: true})
				res, err := tr.Create(t.Context(), adapters.Item{Title: "made"}, adapters.CreateOptions{IdempotencyKey: "k-1"})
				if err != nil {
					t.Fatalf("a create made but answered %s: %v", g, err)
				}
				all := fake.Issues()
				if len(all) != 1 || res.Item.Ref.Key != all[0].Key || res.Item.SyncKey != "k-1" {
					t.Fatalf("created %+v (sync key %q); the fake holds %d issues", res.Item.Ref, res.Item.SyncKey, len(all))
				}
			})
		}
	}
}

// TestCutOffAnswerAskedAgain: a search whose 200 answer is cut off
// mid-body (the connection closes before Content-Length bytes; seen on a
// loaded machine as "unexpected EOF") is asked again, being idempotent,
// and the listing succeeds; a create (not idempotent) cut off the same
// way is a retryable unreadable answer naming the status.
func TestCutOffAnswerAskedAgain(t *testing.T) {
	fake, _ := newPair(t, jiratest.Cloud)
	var cut atomic.Int32
	target, _ := url.Parse(fake.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/search/jql") || (r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/issue")) {
			if cut.Add(-1) >= 0 {
				hj, _ := w.(http.Hijacker)
				conn, buf, _ := hj.Hijack()
				buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"issues\":[")
				buf.Flush()
				conn.Close()
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	tr, err := jira.New(t.Context(), "acme-jira", jira.Options{URL: srv.URL, Project: "PLAT", Email: "bot@example.com", Token: "api-token",
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, tr, adapters.Item{Title: "one"}, "")
	fake.Advance(time.Minute)
	cut.Store(2)
	p, err := tr.List(t.Context(), adapters.ListRequest{Scope: "project = PLAT"})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("listing with two answers cut off: %d items, %v; want 1 and no error", len(p.Items), err)
	}
	if n := cut.Load(); n >= 0 {
		t.Fatalf("the cut-off answers were not all used (%d left)", n+1)
	}
	cut.Store(1)
	_, err = tr.Create(t.Context(), adapters.Item{Kind: adapters.KindIssue, Title: "two"}, adapters.CreateOptions{})
	if err == nil {
		t.Fatal("a create whose answer was cut off succeeded without knowing its issue")
	}
	adaptertest.WantBadResponse(t, "the create", err)
}
