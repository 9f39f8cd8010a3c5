package asana_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
)

func TestSpec(t *testing.T) {
	reg := adapters.NewRegistry()
	if err := reg.Register(asana.Spec()); err != nil {
		t.Fatal(err)
	}
	fake := asanatest.New(t, asanatest.Options{Tokens: []string{"pat-good"}})
	project := fake.AddProject("Roadmap", "To do", "Done")
	fake.AddCustomField(asanatest.CustomField{Name: "Stage", Type: asanatest.TypeEnum, Options: []asanatest.EnumOption{{Name: "Planned"}, {Name: "Shipped"}}}, project)
	ws := fake.Workspace()
	tests := []struct {
		name    string
		raw     map[string]any
		wantErr string // "" for success
	}{
		{"as in config.example.yaml", map[string]any{"url": fake.URL, "auth": map[string]any{"token": "pat-good"}, "workspace": ws,
			"projects": []any{project}, "status": "section", "limits": map[string]any{"requests_per_minute": 1500, "concurrent_writes": 15}}, ""},
		{"status in an enum field", map[string]any{"url": fake.URL, "auth": map[string]any{"token": "pat-good"}, "workspace": ws, "status": "custom_field:Stage"}, ""},
		{"status field missing", map[string]any{"url": fake.URL, "auth": map[string]any{"token": "pat-good"}, "workspace": ws, "status": "custom_field:Phase"}, "custom_field:Phase"},
		{"wrong token", map[string]any{"url": fake.URL, "auth": map[string]any{"token": "pat-secret-xyz"}, "workspace": ws}, "HTTP 401"},
		{"no token", map[string]any{"url": fake.URL, "workspace": ws}, "trackers.a.auth.token: required"},
		{"no workspace", map[string]any{"url": fake.URL, "auth": map[string]any{"token": "pat-good"}}, "trackers.a.workspace: required"},
		{"bad status", map[string]any{"auth": map[string]any{"token": "pat-good"}, "workspace": ws, "status": "column"}, "trackers.a.status"},
		{"unknown limit", map[string]any{"auth": map[string]any{"token": "pat-good"}, "workspace": ws, "limits": map[string]any{"burst": 3}}, "trackers.a.limits.burst"},
		{"project by name", map[string]any{"auth": map[string]any{"token": "pat-good"}, "workspace": ws, "projects": []any{project, "Roadmap"}}, `trackers.a.projects[1]: "Roadmap" is not a project gid`},
		{"workspace by name", map[string]any{"auth": map[string]any{"token": "pat-good"}, "workspace": "Acme Corp"}, `trackers.a.workspace: "Acme Corp" is not a workspace gid`},
		{"bad marker", map[string]any{"auth": map[string]any{"token": "pat-good"}, "workspace": ws, "marker": "comment"}, "trackers.a.marker"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := reg.Open(context.Background(), "a", "asana", tc.raw, nil, "")
			if err == nil {
				err = tr.(adapters.Checker).Check(t.Context())
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Open and Check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Open and Check: %v, want an error containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "pat-secret-xyz") {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}
	if got := reg.Secrets("asana"); strings.Join(got, ",") != "auth.token,webhook_secret" {
		t.Errorf("secrets %v", got)
	}
}
