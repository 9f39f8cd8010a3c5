package rest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// rateScope is the key-value scope of the shared holds.
const rateScope = "tracksync.rate"

// StoreBudget is a Budget kept in a store shared by processes
// (adapters.SharedRates), keyed by one tracker credential.
//
// The bucket is the store's token bucket. Each window of Limit requests
// per Per is a bucket of its own that holds a tenth of Limit (windowBurst)
// and refills the other nine tenths over Per: a token bucket lets at most
// its size plus its refill through in any interval, so no interval of
// length Per sees more than Limit requests, however the processes
// interleave, and the sustained pace is nine tenths of the window's (the
// in-memory log's exact sliding window would need the booked times of
// every process). It held half and refilled half before: sustained, the
// replicas together got half of GitHub's 80 creates a minute.
// Holds sit in the key-value space; a later hold extends one, an earlier
// one does not shorten it (a hold raced by another process's earlier one
// may be lost: the tracker then answers 403/429, and that answer holds
// again).
type StoreBudget struct {
	s   adapters.SharedRates
	key string
	l   Limits

	// cacheFor is how long a hold read from the store is trusted
	// (default holdCache): a hold another process records is seen
	// within it.
	cacheFor time.Duration

	// reserve, when above 0, makes this a background budget
	// (adapters.SetBackground): TryReserve takes tokens only when this
	// share of each bucket stays for the others.
	reserve float64

	mu       sync.Mutex
	hold     time.Time // last hold read or written
	holdRead time.Time // when it was read (real time), for the cache
}

// holdCache is how long a hold read from the store is trusted: Blocked
// asks before every request, reads included.
const holdCache = time.Second

// NewStoreBudget is a Budget for limits l in s, shared by every process
// that uses the same key (one per tracker credential).
func NewStoreBudget(s adapters.SharedRates, key string, l Limits) *StoreBudget {
	return &StoreBudget{s: s, key: key, l: l, cacheFor: holdCache}
}

// Reserve implements Budget.
func (b *StoreBudget) Reserve(ctx context.Context, now time.Time) (time.Time, error) {
	var wait time.Duration
	for _, k := range b.buckets() {
		w, err := b.s.TakeTokens(ctx, k.name, 1, k.rate, k.burst, now)
		if err != nil {
			return time.Time{}, fmt.Errorf("rate budget %s: %w", b.key, err)
		}
		wait = max(wait, w)
	}
	return now.Add(wait), nil
}

// buckets are the token buckets a request takes one token of: the
// per-second one and one per window (name, rate per second, size).
func (b *StoreBudget) buckets() []bucketSpec {
	var out []bucketSpec
	if b.l.PerSecond > 0 {
		out = append(out, bucketSpec{b.key + "/bucket", b.l.PerSecond, float64(max(b.l.Burst, 1))})
	}
	for _, win := range b.l.Windows {
		if win.Limit <= 0 || win.Per <= 0 {
			continue
		}
		burst := windowBurst(win.Limit)
		out = append(out, bucketSpec{b.key + "/window/" + win.Per.String(), float64(max(win.Limit-burst, 1)) / win.Per.Seconds(), float64(burst)})
	}
	return out
}

type bucketSpec struct {
	name        string
	rate, burst float64
}

// Background reports whether the budget yields to others (TryReserve).
func (b *StoreBudget) Background() bool {
	_, ok := b.s.(adapters.BackgroundRates)
	return ok && b.reserve > 0
}

// TryReserve is Reserve for background work: a request is booked only if
// each bucket keeps its reserved share after it; otherwise ok is false
// and at is when to ask again (nothing booked in that bucket; one booked
// in a bucket before it is spent, which costs budget, never exceeds it).
func (b *StoreBudget) TryReserve(ctx context.Context, now time.Time) (at time.Time, ok bool, err error) {
	br, can := b.s.(adapters.BackgroundRates)
	if !can {
		at, err := b.Reserve(ctx, now)
		return at, err == nil, err
	}
	for _, k := range b.buckets() {
		floor := min(b.reserve*k.burst, k.burst-1)
		if floor < 0 {
			floor = 0
		}
		w, err := br.TakeTokensAbove(ctx, k.name, 1, k.rate, k.burst, floor, now)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("rate budget %s: %w", b.key, err)
		}
		if w > 0 {
			return now.Add(w), false, nil
		}
	}
	return now, true, nil
}

// windowBurst is the bucket size of a window of limit requests: a tenth,
// at least one.
func windowBurst(limit int) int { return max(limit/10, 1) }

// Hold implements Budget.
func (b *StoreBudget) Hold(ctx context.Context, until time.Time) error {
	cur, err := b.read(ctx)
	if err != nil {
		return err
	}
	if !until.After(cur) {
		return nil
	}
	if err := b.s.PutKV(ctx, rateScope, b.key+"/hold", strconv.FormatInt(until.UnixNano(), 10)); err != nil {
		return fmt.Errorf("rate budget %s: recording a hold: %w", b.key, err)
	}
	b.mu.Lock()
	b.hold, b.holdRead = until, time.Now()
	b.mu.Unlock()
	return nil
}

// HeldUntil implements Budget.
func (b *StoreBudget) HeldUntil(ctx context.Context) (time.Time, error) {
	b.mu.Lock()
	if !b.holdRead.IsZero() && time.Since(b.holdRead) < b.cacheFor {
		h := b.hold
		b.mu.Unlock()
		return h, nil
	}
	b.mu.Unlock()
	return b.read(ctx)
}

func (b *StoreBudget) read(ctx context.Context) (time.Time, error) {
	v, ok, err := b.s.GetKV(ctx, rateScope, b.key+"/hold")
	if err != nil {
		return time.Time{}, fmt.Errorf("rate budget %s: reading the hold: %w", b.key, err)
	}
	var h time.Time
	if ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("rate budget %s: hold %q is not a time", b.key, v)
		}
		h = time.Unix(0, n)
	}
	b.mu.Lock()
	b.hold, b.holdRead = h, time.Now()
	b.mu.Unlock()
	return h, nil
}
