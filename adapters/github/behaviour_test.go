package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

const repoName = githubtest.DefaultRepo

func listAll(t *testing.T, tr *Tracker, sc, cursor string) ([]adapters.Item, string) {
	t.Helper()
	p := adaptertest.ListAll(t, tr, adapters.ListRequest{Scope: sc, Cursor: cursor})
	return p.Items, p.Cursor
}

func titles(items []adapters.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Title)
	}
	return out
}

func TestPullRequestsSkipped(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	f.fake.CreateIssue(repoName, githubtest.Issue{Title: "an issue"})
	pr := f.fake.CreateIssue(repoName, githubtest.Issue{Title: "a pull request", PullRequest: true})
	f.fake.CreateIssue(repoName, githubtest.Issue{Title: "another issue"})
	items, _ := listAll(t, f.tr, repoName, "")
	if diff := cmp.Diff([]string{"an issue", "another issue"}, titles(items)); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
	_, err := f.tr.Get(t.Context(), adapters.Ref{Tracker: "gh", ID: issueID(repoName, pr.Number)})
	if !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("Get of a pull request: %v, want ErrNotFound", err)
	}
}

// TestIdlePoll: once caught up, a poll with no changes is one request,
// answered 304, costing no quota.
func TestIdlePoll(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	for i := range 3 {
		f.fake.CreateIssue(repoName, githubtest.Issue{Title: fmt.Sprint("issue ", i)})
	}
	items, cur := listAll(t, f.tr, repoName, "")
	if len(items) != 3 {
		t.Fatalf("first listing: %d items", len(items))
	}
	// One catch-up poll: the first listing moved since, so it holds no
	// ETag for the query the next one makes.
	if items, cur = listAll(t, f.tr, repoName, cur); len(items) != 0 {
		t.Fatalf("catch-up poll listed %v", titles(items))
	}
	for i := range 3 {
		f.fake.ResetLog()
		before := f.fake.RateRemaining()
		items, cur = listAll(t, f.tr, repoName, cur)
		c := f.fake.Count()
		if len(items) != 0 || c.Requests != 1 || c.NotModified != 1 || c.Quota != 0 || f.fake.RateRemaining() != before {
			t.Errorf("idle poll %d: %d items, %+v, remaining %d→%d; want 0 items, 1 request answered 304, 0 quota",
				i, len(items), c, before, f.fake.RateRemaining())
		}
	}
	// A change is seen by the next poll, and only it.
	f.fake.Advance(time.Minute)
	if err := f.fake.EditIssue(repoName, 2, func(x *githubtest.Issue) { x.Title = "edited" }); err != nil {
		t.Fatal(err)
	}
	items, _ = listAll(t, f.tr, repoName, cur)
	if diff := cmp.Diff([]string{"edited"}, titles(items)); diff != "" {
		t.Errorf("poll after an edit (-want +got):\n%s", diff)
	}
}

// TestSameSecondEdits: GitHub's since has second precision; an issue
// changed twice within the second the cursor stands at is still seen.
func TestSameSecondEdits(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	f.fake.CreateIssue(repoName, githubtest.Issue{Title: "one"})
	f.fake.CreateIssue(repoName, githubtest.Issue{Title: "two"})
	_, cur := listAll(t, f.tr, repoName, "")
	f.fake.Advance(300 * time.Millisecond)
	f.fake.EditIssue(repoName, 1, func(x *githubtest.Issue) { x.Title = "one, again" })
	items, _ := listAll(t, f.tr, repoName, cur)
	if diff := cmp.Diff([]string{"one, again"}, titles(items)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestStatusAndLabelsOneWrite: a status and the labels standing for it
// (several status labels swapped at once) land in one PATCH.
func TestStatusAndLabelsOneWrite(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	res, err := f.tr.Create(t.Context(), adapters.Item{Title: "x", Status: StatusOpen, Labels: []string{"bug", "status: in progress", "status: in review"}}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.fake.ResetLog()
	next := adapters.Item{Status: StatusClosed, Labels: []string{"bug", "status: done"}}
	got, err := f.tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus, adapters.FieldLabels}, Item: next, IfVersion: res.Item.Version})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusClosed || !cmp.Equal(got.Labels, []string{"bug", "status: done"}) {
		t.Errorf("after the update: %q %v", got.Status, got.Labels)
	}
	var patches int
	for _, r := range f.fake.Requests() {
		if r.Method == http.MethodPatch {
			patches++
		}
	}
	if patches != 1 {
		t.Errorf("%d PATCH requests, want one carrying state and labels", patches)
	}
	labels := map[string]string{}
	for _, l := range f.fake.Labels(repoName) {
		labels[l.Name] = l.Color
	}
	if c := labels["status: done"]; c == "" || c == "ededed" {
		t.Errorf("label made by tracksync has colour %q, want one of its own", c)
	}
}

// TestBodyMarkers: the idempotency marker and the children section are
// hidden from Item.Body and survive edits by people and by tracksync.
func TestBodyMarkers(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	ctx := t.Context()
	res, err := f.tr.Create(ctx, adapters.Item{Title: "epic", Body: "Intro.\n\nDetails."}, adapters.CreateOptions{IdempotencyKey: "flow:a:PLAT-1"})
	if err != nil {
		t.Fatal(err)
	}
	child, _ := f.tr.Create(ctx, adapters.Item{Title: "child"}, adapters.CreateOptions{})
	if _, err := f.tr.UpdateChildren(ctx, res.Item.Ref, []adapters.Item{child.Item}); err != nil {
		t.Fatal(err)
	}
	// A person rewrites the text in the web editor, markers kept.
	personEdit(t, f.fake, res.Item.Ref, func(x *adapters.Item) { x.Body = "Intro, reworded by a person.\n\nDetails." })
	got, err := f.tr.Get(ctx, res.Item.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if got.Body != "Intro, reworded by a person.\n\nDetails." || got.SyncKey != "flow:a:PLAT-1" {
		t.Errorf("after a person's edit: body %q, key %q", got.Body, got.SyncKey)
	}
	// tracksync writes the body: the person's edit is replaced, the
	// markers stay.
	if _, err := f.tr.Update(ctx, got.Ref, adapters.Patch{Fields: []string{adapters.FieldBody}, Item: adapters.Item{Body: "Synced body."}}); err != nil {
		t.Fatal(err)
	}
	is, _ := f.fake.Issue(repoName, 1)
	want := "Synced body.\n\n<!-- tracksync:children -->\n- [ ] #2\n<!-- /tracksync:children -->\n\n<!-- tracksync:key=flow:a:PLAT%2D1 -->"
	if is.Body != want {
		t.Errorf("raw body:\n%s\nwant:\n%s", is.Body, want)
	}
	// Children change: the text around the section is untouched.
	child.Item.StatusCategory = adapters.CategoryDone
	if _, err := f.tr.UpdateChildren(ctx, res.Item.Ref, []adapters.Item{child.Item}); err != nil {
		t.Fatal(err)
	}
	is, _ = f.fake.Issue(repoName, 1)
	if !strings.HasPrefix(is.Body, "Synced body.\n\n<!-- tracksync:children -->\n- [x] #2\n") || !strings.HasSuffix(is.Body, "<!-- tracksync:key=flow:a:PLAT%2D1 -->") {
		t.Errorf("raw body after the child closed:\n%s", is.Body)
	}
	if diff := cmp.Diff([]string{"#2"}, Children(is.Body)); diff != "" {
		t.Errorf("Children (-want +got):\n%s", diff)
	}
}

func TestSplitBody(t *testing.T) {
	tests := []struct {
		name, raw string
		want      rawBody
	}{
		{"plain", "hello\n", rawBody{Text: "hello\n"}},
		{"marker", "hello\n\n<!-- tracksync:key=k1 -->", rawBody{Text: "hello", Key: "k1"}},
		{"marker moved by a person", "<!-- tracksync:key=k1 -->\nhello", rawBody{Text: "\nhello", Key: "k1"}},
		{"children and marker", "a\n\n" + childrenOpen + "\n- [ ] #1\n" + childrenClose + "\n\n<!-- tracksync:key=k%2D%2D2 -->",
			rawBody{Text: "a", Key: "k--2", Children: childrenOpen + "\n- [ ] #1\n" + childrenClose}},
		{"text after children", "a\n\n" + childrenOpen + "\n" + childrenClose + "\nafter", rawBody{Text: "a\nafter", Children: childrenOpen + "\n" + childrenClose}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := splitBody(tc.raw)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(rawBody{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if again := splitBody(got.join()); again != got {
				t.Errorf("join then split: %+v, want %+v", again, got)
			}
		})
	}
}

func TestIdempotentCreateAfterLostAnswer(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	for i := range 120 { // more than a page of older issues
		f.fake.CreateIssue(repoName, githubtest.Issue{Title: fmt.Sprint("old ", i)})
	}
	f.fake.Inject(githubtest.Fault{Method: http.MethodPost, Path: "/repos/acme/app/issues", Status: http.StatusBadGateway, AfterApply: true})
	it := adapters.Item{Title: "made once", Status: StatusOpen}
	if _, err := f.tr.Create(t.Context(), it, adapters.CreateOptions{IdempotencyKey: "k-1"}); err == nil {
		t.Fatal("Create with a lost answer succeeded")
	}
	posts := 0
	for _, r := range f.fake.Requests() {
		if r.Method == http.MethodPost {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("%d POSTs: a create must never be retried by the transport", posts)
	}
	res, err := f.tr.Create(t.Context(), it, adapters.CreateOptions{IdempotencyKey: "k-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Existed || res.Item.SyncKey != "k-1" {
		t.Errorf("retried Create: Existed=%v key %q", res.Existed, res.Item.SyncKey)
	}
	if n := len(f.fake.Issues(repoName)); n != 121 {
		t.Errorf("%d issues, want 121", n)
	}
}

func TestRateLimits(t *testing.T) {
	tests := []struct {
		name  string
		fault githubtest.Fault
		want  time.Duration
	}{
		{"secondary with Retry-After", githubtest.Fault{Method: http.MethodPost, Secondary: true, RetryAfter: 90 * time.Second}, 90 * time.Second},
		{"secondary without Retry-After", githubtest.Fault{Method: http.MethodPost, Secondary: true}, time.Minute},
		{"429 with Retry-After", githubtest.Fault{Method: http.MethodPost, Status: 429, RetryAfter: 5 * time.Second}, 5 * time.Second},
		{"403 abuse message, no header", githubtest.Fault{Method: http.MethodPost, Status: 403, Message: "You have exceeded a secondary rate limit"}, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, githubtest.Options{})
			f.fake.Inject(tc.fault)
			_, err := f.tr.Create(t.Context(), adapters.Item{Title: "x"}, adapters.CreateOptions{})
			var rl *adapters.RateLimitError
			if !errors.As(err, &rl) || rl.RetryAfter != tc.want {
				t.Fatalf("got %v, want a RateLimitError with RetryAfter %v", err, tc.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
	t.Run("primary used up", func(t *testing.T) {
		f := newFixture(t, githubtest.Options{RateLimit: 3})
		f.fake.CreateIssue(repoName, githubtest.Issue{Title: "x"})
		ref := adapters.Ref{Tracker: "gh", ID: issueID(repoName, 1)}
		var err error
		for range 4 { // one request each: the issue has no comments to read
			_, err = f.tr.Get(t.Context(), ref)
		}
		var rl *adapters.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter <= 0 || rl.RetryAfter > time.Hour {
			t.Fatalf("got %v, want a RateLimitError until the reset", err)
		}
		f.fake.ResetLog()
		if _, err := f.tr.Get(t.Context(), ref); !errors.As(err, &rl) || len(f.fake.Requests()) != 0 {
			t.Errorf("with no quota left: %v after %d requests, want a RateLimitError without asking", err, len(f.fake.Requests()))
		}
		f.fake.Advance(time.Hour)
		if _, err := f.tr.Get(t.Context(), ref); err != nil {
			t.Errorf("after the reset: %v", err)
		}
	})
}

// TestPacing creates more issues than the secondary limits allow in an
// hour, on the simulated clock: no request is refused, and the rate used
// is close to the allowed one.
func TestPacing(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	start := f.fake.Now()
	const n = 600
	for i := range n {
		if _, err := f.tr.Create(t.Context(), adapters.Item{Title: fmt.Sprint("issue ", i)}, adapters.CreateOptions{}); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	elapsed := f.fake.Now().Sub(start)
	if v := f.fake.SecondaryViolations(); v != 0 {
		t.Errorf("%d secondary-limit violations", v)
	}
	// 500 in the first hour (at 80 a minute), the other 100 as the
	// first ones leave the hour window, 80 a minute: just over an hour.
	if min, max := time.Hour, time.Hour+2*time.Minute; elapsed < min || elapsed > max {
		t.Errorf("%d creates took %v of simulated time, want between %v and %v", n, elapsed, min, max)
	}
}

func TestConcurrentWritesOneAtATime(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			it := adapters.Item{Title: fmt.Sprint("c", i), Labels: []string{"new label"}, Fields: map[string]string{"milestone": "v1"}}
			if _, err := f.tr.Create(context.Background(), it, adapters.CreateOptions{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(f.fake.Issues(repoName)); n != 8 {
		t.Errorf("%d issues, want 8", n)
	}
}

func TestWebhooks(t *testing.T) {
	const secret = "hook-secret"
	f := newFixture(t, githubtest.Options{}, func(o *Options) { o.WebhookSecret = secret })
	var mu sync.Mutex
	var events []adapters.Event
	var errs []error
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		evs, err := f.tr.DecodeWebhook(r.Header, body)
		mu.Lock()
		defer mu.Unlock()
		events = append(events, evs...)
		if err != nil {
			errs = append(errs, err)
		}
	}))
	defer hook.Close()
	f.fake.SetWebhook(hook.URL, secret, hook.Client())
	f.fake.CreateIssue(repoName, githubtest.Issue{Title: "x"})
	f.fake.CreateIssue(repoName, githubtest.Issue{Title: "pr", PullRequest: true})
	f.fake.AddComment(repoName, 1, "ana", "hi")
	f.fake.DeleteIssue(repoName, 1)
	var got []string
	for _, e := range events {
		got = append(got, string(e.Type)+" "+e.Ref.ID)
	}
	want := []string{"upserted acme/app#1", "comment acme/app#1", "deleted acme/app#1"}
	if diff := cmp.Diff(want, got); diff != "" || len(errs) > 0 {
		t.Errorf("events (-want +got):\n%s\nerrors: %v", diff, errs)
	}
	// A redelivery yields nothing.
	d := f.fake.Deliveries()[1]
	if evs, err := f.tr.DecodeWebhook(d.Header, d.Body); err != nil || len(evs) != 0 {
		t.Errorf("redelivery: %v %v, want nothing", evs, err)
	}

	// Bad signatures are refused before the body is parsed: the body here
	// is not JSON, and the error is about the signature.
	garbage := []byte("{not json")
	for name, sig := range map[string]string{
		"missing":   "",
		"malformed": "sha256=zz",
		"wrong":     githubtest.Sign("other secret", garbage),
		"sha1":      "sha1=" + strings.Repeat("0", 40),
	} {
		h := http.Header{"X-Github-Event": {"issues"}, "X-Github-Delivery": {"d-" + name}}
		if sig != "" {
			h.Set("X-Hub-Signature-256", sig)
		}
		if _, err := f.tr.DecodeWebhook(h, garbage); !errors.Is(err, adapters.ErrUnauthorized) {
			t.Errorf("%s signature: %v, want ErrUnauthorized", name, err)
		}
	}
	h := http.Header{"X-Github-Event": {"issues"}, "X-Github-Delivery": {"d-good"}, "X-Hub-Signature-256": {githubtest.Sign(secret, garbage)}}
	if _, err := f.tr.DecodeWebhook(h, garbage); !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("good signature over garbage: %v, want ErrInvalid from parsing", err)
	}
}

func TestScope(t *testing.T) {
	tests := []struct {
		in      string
		want    scope
		wantErr bool
	}{
		{"acme/app", scope{repos: []string{"acme/app"}, state: "all"}, false},
		{"acme/app acme/web label:epic state:open", scope{repos: []string{"acme/app", "acme/web"}, labels: []string{"epic"}, state: "open"}, false},
		{"", scope{}, true},
		{"label:x", scope{}, true},
		{"acme", scope{}, true},
		{"acme/app state:closed", scope{}, true},
	}
	for _, tc := range tests {
		got, err := parseScope(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseScope(%q): error %v", tc.in, err)
			continue
		}
		if err == nil {
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(scope{})); diff != "" {
				t.Errorf("parseScope(%q) (-want +got):\n%s", tc.in, diff)
			}
		}
	}
}

func TestMultiRepoAndLabelScope(t *testing.T) {
	f := newFixture(t, githubtest.Options{Repos: []string{"acme/app", "acme/web"}})
	f.fake.CreateIssue("acme/app", githubtest.Issue{Title: "app epic", Labels: []string{"epic"}})
	f.fake.CreateIssue("acme/app", githubtest.Issue{Title: "app bug", Labels: []string{"bug"}})
	f.fake.CreateIssue("acme/web", githubtest.Issue{Title: "web epic", Labels: []string{"epic"}})
	items, cur := listAll(t, f.tr, "acme/app acme/web label:epic", "")
	if diff := cmp.Diff([]string{"app epic", "web epic"}, titles(items)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if items[1].Ref.Project != "acme/web" || items[1].Ref.ID != "acme/web#1" {
		t.Errorf("ref %+v", items[1].Ref)
	}
	f.fake.Advance(time.Minute)
	f.fake.EditIssue("acme/web", 1, func(x *githubtest.Issue) { x.Title = "web epic, edited" })
	items, _ = listAll(t, f.tr, "acme/app acme/web label:epic", cur)
	if diff := cmp.Diff([]string{"web epic, edited"}, titles(items)); diff != "" {
		t.Errorf("since the cursor (-want +got):\n%s", diff)
	}
}

// TestAppAuth: a GitHub App's installation token is minted from the
// app's key, reused while valid, and refreshed before it expires (the
// fake's clock runs from real time here, since ghinstallation reads the
// real clock).
func TestAppAuth(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	fo := githubtest.Options{Tokens: []string{}, Start: time.Now().UTC()}
	f := newFixture(t, fo, func(o *Options) {
		o.Token = ""
		o.App = &AppAuth{AppID: 42, InstallationID: 7, PrivateKey: pemKey}
	})
	f.fake.AddApp(githubtest.App{ID: 42, InstallationID: 7, Key: &key.PublicKey})
	f.fake.CreateIssue(repoName, githubtest.Issue{Title: "x"})
	ref := adapters.Ref{Tracker: "gh", ID: issueID(repoName, 1)}
	for i := range 3 {
		if _, err := f.tr.Get(t.Context(), ref); err != nil {
			t.Fatalf("Get %d: %v", i, err)
		}
	}
	if m := f.fake.Minted(); m != 1 {
		t.Errorf("%d tokens minted for three calls within the hour, want 1", m)
	}
	// Tokens now live 30 s: inside the refresh margin, so each call gets
	// a fresh one rather than sending one about to expire.
	f.fake.SetTokenTTL(30 * time.Second)
	f.fake.ResetLog()
	tr2, err := New("gh", f.tr.opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := tr2.Get(t.Context(), ref); err != nil {
			t.Fatalf("Get %d with short-lived tokens: %v", i, err)
		}
	}
	calls := 0
	for _, r := range f.fake.Requests() {
		if !strings.Contains(r.Path, "/app/installations/") {
			calls++
		}
	}
	if m := f.fake.Minted(); m != 1+calls {
		t.Errorf("%d tokens minted in all, %d calls with short-lived tokens: want a fresh token for each", m, calls)
	}
	// A wrong key is refused, and the error says so without the key.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	badOpts := f.tr.opts
	badOpts.App = &AppAuth{AppID: 42, InstallationID: 7, PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})}
	bad, _ := New("gh", badOpts)
	if _, err := bad.Get(t.Context(), ref); err == nil {
		t.Error("a token minted with the wrong key was accepted")
	}
}

func TestCheck(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	if err := f.tr.Check(t.Context()); err != nil {
		t.Errorf("Check: %v", err)
	}
	opts := f.tr.opts
	opts.Token = "wrong"
	bad, _ := New("gh", opts)
	if err := bad.Check(t.Context()); !errors.Is(err, adapters.ErrUnauthorized) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("Check with a bad token: %v, want ErrUnauthorized without the token", err)
	}
}

func TestRegistry(t *testing.T) {
	reg := adapters.NewRegistry()
	if err := reg.Register(Spec()); err != nil {
		t.Fatal(err)
	}
	fake := githubtest.New(t, githubtest.Options{})
	raw := map[string]any{"url": fake.URL, "auth": map[string]any{"token": "t"}, "limits": map[string]any{"content_per_minute": 10}}
	tr, err := reg.Open(t.Context(), "acme-gh", "github", raw, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.(*Tracker).opts.ContentPerMinute; got != 10 {
		t.Errorf("content_per_minute = %d", got)
	}
	for name, raw := range map[string]map[string]any{
		"no auth":         {"url": fake.URL},
		"half an app":     {"auth": map[string]any{"app_id": 1}},
		"bad limit":       {"auth": map[string]any{"token": "t"}, "limits": map[string]any{"content_per_minute": "lots"}},
		"unknown limit":   {"auth": map[string]any{"token": "t"}, "limits": map[string]any{"per_day": 3}},
		"missing keyfile": {"auth": map[string]any{"app_id": 1, "installation_id": 2, "private_key_file": "/nonexistent.pem"}},
	} {
		if _, err := reg.Open(t.Context(), "acme-gh", "github", raw, nil, ""); err == nil {
			t.Errorf("%s: opened", name)
		} else if strings.Contains(err.Error(), "\"t\"") {
			t.Errorf("%s: error shows the token: %v", name, err)
		}
	}
	if diff := cmp.Diff([]string{"auth.token", "webhook_secret"}, reg.Secrets("github")); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
}

func TestAPIBase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://api.github.com", "https://api.github.com/"},
		{"https://api.github.com/", "https://api.github.com/"},
		{"https://ghe.acme.com", "https://ghe.acme.com/api/v3/"},
		{"https://ghe.acme.com/api/v3", "https://ghe.acme.com/api/v3/"},
		{"https://ghe.acme.com/api/v3/", "https://ghe.acme.com/api/v3/"},
	}
	for _, tc := range tests {
		got, err := apiBase(tc.in)
		if err != nil || got.String() != tc.want {
			t.Errorf("apiBase(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := apiBase("ghe.acme.com"); !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("apiBase without a scheme: %v", err)
	}
}

func TestUnknownStatus(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	if _, err := f.tr.Create(t.Context(), adapters.Item{Title: "x", Status: "In Progress"}, adapters.CreateOptions{}); !errors.Is(err, adapters.ErrInvalid) || !adapters.IsPermanent(err) {
		t.Errorf("Create with a status GitHub lacks: %v, want a permanent ErrInvalid", err)
	}
	if n := len(f.fake.Issues(repoName)); n != 0 {
		t.Errorf("%d issues made", n)
	}
}
