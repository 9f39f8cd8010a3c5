package githubtest

import (
	"testing"

	"github.com/tracksync/tracksync/adapters/github/githubtest/githubcontract"
)

// TestIssueTypesContract: issue types listed, set on create and update
// (by name, as {"value": name}, cleared with null), unknown names
// refused; checked against the contract.
func TestIssueTypesContract(t *testing.T) {
	s := New(t, Options{IssueTypes: []string{"Task", "Bug", "Epic"}})
	checker := githubcontract.NewChecker(t, s.Client().Transport)
	c := newClient(t, s, checker)
	steps := []struct {
		method, path string
		body         any
		want         int
		typ          string
	}{
		{"GET", "/repos/acme/app/issue-types", nil, 200, ""},
		{"POST", "/repos/acme/app/issues", map[string]any{"title": "big", "type": "Epic"}, 201, "Epic"},
		{"POST", "/repos/acme/app/issues", map[string]any{"title": "odd", "type": "Saga"}, 422, ""},
		{"PATCH", "/repos/acme/app/issues/1", map[string]any{"type": map[string]any{"value": "bug"}}, 200, "Bug"},
		{"PATCH", "/repos/acme/app/issues/1", map[string]any{"type": nil}, 200, ""},
		{"GET", "/repos/acme/app/issues/1", nil, 200, ""},
	}
	for _, st := range steps {
		got := c.do(st.method, st.path, st.body)
		if got.status != st.want {
			t.Errorf("%s %s %v: status %d, want %d: %s", st.method, st.path, st.body, got.status, st.want, got.body)
			continue
		}
		if st.typ != "" {
			var is struct{ Type struct{ Name string } }
			got.json(t, &is)
			if is.Type.Name != st.typ {
				t.Errorf("%s %s: type %q, want %q", st.method, st.path, is.Type.Name, st.typ)
			}
		}
	}
	if is, _ := s.Issue(DefaultRepo, 1); is.Type != "" {
		t.Errorf("type %q after clearing it", is.Type)
	}
	var types []struct{ Name string }
	c.do("GET", "/repos/acme/app/issue-types", nil).json(t, &types)
	if len(types) != 3 || types[2].Name != "Epic" {
		t.Errorf("issue types %+v", types)
	}
	checker.Check(t, len(steps))
}
