package jira_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
	"github.com/tracksync/tracksync/sync/synctest"
)

// The convergence test: the real engine syncs a Jira fake (side a) and
// the in-memory tracker (side b) while random edits land on both, some
// runs with the fake injecting faults and 429s. Afterwards the flow must
// have converged as synctest.Check defines it.

var (
	memStatuses = flowtest.Simple
	jiraNames   = flowtest.Names(flowtest.Workflow)
	memUsers    = []string{"gh-ana", "gh-bo", "gh-cy"}
	labelPool   = []string{"bug", "ux", "infra", "p1", "growth"}
	prioPool    = []string{"", "High", "Low"}
)

type syncModel struct {
	t      *testing.T
	ctx    context.Context
	rnd    *rand.Rand
	seed   uint64
	clock  *memory.Clock
	fake   *jiratest.Server
	a      *jira.Tracker
	b      *memory.Tracker
	st     store.Store
	flow   *tsync.Flow
	eng    *tsync.Engine
	jusers []string // Jira ids of ana, bo, cy
	steps  int
	faulty int // syncs run with faults injected
}

func newSyncModel(t *testing.T, seed uint64, flavor jiratest.Flavor) *syncModel {
	clock := memory.NewClock(flowtest.Start)
	fake := jiratest.New(t, jiratest.Options{Flavor: flavor, Start: flowtest.Start})
	a := flowtest.Jira(t, "a", fake, "PLAT")
	fields := []string{adapters.FieldTitle, adapters.FieldBody, adapters.FieldStatus, adapters.FieldAssignees, adapters.FieldLabels, adapters.FieldPriority, adapters.FieldDue}
	b, err := memory.New("b", memory.Options{Statuses: memStatuses, Fields: fields, Clock: clock.Now, Project: "B", PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	st := flowtest.Store(t, "", clock.Now)
	jusers := fake.UserIDs()
	cf := flowtest.Flow("project = PLAT", "", flowtest.Fields())
	return &syncModel{t: t, ctx: context.Background(), rnd: flowtest.Rand(seed), seed: seed, clock: clock, fake: fake, a: a, b: b, st: st,
		flow: flowtest.Compile(t, cf, flowtest.Users(jusers, memUsers), "jira", a, "memory", b), eng: tsync.New(st, tsync.Options{Clock: clock.Now}), jusers: jusers}
}

func (m *syncModel) advance(d time.Duration) {
	m.clock.Advance(d)
	m.fake.Advance(d)
}

func (m *syncModel) body(md string) json.RawMessage { return bodyJSON(m.fake.Flavor(), md) }

func (m *syncModel) step() {
	m.steps++
	r := flowtest.Step(m.rnd, m.advance, m.editJira, m.editMemory)
	if m.steps%10 == 0 || r >= 95 {
		m.sync(m.steps%20 == 0)
	}
}

func (m *syncModel) editJira(r int) {
	issues := m.fake.Issues()
	if r < 8 || len(issues) == 0 {
		if _, err := m.a.Create(m.ctx, adapters.Item{Title: fmt.Sprintf("jira-made %d", m.steps), Body: "body a",
			Labels: []string{labelPool[m.rnd.IntN(len(labelPool))]}}, adapters.CreateOptions{}); err != nil {
			m.t.Fatal(err)
		}
		return
	}
	is := issues[m.rnd.IntN(len(issues))]
	p := flowtest.JiraPerson{Fake: m.fake, Rnd: m.rnd, Statuses: jiraNames, Labels: labelPool, Users: m.jusers}
	done, err := p.Common(r, is.Key, fmt.Sprintf("a title %d", m.steps))
	switch {
	case done:
	case r < 73:
		err = p.Edit(is.Key, func(x *jiratest.Issue) { x.Priority = prioPool[m.rnd.IntN(len(prioPool))] })
	case r < 80:
		err = p.Edit(is.Key, func(x *jiratest.Issue) { x.Description = m.body(fmt.Sprintf("a body %d", m.steps)) })
	case r < 90:
		err = p.Comment(is.Key, m.jusers[0], m.body(fmt.Sprintf("a says %d", m.steps)))
	case r < 93:
		err = p.Remove(is.Key)
	}
	if err != nil {
		m.t.Fatal(err)
	}
}

func (m *syncModel) editMemory(r int) {
	items := m.b.Items()
	if r < 8 || len(items) == 0 {
		m.b.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("b-made %d", m.steps), Status: "open",
			Labels: []string{labelPool[m.rnd.IntN(len(labelPool))]}})
		return
	}
	it := items[m.rnd.IntN(len(items))]
	edit := func(f func(*adapters.Item)) {
		if _, err := m.b.Edit(it.Ref, f); err != nil {
			m.t.Fatal(err)
		}
	}
	switch {
	case r < 25:
		edit(func(x *adapters.Item) { x.Title = fmt.Sprintf("b title %d", m.steps) })
	case r < 45:
		edit(func(x *adapters.Item) { x.Status = memStatuses[m.rnd.IntN(len(memStatuses))].Name })
	case r < 58:
		l := labelPool[m.rnd.IntN(len(labelPool))]
		edit(func(x *adapters.Item) { x.Labels = flowtest.Toggle(x.Labels, l) })
	case r < 68:
		// Jira holds one assignee, so b assigns at most one person.
		edit(func(x *adapters.Item) {
			x.Assignees = nil
			if k := m.rnd.IntN(4); k < 3 {
				x.Assignees = []string{memUsers[k]}
			}
		})
	case r < 73:
		edit(func(x *adapters.Item) { x.Priority = prioPool[m.rnd.IntN(len(prioPool))] })
	case r < 85:
		if _, err := m.b.AddComment(m.ctx, it.Ref, adapters.Comment{Body: fmt.Sprintf("b says %d", m.steps)}, ""); err != nil {
			m.t.Fatal(err)
		}
	case r < 90:
		cs, err := m.b.Comments(m.ctx, it.Ref)
		if err != nil {
			m.t.Fatal(err)
		}
		if len(cs) > 0 {
			c := cs[m.rnd.IntN(len(cs))]
			c.Body = fmt.Sprintf("b edited %d", m.steps)
			if _, err := m.b.EditComment(m.ctx, it.Ref, c); err != nil {
				m.t.Fatal(err)
			}
		}
	case r < 93:
		if err := m.b.Delete(m.ctx, it.Ref); err != nil {
			m.t.Fatal(err)
		}
	}
}

// sync runs the flow; with faulty, the first run meets 5% faults and
// occasional 429s and may fail, and clean runs follow. A run with no
// edits since must then write nothing (the echo rule).
func (m *syncModel) sync(faulty bool) {
	m.t.Helper()
	if faulty {
		m.faulty++
		m.fake.SetChaos(m.seed*1000+uint64(m.steps), 0.05, 0.02)
		// And one write whose answer is lost after it happened.
		m.fake.InjectFault(jiratest.Fault{Method: "POST", Path: "/issue", AfterWrite: true, Drop: true})
		_, _ = m.eng.Sync(m.ctx, m.flow, tsync.RunOptions{Force: true})
		m.fake.SetChaos(0, 0, 0)
		m.fake.ClearFaults()
		m.advance(10 * time.Second)
	}
	if err := flowtest.Clean(m.ctx, m.eng, m.flow, nil); err != nil {
		m.t.Fatalf("step %d: %v", m.steps, err)
	}
	err := synctest.Echo(func() error {
		_, err := m.eng.Sync(m.ctx, m.flow, tsync.RunOptions{Force: true})
		return err
	}, synctest.Jira("jira", m.fake), synctest.Memory("memory", m.b))
	if err != nil {
		m.t.Fatalf("step %d: %v", m.steps, err)
	}
}

// check asserts convergence (synctest.Check); Jira keeps bodies as ADF or
// wiki markup, which drops surrounding space.
func (m *syncModel) check() {
	m.t.Helper()
	err := synctest.Check(m.ctx, synctest.Options{Engine: m.eng, Store: m.st, Flow: m.flow,
		A: synctest.JiraSide("jira", m.fake, "", m.a), B: synctest.MemorySide("memory", m.b),
		TrimBodies: true, RequireSyncKeys: true})
	if err != nil {
		m.t.Fatal(err)
	}
}

func TestJiraMemoryConvergence(t *testing.T) {
	for _, fl := range flavors {
		flowtest.Seeds(t, string(fl)+"/", 1, 120, func(t *testing.T, seed uint64, steps int) {
			m := newSyncModel(t, seed, fl)
			for m.steps < steps {
				m.step()
			}
			m.sync(false)
			m.check()
			if m.fake.Injected() == 0 {
				t.Errorf("the fake injected no faults in %d faulty runs", m.faulty)
			}
			t.Logf("%d steps, %d runs with faults (%d requests failed), %d jira issues, %d memory items", m.steps, m.faulty, m.fake.Injected(), len(m.fake.Issues()), len(m.b.Items()))
		})
	}
}
