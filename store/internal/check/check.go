// Package check holds the input checks and pure arithmetic every state
// store driver applies before it touches SQL, so the drivers agree.
package check

import (
	"fmt"
	"math"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// DayLayout is the layout of Snapshot.Day and of the since and before
// arguments.
const DayLayout = "2006-01-02"

// Side requires store.SideA or store.SideB.
func Side(s store.Side) error {
	if s != store.SideA && s != store.SideB {
		return fmt.Errorf("invalid side %q: want %q or %q", s, store.SideA, store.SideB)
	}
	return nil
}

// NewLink requires what CreateLink needs: a flow and both item ids.
func NewLink(l store.Link) error {
	if l.Flow == "" || l.A.ID == "" || l.B.ID == "" {
		return fmt.Errorf("creating link %s <-> %s in flow %q: flow and both item ids are required", l.A, l.B, l.Flow)
	}
	return nil
}

// LinkUpdate requires what UpdateLink needs: both item ids.
func LinkUpdate(l store.Link) error {
	if l.A.ID == "" || l.B.ID == "" {
		return fmt.Errorf("updating link %d: both item ids are required", l.ID)
	}
	return nil
}

// Intent requires what JournalIntent needs: a side.
func Intent(e store.JournalEntry) error {
	if err := Side(e.Side); err != nil {
		return fmt.Errorf("journaling %s of %s in flow %s: %w", e.Op, e.Target, e.Flow, err)
	}
	return nil
}

// Finish requires a state JournalFinish may set on entry id. Pending is
// allowed: after an ambiguous failure of a create the engine keeps the
// entry pending, with the error, for recovery.
func Finish(id int64, state string) error {
	if !JournalState(state) {
		return fmt.Errorf("finishing journal entry %d: unknown state %q", id, state)
	}
	return nil
}

// Event requires what PutEvent needs: a kind.
func Event(e store.Event) error {
	if e.Kind == "" {
		return fmt.Errorf("adding event to the outbox: kind is empty: %w", adapters.ErrInvalid)
	}
	return nil
}

// Delivery requires what SeenDelivery needs: a tracker and an id.
func Delivery(tracker, id string) error {
	if tracker == "" || id == "" {
		return fmt.Errorf("recording webhook delivery %q of tracker %q: both must be set: %w", id, tracker, adapters.ErrInvalid)
	}
	return nil
}

// NotFound reports a missing row of what, named by id.
func NotFound(what string, id any) error {
	return fmt.Errorf("%s %v: %w", what, id, store.ErrNotFound)
}

// Affected turns "no row changed" (n) into a NotFound of what, named by id.
func Affected(n int64, what string, id any) error {
	if n == 0 {
		return NotFound(what, id)
	}
	return nil
}

// JournalState says whether state is one a journal entry may take.
func JournalState(state string) bool {
	switch state {
	case store.JournalPending, store.JournalDone, store.JournalFailed, store.JournalUndone:
		return true
	}
	return false
}

// Day requires a real calendar day written YYYY-MM-DD: the columns are
// compared as text, which orders by date only in that form.
func Day(day string) error {
	d, err := time.Parse(DayLayout, day)
	if err != nil || d.Format(DayLayout) != day {
		return fmt.Errorf("day %q is not a date written YYYY-MM-DD: %w", day, adapters.ErrInvalid)
	}
	return nil
}

// OptionalDay is Day, or empty.
func OptionalDay(d string) error {
	if d == "" {
		return nil
	}
	return Day(d)
}

// Snapshot requires an initiative, a Day and finite ratios: SQLite would
// store NaN as NULL, PostgreSQL would keep it, and JSON (the API, store
// copy) cannot carry it, so every driver refuses it.
func Snapshot(s store.Snapshot) error {
	if s.Initiative == "" {
		return fmt.Errorf("initiative is empty: %w", adapters.ErrInvalid)
	}
	if err := Day(s.Day); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"done_by_count", s.DoneByCount}, {"done_by_estimate", s.DoneByEstimate}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%s is %v: %w", f.name, f.v, adapters.ErrInvalid)
		}
	}
	return nil
}

// KV requires both scope and key.
func KV(scope, key string) error {
	if scope == "" || key == "" {
		return fmt.Errorf("scope %q and key %q must both be set: %w", scope, key, adapters.ErrInvalid)
	}
	return nil
}

// Refill brings a bucket holding tokens at last (unix ns) to now, takes n
// and says how long the deficit takes to refill. A now behind last (a
// slower clock in another process) refills nothing and leaves last alone,
// so clocks that disagree never mint tokens.
func Refill(tokens float64, last int64, n, rate, burst float64, now time.Time) (float64, int64, time.Duration) {
	tokens, last = refill(tokens, last, rate, burst, now)
	tokens -= n
	if tokens >= 0 {
		return tokens, last, 0
	}
	return tokens, last, time.Duration(math.Round(-tokens / rate * 1e9))
}

func refill(tokens float64, last int64, rate, burst float64, now time.Time) (float64, int64) {
	if ns := now.UnixNano(); ns > last {
		tokens += rate * float64(ns-last) / 1e9
		last = ns
	}
	return min(tokens, burst), last
}

// RefillAbove is Refill for a taker that must leave floor tokens in the
// bucket (background work yielding to others): it takes n only when at
// least floor+n are there, and otherwise takes nothing and says how long
// the refill takes to get there (wait > 0: not taken; others may take
// meanwhile, so the caller asks again then).
func RefillAbove(tokens float64, last int64, n, rate, burst, floor float64, now time.Time) (float64, int64, time.Duration) {
	tokens, last = refill(tokens, last, rate, burst, now)
	if tokens-n >= floor {
		return tokens - n, last, 0
	}
	return tokens, last, max(time.Duration(math.Ceil((floor+n-tokens)/rate*1e9)), time.Nanosecond)
}

// Take is Refill, or RefillAbove when above: both drivers' TakeTokens
// and TakeTokensAbove.
func Take(tokens float64, last int64, n, rate, burst, floor float64, above bool, now time.Time) (float64, int64, time.Duration) {
	if !above {
		return Refill(tokens, last, n, rate, burst, now)
	}
	return RefillAbove(tokens, last, n, rate, burst, floor, now)
}

// TokenArgs checks TakeTokens' arguments, and TakeTokensAbove's when
// above (floor is then what must be left).
func TokenArgs(bucket string, n, rate, burst, floor float64, above bool) error {
	ok := bucket != "" && rate > 0 && burst > 0 && n >= 0 && !math.IsInf(rate, 0) && !math.IsInf(burst, 0) && !math.IsInf(n, 0)
	if !above {
		if ok {
			return nil
		}
		return fmt.Errorf("taking %v tokens from rate bucket %q (rate %v/s, burst %v): the bucket must be named, rate and burst positive and finite, n finite and not negative: %w",
			n, bucket, rate, burst, adapters.ErrInvalid)
	}
	if ok && floor >= 0 && floor+n <= burst {
		return nil
	}
	return fmt.Errorf("taking %v tokens from rate bucket %q (rate %v/s, burst %v, leaving %v): the bucket must be named, rate and burst positive and finite, n and what is left not negative and at most burst together: %w",
		n, bucket, rate, burst, floor, adapters.ErrInvalid)
}
