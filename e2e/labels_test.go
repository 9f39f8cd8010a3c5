package e2e_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/mapping/markup"
	tsync "github.com/tracksync/tracksync/sync"
)

// TestLabelsTheOtherSideCannotHold: GitHub labels often hold spaces
// ("help wanted", "good first issue"), which Jira labels cannot; a Jira
// label can be longer than GitHub's 50 characters. Such a label is left
// out of the copy, with a warning that says how to map it, and nothing
// else suffers: before, Jira refused the whole create, and with it every
// other create of the batch, at every run. The label stays where it is,
// is not removed by a later sync from the other side, and a labels map
// carries it.
func TestLabelsTheOtherSideCannotHold(t *testing.T) {
	p := newPair(t, githubtest.Options{}, github.Options{}, map[string]config.FieldConfig{
		"title":  {Direction: "both"},
		"labels": {Direction: "both", Map: []config.ValuePair{{A: "good-first-issue", B: "good first issue"}}},
	})
	p.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: "newcomer task", Labels: []string{"help wanted", "good first issue", "docs"}, User: ghUsers[0]})
	p.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: "plain task", Labels: []string{"docs"}, User: ghUsers[0]})
	long := strings.Repeat("x", 51)
	p.create(adapters.Item{Kind: adapters.KindIssue, Title: "jira task", Labels: []string{long, "backend"}})
	res := p.sync(false)
	warned := strings.Join(res.Plan.Warnings, "\n")
	for _, w := range []string{`label "help wanted" of b cannot be a label on a (it holds white space)`, "fields.labels.map", `label "` + long + `" of a cannot be a label on b (it is 51 characters long, over 50)`} {
		if !strings.Contains(warned, w) {
			t.Errorf("warnings lack %q:\n%s", w, warned)
		}
	}
	labelsOf := func(is jiratest.Issue) []string { l := slices.Clone(is.Labels); slices.Sort(l); return l }
	if got := labelsOf(flowtest.JiraIssue(t, p.jfake, "newcomer task")); !slices.Equal(got, []string{"docs", "good-first-issue"}) {
		t.Errorf("Jira copy's labels %v, want [docs good-first-issue]", got)
	}
	if got := labelsOf(flowtest.JiraIssue(t, p.jfake, "plain task")); !slices.Equal(got, []string{"docs"}) {
		t.Errorf("the other issue of the batch: labels %v", got)
	}
	if got := flowtest.GitHubIssue(t, p.gfake, ghRepo, "jira task").Labels; !slices.Equal(got, []string{"backend"}) {
		t.Errorf("GitHub copy of the Jira issue: labels %v, want [backend]", got)
	}
	if res := p.sync(false); res.Run.Counts.Created+res.Run.Counts.Updated != 0 {
		t.Errorf("a second run wrote %d creates and %d updates, want none", res.Run.Counts.Created, res.Run.Counts.Updated)
	}
	// Someone adds a label in Jira: GitHub gets it, and keeps the labels
	// Jira could not hold.
	key := flowtest.JiraIssue(t, p.jfake, "newcomer task").Key
	if err := p.jfake.EditIssue(key, "ana", func(is *jiratest.Issue) { is.Labels = append(is.Labels, "triaged") }); err != nil {
		t.Fatal(err)
	}
	p.sync(false)
	got := slices.Clone(flowtest.GitHubIssue(t, p.gfake, ghRepo, "newcomer task").Labels)
	slices.Sort(got)
	if want := []string{"docs", "good first issue", "help wanted", "triaged"}; !slices.Equal(got, want) {
		t.Errorf("GitHub labels after Jira added one: %v, want %v", got, want)
	}
	if res := p.sync(false); res.Run.Counts.Created+res.Run.Counts.Updated != 0 {
		t.Errorf("a run after that wrote %d creates and %d updates, want none", res.Run.Counts.Created, res.Run.Counts.Updated)
	}
}

// TestCommentTooLongForJira: a GitHub comment longer than Jira takes
// (32,767 characters; a pasted log) is refused with Jira's message at
// every run, but the comments after it are still copied, once, and the
// issue's fields still sync: before, the refused copy stopped every
// later comment of the issue for good.
func TestCommentTooLongForJira(t *testing.T) {
	p := newPair(t, githubtest.Options{}, github.Options{}, map[string]config.FieldConfig{
		"title":    {Direction: "both"},
		"comments": {Direction: "both"},
	})
	is := p.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: "with a long log", User: ghUsers[0]})
	if _, err := p.gfake.AddComment(ghRepo, is.Number, ghUsers[0], strings.Repeat("log line\n", 5000)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.gfake.AddComment(ghRepo, is.Number, ghUsers[0], "short one"); err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		res := p.sync(true)
		if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "exceeds the allowed limit of 32,767 characters") {
			t.Errorf("run %d: errors %v, want the long comment's refusal alone", run, res.Errors)
		}
		if n := len(p.jfake.Issues()[0].Comments); len(p.jfake.Issues()) != 1 || n != 1 {
			t.Errorf("run %d: %d comments on the Jira copy, want 1 (the short one, once)", run, n)
		}
		if run == 1 {
			if err := p.gfake.EditIssue(ghRepo, is.Number, func(x *githubtest.Issue) { x.Title = "renamed" }); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(p.jfake.Issues()) != 1 || p.jfake.Issues()[0].Summary != "renamed" {
		t.Errorf("the title did not follow: %+v", p.jfake.Issues())
	}
}

// TestOneRefusedValueHoldsBackNothing: the users table maps a GitHub
// user to a Jira account Jira does not know (a typo). Assigning that
// user on GitHub, with a rename, brings the rename to Jira and reports
// the assignee, without taking the assignee off GitHub and
// without writing anything else: before, Jira's refusal of the one value
// held back the whole edit at every run.
func TestOneRefusedValueHoldsBackNothing(t *testing.T) {
	fields := map[string]config.FieldConfig{"title": {Direction: "both"}, "assignees": {Direction: "both"}}
	p := newPair(t, githubtest.Options{}, github.Options{}, fields)
	cf := flowtest.Flow("project = "+jiraProj, ghRepo, fields)
	cf.Name, cf.Schedule = "pair", ""
	jusers := []string{"5b10ac8d82e05b22cc7d4ef5", "no-such-account", "5b10ac8d82e05b22cc7d4ef7"}
	p.flow = flowtest.Compile(t, cf, flowtest.Users(jusers, ghUsers), "jira", p.a, "github", p.b)
	p.create(adapters.Item{Kind: adapters.KindIssue, Title: "to rename"})
	p.sync(false)
	num := flowtest.GitHubIssue(t, p.gfake, ghRepo, "to rename").Number
	if err := p.gfake.EditIssue(ghRepo, num, func(x *githubtest.Issue) { x.Title, x.Assignees = "renamed", []string{ghUsers[1]} }); err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		p.advance(time.Minute)
		res, err := p.eng.Sync(p.ctx, p.flow, tsync.RunOptions{})
		if res == nil {
			t.Fatalf("run %d: %v", run, err)
		}
		// A refusal is retried when either side changes again (here the
		// second run sees the rename tracksync wrote) or at the next full
		// reconcile, not at every run.
		if (run == 1 && len(res.Errors) != 1) || len(res.Errors) > 1 || (len(res.Errors) == 1 && !strings.Contains(res.Errors[0].Error(), "User 'no-such-account' does not exist")) {
			t.Errorf("run %d: errors %v, want the refused assignee alone", run, res.Errors)
		}
		is := p.jfake.Issues()[0]
		if is.Summary != "renamed" || is.Assignee != "" {
			t.Errorf("run %d: Jira has %q assigned to %q, want renamed, unassigned", run, is.Summary, is.Assignee)
		}
		gh := flowtest.GitHubIssue(t, p.gfake, ghRepo, "renamed")
		if !slices.Equal(gh.Assignees, []string{ghUsers[1]}) {
			t.Errorf("run %d: GitHub assignees %v, want %s kept", run, gh.Assignees, ghUsers[1])
		}
		if run == 2 && res.Run.Counts.Updated != 0 {
			t.Errorf("run 2 counted %d updates, want none", res.Run.Counts.Updated)
		}
	}
}

// TestRestrictedJiraCommentsStay: a Jira comment visible only to a role,
// and a Service Management internal note, are not copied to GitHub, whose
// readers may be anyone; the issue's open comments are. Before, every
// comment was copied, restricted or not.
func TestRestrictedJiraCommentsStay(t *testing.T) {
	p := newPair(t, githubtest.Options{}, github.Options{}, map[string]config.FieldConfig{
		"title":    {Direction: "both"},
		"comments": {Direction: "both"},
	})
	it := p.create(adapters.Item{Kind: adapters.KindIssue, Title: "with notes"})
	body := func(md string) json.RawMessage {
		b, _ := json.Marshal(markup.MarkdownToADF(md, markup.Options{}))
		return b
	}
	for _, c := range []struct {
		text string
		set  func(*jiratest.Comment)
	}{
		{"for everyone", func(*jiratest.Comment) {}},
		{"developers only: the customer's password is hunter2", func(c *jiratest.Comment) { c.Restricted = "Developers" }},
		{"internal note: refund approved", func(c *jiratest.Comment) { c.Internal = true }},
	} {
		if err := p.jfake.AddCommentWith(it.Ref.Key, "ana", body(c.text), c.set); err != nil {
			t.Fatal(err)
		}
	}
	p.sync(false)
	gh := flowtest.GitHubIssue(t, p.gfake, ghRepo, "with notes")
	comments := p.gfake.Comments(ghRepo, gh.Number)
	var texts []string
	for _, c := range comments {
		texts = append(texts, c.Body)
	}
	all := strings.Join(texts, "\n")
	if len(comments) != 1 || !strings.Contains(all, "for everyone") || strings.Contains(all, "hunter2") || strings.Contains(all, "refund") {
		t.Errorf("GitHub comments %q, want the open one alone", texts)
	}
}
