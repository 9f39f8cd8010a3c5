package adapters

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// RequestObserver is told about every HTTP request an adapter sends (each
// attempt, retries included): the daemon turns this into metrics.
type RequestObserver interface {
	// ObserveRequest reports one answered (status > 0) or failed (status
	// 0) request. endpoint is a low-cardinality class of the path
	// ("/rest/api/3/issue/{id}"); h holds the answer's headers, for rate
	// budgets (X-RateLimit-Remaining).
	ObserveRequest(tracker, method, endpoint string, status int, took time.Duration, h http.Header)
}

type observerBox struct{ o RequestObserver }

var observer atomic.Pointer[observerBox]

// SetRequestObserver installs o for every adapter in the process (nil
// removes it).
func SetRequestObserver(o RequestObserver) {
	if o == nil {
		observer.Store(nil)
		return
	}
	observer.Store(&observerBox{o})
}

// Instrument wraps next (nil: http.DefaultTransport) so that each request
// is reported to the installed RequestObserver under tracker's name.
func Instrument(tracker string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &instrumented{tracker: tracker, next: next}
}

type instrumented struct {
	tracker string
	next    http.RoundTripper
}

func (t *instrumented) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	if box := observer.Load(); box != nil {
		status, h := 0, http.Header(nil)
		if resp != nil {
			status, h = resp.StatusCode, resp.Header
		}
		box.o.ObserveRequest(t.tracker, r.Method, EndpointClass(r.URL.Path), status, time.Since(start), h)
	}
	return resp, err
}

// EndpointClass reduces a request path to its shape, so that metrics have
// one series per endpoint, not per item: segments holding digits become
// {id}, GitHub's owner and repository become {owner}/{repo}.
func EndpointClass(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		switch {
		case i > 0 && segs[i-1] == "repos" && i+1 < len(segs):
			segs[i], segs[i+1] = "{owner}", "{repo}"
		case i > 1 && segs[i-2] == "repos":
			// already replaced
		case i > 0 && segs[i-1] == "api" && isVersion(s):
			// /rest/api/3, /api/v3: a version, not an item
		case strings.ContainsAny(s, "0123456789"):
			segs[i] = "{id}"
		}
	}
	if len(segs) > 7 {
		segs = segs[:7]
	}
	return "/" + strings.Join(segs, "/")
}

// isVersion reports whether s looks like an API version: 2, 3, v3, 1.0
// (Asana).
func isVersion(s string) bool {
	s = strings.TrimPrefix(s, "v")
	if s == "" || len(s) > 4 || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}
