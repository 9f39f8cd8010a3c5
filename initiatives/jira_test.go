package initiatives

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
)

// TestJiraInitiatives: initiatives are Jira issues of type Initiative, their
// epics hang under them by parent and issues under the epics; the roll-up
// is written back as one summary comment kept up to date (never a second
// one) and the initiative's status follows its children. On the Jira
// Cloud fake: Data Center links epics to initiatives only through Advanced
// Roadmaps' Parent Link, which the adapter does not write (use link refs
// or label there).
func TestJiraInitiatives(t *testing.T) {
	for _, fl := range []jiratest.Flavor{jiratest.Cloud} {
		t.Run(string(fl), func(t *testing.T) {
			ctx := context.Background()
			fake := jiratest.New(t, jiratest.Options{Flavor: fl})
			tr := flowtest.Jira(t, "acme-jira", fake, "PLAT")
			mk := func(it adapters.Item) adapters.Item { t.Helper(); return flowtest.Create(t, tr, it) }
			init := mk(adapters.Item{Kind: adapters.KindInitiative, Title: "Self-serve", Status: "To Do", Due: "2030-01-31"})
			epic := mk(adapters.Item{Kind: adapters.KindEpic, Title: "Onboarding", Status: "In Progress", Parent: &init.Ref})
			mk(adapters.Item{Kind: adapters.KindIssue, Title: "Verify email", Status: "Done", Parent: &epic.Ref})
			b := mk(adapters.Item{Kind: adapters.KindIssue, Title: "Templates", Status: "To Do", Parent: &epic.Ref})
			mk(adapters.Item{Kind: adapters.KindIssue, Title: "Unrelated", Status: "To Do"})

			cfg := config.Initiatives{
				Source:   config.InitiativeSource{Tracker: "acme-jira", Scope: "project = PLAT AND issuetype = Initiative"},
				Status:   "children",
				Children: []config.ChildRule{{Tracker: "acme-jira", Link: "parent", Scope: "project = PLAT"}},
				Rollup:   config.RollupConfig{Weight: "count", WriteBack: config.WriteBack{Comment: true}},
			}
			svc := loaded(t, &cfg, map[string]adapters.Tracker{"acme-jira": tr}, map[string]string{"acme-jira": "jira"})
			r, ok := svc.Initiative(init.Ref.Key)
			if !ok || r.Total != 2 || r.DoneByCount != 0.5 || len(r.Children) != 1 || r.Children[0].Ref.Key != epic.Ref.Key {
				t.Fatalf("roll-up of %s: %+v", init.Ref.Key, r)
			}
			if len(svc.Rollups()) != 1 {
				t.Errorf("%d roll-ups, want only the initiative's", len(svc.Rollups()))
			}
			comments := func() []adapters.Comment {
				cs, err := tr.Comments(ctx, init.Ref)
				if err != nil {
					t.Fatal(err)
				}
				return cs
			}
			cs := comments()
			if len(cs) != 1 || !strings.Contains(cs[0].Body, "Progress: 50%") || !strings.Contains(cs[0].Body, "1 of 2 done") {
				t.Fatalf("summary comment: %+v", cs)
			}
			got, _ := tr.Get(ctx, init.Ref)
			if got.StatusCategory != adapters.CategoryInProgress {
				t.Errorf("initiative status %q (%s), want in progress: a child is done", got.Status, got.StatusCategory)
			}
			// The last issue is done: the comment is edited, not added to,
			// and the initiative is done.
			fake.Advance(time.Minute)
			if err := fake.EditIssue(b.Ref.Key, "", func(is *jiratest.Issue) { is.Status = "Done" }); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			cs = comments()
			if len(cs) != 1 || !strings.Contains(cs[0].Body, "Progress: 100%") {
				t.Fatalf("summary comment after the edit: %+v", cs)
			}
			got, _ = tr.Get(ctx, init.Ref)
			if got.StatusCategory != adapters.CategoryDone {
				t.Errorf("initiative status %q, want done", got.Status)
			}
			// Nothing changed: nothing written.
			fake.Advance(time.Minute)
			res, err := svc.Refresh(ctx)
			if err != nil || res.Written != 0 {
				t.Errorf("idle refresh: %+v %v", res, err)
			}
			// Nor on a full read (every 6 hours, every rollup run, a
			// restart), which compares with the comment as Jira holds it:
			// a comment as tracksync wrote it is not edited again.
			fake.Advance(time.Minute)
			before := comments()[0].Body
			res, err = svc.Load(ctx)
			if err != nil || res.Written != 0 {
				t.Errorf("full read with nothing changed: %d write(s), %v; comment %q", res.Written, err, before)
			}
		})
	}
}
