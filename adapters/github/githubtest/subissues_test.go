package githubtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters/github/githubtest/githubcontract"
)

// TestSubIssuesContract drives the sub-issue endpoints, refusals
// included, through the contract checker, and checks what they do.
func TestSubIssuesContract(t *testing.T) {
	s := New(t, Options{Repos: []string{"acme/app", "acme/web", "other/lib"}})
	checker := githubcontract.NewChecker(t, s.Client().Transport)
	c := newClient(t, s, checker)
	parent := s.CreateIssue("acme/app", Issue{Title: "epic"})
	child := s.CreateIssue("acme/web", Issue{Title: "child in another repo of the owner"})
	stranger := s.CreateIssue("other/lib", Issue{Title: "another owner"})
	steps := []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/repos/acme/app/issues/1/parent", nil, 404},
		{"POST", "/repos/acme/app/issues/1/sub_issues", map[string]any{"sub_issue_id": child.ID}, 201},
		{"POST", "/repos/acme/app/issues/1/sub_issues", map[string]any{"sub_issue_id": child.ID}, 422},    // already its parent
		{"POST", "/repos/acme/web/issues/1/sub_issues", map[string]any{"sub_issue_id": parent.ID}, 422},   // a cycle
		{"POST", "/repos/acme/app/issues/1/sub_issues", map[string]any{"sub_issue_id": stranger.ID}, 422}, // another owner
		{"POST", "/repos/acme/app/issues/1/sub_issues", map[string]any{"sub_issue_id": 999999}, 404},      // no such id
		{"GET", "/repos/acme/app/issues/1/sub_issues?per_page=100", nil, 200},
		{"GET", "/repos/acme/web/issues/1/parent", nil, 200},
		{"GET", "/repos/acme/web/issues/1", nil, 200},
		{"GET", "/repos/acme/app/issues?state=all", nil, 200},
		{"DELETE", "/repos/acme/app/issues/1/sub_issue", map[string]any{"sub_issue_id": child.ID}, 200},
		{"DELETE", "/repos/acme/app/issues/1/sub_issue", map[string]any{"sub_issue_id": child.ID}, 404},
	}
	for _, st := range steps {
		got := c.do(st.method, st.path, st.body)
		if got.status != st.want {
			t.Errorf("%s %s %v: status %d, want %d: %s", st.method, st.path, st.body, got.status, st.want, got.body)
		}
		if st.path == "/repos/acme/web/issues/1" {
			var is struct {
				ParentIssueURL string `json:"parent_issue_url"`
			}
			got.json(t, &is)
			if !strings.HasSuffix(is.ParentIssueURL, "/repos/acme/app/issues/1") {
				t.Errorf("parent_issue_url = %q, want the URL of acme/app#1", is.ParentIssueURL)
			}
		}
		if st.path == "/repos/acme/app/issues/1/sub_issues?per_page=100" {
			var subs []struct{ ID int64 }
			got.json(t, &subs)
			if len(subs) != 1 || subs[0].ID != child.ID {
				t.Errorf("sub-issues of acme/app#1 = %+v, want just id %d", subs, child.ID)
			}
		}
	}
	if subs := s.SubIssues("acme/app", 1); len(subs) != 0 {
		t.Errorf("after the removal acme/app#1 has sub-issues %+v", subs)
	}

	// The cap: the 101st sub-issue is refused, in GitHub's validation shape.
	for i := range MaxSubIssues {
		is := s.CreateIssue("acme/app", Issue{Title: fmt.Sprintf("sub %d", i)})
		if err := s.SetParent("acme/app", is.Number, "acme/app#1"); err != nil {
			t.Fatal(err)
		}
	}
	extra := s.CreateIssue("acme/app", Issue{Title: "one too many"})
	got := c.do("POST", "/repos/acme/app/issues/1/sub_issues", map[string]any{"sub_issue_id": extra.ID})
	if got.status != 422 || !strings.Contains(string(got.body), "100 sub-issues") {
		t.Errorf("the 101st sub-issue: %d %s, want 422 naming the cap", got.status, got.body)
	}
	// replace_parent moves a sub-issue from one parent to another.
	if got := c.do("POST", "/repos/acme/web/issues/1/sub_issues", map[string]any{"sub_issue_id": s.SubIssues("acme/app", 1)[0].ID, "replace_parent": true}); got.status != 201 {
		t.Errorf("replace_parent: %d %s", got.status, got.body)
	}
	if n := len(s.SubIssues("acme/app", 1)); n != MaxSubIssues-1 {
		t.Errorf("after moving one away acme/app#1 has %d sub-issues, want %d", n, MaxSubIssues-1)
	}

	checker.Check(t, len(steps))
}
