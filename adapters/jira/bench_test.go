package jira_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/mapping/markup"
)

// The request-count benchmarks report requests/op, the figure that
// matters against Jira's rate limits (see BENCHMARKS.md).

func seed(b *testing.B, tr *jira.Tracker, n int) {
	b.Helper()
	for i := range n {
		if _, err := tr.Create(b.Context(), adapters.Item{Title: fmt.Sprintf("issue %d", i)}, adapters.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func listAll(b *testing.B, tr *jira.Tracker, cursor string) (string, int) {
	b.Helper()
	token, n := "", 0
	for {
		p, err := tr.List(b.Context(), adapters.ListRequest{Scope: "project = PLAT", Cursor: cursor, PageToken: token})
		if err != nil {
			b.Fatal(err)
		}
		n += len(p.Items)
		if p.NextPageToken == "" {
			return p.Cursor, n
		}
		token = p.NextPageToken
	}
}

func BenchmarkIdlePoll(b *testing.B) {
	for _, fl := range flavors {
		b.Run(string(fl), func(b *testing.B) {
			fake, tr := newPair(b, fl)
			seed(b, tr, 100)
			cursor, _ := listAll(b, tr, "")
			fake.Advance(time.Minute)
			fake.ResetRequests()
			for b.Loop() {
				if _, n := listAll(b, tr, cursor); n != 0 {
					b.Fatalf("idle poll listed %d", n)
				}
			}
			b.ReportMetric(float64(len(fake.Requests()))/float64(b.N), "requests/op")
		})
	}
}

func BenchmarkStatusChange(b *testing.B) {
	for _, fl := range flavors {
		b.Run(string(fl), func(b *testing.B) {
			fake, tr := newPair(b, fl)
			it := mustCreateB(b, tr)
			statuses := []string{"In Progress", "To Do"}
			for _, s := range statuses { // warm the transition cache
				update(b, tr, it, s)
			}
			fake.ResetRequests()
			i := 0
			for b.Loop() {
				update(b, tr, it, statuses[i%2])
				i++
			}
			b.ReportMetric(float64(len(fake.Requests()))/float64(b.N), "requests/op")
			b.ReportMetric(float64(fake.Count(http.MethodPost, "/transitions"))/float64(b.N), "transitions/op")
		})
	}
}

func mustCreateB(b *testing.B, tr *jira.Tracker) adapters.Item {
	res, err := tr.Create(b.Context(), adapters.Item{Title: "moving"}, adapters.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return res.Item
}

func update(b *testing.B, tr *jira.Tracker, it adapters.Item, status string) {
	if _, err := tr.Update(b.Context(), it.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: status}}); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkInitialListing1000(b *testing.B) {
	for _, fl := range flavors {
		b.Run(string(fl), func(b *testing.B) {
			fake, tr := newPair(b, fl)
			seed(b, tr, 1000)
			fake.ResetRequests()
			for b.Loop() {
				if _, n := listAll(b, tr, ""); n != 1000 {
					b.Fatalf("listed %d", n)
				}
			}
			b.ReportMetric(float64(fake.Count("", "/search"))/float64(b.N), "searches/op")
			b.ReportMetric(float64(fake.Count("", "/bulkfetch"))/float64(b.N), "bulkfetches/op")
		})
	}
}

func BenchmarkMarkup(b *testing.B) {
	md := "# Title\n\nSome *emphasis* and `code`, a [link](https://example.com).\n\n- one\n- two\n  - nested\n\n```go\nfmt.Println(1)\n```\n"
	b.SetBytes(int64(len(md)))
	b.Run("md-adf-md", func(b *testing.B) {
		b.SetBytes(int64(len(md)))
		for b.Loop() {
			markup.ADFToMarkdown(markup.MarkdownToADF(md, markup.Options{}), markup.Options{})
		}
	})
	b.Run("md-wiki-md", func(b *testing.B) {
		b.SetBytes(int64(len(md)))
		for b.Loop() {
			markup.WikiToMarkdown(markup.MarkdownToWiki(md, markup.Options{}), markup.Options{})
		}
	})
}

var _ = jiratest.Cloud
