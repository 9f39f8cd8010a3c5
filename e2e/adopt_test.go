package e2e_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
	"github.com/tracksync/tracksync/sync/synctest"
)

// TestAdoptionOverJiraAndGitHub: a team's Jira project and GitHub
// repository already hold the same work, cross-referenced the ways people
// and other tools leave behind. The first run links every counterpart
// (and says by which rule), copies only what one side lacks, and under
// manual overwrites nothing: differences are held.
func TestAdoptionOverJiraAndGitHub(t *testing.T) {
	for _, fl := range []jiratest.Flavor{jiratest.Cloud, jiratest.DataCenter} {
		t.Run(string(fl), func(t *testing.T) {
			w := newWorld(t, 1, variant{flavor: fl, policy: "manual"})
			mk := func(title, body string) adapters.Item {
				got, err := w.person.Create(w.ctx, adapters.Item{Kind: adapters.KindIssue, Title: title, Body: body}, adapters.CreateOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return got.Item
			}
			// A GitHub issue naming its Jira issue by key.
			login := mk("Auth: login page", "the login page")
			w.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: "Login page", Body: "Tracked in " + login.Ref.Key + ".", User: ghUsers[0]})
			// Jira descriptions naming their GitHub issue: by URL, and as owner/repo#n.
			billing := w.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: "Billing export", User: ghUsers[0]})
			mk("Export invoices as CSV", "GitHub: https://github.com/"+ghRepo+"/issues/"+fmt.Sprint(billing.Number))
			search := w.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: "Search is slow", User: ghUsers[1]})
			mk("Speed up search", "see "+ghRepo+"#"+fmt.Sprint(search.Number))
			// The same title on both sides.
			mk("Dark mode", "")
			w.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: "dark mode", User: ghUsers[2]})
			// One side only.
			mk("Only in Jira", "")
			w.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: "Only on GitHub", User: ghUsers[0]})

			p, err := w.eng.Plan(w.ctx, w.flow, tsync.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			p.WriteText(&b)
			rules := map[string]int{}
			for _, op := range p.Ops {
				if op.Kind == tsync.OpLink {
					rules[op.Rule]++
				}
			}
			if rules["reference"] != 3 || rules["title"] != 1 || p.Count(tsync.OpCreate) != 2 {
				t.Fatalf("plan: links by rule %v, %d creates; want 3 by reference, 1 by title, 2 creates:\n%s", rules, p.Count(tsync.OpCreate), b.String())
			}
			w.settle(true)
			if nj, ng := len(w.jfake.Issues()), len(w.gfake.Issues(ghRepo)); nj != 6 || ng != 6 {
				t.Fatalf("after the first sync: %d jira issues, %d github issues; want 6 each", nj, ng)
			}
			for _, is := range w.gfake.Issues(ghRepo) {
				if is.Title == "Login page" && !strings.Contains(is.Body, login.Ref.Key) {
					t.Fatalf("the GitHub issue's body was overwritten: %q", is.Body)
				}
			}
			titles := map[string]bool{}
			items, err := synctest.JiraSide("jira", w.jfake, jiraProj, w.a).Items(w.ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				titles[it.Title] = true
			}
			for _, want := range []string{"Auth: login page", "Export invoices as CSV", "Speed up search", "Dark mode", "Only in Jira", "Only on GitHub"} {
				if !titles[want] {
					t.Fatalf("jira titles %v: %q missing (overwritten under manual?)", titles, want)
				}
			}
			// Five differences are held: four titles and the body that
			// names PLAT-1. A person settles them; the pairs then agree.
			cs, err := w.st.ListConflicts(w.ctx, w.flow.Map.Name, store.ConflictOpen)
			if err != nil || len(cs) != 5 {
				t.Fatalf("held conflicts: %d (%v), want 5", len(cs), err)
			}
			for _, c := range cs {
				if _, err := w.eng.Resolve(w.ctx, w.flow, c.ID, "a", ""); err != nil {
					t.Fatal(err)
				}
			}
			w.settle(true)
			w.check()
		})
	}
}
