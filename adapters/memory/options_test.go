package memory

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters/adaptertest"
	// Package config decodes option structs (and registers the decoder
	// for every test of this package).
	"github.com/tracksync/tracksync/config"
)

func TestFileOptions(t *testing.T) {
	got := defaultOptions().(*fileOptions)
	if errs := config.DecodeOptions(map[string]any{"path": "m.json", "page_size": "20"}, "trackers.m", got); len(errs) > 0 {
		t.Fatal(errs)
	}
	if d := cmp.Diff(&fileOptions{Project: "MEM", Path: "m.json", PageSize: 20}, got); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}
	reg := adaptertest.NewRegistry(t, Spec())
	adaptertest.OptionProblems(t, reg, "memory", "trackers.m", map[string]map[string]any{
		"trackers.m.page_size: want a whole number":               map[string]any{"page_size": 2.5},
		"trackers.m.page_size: want a single value, got a list":   map[string]any{"page_size": []any{1}},
		"trackers.m.projct: unknown key (did you mean project?)":  map[string]any{"projct": "X"},
		"trackers.m.statuses: want a single value, got a mapping": map[string]any{"statuses": map[string]any{"todo": "Open"}},
	})
}
