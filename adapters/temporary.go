package adapters

import (
	"context"
	"errors"
	"net"
	"syscall"
)

// IsTemporary reports whether err is a failure that trying again later can
// fix without anyone changing anything: the tracker rate-limited us, answered
// 5xx or something unreadable (ErrBadResponse), or could not be reached at
// all (a network error or a timed-out call). The CLI exits 5 for these so
// that a scheduler retries, and 1 or 2 for the rest, which need a person.
// A cancelled context (the user pressed Ctrl-C) is not temporary. An error
// joining several (a run's failed writes) is temporary only when each one
// is.
func IsTemporary(err error) bool {
	for err != nil {
		if err == context.Canceled {
			return false
		}
		if err == ErrBadResponse || err == context.DeadlineExceeded {
			return true
		}
		switch x := err.(type) {
		case *RateLimitError:
			return true
		case *APIError:
			if x.Status >= 500 && x.Status <= 599 {
				return true
			}
		case syscall.Errno:
			// An Errno has Timeout and Temporary methods, so it would
			// pass for a net.Error: a missing or unwritable file is not
			// something trying again fixes; a dropped connection is.
			switch x {
			case syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED, syscall.EPIPE, syscall.ENETUNREACH, syscall.EHOSTUNREACH:
				return true
			}
			return x.Timeout() || x.Temporary()
		case net.Error:
			return true
		case interface{ Unwrap() []error }:
			errs := x.Unwrap()
			for _, e := range errs {
				if !IsTemporary(e) {
					return false
				}
			}
			return len(errs) > 0
		}
		err = errors.Unwrap(err)
	}
	return false
}
