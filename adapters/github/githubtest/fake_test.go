package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters/github/githubtest/githubcontract"
)

// client sends requests to the fake, checked against the contract when
// checker is non-nil.
type client struct {
	t    *testing.T
	s    *Server
	http *http.Client
}

func newClient(t *testing.T, s *Server, rt http.RoundTripper) *client {
	if rt == nil {
		rt = s.Client().Transport
	}
	// Redirects come back as they are: the fake's 301s are under test.
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{t: t, s: s, http: &http.Client{Transport: rt, CheckRedirect: noRedirect}}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decoding %s: %v", a.body, err)
	}
}

func (c *client) do(method, path string, body any, header ...string) answer {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(c.s.URL, "/")+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

// TestContract drives every endpoint the fake serves, errors included,
// and checks each exchange against GitHub's OpenAPI description.
func TestContract(t *testing.T) {
	s := New(t, Options{Users: []string{"ana"}})
	checker := githubcontract.NewChecker(t, s.Client().Transport)
	c := newClient(t, s, checker)
	s.CreateIssue(DefaultRepo, Issue{Title: "a pull request", PullRequest: true})
	steps := []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/repos/acme/app", nil, 200},
		{"POST", "/repos/acme/app/labels", map[string]string{"name": "bug", "color": "b60205"}, 201},
		{"POST", "/repos/acme/app/labels", map[string]string{"name": "bug", "color": "b60205"}, 422},
		{"GET", "/repos/acme/app/labels?per_page=100", nil, 200},
		{"GET", "/repos/acme/app/labels/bug", nil, 200},
		{"POST", "/repos/acme/app/milestones", map[string]string{"title": "v1"}, 201},
		{"GET", "/repos/acme/app/milestones?state=all", nil, 200},
		{"POST", "/repos/acme/app/issues", map[string]any{"title": "one", "body": "b", "labels": []string{"bug", "new"}, "assignees": []string{"ana"}, "milestone": 1}, 201},
		{"POST", "/repos/acme/app/issues", map[string]any{"title": "bad", "assignees": []string{"nobody"}}, 422},
		{"GET", "/repos/acme/app/issues/2", nil, 200},
		{"GET", "/repos/acme/app/issues/1", nil, 200},
		{"GET", "/repos/acme/app/issues/99", nil, 404},
		{"PATCH", "/repos/acme/app/issues/2", map[string]any{"state": "closed", "state_reason": "not_planned", "milestone": nil}, 200},
		{"GET", "/repos/acme/app/issues?state=all&sort=updated&direction=asc&per_page=1", nil, 200},
		{"GET", "/repos/acme/app/issues?state=all&since=2026-11-01T09:00:00Z&labels=bug", nil, 200},
		{"POST", "/repos/acme/app/issues/2/comments", map[string]string{"body": "hello"}, 201},
		{"GET", "/repos/acme/app/issues/2/comments", nil, 200},
		{"GET", "/repos/acme/app/assignees", nil, 200},
		{"GET", "/repos/acme/app/assignees/ana", nil, 204},
		{"GET", "/repos/acme/app/assignees/nobody", nil, 404},
		{"GET", "/repos/acme/nothing/issues", nil, 404},
		{"GET", "/rate_limit", nil, 200},
	}
	for _, st := range steps {
		if got := c.do(st.method, st.path, st.body); got.status != st.want {
			t.Errorf("%s %s: status %d, want %d: %s", st.method, st.path, got.status, st.want, got.body)
		}
	}
	var cm struct{ ID int64 }
	c.do("GET", "/repos/acme/app/issues/2/comments", nil).json(t, &[]any{})
	cs := s.Comments(DefaultRepo, 2)
	cm.ID = cs[0].ID
	if got := c.do("PATCH", fmt.Sprintf("/repos/acme/app/issues/comments/%d", cm.ID), map[string]string{"body": "edited"}); got.status != 200 {
		t.Errorf("editing a comment: %d %s", got.status, got.body)
	}
	if got := c.do("GET", fmt.Sprintf("/repos/acme/app/issues/comments/%d", cm.ID), nil); got.status != 200 {
		t.Errorf("reading a comment: %d", got.status)
	}
	// A request the contract itself refuses goes around the checker.
	if got := newClient(t, s, nil).do("POST", "/repos/acme/app/issues", map[string]any{"body": "no title"}); got.status != 422 {
		t.Errorf("an issue without a title: %d, want 422", got.status)
	}
	if err := s.DeleteIssue(DefaultRepo, 2); err != nil {
		t.Fatal(err)
	}
	if got := c.do("GET", "/repos/acme/app/issues/2", nil); got.status != 410 {
		t.Errorf("a deleted issue: status %d, want 410", got.status)
	}
	checker.Check(t, len(steps))
}

func TestErrorShapes(t *testing.T) {
	s := New(t, Options{})
	c := newClient(t, s, nil)
	type fieldErr struct{ Resource, Field, Code string }
	var e struct {
		Message          string
		DocumentationURL string `json:"documentation_url"`
		Errors           []fieldErr
	}
	c.do("POST", "/repos/acme/app/issues", map[string]any{"title": "x", "assignees": []string{"ghost"}}).json(t, &e)
	want := []fieldErr{{"Issue", "assignees", "invalid"}}
	if e.Message != "Validation Failed" || e.DocumentationURL == "" || !cmp.Equal(e.Errors, want) {
		t.Errorf("422 body: %+v", e)
	}
	e.Errors = nil
	c.do("GET", "/repos/acme/app/issues/5", nil).json(t, &e)
	if e.Message != "Not Found" || e.DocumentationURL == "" {
		t.Errorf("404 body: %+v", e)
	}
}

func TestListing(t *testing.T) {
	s := New(t, Options{})
	c := newClient(t, s, nil)
	for i := range 5 {
		s.CreateIssue(DefaultRepo, Issue{Title: fmt.Sprintf("issue %d", i), Labels: []string{"l" + fmt.Sprint(i%2)}})
		s.Advance(time.Minute)
	}
	s.CreateIssue(DefaultRepo, Issue{Title: "pr", PullRequest: true})
	since := s.Now().Add(-150 * time.Second).Format(time.RFC3339)
	type is struct {
		Number      int
		PullRequest any `json:"pull_request"`
	}
	numbers := func(path string) ([]int, string) {
		a := c.do("GET", path, nil)
		var got []is
		a.json(t, &got)
		var out []int
		for _, x := range got {
			out = append(out, x.Number)
		}
		return out, a.header.Get("Link")
	}
	tests := []struct {
		path     string
		want     []int
		wantNext bool
	}{
		{"/repos/acme/app/issues", []int{6, 5, 4, 3, 2, 1}, false},
		{"/repos/acme/app/issues?direction=asc&per_page=2", []int{1, 2}, true},
		{"/repos/acme/app/issues?direction=asc&per_page=2&page=3", []int{5, 6}, false},
		{"/repos/acme/app/issues?labels=l1", []int{4, 2}, false},
		{"/repos/acme/app/issues?since=" + since + "&sort=updated&direction=asc", []int{4, 5, 6}, false},
		{"/repos/acme/app/issues?state=closed", nil, false},
	}
	for _, tc := range tests {
		got, link := numbers(tc.path)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.path, diff)
		}
		if strings.Contains(link, `rel="next"`) != tc.wantNext {
			t.Errorf("%s: Link %q, want next: %v", tc.path, link, tc.wantNext)
		}
	}
	// An issue that reaches the listing late (created before issue 1)
	// sorts by its creation time, not its number, both ways.
	s.CreateIssue(DefaultRepo, Issue{Title: "late", CreatedAt: s.Now().Add(-time.Hour)})
	if got, _ := numbers("/repos/acme/app/issues?direction=asc&per_page=3"); !slices.Equal(got, []int{7, 1, 2}) {
		t.Errorf("ascending by creation after a late issue = %v, want [7 1 2]", got)
	}
	if got, _ := numbers("/repos/acme/app/issues?per_page=3&page=3"); !slices.Equal(got, []int{7}) {
		t.Errorf("last page descending by creation after a late issue = %v, want [7]", got)
	}
}

func TestETagAndQuota(t *testing.T) {
	s := New(t, Options{RateLimit: 10})
	c := newClient(t, s, nil)
	s.CreateIssue(DefaultRepo, Issue{Title: "one"})
	first := c.do("GET", "/repos/acme/app/issues?state=all", nil)
	etag := first.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on a list")
	}
	before := first.header.Get("X-RateLimit-Remaining")
	again := c.do("GET", "/repos/acme/app/issues?state=all", nil, "If-None-Match", etag)
	if again.status != http.StatusNotModified || len(again.body) != 0 {
		t.Fatalf("conditional GET: %d %q, want 304 and no body", again.status, again.body)
	}
	if got := again.header.Get("X-RateLimit-Remaining"); got != before {
		t.Errorf("a 304 used quota: remaining %s then %s", before, got)
	}
	if err := s.EditIssue(DefaultRepo, 1, func(x *Issue) { x.Title = "changed" }); err != nil {
		t.Fatal(err)
	}
	if a := c.do("GET", "/repos/acme/app/issues?state=all", nil, "If-None-Match", etag); a.status != 200 {
		t.Errorf("after an edit: %d, want 200", a.status)
	}
	for range 10 {
		c.do("GET", "/repos/acme/app/issues/1", nil)
	}
	a := c.do("GET", "/repos/acme/app/issues/1", nil)
	if a.status != 403 || a.header.Get("X-RateLimit-Remaining") != "0" || a.header.Get("X-RateLimit-Reset") == "" {
		t.Errorf("past the primary limit: %d remaining %q", a.status, a.header.Get("X-RateLimit-Remaining"))
	}
	s.Advance(time.Hour)
	if a := c.do("GET", "/repos/acme/app/issues/1", nil); a.status != 200 {
		t.Errorf("after the reset: %d", a.status)
	}
	cnt := s.Count()
	if cnt.NotModified != 1 {
		t.Errorf("Count: %+v, want one 304", cnt)
	}
}

func TestSecondaryLimit(t *testing.T) {
	s := New(t, Options{ContentPerMinute: 3, ContentPerHour: 5})
	c := newClient(t, s, nil)
	create := func() answer { return c.do("POST", "/repos/acme/app/issues", map[string]string{"title": "x"}) }
	for i := range 3 {
		if a := create(); a.status != 201 {
			t.Fatalf("create %d: %d", i, a.status)
		}
		s.Advance(time.Second)
	}
	a := create()
	var e struct {
		Message          string
		DocumentationURL string `json:"documentation_url"`
	}
	a.json(t, &e)
	if a.status != 403 || a.header.Get("Retry-After") != "57" || !strings.Contains(e.Message, "secondary rate limit") || !strings.HasSuffix(e.DocumentationURL, "secondary-rate-limits") {
		t.Errorf("fourth create in a minute: %d Retry-After %q %+v", a.status, a.header.Get("Retry-After"), e)
	}
	s.Advance(57 * time.Second)
	for i := range 2 {
		if a := create(); a.status != 201 {
			t.Fatalf("create after the minute %d: %d", i, a.status)
		}
		s.Advance(2 * time.Second)
	}
	s.Advance(2 * time.Minute)
	if a := create(); a.status != 403 {
		t.Errorf("sixth create in an hour: %d, want 403", a.status)
	}
	if got := s.SecondaryViolations(); got != 2 {
		t.Errorf("SecondaryViolations = %d, want 2", got)
	}
	if n := len(s.Issues(DefaultRepo)); n != 5 {
		t.Errorf("%d issues made, want 5", n)
	}
}

func TestFaults(t *testing.T) {
	s := New(t, Options{})
	c := newClient(t, s, nil)
	s.Inject(Fault{Method: "POST", Path: "/repos/acme/app/issues", Status: 502, AfterApply: true})
	if a := c.do("POST", "/repos/acme/app/issues", map[string]string{"title": "lost answer"}); a.status != 502 {
		t.Errorf("AfterApply fault: %d", a.status)
	}
	if n := len(s.Issues(DefaultRepo)); n != 1 {
		t.Errorf("AfterApply: %d issues, want the write applied", n)
	}
	s.Inject(Fault{Status: 500, Times: 2})
	for i := range 2 {
		if a := c.do("GET", "/repos/acme/app/issues/1", nil); a.status != 500 {
			t.Errorf("fault %d: %d", i, a.status)
		}
	}
	if a := c.do("GET", "/repos/acme/app/issues/1", nil); a.status != 200 {
		t.Errorf("after the faults: %d", a.status)
	}
	if got := len(s.Requests()); got != 4 {
		t.Errorf("request log holds %d, want 4", got)
	}
}

func TestAuth(t *testing.T) {
	s := New(t, Options{Tokens: []string{"good"}})
	s.AddToken("short", s.Now().Add(time.Minute))
	c := newClient(t, s, nil)
	for _, tc := range []struct {
		auth string
		want int
	}{{"", 401}, {"token bad", 401}, {"Bearer good", 200}, {"token short", 200}} {
		if a := c.do("GET", "/repos/acme/app", nil, "Authorization", tc.auth); a.status != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.auth, a.status, tc.want)
		}
	}
	s.Advance(time.Minute)
	if a := c.do("GET", "/repos/acme/app", nil, "Authorization", "token short"); a.status != 401 {
		t.Errorf("expired token: %d, want 401", a.status)
	}
}

func TestWebhooks(t *testing.T) {
	type got struct{ event, sig, delivery string }
	var received []got
	var bodies [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		received = append(received, got{r.Header.Get("X-GitHub-Event"), r.Header.Get("X-Hub-Signature-256"), r.Header.Get("X-GitHub-Delivery")})
		bodies = append(bodies, b)
	}))
	defer hook.Close()
	s := New(t, Options{})
	s.SetWebhook(hook.URL, "s3cret", hook.Client())
	c := newClient(t, s, nil)
	c.do("POST", "/repos/acme/app/issues", map[string]string{"title": "x"})
	c.do("POST", "/repos/acme/app/labels", map[string]string{"name": "new"})
	c.do("POST", "/repos/acme/app/issues/1/comments", map[string]string{"body": "hi"})
	var events []string
	for i, r := range received {
		events = append(events, r.event)
		if r.sig != Sign("s3cret", bodies[i]) || r.delivery == "" {
			t.Errorf("delivery %d (%s): signature %q, id %q", i, r.event, r.sig, r.delivery)
		}
	}
	if diff := cmp.Diff([]string{"ping", "issues", "label", "issue_comment"}, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if n := len(s.Deliveries()); n != 4 {
		t.Errorf("Deliveries() = %d", n)
	}
}

// TestTransferAndRename: a transferred issue and a renamed repository
// answer 301 with Location the new URL (a basic-error body, as the
// contract says), GET and PATCH alike; the Location is served; listings
// leave a transferred issue out; the hooks get transferred and opened.
func TestTransferAndRename(t *testing.T) {
	var events []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Action string
			Issue  struct{ Number int }
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &p)
		events = append(events, fmt.Sprintf("%s %s #%d", r.Header.Get("X-GitHub-Event"), p.Action, p.Issue.Number))
	}))
	defer hook.Close()
	s := New(t, Options{Repos: []string{"acme/app", "acme/other"}})
	checker := githubcontract.NewChecker(t, s.Client().Transport)
	c := newClient(t, s, checker)
	s.CreateIssue("acme/other", Issue{Title: "already there"})
	s.CreateIssue("acme/app", Issue{Title: "moves", Labels: []string{"bug"}})
	s.AddComment("acme/app", 1, "", "a comment")
	s.SetWebhook(hook.URL, "x", hook.Client())
	to, err := s.TransferIssue("acme/app", 1, "acme/other")
	if err != nil {
		t.Fatal(err)
	}
	if to.Repo != "acme/other" || to.Number != 2 || to.Title != "moves" || len(s.Comments("acme/other", 2)) != 1 {
		t.Errorf("transferred: %+v, comments %v", to, s.Comments("acme/other", 2))
	}
	for _, m := range []string{"GET", "PATCH"} {
		a := c.do(m, "/repos/acme/app/issues/1", map[string]string{"title": "x"})
		loc := a.header.Get("Location")
		var e struct{ Message, URL string }
		a.json(t, &e)
		if a.status != 301 || !strings.HasSuffix(loc, "/issues/2") || e.URL != loc {
			t.Errorf("%s of a transferred issue: %d Location %q %+v", m, a.status, loc, e)
		}
		if m == "GET" {
			var is struct {
				Title         string
				RepositoryURL string `json:"repository_url"`
			}
			b := newClient(t, s, nil).do("GET", strings.TrimPrefix(loc, strings.TrimSuffix(s.URL, "/")), nil)
			b.json(t, &is)
			if b.status != 200 || is.Title != "moves" || !strings.HasSuffix(is.RepositoryURL, "/repos/acme/other") {
				t.Errorf("following %s: %d %+v", loc, b.status, is)
			}
		}
	}
	if is, _ := s.Issue("acme/other", 2); is.Title != "moves" {
		t.Errorf("a PATCH answered 301 wrote: %+v", is)
	}
	var listed []struct{ Number int }
	c.do("GET", "/repos/acme/app/issues?state=all", nil).json(t, &listed)
	if len(listed) != 0 || len(s.Issues("acme/app")) != 0 {
		t.Errorf("acme/app still lists %v", listed)
	}
	if err := s.RenameRepo("acme/other", "acme/renamed"); err != nil {
		t.Fatal(err)
	}
	if a := c.do("GET", "/repos/acme/other/issues/2", nil); a.status != 301 || !strings.HasSuffix(a.header.Get("Location"), "/issues/2") {
		t.Errorf("GET in a renamed repository: %d %q", a.status, a.header.Get("Location"))
	}
	if a := c.do("GET", "/repos/acme/renamed/issues/2", nil); a.status != 200 {
		t.Errorf("GET under the new name: %d", a.status)
	}
	if diff := cmp.Diff([]string{"ping  #0", "issues transferred #1", "issues opened #2"}, events); diff != "" {
		t.Errorf("webhooks (-want +got):\n%s", diff)
	}
	checker.Check(t, 0)
}
