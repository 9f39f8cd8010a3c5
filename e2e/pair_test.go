package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
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

// pair is a one-flow set-up for a targeted Jira ⇄ GitHub test (the model
// test has its own world): the Jira fake and adapter (a, and person: a
// person's own client), the GitHub fake and adapter (b), a SQLite store
// and the engine, on one clock.
type pair struct {
	t      *testing.T
	ctx    context.Context
	clock  *memory.Clock
	jfake  *jiratest.Server
	gfake  *githubtest.Server
	a      *jira.Tracker
	person *jira.Tracker
	b      *github.Tracker
	flow   *tsync.Flow
	eng    *tsync.Engine
}

// newPair builds a pair whose GitHub fake and adapter take gopts and
// bopts, syncing fields between project PLAT and acme/platform both
// ways (newest wins, copies made both ways).
func newPair(t *testing.T, gopts githubtest.Options, bopts github.Options, fields map[string]config.FieldConfig) *pair {
	t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	p := &pair{t: t, ctx: ctx, clock: memory.NewClock(start)}
	p.jfake = jiratest.New(t, jiratest.Options{Start: start})
	jo := jira.Options{URL: p.jfake.URL, Project: jiraProj, Email: "bot@example.com", Token: "api-token", RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond}
	var err error
	if p.a, err = jira.New(ctx, "a", jo); err != nil {
		t.Fatal(err)
	}
	if p.person, err = jira.New(ctx, "a", jo); err != nil {
		t.Fatal(err)
	}
	gopts.Repos, gopts.Users, gopts.Tokens, gopts.Clock = []string{ghRepo}, ghUsers, []string{"tok"}, p.clock.Now
	p.gfake = githubtest.New(t, gopts)
	bopts.URL, bopts.Token, bopts.Clock, bopts.Transport = p.gfake.URL, "tok", p.clock.Now, p.gfake.Client().Transport
	bopts.Sleep = func(ctx context.Context, d time.Duration) error { p.advance(d); return ctx.Err() }
	bopts.RetryWaitMin, bopts.RetryWaitMax = time.Millisecond, 2*time.Millisecond
	if p.b, err = github.New("b", bopts); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, stateDir(t)+"/state.db", sqlite.Options{Clock: p.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	yes := true
	cf := config.Flow{Name: "pair", A: config.FlowSide{Tracker: "a", Scope: "project = " + jiraProj}, B: config.FlowSide{Tracker: "b", Scope: ghRepo},
		Direction: "both", Conflict: "newest", OnDelete: "unlink", MaxChangeShare: 1, Create: &yes, Fields: fields}
	capsA, capsB := p.a.Capabilities(), p.b.Capabilities()
	m, probs := mapping.Compile(cf, "flows[0]", nil, mapping.SideInfo{Name: "a", Kind: "jira", Caps: &capsA}, mapping.SideInfo{Name: "b", Kind: "github", Caps: &capsB})
	if len(probs) > 0 {
		t.Fatalf("flow does not compile: %v", probs)
	}
	p.flow = &tsync.Flow{Map: m, A: p.a, B: p.b}
	p.eng = tsync.New(st, tsync.Options{Clock: p.clock.Now})
	return p
}

// advance moves both fakes' clocks.
func (p *pair) advance(d time.Duration) {
	p.clock.Advance(d)
	p.jfake.Advance(d)
}

// sync runs the flow a minute later; a run that fails (or reports item
// errors) fails the test unless wantErr, when one must.
func (p *pair) sync(wantErr bool) *tsync.Result {
	p.t.Helper()
	p.advance(time.Minute)
	res, err := p.eng.Sync(p.ctx, p.flow, tsync.RunOptions{})
	if err != nil && !wantErr {
		p.t.Fatalf("sync: %v", err)
	}
	if wantErr && err == nil && (res == nil || len(res.Errors) == 0) {
		p.t.Fatalf("sync: no error, want one")
	}
	return res
}

// jiraIssue is the Jira fake's issue titled title.
func (p *pair) jiraIssue(title string) jiratest.Issue {
	p.t.Helper()
	for _, is := range p.jfake.Issues() {
		if is.Summary == title {
			return is
		}
	}
	p.t.Fatalf("no Jira issue %q", title)
	return jiratest.Issue{}
}

// ghIssue is the GitHub fake's issue titled title.
func (p *pair) ghIssue(title string) githubtest.Issue {
	p.t.Helper()
	for _, is := range p.gfake.Issues(ghRepo) {
		if is.Title == title {
			return is
		}
	}
	p.t.Fatalf("no GitHub issue %q", title)
	return githubtest.Issue{}
}

// create makes a Jira issue as a person would.
func (p *pair) create(it adapters.Item) adapters.Item {
	p.t.Helper()
	res, err := p.person.Create(p.ctx, it, adapters.CreateOptions{})
	if err != nil {
		p.t.Fatal(err)
	}
	return res.Item
}
