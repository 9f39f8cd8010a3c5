package rest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/tracksync/tracksync/adapters"
)

// Config sets up the HTTP client of one tracker.
type Config struct {
	// Tracker names the tracker in metrics (adapters.Instrument).
	Tracker string
	// Transport is the innermost transport, authentication included
	// (default http.DefaultTransport). It is instrumented, then wrapped
	// in the retrying client, so each attempt is counted and
	// authenticated anew.
	Transport http.RoundTripper
	// Timeout bounds one attempt (0: none).
	Timeout time.Duration
	// RetryMax is how many times an idempotent request is retried;
	// RetryWaitMin and RetryWaitMax bound the back-off between tries
	// (a Retry-After on a 503 is honoured within them).
	RetryMax                   int
	RetryWaitMin, RetryWaitMax time.Duration
	// NoRedirect hands a 3xx back as the answer instead of following it
	// (GitHub: following a transferred issue's 301 turns a PATCH into a
	// GET that "succeeds" without writing).
	NoRedirect bool
}

// NewClient is the retrying, instrumented *http.Client a vendor API client
// is built on. Failures come back as the last answer (never a "giving up"
// error), so their status and message are classified like any other.
func NewClient(c Config) *http.Client {
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.HTTPClient = &http.Client{Transport: wholeAnswers{adapters.Instrument(c.Tracker, base)}, Timeout: c.Timeout}
	rc.RetryMax = c.RetryMax
	rc.RetryWaitMin, rc.RetryWaitMax = c.RetryWaitMin, c.RetryWaitMax
	rc.CheckRetry = CheckRetry
	rc.Backoff = retryablehttp.DefaultBackoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	hc := rc.StandardClient()
	if c.NoRedirect {
		// Both clients: the outer one would follow a 3xx the inner one
		// returned.
		rc.HTTPClient.CheckRedirect = noRedirect
		hc.CheckRedirect = noRedirect
	}
	return hc
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// maxBuffered is the most of an answer wholeAnswers reads ahead.
const maxBuffered = 64 << 20

// wholeAnswers reads the answer of a request marked Idempotent in full
// inside the attempt, so that an answer cut off mid-body (the connection
// closed before Content-Length bytes: "unexpected EOF") fails the attempt
// and the retrying client sends the request again, as for a dropped
// connection. Once the transport has returned, nothing could retry it.
// Other requests are passed through: they are not sent twice anyway.
type wholeAnswers struct{ next http.RoundTripper }

func (w wholeAnswers) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	if err != nil || !IsIdempotent(req.Context()) || resp.Body == nil || resp.Body == http.NoBody {
		return resp, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBuffered))
	if err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("reading the answer (HTTP %d): %w: %w", resp.StatusCode, adapters.ErrBadResponse, err)
	}
	if len(data) < maxBuffered {
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(data))
		return resp, nil
	}
	// Larger than the read-ahead: the rest streams as it comes.
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(data), resp.Body), resp.Body}
	return resp, nil
}

// idempotentKey marks a request's context as safe to send again.
type idempotentKey struct{}

// Idempotent marks ctx: the request sent with it may be retried by the
// transport. Mark reads, searches sent as POST, and writes that set
// absolute values; never a create.
func Idempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// IsIdempotent reports whether ctx carries the Idempotent mark.
func IsIdempotent(ctx context.Context) bool {
	v, _ := ctx.Value(idempotentKey{}).(bool)
	return v
}

// IdempotentMethod reports whether method is idempotent by HTTP's
// definition (RFC 9110 9.2.2): GET, HEAD, OPTIONS, PUT, DELETE.
func IdempotentMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// CheckRetry is the retry policy of NewClient: connection failures and 5xx
// answers (but 501) of requests marked Idempotent. A 429 is not retried
// here: it goes back to the engine as a *adapters.RateLimitError, which
// backs off for the whole run.
func CheckRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if !IsIdempotent(ctx) {
		return false, nil
	}
	if err != nil {
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	return resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented, nil
}
