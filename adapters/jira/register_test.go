package jira_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
)

func TestSpec(t *testing.T) {
	reg := adapters.NewRegistry()
	if err := reg.Register(jira.Spec()); err != nil {
		t.Fatal(err)
	}
	fake := jiratest.New(t, jiratest.Options{Flavor: jiratest.DataCenter})
	cloud := jiratest.New(t, jiratest.Options{})
	tests := []struct {
		name    string
		raw     map[string]any
		wantErr string // "" for success
	}{
		{"cloud as in config.example.yaml", map[string]any{"url": cloud.URL, "auth": map[string]any{"email": "bot@example.com", "token": "api-token"},
			"webhook_secret": "s", "limits": map[string]any{"requests_per_second": 50}}, ""},
		{"cloud with a wrong token", map[string]any{"url": cloud.URL, "auth": map[string]any{"email": "bot@example.com", "token": "pat-secret-xyz"}}, "HTTP 401"},
		{"datacenter with a pat", map[string]any{"url": fake.URL, "deployment": "datacenter", "auth": map[string]any{"pat": "pat-token"},
			"timeout": "10s", "project": "PLAT", "limits": map[string]any{"requests_per_second": 1000}}, ""},
		{"url missing", map[string]any{"deployment": "cloud"}, "trackers.j.url: required"},
		{"bad deployment", map[string]any{"url": fake.URL, "deployment": "server"}, "trackers.j.deployment"},
		{"unknown limit", map[string]any{"url": fake.URL, "deployment": "datacenter", "auth": map[string]any{"pat": "pat-token"}, "limits": map[string]any{"burst": 3}}, "trackers.j.limits.burst"},
		{"pat on cloud", map[string]any{"url": fake.URL, "auth": map[string]any{"pat": "pat-secret-xyz"}}, "trackers.j.auth.pat"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := reg.Open(context.Background(), "j", "jira", tc.raw, nil, "")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if err := tr.(adapters.Checker).Check(t.Context()); err != nil {
					t.Errorf("Check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Open: %v, want an error containing %q", err, tc.wantErr)
			}
			for _, secret := range []string{"api-token", "pat-token", "pat-secret-xyz"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a secret: %v", err)
				}
			}
		})
	}
	if got := reg.Secrets("jira"); strings.Join(got, ",") != "auth.token,auth.pat,webhook_secret" {
		t.Errorf("secrets %v", got)
	}
}

// TestTransitionDefaultsFromConfig: a transition whose screen requires a
// field takes its value from the config (trackers.<name>.
// transition_defaults), and without it the error says which key to set:
// before, the option existed only in Go and the error pointed nowhere.
func TestTransitionDefaultsFromConfig(t *testing.T) {
	reg := adapters.NewRegistry()
	if err := reg.Register(jira.Spec()); err != nil {
		t.Fatal(err)
	}
	fake := jiratest.New(t, jiratest.Options{})
	fake.SetRequired("Done", "resolution", jiratest.SeverityField)
	open := func(raw map[string]any) adapters.Tracker {
		t.Helper()
		tr, err := reg.Open(context.Background(), "j", "jira", raw, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	base := func() map[string]any {
		return map[string]any{"url": fake.URL, "project": "PLAT", "auth": map[string]any{"email": "bot@example.com", "token": "api-token"}}
	}
	done := adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "Done"}}

	bare := open(base())
	it, err := bare.Create(t.Context(), adapters.Item{Title: "to close"}, adapters.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bare.Update(t.Context(), it.Item.Ref, done); err == nil || !strings.Contains(err.Error(), "set trackers.j.transition_defaults.Severity") {
		t.Fatalf("a transition needing Severity, none configured: %v", err)
	}
	raw := base()
	raw["transition_defaults"] = map[string]any{"Severity": "Minor"}
	if _, err := open(raw).Update(t.Context(), it.Item.Ref, done); err != nil {
		t.Fatalf("with transition_defaults.Severity set: %v", err)
	}
	if got, _ := fake.Issue(it.Item.Ref.ID); got.Status != "Done" || got.Resolution != "Done" {
		t.Errorf("status %q resolution %q, want Done and the default resolution Done", got.Status, got.Resolution)
	}
}
