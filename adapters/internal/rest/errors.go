package rest

import (
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/tracksync/tracksync/adapters"
)

// Policy holds the few ways trackers differ in what a failed answer means.
type Policy struct {
	// DefaultRetryAfter is the wait for a rate-limited answer that names
	// none (GitHub asks for at least a minute; 0 leaves it to the
	// engine's back-off).
	DefaultRetryAfter time.Duration
	// Scope names what a rate limit that is not a used-up quota limits,
	// from the answer's headers and op (default "global").
	Scope func(r Rate, op string) string
	// Clock reads the time Retry-After dates and resets are measured
	// from (default time.Now).
	Clock func() time.Time
}

// Classify is the one mapping of a failed answer to the adapters
// vocabulary, inside an *adapters.APIError naming tracker, op, status and
// msg (the tracker's own message, read from the body by the adapter;
// never a header or credential):
//
//   - 429, and a 403 that is a rate limit (Retry-After, a quota reported
//     used up, or "rate limit" in the message): *adapters.RateLimitError,
//     scope "primary" for a used-up quota (waiting until its reset);
//   - any other 3xx (redirects are not followed where it matters): the
//     thing moved, ErrNotFound "moved to <Location>";
//   - 401, 403, 404/410, 409/412, 400/422 and 5xx as adapters.StatusError.
//
// A 2xx is nil.
func Classify(tracker, op string, status int, h http.Header, msg string, p Policy) error {
	if status >= 200 && status < 300 {
		return nil
	}
	now := time.Now()
	if p.Clock != nil {
		now = p.Clock()
	}
	r := ParseRate(h, now)
	if rl := rateLimit(status, r, msg, op, now, p); rl != nil {
		return &adapters.APIError{Tracker: tracker, Op: op, Status: status, Message: msg, Err: rl}
	}
	if status >= 300 && status < 400 {
		return &adapters.APIError{Tracker: tracker, Op: op, Status: status,
			Message: "moved to " + h.Get("Location"), Err: adapters.ErrNotFound}
	}
	return adapters.StatusError(tracker, op, status, msg, 0)
}

// rateLimit is the RateLimitError a 429 or 403 answer stands for, or nil.
func rateLimit(status int, r Rate, msg, op string, now time.Time, p Policy) *adapters.RateLimitError {
	exhausted := r.Known && r.Remaining <= 0
	switch {
	case status == http.StatusTooManyRequests:
	case status == http.StatusForbidden && (r.HasRetryAfter || exhausted ||
		strings.Contains(strings.ToLower(msg), "rate limit")):
	default:
		return nil
	}
	rl := &adapters.RateLimitError{RetryAfter: p.DefaultRetryAfter, Scope: "global", Message: msg}
	switch {
	case r.HasRetryAfter:
		rl.RetryAfter = r.RetryAfter
	case exhausted:
		if d := r.Reset.Sub(now); !r.Reset.IsZero() && d > 0 {
			rl.RetryAfter = d
		}
	}
	if exhausted && !r.HasRetryAfter {
		rl.Scope = "primary"
	} else if p.Scope != nil {
		rl.Scope = p.Scope(r, op)
	}
	return rl
}

// Snippet is the start of body for an error message: on one line (runs of
// white space and control characters are one space), at most about 200
// bytes, cut at a character boundary and marked "…" when cut.
func Snippet(body []byte) string {
	s := strings.Join(strings.FieldsFunc(string(body[:min(len(body), 4096)]), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	if len(s) <= 200 {
		return s
	}
	cut := 200
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// FieldRefusal is a refusal whose answer names the fields the tracker
// refused (Jira's 400 errors object, GitHub's 422 errors with their
// field), by the field as the request named it, with the tracker's words:
// a write can then be sent again without them. It wraps the classified
// error.
type FieldRefusal struct {
	Err    error
	Fields map[string]string
}

func (e *FieldRefusal) Error() string { return e.Err.Error() }
func (e *FieldRefusal) Unwrap() error { return e.Err }
