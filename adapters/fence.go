package adapters

import "context"

type fenceKey struct{}

// WithFence returns ctx carrying check, which a tracker calls through
// Fence right before each write request of a call that sends several (a
// bulk create split into requests). The engine's check fails once the
// run's lease is lost, so a run frozen past its lease and resumed in the
// middle of a bulk create sends none of its remaining requests.
func WithFence(ctx context.Context, check func() error) context.Context {
	return context.WithValue(ctx, fenceKey{}, check)
}

// Fence reports whether ctx's fence (WithFence) still lets a write go:
// nil when there is none.
func Fence(ctx context.Context) error {
	if check, ok := ctx.Value(fenceKey{}).(func() error); ok {
		return check()
	}
	return nil
}
