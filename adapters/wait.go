package adapters

import (
	"context"
	"time"
)

// WaitObserver hears of every wait an adapter makes before a request:
// pacing to a rate budget, or a wait the tracker asked for. The engine
// passes one in the context of a run, for its progress report.
type WaitObserver func(tracker, reason string, d time.Duration)

type waitKey struct{}

// WithWaitObserver returns ctx carrying fn.
func WithWaitObserver(ctx context.Context, fn WaitObserver) context.Context {
	return context.WithValue(ctx, waitKey{}, fn)
}

// ObserveWait reports a wait of d for reason to ctx's WaitObserver, if
// any. Adapters call it right before they sleep.
func ObserveWait(ctx context.Context, tracker, reason string, d time.Duration) {
	if fn, ok := ctx.Value(waitKey{}).(WaitObserver); ok && fn != nil && d > 0 {
		fn(tracker, reason, d)
	}
}
