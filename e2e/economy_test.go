package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	tsync "github.com/tracksync/tracksync/sync"
)

// The request bill of a one-way GitHub → Jira flow, counted on the fakes'
// request logs: what a tracker's rate limit sees, not time.

// econ is a one-way flow over n seeded issues: GitHub → Jira, or Jira →
// GitHub when toGitHub.
type econ struct {
	toGitHub bool
	tb       testing.TB
	ctx      context.Context
	clock    *memory.Clock
	jfake    *jiratest.Server
	gfake    *githubtest.Server
	flow     *tsync.Flow
	eng      *tsync.Engine
	n        int
}

// bill is one phase's requests on each side.
type bill struct {
	GitHub, Jira, JiraWrites int
	GitHubLog, JiraLog       []string
}

func (b bill) total() int { return b.GitHub + b.Jira }

func newEcon(tb testing.TB, n int, toGitHub bool, tweak ...func(*jira.Options)) *econ {
	tb.Helper()
	ctx := context.Background()
	clock := memory.NewClock(flowtest.Start)
	x := &econ{tb: tb, ctx: ctx, clock: clock, n: n, toGitHub: toGitHub}
	x.jfake = jiratest.New(tb, jiratest.Options{Start: flowtest.Start})
	// Every request takes 20ms of both fakes' time, so a run's writes
	// spread over time as they do against real trackers (a frozen clock
	// would stamp every write of a run alike).
	target, _ := url.Parse(x.jfake.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	jsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x.advance(latency)
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(jsrv.Close)
	a := flowtest.Jira(tb, "jira", x.jfake, jiraProj, append([]func(*jira.Options){func(o *jira.Options) { o.URL = jsrv.URL }}, tweak...)...)
	// A quota large enough that the bill, not the limit, is measured.
	x.gfake = githubtest.New(tb, githubtest.Options{Repos: []string{ghRepo}, Users: ghUsers, Tokens: []string{"tok"}, Clock: clock.Now,
		RateLimit: 1 << 30, ContentPerMinute: 1 << 20, ContentPerHour: 1 << 30})
	g := flowtest.GitHub(tb, "github", x.gfake, clock.Now, x.advance, github.Options{Transport: ticking{x, x.gfake.Client().Transport},
		ContentPerMinute: 1 << 20, ContentPerHour: 1 << 30})
	if toGitHub {
		// A person's own client seeds Jira; its requests are not billed.
		person := flowtest.Jira(tb, "jira", x.jfake, jiraProj)
		for i := range n {
			it := adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("issue %d", i), Body: fmt.Sprintf("body of issue %d", i),
				Labels: []string{labelPool[i%len(labelPool)]}}
			if i%10 == 9 {
				it.Status = "Done"
			}
			if _, err := person.Create(ctx, it, adapters.CreateOptions{}); err != nil {
				tb.Fatal(err)
			}
			x.jfake.Advance(time.Second)
		}
	}
	for i := range n * btoi(!toGitHub) {
		is := githubtest.Issue{Title: fmt.Sprintf("issue %d", i), Body: fmt.Sprintf("body of issue %d", i),
			Labels: []string{labelPool[i%len(labelPool)]}, User: ghUsers[i%len(ghUsers)]}
		if i%10 == 9 {
			is.State, is.StateReason = "closed", "completed"
		}
		x.gfake.CreateIssue(ghRepo, is)
		x.advance(time.Second) // people file issues over time
	}
	st := flowtest.Store(tb, flowtest.StateDir(tb), clock.Now)
	yes := true
	dir := "a-to-b"
	if toGitHub {
		dir = "b-to-a"
	}
	cf := config.Flow{Name: "gh-to-jira", A: config.FlowSide{Tracker: "github", Scope: ghRepo}, B: config.FlowSide{Tracker: "jira", Scope: "project = " + jiraProj},
		Direction: dir, Conflict: "newest", OnDelete: "unlink", MaxChangeShare: 1, Create: &yes, Schedule: "@every 5m",
		Fields: map[string]config.FieldConfig{
			"title":    {Direction: dir},
			"body":     {Direction: dir},
			"labels":   {Direction: dir},
			"comments": {Direction: dir},
			"status":   {Direction: dir, Map: []config.ValuePair{{A: "open", B: "To Do"}, {A: "closed", B: "Done"}}},
		}}
	x.flow = flowtest.Compile(tb, cf, nil, "github", g, "jira", a)
	// The fakes' clock runs 20 ms a request, far ahead of the wall clock
	// the lease is renewed by: a lease longer than any run here.
	x.eng = tsync.New(st, tsync.Options{Clock: clock.Now, LockTTL: 24 * time.Hour})
	return x
}

// latency is how much of the fakes' time one request takes.
const latency = 20 * time.Millisecond

// ticking advances the fakes' clocks by latency per request.
type ticking struct {
	x    *econ
	next http.RoundTripper
}

func (t ticking) RoundTrip(r *http.Request) (*http.Response, error) {
	t.x.advance(latency)
	return t.next.RoundTrip(r)
}

func (x *econ) advance(d time.Duration) {
	x.clock.Advance(d)
	x.jfake.Advance(d)
}

// run syncs once, five minutes after the last run (the schedule), and
// returns the requests it made.
func (x *econ) run(phase string) bill {
	x.tb.Helper()
	x.advance(5 * time.Minute)
	x.gfake.ResetLog()
	x.jfake.ResetRequests()
	res, err := x.eng.Sync(x.ctx, x.flow, tsync.RunOptions{Force: true})
	if err != nil {
		x.tb.Fatalf("%s: sync: %v", phase, err)
	}
	_ = res
	var b bill
	for _, r := range x.gfake.Requests() {
		b.GitHub++
		b.GitHubLog = append(b.GitHubLog, r.Method+" "+r.Path+"?"+r.Query)
	}
	for _, r := range x.jfake.Requests() {
		b.Jira++
		b.JiraLog = append(b.JiraLog, r.Method+" "+r.Path+"?"+r.Query)
	}
	b.JiraWrites = x.jfake.Writes()
	return b
}

// phases runs the four phases the targets speak of.
func (x *econ) phases() map[string]bill {
	out := map[string]bill{}
	out["initial"] = x.run("initial")
	out["idle1"] = x.run("first idle")
	out["idle2"] = x.run("second idle")
	if x.toGitHub {
		is := x.jfake.Issues()[x.n/2]
		if err := x.jfake.EditIssue(is.Key, "", func(i *jiratest.Issue) { i.Summary += " (edited)" }); err != nil {
			x.tb.Fatal(err)
		}
	} else {
		is := x.gfake.Issues(ghRepo)[x.n/2]
		if err := x.gfake.EditIssue(ghRepo, is.Number, func(i *githubtest.Issue) { i.Title += " (edited)" }); err != nil {
			x.tb.Fatal(err)
		}
	}
	out["change"] = x.run("one change")
	return out
}

// summary groups a request log by method and path shape.
func summary(log []string) string {
	counts := map[string]int{}
	var order []string
	for _, l := range log {
		k, _, _ := strings.Cut(l, "?")
		f := strings.Split(k, "/")
		for i, p := range f {
			if p != "" && strings.Trim(p, "0123456789") == "" || strings.HasPrefix(p, jiraProj+"-") {
				f[i] = "N"
			}
		}
		k = strings.Join(f, "/")
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	var b strings.Builder
	for _, k := range order {
		fmt.Fprintf(&b, "  %6d %s\n", counts[k], k)
	}
	return b.String()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BenchmarkRequestEconomy reports the requests of each phase on each side
// as custom metrics (requests, not time, are the bill):
//
//	go test ./e2e -run XXX -bench RequestEconomy/github-to-jira/10000 -benchtime 1x
func BenchmarkRequestEconomy(b *testing.B) {
	for _, c := range []struct {
		name     string
		toGitHub bool
		n        int
		noLinks  bool
	}{{"github-to-jira/100", false, 100, false}, {"github-to-jira/1000", false, 1000, false}, {"github-to-jira/10000", false, 10000, false},
		{"github-to-jira-no-back-links/10000", false, 10000, true},
		{"jira-to-github/100", true, 100, false}, {"jira-to-github/1000", true, 1000, false}, {"jira-to-github/10000", true, 10000, false}} {
		b.Run(c.name, func(b *testing.B) {
			var got map[string]bill
			for range b.N {
				got = newEcon(b, c.n, c.toGitHub, func(o *jira.Options) { o.NoBackLinks = c.noLinks }).phases()
			}
			for _, ph := range []string{"initial", "idle1", "idle2", "change"} {
				g := got[ph]
				b.ReportMetric(float64(g.GitHub), ph+"-github-reqs")
				b.ReportMetric(float64(g.Jira), ph+"-jira-reqs")
				b.ReportMetric(float64(g.JiraWrites), ph+"-jira-writes")
				if testing.Verbose() {
					b.Logf("%s: github %d\n%s jira %d (writes %d)\n%s", ph, g.GitHub, summary(g.GitHubLog), g.Jira, g.JiraWrites, summary(g.JiraLog))
				}
			}
		})
	}
}

// count is how many of a phase's requests match method and a path
// fragment, on one side's log.
func count(log []string, method, frag string) int {
	n := 0
	for _, l := range log {
		m, rest, _ := strings.Cut(l, " ")
		path, _, _ := strings.Cut(rest, "?")
		if m == method && strings.Contains(path, frag) {
			n++
		}
	}
	return n
}

// TestRequestBudget pins the request bill of 1,000 items, both ways, on
// the fakes: counts, not times. See BENCHMARKS.md for the figures at
// 10,000 and what each target means.
func TestRequestBudget(t *testing.T) {
	const n = 1000
	pages := n/100 + 1 // listing pages of 100, keyset paging repeats one a page
	check := func(t *testing.T, what string, got, limit int, log []string) {
		t.Helper()
		if got > limit {
			t.Errorf("%s: %d requests, want at most %d:\n%s", what, got, limit, summary(log))
		}
	}
	t.Run("github-to-jira", func(t *testing.T) {
		got := newEcon(t, n, false).phases()
		in := got["initial"]
		check(t, "initial, github", in.GitHub, pages, in.GitHubLog)
		// Jira: 50 creates a request and one bulkfetch a batch, the
		// transitions of the 10% created closed (two hops and a shared
		// read), and the back-link, a remote link per issue (Jira has no
		// bulk endpoint for those).
		links := count(in.JiraLog, "POST", "/remotelink")
		if links != n {
			t.Errorf("%d remote links for %d issues", links, n)
		}
		// 20 bulk creates, 20 read-backs and 20 of the moved ones, 2
		// transitions each for the 100 closed (To Do → In Progress →
		// Done), the listing and the two transition lookups.
		// And one search a batch of 50, which finds the issues a bulk
		// create made by their keys.
		check(t, "initial, jira beyond the remote links", in.Jira-links, 4*n/50+2*n/10+5, in.JiraLog)
		if c := count(in.JiraLog, "POST", "/search/jql"); c > 1+n/50 {
			t.Errorf("initial: %d searches: a key lookup per create is back (want the listing's and one a bulk create)", c)
		}
		if c := count(in.JiraLog, "GET", "/comment"); c > 0 {
			t.Errorf("initial: %d comment reads of issues just created", c)
		}
		// The first idle poll pages over the issues the initial sync
		// wrote (newer than its cursor) without fetching any: noted in
		// the cursor as tracksync's own, and listed by id, 5,000 a
		// search (issue 10).
		i1 := got["idle1"]
		check(t, "first idle, github", i1.GitHub, 1, i1.GitHubLog)
		check(t, "first idle, jira", i1.Jira, (n+4999)/5000, i1.JiraLog)
		if c := count(i1.JiraLog, "POST", "/bulkfetch") + count(i1.JiraLog, "GET", "/issue/"); c > 0 {
			t.Errorf("first idle: %d reads of issues tracksync wrote itself", c)
		}
		i2 := got["idle2"]
		check(t, "second idle, github", i2.GitHub, 1, i2.GitHubLog)
		check(t, "second idle, jira", i2.Jira, 1, i2.JiraLog)
		// GitHub's listing; Jira's search, the counterpart read, the
		// version check and the edit, answered with the issue.
		ch := got["change"]
		check(t, "one change, all", ch.total(), 5, append(ch.GitHubLog, ch.JiraLog...))
	})
	t.Run("jira-to-github", func(t *testing.T) {
		got := newEcon(t, n, true).phases()
		in := got["initial"]
		check(t, "initial, jira", in.Jira, 2*pages, in.JiraLog)
		// GitHub: one POST per issue, a PATCH for the 10% created closed
		// (GitHub creates issues open), the labels made once.
		check(t, "initial, github", in.GitHub, n+n/10+10, in.GitHubLog)
		i1 := got["idle1"]
		check(t, "first idle, jira", i1.Jira, 1, i1.JiraLog)
		check(t, "first idle, github", i1.GitHub, pages+1, i1.GitHubLog)
		if c := count(i1.GitHubLog, "GET", "/issues/"); c > 0 {
			t.Errorf("first idle: %d reads of issues tracksync wrote itself", c)
		}
		i2 := got["idle2"]
		check(t, "second idle, github", i2.GitHub, 1, i2.GitHubLog)
		check(t, "second idle, jira", i2.Jira, 1, i2.JiraLog)
		ch := got["change"]
		check(t, "one change, all", ch.total(), 6, append(ch.GitHubLog, ch.JiraLog...))
	})
}
