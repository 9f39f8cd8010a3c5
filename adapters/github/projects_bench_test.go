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

// benchTracker is a fake without content limits, set up by setUp, and
// an adapter on it with o whose waits pass on the fake's clock.
func benchTracker(b *testing.B, o Options, setUp func(*githubtest.Server)) *fixture {
	b.Helper()
	fake := githubtest.New(b, githubtest.Options{Tokens: []string{testToken}, ContentPerMinute: -1, ContentPerHour: -1})
	setUp(fake)
	o.URL, o.Token, o.Repo, o.Clock, o.Transport = fake.URL, testToken, repoName, fake.Now, fake.Client().Transport
	o.Sleep = func(_ context.Context, d time.Duration) error { fake.Advance(d); return nil }
	tr, err := New("gh", o)
	if err != nil {
		b.Fatal(err)
	}
	return &fixture{fake: fake, tr: tr}
}

// benchIssues makes n issues titled prefix and a number, a second apart,
// each set up by set.
func benchIssues(b *testing.B, f *fixture, n int, prefix string, set func(githubtest.Issue) error) []adapters.Ref {
	b.Helper()
	var refs []adapters.Ref
	for i := range n {
		is := f.fake.CreateIssue(repoName, githubtest.Issue{Title: fmt.Sprint(prefix, i)})
		if err := set(is); err != nil {
			b.Fatal(err)
		}
		refs = append(refs, adapters.Ref{Tracker: "gh", ID: issueID(repoName, is.Number)})
		f.fake.Advance(time.Second)
	}
	return refs
}

// benchBoard is a board of cards issues in Todo, its other fields set to
// values; po is the adapter's project (acme/1).
func benchBoard(b *testing.B, cards int, po *ProjectOptions, fields []githubtest.ProjectField, values map[string]string) (*fixture, []adapters.Ref) {
	b.Helper()
	f := benchTracker(b, Options{Project: po}, func(fake *githubtest.Server) {
		fake.AddProject("acme", 1, "Status", "Todo", "In Progress", "Done")
		for _, pf := range fields {
			if err := fake.AddProjectField("acme", 1, pf); err != nil {
				b.Fatal(err)
			}
		}
	})
	refs := benchIssues(b, f, cards, "card ", func(is githubtest.Issue) error {
		id := issueID(repoName, is.Number)
		if err := f.fake.MoveCard("acme", 1, id, "Todo"); err != nil {
			return err
		}
		for field, v := range values {
			if err := f.fake.SetCardField("acme", 1, id, field, v); err != nil {
				return err
			}
		}
		return nil
	})
	return f, refs
}

// benchPolls measures polls: warm listings first, then in each round
// change(i) (untimed; nil for none) and one listing.
func benchPolls(b *testing.B, f *fixture, warm int, change func(i int) error) {
	cur := ""
	for range warm {
		cur = benchList(b, f.tr, cur)
	}
	f.fake.ResetLog()
	points := f.fake.GraphQLPoints()
	i := 0
	for b.Loop() {
		if change != nil {
			b.StopTimer()
			if err := change(i); err != nil {
				b.Fatal(err)
			}
			i++
			b.StartTimer()
		}
		cur = benchList(b, f.tr, cur)
	}
	report(b, f, points)
}

// benchUpdates measures writes of ref, the patches in turn.
func benchUpdates(b *testing.B, f *fixture, ref adapters.Ref, patches ...adapters.Patch) {
	f.fake.ResetLog()
	points := f.fake.GraphQLPoints()
	i := 0
	for b.Loop() {
		if _, err := f.tr.Update(b.Context(), ref, patches[i%len(patches)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	report(b, f, points)
}

func statusPatch(s string) adapters.Patch {
	return adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: s}}
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
	f, _ := benchBoard(b, 250, &ProjectOptions{Owner: "acme", Number: 1}, nil, nil)
	benchPolls(b, f, 2, nil)
}

// BenchmarkProjectStatusChange: writing one status (a Jira transition
// reaching the board). Target: 2 GraphQL points (the item lookup and the
// mutation) and 2 REST reads, no REST write.
func BenchmarkProjectStatusChange(b *testing.B) {
	f, refs := benchBoard(b, 1, &ProjectOptions{Owner: "acme", Number: 1}, nil, nil)
	benchUpdates(b, f, refs[0], statusPatch("In Progress"), statusPatch("Done"))
}

// BenchmarkProjectBoardMove: a poll after one card moved on a board of
// 250 (the change reaching Jira). Target: 2 REST requests (the 304 and
// the moved issue) and 3 GraphQL points.
func BenchmarkProjectBoardMove(b *testing.B) {
	f, refs := benchBoard(b, 250, &ProjectOptions{Owner: "acme", Number: 1}, nil, nil)
	statuses := []string{"In Progress", "Done"}
	benchPolls(b, f, 1, func(i int) error { return f.fake.MoveCard("acme", 1, refs[7].ID, statuses[i%2]) })
}

// benchFieldBoard is benchBoard with the fields of boardFields synced
// (fieldBoardOptions) and every card holding a value in each.
func benchFieldBoard(b *testing.B, cards int) (*fixture, []adapters.Ref) {
	b.Helper()
	values := map[string]string{"Target date": "2026-12-01", "Estimate": "3", "Notes": "text", "Priority": "P1", "Size": "M", "Iteration": "Iteration 2"}
	return benchBoard(b, cards, fieldBoardOptions(), boardFields, values)
}

// BenchmarkProjectFieldsIdlePoll: BenchmarkProjectIdlePoll with six
// other fields synced and set on every card. Target: the same, 1 REST
// request and 3 GraphQL points: the values come in the items query.
func BenchmarkProjectFieldsIdlePoll(b *testing.B) {
	f, _ := benchFieldBoard(b, 250)
	benchPolls(b, f, 2, nil)
}

// BenchmarkProjectFieldWrite: writing one project field (a Jira due date
// reaching the Target date). Target: 2 GraphQL points (the item lookup
// and one updateProjectV2ItemFieldValue) and 2 REST reads, no REST write.
func BenchmarkProjectFieldWrite(b *testing.B) {
	f, refs := benchFieldBoard(b, 1)
	due := func(d string) adapters.Patch {
		return adapters.Patch{Fields: []string{adapters.FieldDue}, Item: adapters.Item{Due: d}}
	}
	benchUpdates(b, f, refs[0], due("2026-12-08"), due("2026-12-15"))
}

// BenchmarkProjectFieldEdit: a poll after one card's Target date was
// edited on a board of 250 (the change reaching Jira). Target: 2 REST
// requests (the 304 and the edited issue) and 3 GraphQL points.
func BenchmarkProjectFieldEdit(b *testing.B) {
	f, refs := benchFieldBoard(b, 250)
	dates := []string{"2026-12-08", "2026-12-15"}
	benchPolls(b, f, 1, func(i int) error { return f.fake.SetCardField("acme", 1, refs[7].ID, "Target date", dates[i%2]) })
}
