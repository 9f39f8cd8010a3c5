package github

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/config"
)

func TestFileOptions(t *testing.T) {
	raw := map[string]any{"auth": map[string]any{"app_id": 12, "installation_id": "34", "private_key_file": "gh.pem"},
		"limits": map[string]any{"content_per_minute": 20}, "status_source": "project", "issue_types": true,
		"project": map[string]any{"owner": "acme", "number": 3, "field": "Stage", "categories": map[string]any{"Shipped": "done"},
			"fields": []any{"Estimate"}, "due_field": "Target"}}
	got := defaultOptions().(*fileOptions)
	if errs := config.DecodeOptions(raw, "trackers.gh", got); len(errs) > 0 {
		t.Fatal(errs)
	}
	stage, target := "Stage", "Target"
	want := &fileOptions{URL: DefaultURL, StatusSource: "project", IssueTypes: true,
		Project: &projectFile{Owner: "acme", Number: 3, Field: &stage, Categories: map[string]string{"Shipped": "done"}, Fields: []string{"Estimate"}, DueField: &target}}
	want.Auth.AppID, want.Auth.InstallationID, want.Auth.PrivateKeyFile = 12, 34, "gh.pem"
	want.Limits.ContentPerMinute = 20
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}

	reg := adaptertest.NewRegistry(t, Spec())
	adaptertest.OptionProblems(t, reg, "github", "trackers.gh", map[string]map[string]any{
		"trackers.gh.limits.content_per_minute: want a positive whole number":                   map[string]any{"limits": map[string]any{"content_per_minute": -5}},
		"trackers.gh.limits.content_per_hour: want a positive whole number":                     map[string]any{"limits": map[string]any{"content_per_hour": 1.5}},
		"trackers.gh.limits.per_day: unknown key (known: content_per_minute, content_per_hour)": map[string]any{"limits": map[string]any{"per_day": 3}},
		"trackers.gh.auth.app_id: want a number":                                                map[string]any{"auth": map[string]any{"app_id": "twelve"}},
		"trackers.gh.issue_typs: unknown key (did you mean issue_types?)":                       map[string]any{"issue_typs": true},
		"trackers.gh.project.number: required":                                                  map[string]any{"status_source": "project", "project": map[string]any{"owner": "acme"}},
		"trackers.gh.project.number: want a positive whole number":                              map[string]any{"status_source": "project", "project": map[string]any{"owner": "acme", "number": 0}},
	})
}
