package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

// echoingJira is the Jira fake behind a proxy that answers every search
// with a 401 whose body echoes the request's Authorization header and the
// token in the forms a careless server (or a proxy's error page) prints:
// the header's base64 Basic pair, the raw token, and the token URL- and
// JSON-escaped.
func echoingJira(t *testing.T, email, token string) string {
	t.Helper()
	return searchFailingJira(t, email, token, http.StatusUnauthorized, func(r *http.Request) string {
		return fmt.Sprintf(`{"errorMessages":["bad credentials in %s (token %s, escaped %s)"],"errors":{"auth":"%s"}}`,
			r.Header.Get("Authorization"), token, url.QueryEscape(token), strings.ReplaceAll(token, "&", `\u0026`))
	})
}

// searchFailingJira serves a fake Jira for email and token whose searches
// answer status with body(r); every other request reaches the fake.
func searchFailingJira(t *testing.T, email, token string, status int, body func(*http.Request) string) string {
	t.Helper()
	fake := jiratest.New(t, jiratest.Options{Email: email, Token: token, Projects: []string{"PLAT"}})
	target, _ := url.Parse(fake.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/search") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, body(r))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestSecretsRedactedEverywhere: with a tracker that echoes credentials in
// its error bodies, no form of the token reaches text or JSON output, log
// lines (errors included), or the state database's stored errors.
func TestSecretsRedactedEverywhere(t *testing.T) {
	const email, token = "bot@example.com", "tok/SECRET+v=9&x"
	basic := base64.StdEncoding.EncodeToString([]byte(email + ":" + token))
	forms := map[string]string{
		"raw": token, "basic base64": basic, "url-escaped": url.QueryEscape(token),
		"path-escaped": url.PathEscape(token), "json-escaped": `tok/SECRET+v=9\u0026x`,
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	t.Setenv("TS_JIRA_TOKEN", token)
	conf := fmt.Sprintf(`state:
  dsn: state.db
trackers:
  jira:
    kind: jira
    url: %s
    deployment: cloud
    project: PLAT
    auth:
      email: %s
      token: ${TS_JIRA_TOKEN}
  mem:
    kind: memory
    project: M
    path: mem.json
flows:
  - name: pair
    a: { tracker: jira, scope: 'project = PLAT' }
    b: { tracker: mem }
    fields:
      title: both
`, echoingJira(t, email, token), email)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	noSecretForms(t, dir, "bad credentials in Basic [REDACTED]", forms, [][]string{
		{"-c", cfg, "--log-level", "debug", "sync", "--once"},
		{"-c", cfg, "-o", "json", "sync", "--once"},
		{"-c", cfg, "--log-level", "debug", "-o", "json", "plan"},
		{"-c", cfg, "runs"},
		{"-c", cfg, "-o", "json", "runs"},
		{"-c", cfg, "doctor"},
	})
}

// noSecretForms runs each command and fails t if any form of a secret
// reaches their output (stdout, stderr, logs) or the state database in
// dir (its file and WAL, byte for byte). echo is how the tracker's own
// message, quoting the secret, reads once redacted: it must be in both,
// or the test exercises nothing.
func noSecretForms(t *testing.T, dir, echo string, forms map[string]string, cmds [][]string) {
	t.Helper()
	var all strings.Builder
	for _, args := range cmds {
		_, out, errs := runCLI(t, args...)
		all.WriteString(out + errs)
	}
	got := all.String()
	if !strings.Contains(got, echo) {
		t.Fatalf("the tracker's 401 message never reached the output; the test is not exercising redaction:\n%s", got)
	}
	for name, f := range forms {
		if strings.Contains(got, f) {
			t.Errorf("the %s token (%q) reached the output:\n%s", name, f, got)
		}
	}
	var stored strings.Builder
	for _, f := range []string{"state.db", "state.db-wal"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
			stored.Write(b)
		}
	}
	if !strings.Contains(stored.String(), echo) {
		t.Fatalf("no run error with the tracker's message was stored; the test is not exercising stored errors")
	}
	for name, f := range forms {
		if strings.Contains(stored.String(), f) {
			t.Errorf("the %s token (%q) was stored in the state database", name, f)
		}
	}
}
