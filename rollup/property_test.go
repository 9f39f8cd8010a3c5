package rollup

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tracksync/tracksync/adapters"
)

// forestGen makes random forests over a small universe of refs, so children
// and SameAs links often point at each other, at missing nodes and, now and
// then, back up the tree (cycles).
type forestGen struct {
	rng  *rand.Rand
	refs []adapters.Ref
}

func newForestGen(seed uint64, size int) *forestGen {
	g := &forestGen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for i := range size {
		if i%3 == 0 {
			g.refs = append(g.refs, gh(fmt.Sprintf("acme/p#%d", i)))
		} else {
			g.refs = append(g.refs, jira(fmt.Sprintf("P-%d", i)))
		}
	}
	return g
}

func (g *forestGen) node(i int) Node {
	r := g.rng
	kinds := []adapters.Kind{adapters.KindInitiative, adapters.KindEpic, adapters.KindIssue, adapters.KindTask}
	// Low indexes tend to be initiatives and children mostly point to higher
	// indexes, so the forest is mostly a DAG with a few back edges.
	kind := kinds[min(3, max(0, i*4/len(g.refs)+r.IntN(2)-r.IntN(2)))]
	if i < len(g.refs)/8 {
		kind = adapters.KindInitiative
	}
	n := Node{
		Ref: g.refs[i], Kind: kind, Title: fmt.Sprintf("t%d", r.IntN(3)),
		Category: []adapters.StatusCategory{todo, wip, done, "weird"}[r.IntN(4)],
		Status:   []string{"Open", "Blocked", "Done"}[r.IntN(3)],
		Estimate: float64(r.IntN(4)),
	}
	if r.IntN(3) == 0 {
		n.Labels = []string{"blocked"}
	}
	if r.IntN(3) == 0 {
		n.Due = now.AddDate(0, 0, r.IntN(40)-10)
	}
	if r.IntN(3) == 0 {
		n.Started = now.AddDate(0, 0, -r.IntN(40))
	}
	for range r.IntN(5) {
		j := i + 1 + r.IntN(len(g.refs))
		if r.IntN(12) == 0 {
			j = r.IntN(len(g.refs)) // back edge: maybe a cycle
		}
		if j < len(g.refs) {
			n.Children = append(n.Children, g.refs[j])
		}
	}
	if r.IntN(6) == 0 {
		n.SameAs = append(n.SameAs, g.refs[r.IntN(len(g.refs))])
	}
	return n
}

// TestIncrementalMatchesRebuild applies random upserts and removes and
// checks, after each, that the Index answers exactly like one rebuilt from
// scratch, and that the returned initiatives cover every roll-up that changed.
func TestIncrementalMatchesRebuild(t *testing.T) {
	cfg := Config{DefaultEstimate: 1.5, Now: fixedNow, AtRisk: AtRisk{
		DaysBeforeDue: 14, MinDone: 0.5, BlockedStatuses: []string{"blocked"}, BlockedLabels: []string{"Blocked"},
	}}
	opts := cmp.Options{cmpopts.EquateApprox(0, 1e-9), cmpopts.EquateEmpty()}
	seeds := 300
	if testing.Short() {
		seeds = 30
	}
	for seed := range uint64(seeds) {
		g := newForestGen(seed, 10+int(seed%40))
		live := map[string]Node{}
		var nodes []Node
		for i := range g.refs {
			if g.rng.IntN(5) > 0 {
				n := g.node(i)
				live[Key(n.Ref)] = n
				nodes = append(nodes, n)
			}
		}
		x := NewIndex(cfg, nodes)
		for step := range 40 {
			before := rollupsByKey(x, g.refs)
			i := g.rng.IntN(len(g.refs))
			var got []adapters.Ref
			var op string
			if g.rng.IntN(4) == 0 {
				op = "remove " + g.refs[i].String()
				delete(live, Key(g.refs[i]))
				got = x.Remove(g.refs[i])
			} else {
				n := g.node(i)
				op = "upsert " + n.Ref.String()
				live[Key(n.Ref)] = n
				got = x.Upsert(n)
			}

			// Rebuild from the live nodes, in a shuffled order.
			var all []Node
			for _, n := range live {
				all = append(all, n)
			}
			g.rng.Shuffle(len(all), func(a, b int) { all[a], all[b] = all[b], all[a] })
			fresh := NewIndex(cfg, all)
			if a, b := fresh.All(), x.All(); !sameRollups(a, b) {
				diff := cmp.Diff(a, b, opts)
				t.Fatalf("seed %d step %d (%s): All() differs from a rebuild (-rebuild +incremental):\n%s", seed, step, op, diff)
			}
			after := rollupsByKey(x, g.refs)
			if want := rollupsByKey(fresh, g.refs); !sameByKey(want, after) {
				diff := cmp.Diff(want, after, opts, cmp.AllowUnexported(kindRollup{}))
				t.Fatalf("seed %d step %d (%s): Rollup differs from a rebuild (-rebuild +incremental):\n%s", seed, step, op, diff)
			}
			for k, a := range after {
				b, had := before[k]
				isInit := live[k].Kind == adapters.KindInitiative
				wasInit := had && b.kind == adapters.KindInitiative
				if !isInit && !wasInit {
					continue
				}
				if (isInit != wasInit || !sameRollups([]Rollup{b.r}, []Rollup{a.r})) && !slices.ContainsFunc(got, func(r adapters.Ref) bool { return Key(r) == k }) {
					t.Fatalf("seed %d step %d (%s): initiative %s changed but was not returned (got %v)", seed, step, op, k, got)
				}
			}
			for k, b := range before {
				if _, ok := after[k]; !ok && b.kind == adapters.KindInitiative && !slices.ContainsFunc(got, func(r adapters.Ref) bool { return Key(r) == k }) {
					t.Fatalf("seed %d step %d (%s): removed initiative %s not returned (got %v)", seed, step, op, k, got)
				}
			}
		}
	}
}

type kindRollup struct {
	kind adapters.Kind
	r    Rollup
}

// rollupsByKey is the roll-up of every node present, keyed by Key.
func rollupsByKey(x *Index, refs []adapters.Ref) map[string]kindRollup {
	out := map[string]kindRollup{}
	for _, ref := range refs {
		if r, ok := x.Rollup(ref); ok {
			id := x.ids[Key(ref)]
			out[Key(ref)] = kindRollup{kind: x.nodes[id].Kind, r: r}
		}
	}
	return out
}

// sameRollups is a fast equality (cmp is too slow for thousands of steps);
// floats are compared after rounding, as sums may run in a different order.
func sameRollups(a, b []Rollup) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(rounded(a[i]), rounded(b[i])) {
			return false
		}
	}
	return true
}

func sameByKey(a, b map[string]kindRollup) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.kind != w.kind || !sameRollups([]Rollup{v.r}, []Rollup{w.r}) {
			return false
		}
	}
	return true
}

func rounded(r Rollup) Rollup {
	round := func(f float64) float64 { return math.Round(f*1e9) / 1e9 }
	r.DoneByCount, r.DoneByEstimate = round(r.DoneByCount), round(r.DoneByEstimate)
	r.Children = slices.Clone(r.Children)
	for i := range r.Children {
		r.Children[i].DoneByCount = round(r.Children[i].DoneByCount)
		r.Children[i].DoneByEstimate = round(r.Children[i].DoneByEstimate)
	}
	return r
}
