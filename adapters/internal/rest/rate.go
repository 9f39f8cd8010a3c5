package rest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Rate is what an answer's headers say about the tracker's limits.
type Rate struct {
	// RetryAfter is the Retry-After wait; HasRetryAfter tells a
	// "Retry-After: 0" from none.
	RetryAfter    time.Duration
	HasRetryAfter bool
	// Limit and Remaining are X-RateLimit-Limit and -Remaining; Known
	// is set when Remaining was readable.
	Limit, Remaining int
	Known            bool
	// Reset is when the quota window ends (X-RateLimit-Reset), zero when
	// not sent.
	Reset time.Time
	// Reason is Jira's RateLimit-Reason ("jira-burst-based",
	// "jira-per-issue-on-write", ...).
	Reason string
}

// Exhausted reports how long until the quota resets when the answer said
// none is left.
func (r Rate) Exhausted(now time.Time) (time.Duration, bool) {
	if r.Known && r.Remaining <= 0 && now.Before(r.Reset) {
		return r.Reset.Sub(now), true
	}
	return 0, false
}

// ParseRate reads the rate-limit headers of an answer received at now.
func ParseRate(h http.Header, now time.Time) Rate {
	var r Rate
	r.RetryAfter, r.HasRetryAfter = ParseRetryAfter(h.Get("Retry-After"), now)
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Limit"))); err == nil {
		r.Limit = n
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining"))); err == nil {
		r.Remaining, r.Known = n, true
	}
	r.Reset = parseReset(h.Get("X-RateLimit-Reset"), now)
	r.Reason = h.Get("RateLimit-Reason")
	return r
}

// ParseRetryAfter reads a Retry-After value: delay seconds or an HTTP
// date (relative to now). ok is false for an absent or unreadable value;
// a date in the past is a zero wait.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// parseReset reads X-RateLimit-Reset: epoch seconds (GitHub), an RFC 3339
// time (Jira) or, for small numbers, seconds from now (the IETF
// RateLimit drafts).
func parseReset(v string, now time.Time) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n >= 1e9 {
			return time.Unix(n, 0)
		}
		if n >= 0 {
			return now.Add(time.Duration(n) * time.Second)
		}
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t
	}
	if t, err := http.ParseTime(v); err == nil {
		return t
	}
	return time.Time{}
}
