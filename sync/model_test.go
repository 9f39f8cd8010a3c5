package sync_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	tsync "github.com/tracksync/tracksync/sync"
	"github.com/tracksync/tracksync/sync/synctest"
)

var (
	labelPool = []string{"bug", "ux", "infra", "p1", "growth"}
	usersA    = []string{"ana", "bo", "cy"}
	usersB    = []string{"gh-ana", "gh-bo", "gh-cy"}
	prios     = []string{"", "high", "low"}
)

// model drives two trackers with random edits and syncs in between.
type model struct {
	*env
	rnd    *rand.Rand
	steps  int
	syncs  int
	faults bool // inject crashes, rate limits and failed writes into syncs
	faulty int  // syncs that were hit by a fault
}

func (m *model) pick(t *memoryLike) (adapters.Item, bool) {
	items := t.Items()
	if len(items) == 0 {
		return adapters.Item{}, false
	}
	return items[m.rnd.IntN(len(items))], true
}

// memoryLike is the part of the memory tracker the model drives.
type memoryLike = memTracker

func (m *model) step() {
	m.steps++
	m.clock.Advance(time.Duration(1+m.rnd.IntN(90)) * time.Second)
	tr, side := m.a, "a"
	statuses, users := statusesA, usersA
	if m.rnd.IntN(2) == 1 {
		tr, side = m.b, "b"
		statuses, users = statusesB, usersB
	}
	it, ok := m.pick(tr)
	r := m.rnd.IntN(100)
	switch {
	case r < 8 || !ok:
		body := ""
		if side == "a" {
			body = "body a" // body is a-to-b: B-made items start without one
		}
		tr.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("%s-made %d", side, m.steps), Status: statuses[0].Name,
			Labels: []string{labelPool[m.rnd.IntN(len(labelPool))]}, Body: body})
	case r < 25:
		m.edit(tr, it, func(x *adapters.Item) { x.Title = fmt.Sprintf("%s title %d", side, m.steps) })
	case r < 45:
		m.edit(tr, it, func(x *adapters.Item) { x.Status = statuses[m.rnd.IntN(len(statuses))].Name })
	case r < 58:
		m.edit(tr, it, func(x *adapters.Item) {
			l := labelPool[m.rnd.IntN(len(labelPool))]
			if slices.Contains(x.Labels, l) {
				x.Labels = slices.DeleteFunc(slices.Clone(x.Labels), func(s string) bool { return s == l })
			} else {
				x.Labels = append(slices.Clone(x.Labels), l)
			}
		})
	case r < 68:
		m.edit(tr, it, func(x *adapters.Item) {
			x.Assignees = nil
			for _, u := range users {
				if m.rnd.IntN(3) == 0 {
					x.Assignees = append(x.Assignees, u)
				}
			}
		})
	case r < 73:
		m.edit(tr, it, func(x *adapters.Item) { x.Priority = prios[m.rnd.IntN(len(prios))] })
	case r < 75:
		// Parent is a-to-b: on A, point an item at another (or at none).
		if a, ok := m.pick(m.a); ok {
			p, ok := m.pick(m.a)
			_, err := m.a.Edit(a.Ref, func(x *adapters.Item) {
				x.Parent = nil
				if ok && p.Ref.ID != a.Ref.ID && m.rnd.IntN(3) > 0 {
					x.Parent = &p.Ref
				}
			})
			if err != nil && !errors.Is(err, adapters.ErrInvalid) { // a cycle is refused, as a tracker would
				m.t.Fatal(err)
			}
		}
	case r < 77:
		// Body is a-to-b: A owns it (TestOneWayField covers B's edits).
		if a, ok := m.pick(m.a); ok {
			m.edit(m.a, a, func(x *adapters.Item) { x.Body = fmt.Sprintf("a body %d", m.steps) })
		}
	case r < 88:
		if _, err := tr.AddComment(m.ctx, it.Ref, adapters.Comment{Body: fmt.Sprintf("%s says %d", side, m.steps)}, ""); err != nil {
			m.t.Fatal(err)
		}
	case r < 91:
		cs, err := tr.Comments(m.ctx, it.Ref)
		if err != nil {
			m.t.Fatal(err)
		}
		if len(cs) > 0 {
			c := cs[m.rnd.IntN(len(cs))]
			c.Body = fmt.Sprintf("%s edited %d", side, m.steps)
			if _, err := tr.EditComment(m.ctx, it.Ref, c); err != nil {
				m.t.Fatal(err)
			}
		}
	case r < 94:
		if err := tr.Delete(m.ctx, it.Ref); err != nil {
			m.t.Fatal(err)
		}
	default:
		m.sync()
	}
	if m.steps%10 == 0 {
		m.sync()
	}
}

func (m *model) edit(tr *memTracker, it adapters.Item, f func(*adapters.Item)) {
	if _, err := tr.Edit(it.Ref, f); err != nil {
		m.t.Fatal(err)
	}
}

// sync runs the flow, then checks the echo rule: a second run with no
// outside edits writes nothing.
func (m *model) sync() {
	m.t.Helper()
	m.syncs++
	if m.faults && m.rnd.IntN(3) == 0 {
		m.faultySync()
	}
	m.env.sync(tsync.RunOptions{Force: true})
	err := synctest.Echo(func() error {
		_, err := m.eng.Sync(m.ctx, m.flow, tsync.RunOptions{Force: true})
		return err
	}, synctest.Memory("a", m.a), synctest.Memory("b", m.b))
	if err != nil {
		m.t.Fatalf("step %d: %v", m.steps, err)
	}
}

// faultySync runs one sync that something goes wrong in: the process dies
// before or after a write's API call, a tracker rate-limits, a write fails,
// or a write lands but its answer is lost. The run may fail; the next
// (clean) sync must pick up from whatever state it left.
func (m *model) faultySync() {
	m.faulty++
	tr := m.a
	if m.rnd.IntN(2) == 0 {
		tr = m.b
	}
	k := 1 + m.rnd.IntN(6)
	switch m.rnd.IntN(4) {
	case 0: // kill -9 at the k-th write
		point := tsync.CrashBeforeCall
		if m.rnd.IntN(2) == 0 {
			point = tsync.CrashAfterCall
		}
		m.eng = tsync.New(m.st, tsync.Options{Clock: m.clock.Now, Crash: flowtest.Kill(point, "", k)})
		m.eng.Sync(m.ctx, m.flow, tsync.RunOptions{Force: true})
		// A new process; the dead one's lease runs out.
		m.clock.Advance(31 * time.Minute)
		m.eng = tsync.New(m.st, tsync.Options{Clock: m.clock.Now})
		return
	case 1:
		tr.InjectRateLimit(1+m.rnd.IntN(3), time.Duration(1+m.rnd.IntN(60))*time.Second)
	case 2, 3: // the k-th write fails, before or after taking effect
		phase := memory.Before
		if m.rnd.IntN(2) == 0 {
			phase = memory.After
		}
		n := 0
		tr.SetHook(func(op string, ref adapters.Ref, ph memory.Phase) error {
			if ph == phase {
				n++
				if n == k {
					return errors.New("503 service unavailable")
				}
			}
			return nil
		})
	}
	m.eng.Sync(m.ctx, m.flow, tsync.RunOptions{Force: true})
	tr.SetHook(nil)
	tr.InjectRateLimit(0, 0)
}

// check asserts the converged state (synctest.Check): links one-to-one
// over live items, every live item linked unless its counterpart was
// deleted, linked pairs agreeing on every synced field (or holding a
// conflict for it under manual), comments mirrored, and one more run
// planning nothing.
func (m *model) check() {
	m.t.Helper()
	err := synctest.Check(m.ctx, synctest.Options{Engine: m.eng, Store: m.st, Flow: m.flow,
		A: synctest.MemorySide("a", m.a), B: synctest.MemorySide("b", m.b), RequireSyncKeys: true})
	if err != nil {
		m.t.Fatal(err)
	}
}

func runModel(t *testing.T, seed uint64, steps int, policy string, faults bool) {
	fields := defaultFields()
	fields["parent"] = config.FieldConfig{Direction: "a-to-b"}
	e := newEnv(t, envOpts{policy: policy, fields: fields})
	m := &model{env: e, rnd: rand.New(rand.NewPCG(seed, seed*7+1)), faults: faults}
	for m.steps < steps {
		m.step()
	}
	m.sync()
	m.check()
	if t.Failed() {
		t.Logf("seed %d failed after %d steps, %d syncs (%d with faults)", seed, m.steps, m.syncs, m.faulty)
	}
	if faults && m.faulty == 0 {
		t.Fatal("no fault was injected")
	}
}

// TestConvergenceModel is the model-based convergence test: random
// concurrent edits on both sides between sync runs, over many seeds.
func TestConvergenceModel(t *testing.T) {
	runModels(t, modelRuns{seeds: 12, raceSeeds: 6, shortSeeds: 3, first: 1}, []string{"newest", "manual", "a-wins", "b-wins"}, false)
}

// modelRuns says how many seeds a model test walks (fewer under the race
// detector, fewer and shorter under -short), from seed first on.
type modelRuns struct {
	seeds, raceSeeds, shortSeeds int
	first                        uint64
}

// runModels runs the model (runModel) as parallel subtests
// <policy>/seed<n> for each policy: 2,000 steps, 600 under -short.
func runModels(t *testing.T, r modelRuns, policies []string, faults bool) {
	seeds, steps := r.seeds, 2000
	if raceEnabled {
		seeds = r.raceSeeds
	}
	if testing.Short() {
		seeds, steps = r.shortSeeds, 600
	}
	for _, policy := range policies {
		for s := range seeds {
			seed := r.first + uint64(s)
			t.Run(fmt.Sprintf("%s/seed%d", policy, seed), func(t *testing.T) {
				t.Parallel()
				runModel(t, seed, steps, policy, faults)
			})
		}
	}
}

// TestConvergenceModelFaults is the same with faults: a third of the syncs
// crash at a random write, hit a rate limit, or have a write fail before
// or after it lands. The end state must hold all the same.
func TestConvergenceModelFaults(t *testing.T) {
	runModels(t, modelRuns{seeds: 8, raceSeeds: 4, shortSeeds: 2, first: 100}, []string{"newest", "manual"}, true)
}
