package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func setInitEnv(t *testing.T) {
	for _, v := range []string{"JIRA_API_TOKEN", "JIRA_WEBHOOK_SECRET", "GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET"} {
		t.Setenv(v, "x-"+strings.ToLower(v))
	}
}

// TestInitFlags: init writes a config that validates, and says which
// webhooks to register and which scopes the tokens need.
func TestInitFlags(t *testing.T) {
	setInitEnv(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	code, out, errs := runCLI(t, "-c", cfg, "init", "--jira-url", "https://acme.atlassian.net", "--jira-project", "PLAT", "--jira-email", "bot@acme.com",
		"--github-repo", "acme/app", "--roadmap", "roadmap.yaml", "--public-url", "https://sync.acme.com/")
	if code != exitOK {
		t.Fatalf("init: %d %s%s", code, out, errs)
	}
	for _, want := range []string{"wrote " + cfg, "https://sync.acme.com/webhooks/jira", "https://sync.acme.com/webhooks/github",
		"Issues read and write", "Transition Issues", "JIRA_API_TOKEN", "project = PLAT"} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	body, _ := os.ReadFile(cfg)
	if strings.Contains(string(body), "x-jira_api_token") || !strings.Contains(string(body), "${JIRA_API_TOKEN}") {
		t.Errorf("the config holds a secret or lacks the variable:\n%s", body)
	}
	if code, out, errs := runCLI(t, "-c", cfg, "validate"); code != exitOK {
		t.Errorf("the written config does not validate: %d %s%s\n%s", code, out, errs, body)
	}
	// A second init keeps the file.
	if code, _, errs := runCLI(t, "-c", cfg, "init", "--github-repo", "acme/app", "--roadmap", "r.yaml"); code != exitUsage || !strings.Contains(errs, "--force") {
		t.Errorf("init over an existing file: %d %s", code, errs)
	}
	for _, args := range [][]string{
		{"init", "--github-repo", "acme"},
		{"init", "--github-repo", "acme/app"},
		{"init", "--jira-url", "https://x.atlassian.net", "--jira-project", "plat", "--github-repo", "a/b"},
	} {
		if code, _, errs := runCLI(t, append([]string{"-c", filepath.Join(dir, "other.yaml")}, args...)...); code != exitUsage {
			t.Errorf("%v: %d %s, want a usage error", args, code, errs)
		}
	}
}

// TestInitAsks: without flags, on a terminal, init asks.
func TestInitAsks(t *testing.T) {
	setInitEnv(t)
	cfg := filepath.Join(t.TempDir(), "tracksync.yaml")
	testStdin = strings.NewReader("\nacme/app\nroadmap.yaml\n\n")
	defer func() { testStdin = nil }()
	code, out, errs := runCLI(t, "-c", cfg, "init")
	if code != exitOK || !strings.Contains(out, "GitHub repository") || !strings.Contains(out, "http://127.0.0.1:8080/webhooks/github") {
		t.Fatalf("init (asking): %d %s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "-c", cfg, "validate"); code != exitOK {
		body, _ := os.ReadFile(cfg)
		t.Errorf("the written config does not validate: %d %s%s\n%s", code, out, errs, body)
	}
}
