package initiatives

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/roadmap"
	"github.com/tracksync/tracksync/config"
)

// TestGitHubSubIssuesRollUp: a GitHub epic's sub-issues are its children
// as its task list's issues are; an issue both a sub-issue and in the
// task list counts once, and a sub-issue a person adds later joins the
// roll-up at the next refresh (listing sees the change by updated_at).
func TestGitHubSubIssuesRollUp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "roadmap.yaml")
	if err := os.WriteFile(path, []byte("initiatives:\n  - key: INIT-1\n    title: Billing\n    status: planned\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := roadmap.New("plan", roadmap.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	fake := githubtest.New(t, githubtest.Options{})
	tr, err := github.New("gh", github.Options{URL: fake.URL, Token: "t", Transport: fake.Client().Transport, Clock: fake.Now,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const repo = githubtest.DefaultRepo
	fake.CreateIssue(repo, githubtest.Issue{Title: "Billing epic", Labels: []string{"initiative:INIT-1"}, Body: "- [ ] #2\n- [x] #3\n"})
	fake.CreateIssue(repo, githubtest.Issue{Title: "Invoices"})                 // #2: sub-issue and task
	fake.CreateIssue(repo, githubtest.Issue{Title: "Tax", State: "closed"})     // #3: sub-issue and task
	fake.CreateIssue(repo, githubtest.Issue{Title: "Dunning"})                  // #4: sub-issue only
	fake.CreateIssue(repo, githubtest.Issue{Title: "Refunds", State: "closed"}) // #5: joins later
	for _, n := range []int{2, 3, 4} {
		if err := fake.SetParent(repo, n, repo+"#1"); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Initiatives{
		Source:   config.InitiativeSource{Tracker: "plan"},
		Status:   "children",
		Children: []config.ChildRule{{Tracker: "gh", Link: "label", Label: "initiative:{key}", Scope: repo}},
		Rollup:   config.RollupConfig{Weight: "count"},
	}
	svc := loaded(t, &cfg, map[string]adapters.Tracker{"plan": plan, "gh": tr}, map[string]string{"plan": "roadmap", "gh": "github"})
	r, ok := svc.Initiative("INIT-1")
	if !ok || r.Total != 3 || r.Counts[adapters.CategoryDone] != 1 {
		t.Fatalf("INIT-1: total %d, counts %v; want 3 (Invoices, Tax, Dunning, each once), 1 done", r.Total, r.Counts)
	}
	fake.Advance(time.Minute)
	if err := fake.SetParent(repo, 5, repo+"#1"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := svc.Initiative("INIT-1"); r.Total != 4 || r.Counts[adapters.CategoryDone] != 2 {
		t.Errorf("INIT-1 after Refunds became a sub-issue: total %d, counts %v; want 4, 2 done", r.Total, r.Counts)
	}
}
