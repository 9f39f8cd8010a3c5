package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/tracksync/tracksync/adapters/internal/rest"
)

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

// apiTransport sets GitHub's version header.
type apiTransport struct{ next http.RoundTripper }

func (t *apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	return t.next.RoundTrip(r)
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
	// go-github's own rate-limit errors carry the answer they read;
	// rest.Classify reads the same headers.
	var (
		rl    *gh.RateLimitError
		abuse *gh.AbuseRateLimitError
		er    *gh.ErrorResponse
		msg   string
	)
	switch {
	case errors.As(err, &rl):
		msg = rl.Message
		if rl.Response != nil {
			hr = rl.Response
		}
	case errors.As(err, &abuse):
		// go-github knows it by its documentation URL too; say it in
		// the words rest.Classify reads.
		msg = abuse.Message
		if !strings.Contains(strings.ToLower(msg), "rate limit") {
			msg = strings.TrimSpace("secondary rate limit: " + msg)
		}
		if abuse.Response != nil {
			hr = abuse.Response
		}
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
	if msg == "" && (hr.StatusCode < 300 || hr.StatusCode >= 400) {
		msg = http.StatusText(hr.StatusCode)
	}
	cerr := rest.Classify(t.name, op, hr.StatusCode, hr.Header, msg, rest.Policy{
		DefaultRetryAfter: minRetryAfter, Clock: t.now,
		Scope: func(rest.Rate, string) string { return "secondary" },
	})
	if hr.StatusCode == http.StatusUnprocessableEntity && er != nil && len(er.Errors) > 0 {
		fr := &rest.FieldRefusal{Err: cerr, Fields: map[string]string{}}
		for _, e := range er.Errors {
			if e.Field == "" {
				return cerr // about no field: nothing to leave out
			}
			fr.Fields[e.Field] = strings.TrimSpace(e.Code + " " + e.Message)
		}
		return fr
	}
	return cerr
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
