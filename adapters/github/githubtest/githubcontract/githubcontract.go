// Package githubcontract checks HTTP exchanges against GitHub's OpenAPI
// description with kin-openapi. It is for tests only: it lives apart from
// the fake (githubtest) so that the binary, whose sandbox serves the fake,
// links neither kin-openapi nor the testing package.
package githubcontract

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/tracksync/tracksync/internal/contracttest"
)

// Path is where the GitHub contract is looked for: github/api.github.com.json
// under the contracts folder (contracttest.Dir).
func Path() string {
	return filepath.Join(contracttest.Dir(), "github", "api.github.com.json")
}

// Available reports whether the contract file is there.
func Available() bool {
	_, err := os.Stat(Path())
	return err == nil
}

// Router loads the contract (once per binary) and returns a
// router over it; it skips t with the reason when the file is absent.
func Router(t testing.TB) routers.Router {
	t.Helper()
	return contracttest.Router(t, "GitHub", filepath.Join("github", "api.github.com.json"), "https://api.github.com", nil)
}

// Violation is one request or response that does not match the contract.
type Violation struct {
	Method, Path string
	Status       int
	Err          string
}

// Checker is an http.RoundTripper that checks every request it
// sends and every response it gets against GitHub's contract.
type Checker struct {
	Next   http.RoundTripper
	router routers.Router
	mu     sync.Mutex
	// Checked counts the exchanges matched to an operation.
	checked    int
	gqlChecked int
	violations []Violation
	unrouted   []string
}

// NewChecker wraps next (nil: http.DefaultTransport); it skips t
// when the contract is absent.
func NewChecker(t testing.TB, next http.RoundTripper) *Checker {
	if next == nil {
		next = http.DefaultTransport
	}
	return &Checker{Next: next, router: Router(t)}
}

// Result returns how many exchanges were checked, the violations found
// and the requests no operation of the contract matched.
func (c *Checker) Result() (checked int, violations []Violation, unrouted []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked, append([]Violation(nil), c.violations...), append([]string(nil), c.unrouted...)
}

// GraphQLChecked returns how many GraphQL exchanges were checked against
// GitHub's GraphQL schema (0 where the schema is absent).
func (c *Checker) GraphQLChecked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gqlChecked
}

// Check fails t for every violation and every request the contract has
// no operation for, and when fewer than atLeast exchanges were checked.
func (c *Checker) Check(t testing.TB, atLeast int) {
	t.Helper()
	checked, violations, unrouted := c.Result()
	for _, v := range violations {
		t.Errorf("contract: %s %s (%d): %s", v.Method, v.Path, v.Status, v.Err)
	}
	for _, u := range unrouted {
		t.Errorf("not in the contract: %s", u)
	}
	if checked < atLeast {
		t.Errorf("checked %d exchanges, want at least %d", checked, atLeast)
	}
}

// RoundTrip implements http.RoundTripper.
func (c *Checker) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := c.Next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	respBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))

	// Route as if the request went to api.github.com.
	u := *req.URL
	u.Scheme, u.Host = "https", "api.github.com"
	u.Path = strings.TrimPrefix(u.Path, "/api/v3")
	u.RawPath = ""
	vreq, _ := http.NewRequestWithContext(context.Background(), req.Method, u.String(), bytes.NewReader(reqBody))
	vreq.Header = req.Header.Clone()
	if strings.HasPrefix(u.Path, "/app/installations/") {
		// ghinstallation's own call; not the adapter's business here.
		return resp, nil
	}
	if u.Path == "/graphql" || u.Path == "/api/graphql" {
		// GraphQL is not in the OpenAPI description: it is checked
		// against GitHub's GraphQL schema where that is found.
		schema, _, err := loadGraphQL()
		if schema == nil && err == nil {
			return resp, nil
		}
		problems := []string{fmt.Sprintf("GitHub GraphQL schema: %v", err)}
		if err == nil {
			problems = CheckGraphQL(schema, reqBody, respBody)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.gqlChecked++
		for _, p := range problems {
			c.violations = append(c.violations, Violation{req.Method, u.Path, resp.StatusCode, p})
		}
		return resp, nil
	}
	route, params, rerr := c.router.FindRoute(vreq)
	c.mu.Lock()
	defer c.mu.Unlock()
	if rerr != nil {
		c.unrouted = append(c.unrouted, req.Method+" "+u.Path+": "+rerr.Error())
		return resp, nil
	}
	c.checked++
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		c.violations = append(c.violations, Violation{req.Method, u.Path, 0, "request: " + err.Error()})
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts,
	}
	if resp.StatusCode != http.StatusNotModified && resp.StatusCode != http.StatusNoContent {
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			c.violations = append(c.violations, Violation{req.Method, u.Path, resp.StatusCode, "response: " + err.Error()})
		}
	}
	return resp, nil
}
