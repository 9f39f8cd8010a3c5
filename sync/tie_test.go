package sync_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// coarse is a memory tracker that reports its timestamps in whole
// seconds, as GitHub does.
type coarse struct{ *memory.Tracker }

func (c coarse) Capabilities() adapters.Capabilities {
	caps := c.Tracker.Capabilities()
	caps.TimePrecision = time.Second
	return caps
}

func (c coarse) Get(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	it, err := c.Tracker.Get(ctx, ref)
	it.UpdatedAt = it.UpdatedAt.Truncate(time.Second)
	return it, err
}

func (c coarse) List(ctx context.Context, req adapters.ListRequest) (adapters.ListPage, error) {
	p, err := c.Tracker.List(ctx, req)
	for i := range p.Items {
		p.Items[i].UpdatedAt = p.Items[i].UpdatedAt.Truncate(time.Second)
	}
	return p, err
}

// TestNewestTieWithinCoarsePrecision: B (whole seconds) edits 500 ms after
// A inside the same second. Its timestamp reads earlier than A's, so a
// plain comparison let A win and lost B's later edit. Now the edits that
// cannot be ordered are held as a conflict; edits a second or more apart
// are still settled by time, either way round.
func TestNewestTieWithinCoarsePrecision(t *testing.T) {
	for _, tc := range []struct {
		name         string
		aAfter, bGap time.Duration // A edits aAfter into a second, B bGap later
		wantTitle    string        // "" : held
	}{
		{"same second", 400 * time.Millisecond, 500 * time.Millisecond, ""},
		{"b a second later", 400 * time.Millisecond, 1200 * time.Millisecond, "b title"},
		{"a a second later", 400 * time.Millisecond, -1400 * time.Millisecond, "a title"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{policy: "newest"})
			e.flow.B = coarse{e.b}
			seedBoth(e)
			e.sync(tsync.RunOptions{})
			l := e.links()[0]
			// Start on a whole second, so the offsets say which second.
			now := e.clock.Now()
			e.clock.Advance(now.Truncate(time.Second).Add(time.Minute).Sub(now))
			editA := func() { e.a.Edit(l.A, func(x *adapters.Item) { x.Title = "a title" }) }
			editB := func() { e.b.Edit(l.B, func(x *adapters.Item) { x.Title = "b title" }) }
			if tc.bGap >= 0 {
				e.clock.Advance(tc.aAfter)
				editA()
				e.clock.Advance(tc.bGap)
				editB()
			} else {
				e.clock.Advance(tc.aAfter)
				editB()
				e.clock.Advance(-tc.bGap)
				editA()
			}
			res := e.sync(tsync.RunOptions{})
			a, _ := e.a.Get(e.ctx, l.A)
			b, _ := e.b.Get(e.ctx, l.B)
			cs, _ := e.st.ListConflicts(e.ctx, "f", store.ConflictOpen)
			if tc.wantTitle == "" {
				if a.Title != "a title" || b.Title != "b title" {
					t.Fatalf("a tie wrote a side: a=%q b=%q", a.Title, b.Title)
				}
				if len(cs) != 1 || cs[0].Field != "title" || res.Run.State != store.RunConflicts {
					t.Fatalf("tie not held: conflicts %+v, run %q", cs, res.Run.State)
				}
				return
			}
			if a.Title != tc.wantTitle || b.Title != tc.wantTitle || len(cs) != 0 {
				t.Fatalf("titles a=%q b=%q (want %q), conflicts %+v", a.Title, b.Title, tc.wantTitle, cs)
			}
		})
	}
}

// TestEveryFailedWriteShown: a run with several refused writes reports
// each one, in the run's stored error too, not just the first.
func TestEveryFailedWriteShown(t *testing.T) {
	e, ls := linked(t, envOpts{})
	e.clock.Advance(time.Minute)
	for i, l := range ls {
		e.a.Edit(l.A, func(x *adapters.Item) { x.Title = fmt.Sprintf("refused %d", i) })
	}
	e.b.SetHook(func(op string, ref adapters.Ref, ph memory.Phase) error {
		if op == "update" && ph == memory.Before {
			return adapters.Permanent(fmt.Errorf("400: no edits to %s", ref.ID))
		}
		return nil
	})
	_, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{})
	var we *tsync.WriteErrors
	if !errors.As(err, &we) || len(we.Errs) != len(ls) {
		t.Fatalf("err = %v, want one failed write per link (%d)", err, len(ls))
	}
	if !adapters.IsPermanent(err) {
		t.Fatalf("the failed writes are not reachable through errors.Is/As: %v", err)
	}
	runs, _ := e.st.ListRuns(e.ctx, "f", 1)
	for _, l := range ls {
		if !strings.Contains(err.Error(), "no edits to "+l.B.ID) || !strings.Contains(runs[0].Error, "no edits to "+l.B.ID) {
			t.Fatalf("write to %s not reported:\nerr: %v\nstored: %s", l.B.ID, err, runs[0].Error)
		}
	}
}

// TestOnDeleteIgnoreReported: under on_delete: ignore the link stays, but
// the deletion is reported by the plan (and logged by the run) instead of
// passing in silence, as config.example.yaml promises.
func TestOnDeleteIgnoreReported(t *testing.T) {
	e, ls := linked(t, envOpts{onDelete: "ignore"})
	e.a.Delete(e.ctx, ls[0].A)
	res := e.sync(tsync.RunOptions{Full: true})
	found := false
	for _, w := range res.Plan.Warnings {
		found = found || strings.Contains(w, ls[0].A.String()) && strings.Contains(w, "on_delete: ignore keeps link")
	}
	if !found {
		t.Fatalf("deletion of %s not reported; warnings: %q", ls[0].A, res.Plan.Warnings)
	}
	if len(e.links()) != len(ls) {
		t.Fatalf("ignore changed the links: %d, want %d", len(e.links()), len(ls))
	}
}
