package initiatives

import (
	"slices"
	"strings"
	"sync"

	"github.com/tracksync/tracksync/rollup"
	"github.com/tracksync/tracksync/store"
)

// history is what the Service knows of the snapshots and target dates
// stored: what the snapshot writer compares with (the last snapshot per
// initiative, the last target date) and what the dashboard reads (the
// snapshots from a day on, the Report's points built from them, the
// date-slip history). Its methods are safe for concurrent use.
type history struct {
	mu sync.Mutex
	// snaps remembers the last snapshot stored per initiative.
	snaps map[string]store.Snapshot
	// hist caches the snapshots from day histSince on (oldest day first),
	// so the dashboard does not read the store on every load; snapshot
	// adds what it writes. histOK is false until the first read.
	hist      []store.Snapshot
	histSince string
	histOK    bool
	// histMap is the last Report's History (read-only once built), for
	// the window and basis histMapKey; snapshot writes drop it.
	histMap    map[string][]rollup.Point
	histMapKey string
	// primed is set once the last process's snapshots and target dates
	// are read; targets are the last known target date and slips the
	// date history, by initiative rollup key.
	primed  bool
	targets map[string]string
	slips   map[string][]rollup.Slip
}

func newHistory() *history {
	return &history{snaps: map[string]store.Snapshot{}, targets: map[string]string{}, slips: map[string][]rollup.Slip{}}
}

// isPrimed reports whether prime ran.
func (h *history) isPrimed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.primed
}

// prime takes what the last process stored: snaps, the snapshots from day
// since on (oldest first), and changes, the target-date history.
func (h *history) prime(snaps []store.Snapshot, since string, changes []store.DateChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, sn := range snaps { // oldest first: the last one wins
		if _, ok := h.snaps[sn.Initiative]; !ok || h.snaps[sn.Initiative].Day <= sn.Day {
			h.snaps[sn.Initiative] = sn
		}
	}
	if !h.histOK { // the dashboard's history cache starts from this read
		h.hist, h.histSince, h.histOK = snaps, since, true
	}
	h.targets, h.slips = map[string]string{}, map[string][]rollup.Slip{}
	for _, c := range changes {
		h.targets[c.Initiative] = c.To
		h.slips[c.Initiative] = append(h.slips[c.Initiative], rollup.Slip{At: c.At, From: c.From, To: c.To})
	}
	h.primed = true
}

// last returns the last snapshot stored of initiative key.
func (h *history) last(key string) (store.Snapshot, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sn, ok := h.snaps[key]
	return sn, ok
}

// target returns the last known target date of initiative key ("" for
// none), and false when it never had one.
func (h *history) target(key string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.targets[key]
	return t, ok
}

// before returns the initiatives whose last snapshot is of a day before
// day, sorted.
func (h *history) before(day string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for k, sn := range h.snaps {
		if sn.Day < day {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// stored records what snapshot stored in one transaction: snaps and the
// target date changes dates.
func (h *history) stored(snaps []store.Snapshot, dates []store.DateChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, sn := range snaps {
		h.snaps[sn.Initiative] = sn
	}
	for _, d := range dates {
		h.targets[d.Initiative] = d.To
		h.slips[d.Initiative] = append(h.slips[d.Initiative], rollup.Slip{At: d.At, From: d.From, To: d.To})
	}
	h.cacheSnapshots(snaps)
}

// cacheSnapshots adds written snapshots to the history cache (h.mu held):
// one of the same initiative and day is replaced, else it is appended
// (written snapshots are of today, the newest day).
func (h *history) cacheSnapshots(written []store.Snapshot) {
	if !h.histOK {
		return
	}
	hist := slices.Clone(h.hist) // readers may hold the old slice
	for _, sn := range written {
		replaced := false
		for i := len(hist) - 1; i >= 0 && hist[i].Day >= sn.Day; i-- {
			if hist[i].Day == sn.Day && hist[i].Initiative == sn.Initiative {
				hist[i], replaced = sn, true
				break
			}
		}
		if !replaced {
			hist = append(hist, sn)
		}
	}
	slices.SortStableFunc(hist, func(a, b store.Snapshot) int { return strings.Compare(a.Day, b.Day) })
	h.hist = hist
	h.histMap = nil
}

// cached returns the cached snapshots from day since on, oldest first
// (shared: read them, do not change them), and false when the cache does
// not cover since.
func (h *history) cached(since string) ([]store.Snapshot, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.histOK || h.histSince > since {
		return nil, false
	}
	i, _ := slices.BinarySearchFunc(h.hist, since, func(sn store.Snapshot, day string) int { return strings.Compare(sn.Day, day) })
	return h.hist[i:len(h.hist):len(h.hist)], true
}

// fill makes snaps, read from the store, the cache from day since on.
func (h *history) fill(snaps []store.Snapshot, since string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hist, h.histSince, h.histOK = snaps, since, true
}

// points returns the Report's History built for key (window and basis),
// and false when there is none or the snapshots changed since.
func (h *history) points(key string) (map[string][]rollup.Point, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.histMap, h.histMapKey == key && h.histMap != nil
}

// setPoints keeps m, the Report's History for key; m is shared from now
// on and must not change.
func (h *history) setPoints(key string, m map[string][]rollup.Point) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.histMap, h.histMapKey = m, key
}

// forget drops the cached snapshots and points: the next Report reads the
// store.
func (h *history) forget() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.histOK, h.histMap = false, nil
}

// slipsCopy returns the target-date history of every initiative by
// rollup key, a copy.
func (h *history) slipsCopy() map[string][]rollup.Slip {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string][]rollup.Slip, len(h.slips))
	for k, v := range h.slips {
		out[k] = slices.Clone(v)
	}
	return out
}
