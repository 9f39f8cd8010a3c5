package e2e_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"

	"fmt"
	"github.com/tracksync/tracksync/adapters"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/store/sqlite"
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

func newEcon(tb testing.TB, n int, toGitHub bool) *econ {
	tb.Helper()
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	clock := memory.NewClock(start)
	x := &econ{tb: tb, ctx: ctx, clock: clock, n: n, toGitHub: toGitHub}
	x.jfake = jiratest.New(tb, jiratest.Options{Start: start})
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
	a, err := jira.New(ctx, "jira", jira.Options{URL: jsrv.URL, Project: jiraProj, Email: "bot@example.com", Token: "api-token",
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	// A quota large enough that the bill, not the limit, is measured.
	x.gfake = githubtest.New(tb, githubtest.Options{Repos: []string{ghRepo}, Users: ghUsers, Tokens: []string{"tok"}, Clock: clock.Now,
		RateLimit: 1 << 30, ContentPerMinute: 1 << 20, ContentPerHour: 1 << 30})
	g, err := github.New("github", github.Options{URL: x.gfake.URL, Token: "tok", Clock: clock.Now, Transport: ticking{x, x.gfake.Client().Transport},
		ContentPerMinute: 1 << 20, ContentPerHour: 1 << 30,
		Sleep:        func(ctx context.Context, d time.Duration) error { x.advance(d); return ctx.Err() },
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	if toGitHub {
		// A person's own client seeds Jira; its requests are not billed.
		person, err := jira.New(ctx, "jira", jira.Options{URL: x.jfake.URL, Project: jiraProj, Email: "bot@example.com", Token: "api-token"})
		if err != nil {
			tb.Fatal(err)
		}
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
	st, err := sqlite.Open(ctx, stateDir(tb)+"/state.db", sqlite.Options{Clock: clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
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
	capsA, capsB := g.Capabilities(), a.Capabilities()
	m, probs := mapping.Compile(cf, "flows[0]", nil, mapping.SideInfo{Name: "github", Kind: "github", Caps: &capsA}, mapping.SideInfo{Name: "jira", Kind: "jira", Caps: &capsB})
	if len(probs) > 0 {
		tb.Fatalf("flow does not compile: %v", probs)
	}
	x.flow = &tsync.Flow{Map: m, A: g, B: a}
	x.eng = tsync.New(st, tsync.Options{Clock: clock.Now})
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
	res, err := x.eng.Sync(x.ctx, x.flow, tsync.RunOptions{})
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
	}{{"github-to-jira/100", false, 100}, {"github-to-jira/1000", false, 1000}, {"github-to-jira/10000", false, 10000},
		{"jira-to-github/100", true, 100}, {"jira-to-github/1000", true, 1000}, {"jira-to-github/10000", true, 10000}} {
		b.Run(c.name, func(b *testing.B) {
			var got map[string]bill
			for range b.N {
				got = newEcon(b, c.n, c.toGitHub).phases()
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
