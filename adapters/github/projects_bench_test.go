package github

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

// Costs with status in a Projects field: REST requests and GraphQL points
// per operation, measured by the fake.

func benchBoard(b *testing.B, cards int) (*fixture, []adapters.Ref) {
	b.Helper()
	fake := githubtest.New(b, githubtest.Options{Tokens: []string{testToken}, ContentPerMinute: -1, ContentPerHour: -1})
	fake.AddProject("acme", 1, "Status", "Todo", "In Progress", "Done")
	tr, err := New("gh", Options{URL: fake.URL, Token: testToken, Repo: repoName, Clock: fake.Now, Transport: fake.Client().Transport,
		Sleep:   func(_ context.Context, d time.Duration) error { fake.Advance(d); return nil },
		Project: &ProjectOptions{Owner: "acme", Number: 1}})
	if err != nil {
		b.Fatal(err)
	}
	var refs []adapters.Ref
	for i := range cards {
		is := fake.CreateIssue(repoName, githubtest.Issue{Title: fmt.Sprint("card ", i)})
		id := issueID(repoName, is.Number)
		if err := fake.MoveCard("acme", 1, id, "Todo"); err != nil {
			b.Fatal(err)
		}
		refs = append(refs, adapters.Ref{Tracker: "gh", ID: id})
		fake.Advance(time.Second)
	}
	return &fixture{fake: fake, tr: tr}, refs
}

func report(b *testing.B, f *fixture, points int) {
	rest := 0
	for _, r := range f.fake.Requests() {
		if !strings.HasSuffix(r.Path, "/graphql") {
			rest++
		}
	}
	b.ReportMetric(float64(rest)/float64(b.N), "requests/op")
	b.ReportMetric(float64(f.fake.GraphQLPoints()-points)/float64(b.N), "points/op")
}

// BenchmarkProjectIdlePoll: a poll of a caught-up repository of 250
// issues, all on the board. Target: 1 REST request (a 304) and
// ceil(250/100) = 3 GraphQL points.
func BenchmarkProjectIdlePoll(b *testing.B) {
	f, _ := benchBoard(b, 250)
	cur := benchList(b, f.tr, "")
	cur = benchList(b, f.tr, cur)
	f.fake.ResetLog()
	points := f.fake.GraphQLPoints()
	for b.Loop() {
		cur = benchList(b, f.tr, cur)
	}
	report(b, f, points)
}

// BenchmarkProjectStatusChange: writing one status (a Jira transition
// reaching the board). Target: 2 GraphQL points (the item lookup and the
// mutation) and 2 REST reads, no REST write.
func BenchmarkProjectStatusChange(b *testing.B) {
	f, refs := benchBoard(b, 1)
	f.fake.ResetLog()
	points := f.fake.GraphQLPoints()
	statuses := []string{"In Progress", "Done"}
	i := 0
	for b.Loop() {
		if _, err := f.tr.Update(b.Context(), refs[0], adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: statuses[i%2]}}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	report(b, f, points)
}

// BenchmarkProjectBoardMove: a poll after one card moved on a board of
// 250 (the change reaching Jira). Target: 2 REST requests (the 304 and
// the moved issue) and 3 GraphQL points.
func BenchmarkProjectBoardMove(b *testing.B) {
	f, refs := benchBoard(b, 250)
	cur := benchList(b, f.tr, "")
	f.fake.ResetLog()
	points := f.fake.GraphQLPoints()
	statuses := []string{"In Progress", "Done"}
	i := 0
	for b.Loop() {
		b.StopTimer()
		if err := f.fake.MoveCard("acme", 1, refs[7].ID, statuses[i%2]); err != nil {
			b.Fatal(err)
		}
		i++
		b.StartTimer()
		cur = benchList(b, f.tr, cur)
	}
	report(b, f, points)
}

// benchFieldBoard is benchBoard with the fields of boardFields synced
// (fieldBoardOptions) and every card holding a value in each.
func benchFieldBoard(b *testing.B, cards int) (*fixture, []adapters.Ref) {
	b.Helper()
	fake := githubtest.New(b, githubtest.Options{Tokens: []string{testToken}, ContentPerMinute: -1, ContentPerHour: -1})
	fake.AddProject("acme", 1, "Status", "Todo", "In Progress", "Done")
	for _, pf := range boardFields {
		if err := fake.AddProjectField("acme", 1, pf); err != nil {
			b.Fatal(err)
		}
	}
	tr, err := New("gh", Options{URL: fake.URL, Token: testToken, Repo: repoName, Clock: fake.Now, Transport: fake.Client().Transport,
		Sleep:   func(_ context.Context, d time.Duration) error { fake.Advance(d); return nil },
		Project: fieldBoardOptions()})
	if err != nil {
		b.Fatal(err)
	}
	values := map[string]string{"Target date": "2026-12-01", "Estimate": "3", "Notes": "text", "Priority": "P1", "Size": "M", "Iteration": "Iteration 2"}
	var refs []adapters.Ref
	for i := range cards {
		is := fake.CreateIssue(repoName, githubtest.Issue{Title: fmt.Sprint("card ", i)})
		id := issueID(repoName, is.Number)
		if err := fake.MoveCard("acme", 1, id, "Todo"); err != nil {
			b.Fatal(err)
		}
		for f, v := range values {
			if err := fake.SetCardField("acme", 1, id, f, v); err != nil {
				b.Fatal(err)
			}
		}
		refs = append(refs, adapters.Ref{Tracker: "gh", ID: id})
		fake.Advance(time.Second)
	}
	return &fixture{fake: fake, tr: tr}, refs
}

// BenchmarkProjectFieldsIdlePoll: BenchmarkProjectIdlePoll with six
// other fields synced and set on every card. Target: the same, 1 REST
// request and 3 GraphQL points: the values come in the items query.
func BenchmarkProjectFieldsIdlePoll(b *testing.B) {
	f, _ := benchFieldBoard(b, 250)
	cur := benchList(b, f.tr, "")
	cur = benchList(b, f.tr, cur)
	f.fake.ResetLog()
	points := f.fake.GraphQLPoints()
	for b.Loop() {
		cur = benchList(b, f.tr, cur)
	}
	report(b, f, points)
}

// BenchmarkProjectFieldWrite: writing one project field (a Jira due date
// reaching the Target date). Target: 2 GraphQL points (the item lookup
// and one updateProjectV2ItemFieldValue) and 2 REST reads, no REST write.
func BenchmarkProjectFieldWrite(b *testing.B) {
	f, refs := benchFieldBoard(b, 1)
	f.fake.ResetLog()
	points := f.fake.GraphQLPoints()
	dates := []string{"2026-12-08", "2026-12-15"}
	i := 0
	for b.Loop() {
		if _, err := f.tr.Update(b.Context(), refs[0], adapters.Patch{Fields: []string{adapters.FieldDue}, Item: adapters.Item{Due: dates[i%2]}}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	report(b, f, points)
}

// BenchmarkProjectFieldEdit: a poll after one card's Target date was
// edited on a board of 250 (the change reaching Jira). Target: 2 REST
// requests (the 304 and the edited issue) and 3 GraphQL points.
func BenchmarkProjectFieldEdit(b *testing.B) {
	f, refs := benchFieldBoard(b, 250)
	cur := benchList(b, f.tr, "")
	f.fake.ResetLog()
	points := f.fake.GraphQLPoints()
	dates := []string{"2026-12-08", "2026-12-15"}
	i := 0
	for b.Loop() {
		b.StopTimer()
		if err := f.fake.SetCardField("acme", 1, refs[7].ID, "Target date", dates[i%2]); err != nil {
			b.Fatal(err)
		}
		i++
		b.StartTimer()
		cur = benchList(b, f.tr, cur)
	}
	report(b, f, points)
}
