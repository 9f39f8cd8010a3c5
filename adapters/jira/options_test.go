package jira

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/config"
)

func TestFileOptions(t *testing.T) {
	raw := map[string]any{"url": "https://acme.atlassian.net", "auth": map[string]any{"email": "bot@acme.com", "token": "tok"},
		"limits": map[string]any{"requests_per_second": 2.5}, "custom_fields": "Story Points, Team", "back_links": false}
	got := defaultOptions().(*fileOptions)
	if errs := config.DecodeOptions(raw, "trackers.j", got); len(errs) > 0 {
		t.Fatal(errs)
	}
	want := &fileOptions{URL: "https://acme.atlassian.net", Deployment: Cloud, Timeout: 30 * time.Second,
		CustomFields: []string{"Story Points", "Team"}}
	want.Auth.Email, want.Auth.Token = "bot@acme.com", "tok"
	want.Limits.RequestsPerSecond = 2.5
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}

	reg := adaptertest.NewRegistry(t, Spec())
	adaptertest.OptionProblems(t, reg, "jira", "trackers.j", map[string]map[string]any{
		"trackers.j.limits.requests_per_second: want a number, 0 or more":   map[string]any{"url": "u", "limits": map[string]any{"requests_per_second": -1}},
		"trackers.j.limits.burst: unknown key (known: requests_per_second)": map[string]any{"url": "u", "limits": map[string]any{"burst": 3}},
		"trackers.j.timeout: want a duration":                               map[string]any{"url": "u", "timeout": "soon"},
		"trackers.j.back_links: want true or false":                         map[string]any{"url": "u", "back_links": "maybe"},
		"trackers.j.auth.tokn: unknown key (did you mean token?)":           map[string]any{"url": "u", "auth": map[string]any{"tokn": "api-secret"}},
		"trackers.j.auth.pat: want a single value, got a list":              map[string]any{"url": "u", "auth": map[string]any{"pat": []any{"api-secret"}}},
	}, "api-secret")
}
