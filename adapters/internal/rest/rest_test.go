package rest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// fakeClock is a clock whose Sleep advances it.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.t = c.t.Add(d)
	return nil
}

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

func TestBucketSpacesRequests(t *testing.T) {
	c := &fakeClock{t: t0}
	p := NewPacer(PacerOptions{Limits: Limits{PerSecond: 200}, Clock: c.Now, Sleep: c.Sleep})
	for range 5 {
		release, err := p.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	// The first goes at once, each next one 5ms later.
	if d := c.t.Sub(t0); d != 20*time.Millisecond {
		t.Errorf("5 requests at 200/s took %v, want 20ms", d)
	}
}

func TestBucketBurst(t *testing.T) {
	b := NewMemoryBudget(Limits{PerSecond: 1, Burst: 3})
	var got []time.Duration
	for range 5 {
		at, _ := b.Reserve(t.Context(), t0)
		got = append(got, at.Sub(t0))
	}
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("booked at %v, want %v", got, want)
		}
	}
	// Idle time refills the bucket up to its size, no further.
	later := t0.Add(time.Hour)
	for i := range 4 {
		at, _ := b.Reserve(t.Context(), later)
		if want := i == 3; at.After(later) != want {
			t.Errorf("request %d after an idle hour booked at +%v", i, at.Sub(later))
		}
	}
}

func TestWindows(t *testing.T) {
	// GitHub's secondary limits, scaled: 3 a minute, 5 an hour.
	b := NewMemoryBudget(Limits{Windows: []Window{{3, time.Minute}, {5, time.Hour}}})
	now := t0
	var got []time.Duration
	for range 7 {
		at, _ := b.Reserve(t.Context(), now)
		now = at
		got = append(got, at.Sub(t0))
	}
	want := []time.Duration{0, 0, 0, time.Minute, time.Minute, time.Hour, time.Hour}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("booked at %v, want %v", got, want)
		}
	}
}

func TestPacerCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := NewPacer(PacerOptions{Limits: Limits{PerSecond: 0.001}})
	release, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	release()
	if _, err := p.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting with a cancelled context: %v", err)
	}
}

func TestSerial(t *testing.T) {
	p := NewPacer(PacerOptions{Serial: true})
	release, err := p.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	if _, err := p.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second request while the first is in flight: %v", err)
	}
	release()
	r2, err := p.Acquire(t.Context())
	if err != nil {
		t.Fatalf("after the release: %v", err)
	}
	r2()
}

func TestHoldOnUsedUpQuota(t *testing.T) {
	c := &fakeClock{t: t0}
	p := NewPacer(PacerOptions{Tracker: "gh", Clock: c.Now, Sleep: c.Sleep})
	reset := t0.Add(10 * time.Minute)
	h := http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {itoa(reset.Unix())}}
	// A 429 is its own request's error, perhaps for one issue only.
	p.Observe(t.Context(), http.StatusTooManyRequests, h)
	if err := p.Blocked(t.Context()); err != nil {
		t.Fatalf("held after a 429: %v", err)
	}
	p.Observe(t.Context(), http.StatusOK, h)
	_, err := p.Acquire(t.Context())
	var rl *adapters.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 10*time.Minute || rl.Scope != "primary" {
		t.Fatalf("with the quota used up: %v, want a RateLimitError for 10m", err)
	}
	if !strings.Contains(err.Error(), "gh") {
		t.Errorf("error does not name the tracker: %v", err)
	}
	c.t = reset
	if err := p.Blocked(t.Context()); err != nil {
		t.Errorf("after the reset: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestParseRate(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want Rate
	}{
		{"none", http.Header{}, Rate{}},
		{"github", http.Header{"X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {itoa(t0.Add(time.Hour).Unix())}},
			Rate{Limit: 5000, Known: true, Reset: t0.Add(time.Hour)}},
		{"jira", http.Header{"Retry-After": {"2"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"2026-11-01T09:00:30Z"}, "Ratelimit-Reason": {"jira-burst-based"}},
			Rate{RetryAfter: 2 * time.Second, HasRetryAfter: true, Known: true, Reset: t0.Add(30 * time.Second), Reason: "jira-burst-based"}},
		{"delta reset", http.Header{"X-Ratelimit-Remaining": {"7"}, "X-Ratelimit-Reset": {"60"}}, Rate{Remaining: 7, Known: true, Reset: t0.Add(time.Minute)}},
		{"retry-after date", http.Header{"Retry-After": {t0.Add(90 * time.Second).Format(http.TimeFormat)}}, Rate{RetryAfter: 90 * time.Second, HasRetryAfter: true}},
		{"retry-after past date", http.Header{"Retry-After": {t0.Add(-time.Hour).Format(http.TimeFormat)}}, Rate{HasRetryAfter: true}},
		{"retry-after zero", http.Header{"Retry-After": {"0"}}, Rate{HasRetryAfter: true}},
		{"unreadable", http.Header{"Retry-After": {"soon"}, "X-Ratelimit-Remaining": {"x"}, "X-Ratelimit-Reset": {"later"}}, Rate{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseRate(tc.h, t0)
			if !got.Reset.Equal(tc.want.Reset) {
				t.Errorf("reset %v, want %v", got.Reset, tc.want.Reset)
			}
			got.Reset, tc.want.Reset = time.Time{}, time.Time{}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	scope := func(r Rate, op string) string { return "scope " + r.Reason + " " + op }
	reset := itoa(t0.Add(20 * time.Minute).Unix())
	tests := []struct {
		name      string
		status    int
		h         http.Header
		msg       string
		want      error
		wantWait  time.Duration
		wantScope string
		permanent bool
	}{
		{"ok", 200, nil, "", nil, 0, "", false},
		{"not found", 404, nil, "Issue does not exist", adapters.ErrNotFound, 0, "", false},
		{"gone", 410, nil, "", adapters.ErrNotFound, 0, "", false},
		{"unauthorized", 401, nil, "", adapters.ErrUnauthorized, 0, "", true},
		{"forbidden", 403, nil, "no permission", adapters.ErrForbidden, 0, "", true},
		{"conflict", 409, nil, "", adapters.ErrConflict, 0, "", false},
		{"bad request", 400, nil, "summary: required", adapters.ErrInvalid, 0, "", true},
		{"unprocessable", 422, nil, "", adapters.ErrInvalid, 0, "", true},
		{"moved", 301, http.Header{"Location": {"https://x/1"}}, "", adapters.ErrNotFound, 0, "", false},
		{"429 with Retry-After", 429, http.Header{"Retry-After": {"5"}, "Ratelimit-Reason": {"burst"}}, "slow down", &adapters.RateLimitError{}, 5 * time.Second, "scope burst op", false},
		{"429 bare", 429, nil, "", &adapters.RateLimitError{}, time.Minute, "scope  op", false},
		{"403 secondary", 403, http.Header{"Retry-After": {"90"}}, "", &adapters.RateLimitError{}, 90 * time.Second, "scope  op", false},
		{"403 secondary message", 403, nil, "You have exceeded a secondary rate limit", &adapters.RateLimitError{}, time.Minute, "scope  op", false},
		{"403 primary", 403, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {reset}}, "API rate limit exceeded", &adapters.RateLimitError{}, 20 * time.Minute, "primary", false},
		{"500", 500, nil, "boom", nil, 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Classify("jira", "op", tc.status, tc.h, tc.msg, Policy{DefaultRetryAfter: time.Minute, Scope: scope, Clock: func() time.Time { return t0 }})
			if tc.status < 300 {
				if err != nil {
					t.Fatalf("2xx: %v", err)
				}
				return
			}
			var ae *adapters.APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || ae.Tracker != "jira" {
				t.Fatalf("got %v, want an APIError for jira with status %d", err, tc.status)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%v does not carry the message %q", err, tc.msg)
			}
			if adapters.IsPermanent(err) != tc.permanent {
				t.Errorf("IsPermanent(%v) = %v", err, !tc.permanent)
			}
			if _, ok := tc.want.(*adapters.RateLimitError); ok {
				var rl *adapters.RateLimitError
				if !errors.As(err, &rl) || rl.RetryAfter != tc.wantWait || rl.Scope != tc.wantScope {
					t.Fatalf("got %#v, want a RateLimitError for %v, scope %q", rl, tc.wantWait, tc.wantScope)
				}
				return
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestShapes(t *testing.T) {
	html := "<!DOCTYPE html><html><head><title>Sign in</title></head><body>" + strings.Repeat("x", 400) + "</body></html>"
	tests := []struct {
		name  string
		shape Shape
		body  string
		ok    bool
	}{
		{"listing", Object("a listing", "issues"), `{"issues":[]}`, true},
		{"listing {}", Object("a listing", "issues"), `{}`, false},
		{"listing null", Object("a listing", "issues"), `{"issues":null}`, false},
		{"listing empty", Object("a listing", "issues"), ``, false},
		{"listing html", Object("a listing", "issues"), html, false},
		{"listing cut", Object("a listing", "issues"), `{"issues":[{"key":"PLAT-1"`, false},
		{"array", Array("a page of issues"), ` [] `, true},
		{"array {}", Array("a page of issues"), `{}`, false},
		{"array empty", Array("a page of issues"), "\n", false},
		{"no content empty", NoContent(), ``, true},
		{"no content json", NoContent(), `{"id":"1"}`, true},
		{"no content html", NoContent(), html, false},
		{"record", Record("a task", "data", "gid"), `{"data":{"gid":"12","name":"x"}}`, true},
		{"record empty", Record("a task", "data", "gid"), `{"data":{}}`, false},
		{"record empty gid", Record("a task", "data", "gid"), `{"data":{"gid":""}}`, false},
		{"record array", Record("a task", "data", "gid"), `{"data":[]}`, false},
		{"record {}", Record("a task", "data", "gid"), `{}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out any
			err := Decode("gh", "listing issues", 200, []byte(tc.body), tc.shape, &out)
			if (err == nil) != tc.ok {
				t.Fatalf("Decode(%q) = %v, want ok %v", tc.body, err, tc.ok)
			}
			if err == nil {
				return
			}
			if !errors.Is(err, adapters.ErrBadResponse) || adapters.IsPermanent(err) {
				t.Errorf("%v: want a retryable ErrBadResponse", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "HTTP 200") || !strings.Contains(msg, "listing issues") {
				t.Errorf("%q does not name the status and the call", msg)
			}
			if start := Snippet([]byte(tc.body)); !strings.Contains(msg, strings.TrimSuffix(start, "…")[:min(len(start), 20)]) {
				t.Errorf("%q does not show the body's first bytes", msg)
			}
			if len(msg) > 400 {
				t.Errorf("message of %d bytes: the body is not capped", len(msg))
			}
		})
	}
}

func TestRetriesOnlyIdempotent(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	hc := NewClient(Config{Tracker: "t", RetryMax: 2, RetryWaitMin: time.Microsecond, RetryWaitMax: time.Microsecond})
	send := func(ctx context.Context, method string) int {
		hits.Store(0)
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL, strings.NewReader("{}"))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("%s: status %d, want the last answer, 502", method, resp.StatusCode)
		}
		return int(hits.Load())
	}
	if n := send(t.Context(), http.MethodPost); n != 1 {
		t.Errorf("an unmarked POST was sent %d times, want 1", n)
	}
	if n := send(Idempotent(t.Context()), http.MethodGet); n != 3 {
		t.Errorf("a marked GET was sent %d times, want 3", n)
	}
}

func TestNoRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
	}))
	defer srv.Close()
	resp, err := NewClient(Config{NoRedirect: true}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently {
		t.Errorf("status %d, want the 301 itself", resp.StatusCode)
	}
}

// sharedBudget stands for a store-backed Budget: two pacers (two
// replicas) over one.
type sharedBudget struct {
	*MemoryBudget
	reserved atomic.Int32
}

func (b *sharedBudget) Reserve(ctx context.Context, now time.Time) (time.Time, error) {
	b.reserved.Add(1)
	return b.MemoryBudget.Reserve(ctx, now)
}

func TestBudgetShared(t *testing.T) {
	c := &fakeClock{t: t0}
	b := &sharedBudget{MemoryBudget: NewMemoryBudget(Limits{PerSecond: 1})}
	p1 := NewPacer(PacerOptions{Tracker: "jira", Budget: b, Clock: c.Now, Sleep: c.Sleep})
	p2 := NewPacer(PacerOptions{Tracker: "jira", Budget: b, Clock: c.Now, Sleep: c.Sleep})
	for _, p := range []*Pacer{p1, p2, p1, p2} {
		release, err := p.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	if n, d := b.reserved.Load(), c.t.Sub(t0); n != 4 || d != 3*time.Second {
		t.Errorf("%d reservations over %v, want 4 over 3s: one budget for both", n, d)
	}
	// A quota one replica saw used up holds the other too, through the
	// answers its transport observed.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", itoa(c.t.Add(time.Minute).Unix()))
	}))
	defer srv.Close()
	resp, err := NewClient(Config{Tracker: "jira", Transport: p1.Transport(nil)}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var rl *adapters.RateLimitError
	if _, err := p2.Acquire(t.Context()); !errors.As(err, &rl) || rl.RetryAfter != time.Minute {
		t.Errorf("the other pacer after a used-up quota: %v, want a RateLimitError for 1m", err)
	}
}

// TestCutOffAnswerRetried: an answer cut off mid-body (the connection
// closes before Content-Length bytes) fails the attempt of a request
// marked Idempotent, which is sent again and read whole; after the last
// try the error is an unreadable answer naming the status. An unmarked
// request is sent once and its body read error is the caller's.
func TestCutOffAnswerRetried(t *testing.T) {
	var hits, cuts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if cuts.Add(-1) >= 0 {
			conn, buf, _ := w.(http.Hijacker).Hijack()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":")
			buf.Flush()
			conn.Close()
			return
		}
		w.Write([]byte(`{"a":1}`))
	}))
	defer srv.Close()
	hc := NewClient(Config{Tracker: "t", RetryMax: 2, RetryWaitMin: time.Microsecond, RetryWaitMax: time.Microsecond})
	get := func(ctx context.Context, method string) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	hits.Store(0)
	cuts.Store(2)
	if body, err := get(Idempotent(t.Context()), http.MethodGet); err != nil || body != `{"a":1}` || hits.Load() != 3 {
		t.Errorf("marked GET, two answers cut off: %q, %v after %d requests; want the whole answer after 3", body, err, hits.Load())
	}
	hits.Store(0)
	cuts.Store(3)
	_, err := get(Idempotent(t.Context()), http.MethodGet)
	if !errors.Is(err, adapters.ErrBadResponse) || !strings.Contains(err.Error(), "HTTP 200") || hits.Load() != 3 {
		t.Errorf("marked GET, every answer cut off: %v after %d requests; want an unreadable answer naming HTTP 200 after 3", err, hits.Load())
	}
	hits.Store(0)
	cuts.Store(1)
	if _, err := get(t.Context(), http.MethodPost); err == nil || hits.Load() != 1 {
		t.Errorf("unmarked POST, answer cut off: %v after %d requests; want a read error after 1", err, hits.Load())
	}
}
