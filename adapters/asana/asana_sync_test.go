package asana_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/mapping/markup"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
	"github.com/tracksync/tracksync/sync/synctest"
)

// The convergence test: the real engine syncs an Asana project (side a,
// the PM's board) with a Jira project (side b), both fakes, while random
// edits land on both. Some runs meet faults and 429s on both sides, lost
// answers to creates, expired sync tokens, or are killed part-way. After
// every clean run a further run writes nothing; at the end the flow must
// have converged as synctest.Check defines it.

var (
	sections  = []string{"To do", "In progress", "Done"}
	jiraNames = flowtest.Names(flowtest.Workflow)
	emails    = []string{"ana@example.com", "bo@example.com", "cy@example.com"}
	tagPool   = []string{"bug", "ux", "infra", "p1", "growth"}
)

// killer fails every request once armed and its count runs out, and
// cancels the run's context: to the engine, the process died there.
type killer struct {
	next   http.RoundTripper
	left   atomic.Int64
	armed  atomic.Bool
	cancel atomic.Pointer[context.CancelFunc]
}

func (k *killer) RoundTrip(r *http.Request) (*http.Response, error) {
	if k.armed.Load() && k.left.Add(-1) < 0 {
		if c := k.cancel.Load(); c != nil {
			(*c)()
		}
		return nil, context.Canceled
	}
	return k.next.RoundTrip(r)
}

type asanaModel struct {
	t      *testing.T
	ctx    context.Context
	rnd    *rand.Rand
	seed   uint64
	e      *env
	jfake  *jiratest.Server
	a      *asana.Tracker
	b      *jira.Tracker
	kill   *killer
	st     store.Store
	flow   *tsync.Flow
	eng    *tsync.Engine
	agids  []string // Asana user gids of ana, bo, cy
	tags   map[string]string
	steps  int
	faulty int
	kills  int
}

func newAsanaModel(t *testing.T, seed uint64) *asanaModel {
	start := flowtest.Start.Add(24 * time.Hour)
	e := newEnv(t, asanatest.Options{Start: start})
	m := &asanaModel{t: t, ctx: context.Background(), rnd: flowtest.Rand(seed), seed: seed, e: e, tags: map[string]string{}}
	for i, n := range []string{"Ana", "Bo", "Cy"} {
		m.agids = append(m.agids, e.s.AddUser(n, emails[i]))
	}
	for _, tg := range tagPool {
		m.tags[tg] = e.s.AddTag(tg)
	}
	m.kill = &killer{next: e.s.Client().Transport}
	m.a = e.trackerNamed(t, "a", func(o *asana.Options) { o.Transport = m.kill; o.RequestsPerMinute = 1 << 20 })
	m.jfake = jiratest.New(t, jiratest.Options{Start: start})
	m.b = flowtest.Jira(t, "b", m.jfake, "PLAT")
	m.st = flowtest.Store(t, "", e.s.Now)
	cf := flowtest.Flow(e.project, "project = PLAT", flowtest.FieldsWith([]config.ValuePair{
		{A: "To do", B: "To Do"}, {A: "In progress", B: "In Progress"}, {A: "In progress", B: "In Review"}, {A: "Done", B: "Done"},
	}, "due"))
	m.flow = flowtest.Compile(t, cf, flowtest.Users(emails, m.jfake.UserIDs()), "asana", m.a, "jira", m.b)
	m.eng = tsync.New(m.st, tsync.Options{Clock: e.s.Now})
	return m
}

func (m *asanaModel) advance(d time.Duration) {
	m.e.s.Advance(d)
	m.jfake.Advance(d)
}

func (m *asanaModel) step() {
	m.steps++
	r := flowtest.Step(m.rnd, m.advance, m.editAsana, m.editJira)
	if m.steps%10 == 0 || r >= 95 {
		m.sync(m.steps%20 == 0)
	}
}

func (m *asanaModel) editAsana(r int) {
	s := m.e.s
	tasks := s.Tasks(m.e.project)
	if r < 8 || len(tasks) == 0 {
		s.CreateTask(asanatest.Task{Name: fmt.Sprintf("asana-made %d", m.steps), HTMLNotes: "<body>pm notes</body>",
			Tags: []string{m.tags[tagPool[m.rnd.IntN(len(tagPool))]]}, Memberships: []asanatest.Membership{{Project: m.e.project}}})
		return
	}
	tk := tasks[m.rnd.IntN(len(tasks))]
	edit := func(f func(*asanatest.Task)) {
		if err := s.EditTask(tk.GID, f); err != nil {
			m.t.Fatal(err)
		}
	}
	switch {
	case r < 25:
		edit(func(x *asanatest.Task) { x.Name = fmt.Sprintf("a title %d", m.steps) })
	case r < 45:
		sec := s.SectionByName(m.e.project, sections[m.rnd.IntN(len(sections))])
		edit(func(x *asanatest.Task) {
			for i := range x.Memberships {
				if x.Memberships[i].Project == m.e.project {
					x.Memberships[i].Section = sec
				}
			}
		})
	case r < 58:
		g := m.tags[tagPool[m.rnd.IntN(len(tagPool))]]
		edit(func(x *asanatest.Task) { x.Tags = flowtest.Toggle(x.Tags, g) })
	case r < 68:
		u := ""
		if k := m.rnd.IntN(4); k < 3 {
			u = m.agids[k]
		}
		edit(func(x *asanatest.Task) { x.Assignee = u })
	case r < 73:
		edit(func(x *asanatest.Task) { x.DueOn = fmt.Sprintf("2027-0%d-1%d", 1+m.rnd.IntN(9), m.rnd.IntN(10)) })
	case r < 80:
		edit(func(x *asanatest.Task) {
			x.HTMLNotes = strings.Replace(x.HTMLNotes, "<body>", fmt.Sprintf("<body>notes %d ", m.steps), 1)
		})
	case r < 90:
		if _, err := s.AddComment(tk.GID, m.agids[0], fmt.Sprintf("<body>a says %d</body>", m.steps)); err != nil {
			m.t.Fatal(err)
		}
	case r < 93:
		if err := s.DeleteTask(tk.GID); err != nil {
			m.t.Fatal(err)
		}
	}
}

func adf(md string) json.RawMessage {
	b, _ := json.Marshal(markup.MarkdownToADF(md, markup.Options{}))
	return b
}

func (m *asanaModel) editJira(r int) {
	issues := m.jfake.Issues()
	if r < 8 || len(issues) == 0 {
		// No body: body flows from Asana to Jira only.
		if _, err := m.b.Create(m.ctx, adapters.Item{Title: fmt.Sprintf("jira-made %d", m.steps),
			Labels: []string{tagPool[m.rnd.IntN(len(tagPool))]}}, adapters.CreateOptions{}); err != nil {
			m.t.Fatal(err)
		}
		return
	}
	is := issues[m.rnd.IntN(len(issues))]
	jusers := m.jfake.UserIDs()
	p := flowtest.JiraPerson{Fake: m.jfake, Rnd: m.rnd, Statuses: jiraNames, Labels: tagPool, Users: jusers}
	done, err := p.Common(r, is.Key, fmt.Sprintf("b title %d", m.steps))
	switch {
	case done:
	case r < 75:
		err = p.Edit(is.Key, func(x *jiratest.Issue) { x.Due = fmt.Sprintf("2027-1%d-2%d", m.rnd.IntN(3), m.rnd.IntN(8)) })
	case r < 88:
		err = p.Comment(is.Key, jusers[1], adf(fmt.Sprintf("b says %d", m.steps)))
	case r < 91:
		err = p.Remove(is.Key)
	}
	if err != nil {
		m.t.Fatal(err)
	}
}

// sync runs the flow; with faulty, first a run meeting chaos on both sides
// (5% failures, half of them after the write happened, 2% 429s), then
// maybe expired sync tokens or a run killed part-way; clean runs follow,
// then a run with no edits must write nothing.
func (m *asanaModel) sync(faulty bool) {
	m.t.Helper()
	if faulty {
		m.faulty++
		m.e.s.SetChaos(m.seed*1000+uint64(m.steps), 0.05, 0.02)
		m.jfake.SetChaos(m.seed*1000+uint64(m.steps), 0.05, 0.02)
		_, _ = m.eng.Sync(m.ctx, m.flow, tsync.RunOptions{Force: true})
		m.e.s.SetChaos(0, 0, 0)
		m.jfake.SetChaos(0, 0, 0)
		m.advance(10 * time.Second)
		switch m.rnd.IntN(3) {
		case 0:
			m.e.s.ExpireSyncTokens()
		case 1:
			m.kills++
			ctx, cancel := context.WithCancel(m.ctx)
			m.kill.cancel.Store(&cancel)
			m.kill.left.Store(int64(1 + m.rnd.IntN(12)))
			m.kill.armed.Store(true)
			_, _ = m.eng.Sync(ctx, m.flow, tsync.RunOptions{Force: true})
			m.kill.armed.Store(false)
			cancel()
			m.advance(10 * time.Second)
		}
	}
	if err := flowtest.Clean(m.ctx, m.eng, m.flow, func() { m.advance(2 * time.Second) }); err != nil {
		m.t.Fatalf("step %d: %v", m.steps, err)
	}
	s := m.e.s
	err := synctest.Echo(func() error {
		_, err := m.eng.Sync(m.ctx, m.flow, tsync.RunOptions{Force: true})
		return err
	}, synctest.Writes{Name: "asana", Reset: s.ResetLog, Count: func() int { return s.Count().Writes }, Log: func() []string { return []string{fmt.Sprint(s.Count().ByRoute)} }},
		synctest.Jira("jira", m.jfake))
	if err != nil {
		m.t.Fatalf("step %d: %v", m.steps, err)
	}
}

func (m *asanaModel) asanaItems(ctx context.Context) ([]adapters.Item, error) {
	var out []adapters.Item
	for _, tk := range m.e.s.Tasks(m.e.project) {
		it, err := m.a.Get(ctx, adapters.Ref{Tracker: "a", ID: tk.GID})
		if err != nil {
			return nil, fmt.Errorf("reading task %s: %w", tk.GID, err)
		}
		out = append(out, it)
	}
	return out, nil
}

// check asserts convergence (synctest.Check); Jira keeps bodies as ADF,
// which drops surrounding space.
func (m *asanaModel) check() {
	m.t.Helper()
	err := synctest.Check(m.ctx, synctest.Options{Engine: m.eng, Store: m.st, Flow: m.flow,
		A: synctest.Side{Name: "asana", Items: m.asanaItems}, B: synctest.JiraSide("jira", m.jfake, "", m.b),
		TrimBodies: true, RequireSyncKeys: true})
	if err != nil {
		m.t.Fatal(err)
	}
}

func TestAsanaJiraConvergence(t *testing.T) {
	flowtest.Seeds(t, "", 1, 100, func(t *testing.T, seed uint64, steps int) {
		m := newAsanaModel(t, seed)
		for m.steps < steps {
			m.step()
		}
		m.sync(false)
		// Jira listings do not report deletions: the periodic full
		// reconcile finds links whose Jira side is gone.
		if _, err := m.eng.Sync(m.ctx, m.flow, tsync.RunOptions{Force: true, Full: true}); err != nil {
			t.Fatal(err)
		}
		m.check()
		if m.e.s.Injected() == 0 || m.kills == 0 {
			t.Errorf("no faults (%d) or no kills (%d) in %d faulty runs", m.e.s.Injected(), m.kills, m.faulty)
		}
		t.Logf("%d steps, %d faulty runs (%d asana requests failed), %d kills, %d asana tasks, %d jira issues",
			m.steps, m.faulty, m.e.s.Injected(), m.kills, len(m.e.s.Tasks(m.e.project)), len(m.jfake.Issues()))
	})
}
