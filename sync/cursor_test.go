package sync_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// expiring answers a listing since a cursor with ErrCursorExpired while
// expired is set, as Asana does for a sync token older than a day.
type expiring struct {
	adapters.Tracker
	expired bool
	full    int // full listings (cursor "") started
}

func (x *expiring) List(ctx context.Context, req adapters.ListRequest) (adapters.ListPage, error) {
	if req.Cursor != "" && x.expired {
		return adapters.ListPage{}, fmt.Errorf("sync token too old: %w", adapters.ErrCursorExpired)
	}
	if req.Cursor == "" && req.PageToken == "" {
		x.full++
	}
	return x.Tracker.List(ctx, req)
}

func TestExpiredCursorRelistsThatSideOnce(t *testing.T) {
	e := newEnv(t, envOpts{})
	seedBoth(e)
	b := &expiring{Tracker: e.b}
	e.flow.B = b
	e.sync(tsync.RunOptions{})
	ls := e.links()
	e.clock.Advance(time.Minute)
	e.a.Edit(ls[0].A, func(x *adapters.Item) { x.Title = "edited on A" })
	e.b.Edit(ls[1].B, func(x *adapters.Item) { x.Title = "edited on B" })
	e.clock.Advance(time.Minute)

	b.expired, b.full = true, 0
	res := e.sync(tsync.RunOptions{})
	if !slices.Equal(res.Plan.Relisted, []store.Side{store.SideB}) || b.full != 1 {
		t.Errorf("Relisted = %v after %d full listings of B, want [b] after one", res.Plan.Relisted, b.full)
	}
	if !slices.ContainsFunc(res.Plan.Warnings, func(w string) bool { return strings.Contains(w, "expired") }) {
		t.Errorf("the plan does not say the cursor expired: %q", res.Plan.Warnings)
	}
	if got, _ := e.b.Get(e.ctx, ls[0].B); got.Title != "edited on A" {
		t.Errorf("A's edit did not reach B: %q", got.Title)
	}
	if got, _ := e.a.Get(e.ctx, ls[1].A); got.Title != "edited on B" {
		t.Errorf("B's edit, made while its cursor expired, did not reach A: %q", got.Title)
	}

	// The fresh cursor was stored: the next run is incremental again.
	b.expired, b.full = false, 0
	e.clock.Advance(time.Minute)
	res = e.sync(tsync.RunOptions{})
	if len(res.Plan.Relisted) != 0 || b.full != 0 || res.Plan.Writes() != 0 {
		t.Errorf("next run: relisted %v, %d full listings, %d writes; want an idle incremental run", res.Plan.Relisted, b.full, res.Plan.Writes())
	}
}
