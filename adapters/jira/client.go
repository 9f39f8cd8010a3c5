package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	gojira "github.com/andygrunwald/go-jira"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/tracksync/tracksync/adapters"
)

// client is go-jira over a go-retryablehttp transport, plus the calls
// go-jira v1.16.0 lacks (search/jql, bulkfetch, ADF bodies) made through
// its NewRequestWithContext and Do.
type client struct {
	name  string
	jc    *gojira.Client
	pace  *pacer
	debug func(msg string, args ...any)
}

// idempotentKey marks a request safe to retry although its method is POST
// (a search, a bulk fetch).
type idempotentKey struct{}

func withIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

func newClient(name string, o Options) (*client, error) {
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.RetryMax = o.RetryMax
	rc.RetryWaitMin = o.RetryWaitMin
	rc.RetryWaitMax = o.RetryWaitMax
	rc.HTTPClient.Timeout = o.Timeout
	rc.HTTPClient.Transport = adapters.Instrument(name, rc.HTTPClient.Transport)
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.CheckRetry = checkRetry
	// DefaultBackoff honours Retry-After on 503 answers.
	rc.Backoff = retryablehttp.DefaultBackoff
	var transport http.RoundTripper = &retryablehttp.RoundTripper{Client: rc}
	var hc *http.Client
	switch {
	case o.PAT != "":
		hc = (&gojira.BearerAuthTransport{Token: o.PAT, Transport: transport}).Client()
	case o.Email != "" || o.Token != "":
		hc = (&gojira.BasicAuthTransport{Username: o.Email, Password: o.Token, Transport: transport}).Client()
	default:
		hc = &http.Client{Transport: transport}
	}
	jc, err := gojira.NewClient(hc, o.URL)
	if err != nil {
		return nil, fmt.Errorf("jira url %q: %w", o.URL, err)
	}
	c := &client{name: name, jc: jc, pace: newPacer(o.RequestsPerSecond)}
	logger := o.Logger
	c.debug = func(msg string, args ...any) { logger.Debug(msg, args...) }
	return c, nil
}

// checkRetry retries connection failures and 5xx answers of idempotent
// requests only (ctx is the request's; do marks it): a create or a
// transition whose answer was lost may have happened, and the adapter
// checks before doing it again. A 429 is not retried here: it goes back to
// the engine as a RateLimitError, which backs off for the whole run.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if v, _ := ctx.Value(retryableKey{}).(bool); !v {
		return false, nil
	}
	if err != nil {
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return false, nil
	}
	return resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented, nil
}

// retryableKey marks the context of a request the transport may retry.
type retryableKey struct{}

// do sends one request: body (nil for none) as JSON, the answer decoded
// into out (nil to discard). Every failure comes back as an error wrapping
// an adapters sentinel, made in statusError.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.pace.wait(ctx); err != nil {
		return err
	}
	switch method {
	case http.MethodGet, http.MethodPut, http.MethodDelete:
		ctx = context.WithValue(ctx, retryableKey{}, true)
	default:
		if v, _ := ctx.Value(idempotentKey{}).(bool); v {
			ctx = context.WithValue(ctx, retryableKey{}, true)
		}
	}
	req, err := c.jc.NewRequestWithContext(ctx, method, strings.TrimPrefix(path, "/"), body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	op := method + " " + path
	if i := strings.IndexByte(op, '?'); i >= 0 {
		op = op[:i]
	}
	start := time.Now()
	resp, err := c.jc.Do(req, nil)
	var hr *http.Response
	if resp != nil {
		hr = resp.Response
	}
	if hr == nil {
		if err == nil {
			err = errors.New("no response")
		}
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		c.debug("jira request failed", "tracker", c.name, "op", op, "error", err)
		return fmt.Errorf("%s: %s: %w", c.name, op, err)
	}
	defer hr.Body.Close()
	data, rerr := io.ReadAll(io.LimitReader(hr.Body, 64<<20))
	c.debug("jira request", "tracker", c.name, "op", op, "status", hr.StatusCode, "duration", time.Since(start))
	if hr.StatusCode >= 300 {
		return statusError(c.name, op, hr, data)
	}
	if rerr != nil {
		return fmt.Errorf("%s: %s: reading the answer: %w", c.name, op, rerr)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s: %s: decoding the answer: %w", c.name, op, err)
		}
	}
	return nil
}

// statusError is the one place an HTTP answer becomes an error: the
// sentinel its status stands for, Jira's own message (errorMessages and
// errors joined), and for 429 the Retry-After and the scope that
// RateLimit-Reason names.
func statusError(tracker, op string, hr *http.Response, body []byte) error {
	msg := jiraMessage(body)
	if hr.StatusCode == http.StatusTooManyRequests {
		ra := retryAfter(hr.Header.Get("Retry-After"))
		return &adapters.APIError{Tracker: tracker, Op: op, Status: hr.StatusCode, Message: msg,
			Err: &adapters.RateLimitError{RetryAfter: ra, Scope: rateScope(hr.Header.Get("RateLimit-Reason"), op), Message: msg}}
	}
	if hr.StatusCode == http.StatusGone && msg == "" {
		msg = "this Jira API was removed"
	}
	return adapters.StatusError(tracker, op, hr.StatusCode, msg, 0)
}

// rateScope turns RateLimit-Reason into what is limited: per-issue write
// limits name the issue, burst limits the endpoint, quotas the whole site.
func rateScope(reason, op string) string {
	switch {
	case strings.Contains(reason, "per-issue"):
		return "issue " + issueOfOp(op)
	case strings.Contains(reason, "burst"):
		return "endpoint " + op
	case reason == "":
		return "global"
	}
	return "global (" + reason + ")"
}

func issueOfOp(op string) string {
	_, rest, ok := strings.Cut(op, "/issue/")
	if !ok {
		return op
	}
	k, _, _ := strings.Cut(rest, "/")
	return k
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}

// jiraMessage reads Jira's {errorMessages, errors} body into one line.
func jiraMessage(body []byte) string {
	var e struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
		Message       string            `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		s := strings.TrimSpace(string(body))
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		return s
	}
	parts := append([]string{}, e.ErrorMessages...)
	keys := make([]string, 0, len(e.Errors))
	for k := range e.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+": "+e.Errors[k])
	}
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	return strings.Join(parts, "; ")
}

// pacer spaces requests to a budget (limits.requests_per_second).
type pacer struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

func newPacer(perSecond float64) *pacer {
	p := &pacer{}
	if perSecond > 0 {
		p.interval = time.Duration(float64(time.Second) / perSecond)
	}
	return p
}

func (p *pacer) wait(ctx context.Context) error {
	if p.interval == 0 {
		return nil
	}
	p.mu.Lock()
	now := time.Now()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.interval)
	p.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
