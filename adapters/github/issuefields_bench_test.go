package github

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

// Costs with status in an organization's issue field, measured by the
// fake: requests per operation (REST only; no GraphQL).

func benchIssueField(b *testing.B, issues int) (*fixture, []adapters.Ref) {
	b.Helper()
	fake := githubtest.New(b, githubtest.Options{Tokens: []string{testToken}, ContentPerMinute: -1, ContentPerHour: -1})
	fake.AddIssueField("acme", "Status", "single_select", "Todo", "In Progress", "Done")
	tr, err := New("gh", Options{URL: fake.URL, Token: testToken, Repo: repoName, Clock: fake.Now, Transport: fake.Client().Transport,
		Sleep:      func(_ context.Context, d time.Duration) error { fake.Advance(d); return nil },
		IssueField: &IssueFieldOptions{}})
	if err != nil {
		b.Fatal(err)
	}
	var refs []adapters.Ref
	for i := range issues {
		is := fake.CreateIssue(repoName, githubtest.Issue{Title: fmt.Sprint("issue ", i)})
		if err := fake.SetIssueFieldValue(repoName, is.Number, "Status", "Todo"); err != nil {
			b.Fatal(err)
		}
		refs = append(refs, adapters.Ref{Tracker: "gh", ID: issueID(repoName, is.Number)})
		fake.Advance(time.Second)
	}
	return &fixture{fake: fake, tr: tr}, refs
}

// BenchmarkIssueFieldIdlePoll: a poll of a caught-up repository of 250
// issues with the status field set. Target: 1 request (a 304), as with
// state.
func BenchmarkIssueFieldIdlePoll(b *testing.B) {
	f, _ := benchIssueField(b, 250)
	cur := benchList(b, f.tr, "")
	cur = benchList(b, f.tr, cur)
	f.fake.ResetLog()
	for b.Loop() {
		cur = benchList(b, f.tr, cur)
	}
	report(b, f, f.fake.GraphQLPoints())
}

// BenchmarkIssueFieldPersonChange: a person sets one issue's field; the
// next poll lists it. Target: 1 request.
func BenchmarkIssueFieldPersonChange(b *testing.B) {
	f, refs := benchIssueField(b, 250)
	cur := benchList(b, f.tr, "")
	cur = benchList(b, f.tr, cur)
	f.fake.ResetLog()
	statuses := []string{"In Progress", "Done"}
	i := 0
	for b.Loop() {
		b.StopTimer()
		f.fake.Advance(time.Minute)
		repo, n, _ := parseRef(refs[i%len(refs)])
		if err := f.fake.SetIssueFieldValue(repo, n, "Status", statuses[i%2]); err != nil {
			b.Fatal(err)
		}
		i++
		b.StartTimer()
		cur = benchList(b, f.tr, cur)
	}
	report(b, f, f.fake.GraphQLPoints())
}

// BenchmarkIssueFieldStatusChange: writing one status (a Jira transition
// reaching GitHub). Target: 1 write; with the read of the issue the
// write starts from and the read-back, 3 requests.
func BenchmarkIssueFieldStatusChange(b *testing.B) {
	f, refs := benchIssueField(b, 1)
	if err := f.tr.Check(b.Context()); err != nil { // the field's id, read once
		b.Fatal(err)
	}
	f.fake.ResetLog()
	statuses := []string{"In Progress", "Done"}
	i := 0
	for b.Loop() {
		if _, err := f.tr.Update(b.Context(), refs[0], adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: statuses[i%2]}}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	report(b, f, f.fake.GraphQLPoints())
	b.ReportMetric(float64(f.fake.Count().Writes)/float64(b.N), "writes/op")
}
