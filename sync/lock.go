package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
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

// deadOwner reports whether owner ("host:pid") names a process of this
// host that is not running.
func deadOwner(owner string) bool {
	host, pidStr, ok := strings.Cut(owner, ":")
	if !ok {
		return false
	}
	me, err := os.Hostname()
	if err != nil || host != me {
		return false
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// renew extends the lease every third of its life until the returned stop
// is called, so a long run keeps it and a dead one loses it soon.
func (e *Engine) renew(ctx context.Context, name string) (stop func()) {
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
				if _, err := e.store.Lock(context.WithoutCancel(ctx), name, e.owner, e.ttl); err != nil {
					e.log.Warn("could not renew the flow lock", "lock", name, "err", err)
				}
			}
		}
	}()
	return func() { close(done) }
}
