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

	"github.com/tracksync/tracksync/adapters/asana/asanatest"
)

// TestAsanaSecretsRedacted: an Asana whose task listings answer 401 with
// a body echoing the Authorization header and the personal access token
// (raw, URL- and JSON-escaped, base64, in its message as text): no form of it reaches the output
// of sync, runs and migrate (text and JSON, debug logs included) or the
// state database.
func TestAsanaSecretsRedacted(t *testing.T) {
	const token = "2/1200/SECRET+pat=9&x"
	forms := map[string]string{
		"raw": token, "url-escaped": url.QueryEscape(token), "path-escaped": url.PathEscape(token),
		"json-escaped": `2/1200/SECRET+pat=9\u0026x`, "base64": base64.StdEncoding.EncodeToString([]byte(token)),
		// The echoed JSON-escaped form as -o json prints it.
		"json-escaped in json": `2/1200/SECRET+pat=9\\u0026x`,
	}
	fake := asanatest.New(t, asanatest.Options{Tokens: []string{token}})
	project := fake.AddProject("Roadmap", "To do", "Done")
	target, _ := url.Parse(fake.URL)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/tasks") && r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"errors":[{"message":"Not Authorized: %s (token %s, escaped %s, b64 %s, json %s)"}]}`,
				r.Header.Get("Authorization"), token, url.QueryEscape(token), forms["base64"], `2/1200/SECRET+pat=9\\u0026x`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	t.Setenv("TS_ASANA_TOKEN", token)
	conf := fmt.Sprintf(`state:
  dsn: state.db
trackers:
  asana:
    kind: asana
    url: %s
    workspace: "%s"
    projects: ["%s"]
    auth:
      token: ${TS_ASANA_TOKEN}
  mem:
    kind: memory
    project: M
    path: mem.json
flows:
  - name: pair
    a: { tracker: asana, scope: "%s" }
    b: { tracker: mem }
    fields:
      title: both
`, srv.URL+target.Path, fake.Workspace(), project, project)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	noSecretForms(t, dir, "Not Authorized: Bearer [REDACTED]", forms, [][]string{
		{"-c", cfg, "--log-level", "debug", "sync", "--once"},
		{"-c", cfg, "-o", "json", "sync", "--once"},
		{"-c", cfg, "runs"},
		{"-c", cfg, "-o", "json", "runs"},
		{"-c", cfg, "--log-level", "debug", "migrate", "--from", "asana:" + project, "--to", "mem", "--yes"},
		{"-c", cfg, "-o", "json", "migrate", "--from", "asana:" + project, "--to", "mem", "--yes"},
		{"-c", cfg, "doctor"},
	})
}
