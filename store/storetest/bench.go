package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tracksync/tracksync/store"
)

// The benchmarks model one sync run of a large flow: the engine reads the
// bases of all 100,000 links, then writes back the ones it changed in
// transactions of 1,000. Each exported function seeds its store once and
// resets the timer, so ns/op is the cost of one operation (one base for
// PutBase and GetBase, one full listing for ListBases).

// BenchFlow is the flow the benchmarks seed.
const BenchFlow = "bench"

// BenchLinks is how many linked pairs the benchmarks seed.
const BenchLinks = 100_000

// benchBase is a base shaped like a real one: eight canonical fields a
// side, of typical lengths.
func benchBase(linkID int64, rev int) store.Base {
	return store.Base{
		LinkID: linkID,
		A: map[string]string{
			"title":           fmt.Sprintf("Migrate billing service %d to the new ledger API", linkID),
			"status":          "In Progress",
			"status_category": "in_progress",
			"assignee":        "ana.lima@example.com",
			"labels":          "backend,billing,q3",
			"priority":        "High",
			"due":             "2025-09-30",
			"parent":          fmt.Sprintf("ENG-%d", linkID/50),
		},
		B: map[string]string{
			"title":           fmt.Sprintf("Migrate billing service %d to the new ledger API", linkID),
			"status":          "open",
			"status_category": "in_progress",
			"assignees":       "analima",
			"labels":          "backend,billing,q3",
			"priority":        "p1",
			"milestone":       "2025-Q3",
			"parent":          fmt.Sprintf("#%d", linkID/50),
		},
		AVersion: fmt.Sprintf("%d", 1000+rev),
		BVersion: fmt.Sprintf(`W/"%08x"`, linkID*31+int64(rev)),
		SyncedAt: time.Date(2025, 6, 1, 12, 0, 0, rev, time.UTC),
	}
}

// Seed fills s with n links of flow, each with a base, in transactions of
// 10,000, and returns the link IDs.
func Seed(tb testing.TB, s store.Store, flow string, n int) []int64 {
	tb.Helper()
	ids := make([]int64, 0, n)
	const batch = 10_000
	for start := 0; start < n; start += batch {
		err := s.Tx(ctx, func(tx store.Ops) error {
			for i := start; i < min(start+batch, n); i++ {
				l, err := tx.CreateLink(ctx, link(flow, i))
				if err != nil {
					return err
				}
				if err := tx.PutBase(ctx, benchBase(l.ID, 0)); err != nil {
					return err
				}
				ids = append(ids, l.ID)
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("seeding %d links of flow %s: %v", n, flow, err)
		}
	}
	return ids
}

// BenchPutBase measures PutBase replacing existing bases, inside
// transactions of 1,000 as the engine applies a plan ("tx1000") and one
// transaction per call ("single").
func BenchPutBase(b *testing.B, open func(tb testing.TB) store.Store) {
	s := open(b)
	ids := Seed(b, s, BenchFlow, BenchLinks)
	b.Run("tx1000", func(b *testing.B) {
		b.ReportAllocs()
		bases := make([]store.Base, 1000)
		b.ResetTimer()
		for done := 0; done < b.N; {
			n := min(1000, b.N-done)
			// Building the bases is the engine's cost, not the store's.
			b.StopTimer()
			for j := range n {
				bases[j] = benchBase(ids[(done+j)%len(ids)], done+j)
			}
			b.StartTimer()
			err := s.Tx(ctx, func(tx store.Ops) error {
				for _, base := range bases[:n] {
					if err := tx.PutBase(ctx, base); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatalf("PutBase: %v", err)
			}
			done += n
		}
	})
	b.Run("single", func(b *testing.B) {
		b.ReportAllocs()
		base := benchBase(ids[0], 0)
		b.ResetTimer()
		for i := range b.N {
			base.LinkID, base.SyncedAt = ids[i%len(ids)], base.SyncedAt.Add(time.Nanosecond)
			if err := s.PutBase(ctx, base); err != nil {
				b.Fatalf("PutBase: %v", err)
			}
		}
	})
}

// BenchListBases measures ListBases of a flow of 100,000 linked bases,
// next to another flow so the query must filter; it also reports the cost
// per base.
func BenchListBases(b *testing.B, open func(tb testing.TB) store.Store) {
	s := open(b)
	Seed(b, s, BenchFlow, BenchLinks)
	Seed(b, s, BenchFlow+"-other", 1000)
	b.ReportAllocs()
	n := 0
	// b.Loop runs this function once, so the seeding above is not redone
	// for every b.N the framework tries, and it times only the loop.
	for b.Loop() {
		n++
		bases, err := s.ListBases(ctx, BenchFlow)
		if err != nil {
			b.Fatalf("ListBases: %v", err)
		}
		if len(bases) != BenchLinks {
			b.Fatalf("ListBases returned %d bases, want %d", len(bases), BenchLinks)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*BenchLinks), "ns/base")
}

// BenchGetBase measures GetBase among 100,000 bases.
func BenchGetBase(b *testing.B, open func(tb testing.TB) store.Store) {
	s := open(b)
	ids := Seed(b, s, BenchFlow, BenchLinks)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// A stride so consecutive reads do not hit the same page.
		if _, err := s.GetBase(ctx, ids[(i*7919)%len(ids)]); err != nil {
			b.Fatalf("GetBase: %v", err)
		}
	}
}

// BenchJournalWrite measures the journal's share of one tracker write: an
// intent and its completion, each its own commit, as apply makes them.
// "fenced" carries a held lease, so each statement also checks it; the
// difference is what fencing costs a write.
func BenchJournalWrite(b *testing.B, open func(tb testing.TB) store.Store) {
	for _, fenced := range []bool{false, true} {
		name := "unfenced"
		if fenced {
			name = "fenced"
		}
		b.Run(name, func(b *testing.B) {
			s := open(b)
			var lease store.Lease
			if fenced {
				var err error
				if lease, err = s.Lock(ctx, "flow:"+BenchFlow, "bench:1", time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			e := journalEntry(1, BenchFlow, 1)
			e.LeaseName, e.LeaseToken = lease.Name, lease.Token
			res := e.Target
			b.ResetTimer()
			for b.Loop() {
				id, err := s.JournalIntent(ctx, e)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.JournalFinish(ctx, id, store.JournalDone, res, 0, "", lease); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchCoordination measures one call of each coordination method a
// replica makes per webhook or per tracker request: SeenDelivery of a new
// id, TakeTokens from a shared bucket, BumpGeneration.
func BenchCoordination(b *testing.B, open func(tb testing.TB) store.Store) {
	b.Run("SeenDelivery", func(b *testing.B) {
		s := open(b)
		i := 0
		for b.Loop() {
			i++
			if _, err := s.SeenDelivery(ctx, "github", fmt.Sprint(i), time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("TakeTokens", func(b *testing.B) {
		s := open(b)
		now := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
		for b.Loop() {
			now = now.Add(time.Second)
			if _, err := s.TakeTokens(ctx, "github:app", 1, 1.33, 80, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("BumpGeneration", func(b *testing.B) {
		s := open(b)
		for b.Loop() {
			if _, err := s.BumpGeneration(ctx, "flow:"+BenchFlow); err != nil {
				b.Fatal(err)
			}
		}
	})
}
