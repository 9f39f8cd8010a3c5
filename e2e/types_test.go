package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
)

// TestIssueTypesSync: GitHub issue types mapped to Jira issue types by a
// flow's type map (Story ⇄ Feature, Bug ⇄ Bug, Task ⇄ Task, Epic ⇄
// Epic): copies are made with the mapped type (an Epic is an epic on
// both), a type changed on either side reaches the other, a change Jira
// refuses (a story into an epic needs Jira's Move) is reported with
// Jira's own message and the rest of the run goes on, and a run with
// nothing new writes nothing.
func TestIssueTypesSync(t *testing.T) {
	p := newPair(t, githubtest.Options{IssueTypes: []string{"Task", "Bug", "Feature", "Epic"}}, github.Options{IssueTypes: true},
		map[string]config.FieldConfig{
			"title": {Direction: "both"},
			"type": {Direction: "both", Map: []config.ValuePair{
				{A: "Story", B: "Feature"}, {A: "Bug", B: "Bug"}, {A: "Task", B: "Task"}, {A: "Epic", B: "Epic"}}},
		})
	gfake, jfake := p.gfake, p.jfake
	sync := p.sync
	jiraIssue := func(title string) jiratest.Issue { t.Helper(); return flowtest.JiraIssue(t, jfake, title) }
	ghType := func(title string) string { t.Helper(); return flowtest.GitHubIssue(t, p.gfake, ghRepo, title).Type }
	num := func(title string) int { t.Helper(); return flowtest.GitHubIssue(t, p.gfake, ghRepo, title).Number }

	// Jira's story, bug and epic; GitHub's feature.
	for _, c := range []struct {
		title string
		kind  adapters.Kind
		typ   string
	}{{"a story", adapters.KindIssue, "Story"}, {"a bug", adapters.KindIssue, "Bug"}, {"an epic", adapters.KindEpic, "Epic"}} {
		p.create(adapters.Item{Kind: c.kind, Type: c.typ, Title: c.title})
	}
	gfake.CreateIssue(ghRepo, githubtest.Issue{Title: "a feature", Type: "Feature", User: ghUsers[0]})
	sync(false)
	for title, want := range map[string]string{"a story": "Feature", "a bug": "Bug", "an epic": "Epic"} {
		if got := ghType(title); got != want {
			t.Errorf("GitHub copy of %q: type %q, want %q", title, got, want)
		}
	}
	if got := jiraIssue("a feature").Type; got != "Story" {
		t.Errorf("Jira copy of the GitHub feature: type %q, want Story", got)
	}

	// A person makes the feature a bug on GitHub: the Jira story becomes a
	// Bug. A person makes the Jira bug a task: the GitHub issue follows.
	p.advance(time.Minute)
	if err := gfake.EditIssue(ghRepo, num("a story"), func(is *githubtest.Issue) { is.Type = "Bug" }); err != nil {
		t.Fatal(err)
	}
	if err := jfake.EditIssue(jiraIssue("a bug").Key, "", func(is *jiratest.Issue) { is.Type = "Task" }); err != nil {
		t.Fatal(err)
	}
	sync(false)
	if got := jiraIssue("a story").Type; got != "Bug" {
		t.Errorf("after GitHub's change: the Jira story is a %q, want Bug", got)
	}
	if got := ghType("a bug"); got != "Task" {
		t.Errorf("after Jira's change: the GitHub issue is a %q, want Task", got)
	}

	// A change Jira refuses: a GitHub bug made an Epic. The run reports
	// Jira's message for that issue; the other side keeps its type.
	p.advance(time.Minute)
	if err := gfake.EditIssue(ghRepo, num("a story"), func(is *githubtest.Issue) { is.Type = "Epic" }); err != nil {
		t.Fatal(err)
	}
	res := sync(true)
	var msgs []string
	for _, e := range res.Errors {
		msgs = append(msgs, e.Error())
	}
	if all := strings.Join(msgs, "\n"); !strings.Contains(all, "cannot become Epic issues by an edit") || !strings.Contains(all, jiraIssue("a story").Key) {
		t.Errorf("the refused change is reported as %q, want Jira's message naming %s", all, jiraIssue("a story").Key)
	}
	if got := jiraIssue("a story").Type; got != "Bug" {
		t.Errorf("the refused change left the Jira issue a %q, want Bug", got)
	}

	// Back to a Bug on GitHub: the pair agrees again, and a further run
	// writes nothing.
	p.advance(time.Minute)
	if err := gfake.EditIssue(ghRepo, num("a story"), func(is *githubtest.Issue) { is.Type = "Bug" }); err != nil {
		t.Fatal(err)
	}
	sync(false)
	res = sync(false)
	if res.Run.Counts.Updated != 0 || res.Run.Counts.Created != 0 {
		t.Errorf("a run with nothing new wrote: %+v", res.Run.Counts)
	}
}
