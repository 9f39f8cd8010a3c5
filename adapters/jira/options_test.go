package jira

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
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

	reg := adapters.NewRegistry()
	if err := reg.Register(Spec()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"url": "u", "limits": map[string]any{"requests_per_second": -1}}, "trackers.j.limits.requests_per_second: want a number, 0 or more"},
		{map[string]any{"url": "u", "limits": map[string]any{"burst": 3}}, "trackers.j.limits.burst: unknown key (known: requests_per_second)"},
		{map[string]any{"url": "u", "timeout": "soon"}, "trackers.j.timeout: want a duration"},
		{map[string]any{"url": "u", "back_links": "maybe"}, "trackers.j.back_links: want true or false"},
		{map[string]any{"url": "u", "auth": map[string]any{"tokn": "api-secret"}}, "trackers.j.auth.tokn: unknown key (did you mean token?)"},
		{map[string]any{"url": "u", "auth": map[string]any{"pat": []any{"api-secret"}}}, "trackers.j.auth.pat: want a single value, got a list"},
	} {
		errs := reg.Check("jira", "trackers.j", tc.raw)
		if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.raw, errs, tc.want)
		}
		if len(errs) > 0 && strings.Contains(errs[0].Error(), "api-secret") {
			t.Errorf("a secret in %v", errs)
		}
	}
}
