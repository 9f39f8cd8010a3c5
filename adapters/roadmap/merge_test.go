package roadmap_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tracksync/tracksync/adapters"
)

// TestMergeKeys: a PM sharing defaults between initiatives with a YAML
// merge key (<<: *defaults) gets the values YAML gives them: explicit keys
// win over merged ones. A write of a merged key adds an explicit one and
// leaves the shared defaults alone; removing a merged value cannot be
// done in place and is refused, naming the key.
func TestMergeKeys(t *testing.T) {
	const src = `defaults: &defaults
  status: in_progress
  owner: ana@acme.com
  team: growth
initiatives:
  - <<: *defaults
    key: INIT-1
    due: 2027-03-31
  - <<: [*defaults, {priority: high}]
    key: INIT-2
    team: billing
`
	path := filepath.Join(t.TempDir(), "roadmap.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := newTracker(t, path, nil)
	ctx := t.Context()
	type view struct {
		Status, Priority, Due string
		Assignees             []string
		Fields                map[string]string
	}
	get := func(key string) view {
		t.Helper()
		it, err := tr.Get(ctx, adapters.Ref{ID: key})
		if err != nil {
			t.Fatal(err)
		}
		return view{it.Status, it.Priority, it.Due, it.Assignees, it.Fields}
	}
	want1 := view{Status: "in_progress", Due: "2027-03-31", Assignees: []string{"ana@acme.com"}, Fields: map[string]string{"team": "growth"}}
	if diff := cmp.Diff(want1, get("INIT-1")); diff != "" {
		t.Errorf("INIT-1 (-want +got):\n%s", diff)
	}
	want2 := view{Status: "in_progress", Priority: "high", Assignees: []string{"ana@acme.com"}, Fields: map[string]string{"team": "billing"}}
	if diff := cmp.Diff(want2, get("INIT-2")); diff != "" {
		t.Errorf("INIT-2 (-want +got):\n%s", diff)
	}

	// A status write overrides on INIT-1 only; the defaults stay shared.
	if _, err := tr.Update(ctx, adapters.Ref{ID: "INIT-1"}, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "done"}}); err != nil {
		t.Fatal(err)
	}
	if got := get("INIT-1").Status; got != "done" {
		t.Errorf("INIT-1 status after the write: %q, want done", got)
	}
	if got := get("INIT-2").Status; got != "in_progress" {
		t.Errorf("INIT-2 status after INIT-1's write: %q, want in_progress", got)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), "defaults: &defaults\n  status: in_progress\n") {
		t.Errorf("the shared defaults changed:\n%s", b)
	}

	// Removing the owner would leave the merged one in place: refused.
	_, err := tr.Update(ctx, adapters.Ref{ID: "INIT-2"}, adapters.Patch{Fields: []string{adapters.FieldAssignees}, Item: adapters.Item{}})
	if !errors.Is(err, adapters.ErrUnsupported) || !strings.Contains(err.Error(), "owner") {
		t.Errorf("removing a merged owner: %v, want ErrUnsupported naming owner", err)
	}
	if got := get("INIT-2").Assignees; len(got) != 1 {
		t.Errorf("INIT-2 owner after the refused removal: %v", got)
	}
}
