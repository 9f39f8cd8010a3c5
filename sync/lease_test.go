package sync_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// keyless is a tracker whose idempotency-key lookup misses, as GitHub's
// can (it searches recently created issues): every create makes a new
// item. Only the flow lease then stands between two runs and duplicates.
type keyless struct{ *memTracker }

func (k keyless) Create(ctx context.Context, it adapters.Item, opts adapters.CreateOptions) (adapters.CreateResult, error) {
	opts.IdempotencyKey = ""
	return k.memTracker.Create(ctx, it, opts)
}

// TestLostLeaseStopsWrites: run A pauses past its lease in the middle of
// its writes (SIGSTOP, a long GC, a laptop lid), run B takes the flow over
// and syncs it, then A resumes. A must write nothing more, stop, record
// its run as failed saying the lease was lost, and the trackers must hold
// no duplicate (issue 10, "A lost lease does not stop writes").
func TestLostLeaseStopsWrites(t *testing.T) {
	const items, pauseAt, ttl = 10, 4, 2 * time.Minute
	for _, tc := range []struct {
		name string
		// between: A pauses after journaling its write, before the call
		// (the in-memory lease check must stop the call). Otherwise A
		// pauses before journaling, and its own clock does not move (the
		// store's clock decides): only the store's fence can stop it.
		between bool
	}{{"paused before a write", false}, {"paused between journal and call", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			for i := range items {
				e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Status: "To Do"})
			}
			// One create at a time (no CreateMany): the pause falls
			// between two writes.
			e.flow.B = single{keyless{e.b}, e.b}

			var bRes *tsync.Result
			var bErr error
			writesAtResume := -1
			takeOver := func() {
				e.clock.Advance(ttl + time.Minute) // A's lease runs out by the store's clock
				b := tsync.New(e.st, tsync.Options{Clock: e.clock.Now, Owner: "replica-b:2", LockTTL: ttl})
				bRes, bErr = b.Sync(e.ctx, e.flow, tsync.RunOptions{})
				writesAtResume = e.a.Writes() + e.b.Writes()
			}
			opts := tsync.Options{Owner: "replica-a:1", LockTTL: ttl}
			n := 0
			if tc.between {
				opts.Clock = e.clock.Now
				opts.Crash = func(p tsync.CrashPoint, op *tsync.Op) error {
					if p == tsync.CrashBeforeCall {
						if n++; n == pauseAt {
							takeOver()
						}
					}
					return nil
				}
			} else {
				start := e.clock.Now()
				opts.Clock = func() time.Time { return start }
				opts.Draining = func() bool {
					if n++; n == pauseAt {
						takeOver()
					}
					return false
				}
			}
			a := tsync.New(e.st, opts)
			res, err := a.Sync(e.ctx, e.flow, tsync.RunOptions{})

			if writesAtResume < 0 {
				t.Fatalf("run A made fewer than %d writes: the pause was never reached", pauseAt)
			}
			if bErr != nil {
				t.Fatalf("run B (the takeover): %v", bErr)
			}
			if bRes.Run.State != store.RunOK || bRes.Run.Counts.Created == 0 {
				t.Errorf("run B = %+v, want ok with the remaining creates", bRes.Run)
			}
			if !errors.Is(err, store.ErrLeaseLost) || !strings.Contains(err.Error(), "lost its lease") {
				t.Fatalf("run A returned %v, want an error saying it lost its lease (wrapping store.ErrLeaseLost)", err)
			}
			if w := e.a.Writes() + e.b.Writes() - writesAtResume; w != 0 {
				t.Errorf("run A wrote %d time(s) after it resumed without its lease", w)
			}
			if res == nil || res.Run.State != store.RunFailed || !strings.Contains(res.Run.Error, "lost its lease") {
				t.Errorf("run A recorded as %+v, want failed with the lease named", res)
			}
			stored, gerr := e.st.GetRun(e.ctx, res.Run.ID)
			if gerr != nil || stored.State != store.RunFailed || !strings.Contains(stored.Error, "lost its lease") {
				t.Errorf("stored run A = %+v, %v; want failed, saying the lease was lost", stored, gerr)
			}

			copies := map[string]int{}
			for _, it := range e.b.Items() {
				copies[it.Title]++
			}
			for i := range items {
				title := fmt.Sprintf("item %d", i)
				if copies[title] != 1 {
					t.Errorf("%q has %d copies on side b, want 1", title, copies[title])
				}
			}
			if pend, _ := e.st.PendingJournal(e.ctx, "f"); len(pend) != 0 {
				t.Errorf("%d journal entries left pending: %+v", len(pend), pend)
			}
			// The flow has converged: B's next run has nothing to write.
			e.a.ResetCounts()
			e.b.ResetCounts()
			b := tsync.New(e.st, tsync.Options{Clock: e.clock.Now, Owner: "replica-b:2", LockTTL: ttl})
			if _, err := b.Sync(e.ctx, e.flow, tsync.RunOptions{}); err != nil {
				t.Fatalf("next run: %v", err)
			}
			if w := e.a.Writes() + e.b.Writes(); w != 0 {
				t.Errorf("the next run wrote %d time(s), want 0", w)
			}
		})
	}
}

// TestRenewalFailureStopsRun: a run whose lease cannot be renewed (the
// store refuses: another process took the flow) stops before its next
// write, even while its own clock says the lease is still good.
func TestRenewalFailureStopsRun(t *testing.T) {
	const ttl = 2 * time.Minute
	e := newEnv(t, envOpts{})
	for i := range 6 {
		e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Status: "To Do"})
	}
	e.flow.B = single{e.b, e.b} // one create at a time (no CreateMany)
	n, writesAtSteal := 0, -1
	var a *tsync.Engine
	a = tsync.New(e.st, tsync.Options{Clock: e.clock.Now, Owner: "replica-a:1", LockTTL: ttl,
		Draining: func() bool {
			if n++; n == 3 {
				// An operator frees the flow (or it is taken over by a
				// store whose clock runs ahead), and the renewal meets it.
				if err := e.st.Unlock(e.ctx, "flow:f", "replica-a:1"); err != nil {
					t.Fatal(err)
				}
				if _, err := e.st.Lock(e.ctx, "flow:f", "replica-b:2", time.Hour); err != nil {
					t.Fatal(err)
				}
				tsync.RenewNow(a)
				writesAtSteal = e.a.Writes() + e.b.Writes()
			}
			return false
		}})
	_, err := a.Sync(e.ctx, e.flow, tsync.RunOptions{})
	if !errors.Is(err, store.ErrLeaseLost) || !strings.Contains(err.Error(), "renewing lease flow:f") {
		t.Fatalf("Sync = %v, want the renewal failure, wrapping store.ErrLeaseLost", err)
	}
	if w := e.a.Writes() + e.b.Writes() - writesAtSteal; w != 0 {
		t.Errorf("%d write(s) after the renewal failed", w)
	}
}

// listHooked runs fn before its first listing: a point inside a run,
// after the lease was taken and before apply.
type listHooked struct {
	*memTracker
	fn func()
}

func (l *listHooked) List(ctx context.Context, req adapters.ListRequest) (adapters.ListPage, error) {
	if l.fn != nil {
		l.fn()
		l.fn = nil
	}
	return l.memTracker.List(ctx, req)
}

// TestLostLeaseStopsStoreOnlyWrites: an unlink changes the store alone
// (the link becomes a tombstone), which the journal cannot fence; a run
// that knows its lease is lost must not make it either.
func TestLostLeaseStopsStoreOnlyWrites(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "kept", Status: "To Do"},
		adapters.Item{Kind: adapters.KindIssue, Title: "deleted", Status: "To Do"})
	e.sync(tsync.RunOptions{})
	ls := e.links()
	if len(ls) != 2 {
		t.Fatalf("%d links, want 2", len(ls))
	}
	for _, l := range ls {
		if it, err := e.a.Get(e.ctx, l.A); err == nil && it.Title == "deleted" {
			if err := e.a.Delete(e.ctx, l.A); err != nil {
				t.Fatal(err)
			}
		}
	}
	var a *tsync.Engine
	e.flow.A = &listHooked{memTracker: e.a, fn: func() {
		if err := e.st.Unlock(e.ctx, "flow:f", "replica-a:1"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.Lock(e.ctx, "flow:f", "replica-b:2", time.Hour); err != nil {
			t.Fatal(err)
		}
		tsync.RenewNow(a)
	}}
	a = tsync.New(e.st, tsync.Options{Clock: e.clock.Now, Owner: "replica-a:1"})
	_, err := a.Sync(e.ctx, e.flow, tsync.RunOptions{Full: true})
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("Sync = %v, want it stopped by the lost lease", err)
	}
	for _, l := range e.links() {
		if l.Tombstone() {
			t.Errorf("link %d was unlinked (%s <-> %s) by a run that had lost its lease", l.ID, l.A, l.B)
		}
	}
}
