// Package rollup computes initiative progress over a forest of tracker
// items: counts by status category, percent done by count and by estimate,
// dates and at-risk reasons, across trackers and with items synced on both
// sides counted once.
//
// It is pure computation: callers (the CLI, the daemon, webhook handlers)
// turn adapters.Items into Nodes and keep an Index up to date with Upsert and
// Remove; the Index only recomputes the ancestors of what changed, so a
// webhook costs a walk up one branch, not a re-read of every tracker.
//
// Rules, in one place:
//   - Identity: a Ref is identified by Tracker and ID (Key when ID is
//     empty), see Key. Child refs to nodes not in the Index are ignored.
//   - SameAs links are symmetric (declaring them on one side is enough) and
//     transitive: linked nodes form one merged item. Its children are the
//     union of its members' children; its category is the most advanced of
//     its members (done if any member is done, else in progress if any is,
//     else todo); its estimate is the largest known member estimate.
//   - Leaves are merged items with no children in the Index; they are the
//     work counted. A leaf reachable along several paths counts once. The
//     initiative itself is never counted, so an initiative without children
//     has Total 0.
//   - Categories other than the three known ones count as todo.
//   - Parent cycles are found as strongly connected components, reported in
//     Rollup.Cycles and treated as one unit, so nothing loops.
package rollup

import (
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// Node is one item in the roll-up forest.
type Node struct {
	Ref      adapters.Ref
	Kind     adapters.Kind
	Title    string
	Category adapters.StatusCategory
	Status   string
	Labels   []string
	// Estimate is story points or a size; 0 (or less) means unknown and
	// weighs Config.DefaultEstimate.
	Estimate float64
	// Started and Due are optional; the zero time means unset.
	Started, Due time.Time
	// Children are child refs, possibly in other trackers.
	Children []adapters.Ref
	// SameAs lists refs of this node's linked counterparts in other trackers
	// (the same work synced both ways): they are counted once.
	SameAs []adapters.Ref
}

// AtRisk holds the at-risk rules. Zero values switch a rule off, except
// that a passed target date always counts.
type AtRisk struct {
	// DaysBeforeDue and MinDone: at risk when the target is at most
	// DaysBeforeDue days away and less than MinDone (0..1) is done.
	DaysBeforeDue int
	MinDone       float64
	// UseEstimate makes the progress rules use DoneByEstimate instead of
	// DoneByCount.
	UseEstimate bool
	// BlockedStatuses and BlockedLabels (compared case-insensitively) mark
	// a not-done item in the tree as blocked, which puts its initiative at
	// risk.
	BlockedStatuses []string
	BlockedLabels   []string
}

// Config tunes the computation.
type Config struct {
	// DefaultEstimate is the weight of leaves without an estimate when
	// weighting by estimate; 0 means 1.
	DefaultEstimate float64
	AtRisk          AtRisk
	// Now is the clock for the date rules; nil means time.Now.
	Now func() time.Time
}

// Rollup is the progress of one initiative over its whole child tree.
type Rollup struct {
	Initiative adapters.Ref
	Title      string
	// Counts has the leaf work items by category, each counted once; all
	// three categories are always present.
	Counts map[adapters.StatusCategory]int
	Total  int
	// DoneByCount is done leaves / all leaves, 0..1 (0 when Total is 0).
	DoneByCount float64
	// DoneByEstimate is the estimate of done leaves / the estimate of all
	// leaves, 0..1, unknown estimates weighing Config.DefaultEstimate.
	DoneByEstimate float64
	// Started is the earliest Started in the tree; Target is the
	// initiative's own Due when set, else the latest Due in the tree.
	Started, Target time.Time
	AtRisk          bool
	Reasons         []string
	// Cycles lists each parent cycle reachable from the initiative as the
	// refs of its members, sorted by Key.
	Cycles [][]adapters.Ref
	// Children summarises the direct children, sorted by Key.
	Children []ChildSummary
}

// ChildSummary is one direct child of an initiative with the progress of its
// own subtree (the child itself when it is a leaf).
type ChildSummary struct {
	Ref            adapters.Ref
	Kind           adapters.Kind
	Title          string
	Status         string
	Category       adapters.StatusCategory
	Total          int
	DoneByCount    float64
	DoneByEstimate float64
}

// Key is the identity of a ref inside the Index: tracker and stable ID
// (the human key only when there is no ID), so a renamed Jira key does not
// make a new item.
func Key(r adapters.Ref) string {
	id := r.ID
	if id == "" {
		id = r.Key
	}
	return r.Tracker + ":" + id
}

// displayName is how reasons name an item: its human key when known.
func displayName(r adapters.Ref) string {
	if r.Key != "" {
		return r.Key
	}
	return r.String()
}

// rank orders categories so merged items take the most advanced one.
func rank(c adapters.StatusCategory) int {
	switch c {
	case adapters.CategoryDone:
		return 2
	case adapters.CategoryInProgress:
		return 1
	}
	return 0
}

var byRank = [3]adapters.StatusCategory{adapters.CategoryTodo, adapters.CategoryInProgress, adapters.CategoryDone}
