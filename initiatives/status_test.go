package initiatives

import (
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/rollup"
)

// TestPickStatus: the category decides the status written; an at-risk
// initiative takes a status named for risk where the tracker has one,
// and leaves it once back on track; trackers without one (Jira) keep
// today's behaviour.
func TestPickStatus(t *testing.T) {
	health := []adapters.StatusDef{{Name: "On track", Category: adapters.CategoryInProgress},
		{Name: "At risk", Category: adapters.CategoryInProgress}, {Name: "Done", Category: adapters.CategoryDone}}
	jira := []adapters.StatusDef{{Name: "To Do", Category: adapters.CategoryTodo}, {Name: "In Progress", Category: adapters.CategoryInProgress},
		{Name: "In Review", Category: adapters.CategoryInProgress}, {Name: "Done", Category: adapters.CategoryDone}}
	started := rollup.Rollup{Total: 2, Counts: map[adapters.StatusCategory]int{adapters.CategoryDone: 1, adapters.CategoryTodo: 1}}
	risky := started
	risky.AtRisk = true
	done := rollup.Rollup{Total: 2, Counts: map[adapters.StatusCategory]int{adapters.CategoryDone: 2}}
	item := func(s string, c adapters.StatusCategory) adapters.Item {
		return adapters.Item{Status: s, StatusCategory: c}
	}
	for _, tc := range []struct {
		name     string
		statuses []adapters.StatusDef
		r        rollup.Rollup
		init     adapters.Item
		want     string // "" for no write
	}{
		{"started, on track", health, started, item("", ""), "On track"},
		{"started, at risk", health, risky, item("", ""), "At risk"},
		{"turned at risk", health, risky, item("On track", adapters.CategoryInProgress), "At risk"},
		{"back on track", health, started, item("At risk", adapters.CategoryInProgress), "On track"},
		{"still at risk", health, risky, item("At risk", adapters.CategoryInProgress), ""},
		{"done", health, done, item("At risk", adapters.CategoryInProgress), "Done"},
		{"jira in review stays", jira, started, item("In Review", adapters.CategoryInProgress), ""},
		{"jira at risk, no risk status", jira, risky, item("In Review", adapters.CategoryInProgress), ""},
		{"jira started", jira, risky, item("To Do", adapters.CategoryTodo), "In Progress"},
		{"no children", health, rollup.Rollup{}, item("", ""), ""},
	} {
		st, ok := pickStatus(tc.statuses, tc.r, tc.init)
		if got := map[bool]string{true: st.Name}[ok]; got != tc.want {
			t.Errorf("%s: wrote %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestProgressNeverRoundsUpToDone: 199 of 200 items done is 99%, never
// 100%: written back, shown in a summary or a reason, 100% means done.
func TestProgressNeverRoundsUpToDone(t *testing.T) {
	for _, tc := range []struct {
		done     float64
		pct      int
		progress string
	}{
		{0, 0, "0"}, {1.0 / 3, 33, "0.33"}, {0.5, 50, "0.5"}, {0.994, 99, "0.99"},
		{0.995, 99, "0.99"}, {199.0 / 200, 99, "0.99"}, {0.99999, 99, "0.99"}, {1, 100, "1"},
	} {
		if got := percent(tc.done); got != tc.pct {
			t.Errorf("percent(%v) = %d, want %d", tc.done, got, tc.pct)
		}
		if got := progressValue(tc.done); got != tc.progress {
			t.Errorf("progressValue(%v) = %q, want %q", tc.done, got, tc.progress)
		}
	}
}

// TestEstimateNotANumber: an estimate field holding text that ParseFloat
// takes as a number but is none (NaN, Inf) is unknown, like any other
// text: it would make every estimate total NaN, and a NaN cannot be
// encoded as JSON (rollup -o json, /rollups.json).
func TestEstimateNotANumber(t *testing.T) {
	rule := estimateRule{field: "Story Points"}
	for v, want := range map[string]float64{"3": 3, " 5 ": 5, "0.5": 0.5, "-2": 0, "x": 0, "NaN": 0, "nan": 0, "Inf": 0, "+Inf": 0, "-Infinity": 0, "infinity": 0, "1e400": 0} {
		it := adapters.Item{Fields: map[string]string{"Story Points": v}}
		if got := estimateOf(it, rule); got != want {
			t.Errorf("estimate %q = %v, want %v", v, got, want)
		}
	}
}
