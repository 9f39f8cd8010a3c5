package adapters

import (
	"context"
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
