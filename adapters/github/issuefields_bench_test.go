package github

import (
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

// Costs with status in an organization's issue field, measured by the
// fake: requests per operation (REST only; no GraphQL).

func benchIssueField(b *testing.B, issues int) (*fixture, []adapters.Ref) {
	b.Helper()
	f := benchTracker(b, Options{IssueField: &IssueFieldOptions{}}, func(fake *githubtest.Server) {
		fake.AddIssueField("acme", "Status", "single_select", "Todo", "In Progress", "Done")
	})
	refs := benchIssues(b, f, issues, "issue ", func(is githubtest.Issue) error {
		return f.fake.SetIssueFieldValue(repoName, is.Number, "Status", "Todo")
	})
	return f, refs
}

// BenchmarkIssueFieldIdlePoll: a poll of a caught-up repository of 250
// issues with the status field set. Target: 1 request (a 304), as with
// state.
func BenchmarkIssueFieldIdlePoll(b *testing.B) {
	f, _ := benchIssueField(b, 250)
	benchPolls(b, f, 2, nil)
}

// BenchmarkIssueFieldPersonChange: a person sets one issue's field; the
// next poll lists it. Target: 1 request.
func BenchmarkIssueFieldPersonChange(b *testing.B) {
	f, refs := benchIssueField(b, 250)
	statuses := []string{"In Progress", "Done"}
	benchPolls(b, f, 2, func(i int) error {
		f.fake.Advance(time.Minute)
		repo, n, _ := parseRef(refs[i%len(refs)])
		return f.fake.SetIssueFieldValue(repo, n, "Status", statuses[i%2])
	})
}

// BenchmarkIssueFieldStatusChange: writing one status (a Jira transition
// reaching GitHub). Target: 1 write; with the read of the issue the
// write starts from and the read-back, 3 requests.
func BenchmarkIssueFieldStatusChange(b *testing.B) {
	f, refs := benchIssueField(b, 1)
	if err := f.tr.Check(b.Context()); err != nil { // the field's id, read once
		b.Fatal(err)
	}
	benchUpdates(b, f, refs[0], statusPatch("In Progress"), statusPatch("Done"))
	b.ReportMetric(float64(f.fake.Count().Writes)/float64(b.N), "writes/op")
}
