package asana_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
)

// Benchmarks report Asana's costs, not just time: requests per operation
// as the fake counts them. The pacer runs on the fake's clock (its waits
// advance it), so time is the adapter's own work.

func benchList(b *testing.B, tr adapters.Tracker, scope, cursor string) string {
	token := ""
	for {
		p, err := tr.List(b.Context(), adapters.ListRequest{Scope: scope, Cursor: cursor, PageToken: token})
		if err != nil {
			b.Fatal(err)
		}
		if p.NextPageToken == "" {
			return p.Cursor
		}
		token = p.NextPageToken
	}
}

func seed(e *env, n int) {
	for i := range n {
		e.s.CreateTask(asanatest.Task{Name: fmt.Sprint("task ", i), HTMLNotes: "<body>Notes of task " + fmt.Sprint(i) + ".</body>",
			Memberships: []asanatest.Membership{{Project: e.project}}})
	}
}

// BenchmarkIdlePoll: an incremental listing of a caught-up project of 500
// tasks. Target: 1 request.
func BenchmarkIdlePoll(b *testing.B) {
	e := newEnv(b, asanatest.Options{RequestsPerMinute: -1})
	tr := e.tracker(b, func(o *asana.Options) { o.RequestsPerMinute = 1 << 20 })
	seed(e, 500)
	cur := benchList(b, tr, e.project, "")
	e.s.ResetLog()
	for b.Loop() {
		cur = benchList(b, tr, e.project, cur)
	}
	b.ReportMetric(float64(e.s.Count().Total)/float64(b.N), "requests/op")
}

// BenchmarkStatusChange: one status change propagated to a task the
// engine already holds, per status source, without and with IfVersion
// (the engine sends it; Asana has no conditional write, so it costs a
// read). Target: 1 write and nothing else.
func BenchmarkStatusChange(b *testing.B) {
	for _, c := range []struct {
		source, from, to string
		ifVersion        bool
	}{
		{asana.StatusSection, "To do", "Done", false}, {"custom_field:Risk", "Low", "High", false}, {asana.StatusCompleted, "Open", "Completed", false},
		{asana.StatusSection, "To do", "Done", true}, {"custom_field:Risk", "Low", "High", true}, {asana.StatusCompleted, "Open", "Completed", true},
	} {
		name := c.source
		if c.ifVersion {
			name += "/IfVersion" // as the engine writes
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, asanatest.Options{RequestsPerMinute: -1})
			tr := e.tracker(b, func(o *asana.Options) { o.Status = c.source; o.RequestsPerMinute = 1 << 20 })
			it := sample(0)
			it.Status = c.from
			res, err := tr.Create(b.Context(), it, adapters.CreateOptions{Scope: e.project})
			if err != nil {
				b.Fatal(err)
			}
			e.s.ResetLog()
			st := []string{c.to, c.from}
			i := 0
			version := res.Item.Version
			for b.Loop() {
				p := adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: st[i%2]}}
				if c.ifVersion {
					p.IfVersion = version
				}
				got, err := tr.Update(b.Context(), res.Item.Ref, p)
				if err != nil {
					b.Fatal(err)
				}
				version = got.Version
				i++
			}
			cnt := e.s.Count()
			b.ReportMetric(float64(cnt.Total)/float64(b.N), "requests/op")
			b.ReportMetric(float64(cnt.Writes)/float64(b.N), "writes/op")
		})
	}
}

// BenchmarkInitialListing5000: the first, full listing of a project of
// 5,000 tasks (pages of 100, the most Asana gives), and how long it takes
// at a free workspace's 150 requests a minute.
func BenchmarkInitialListing5000(b *testing.B) {
	e := newEnv(b, asanatest.Options{RequestsPerMinute: -1})
	seed(e, 5000)
	b.ReportAllocs()
	var paced time.Duration
	for b.Loop() {
		tr := e.tracker(b, func(o *asana.Options) { o.RequestsPerMinute = 150 })
		e.s.ResetLog()
		start := e.s.Now()
		benchList(b, tr, e.project, "")
		paced += e.s.Now().Sub(start)
	}
	b.ReportMetric(float64(e.s.Count().Total), "requests/op")
	b.ReportMetric(paced.Seconds()/float64(b.N), "paced-s/op")
}

var _ = context.Background

// BenchmarkCreateMany1000: 1,000 keyed creates in "To do" through
// CreateMany, as a migration sends them, in batches of 100.
func BenchmarkCreateMany1000(b *testing.B) {
	var requests int
	for b.Loop() {
		e := newEnv(b, asanatest.Options{RequestsPerMinute: -1})
		tr := e.tracker(b, func(o *asana.Options) { o.RequestsPerMinute = 1 << 20 })
		for start := 0; start < 1000; start += 100 {
			reqs := make([]adapters.CreateRequest, 100)
			for i := range reqs {
				it := sample(start + i)
				it.Labels = []string{"migrated"}
				reqs[i] = adapters.CreateRequest{Item: it, Options: adapters.CreateOptions{IdempotencyKey: fmt.Sprint("m/", start+i), Scope: e.project}}
			}
			if _, err := tr.CreateMany(b.Context(), reqs); err != nil {
				b.Fatal(err)
			}
		}
		requests += e.s.Count().Total
	}
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
}
