package adapters

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// SharedRates is where the rate pacers of several processes keep one
// budget per tracker credential, so that N `serve` replicas together stay
// under one credential's limits: a token bucket shared by all
// (TakeTokens) and a small key-value space for the holds a tracker asks
// for. The state store (store.Store) is one.
type SharedRates interface {
	TakeTokens(ctx context.Context, bucket string, n, ratePerSec, burst float64, now time.Time) (wait time.Duration, err error)
	GetKV(ctx context.Context, scope, key string) (value string, ok bool, err error)
	PutKV(ctx context.Context, scope, key, value string) error
}

type sharedRatesBox struct{ s SharedRates }

var sharedRates atomic.Pointer[sharedRatesBox]

// SetSharedRates makes trackers opened from now on pace their requests
// through s (nil: each process keeps its own budget, the default). The
// daemon sets it to its state store before it opens the trackers.
func SetSharedRates(s SharedRates) {
	if s == nil {
		sharedRates.Store(nil)
		return
	}
	sharedRates.Store(&sharedRatesBox{s})
}

// CurrentSharedRates is what SetSharedRates set, nil when nothing is.
func CurrentSharedRates() SharedRates {
	if b := sharedRates.Load(); b != nil {
		return b.s
	}
	return nil
}

// BackgroundRates is a SharedRates that lets background work take tokens
// only above a floor it leaves to the others (store.Store is one): see
// SetBackground.
type BackgroundRates interface {
	TakeTokensAbove(ctx context.Context, bucket string, n, ratePerSec, burst, floor float64, now time.Time) (wait time.Duration, err error)
}

var background atomic.Uint64 // math.Float64bits of the share

// SetBackground makes the trackers opened from now on, when their budget
// is shared (SetSharedRates), yield to the other processes on it: they
// take a request's tokens only when share of each bucket is left after
// them, never going into the deficit others queue behind. share in (0, 1)
// (0: not background, the default). A migration running beside serve
// sets it, so that live sync comes first and the migration fills the
// gaps; the tracker's limits hold for both together.
func SetBackground(share float64) {
	if !(share > 0 && share < 1) {
		share = 0
	}
	background.Store(math.Float64bits(share))
}

// Background is the share SetBackground set (0: none).
func Background() float64 { return math.Float64frombits(background.Load()) }
