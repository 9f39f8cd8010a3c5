package github

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gh "github.com/google/go-github/v60/github"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

// hookTransport runs before on every request ahead of sending it, so a
// test can play a person acting between two calls of one operation, and
// records the bodies of writes.
type hookTransport struct {
	next   http.RoundTripper
	before func(*http.Request)
	mu     sync.Mutex
	writes []string // "METHOD path body"
}

func (h *hookTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if h.before != nil {
		h.before(req)
	}
	if req.Method != http.MethodGet && req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(b))
		h.mu.Lock()
		h.writes = append(h.writes, req.Method+" "+req.URL.Path+" "+string(b))
		h.mu.Unlock()
	}
	return h.next.RoundTrip(req)
}

func (h *hookTransport) written() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.writes...)
}

// withHook puts a hookTransport in front of the fixture's transport.
func withHook(h *hookTransport) func(*Options) {
	return func(o *Options) {
		h.next = o.Transport
		o.Transport = h
	}
}

const otherRepo = "acme/other"

// TestTransferredIssue: GitHub answers 301 for an issue moved to another
// repository. That is ErrNotFound ("moved to ...") for Get and Update, a
// PATCH is never turned into a GET that "succeeds", Refs name the
// repository the issue is really in, and the webhook says deleted.
func TestTransferredIssue(t *testing.T) {
	const secret = "hook-secret"
	hook := &hookTransport{}
	var fake *githubtest.Server
	transferOnPatch := false
	hook.before = func(req *http.Request) {
		// Transferred between Update's read and its write.
		if transferOnPatch && req.Method == http.MethodPatch {
			transferOnPatch = false
			if _, err := fake.TransferIssue(repoName, 2, otherRepo); err != nil {
				t.Error(err)
			}
		}
	}
	f := newFixture(t, githubtest.Options{Repos: []string{repoName, otherRepo}}, withHook(hook),
		func(o *Options) { o.WebhookSecret = secret })
	fake = f.fake
	var mu sync.Mutex
	var events []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		evs, err := f.tr.DecodeWebhook(r.Header, body)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("DecodeWebhook: %v", err)
		}
		for _, e := range evs {
			events = append(events, string(e.Type)+" "+e.Ref.ID)
		}
	}))
	defer srv.Close()

	ctx := t.Context()
	moved, err := f.tr.Create(ctx, adapters.Item{Title: "moves away"}, adapters.CreateOptions{Scope: repoName, IdempotencyKey: "k-moves"})
	if err != nil {
		t.Fatal(err)
	}
	racing, err := f.tr.Create(ctx, adapters.Item{Title: "moves mid-update"}, adapters.CreateOptions{Scope: repoName})
	if err != nil {
		t.Fatal(err)
	}
	// Issues that the old repository plus the new number would name.
	for range 3 {
		f.fake.CreateIssue(repoName, githubtest.Issue{Title: "unrelated here"})
		f.fake.CreateIssue(otherRepo, githubtest.Issue{Title: "unrelated there"})
	}
	f.fake.SetWebhook(srv.URL, secret, srv.Client())
	to, err := f.fake.TransferIssue(repoName, 1, otherRepo)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := f.tr.Get(ctx, moved.Item.Ref); !errors.Is(err, adapters.ErrNotFound) || !strings.Contains(err.Error(), "moved to") {
		t.Errorf("Get of a transferred issue: %v, want ErrNotFound saying where it moved", err)
	}
	p := adapters.Patch{Item: adapters.Item{Title: "renamed"}, Fields: []string{adapters.FieldTitle}}
	if _, err := f.tr.Update(ctx, moved.Item.Ref, p); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("Update of a transferred issue: %v, want ErrNotFound", err)
	}
	transferOnPatch = true
	if _, err := f.tr.Update(ctx, racing.Item.Ref, p); !errors.Is(err, adapters.ErrNotFound) || !strings.Contains(err.Error(), "moved to") {
		t.Errorf("Update of an issue transferred before its PATCH: %v, want ErrNotFound saying where it moved", err)
	}
	for _, repo := range []string{repoName, otherRepo} {
		for _, is := range f.fake.Issues(repo) {
			if is.Title == "renamed" {
				t.Errorf("%s#%d was written: %+v", repo, is.Number, is)
			}
		}
	}

	// Listings: the old repository no longer has it; the new one does,
	// under its own name and number.
	items, _ := listAll(t, f.tr, repoName, "")
	for _, it := range items {
		if strings.HasPrefix(it.Title, "moves") {
			t.Errorf("%s still lists %s %q", repoName, it.Ref.ID, it.Title)
		}
	}
	items, _ = listAll(t, f.tr, otherRepo, "")
	var ids []string
	for _, it := range items {
		if it.Title == "moves away" {
			ids = append(ids, it.Ref.ID+" "+it.Ref.Project+" "+it.SyncKey)
		}
	}
	want := []string{issueID(otherRepo, to.Number) + " " + otherRepo + " k-moves"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("the moved issue in %s (-want +got):\n%s", otherRepo, diff)
	}

	mu.Lock()
	got := slices.Clone(events)
	mu.Unlock()
	wantEv := []string{"deleted acme/app#1", "upserted " + issueID(otherRepo, to.Number),
		"deleted acme/app#2", "upserted " + issueID(otherRepo, to.Number+1)}
	if diff := cmp.Diff(wantEv, got); diff != "" {
		t.Errorf("webhook events (-want +got):\n%s", diff)
	}
}

// TestRenamedRepository: a renamed repository redirects every path. That
// is a scope to fix, not its issues deleted: not ErrNotFound, permanent.
func TestRenamedRepository(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	res, err := f.tr.Create(t.Context(), adapters.Item{Title: "stays"}, adapters.CreateOptions{Scope: repoName})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.fake.RenameRepo(repoName, "acme/renamed"); err != nil {
		t.Fatal(err)
	}
	_, err = f.tr.Get(t.Context(), res.Item.Ref)
	if err == nil || errors.Is(err, adapters.ErrNotFound) || !adapters.IsPermanent(err) || !strings.Contains(err.Error(), "moved to") {
		t.Errorf("Get in a renamed repository: %v, want a permanent error saying it moved, not ErrNotFound", err)
	}
}

// TestIssueRepo: the repository comes from the answer, never the path
// asked.
func TestIssueRepo(t *testing.T) {
	tests := []struct {
		name, repoURL, htmlURL, want string
	}{
		{"github.com", "https://api.github.com/repos/o/r", "https://github.com/o/r/issues/3", "o/r"},
		{"enterprise", "https://ghe.example.com/api/v3/repos/o/r", "", "o/r"},
		{"html only", "", "https://ghe.example.com/o/r/issues/3", "o/r"},
		{"neither", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			is := &gh.Issue{}
			if tc.repoURL != "" {
				is.RepositoryURL = &tc.repoURL
			}
			if tc.htmlURL != "" {
				is.HTMLURL = &tc.htmlURL
			}
			if got := issueRepo(is); got != tc.want {
				t.Errorf("issueRepo = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestMilestoneMadeByAPerson: a milestone created after the cache was
// filled is found, not created again (which GitHub refuses as
// already_exists), including one made between the re-read and the POST.
func TestMilestoneMadeByAPerson(t *testing.T) {
	hook := &hookTransport{}
	var fake *githubtest.Server
	race := ""
	hook.before = func(req *http.Request) {
		if race != "" && req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/milestones") {
			fake.AddMilestone(repoName, race)
			race = ""
		}
	}
	f := newFixture(t, githubtest.Options{}, withHook(hook))
	fake = f.fake
	ctx := t.Context()
	res, err := f.tr.Create(ctx, adapters.Item{Title: "x", Fields: map[string]string{"milestone": "v1"}}, adapters.CreateOptions{Scope: repoName})
	if err != nil {
		t.Fatal(err)
	}
	v2 := f.fake.AddMilestone(repoName, "v2")
	set := func(title string) (adapters.Item, error) {
		return f.tr.Update(ctx, res.Item.Ref, adapters.Patch{
			Item: adapters.Item{Fields: map[string]string{"milestone": title}}, Fields: []string{FieldMilestone}})
	}
	got, err := set("v2")
	if err != nil {
		t.Fatalf("setting a milestone a person made: %v", err)
	}
	if got.Fields["milestone"] != "v2" {
		t.Errorf("milestone %q, want v2", got.Fields["milestone"])
	}
	if is, _ := f.fake.Issue(repoName, 1); is.Milestone != v2.Number {
		t.Errorf("issue milestone #%d, want #%d", is.Milestone, v2.Number)
	}
	race = "v3"
	if got, err = set("v3"); err != nil || got.Fields["milestone"] != "v3" {
		t.Errorf("a milestone made just before the create: %q, %v", got.Fields["milestone"], err)
	}
	for _, w := range hook.written() {
		if strings.Contains(w, "/milestones") && strings.Contains(w, "v2") {
			t.Errorf("tried to create v2: %s", w)
		}
	}
}

// TestLabelCase: GitHub matches label names ignoring case and keeps its
// own spelling, so the repository's spelling is what is written, and a
// difference in case only is no change at all.
func TestLabelCase(t *testing.T) {
	hook := &hookTransport{}
	f := newFixture(t, githubtest.Options{}, withHook(hook))
	ctx := t.Context()
	f.fake.CreateIssue(repoName, githubtest.Issue{Title: "seed", Labels: []string{"bug", "Needs Triage"}})
	res, err := f.tr.Create(ctx, adapters.Item{Title: "x", Labels: []string{"Bug", "needs triage", "New"}}, adapters.CreateOptions{Scope: repoName})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Needs Triage", "New", "bug"}, res.Item.Labels); diff != "" {
		t.Errorf("created with labels (-want +got):\n%s", diff)
	}
	var post string
	for _, w := range hook.written() {
		if strings.HasPrefix(w, "POST ") && strings.Contains(w, "/repos/acme/app/issues ") {
			post = w
		}
	}
	if !strings.Contains(post, `"labels":["Needs Triage","New","bug"]`) {
		t.Errorf("create sent %s, want the repository's spellings; writes %q", post, hook.written())
	}

	before := len(hook.written())
	p := adapters.Patch{Item: adapters.Item{Labels: []string{"BUG", "new", "needs triage"}}, Fields: []string{adapters.FieldLabels}}
	got, err := f.tr.Update(ctx, res.Item.Ref, p)
	if err != nil {
		t.Fatal(err)
	}
	if w := hook.written()[before:]; len(w) != 0 {
		t.Errorf("an update differing in case only wrote %q", w)
	}
	if diff := cmp.Diff(res.Item.Labels, got.Labels); diff != "" {
		t.Errorf("labels after a case-only update (-want +got):\n%s", diff)
	}

	p.Item.Labels = []string{"BUG", "needs TRIAGE"}
	if got, err = f.tr.Update(ctx, res.Item.Ref, p); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Needs Triage", "bug"}, got.Labels); diff != "" {
		t.Errorf("labels after dropping one (-want +got):\n%s", diff)
	}
	w := hook.written()
	if last := w[len(w)-1]; !strings.Contains(last, `"labels":["Needs Triage","bug"]`) {
		t.Errorf("update sent %s, want the repository's spellings", last)
	}
}

// TestKeyFoundOnLaggingReplica: an issue carrying a marker that shows up
// in listings after newer issues did (created before the watermark of the
// last look) is still found, not duplicated.
func TestKeyFoundOnLaggingReplica(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	ctx := t.Context()
	f.fake.Advance(time.Hour)
	f.fake.CreateIssue(repoName, githubtest.Issue{Title: "seed"})
	if _, err := f.tr.Create(ctx, adapters.Item{Title: "first"}, adapters.CreateOptions{Scope: repoName, IdempotencyKey: "k-1"}); err != nil {
		t.Fatal(err)
	}
	f.fake.Advance(time.Minute)
	// Made five minutes ago (by an earlier attempt whose answer was
	// lost), visible only now.
	late := f.fake.CreateIssue(repoName, githubtest.Issue{
		Title: "late", Body: rawBody{Text: "b", Key: "k-2"}.join(), CreatedAt: f.fake.Now().Add(-5 * time.Minute)})
	res, err := f.tr.Create(ctx, adapters.Item{Title: "late"}, adapters.CreateOptions{Scope: repoName, IdempotencyKey: "k-2"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Existed || res.Item.Ref.ID != issueID(repoName, late.Number) {
		t.Errorf("Create(k-2) = %s existed=%v, want the late %s", res.Item.Ref.ID, res.Existed, issueID(repoName, late.Number))
	}
	if n := len(f.fake.Issues(repoName)); n != 3 {
		t.Errorf("%d issues, want 3", n)
	}
}

// TestKeyLookBelowWatermarkBounded: with hundreds of issues made within
// the last ten minutes (a migration creating as fast as it may), the
// look before a create reads at most one page of issues older than the
// last look's watermark, not ten minutes of them.
func TestKeyLookBelowWatermarkBounded(t *testing.T) {
	f := newFixture(t, githubtest.Options{})
	ctx := t.Context()
	f.fake.Advance(time.Hour)
	if _, err := f.tr.Create(ctx, adapters.Item{Title: "first"}, adapters.CreateOptions{Scope: repoName, IdempotencyKey: "k-0"}); err != nil {
		t.Fatal(err)
	}
	for i := range 450 {
		f.fake.Advance(time.Second)
		f.fake.CreateIssue(repoName, githubtest.Issue{Title: "other " + strconv.Itoa(i)})
	}
	// The next look sets the watermark at the newest of them ...
	if _, err := f.tr.Create(ctx, adapters.Item{Title: "second"}, adapters.CreateOptions{Scope: repoName, IdempotencyKey: "k-1"}); err != nil {
		t.Fatal(err)
	}
	f.fake.ResetLog()
	// ... and the one after it reads one page, not the 450 issues of the
	// last eight minutes.
	if _, err := f.tr.Create(ctx, adapters.Item{Title: "third"}, adapters.CreateOptions{Scope: repoName, IdempotencyKey: "k-2"}); err != nil {
		t.Fatal(err)
	}
	lists := 0
	for _, r := range f.fake.Requests() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/issues") {
			lists++
		}
	}
	if lists != 1 {
		t.Errorf("the look before a create listed %d pages, want 1", lists)
	}
}
