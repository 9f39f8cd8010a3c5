package adapters

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Sentinel errors. Adapters wrap them (fmt.Errorf("...: %w", ErrNotFound))
// so callers test with errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict: item changed since it was read")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrUnsupported  = errors.New("not supported by this tracker")
	ErrInvalid      = errors.New("invalid request")
	// ErrBadResponse is a 2xx answer whose body is not what the call
	// expects (an HTML login page, cut JSON, an empty body, {} for a
	// listing). It is never success and never an empty page; it is not
	// permanent, so the call is tried again.
	ErrBadResponse = errors.New("unreadable answer")
	// ErrCursorExpired is returned by List when req.Cursor is no longer
	// valid (an Asana sync token older than about a day). Nothing was
	// listed; the caller lists that side again from "" (everything in
	// scope) and stores the new cursor. It is not permanent.
	ErrCursorExpired = errors.New("listing cursor expired: list everything again")
)

// RateLimitError says the tracker asked us to slow down.
type RateLimitError struct {
	RetryAfter time.Duration // how long to wait; 0 when the tracker did not say
	Scope      string        // what is limited: "global", an endpoint, an item
	Message    string        // the tracker's own message
}

func (e *RateLimitError) Error() string {
	s := "rate limited"
	if e.Scope != "" {
		s += " (" + e.Scope + ")"
	}
	if e.RetryAfter > 0 {
		s += ", retry after " + e.RetryAfter.String()
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// permanent marks an error not worth retrying.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Permanent wraps err so that IsPermanent reports true: retrying it cannot
// help (a 400, a missing field, a bad config value). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// IsPermanent reports whether err, or anything it wraps, was marked
// Permanent, or is a sentinel that retrying cannot fix.
func IsPermanent(err error) bool {
	var p *permanent
	if errors.As(err, &p) {
		return true
	}
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrForbidden) ||
		errors.Is(err, ErrUnsupported) || errors.Is(err, ErrInvalid)
}

// APIError is a failed tracker call, carrying context like os.PathError: the
// tracker, what was being done, the HTTP status and the tracker's own
// message. It never carries request headers or credentials.
type APIError struct {
	Tracker string
	Op      string // "GET /rest/api/3/issue/PLAT-1", "create issue"
	Status  int
	Message string // the tracker's own error text
	Err     error  // the sentinel this status maps to, or nil
}

func (e *APIError) Error() string {
	s := e.Tracker + ": " + e.Op
	if e.Status != 0 {
		s += ": HTTP " + strconv.Itoa(e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil && e.Message == "" {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *APIError) Unwrap() error { return e.Err }

// StatusError maps an HTTP status to the sentinel it stands for, wrapped in
// an *APIError. retryAfter is used for 429 (and 403 rate-limit answers the
// caller has recognised). 2xx and 3xx return nil.
func StatusError(tracker, op string, status int, message string, retryAfter time.Duration) error {
	var sentinel error
	switch {
	case status < 400:
		return nil
	case status == http.StatusUnauthorized:
		sentinel = ErrUnauthorized
	case status == http.StatusForbidden:
		sentinel = ErrForbidden
	case status == http.StatusNotFound || status == http.StatusGone:
		sentinel = ErrNotFound
	case status == http.StatusConflict || status == http.StatusPreconditionFailed:
		sentinel = ErrConflict
	case status == http.StatusTooManyRequests:
		sentinel = &RateLimitError{RetryAfter: retryAfter, Message: message}
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		sentinel = Permanent(fmt.Errorf("%w", ErrInvalid))
	}
	return &APIError{Tracker: tracker, Op: op, Status: status, Message: message, Err: sentinel}
}
