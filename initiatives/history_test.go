package initiatives

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/rollup"
	"github.com/tracksync/tracksync/store"
)

func snap(init, day string, done int) store.Snapshot {
	return store.Snapshot{Initiative: init, Day: day, Total: 10, Done: done}
}

// days lists snaps as initiative@day=done.
func days(snaps []store.Snapshot) []string {
	var out []string
	for _, sn := range snaps {
		out = append(out, sn.Initiative+"@"+sn.Day+"="+string(rune('0'+sn.Done)))
	}
	return out
}

// The cache answers for a window from its first day on, not before it.
func TestHistoryCached(t *testing.T) {
	h := newHistory()
	if _, ok := h.cached("2027-01-01"); ok {
		t.Fatal("an empty cache answers")
	}
	h.fill([]store.Snapshot{snap("a", "2027-01-10", 1), snap("b", "2027-01-10", 1), snap("a", "2027-01-11", 2), snap("a", "2027-01-12", 3)}, "2027-01-10")
	for _, tc := range []struct {
		since string
		ok    bool
		want  []string
	}{
		{since: "2027-01-09"},
		{since: "2027-01-10", ok: true, want: []string{"a@2027-01-10=1", "b@2027-01-10=1", "a@2027-01-11=2", "a@2027-01-12=3"}},
		{since: "2027-01-12", ok: true, want: []string{"a@2027-01-12=3"}},
		{since: "2027-01-13", ok: true},
	} {
		got, ok := h.cached(tc.since)
		if ok != tc.ok {
			t.Errorf("cached(%s): ok %v, want %v", tc.since, ok, tc.ok)
		}
		if diff := cmp.Diff(tc.want, days(got)); diff != "" {
			t.Errorf("cached(%s) (-want +got):\n%s", tc.since, diff)
		}
	}
}

// What snapshot stores goes into the cache (today's snapshot of an
// initiative replaced, not added twice), leaves the slices readers hold
// alone, and drops the Report's points.
func TestHistoryStoredInvalidates(t *testing.T) {
	h := newHistory()
	h.fill([]store.Snapshot{snap("a", "2027-01-10", 1), snap("a", "2027-01-11", 2), snap("b", "2027-01-11", 2)}, "2027-01-10")
	held, _ := h.cached("2027-01-10")
	points := map[string][]rollup.Point{"a": {{Day: "2027-01-11"}}}
	h.setPoints("2027-01-10true", points)
	if _, ok := h.points("2027-01-10true"); !ok {
		t.Fatal("points just set are not there")
	}
	if _, ok := h.points("2027-01-10false"); ok {
		t.Error("points for another basis are there")
	}

	h.stored([]store.Snapshot{snap("a", "2027-01-11", 3), snap("c", "2027-01-11", 1)}, nil)
	if _, ok := h.points("2027-01-10true"); ok {
		t.Error("points built before the write survive it")
	}
	got, _ := h.cached("2027-01-10")
	if diff := cmp.Diff([]string{"a@2027-01-10=1", "a@2027-01-11=3", "b@2027-01-11=2", "c@2027-01-11=1"}, days(got)); diff != "" {
		t.Errorf("the cache after the write (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a@2027-01-10=1", "a@2027-01-11=2", "b@2027-01-11=2"}, days(held)); diff != "" {
		t.Errorf("a slice read before the write changed (-want +got):\n%s", diff)
	}
	if sn, _ := h.last("a"); sn.Done != 3 {
		t.Errorf("last snapshot of a: %+v, want the one stored", sn)
	}

	// Without a read of the store first, nothing is cached: the cache
	// would miss the days before.
	h.forget()
	h.stored([]store.Snapshot{snap("a", "2027-01-12", 4)}, nil)
	if got, ok := h.cached("2027-01-12"); ok {
		t.Errorf("cached after forget and a write: %v", days(got))
	}
}

// prime keeps the newest snapshot per initiative and the target dates,
// starts the cache unless a read did, and later date changes add slips.
func TestHistoryPrime(t *testing.T) {
	h := newHistory()
	if h.isPrimed() {
		t.Fatal("primed before prime")
	}
	at := time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC)
	h.prime([]store.Snapshot{snap("a", "2027-01-10", 1), snap("b", "2027-01-10", 5), snap("a", "2027-01-11", 2)}, "2027-01-01",
		[]store.DateChange{{Initiative: "a", At: at, To: "2027-03-01"}, {Initiative: "a", At: at.Add(time.Hour), From: "2027-03-01", To: "2027-04-01"}})
	if !h.isPrimed() {
		t.Error("not primed after prime")
	}
	if sn, _ := h.last("a"); sn.Day != "2027-01-11" {
		t.Errorf("last snapshot of a: %+v, want the newest", sn)
	}
	if got, ok := h.target("a"); !ok || got != "2027-04-01" {
		t.Errorf("target of a: %q, %v; want the last change's", got, ok)
	}
	if _, ok := h.target("b"); ok {
		t.Error("b has a target without a date change")
	}
	if got, ok := h.cached("2027-01-01"); !ok || len(got) != 3 {
		t.Errorf("cache after prime: %v, %v; want the 3 snapshots read", days(got), ok)
	}
	if got := h.before("2027-01-11"); !slices.Equal(got, []string{"b"}) {
		t.Errorf("before 2027-01-11: %v, want [b]", got)
	}

	h.stored(nil, []store.DateChange{{Initiative: "b", At: at, To: "2027-05-01"}})
	slips := h.slipsCopy()
	if len(slips["a"]) != 2 || len(slips["b"]) != 1 || slips["b"][0].To != "2027-05-01" {
		t.Errorf("slips: %+v", slips)
	}
	slips["a"][0].To = "changed"
	if h.slipsCopy()["a"][0].To != "2027-03-01" {
		t.Error("slipsCopy shares its slices with the history")
	}
}

// Marks taken are cleared; put back, they are taken again with new ones.
func TestFlowMarks(t *testing.T) {
	m := newFlowMarks()
	m.mark("eng")
	m.mark("docs")
	m.mark("eng")
	if got := m.take(); !slices.Equal(got, []string{"docs", "eng"}) {
		t.Errorf("take: %v, want [docs eng]", got)
	}
	if got := m.take(); len(got) != 0 {
		t.Errorf("take again: %v, want none", got)
	}
	m.putBack([]string{"eng"})
	m.mark("ops")
	if got := m.take(); !slices.Equal(got, []string{"eng", "ops"}) {
		t.Errorf("take after putBack: %v, want [eng ops]", got)
	}
}
