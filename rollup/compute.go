package rollup

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// compute builds the time-independent part of the roll-up of node id from
// the memoised descendant set of its class: O(size of its subtree).
func (x *Index) compute(id int) Rollup {
	n := x.nodes[id]
	root := x.class[id]
	r := Rollup{Initiative: n.Ref, Title: n.Title, Target: n.Due}
	set := x.desc[root]
	st := x.leafStats(set, root)
	r.Counts, r.Total, r.DoneByCount, r.DoneByEstimate = st.counts, st.total, st.byCount(), st.byEstimate()

	var due time.Time
	seenCycle := map[int]bool{}
	for _, c := range set {
		for _, m := range x.members[c] {
			mn := x.nodes[m]
			if !mn.Started.IsZero() && (r.Started.IsZero() || mn.Started.Before(r.Started)) {
				r.Started = mn.Started
			}
			if mn.Due.After(due) {
				due = mn.Due
			}
		}
		if k := x.scc[c]; k >= 0 && !seenCycle[k] {
			seenCycle[k] = true
			var refs []adapters.Ref
			for _, cc := range x.cycles[k] {
				for _, m := range x.members[cc] {
					refs = append(refs, x.nodes[m].Ref)
				}
			}
			sortRefs(refs)
			r.Cycles = append(r.Cycles, refs)
		}
	}
	if r.Target.IsZero() {
		r.Target = due
	}
	r.Reasons = x.blocked(root)
	sort.Slice(r.Cycles, func(i, j int) bool { return Key(r.Cycles[i][0]) < Key(r.Cycles[j][0]) })

	// Direct children: one summary per child class, named by the child ref
	// the initiative side declared (the smallest Key when several were).
	named := map[int]adapters.Ref{}
	for _, m := range x.members[root] {
		for _, cr := range x.nodes[m].Children {
			cid, ok := x.ids[Key(cr)]
			if !ok || x.nodes[cid] == nil {
				continue
			}
			c := x.class[cid]
			if c == root {
				continue
			}
			if prev, ok := named[c]; !ok || Key(x.nodes[cid].Ref) < Key(prev) {
				named[c] = x.nodes[cid].Ref
			}
		}
	}
	for c, ref := range named {
		cn := x.nodes[x.ids[Key(ref)]]
		cst := x.leafStats(x.desc[c], -1)
		r.Children = append(r.Children, ChildSummary{
			Ref: cn.Ref, Kind: cn.Kind, Title: cn.Title, Status: cn.Status,
			Category: x.category(c), Total: cst.total,
			DoneByCount: cst.byCount(), DoneByEstimate: cst.byEstimate(),
		})
	}
	sort.Slice(r.Children, func(i, j int) bool { return Key(r.Children[i].Ref) < Key(r.Children[j].Ref) })
	return r
}

// stats are the leaf totals of one subtree.
type stats struct {
	counts            map[adapters.StatusCategory]int
	total             int
	doneEst, totalEst float64
}

func (s stats) byCount() float64 {
	if s.total == 0 {
		return 0
	}
	return float64(s.counts[adapters.CategoryDone]) / float64(s.total)
}

func (s stats) byEstimate() float64 {
	if s.totalEst == 0 {
		return 0
	}
	return s.doneEst / s.totalEst
}

// leafStats totals the leaves among set, skipping class skip (the root,
// which is never its own work item).
func (x *Index) leafStats(set []int, skip int) stats {
	st := stats{counts: map[adapters.StatusCategory]int{
		adapters.CategoryTodo: 0, adapters.CategoryInProgress: 0, adapters.CategoryDone: 0,
	}}
	def := x.cfg.DefaultEstimate
	if def <= 0 {
		def = 1
	}
	// Sums run in internal id order, so two builds of the same forest may
	// differ in the last bits of DoneByEstimate.
	for _, c := range set {
		if c == skip || !x.isLeaf(c) {
			continue
		}
		cat := x.category(c)
		st.counts[cat]++
		st.total++
		est := 0.0
		for _, m := range x.members[c] {
			est = max(est, x.nodes[m].Estimate)
		}
		if !(est > 0) || math.IsInf(est, 0) { // NaN too
			est = def
		}
		st.totalEst += est
		if cat == adapters.CategoryDone {
			st.doneEst += est
		}
	}
	return st
}

// isLeaf: a class with no children in the Index (a self-loop aside).
func (x *Index) isLeaf(c int) bool {
	for _, k := range x.kids[c] {
		if k != c {
			return false
		}
	}
	return true
}

// category of a merged class: the most advanced of its members.
func (x *Index) category(c int) adapters.StatusCategory {
	best := 0
	for _, m := range x.members[c] {
		best = max(best, rank(x.nodes[m].Category))
	}
	return byRank[best]
}

// withRisk copies a cached roll-up and evaluates the date rules at the
// current time, so a cached roll-up never goes stale as days pass.
func (x *Index) withRisk(base *Rollup) Rollup {
	r := *base
	r.Counts = make(map[adapters.StatusCategory]int, len(base.Counts))
	for k, v := range base.Counts {
		r.Counts[k] = v
	}
	r.Cycles = make([][]adapters.Ref, len(base.Cycles))
	for i, c := range base.Cycles {
		r.Cycles[i] = slices.Clone(c)
	}
	if len(base.Cycles) == 0 {
		r.Cycles = nil
	}
	r.Children = slices.Clone(base.Children)
	r.AtRisk, r.Reasons = false, nil // blocked reasons, cached in base.Reasons, go last

	now := time.Now()
	if x.cfg.Now != nil {
		now = x.cfg.Now()
	}
	ar := x.cfg.AtRisk
	done := r.DoneByCount
	if ar.UseEstimate {
		done = r.DoneByEstimate
	}
	if !r.Target.IsZero() && (r.Total == 0 || done < 1) {
		// A target is a calendar day: work due on it is on time all that
		// day, so count whole days from today (UTC, as dates are read).
		days := daysBetween(now, r.Target)
		switch {
		case days < 0:
			r.Reasons = append(r.Reasons, fmt.Sprintf("target date passed with %s done", pct(done)))
		case r.Total > 0 && ar.DaysBeforeDue > 0 && done < ar.MinDone && days <= ar.DaysBeforeDue:
			when := "due today"
			if days > 0 {
				when = "due in " + plural(days, "day", "days")
			}
			r.Reasons = append(r.Reasons, fmt.Sprintf("%s with %s done (< %s)", when, pct(done), pct(ar.MinDone)))
		}
	}
	r.Reasons = append(r.Reasons, base.Reasons...)
	r.AtRisk = len(r.Reasons) > 0
	return r
}

// daysBetween is the number of calendar days (UTC) from the day of now to
// the day of target: 0 on the target day, negative once it has passed.
func daysBetween(now, target time.Time) int {
	day := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return int(math.Round(day(target).Sub(day(now)).Hours() / 24))
}

// blocked names the not-done items below the root (itself excluded) with a
// blocked status or label, sorted.
func (x *Index) blocked(rc int) []string {
	ar := x.cfg.AtRisk
	if len(ar.BlockedStatuses) == 0 && len(ar.BlockedLabels) == 0 {
		return nil
	}
	var names []string
	for _, c := range x.desc[rc] {
		if c == rc || x.category(c) == adapters.CategoryDone {
			continue
		}
		// One reason per merged item: an item linked on both trackers is
		// named once, by the smallest key among its members.
		blocked, name := false, ""
		for _, m := range x.members[c] {
			n := x.nodes[m]
			if d := displayName(n.Ref); name == "" || d < name {
				name = d
			}
			if containsFold(ar.BlockedStatuses, n.Status) || slices.ContainsFunc(n.Labels, func(l string) bool { return containsFold(ar.BlockedLabels, l) }) {
				blocked = true
			}
		}
		if blocked {
			names = append(names, name+" is blocked")
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func containsFold(list []string, s string) bool {
	if s == "" {
		return false
	}
	return slices.ContainsFunc(list, func(l string) bool { return strings.EqualFold(l, s) })
}

func pct(f float64) string { return fmt.Sprintf("%d%%", Percent(f)) }

func sortRefs(refs []adapters.Ref) {
	sort.Slice(refs, func(i, j int) bool { return Key(refs[i]) < Key(refs[j]) })
}
