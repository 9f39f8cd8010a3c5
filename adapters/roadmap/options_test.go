package roadmap

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	// Package config decodes option structs (and registers the decoder
	// for every test of this package).
	"github.com/tracksync/tracksync/config"
)

func TestFileOptions(t *testing.T) {
	var got fileOptions
	raw := map[string]any{"path": "plan.yaml", "statuses": map[string]any{"todo": "idea, planned", "done": []any{"shipped"}}}
	if errs := config.DecodeOptions(raw, "trackers.plan", &got); len(errs) > 0 {
		t.Fatal(errs)
	}
	want := fileOptions{Path: "plan.yaml"}
	want.Statuses.Todo, want.Statuses.Done = []string{"idea", "planned"}, []string{"shipped"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}
	spec, _ := adapters.Default.Lookup("roadmap")
	if got, want := fmt.Sprint(spec.Options), `[{path string <nil> true false [] the roadmap YAML file, relative to the config file's folder} {statuses map <nil> false false [] native statuses by category in workflow order, e.g. {todo: [planned], in_progress: [in_progress, at_risk], done: [done, cancelled]}}]`; got != want {
		t.Errorf("options list\n%s\nwant\n%s", got, want)
	}
	adaptertest.OptionProblems(t, adapters.Default, "roadmap", "trackers.plan", map[string]map[string]any{
		"trackers.plan.path: required (the roadmap YAML file":                          map[string]any{},
		"trackers.plan.statuses.started: unknown key (known: todo, in_progress, done)": map[string]any{"path": "p.yaml", "statuses": map[string]any{"started": "x"}},
		"trackers.plan.statuses: want a mapping":                                       map[string]any{"path": "p.yaml", "statuses": []any{"x"}},
		"trackers.plan.statuses.done: want a list":                                     map[string]any{"path": "p.yaml", "statuses": map[string]any{"done": map[string]any{"x": 1}}},
	})
}
