// Package migratetest holds what migration tests share: seeding a
// tracker, reading a scope whole, and checking a migration's copies (one
// per source item, titles, comments in order with their headers,
// references rewritten). Test-only: nothing in the binary imports it.
package migratetest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
)

// All reads every item in scope of tr, with comments.
func All(t *testing.T, tr adapters.Tracker, scope string) []adapters.Item {
	t.Helper()
	var out []adapters.Item
	tok := ""
	for {
		p, err := tr.List(t.Context(), adapters.ListRequest{Scope: scope, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			full, err := tr.Get(t.Context(), it.Ref)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, full)
		}
		if tok = p.NextPageToken; tok == "" {
			return out
		}
	}
}

// Verify checks one copy per source item, titles, comments in order with
// their headers, and that no migrated item's source key is left in a body.
func Verify(t *testing.T, src, dst []adapters.Item, srcKey *regexp.Regexp) map[string]adapters.Item {
	t.Helper()
	byKey := map[string]adapters.Item{}
	for _, d := range dst {
		if d.SyncKey == "" {
			continue
		}
		if prev, dup := byKey[d.SyncKey]; dup {
			t.Errorf("duplicate copies %s and %s (%s)", prev.Ref, d.Ref, d.SyncKey)
		}
		byKey[d.SyncKey] = d
	}
	if len(byKey) != len(src) {
		t.Fatalf("%d copies of %d items", len(byKey), len(src))
	}
	copyOf := map[string]adapters.Item{}
	for _, d := range byKey {
		copyOf[strings.Split(d.SyncKey, "|")[2]] = d
	}
	srcKeys := map[string]bool{}
	for _, s := range src {
		srcKeys[s.Ref.Key] = true
	}
	for _, s := range src {
		d, ok := copyOf[s.Ref.ID]
		if !ok {
			t.Errorf("%s was not copied", s.Ref)
			continue
		}
		if d.Title != s.Title {
			t.Errorf("%s: title %q, want %q", d.Ref, d.Title, s.Title)
		}
		for _, k := range srcKey.FindAllString(d.Body, -1) {
			if srcKeys[k] {
				t.Errorf("%s: body still names %s: %q", d.Ref, k, d.Body)
			}
		}
		var human []adapters.Comment
		for _, c := range s.Comments {
			if !strings.HasPrefix(c.SyncKey, "migrate:") {
				human = append(human, c)
			}
		}
		if len(d.Comments) != len(human) {
			t.Errorf("%s: %d comments, want %d", d.Ref, len(d.Comments), len(human))
			continue
		}
		for i, c := range human {
			first := strings.SplitN(strings.TrimSpace(c.Body), " ", 3)[:2]
			if !strings.Contains(d.Comments[i].Body, "wrote on") || !strings.Contains(d.Comments[i].Body, strings.Join(first, " ")) {
				t.Errorf("%s: comment %d is %q, want a header and %q", d.Ref, i, d.Comments[i].Body, c.Body)
			}
		}
	}
	return copyOf
}

// SeedGitHub makes groups tracking issues on a GitHub tracker, each with
// subs sub-issues in its task list, two comments each; the sub-issues are
// assigned to users in turn.
func SeedGitHub(t *testing.T, gh interface {
	adapters.Tracker
	adapters.Commenter
}, groups, subs int, users []string) {
	t.Helper()
	ctx := t.Context()
	num := 0
	for g := 0; g < groups; g++ {
		parent := num + 1
		var list []string
		for c := 1; c <= subs; c++ {
			list = append(list, fmt.Sprintf("- [ ] #%d", parent+c))
		}
		items := []adapters.Item{{Title: fmt.Sprintf("tracking %d", g), Body: strings.Join(list, "\n"), Status: "open"}}
		for c := 1; c <= subs; c++ {
			items = append(items, adapters.Item{Title: fmt.Sprintf("sub %d.%d", g, c), Body: fmt.Sprintf("Part of #%d.", parent), Status: "open", Labels: []string{"infra"}, Assignees: []string{users[c%len(users)]}})
		}
		for _, it := range items {
			res, err := gh.Create(ctx, it, adapters.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for c := 1; c <= 2; c++ {
				if _, err := gh.AddComment(ctx, res.Item.Ref, adapters.Comment{Body: fmt.Sprintf("remark %d on %s", c, res.Item.Ref.Key)}, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
		num += subs + 1
	}
}

// SeedJira makes groups epics on a Jira tracker, each with 9 children
// (labels, an assignee from users in turn, a body naming the epic), every
// issue with three comments naming the epic (as issue 15's soak has them).
func SeedJira(t *testing.T, jr interface {
	adapters.BulkCreator
	adapters.Commenter
}, groups int, users []string) {
	t.Helper()
	ctx := t.Context()
	n := 0
	var reqs []adapters.CreateRequest
	for e := 0; e < groups; e++ {
		n++
		epic := adapters.CreateRequest{Item: adapters.Item{Kind: adapters.KindEpic, Title: fmt.Sprintf("epic %d", e), Body: fmt.Sprintf("Epic %d.", e), Status: "To Do", Labels: []string{"team-a"}},
			Options: adapters.CreateOptions{IdempotencyKey: fmt.Sprintf("seed|%d", n), KeyUnseen: true}}
		res, err := jr.CreateMany(ctx, []adapters.CreateRequest{epic})
		if err != nil {
			t.Fatal(err)
		}
		parent := res[0].Item.Ref
		reqs = reqs[:0]
		for c := 0; c < 9; c++ {
			n++
			reqs = append(reqs, adapters.CreateRequest{Item: adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", n),
				Body: fmt.Sprintf("Item %d, after %s.", n, parent.Key), Labels: []string{"team-a"}, Assignees: []string{users[n%len(users)]}, Parent: &parent, Status: "To Do"},
				Options: adapters.CreateOptions{IdempotencyKey: fmt.Sprintf("seed|%d", n), KeyUnseen: true}})
		}
		made, err := jr.CreateMany(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range append(res, made...) {
			for c := 1; c <= 3; c++ {
				if _, err := jr.AddComment(ctx, r.Item.Ref, adapters.Comment{Body: fmt.Sprintf("note %d on %s, see %s", c, r.Item.Ref.Key, parent.Key)}, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// CheckEpics checks that every copy of a child is under its epic's copy,
// as a sub-issue or in the copy's task list (copyOf as Verify returns).
func CheckEpics(t *testing.T, src []adapters.Item, copyOf map[string]adapters.Item) {
	t.Helper()
	for _, s := range src {
		if s.Parent == nil {
			continue
		}
		d, p := copyOf[s.Ref.ID], copyOf[s.Parent.ID]
		if (d.Parent == nil || d.Parent.ID != p.Ref.ID) && !strings.Contains(p.Body, "] "+d.Ref.Key) {
			t.Errorf("epic copy %s has neither %s as a sub-issue nor in its task list", p.Ref, d.Ref.Key)
		}
	}
}

// SeedAsana makes groups parent tasks in an Asana fake's project (section
// In progress), each with 9 subtasks alternately in To do and Done
// (completed), two comments on each subtask. They are made in the fake as
// a person makes them in the UI (as the adapter's own creates make them:
// a member of the project, a subtask with its parent), so seeding 10,000
// costs no requests.
func SeedAsana(t *testing.T, as *asanatest.Server, project string, groups int) {
	t.Helper()
	section := func(name string) string { return as.SectionByName(project, name) }
	for g := 0; g < groups; g++ {
		parent := as.CreateTask(asanatest.Task{Name: fmt.Sprintf("goal %d", g), HTMLNotes: "<body>A goal.</body>",
			Memberships: []asanatest.Membership{{Project: project, Section: section("In progress")}}})
		for c := 0; c < 9; c++ {
			sub := as.CreateTask(asanatest.Task{Name: fmt.Sprintf("step %d.%d", g, c), Parent: parent.GID, Completed: c%2 == 1,
				Memberships: []asanatest.Membership{{Project: project, Section: section([]string{"To do", "Done"}[c%2])}}})
			for k := 1; k <= 2; k++ {
				if _, err := as.AddComment(sub.GID, "", fmt.Sprintf("<body>progress %d.%d.%d</body>", g, c, k)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// CheckAsanaCopies checks the hierarchy and status of Asana tasks' copies
// (copyOf as Verify returns): a top-level task's copy is an epic, a
// subtask's is under its parent's copy, and each copy's status is in the
// category of its source's status on tr.
func CheckAsanaCopies(t *testing.T, tr adapters.Tracker, src []adapters.Item, copyOf map[string]adapters.Item) {
	t.Helper()
	for _, s := range src {
		d := copyOf[s.Ref.ID]
		if s.Parent == nil && d.Kind != adapters.KindEpic {
			t.Errorf("%s (%s) → %s: a %s, want an epic", s.Ref, s.Title, d.Ref, d.Kind)
		}
		if s.Parent != nil && (d.Parent == nil || d.Parent.ID != copyOf[s.Parent.ID].Ref.ID) {
			t.Errorf("%s → %s: parent %v, want the copy of %s", s.Ref, d.Ref, d.Parent, s.Parent)
		}
		if sc, _ := tr.Capabilities().Category(s.Status); d.StatusCategory != sc {
			t.Errorf("%s → %s: status %s (%s), want category %s", s.Ref, d.Ref, d.Status, d.StatusCategory, sc)
		}
	}
}
