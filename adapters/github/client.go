package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/tracksync/tracksync/adapters"
)

// retryKey marks a request's context as safe to retry: reads and PATCHes
// that set absolute values. A POST never carries it, so a create is never
// sent twice by the transport.
type retryKey struct{}

func retryable(ctx context.Context) context.Context { return context.WithValue(ctx, retryKey{}, true) }

// newRetryClient wraps base in go-retryablehttp: transport errors and 5xx
// are retried for marked requests only; 403/429 are never retried here
// (they come back as *adapters.RateLimitError for the engine to schedule).
func newRetryClient(base http.RoundTripper, waitMin, waitMax time.Duration) *http.Client {
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{Transport: base, Timeout: time.Minute, CheckRedirect: noRedirect}
	rc.Logger = nil
	rc.RetryMax = 3
	rc.RetryWaitMin, rc.RetryWaitMax = waitMin, waitMax
	rc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if ctx.Value(retryKey{}) == nil {
			return false, nil
		}
		if err != nil {
			return true, nil
		}
		return resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented, nil
	}
	// Hand the last answer back as is rather than a "giving up" error, so
	// its status and message are mapped like any other.
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	c := rc.StandardClient()
	c.CheckRedirect = noRedirect
	return c
}

// noRedirect hands a redirect back as the answer instead of following it,
// on both clients (the outer one would follow a 3xx the inner one
// returned). GitHub answers 301 for a transferred issue and a renamed
// repository; following it turns a PATCH into a GET that "succeeds"
// without writing, and reads some other repository's issue under the
// requested path. apiError maps the 3xx instead.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// tokenTransport adds a personal access token to each request.
type tokenTransport struct {
	token string
	next  http.RoundTripper
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r)
}

// apiTransport sets GitHub's version header and records the primary rate
// limit from every answer.
type apiTransport struct {
	next http.RoundTripper
	rate *rateState
}

func (t *apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		t.rate.observe(resp.Header)
	}
	return resp, err
}

// rateState is the primary limit as the last answer reported it.
type rateState struct {
	mu        sync.Mutex
	remaining int
	reset     time.Time
	known     bool
}

func (r *rateState) observe(h http.Header) {
	rem, err1 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err2 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.remaining, r.reset, r.known = rem, time.Unix(reset, 0), true
}

// exhausted reports how long until the primary window resets when the
// last answer said no quota is left.
func (r *rateState) exhausted(now time.Time) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.known && r.remaining <= 0 && now.Before(r.reset) {
		return r.reset.Sub(now), true
	}
	return 0, false
}

// minRetryAfter is how long to wait on a rate limit when GitHub did not
// say: its documentation asks for at least a minute.
const minRetryAfter = time.Minute

// apiError maps a failed call to the adapters vocabulary; it is the one
// place HTTP statuses become sentinels. op names what was being done and
// to which item; no token ever reaches it.
func (t *Tracker) apiError(op string, resp *gh.Response, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("github %s: %w", op, err)
	}
	var hr *http.Response
	if resp != nil {
		hr = resp.Response
	}
	var (
		rl    *gh.RateLimitError
		abuse *gh.AbuseRateLimitError
		er    *gh.ErrorResponse
		msg   string
	)
	switch {
	case errors.As(err, &rl):
		wait := minRetryAfter
		if d := rl.Rate.Reset.Time.Sub(t.now()); d > 0 {
			wait = d
		}
		return &adapters.APIError{Tracker: t.name, Op: op, Status: http.StatusForbidden, Message: rl.Message,
			Err: &adapters.RateLimitError{RetryAfter: wait, Scope: "primary", Message: rl.Message}}
	case errors.As(err, &abuse):
		wait := minRetryAfter
		if abuse.RetryAfter != nil && *abuse.RetryAfter > 0 {
			wait = *abuse.RetryAfter
		}
		return &adapters.APIError{Tracker: t.name, Op: op, Status: http.StatusForbidden, Message: abuse.Message,
			Err: &adapters.RateLimitError{RetryAfter: wait, Scope: "secondary", Message: abuse.Message}}
	case errors.As(err, &er):
		msg = errorMessage(er)
		if er.Response != nil {
			hr = er.Response
		}
	}
	if hr == nil {
		// No answer at all: the network. Transient, so not Permanent.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("github %s: %w", op, err)
	}
	status := hr.StatusCode
	if status == http.StatusTooManyRequests || (status == http.StatusForbidden &&
		(hr.Header.Get("Retry-After") != "" || strings.Contains(strings.ToLower(msg), "rate limit"))) {
		wait := minRetryAfter
		if s, err := strconv.Atoi(hr.Header.Get("Retry-After")); err == nil && s >= 0 {
			wait = time.Duration(s) * time.Second
		}
		return &adapters.APIError{Tracker: t.name, Op: op, Status: status, Message: msg,
			Err: &adapters.RateLimitError{RetryAfter: wait, Scope: "secondary", Message: msg}}
	}
	if status >= 300 && status < 400 {
		// A 304 never gets here (call returns it as an answer). Any other
		// 3xx means the thing lives elsewhere now: gone from where the
		// link points. StatusError would call it success.
		return &adapters.APIError{Tracker: t.name, Op: op, Status: status,
			Message: "moved to " + hr.Header.Get("Location"), Err: adapters.ErrNotFound}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return adapters.StatusError(t.name, op, status, msg, 0)
}

// errorMessage is GitHub's message plus its field errors, which say what
// a 422 refused.
func errorMessage(er *gh.ErrorResponse) string {
	msg := er.Message
	var parts []string
	for _, e := range er.Errors {
		p := e.Resource + "." + e.Field + " " + e.Code
		if e.Message != "" {
			p += ": " + e.Message
		}
		parts = append(parts, p)
	}
	if len(parts) > 0 {
		msg += " (" + strings.Join(parts, "; ") + ")"
	}
	return msg
}

// pacer keeps content-creating requests (POST, PATCH) within GitHub's
// secondary limits and one at a time per token. It keeps the times of the
// writes of the last hour and, before each write, waits until one more
// fits both the per-minute and the per-hour window. A sliding log rather
// than a token bucket: a bucket refilled at 80 a minute still lets 160
// through in some 60-second window, which GitHub counts as a violation.
type pacer struct {
	sem             chan struct{}
	perMin, perHour int
	now             func() time.Time
	sleep           func(ctx context.Context, d time.Duration) error
	mu              sync.Mutex
	log             []time.Time
}

func newPacer(perMin, perHour int, now func() time.Time, sleep func(context.Context, time.Duration) error) *pacer {
	return &pacer{sem: make(chan struct{}, 1), perMin: perMin, perHour: perHour, now: now, sleep: sleep}
}

// acquire waits for the write slot and for room in the windows; call the
// returned release once the write has been answered.
func (p *pacer) acquire(ctx context.Context) (func(), error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() { <-p.sem }
	for {
		wait := p.wait()
		if wait <= 0 {
			break
		}
		if err := p.sleep(ctx, wait); err != nil {
			release()
			return nil, err
		}
	}
	p.mu.Lock()
	p.log = append(p.log, p.now())
	p.mu.Unlock()
	return release, nil
}

func (p *pacer) wait() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	i := 0
	for i < len(p.log) && !p.log[i].After(now.Add(-time.Hour)) {
		i++
	}
	p.log = p.log[i:]
	var wait time.Duration
	for _, w := range []struct {
		limit  int
		window time.Duration
	}{{p.perMin, time.Minute}, {p.perHour, time.Hour}} {
		if w.limit <= 0 {
			continue
		}
		n := 0
		for _, t := range p.log {
			if t.After(now.Add(-w.window)) {
				n++
			}
		}
		if n >= w.limit {
			in := p.log[len(p.log)-n:]
			wait = max(wait, in[n-w.limit].Add(w.window).Sub(now))
		}
	}
	return wait
}

func realSleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
