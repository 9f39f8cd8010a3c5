package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/internal/redact"
)

// Sink sends messages to one place (a Slack channel, a Teams channel, a
// webhook receiver).
//
// Send returns nil once the receiver accepted m; an error wrapping an
// *adapters.RateLimitError when told to slow down (RetryAfter as the
// receiver said); an error adapters.IsPermanent reports when resending
// cannot help (a revoked webhook: 401, 403, 404, 400); any other error is
// worth retrying. Errors never hold the sink's secrets.
type Sink interface {
	Name() string
	Send(ctx context.Context, m Message) error
}

// capture is a per-call transport that remembers the last response's
// status and Retry-After, which the vendor libraries do not all return.
type capture struct {
	base       http.RoundTripper
	status     int
	retryAfter string
	// head, with keepHead, is the start of the last response's body
	// (the part a library discards unread is what says whether a 200
	// was a delivery).
	keepHead bool
	head     []byte
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if resp != nil {
		c.status, c.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		if c.keepHead && resp.Body != nil {
			c.head, _ = io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(c.head), resp.Body), resp.Body}
		}
	}
	return resp, err
}

// httpBase is what every sink shares: its name, an HTTP client and the
// secrets to keep out of its errors.
type httpBase struct {
	name    string
	kind    string
	client  *http.Client
	secrets *redact.Set
	now     func() time.Time
}

func newBase(name, kind string, client *http.Client, secrets ...string) httpBase {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	s := redact.New()
	for _, v := range secrets {
		for _, part := range secretParts(v) {
			s.Add(part)
			redact.Global.Add(part)
		}
	}
	return httpBase{name: name, kind: kind, client: client, secrets: s, now: time.Now}
}

func (b httpBase) Name() string { return b.name }

// call returns a client whose transport records the response of one call.
func (b httpBase) call() (*http.Client, *capture) {
	base := b.client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c := &capture{base: base}
	cl := *b.client
	cl.Transport = c
	return &cl, c
}

// classify turns a failed send into the adapters vocabulary: the HTTP
// status the receiver answered (429 with its Retry-After, 4xx permanent,
// 5xx retried), the message with the sink's secrets removed.
func (b httpBase) classify(err error, c *capture) error {
	if err == nil && (c.status == 0 || c.status < 300) {
		return nil
	}
	msg := ""
	if err != nil {
		msg = b.secrets.String(err.Error())
	}
	if c.status >= 300 {
		// The receiver's answer says why (Slack's no_service or
		// invalid_blocks), where the library's error does not carry it.
		if ans := strings.TrimSpace(string(c.head)); ans != "" {
			msg = strings.TrimPrefix(msg+": "+clip(b.secrets.String(ans), 200), ": ")
		}
		ra, _ := parseRetryAfter(c.retryAfter, b.now())
		e := adapters.StatusError(b.kind, "sending to "+b.name, c.status, msg, ra)
		if c.status == http.StatusTooManyRequests {
			return fmt.Errorf("notify: sink %s: %w", b.name, e)
		}
		// Any other 4xx (a revoked or mistyped webhook: 400, 401, 403,
		// 404) will answer the same however often it is sent.
		if c.status >= 400 && c.status < 500 && c.status != http.StatusRequestTimeout {
			e = adapters.Permanent(e)
		}
		return fmt.Errorf("notify: sink %s: %w", b.name, e)
	}
	// A network error or timeout: worth retrying. Its text names the URL,
	// hence the redaction above.
	return fmt.Errorf("notify: sink %s: %s", b.name, msg)
}

// secretParts is v and, when v is a URL, the parts that carry its
// credential on their own: the path (a Slack webhook's), its last segment
// and the query values (a Teams workflow's sig), for errors that print
// only a part of the URL.
func secretParts(v string) []string {
	out := []string{v}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return out
	}
	if strings.Count(u.Path, "/") >= 3 && len(u.Path) >= 20 { // not a plain /hook
		out = append(out, u.Path)
	}
	if last := u.Path[strings.LastIndex(u.Path, "/")+1:]; len(last) >= 12 {
		out = append(out, last)
	}
	for _, vs := range u.Query() {
		for _, q := range vs {
			if len(q) >= 8 {
				out = append(out, q)
			}
		}
	}
	return out
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// loopback reports whether u points at this machine (the sandbox's and
// the tests' fake endpoints).
func loopback(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := p.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
