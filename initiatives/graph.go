package initiatives

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/rollup"
)

// graph is the items read and how they link (parents, labels, children
// lists, task lists, flow and fan-out links), with the rollup Index built
// from them. Methods whose comment says "g.mu is held" are the building
// blocks; the others take g.mu and are safe for concurrent use. Changes
// come one at a time (the Service's run lock); readers (Rollups, Report)
// come at any time.
type graph struct {
	rules *rules

	mu     sync.Mutex
	index  *rollup.Index
	items  map[string]adapters.Item // by rollup.Key
	inits  map[string]bool          // rollup keys of initiatives
	human  map[string]string        // tracker + "\x00" + human key -> rollup key
	anyKey map[string][]string      // human key -> rollup keys (every tracker)
	// folded are the initiatives by lower-case human key: labels name
	// initiatives case-insensitively (GitHub keeps a label's first spelling).
	folded map[string]string
	// kids are the parent-field children: parent rollup key -> child keys.
	kids map[string]map[string]bool
	// labelled are label children: initiative human key -> child keys.
	labelled map[string]map[string]bool
	// wants are the nodes whose children lists name a human key not (yet)
	// read: human key -> referrer rollup keys.
	wants map[string]map[string]bool
	// same are flow links: flow -> rollup key -> counterparts.
	same map[string]map[string][]adapters.Ref
	// fanout are fan-out links: initiative rollup key -> tracker -> ref.
	fanout map[string]map[string]adapters.Ref
	// fanBack is fanout reversed: item rollup key -> initiative rollup
	// key, so an item listed after its initiative joins it.
	fanBack map[string]string
}

func newGraph(r *rules) *graph {
	g := &graph{rules: r}
	g.reset()
	return g
}

// change is what one listing read: items listed, refs deleted, and
// whether it is the initiatives' listing.
type change struct {
	items   []adapters.Item
	deleted []adapters.Ref
	source  bool
}

// reset empties the graph. g.mu is held (or g not yet shared).
func (g *graph) reset() {
	g.items = map[string]adapters.Item{}
	g.inits = map[string]bool{}
	g.human = map[string]string{}
	g.anyKey = map[string][]string{}
	g.folded = map[string]string{}
	g.kids = map[string]map[string]bool{}
	g.labelled = map[string]map[string]bool{}
	g.wants = map[string]map[string]bool{}
	g.same = map[string]map[string][]adapters.Ref{}
	g.fanout = map[string]map[string]adapters.Ref{}
	g.fanBack = map[string]string{}
	g.index = rollup.NewIndex(g.rules.rollup, nil)
}

// load replaces the graph with what a full read found: the listings, the
// flow links (flow -> rollup key -> counterparts) and the fan-out links
// (initiative rollup key -> tracker -> ref); it returns every roll-up.
func (g *graph) load(lists []change, same map[string]map[string][]adapters.Ref, fanout map[string]map[string]adapters.Ref) []rollup.Rollup {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reset()
	for _, l := range lists {
		for _, it := range l.items {
			g.put(it, l.source)
		}
	}
	g.same, g.fanout = same, fanout
	for ik, m := range fanout {
		for _, r := range m {
			g.fanBack[rollup.Key(r)] = ik
		}
	}
	nodes := make([]rollup.Node, 0, len(g.items))
	for _, k := range slices.Sorted(maps.Keys(g.items)) {
		nodes = append(nodes, g.node(k))
	}
	g.index = rollup.NewIndex(g.rules.rollup, nodes)
	return g.index.All()
}

// apply records what an incremental read found (the listings, and the
// links of the flows in newSame, re-read) and returns the initiatives
// whose roll-up changed and those touched: every initiative whose own
// item or node may have changed, roll-up or not.
func (g *graph) apply(changes []change, newSame map[string]map[string][]adapters.Ref) (changed, touched []adapters.Ref) {
	g.mu.Lock()
	defer g.mu.Unlock()
	affected := map[string]bool{}
	for _, c := range changes {
		for _, it := range c.items {
			for k := range g.put(it, c.source) {
				affected[k] = true
			}
		}
		for _, ref := range c.deleted {
			for k := range g.drop(ref) {
				affected[k] = true
			}
		}
	}
	for fl, m := range newSame {
		old := g.same[fl]
		for k := range keysOfBoth(old, m) {
			if !slices.Equal(old[k], m[k]) {
				affected[k] = true
			}
		}
		g.same[fl] = m
	}
	changed = g.upsert(affected)
	// Initiatives touched whose roll-up did not change still get fan-out
	// and write-back: their own item may have changed (a person set the
	// status or progress write-back owns, a write lost to a conflict).
	// Both write only what differs.
	for _, k := range slices.Sorted(maps.Keys(affected)) {
		if it, ok := g.items[k]; ok && g.inits[k] {
			touched = append(touched, it.Ref)
		}
	}
	return changed, touched
}

func keysOfBoth[V any](a, b map[string]V) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// upsert rebuilds the nodes of keys (those gone are removed) and returns
// the initiatives whose roll-up changed. g.mu is held.
func (g *graph) upsert(keys map[string]bool) []adapters.Ref {
	seen := map[string]adapters.Ref{}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		var refs []adapters.Ref
		if _, ok := g.items[k]; ok {
			refs = g.index.Upsert(g.node(k))
		} else if ref, ok := refOfKey(k); ok {
			refs = g.index.Remove(ref)
		}
		for _, r := range refs {
			seen[rollup.Key(r)] = r
		}
	}
	out := make([]adapters.Ref, 0, len(seen))
	for _, k := range slices.Sorted(maps.Keys(seen)) {
		out = append(out, seen[k])
	}
	return out
}

// refOfKey is the ref a rollup key names (tracker:id).
func refOfKey(k string) (adapters.Ref, bool) {
	t, id, ok := strings.Cut(k, ":")
	return adapters.Ref{Tracker: t, ID: id}, ok
}

// put records item it and returns the rollup keys whose node it may change:
// itself, its old and new parents, the initiatives its labels name before
// and after, and the nodes waiting for its key. g.mu is held.
func (g *graph) put(it adapters.Item, source bool) map[string]bool {
	k := rollup.Key(it.Ref)
	aff := map[string]bool{k: true}
	old, had := g.items[k]
	if had && old.Version != "" && old.Version == it.Version && old.UpdatedAt.Equal(it.UpdatedAt) && old.Ref == it.Ref && (g.inits[k] || !source) {
		// Read again (an overlapping listing) but unchanged.
		return nil
	}
	if had {
		g.unindex(k, old, aff)
	}
	if ik, ok := g.fanBack[k]; ok {
		aff[ik] = true
	}
	if source {
		g.inits[k] = true
		if it.Ref.Key != "" {
			g.folded[strings.ToLower(it.Ref.Key)] = k
		}
	}
	g.items[k] = it
	if it.Ref.Key != "" {
		hk := it.Ref.Tracker + "\x00" + it.Ref.Key
		g.human[hk] = k
		if !slices.Contains(g.anyKey[it.Ref.Key], k) {
			g.anyKey[it.Ref.Key] = append(g.anyKey[it.Ref.Key], k)
		}
		for _, w := range []string{it.Ref.Key, it.Ref.Tracker + ":" + it.Ref.Key} {
			for r := range g.wants[w] {
				aff[r] = true
			}
		}
	}
	if it.Parent != nil && !it.Parent.IsZero() {
		pk := g.parentKey(*it.Parent)
		if g.kids[pk] == nil {
			g.kids[pk] = map[string]bool{}
		}
		g.kids[pk][k] = true
		aff[pk] = true
	}
	for _, ik := range g.rules.labelInits(it) {
		ik = strings.ToLower(ik)
		if g.labelled[ik] == nil {
			g.labelled[ik] = map[string]bool{}
		}
		g.labelled[ik][k] = true
		if rk, ok := g.initByHuman(ik); ok {
			aff[rk] = true
		}
	}
	return aff
}

// record records item it without rebuilding any node: write-back's own
// write, read back, whose roll-up it does not change.
func (g *graph) record(it adapters.Item, source bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.put(it, source)
}

// drop forgets the item ref names and returns the keys it may change.
// g.mu is held.
func (g *graph) drop(ref adapters.Ref) map[string]bool {
	k := rollup.Key(ref)
	aff := map[string]bool{k: true}
	if old, ok := g.items[k]; ok {
		g.unindex(k, old, aff)
		delete(g.items, k)
		delete(g.inits, k)
		// Its key no longer names it: resolve must not find a zero item.
		if key := old.Ref.Key; key != "" {
			if hk := old.Ref.Tracker + "\x00" + key; g.human[hk] == k {
				delete(g.human, hk)
			}
			g.anyKey[key] = slices.DeleteFunc(g.anyKey[key], func(x string) bool { return x == k })
			if len(g.anyKey[key]) == 0 {
				delete(g.anyKey, key)
			}
		}
	}
	return aff
}

// unindex removes old's parent and label entries, adding what they touched
// to aff.
func (g *graph) unindex(k string, old adapters.Item, aff map[string]bool) {
	if old.Parent != nil && !old.Parent.IsZero() {
		pk := g.parentKey(*old.Parent)
		delete(g.kids[pk], k)
		aff[pk] = true
	}
	for _, ik := range g.rules.labelInits(old) {
		delete(g.labelled[strings.ToLower(ik)], k)
		if rk, ok := g.initByHuman(ik); ok {
			aff[rk] = true
		}
	}
}

// parentKey is the rollup key of a parent ref: by ID, or by its human key
// when the ID is unknown and the item is known.
func (g *graph) parentKey(p adapters.Ref) string {
	if p.ID == "" {
		if k, ok := g.human[p.Tracker+"\x00"+p.Key]; ok {
			return k
		}
	}
	return rollup.Key(p)
}

func (g *graph) initByHuman(key string) (string, bool) {
	k, ok := g.human[g.rules.source+"\x00"+key]
	if !ok {
		k, ok = g.folded[strings.ToLower(key)]
	}
	return k, ok && g.inits[k]
}

// resolve finds the item a written ref (PLAT-12, acme/platform#45,
// tracker:key) names among trackers, recording referrer as waiting for it
// when it is not read (yet).
func (g *graph) resolve(ref string, trackers []string, referrer string) (adapters.Ref, bool) {
	if t, key, ok := strings.Cut(ref, ":"); ok {
		if g.rules.trackers[t] {
			if k, ok := g.human[t+"\x00"+key]; ok {
				return g.items[k].Ref, true
			}
			g.want(ref, referrer)
			return adapters.Ref{}, false
		}
	}
	for _, k := range g.anyKey[ref] {
		it := g.items[k]
		if trackers == nil || slices.Contains(trackers, it.Ref.Tracker) {
			return it.Ref, true
		}
	}
	g.want(ref, referrer)
	return adapters.Ref{}, false
}

func (g *graph) want(ref, referrer string) {
	if g.wants[ref] == nil {
		g.wants[ref] = map[string]bool{}
	}
	g.wants[ref][referrer] = true
}

// node builds the rollup node of item k. g.mu is held.
func (g *graph) node(k string) rollup.Node {
	it := g.items[k]
	n := rollup.Node{
		Ref: it.Ref, Kind: it.Kind, Title: it.Title, Category: it.StatusCategory, Status: it.Status,
		Labels: it.Labels, Estimate: estimateOf(it, g.rules.est[it.Ref.Tracker]),
		Started: startOf(it), Due: dateOf(it.Due),
	}
	if n.Kind == adapters.KindInitiative && !g.inits[k] {
		// An initiative-kind item outside the source's scope is an
		// ordinary node here: only the source's are roll-up roots.
		n.Kind = adapters.KindEpic
	}
	if g.inits[k] {
		n.Kind = adapters.KindInitiative
	}
	seen := map[string]bool{}
	add := func(r adapters.Ref) {
		if rk := rollup.Key(r); !seen[rk] && rk != k {
			seen[rk] = true
			n.Children = append(n.Children, r)
		}
	}
	for _, ck := range slices.Sorted(maps.Keys(g.kids[k])) {
		add(g.items[ck].Ref)
	}
	if g.inits[k] {
		for _, ck := range slices.Sorted(maps.Keys(g.labelled[strings.ToLower(it.Ref.Key)])) {
			add(g.items[ck].Ref)
		}
		if len(g.rules.refRules) > 0 {
			if l, err := adapters.DecodeList(it.Fields["children"]); err == nil {
				for _, r := range l {
					if ref, ok := g.resolve(r, g.rules.refRules, k); ok {
						add(ref)
					}
				}
			}
		}
		for _, t := range slices.Sorted(maps.Keys(g.fanout[k])) {
			r := g.fanout[k][t]
			if ck := rollup.Key(r); g.items[ck].Ref.ID != "" {
				add(g.items[ck].Ref)
			}
		}
	}
	if g.rules.taskLists(it.Ref.Tracker) {
		for _, r := range taskRefs(it.Body, repoOf(it)) {
			if ref, ok := g.resolve(r, nil, k); ok {
				add(ref)
			}
		}
	}
	for _, fl := range slices.Sorted(maps.Keys(g.same)) {
		n.SameAs = append(n.SameAs, g.same[fl][k]...)
	}
	return n
}

// rollups returns the current roll-up of every initiative, sorted by key.
func (g *graph) rollups() []rollup.Rollup {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.index.All()
}

// initiative returns the current roll-up of the initiative with human key
// key, and false when there is none.
func (g *graph) initiative(key string) (rollup.Rollup, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k, ok := g.initByHuman(key)
	if !ok {
		return rollup.Rollup{}, false
	}
	return g.index.Rollup(g.items[k].Ref)
}

// statuses returns every roll-up with the native status of each
// initiative, by rollup key.
func (g *graph) statuses() ([]rollup.Rollup, map[string]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	all := g.index.All()
	status := map[string]string{}
	for _, r := range all {
		status[rollup.Key(r.Initiative)] = g.items[rollup.Key(r.Initiative)].Status
	}
	return all, status
}

// initRollups returns the roll-ups of those of refs that are initiatives
// (of every initiative when all).
func (g *graph) initRollups(refs []adapters.Ref, all bool) []rollup.Rollup {
	g.mu.Lock()
	defer g.mu.Unlock()
	if all {
		return slices.DeleteFunc(g.index.All(), func(r rollup.Rollup) bool { return !g.inits[rollup.Key(r.Initiative)] })
	}
	out := make([]rollup.Rollup, 0, len(refs))
	for _, ir := range refs {
		r, ok := g.index.Rollup(ir)
		if !ok || !g.inits[rollup.Key(ir)] {
			continue
		}
		out = append(out, r)
	}
	return out
}

// anyInit reports whether one of the rollup keys names an initiative.
func (g *graph) anyInit(keys []string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.ContainsFunc(keys, func(k string) bool { return g.inits[k] })
}

// initsOf returns the initiatives the fan-out items in refs were made for.
func (g *graph) initsOf(refs []adapters.Ref) []adapters.Ref {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []adapters.Ref
	for ik, m := range g.fanout {
		for _, r := range m {
			if slices.ContainsFunc(refs, func(x adapters.Ref) bool { return rollup.Key(x) == rollup.Key(r) }) {
				out = append(out, g.items[ik].Ref)
			}
		}
	}
	return out
}

// fanOutTarget returns the item of initiative ir and true when it needs a
// delivery item in tracker: it is an initiative, not done, with no
// fan-out link to tracker and no direct child there.
func (g *graph) fanOutTarget(ir adapters.Ref, tracker string) (adapters.Item, bool) {
	ik := rollup.Key(ir)
	g.mu.Lock()
	defer g.mu.Unlock()
	init, ok := g.items[ik]
	_, linked := g.fanout[ik][tracker]
	has := false
	if r, ok := g.index.Rollup(ir); ok {
		has = slices.ContainsFunc(r.Children, func(c rollup.ChildSummary) bool { return c.Ref.Tracker == tracker })
	}
	if !ok || !g.inits[ik] || linked || has || init.StatusCategory == adapters.CategoryDone {
		return adapters.Item{}, false
	}
	return init, true
}

// addFanout records item, made in tracker for initiative ik and linked
// to it, and rebuilds the nodes it changes.
func (g *graph) addFanout(ik, tracker string, item adapters.Item) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fanout[ik] == nil {
		g.fanout[ik] = map[string]adapters.Ref{}
	}
	g.fanout[ik][tracker] = item.Ref
	g.fanBack[rollup.Key(item.Ref)] = ik
	aff := g.put(item, false)
	aff[ik] = true
	g.upsert(aff)
}

// writeState reads what writeBack writes for initiative ir; ok is false
// when ir is not (or no longer) an initiative with a roll-up.
func (g *graph) writeState(ir adapters.Ref) (initWrite, bool) {
	ik := rollup.Key(ir)
	g.mu.Lock()
	defer g.mu.Unlock()
	init, ok := g.items[ik]
	r, ok2 := g.index.Rollup(ir)
	if !ok || !ok2 || !g.inits[ik] {
		return initWrite{}, false
	}
	w := initWrite{init: init, r: r}
	for _, c := range r.Children {
		ci := g.items[rollup.Key(c.Ref)]
		w.children = append(w.children, ci)
		if g.rules.tracking[c.Ref.Tracker] && g.isTracking(ik, ci) {
			w.tracking = append(w.tracking, ci)
		}
	}
	return w, true
}

// isTracking reports whether child c of initiative ik is a tracking issue:
// made for it by fan-out, or labelled after it in a tasklist tracker.
// g.mu is held.
func (g *graph) isTracking(ik string, c adapters.Item) bool {
	if r, ok := g.fanout[ik][c.Ref.Tracker]; ok && rollup.Key(r) == rollup.Key(c.Ref) {
		return true
	}
	key := g.items[ik].Ref.Key
	return slices.ContainsFunc(g.rules.labelInits(c), func(l string) bool { return strings.EqualFold(l, key) })
}

// childItems returns the items of ref's direct children in its roll-up.
func (g *graph) childItems(ref adapters.Ref) []adapters.Item {
	g.mu.Lock()
	defer g.mu.Unlock()
	own, _ := g.index.Rollup(ref)
	var out []adapters.Item
	for _, c := range own.Children {
		out = append(out, g.items[rollup.Key(c.Ref)])
	}
	return out
}
