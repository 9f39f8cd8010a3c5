package rollup

import (
	"fmt"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

// benchForest is 200 initiatives over 50,000 children: each initiative has
// 10 Jira epics of 24 issues (2,000 epics + 48,000 issues), and every tenth
// issue has a GitHub counterpart linked by SameAs (4,800 more nodes).
func benchForest() []Node {
	var nodes []Node
	cats := []adapters.StatusCategory{todo, wip, done}
	for i := range 200 {
		in := initiative(jira(fmt.Sprintf("INIT-%d", i)))
		in.Due = now.AddDate(0, 0, i%60-10)
		for e := range 10 {
			ek := jira(fmt.Sprintf("EP-%d-%d", i, e))
			in.Children = append(in.Children, ek)
			ep := epic(ek)
			for k := range 24 {
				ik := jira(fmt.Sprintf("IS-%d-%d-%d", i, e, k))
				ep.Children = append(ep.Children, ik)
				is := issue(ik, cats[(i+e+k)%3], float64(k%5))
				if k%10 == 0 {
					twin := gh(fmt.Sprintf("acme/p#%d-%d-%d", i, e, k))
					is.SameAs = refs(twin)
					nodes = append(nodes, issue(twin, todo, 0))
				}
				nodes = append(nodes, is)
			}
			nodes = append(nodes, ep)
		}
		nodes = append(nodes, in)
	}
	return nodes
}

func benchConfig() Config {
	return Config{Now: fixedNow, AtRisk: AtRisk{DaysBeforeDue: 14, MinDone: 0.5, BlockedLabels: []string{"blocked"}}}
}

// BenchmarkRollupAll: build the index and roll up every initiative
// (target under 200 ms).
func BenchmarkRollupAll(b *testing.B) {
	nodes := benchForest()
	cfg := benchConfig()
	for b.Loop() {
		x := NewIndex(cfg, nodes)
		if got := len(x.All()); got != 200 {
			b.Fatalf("All() returned %d initiatives, want 200", got)
		}
	}
}

// BenchmarkIncrementalUpdate: one leaf changes (a webhook), then its
// initiative's roll-up is read (target under 5 ms).
func BenchmarkIncrementalUpdate(b *testing.B) {
	x := NewIndex(benchConfig(), benchForest())
	init := jira("INIT-117")
	leaf := issue(jira("IS-117-3-7"), todo, 2)
	cats := []adapters.StatusCategory{todo, wip, done}
	i := 0
	for b.Loop() {
		i++
		leaf.Category = cats[(i+2)%3] // differs from the last value every time
		if changed := x.Upsert(leaf); len(changed) != 1 {
			b.Fatalf("Upsert returned %v, want INIT-117", changed)
		}
		if _, ok := x.Rollup(init); !ok {
			b.Fatal("Rollup(INIT-117) not found")
		}
	}
}
