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
	"github.com/tracksync/tracksync/internal/flowtest"
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
	p := &pair{t: t, ctx: context.Background(), clock: memory.NewClock(flowtest.Start)}
	p.jfake = jiratest.New(t, jiratest.Options{Start: flowtest.Start})
	p.a, p.person = flowtest.Jira(t, "a", p.jfake, jiraProj), flowtest.Jira(t, "a", p.jfake, jiraProj)
	gopts.Repos, gopts.Users, gopts.Tokens, gopts.Clock = []string{ghRepo}, ghUsers, []string{"tok"}, p.clock.Now
	p.gfake = githubtest.New(t, gopts)
	p.b = flowtest.GitHub(t, "b", p.gfake, p.clock.Now, p.advance, bopts)
	st := flowtest.Store(t, flowtest.StateDir(t), p.clock.Now)
	cf := flowtest.Flow("project = "+jiraProj, ghRepo, fields)
	cf.Name, cf.Schedule = "pair", ""
	p.flow = flowtest.Compile(t, cf, nil, "jira", p.a, "github", p.b)
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

// create makes a Jira issue as a person would.
func (p *pair) create(it adapters.Item) adapters.Item {
	p.t.Helper()
	res, err := p.person.Create(p.ctx, it, adapters.CreateOptions{})
	if err != nil {
		p.t.Fatal(err)
	}
	return res.Item
}
