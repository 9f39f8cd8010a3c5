package roadmap_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tracksync/tracksync/adapters/roadmap"
)

func TestDescribe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roadmap.yaml")
	os.WriteFile(path, []byte(`initiatives:
  - key: INIT-1
    title: Billing
    status: in_progress
    owner: ana
    labels: [money, q3]
  - key: INIT-2
    title: Search
    status: planned
    labels: [q3]
`), 0o644)
	tr, err := roadmap.New("plan", roadmap.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	d, err := tr.Describe(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range d.Statuses {
		names = append(names, s.Name+":"+string(s.Category))
		if s.To != nil {
			t.Errorf("status %s: transitions %v, want nil (any move)", s.Name, s.To)
		}
	}
	if !slices.Equal(names, []string{"planned:todo", "in_progress:in_progress", "at_risk:in_progress", "done:done", "cancelled:done"}) {
		t.Errorf("statuses: %v", names)
	}
	if !slices.Equal(d.Labels, []string{"money", "q3"}) {
		t.Errorf("labels: %v", d.Labels)
	}
	if d.Scope != path || len(d.Fields) == 0 {
		t.Errorf("scope %q, %d fields", d.Scope, len(d.Fields))
	}
	if len(d.Users) != 1 || d.Users[0].ID != "ana" {
		t.Errorf("users: %+v (want the owner ana)", d.Users)
	}
}
