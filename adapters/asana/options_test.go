package asana

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/config"
)

func TestFileOptions(t *testing.T) {
	raw := map[string]any{"auth": map[string]any{"token": "pat"}, "workspace": 1200, "projects": "11, 12",
		"status": "custom_field:Stage", "limits": map[string]any{"requests_per_minute": 1500}, "safety_poll": "5m", "marker": "external"}
	got := defaultOptions().(*fileOptions)
	if errs := config.DecodeOptions(raw, "trackers.a", got); len(errs) > 0 {
		t.Fatal(errs)
	}
	want := &fileOptions{URL: DefaultURL, Workspace: "1200", Projects: []string{"11", "12"}, Status: "custom_field:Stage",
		Handshakes: "tracksync", SafetyPoll: 5 * time.Minute, Marker: "external"}
	want.Auth.Token = "pat"
	want.Limits.RequestsPerMinute = 1500
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}

	reg := adaptertest.NewRegistry(t, Spec())
	base := func(k string, v any) map[string]any {
		return map[string]any{"auth": map[string]any{"token": "pat-secret-xyz"}, "workspace": "1", k: v}
	}
	adaptertest.OptionProblems(t, reg, "asana", "trackers.a", map[string]map[string]any{
		"trackers.a.limits.concurrent_writes: want a positive whole number":                      base("limits", map[string]any{"concurrent_writes": -1}),
		"trackers.a.limits.burst: unknown key (known: requests_per_minute, concurrent_writes)":   base("limits", map[string]any{"burst": 3}),
		"trackers.a.safety_poll: want a duration":                                                base("safety_poll", 15),
		`trackers.a.status: "column": want section, completed or custom_field:<enum field name>`: base("status", "column"),
		`trackers.a.handshakes: "some" is not one of tracksync, any`:                             base("handshakes", "some"),
		"trackers.a.workspaces: unknown key (did you mean workspace?)":                           base("workspaces", "1"),
	}, "pat-secret-xyz")
}
