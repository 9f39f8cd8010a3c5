package sync_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// benchEnv builds a flow of n linked pairs whose bases agree, with cursors
// at "now", then edits share of the items on each side.
func benchEnv(b *testing.B, n int, share float64) *env {
	b.Helper()
	e := newEnv(b, envOpts{pageSize: 100})
	as := make([]adapters.Item, n)
	bs := make([]adapters.Item, n)
	for i := range n {
		as[i] = adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Status: "In Progress", Labels: []string{"infra"}, Assignees: []string{"ana"}, Body: "spec"}
		bs[i] = adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Status: "active", Labels: []string{"infra"}, Assignees: []string{"gh-ana"}, Body: "spec"}
	}
	as = e.a.Seed(as...)
	bs = e.b.Seed(bs...)
	const batch = 2000
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		err := e.st.Tx(e.ctx, func(tx store.Ops) error {
			for i := lo; i < hi; i++ {
				l, err := tx.CreateLink(e.ctx, store.Link{Flow: "f", Key: fmt.Sprintf("f/a/%s", as[i].Ref.ID), A: as[i].Ref, B: bs[i].Ref})
				if err != nil {
					return err
				}
				base := store.Base{LinkID: l.ID, A: map[string]string{}, B: map[string]string{}, SyncedAt: e.clock.Now()}
				for _, r := range e.flow.Map.Rules {
					base.A[r.Field] = adapters.FieldValue(as[i], r.Field)
					base.B[r.Field] = adapters.FieldValue(bs[i], r.Field)
				}
				if err := tx.PutBase(e.ctx, base); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// Cursors at the present: list once and store what it returns.
	for _, s := range []struct {
		side store.Side
		t    adapters.Tracker
	}{{store.SideA, e.a}, {store.SideB, e.b}} {
		req := adapters.ListRequest{PageSize: 100}
		for {
			p, err := s.t.List(e.ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			if p.NextPageToken == "" {
				e.st.PutCursor(e.ctx, "f", s.side, p.Cursor)
				break
			}
			req.PageToken = p.NextPageToken
		}
	}
	e.clock.Advance(time.Minute)
	step := int(1 / share)
	for i := 0; i < n; i += step {
		e.a.Edit(as[i].Ref, func(x *adapters.Item) { x.Title += " (a)" })
		j := (i + step/2) % n
		e.b.Edit(bs[j].Ref, func(x *adapters.Item) { x.Status = "closed" })
	}
	return e
}

// peakHeapMB runs f once and returns the most heap it held above what was
// live before, sampled every millisecond: the plan's own memory, apart
// from the fixture's.
func peakHeapMB(f func()) float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
					peak.Store(m.HeapAlloc - base)
				}
			}
		}
	}()
	f()
	close(done)
	return float64(peak.Load()) / (1 << 20)
}

func maxRSSMB() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024
}

// BenchmarkPlan100k: plan of a flow of 100,000 linked items with 1% changed
// on each side, incrementally (what every scheduled run does) and as a full
// reconcile (every pair compared).
func BenchmarkPlan100k(b *testing.B) {
	e := benchEnv(b, 100_000, 0.01)
	for _, full := range []bool{false, true} {
		name := "incremental"
		if full {
			name = "full"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var ops int
			for b.Loop() {
				p, err := e.eng.Plan(e.ctx, e.flow, tsync.RunOptions{Full: full})
				if err != nil {
					b.Fatal(err)
				}
				ops = len(p.Ops)
			}
			if ops < 2000 {
				b.Fatalf("plan has %d ops, want >= 2000", ops)
			}
			b.ReportMetric(float64(ops), "ops/plan")
			b.ReportMetric(maxRSSMB(), "maxRSS-MB")
			b.ReportMetric(peakHeapMB(func() { e.eng.Plan(e.ctx, e.flow, tsync.RunOptions{Full: full}) }), "peak-heap-MB")
		})
	}
}
