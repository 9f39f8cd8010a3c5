package sync

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracksync/tracksync/store"
)

// lock takes the flow's lease. A lease held by a process of this host that
// no longer runs (killed mid-run) is taken over at once rather than after
// its lease runs out: the journal makes resuming its work safe.
func (e *Engine) lock(ctx context.Context, name string) (store.Lease, error) {
	l, err := e.store.Lock(ctx, name, e.owner, e.ttl)
	var le *store.LockedError
	if !errors.As(err, &le) || !deadOwner(le.Owner) {
		return l, err
	}
	if err := e.store.Unlock(ctx, name, le.Owner); err != nil {
		return store.Lease{}, fmt.Errorf("releasing the lock of dead process %s: %w", le.Owner, err)
	}
	return e.store.Lock(ctx, name, e.owner, e.ttl)
}

// DefaultOwner names this process in leases: "host:pid:" and a random
// part. Two live processes may agree on host name and pid (containers on
// the host's network, or given one hostname, each running tracksync as
// PID 1); owners that agreed would share a lease and its fencing token,
// so both would write. A lease of an earlier process with this host and
// pid (a container restarted after kill -9) is waited out, as another
// host's would be: nothing tells it from a live process in another
// container.
func DefaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%x", host, os.Getpid(), b)
}

// deadOwner reports whether owner ("host:pid", and a random part) names a
// process of this host that is not running.
func deadOwner(owner string) bool {
	host, rest, ok := strings.Cut(owner, ":")
	if !ok {
		return false
	}
	pidStr, _, _ := strings.Cut(rest, ":")
	me, err := os.Hostname()
	if err != nil || host != me {
		return false
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return processGone(pid)
}

// runLease is the flow lease one run holds: the token its journaled
// writes carry, kept current by renew, and why it was lost once it is.
type runLease struct {
	mu    sync.Mutex
	lease store.Lease
	// deadline is when the lease runs out by the engine's own clock: the
	// time the Lock call that took or renewed it was made, plus its ttl.
	// Counting from before the call, on this process's clock, keeps it on
	// the safe side of the store's expiry whatever the clocks' skew.
	deadline time.Time
	lost     error
}

func newRunLease(l store.Lease, deadline time.Time) *runLease {
	return &runLease{lease: l, deadline: deadline}
}

// get returns the lease to write under.
func (l *runLease) get() store.Lease {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lease
}

// markLost records why the lease is gone; the first reason stays.
func (l *runLease) markLost(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = err
	}
}

// check says whether the run may still write at now (the engine's
// clock): not when a renewal failed, nor when the lease ran out by this
// process's own clock (it was paused, or renewals stalled), which needs
// no store round trip. The store fences every journaled write as well,
// by its own clock; this check also stops the write that was already
// journaled when the process paused, before its call reaches the tracker.
func (l *runLease) check(now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	if !now.Before(l.deadline) {
		l.lost = fmt.Errorf("%w: lease %s (token %d) ran out at %s, before it was renewed (the process was paused or the store unreachable)",
			store.ErrLeaseLost, l.lease.Name, l.lease.Token, l.deadline.UTC().Format(time.RFC3339))
		return l.lost
	}
	return nil
}

// lockRun takes the flow's lease for one run.
func (e *Engine) lockRun(ctx context.Context, name string) (*runLease, error) {
	start := e.now()
	l, err := e.lock(ctx, name)
	if err != nil {
		return nil, err
	}
	return newRunLease(l, start.Add(e.ttl)), nil
}

// renew extends the lease every third of its life until the returned stop
// is called, so a long run keeps it and a dead one loses it soon. A
// renewal that fails, or that finds the lease taken over in between
// (another token), marks the lease lost: the run stops before its next
// write rather than writing beside the process that holds it now.
func (e *Engine) renew(ctx context.Context, rl *runLease) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(e.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if !e.renewOnce(ctx, rl) {
					return
				}
			case <-e.renewKick: // tests only: renew now
				ok := e.renewOnce(ctx, rl)
				e.renewKick <- struct{}{}
				if !ok {
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// renewOnce renews rl once and reports whether the lease is still held.
func (e *Engine) renewOnce(ctx context.Context, rl *runLease) bool {
	held := rl.get()
	start := e.now()
	l, err := e.store.Lock(context.WithoutCancel(ctx), held.Name, e.owner, e.ttl)
	switch {
	case err != nil:
		err = fmt.Errorf("%w: renewing lease %s (token %d): %w", store.ErrLeaseLost, held.Name, held.Token, err)
	case l.Token != held.Token:
		// The lease ran out and was taken (and perhaps released) in
		// between: this Lock is a new acquisition, not a renewal.
		err = fmt.Errorf("%w: lease %s ran out while held with token %d and was taken again since (token %d)",
			store.ErrLeaseLost, held.Name, held.Token, l.Token)
	}
	if err != nil {
		e.log.Error("flow lease lost; the run stops before its next write", "lock", held.Name, "err", err)
		rl.markLost(err)
		return false
	}
	rl.mu.Lock()
	rl.lease.Expires, rl.deadline = l.Expires, start.Add(e.ttl)
	rl.mu.Unlock()
	return true
}
