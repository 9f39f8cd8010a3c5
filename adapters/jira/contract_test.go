package jira_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/internal/contracttest"
)

const specHost = "http://jira.test"

// jiraRouter loads the Jira Cloud platform spec.
func jiraRouter(t *testing.T) routers.Router {
	t.Helper()
	return contracttest.Router(t, "Jira", filepath.Join("jira", "jira-platform-swagger-v3.v3.json"), specHost, func(*openapi3.T) {
		// Jira writes timestamps as 2026-11-01T09:00:00.000+0000 (no colon
		// in the offset) while its spec says RFC 3339 date-time; accept
		// what the real service sends.
		openapi3.DefineStringFormatValidator("date-time", openapi3.NewRegexpFormatValidator(
			`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})$`))
	})
}

// checkContract validates every logged request the adapter made and every
// answer the fake gave against the vendor's contract.
func checkContract(t *testing.T, router routers.Router, log []jiratest.Request) {
	t.Helper()
	checked := map[string]int{}
	for _, r := range log {
		if r.Status == 0 {
			continue
		}
		u := specHost + r.Path
		if r.Query != "" {
			u += "?" + r.Query
		}
		req, err := http.NewRequest(r.Method, u, bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Body) > 0 {
			req.Header.Set("Content-Type", "application/json")
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s: not in the Jira contract: %v", r, err)
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s: the adapter's request breaks the contract: %v", r, err)
		}
		h := http.Header{}
		if r.Response != nil {
			h.Set("Content-Type", "application/json")
		}
		// A 204 has no body (the spec declares an empty JSON one).
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.Status, Header: h,
			Options: &openapi3filter.Options{MultiError: true, ExcludeResponseBody: r.Status == http.StatusNoContent}}
		out.SetBodyBytes(dropNullFields(r.Response))
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s → %d: the fake's answer breaks the contract: %v\nbody: %.400s", r, r.Status, err, r.Response)
		}
		checked[route.Method+" "+route.Path]++
	}
	t.Logf("checked %d endpoints against the contract: %v", len(checked), checked)
}

// dropNullFields removes null values inside issues' "fields" objects:
// Jira answers "assignee": null for an empty field, but the spec types
// field values as {} which OpenAPI 3.0 reads as not nullable.
func dropNullFields(body []byte) []byte {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return body
	}
	var walk func(x any)
	walk = func(x any) {
		switch y := x.(type) {
		case map[string]any:
			if f, ok := y["fields"].(map[string]any); ok {
				for k, fv := range f {
					if fv == nil {
						delete(f, k)
					}
				}
			}
			for _, c := range y {
				walk(c)
			}
		case []any:
			for _, c := range y {
				walk(c)
			}
		}
	}
	walk(v)
	b, _ := json.Marshal(v)
	return b
}

func TestCloudContract(t *testing.T) {
	router := jiraRouter(t)
	fake, tr := newPair(t, jiratest.Cloud, func(o *jira.Options) {
		o.CustomFields = []string{"Team", "Reviewer Notes"}
	})
	ctx := t.Context()
	epic, err := tr.Create(ctx, adapters.Item{Kind: adapters.KindEpic, Title: "Epic", Body: "An *epic*."}, adapters.CreateOptions{IdempotencyKey: "k-epic"})
	if err != nil {
		t.Fatal(err)
	}
	users := fake.UserIDs()
	story, err := tr.Create(ctx, adapters.Item{Ref: adapters.Ref{URL: "https://github.com/acme/platform/issues/7"}, Kind: adapters.KindIssue, Title: "Story", Body: "Text.", Status: "In Review",
		Assignees: users[:1], Labels: []string{"a"}, Priority: "High", Due: "2030-01-02", Parent: &epic.Item.Ref,
		Fields: map[string]string{"Team": "Core", "Reviewer Notes": "Looks *fine*.\n\n- one\n- two"}}, adapters.CreateOptions{IdempotencyKey: "k-story"})
	if err != nil {
		t.Fatal(err)
	}
	if is, _ := fake.Issue(story.Item.Ref.ID); len(is.RemoteLinks) != 1 || is.RemoteLinks[0].URL != "https://github.com/acme/platform/issues/7" {
		t.Errorf("back-link: %+v", is.RemoteLinks)
	}
	if _, err := tr.Update(ctx, story.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldTitle, adapters.FieldStatus, adapters.FieldLabels},
		Item: adapters.Item{Title: "Story, renamed", Status: "Done"}}); err != nil {
		t.Fatal(err)
	}
	c, err := tr.AddComment(ctx, story.Item.Ref, adapters.Comment{Body: "hello"}, "ck")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.EditComment(ctx, story.Item.Ref, adapters.Comment{ID: c.ID, Body: "hello again"}); err != nil {
		t.Fatal(err)
	}
	// Comments restricted to a role, and internal notes, as Jira answers
	// them: left out of what the adapter hands on.
	note, _ := json.Marshal(map[string]any{"type": "doc", "version": 1, "content": []any{}})
	fake.AddCommentWith(story.Item.Ref.ID, users[0], note, func(c *jiratest.Comment) { c.Restricted = "Developers" })
	fake.AddCommentWith(story.Item.Ref.ID, users[0], note, func(c *jiratest.Comment) { c.Internal = true })
	if cs, err := tr.Comments(ctx, story.Item.Ref); err != nil || len(cs) != 1 || cs[0].ID != c.ID {
		t.Errorf("Comments: %+v, %v; want the open one alone", cs, err)
	}
	page, err := tr.List(ctx, adapters.ListRequest{Scope: "project = PLAT"})
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("List: %d items, %v", len(page.Items), err)
	}
	if err := tr.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// Error shapes too: a missing issue, and the removed search.
	if _, err := tr.Get(ctx, adapters.Ref{ID: "99999"}); err == nil {
		t.Fatal("Get of a missing issue succeeded")
	}
	req, _ := http.NewRequest(http.MethodGet, fake.URL+"/rest/api/3/search?jql=project%20%3D%20PLAT", nil)
	req.SetBasicAuth("bot@example.com", "api-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var log []jiratest.Request
	for _, r := range fake.Requests() {
		// /rest/api/2/field is v2; /rest/api/3/search is the removed one,
		// marked deprecated but still described.
		if strings.HasPrefix(r.Path, "/rest/api/3/") {
			log = append(log, r)
		}
	}
	checkContract(t, router, log)
}

// TestConformanceContract runs the conformance suite against a Cloud fake
// and checks every request and answer of it against the contract.
func TestConformanceContract(t *testing.T) {
	router := jiraRouter(t)
	var fakes []*jiratest.Server
	h := harness(jiratest.Cloud)
	newTracker := h.New
	h.New = func(t *testing.T) adapters.Tracker {
		tr := newTracker(t)
		fakes = append(fakes, lastFake)
		return tr
	}
	adaptertest.Run(t, h)
	var log []jiratest.Request
	for _, f := range fakes {
		for _, r := range f.Requests() {
			if strings.HasPrefix(r.Path, "/rest/api/3/") {
				log = append(log, r)
			}
		}
	}
	checkContract(t, router, log)
}
