package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/internal/rest"
)

// client is go-jira over the shared HTTP layer (adapters/internal/rest:
// retries, pacing, error classification, shape checks), plus the calls
// go-jira v1.16.0 lacks (search/jql, bulkfetch, ADF bodies) made through
// its NewRequestWithContext and Do.
type client struct {
	name  string
	jc    *gojira.Client
	pace  *rest.Pacer
	debug func(msg string, args ...any)
	// onWrite, when set, hears of every request that may change an
	// issue, before it is sent (the tracker forgets its recent reads).
	onWrite func(path string)
}

// readOnlyPOST reports a POST that reads: a search, a bulk fetch, a
// comment list.
func readOnlyPOST(path string) bool {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	for _, s := range []string{"/search/jql", "/search", "/bulkfetch", "/comment/list"} {
		if strings.HasSuffix(path, s) {
			return true
		}
	}
	return false
}

// withIdempotent marks a POST safe to retry (a search, a bulk fetch).
func withIdempotent(ctx context.Context) context.Context { return rest.Idempotent(ctx) }

func newClient(name string, o Options) (*client, error) {
	pace := rest.NewPacer(rest.PacerOptions{Tracker: name, Credential: o.Email + ":" + o.Token + o.PAT, Limits: rest.Limits{PerSecond: o.RequestsPerSecond}})
	var auth http.RoundTripper = pace.Transport(nil)
	switch {
	case o.PAT != "":
		auth = &gojira.BearerAuthTransport{Token: o.PAT, Transport: auth}
	case o.Email != "" || o.Token != "":
		auth = &gojira.BasicAuthTransport{Username: o.Email, Password: o.Token, Transport: auth}
	}
	hc := rest.NewClient(rest.Config{Tracker: name, Transport: auth, Timeout: o.Timeout,
		RetryMax: o.RetryMax, RetryWaitMin: o.RetryWaitMin, RetryWaitMax: o.RetryWaitMax})
	jc, err := gojira.NewClient(hc, o.URL)
	if err != nil {
		return nil, fmt.Errorf("jira url %q: %w", o.URL, err)
	}
	c := &client{name: name, jc: jc, pace: pace}
	logger := o.Logger
	c.debug = func(msg string, args ...any) { logger.Debug(msg, args...) }
	return c, nil
}

// do sends one request: body (nil for none) as JSON, the answer checked
// against the shape out implies (nil: no body or JSON; a slice: an array;
// anything else: an object) and decoded into out. Every failure comes back
// as an error wrapping an adapters sentinel.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	shape := rest.NoContent()
	if out != nil {
		if v := reflect.ValueOf(out); v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Slice {
			shape = rest.Array("a JSON array")
		} else {
			shape = rest.Object("a JSON object")
		}
	}
	return c.doShape(ctx, method, path, body, out, shape)
}

// serverTimeKey marks a context asking doShape for the answer's Date
// header (Jira's clock, whole seconds) in the *time.Time it carries.
type serverTimeKey struct{}

// searchPage is a search answer: {} or an answer without its issues is
// not an empty page.
var searchPage = rest.Object("a search page", "issues")

// doShape is do with the shape the answer must have: a listing names the
// field that holds its page, so that {} is not an empty page.
func (c *client) doShape(ctx context.Context, method, path string, body, out any, shape rest.Shape) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	release, err := c.pace.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	if c.onWrite != nil && method != http.MethodGet && !(method == http.MethodPost && readOnlyPOST(path)) {
		c.onWrite(path)
	}
	if rest.IdempotentMethod(method) {
		ctx = rest.Idempotent(ctx)
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
	if p, ok := ctx.Value(serverTimeKey{}).(*time.Time); ok && p != nil {
		if d, err := http.ParseTime(hr.Header.Get("Date")); err == nil {
			*p = d
		}
	}
	if hr.StatusCode >= 300 {
		return statusError(c.name, op, hr, data)
	}
	if rerr != nil {
		// A 2xx cut off mid-body: unreadable, and worth another try (an
		// idempotent request was tried again by the transport already).
		return fmt.Errorf("%s: %s: reading the answer (HTTP %d): %w: %w", c.name, op, hr.StatusCode, adapters.ErrBadResponse, rerr)
	}
	return rest.Decode(c.name, op, hr.StatusCode, data, shape, out)
}

// statusError is the one place a failed Jira answer becomes an error:
// rest.Classify with Jira's own message (errorMessages and errors
// joined) and, for 429, the scope RateLimit-Reason names.
func statusError(tracker, op string, hr *http.Response, body []byte) error {
	msg := jiraMessage(body)
	if hr.StatusCode == http.StatusGone && msg == "" {
		msg = "this Jira API was removed"
	}
	err := rest.Classify(tracker, op, hr.StatusCode, hr.Header, msg,
		rest.Policy{Scope: func(r rest.Rate, op string) string { return rateScope(r.Reason, op) }})
	if hr.StatusCode == http.StatusBadRequest {
		var e struct {
			Errors map[string]string `json:"errors"`
		}
		if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
			return &rest.FieldRefusal{Err: err, Fields: e.Errors}
		}
	}
	return err
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

// jiraMessage reads Jira's {errorMessages, errors} body into one line.
func jiraMessage(body []byte) string {
	var e struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
		Message       string            `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return rest.Snippet(body)
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
