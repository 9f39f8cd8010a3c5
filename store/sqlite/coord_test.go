package sqlite

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

func TestRegistered(t *testing.T) {
	if !slices.Contains(store.Drivers(), DriverName) {
		t.Fatalf("store.Drivers() = %v, want %q registered", store.Drivers(), DriverName)
	}
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := store.Open(ctx, "sqlite", path, store.Options{})
	if err != nil {
		t.Fatalf("store.Open(sqlite): %v", err)
	}
	defer st.Close()
	s, ok := st.(*Store)
	if !ok || s.Path() != path {
		t.Fatalf("store.Open(sqlite) = %T, want *sqlite.Store at %s", st, path)
	}
	if d, ok := st.(store.Describer); !ok || d.Describe() != "sqlite:"+path {
		t.Errorf("Describe = %v", st)
	}
	if _, ok := st.(store.SQLDBer); !ok {
		t.Error("the sqlite store does not offer its pool (store.SQLDBer)")
	}

	_, err = store.Open(ctx, "postgress", "x", store.Options{})
	var ue *store.UnknownDriverError
	if !errors.As(err, &ue) || !errors.Is(err, store.ErrUnknownDriver) || ue.Driver != "postgress" || !slices.Contains(ue.Known, "sqlite") {
		t.Errorf("store.Open(postgress) = %v, want an UnknownDriverError listing sqlite", err)
	}
}

// TestCoordinationSurvivesReopen: what processes agree on is durable.
// Generations, above all, must not restart at 0 after a kill -9 (issue
// 10: a restarted `serve` merged every new job into a dead one).
func TestCoordinationSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.BumpGeneration(ctx, "flow:f"); err != nil {
			t.Fatal(err)
		}
	}
	lease, err := s.Lock(ctx, "flow:f", "dead:1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutKV(ctx, "asana", "handshake_secret", "s"); err != nil {
		t.Fatal(err)
	}
	if first, err := s.SeenDelivery(ctx, "github", "d1", time.Hour); err != nil || !first {
		t.Fatal(first, err)
	}
	if _, err := s.PutEvent(ctx, store.Event{Kind: "run.finished", DedupKey: "run:1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTB(t, path, Options{})
	if g, err := s.Generation(ctx, "flow:f"); err != nil || g != 3 {
		t.Errorf("Generation after reopen = %d, %v; want 3", g, err)
	}
	if g, err := s.BumpGeneration(ctx, "flow:f"); err != nil || g != 4 {
		t.Errorf("BumpGeneration after reopen = %d, %v; want 4", g, err)
	}
	if err := s.Unlock(ctx, "flow:f", "dead:1"); err != nil {
		t.Fatal(err)
	}
	if l, err := s.Lock(ctx, "flow:f", "new:2", time.Hour); err != nil || l.Token <= lease.Token {
		t.Errorf("Lock after reopen = %+v, %v; want a token above %d", l, err, lease.Token)
	}
	if v, ok, err := s.GetKV(ctx, "asana", "handshake_secret"); err != nil || !ok || v != "s" {
		t.Errorf("GetKV after reopen = %q, %v, %v", v, ok, err)
	}
	if first, err := s.SeenDelivery(ctx, "github", "d1", time.Hour); err != nil || first {
		t.Errorf("SeenDelivery of a delivery seen before the restart = %v, %v; want a repeat", first, err)
	}
	if evs, err := s.ClaimEvents(ctx, "w", 10, time.Minute); err != nil || len(evs) != 1 {
		t.Errorf("ClaimEvents after reopen = %v, %v; want the event", evs, err)
	}
}

// TestCoordinationClock: expiry of leases seen by the journal, delivery
// ids and outbox claims follows the store's clock.
func TestCoordinationClock(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)}
	s := openTB(t, "", Options{Clock: clock.Now})

	l, err := s.Lock(ctx, "flow:f", "a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	e := store.JournalEntry{Flow: "f", Op: "update", Side: store.SideB, Target: adapters.Ref{Tracker: "b", ID: "1"}, LeaseName: l.Name, LeaseToken: l.Token}
	if _, err := s.JournalIntent(ctx, e); err != nil {
		t.Fatalf("JournalIntent before expiry: %v", err)
	}
	clock.Advance(time.Minute) // exactly at expiry: gone
	if _, err := s.JournalIntent(ctx, e); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("JournalIntent at expiry = %v, want ErrLeaseLost", err)
	}

	// Delivery ids: remembered for keep, then forgotten and cleaned up.
	if first, _ := s.SeenDelivery(ctx, "github", "d1", 10*time.Minute); !first {
		t.Fatal("first sighting reported as a repeat")
	}
	clock.Advance(9 * time.Minute)
	if first, _ := s.SeenDelivery(ctx, "github", "d1", 10*time.Minute); first {
		t.Error("repeat within keep reported as first")
	}
	clock.Advance(time.Minute)
	if first, _ := s.SeenDelivery(ctx, "github", "d2", 10*time.Minute); !first {
		t.Error("new id reported as a repeat")
	}
	var rows int
	if err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM deliveries`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("deliveries table holds %d rows (%v), want 1: d1 expired and should be cleaned up", rows, err)
	}
	if first, _ := s.SeenDelivery(ctx, "github", "d1", 10*time.Minute); !first {
		t.Error("an expired id reported as a repeat")
	}

	// An outbox claim runs out: a worker that died leaves its events to
	// another after the claim's lease.
	id, err := s.PutEvent(ctx, store.Event{Kind: "run.finished"})
	if err != nil {
		t.Fatal(err)
	}
	if evs, _ := s.ClaimEvents(ctx, "w1", 10, time.Minute); len(evs) != 1 {
		t.Fatalf("claim = %v", evs)
	}
	clock.Advance(59 * time.Second)
	if evs, _ := s.ClaimEvents(ctx, "w2", 10, time.Minute); len(evs) != 0 {
		t.Errorf("claim within another's lease = %v, want none", evs)
	}
	clock.Advance(time.Second)
	evs, err := s.ClaimEvents(ctx, "w2", 10, time.Minute)
	if err != nil || len(evs) != 1 || evs[0].ID != id || evs[0].Attempts != 2 {
		t.Errorf("claim after the first claim ran out = %+v, %v; want event %d, attempt 2", evs, err, id)
	}
	// A retry's NextAttempt comes from the caller's clock.
	if err := s.RetryEvent(ctx, id, clock.Now().Add(time.Hour), "502"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(59 * time.Minute)
	if evs, _ := s.ClaimEvents(ctx, "w3", 10, time.Minute); len(evs) != 0 {
		t.Errorf("claim before the retry is due = %v", evs)
	}
	clock.Advance(time.Minute)
	if evs, _ := s.ClaimEvents(ctx, "w3", 10, time.Minute); len(evs) != 1 || evs[0].LastError != "502" {
		t.Errorf("claim when the retry is due = %+v", evs)
	}
}

// TestMigrateFrom0002 opens a store a 0002 tracksync wrote while one of
// its runs held a flow: the lease keeps its holder (token 0 counts as
// held until it runs out) and the next acquisition gets token 1.
func TestMigrateFrom0002(t *testing.T) {
	ms, err := migrations.Load()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.db")
	raw := rawDB(t, path)
	for _, q := range []string{ms[0].SQL, ms[1].SQL, `PRAGMA user_version = 2`,
		`INSERT INTO locks (name, owner, expires_at) VALUES ('flow:f', 'old:1', 1)`,
		`INSERT INTO journal (flow, op, side, state, created_at) VALUES ('f', 'create', 'b', 'pending', 1)`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("building a 0002 store: %s: %v", q, err)
		}
	}
	raw.Close()
	s := openTB(t, path, Options{})
	pend, err := s.PendingJournal(ctx, "f")
	if err != nil || len(pend) != 1 || pend[0].LeaseName != "" || pend[0].LeaseToken != 0 {
		t.Fatalf("pending after migration = %+v, %v", pend, err)
	}
	l, err := s.Lock(ctx, "flow:f", "new:2", time.Hour)
	if err != nil || l.Token != 1 {
		t.Fatalf("Lock of the expired 0002 lease = %+v, %v; want token 1", l, err)
	}
	if err := s.JournalFinish(ctx, pend[0].ID, store.JournalFailed, adapters.Ref{}, 0, "interrupted", l); err != nil {
		t.Errorf("finishing a 0002 entry under the new lease: %v", err)
	}
}
