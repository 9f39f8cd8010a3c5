package migrate_test

import (
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/migrate"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// liveFlow is a two-way flow between the migration's trackers; srcSide
// says which side the source is on.
func liveFlow(t *testing.T, w *world, srcSide store.Side) *tsync.Flow {
	t.Helper()
	fc := config.Flow{Name: "live", Direction: "both", Conflict: "manual", A: config.FlowSide{Tracker: "src"}, B: config.FlowSide{Tracker: "dst"}, Fields: map[string]config.FieldConfig{}}
	for _, f := range append(adapters.StandardFields, "comments") {
		fc.Fields[f] = config.FieldConfig{}
		fc.Order = append(fc.Order, f)
	}
	a, b := adapters.Tracker(w.src), adapters.Tracker(w.dst)
	ia, ib := w.opts.From.Identity, w.opts.To.Identity
	if srcSide == store.SideB {
		fc.A.Tracker, fc.B.Tracker = "dst", "src"
		a, b, ia, ib = b, a, ib, ia
	}
	m := compile(t, fc, a, b, "memory", "memory")
	return &tsync.Flow{Map: m, A: a, B: b, Identity: [2]string{ia, ib}}
}

// TestHandOverFirstRunWritesNothing: a migration handing its pairs over to
// a flow (with a note on each source) leaves the flow nothing to do, with
// the source on either side of it.
func TestHandOverFirstRunWritesNothing(t *testing.T) {
	for _, side := range []store.Side{store.SideA, store.SideB} {
		t.Run(string(side), func(t *testing.T) {
			w := newWorld(t, 3, 4)
			f := liveFlow(t, w, side)
			w.opts.Link = &migrate.HandOver{Map: f.Map, SourceSide: side}
			w.opts.CommentOnSource = true
			rep, err := migrate.Run(t.Context(), w.st, w.opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Counts.Linked != 15 || rep.Counts.SourceComments != 15 {
				t.Fatalf("counts %+v", rep.Counts)
			}
			w.check(t)
			srcW, dstW := w.src.Counts().Writes(), w.dst.Counts().Writes()
			eng := tsync.New(w.st, tsync.Options{})
			for _, full := range []bool{false, true} {
				res, err := eng.Sync(t.Context(), f, tsync.RunOptions{Full: full})
				if err != nil {
					t.Fatalf("sync (full %v): %v", full, err)
				}
				if c := res.Run.Counts; c.Created+c.Updated+c.Comments+c.Conflicts+c.Archived != 0 {
					t.Fatalf("first run (full %v) after the hand-over did something: %+v\n%v", full, c, res.Plan)
				}
			}
			if w.src.Counts().Writes() != srcW || w.dst.Counts().Writes() != dstW {
				t.Fatalf("the flow wrote: source %d → %d, target %d → %d", srcW, w.src.Counts().Writes(), dstW, w.dst.Counts().Writes())
			}
		})
	}
}

// TestFlowFindsMigratedCopies: without a hand-over, a flow over migrated
// items finds the copies by their keys and creates nothing.
func TestFlowFindsMigratedCopies(t *testing.T) {
	w := newWorld(t, 2, 3)
	if _, err := migrate.Run(t.Context(), w.st, w.opts); err != nil {
		t.Fatal(err)
	}
	f := liveFlow(t, w, store.SideA)
	res, err := tsync.New(w.st, tsync.Options{}).Sync(t.Context(), f, tsync.RunOptions{Force: true})
	if err != nil && res == nil {
		t.Fatal(err)
	}
	if res.Run.Counts.Created != 0 || len(w.dst.Items()) != 8 || len(w.src.Items()) != 8 {
		t.Fatalf("the flow copied migrated items again: %+v, %d and %d items", res.Run.Counts, len(w.src.Items()), len(w.dst.Items()))
	}
	if n, _ := w.st.CountLinks(t.Context(), "live"); n != 8 {
		t.Fatalf("%d pairs linked by the flow, want 8", n)
	}
}

// TestHandOverLater: a migration done without --link hands its pairs over
// when run again with it (both items read again), and the flow's first
// run writes nothing.
func TestHandOverLater(t *testing.T) {
	w := newWorld(t, 2, 3)
	if _, err := migrate.Run(t.Context(), w.st, w.opts); err != nil {
		t.Fatal(err)
	}
	f := liveFlow(t, w, store.SideA)
	w.opts.Link = &migrate.HandOver{Map: f.Map, SourceSide: store.SideA}
	rep, err := migrate.Run(t.Context(), w.st, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Linked != 8 || rep.Counts.Writes != 0 {
		t.Fatalf("hand-over run: %+v", rep.Counts)
	}
	srcW, dstW := w.src.Counts().Writes(), w.dst.Counts().Writes()
	res, err := tsync.New(w.st, tsync.Options{}).Sync(t.Context(), f, tsync.RunOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Run.Counts; c.Created+c.Updated+c.Comments+c.Conflicts != 0 || w.src.Counts().Writes() != srcW || w.dst.Counts().Writes() != dstW {
		t.Fatalf("the flow's first run wrote: %+v", c)
	}
	// A third run: handed over already, nothing to do.
	if rep, err = migrate.Run(t.Context(), w.st, w.opts); err != nil || rep.Counts.Linked != 0 {
		t.Fatalf("again: %v %+v", err, rep.Counts)
	}
}
