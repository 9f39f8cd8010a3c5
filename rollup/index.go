package rollup

import (
	"reflect"
	"slices"
	"sort"

	"github.com/tracksync/tracksync/adapters"
)

// Index is the roll-up forest, built once and updated incrementally.
//
// Internally nodes get dense integer ids; linked (SameAs) nodes form a class
// named by its smallest member id, and the graph the math runs on is over
// classes. For each class the Index memoises its sorted set of descendant
// classes (itself included) and its strongly connected component when that
// is a cycle. A change to one node can only alter the memo of classes that
// reach it, so Upsert and Remove walk the parents map upwards from the node
// and recompute just that ancestor region. Rollup and All only read, so
// they may run concurrently with each other, but not with Upsert or Remove.
type Index struct {
	cfg Config

	ids     map[string]int // Key(ref) -> id
	nodes   []*Node        // by id; nil while not in the Index
	parents []map[int]bool // by child id: ids of present nodes listing it as a child
	same    []map[int]int  // by id: SameAs neighbours, counting declarations from either side

	childIDs [][]int // by id: ids of the node's child refs, present or not

	// Per class (indexed by the class id).
	class   []int         // by id: class id, -1 while absent
	members [][]int       // class -> member ids, sorted by id
	kids    [][]int       // class -> child classes, sorted, deduplicated
	desc    [][]int       // class -> descendant classes including itself, sorted
	scc     []int         // class -> cyclic component id, -1 when not on a cycle
	cycles  map[int][]int // cyclic component id -> classes

	inits map[int]*Rollup // initiative node id -> roll-up without the time-dependent risk part

	// Scratch space for recompute, stamped with gen instead of cleared so an
	// update costs the size of its region, not of the forest.
	gen                     uint32
	seenAt, regionAt, visit []uint32
	tIndex, tLow            []int
	onStack                 []bool
}

// NewIndex builds the forest from nodes. A later node with the same Key
// replaces an earlier one; nodes with a zero Ref are skipped.
func NewIndex(cfg Config, nodes []Node) *Index {
	x := &Index{
		cfg:    cfg,
		ids:    make(map[string]int, len(nodes)*2),
		cycles: map[int][]int{},
		inits:  map[int]*Rollup{},
	}
	seeds := make([]int, 0, len(nodes))
	for i := range nodes {
		if nodes[i].Ref.IsZero() {
			continue
		}
		id := x.id(nodes[i].Ref)
		x.unlink(id)
		x.link(id, new(cloneNode(nodes[i])))
		seeds = append(seeds, id)
	}
	x.recompute(seeds)
	return x
}

// Rollup returns the roll-up of the item named by ref (usually an
// initiative, though any node works), and false when it is not in the Index.
func (x *Index) Rollup(ref adapters.Ref) (Rollup, bool) {
	id, ok := x.ids[Key(ref)]
	if !ok || x.nodes[id] == nil {
		return Rollup{}, false
	}
	if r, ok := x.inits[id]; ok {
		return x.withRisk(r), true
	}
	r := x.compute(id)
	return x.withRisk(&r), true
}

// All returns the roll-up of every initiative (Kind initiative), sorted by
// Key. Initiatives linked to each other by SameAs are one initiative: only
// the one with the smallest Key is listed.
func (x *Index) All() []Rollup {
	ids := make([]int, 0, len(x.inits))
	for id := range x.inits {
		if x.representsClass(id) {
			ids = append(ids, id)
		}
	}
	x.sortByKey(ids)
	out := make([]Rollup, 0, len(ids))
	for _, id := range ids {
		out = append(out, x.withRisk(x.inits[id]))
	}
	return out
}

// Upsert adds or replaces one node (a child changed: a webhook or a sync
// run) and returns the initiatives whose roll-up changed, sorted by Key.
// Only the node's ancestors are recomputed.
func (x *Index) Upsert(n Node) []adapters.Ref {
	if n.Ref.IsZero() {
		return nil
	}
	id := x.id(n.Ref)
	return x.replace(id, new(cloneNode(n)))
}

// Remove drops the node named by ref and returns the initiatives whose
// roll-up changed (a removed initiative included), sorted by Key. Refs to
// it from other nodes stay, so it counts again once upserted.
func (x *Index) Remove(ref adapters.Ref) []adapters.Ref {
	id, ok := x.ids[Key(ref)]
	if !ok || x.nodes[id] == nil {
		return nil
	}
	return x.replace(id, nil)
}

// replace swaps node id for n (nil removes it), recomputes the region that
// can see the change and reports the initiatives whose roll-up changed.
func (x *Index) replace(id int, n *Node) []adapters.Ref {
	// Members of the old class are seeds too: the class may split.
	seeds := []int{id}
	if x.nodes[id] != nil {
		seeds = append(seeds, x.members[x.class[id]]...)
	}
	for _, s := range []*Node{x.nodes[id], n} {
		if s == nil {
			continue
		}
		for _, r := range s.SameAs {
			if o, ok := x.ids[Key(r)]; ok {
				seeds = append(seeds, o)
			}
		}
	}
	x.unlink(id)
	if n != nil {
		x.link(id, n)
		// Nodes that named this one as SameAs before it existed join it now.
		for o := range x.same[id] {
			seeds = append(seeds, o)
		}
	}
	changed := x.recompute(seeds)
	sort.Slice(changed, func(i, j int) bool { return Key(changed[i]) < Key(changed[j]) })
	return slices.CompactFunc(changed, func(a, b adapters.Ref) bool { return Key(a) == Key(b) })
}

// id interns ref, growing the per-id tables.
func (x *Index) id(ref adapters.Ref) int {
	k := Key(ref)
	if id, ok := x.ids[k]; ok {
		return id
	}
	id := len(x.nodes)
	x.ids[k] = id
	x.nodes = append(x.nodes, nil)
	x.parents = append(x.parents, nil)
	x.same = append(x.same, nil)
	x.childIDs = append(x.childIDs, nil)
	x.class = append(x.class, -1)
	x.members = append(x.members, nil)
	x.kids = append(x.kids, nil)
	x.desc = append(x.desc, nil)
	x.scc = append(x.scc, -1)
	x.seenAt = append(x.seenAt, 0)
	x.regionAt = append(x.regionAt, 0)
	x.visit = append(x.visit, 0)
	x.tIndex = append(x.tIndex, 0)
	x.tLow = append(x.tLow, 0)
	x.onStack = append(x.onStack, false)
	return id
}

// link makes n the present node id and records its edges.
func (x *Index) link(id int, n *Node) {
	x.nodes[id] = n
	x.childIDs[id] = make([]int, 0, len(n.Children))
	for _, c := range n.Children {
		cid := x.id(c)
		x.childIDs[id] = append(x.childIDs[id], cid)
		if x.parents[cid] == nil {
			x.parents[cid] = map[int]bool{}
		}
		x.parents[cid][id] = true
	}
	for _, s := range n.SameAs {
		sid := x.id(s)
		if sid == id {
			continue
		}
		x.addSame(id, sid, 1)
		x.addSame(sid, id, 1)
	}
}

// unlink forgets node id and its edges; other nodes' edges to it stay.
func (x *Index) unlink(id int) {
	n := x.nodes[id]
	if n == nil {
		return
	}
	for _, cid := range x.childIDs[id] {
		if p := x.parents[cid]; p != nil {
			delete(p, id)
		}
	}
	x.childIDs[id] = nil
	for _, s := range n.SameAs {
		sid := x.ids[Key(s)]
		if sid == id {
			continue
		}
		x.addSame(id, sid, -1)
		x.addSame(sid, id, -1)
	}
	x.nodes[id] = nil
}

func (x *Index) addSame(a, b, d int) {
	if x.same[a] == nil {
		x.same[a] = map[int]int{}
	}
	x.same[a][b] += d
	if x.same[a][b] <= 0 {
		delete(x.same[a], b)
	}
}

// recompute rebuilds classes around seeds and the memo of every class that
// can reach them, and returns the initiatives whose roll-up changed.
func (x *Index) recompute(seeds []int) []adapters.Ref {
	// Drop the old classes of the seeds; their members become seeds too, as
	// a class may split or merge.
	oldInits := map[int]*Rollup{}
	for i := 0; i < len(seeds); i++ {
		c := x.class[seeds[i]]
		if c < 0 {
			continue
		}
		for _, m := range x.members[c] {
			x.class[m] = -1
			if m != seeds[i] {
				seeds = append(seeds, m)
			}
		}
		x.forget(c)
		x.members[c] = nil
	}
	// New classes: connected components of present nodes over SameAs.
	newClasses := map[int]bool{}
	for _, s := range seeds {
		if x.nodes[s] == nil || x.class[s] >= 0 {
			continue
		}
		comp := []int{s}
		x.class[s] = s
		for i := 0; i < len(comp); i++ {
			for o := range x.same[comp[i]] {
				if x.nodes[o] != nil && x.class[o] < 0 {
					x.class[o] = s
					comp = append(comp, o)
				}
			}
		}
		slices.Sort(comp)
		for _, m := range comp {
			x.class[m] = comp[0]
		}
		x.members[comp[0]] = comp
		newClasses[comp[0]] = true
	}
	// The region: every class that reaches a seed, found by walking parents.
	x.gen++
	if x.gen == 0 { // wrapped: stale stamps could now match
		clear(x.seenAt)
		clear(x.regionAt)
		clear(x.visit)
		x.gen = 1
	}
	gen := x.gen
	queue := make([]int, 0, len(seeds)*2)
	for _, s := range seeds {
		if x.seenAt[s] != gen {
			x.seenAt[s] = gen
			queue = append(queue, s)
		}
	}
	var region []int
	for i := 0; i < len(queue); i++ {
		v := queue[i]
		if c := x.class[v]; c >= 0 && x.regionAt[c] != gen {
			x.regionAt[c] = gen
			region = append(region, c)
			for _, m := range x.members[c] {
				if x.seenAt[m] != gen {
					x.seenAt[m] = gen
					queue = append(queue, m)
				}
			}
		}
		for p := range x.parents[v] {
			if x.seenAt[p] != gen {
				x.seenAt[p] = gen
				queue = append(queue, p)
			}
		}
	}
	for _, c := range region {
		if !newClasses[c] {
			x.forget(c)
		}
	}
	for id, r := range x.inits {
		if c := x.class[id]; c < 0 || x.regionAt[c] == gen {
			oldInits[id] = r
		}
	}
	slices.Sort(region) // a fixed visiting order, so the memo does not depend on map order
	x.tarjan(region, gen)

	var changed []adapters.Ref
	for _, c := range region {
		for _, m := range x.members[c] {
			if x.nodes[m].Kind != adapters.KindInitiative {
				continue
			}
			r := x.compute(m)
			old, had := oldInits[m]
			delete(oldInits, m)
			x.inits[m] = &r
			if !had || !reflect.DeepEqual(*old, r) {
				changed = append(changed, r.Initiative)
			}
		}
	}
	// Initiatives in the region that are no longer initiatives (or gone).
	for id, old := range oldInits {
		if x.nodes[id] == nil || x.nodes[id].Kind != adapters.KindInitiative {
			delete(x.inits, id)
			changed = append(changed, old.Initiative)
		}
	}
	return changed
}

// forget drops the memo of class c (its membership stays).
func (x *Index) forget(c int) {
	if k := x.scc[c]; k >= 0 {
		for _, m := range x.cycles[k] {
			x.scc[m] = -1
		}
		delete(x.cycles, k)
	}
	x.kids[c] = nil
	x.desc[c] = nil
}

// childClasses lists the classes of the present children of class c.
func (x *Index) childClasses(c int) []int {
	var out []int
	for _, m := range x.members[c] {
		for _, id := range x.childIDs[m] {
			if x.nodes[id] != nil {
				out = append(out, x.class[id])
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// tarjan recomputes kids, desc and cycles for the classes in region (all
// stamped regionAt == gen). Region is closed under "reaches", so classes
// outside it keep a valid memo and serve as finished leaves of the search.
func (x *Index) tarjan(region []int, gen uint32) {
	var stack []int
	next := 0
	var visit func(c int)
	visit = func(c int) {
		x.visit[c] = gen
		x.tIndex[c], x.tLow[c] = next, next
		next++
		stack = append(stack, c)
		x.onStack[c] = true
		x.kids[c] = x.childClasses(c)
		for _, k := range x.kids[c] {
			if x.regionAt[k] != gen {
				continue
			}
			if x.visit[k] != gen {
				visit(k)
				x.tLow[c] = min(x.tLow[c], x.tLow[k])
			} else if x.onStack[k] {
				x.tLow[c] = min(x.tLow[c], x.tIndex[k])
			}
		}
		if x.tLow[c] != x.tIndex[c] {
			return
		}
		i := len(stack) - 1
		for stack[i] != c {
			i--
		}
		comp := slices.Clone(stack[i:])
		stack = stack[:i]
		for _, m := range comp {
			x.onStack[m] = false
		}
		slices.Sort(comp)
		cyclic := len(comp) > 1 || slices.Contains(x.kids[c], c)
		set := slices.Clone(comp)
		for _, m := range comp {
			for _, k := range x.kids[m] {
				if _, in := slices.BinarySearch(comp, k); !in {
					set = append(set, x.desc[k]...)
				}
			}
		}
		slices.Sort(set)
		set = slices.Clip(slices.Compact(set))
		for _, m := range comp {
			x.desc[m] = set
			if cyclic {
				x.scc[m] = comp[0]
			}
		}
		if cyclic {
			x.cycles[comp[0]] = comp
		}
	}
	for _, c := range region {
		if x.visit[c] != gen {
			visit(c)
		}
	}
}

// representsClass reports whether initiative id is the one listed for its
// class: the initiative member with the smallest Key.
func (x *Index) representsClass(id int) bool {
	k := Key(x.nodes[id].Ref)
	for _, m := range x.members[x.class[id]] {
		if m != id && x.nodes[m].Kind == adapters.KindInitiative && Key(x.nodes[m].Ref) < k {
			return false
		}
	}
	return true
}

func (x *Index) sortByKey(ids []int) {
	sort.Slice(ids, func(i, j int) bool { return Key(x.nodes[ids[i]].Ref) < Key(x.nodes[ids[j]].Ref) })
}

func cloneNode(n Node) Node {
	n.Labels = slices.Clone(n.Labels)
	n.Children = slices.Clone(n.Children)
	n.SameAs = slices.Clone(n.SameAs)
	return n
}
