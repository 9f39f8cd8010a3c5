package github

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

// Benchmarks report GitHub's costs, not just time: requests and primary
// quota per operation, measured by the fake.

func benchFixture(b *testing.B) *fixture {
	b.Helper()
	fake := githubtest.New(b, githubtest.Options{Tokens: []string{testToken}})
	tr, err := New("gh", Options{URL: fake.URL, Token: testToken, Repo: repoName, Clock: fake.Now, Transport: fake.Client().Transport,
		Sleep: func(_ context.Context, d time.Duration) error { fake.Advance(d); return nil }})
	if err != nil {
		b.Fatal(err)
	}
	return &fixture{fake: fake, tr: tr}
}

func benchList(b *testing.B, tr *Tracker, cursor string) string {
	token := ""
	for {
		p, err := tr.List(b.Context(), adapters.ListRequest{Scope: repoName, Cursor: cursor, PageToken: token})
		if err != nil {
			b.Fatal(err)
		}
		if p.NextPageToken == "" {
			return p.Cursor
		}
		token = p.NextPageToken
	}
}

// BenchmarkIdlePoll: a poll of a caught-up repository of 500 issues.
// Target: 1 request, 0 quota.
func BenchmarkIdlePoll(b *testing.B) {
	f := benchFixture(b)
	for i := range 500 {
		f.fake.CreateIssue(repoName, githubtest.Issue{Title: fmt.Sprint("issue ", i)})
		f.fake.Advance(time.Second)
	}
	cur := benchList(b, f.tr, "")
	cur = benchList(b, f.tr, cur)
	f.fake.ResetLog()
	for b.Loop() {
		cur = benchList(b, f.tr, cur)
	}
	c := f.fake.Count()
	b.ReportMetric(float64(c.Requests)/float64(b.N), "requests/op")
	b.ReportMetric(float64(c.Quota)/float64(b.N), "quota/op")
}

// BenchmarkStatusChange: propagating one status change to an issue, as
// the engine does (Update with IfVersion).
func BenchmarkStatusChange(b *testing.B) {
	f := benchFixture(b)
	res, err := f.tr.Create(b.Context(), adapters.Item{Title: "x"}, adapters.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	it := res.Item
	statuses := []string{StatusClosed, StatusOpen}
	f.fake.ResetLog()
	i := 0
	for b.Loop() {
		f.fake.Advance(time.Minute)
		it, err = f.tr.Update(b.Context(), it.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: statuses[i%2]}, IfVersion: it.Version})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
	c := f.fake.Count()
	b.ReportMetric(float64(c.Requests)/float64(b.N), "requests/op")
	b.ReportMetric(float64(c.Quota)/float64(b.N), "quota/op")
	b.ReportMetric(float64(c.Writes)/float64(b.N), "writes/op")
}

// BenchmarkCreatePacing: 1,000 creates against GitHub's default content
// limits (80/min, 500/h) on the simulated clock. The fastest schedule the
// limits allow is 80 a minute until 500 are made (6 min), then 80 a
// minute again as those leave the hour window: the 1,000th at 66 min.
// utilization is that optimum over the simulated time taken.
func BenchmarkCreatePacing(b *testing.B) {
	const n = 1000
	optimum := 66 * time.Minute
	var elapsed time.Duration
	var violations int
	for b.Loop() {
		f := benchFixture(b)
		start := f.fake.Now()
		for i := range n {
			if _, err := f.tr.Create(b.Context(), adapters.Item{Title: fmt.Sprint("issue ", i)}, adapters.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		elapsed = f.fake.Now().Sub(start)
		violations = f.fake.SecondaryViolations()
	}
	b.ReportMetric(elapsed.Minutes(), "sim-minutes")
	b.ReportMetric(100*optimum.Seconds()/elapsed.Seconds(), "utilization-%")
	b.ReportMetric(float64(violations), "violations")
}
