package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// Coordination (store.Coordinator), the outbox and the key-value space.
// Beyond store.go's comments the suite pins down:
//
//   - JournalIntent and JournalFinish fenced by a lease refuse, with
//     ErrLeaseLost and nothing written, once the lease was taken over,
//     released or has expired; JournalFinish is fenced by the caller's
//     lease, so a new holder finishes its predecessor's entries.
//   - Lease tokens are unique per name across every acquisition, even
//     under concurrent takeovers; exactly one of racing lockers wins.
//   - Concurrent BumpGeneration calls each get a distinct value.
//   - Exactly one of racing SeenDelivery calls for one id gets true; a
//     negative keep leaves the id forgotten at once.
//   - TakeTokens reserves: concurrent takers of one bucket, all at one
//     instant, get the waits 0 (burst times), 1/rate, 2/rate, ... each
//     exactly once.
//   - An outbox event is claimed by one worker at a time; PutEvent in a
//     rolled-back Tx leaves nothing to claim; a delivered event's key
//     still de-duplicates.

// Key-value space.

func testKV(t *testing.T, o store.Ops) {
	get := func(scope, key string) (string, bool) {
		t.Helper()
		v, ok, err := o.GetKV(ctx, scope, key)
		if err != nil {
			t.Fatalf("GetKV(%s, %s): %v", scope, key, err)
		}
		return v, ok
	}
	put := func(scope, key, value string) {
		t.Helper()
		if err := o.PutKV(ctx, scope, key, value); err != nil {
			t.Fatalf("PutKV(%s, %s): %v", scope, key, err)
		}
	}
	if v, ok := get("asana", "handshake_secret"); ok || v != "" {
		t.Errorf("GetKV of a missing key = %q, %v; want \"\", false", v, ok)
	}
	put("asana", "handshake_secret", "s3cr€t")
	put("github", "handshake_secret", "other scope")
	put("asana", "empty", "")
	put("asana", "handshake_secret", "rotated") // replaces
	want := map[string]string{"asana/handshake_secret": "rotated", "github/handshake_secret": "other scope", "asana/empty": ""}
	for sk, w := range want {
		scope, key, _ := cutSlash(sk)
		if v, ok := get(scope, key); !ok || v != w {
			t.Errorf("GetKV(%s, %s) = %q, %v; want %q, true", scope, key, v, ok, w)
		}
	}
	if err := o.DeleteKV(ctx, "asana", "handshake_secret"); err != nil {
		t.Fatalf("DeleteKV: %v", err)
	}
	if _, ok := get("asana", "handshake_secret"); ok {
		t.Error("key still there after DeleteKV")
	}
	if v, ok := get("github", "handshake_secret"); !ok || v != "other scope" {
		t.Errorf("DeleteKV reached another scope: %q, %v", v, ok)
	}
	if err := o.DeleteKV(ctx, "asana", "never"); err != nil {
		t.Errorf("DeleteKV of a missing key: %v, want no-op", err)
	}
	wantErr(t, "PutKV with an empty scope", o.PutKV(ctx, "", "k", "v"), adapters.ErrInvalid)
	wantErr(t, "PutKV with an empty key", o.PutKV(ctx, "s", "", "v"), adapters.ErrInvalid)
	// The refusals leave a Tx usable.
	put("asana", "after", "ok")
}

func cutSlash(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// Outbox: adding.

func testEventDedup(t *testing.T, o store.Ops) {
	id1, err := o.PutEvent(ctx, store.Event{Kind: "run.finished", DedupKey: "run:1", Payload: []byte(`{"run":1}`)})
	if err != nil || id1 <= 0 {
		t.Fatalf("PutEvent = %d, %v", id1, err)
	}
	again, err := o.PutEvent(ctx, store.Event{Kind: "run.finished", DedupKey: "run:1", Payload: []byte(`{"run":1,"again":true}`)})
	if err != nil || again != id1 {
		t.Errorf("PutEvent with a key the outbox holds = %d, %v; want %d, nil", again, err, id1)
	}
	a, errA := o.PutEvent(ctx, store.Event{Kind: "conflict.held"})
	b, errB := o.PutEvent(ctx, store.Event{Kind: "conflict.held"})
	if errA != nil || errB != nil || a == b || a == id1 || b == id1 {
		t.Errorf("two keyless events = %d (%v), %d (%v); want two new IDs", a, errA, b, errB)
	}
	_, err = o.PutEvent(ctx, store.Event{DedupKey: "no-kind"})
	wantErr(t, "PutEvent without a kind", err, adapters.ErrInvalid)
	if _, err := o.PutEvent(ctx, store.Event{Kind: "run.finished", DedupKey: "run:2"}); err != nil {
		t.Errorf("PutEvent after a refusal: %v", err)
	}
}

// Leases and fencing.

// testExpiredLeases: a lease taken and never released, once expired, is
// listed (with its owner and token) under its prefix; a held one, a
// released one and one of another prefix are not.
func testExpiredLeases(t *testing.T, s store.Store) {
	dead, err := s.Lock(ctx, "flow:dead", "a:1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expire(t, s, "flow:dead", "a:1")
	for _, l := range []struct{ name, owner string }{{"flow:alive", "b:2"}, {"flow:done", "c:3"}, {"other:dead", "d:4"}} {
		if _, err := s.Lock(ctx, l.name, l.owner, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Unlock(ctx, "flow:done", "c:3"); err != nil {
		t.Fatal(err)
	}
	expire(t, s, "other:dead", "d:4")
	got, err := s.ExpiredLeases(ctx, "flow:")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "flow:dead" || got[0].Owner != "a:1" || got[0].Token != dead.Token || got[0].Expires.After(time.Now().Add(time.Minute)) {
		t.Errorf("ExpiredLeases(flow:) = %+v, want flow:dead of a:1, token %d", got, dead.Token)
	}
	// Taken over, it is held again: no longer listed.
	if _, err := s.Lock(ctx, "flow:dead", "e:5", time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ExpiredLeases(ctx, "flow:"); err != nil || len(got) != 0 {
		t.Errorf("after the takeover ExpiredLeases = %+v, %v; want none", got, err)
	}
}

// expire makes owner's unexpired lease name run out now, keeping its
// token (a renewal), so the test needs no clock.
func expire(t *testing.T, s store.Store, name, owner string) {
	t.Helper()
	if _, err := s.Lock(ctx, name, owner, -time.Minute); err != nil {
		t.Fatalf("expiring lease %s of %s: %v", name, owner, err)
	}
}

func fenced(l store.Lease, n int) store.JournalEntry {
	e := journalEntry(1, "f1", n)
	e.LeaseName, e.LeaseToken = l.Name, l.Token
	return e
}

func testLeaseFencesJournal(t *testing.T, s store.Store) {
	const name = "flow:f1"
	a, err := s.Lock(ctx, name, "a:1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.JournalIntent(ctx, fenced(a, 1))
	if err != nil {
		t.Fatalf("JournalIntent under a held lease: %v", err)
	}
	pending, err := s.PendingJournal(ctx, "f1")
	if err != nil || len(pending) != 1 {
		t.Fatalf("PendingJournal = %v, %v", pending, err)
	}
	for key, want := range map[string]bool{"ts-1": true, "ts-2": false, "": false} {
		if got, err := s.JournalHasKey(ctx, key); err != nil || got != want {
			t.Errorf("JournalHasKey(%q) = %v, %v; want %v", key, got, err, want)
		}
	}
	if pending[0].LeaseName != name || pending[0].LeaseToken != a.Token {
		t.Errorf("entry lease = %q/%d, want %q/%d", pending[0].LeaseName, pending[0].LeaseToken, name, a.Token)
	}
	if err := s.JournalFinish(ctx, id, store.JournalPending, adapters.Ref{}, 0, "ambiguous", a); err != nil {
		t.Fatalf("JournalFinish under a held lease: %v", err)
	}

	// a pauses past its lease; b takes the flow over.
	expire(t, s, name, "a:1")
	b, err := s.Lock(ctx, name, "b:2", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.JournalIntent(ctx, fenced(a, 2))
	wantErr(t, "JournalIntent with a lease taken over", err, store.ErrLeaseLost)
	err = s.JournalFinish(ctx, id, store.JournalDone, adapters.Ref{Tracker: "b", ID: "late"}, 0, "", a)
	wantErr(t, "JournalFinish with a lease taken over", err, store.ErrLeaseLost)
	if pending, _ := s.PendingJournal(ctx, "f1"); len(pending) != 1 || pending[0].ID != id || pending[0].Result.ID != "" {
		t.Errorf("after the fenced writes, pending = %+v; want entry %d alone, untouched", pending, id)
	}
	// The new holder finishes what its predecessor left pending.
	if err := s.JournalFinish(ctx, id, store.JournalDone, adapters.Ref{Tracker: "b", ID: "7"}, 0, "", b); err != nil {
		t.Errorf("JournalFinish by the new holder: %v", err)
	}
	if _, err := s.JournalIntent(ctx, fenced(b, 3)); err != nil {
		t.Errorf("JournalIntent by the new holder: %v", err)
	}
	wantErr(t, "JournalFinish of a missing entry under a held lease",
		s.JournalFinish(ctx, 1<<40, store.JournalDone, adapters.Ref{}, 0, "", b), store.ErrNotFound)

	// Expired with nobody taking over is lost too: the store cannot tell
	// a paused holder from a dead one.
	expire(t, s, name, "b:2")
	_, err = s.JournalIntent(ctx, fenced(b, 4))
	wantErr(t, "JournalIntent with an expired lease", err, store.ErrLeaseLost)

	// Released.
	c, err := s.Lock(ctx, "flow:f2", "c:3", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unlock(ctx, "flow:f2", "c:3"); err != nil {
		t.Fatal(err)
	}
	_, err = s.JournalIntent(ctx, fenced(c, 5))
	wantErr(t, "JournalIntent with a released lease", err, store.ErrLeaseLost)
	// Never taken.
	_, err = s.JournalIntent(ctx, fenced(store.Lease{Name: "flow:never", Token: 1}, 6))
	wantErr(t, "JournalIntent with a lease never taken", err, store.ErrLeaseLost)
	// Unfenced writes are not checked.
	if _, err := s.JournalIntent(ctx, journalEntry(1, "f1", 7)); err != nil {
		t.Errorf("unfenced JournalIntent: %v", err)
	}
	got, err := s.RunJournal(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("journal holds %d entries, want 3 (the fenced-off intents wrote nothing)", len(got))
	}
}

func testLeaseFenceRollsBackTx(t *testing.T, s store.Store) {
	a, err := s.Lock(ctx, "flow:f1", "a:1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.JournalIntent(ctx, fenced(a, 1))
	if err != nil {
		t.Fatal(err)
	}
	expire(t, s, "flow:f1", "a:1")
	if _, err := s.Lock(ctx, "flow:f1", "b:2", time.Hour); err != nil {
		t.Fatal(err)
	}
	// The engine records a created copy's link and base with the
	// journal's completion: fenced off, none of it may land.
	err = s.Tx(ctx, func(tx store.Ops) error {
		l, err := tx.CreateLink(ctx, link("f1", 1))
		if err != nil {
			return err
		}
		if err := tx.PutBase(ctx, base(l.ID, "Open")); err != nil {
			return err
		}
		return tx.JournalFinish(ctx, id, store.JournalDone, l.B, l.ID, "", a)
	})
	wantErr(t, "Tx ending in a fenced JournalFinish", err, store.ErrLeaseLost)
	if n, err := s.CountLinks(ctx, "f1"); err != nil || n != 0 {
		t.Errorf("CountLinks after the fenced Tx = %d, %v; want 0", n, err)
	}
}

func testLockRace(t *testing.T, s store.Store) {
	for round := range 5 {
		name := fmt.Sprintf("flow:race%d", round)
		var mu sync.Mutex
		var won []store.Lease
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				l, err := s.Lock(ctx, name, fmt.Sprintf("replica-%d", w), time.Hour)
				if err != nil {
					if !errors.Is(err, store.ErrLocked) {
						t.Errorf("round %d worker %d: %v", round, w, err)
					}
					return
				}
				mu.Lock()
				won = append(won, l)
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(won) != 1 {
			t.Errorf("round %d: %d of %d racing lockers won (%+v), want exactly 1", round, len(won), workers, won)
		}
	}
}

func testLockTokensUnique(t *testing.T, s store.Store) {
	// Every Lock takes an expired lease over: every call is a new
	// acquisition and must get a token no other call got.
	var mu sync.Mutex
	seen := map[int64]string{}
	parallel(t, func(w int) error {
		for i := range perWorker {
			owner := fmt.Sprintf("replica-%d/%d", w, i)
			l, err := s.Lock(ctx, "flow:f1", owner, -time.Minute)
			if err != nil {
				return err
			}
			mu.Lock()
			prev, dup := seen[l.Token]
			seen[l.Token] = owner
			mu.Unlock()
			if dup {
				return fmt.Errorf("token %d given to %s and %s", l.Token, prev, owner)
			}
		}
		return nil
	})
	last, err := s.Lock(ctx, "flow:f1", "last", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for tok := range seen {
		if tok >= last.Token {
			t.Errorf("token %d was given before token %d: tokens must grow", tok, last.Token)
		}
	}
}

// Generations.

func testGenerations(t *testing.T, s store.Store) {
	gen := func(name string) int64 {
		t.Helper()
		g, err := s.Generation(ctx, name)
		if err != nil {
			t.Fatalf("Generation(%s): %v", name, err)
		}
		return g
	}
	bump := func(name string) int64 {
		t.Helper()
		g, err := s.BumpGeneration(ctx, name)
		if err != nil {
			t.Fatalf("BumpGeneration(%s): %v", name, err)
		}
		return g
	}
	if g := gen("flow:f1"); g != 0 {
		t.Errorf("Generation of a name never bumped = %d, want 0", g)
	}
	if g := bump("flow:f1"); g != 1 {
		t.Errorf("first bump = %d, want 1", g)
	}
	if g := bump("flow:f1"); g != 2 {
		t.Errorf("second bump = %d, want 2", g)
	}
	if g := bump("flow:f2"); g != 1 {
		t.Errorf("first bump of another name = %d, want 1", g)
	}
	if g := gen("flow:f1"); g != 2 {
		t.Errorf("Generation after two bumps = %d, want 2", g)
	}
	_, err := s.BumpGeneration(ctx, "")
	wantErr(t, "BumpGeneration of an empty name", err, adapters.ErrInvalid)
}

func testConcurrentGenerations(t *testing.T, s store.Store) {
	var mu sync.Mutex
	seen := map[int64]bool{}
	parallel(t, func(w int) error {
		for range perWorker {
			g, err := s.BumpGeneration(ctx, "flow:f1")
			if err != nil {
				return err
			}
			mu.Lock()
			dup := seen[g]
			seen[g] = true
			mu.Unlock()
			if dup {
				return fmt.Errorf("generation %d returned twice", g)
			}
		}
		return nil
	})
	if g, err := s.Generation(ctx, "flow:f1"); err != nil || g != workers*perWorker {
		t.Errorf("Generation after %d concurrent bumps = %d, %v", workers*perWorker, g, err)
	}
}

// Webhook deliveries.

func testSeenDelivery(t *testing.T, s store.Store) {
	seen := func(tracker, id string, keep time.Duration) bool {
		t.Helper()
		first, err := s.SeenDelivery(ctx, tracker, id, keep)
		if err != nil {
			t.Fatalf("SeenDelivery(%s, %s): %v", tracker, id, err)
		}
		return first
	}
	if !seen("github", "d-1", time.Hour) {
		t.Error("first sighting reported as a repeat")
	}
	if seen("github", "d-1", time.Hour) {
		t.Error("repeat reported as a first sighting")
	}
	if !seen("jira", "d-1", time.Hour) {
		t.Error("the same id from another tracker reported as a repeat")
	}
	// A negative keep is a delivery whose memory has run out: the next
	// sighting is a first again (a tracker re-sending after days).
	if !seen("github", "d-2", -time.Minute) {
		t.Error("first sighting (negative keep) reported as a repeat")
	}
	if !seen("github", "d-2", time.Hour) {
		t.Error("sighting after the id expired reported as a repeat")
	}
	if seen("github", "d-2", time.Hour) {
		t.Error("repeat of a re-remembered id reported as a first sighting")
	}
	if seen("github", "d-1", time.Hour) {
		t.Error("an unexpired id was forgotten by the clean-up of expired ones")
	}
	_, err := s.SeenDelivery(ctx, "github", "", time.Hour)
	wantErr(t, "SeenDelivery with an empty id", err, adapters.ErrInvalid)
	// A forgotten id is a first sighting again; the same id of another
	// tracker is not forgotten with it.
	if err := s.ForgetDelivery(ctx, "github", "d-1"); err != nil {
		t.Fatalf("ForgetDelivery: %v", err)
	}
	if !seen("github", "d-1", time.Hour) {
		t.Error("a forgotten id reported as a repeat")
	}
	if seen("jira", "d-1", time.Hour) {
		t.Error("forgetting github's d-1 forgot jira's too")
	}
	if err := s.ForgetDelivery(ctx, "github", "never-seen"); err != nil {
		t.Errorf("ForgetDelivery of an id never recorded: %v", err)
	}
	wantErr(t, "ForgetDelivery with an empty id", s.ForgetDelivery(ctx, "github", ""), adapters.ErrInvalid)
}

func testSeenDeliveryRace(t *testing.T, s store.Store) {
	for round := range 5 {
		id := fmt.Sprintf("delivery-%d", round)
		var mu sync.Mutex
		firsts := 0
		parallel(t, func(w int) error {
			first, err := s.SeenDelivery(ctx, "github", id, time.Hour)
			if err != nil {
				return err
			}
			if first {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
			return nil
		})
		if firsts != 1 {
			t.Errorf("round %d: %d of %d racing callers saw delivery %s first, want exactly 1", round, firsts, workers, id)
		}
	}
}

// Rate budgets.

func testTakeTokens(t *testing.T, s store.Store) {
	t0 := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	take := func(bucket string, n float64, at time.Time) time.Duration {
		t.Helper()
		w, err := s.TakeTokens(ctx, bucket, n, 2, 5, at) // 2 tokens/s, burst 5
		if err != nil {
			t.Fatalf("TakeTokens(%s, %v): %v", bucket, n, err)
		}
		return w
	}
	steps := []struct {
		what   string
		bucket string
		n      float64
		at     time.Time
		want   time.Duration
	}{
		{"a new bucket starts full", "github:app", 5, t0, 0},
		{"empty: one token takes 1/rate", "github:app", 1, t0, 500 * time.Millisecond},
		{"reserved behind the first", "github:app", 1, t0, time.Second},
		{"another bucket is separate", "jira:bot", 5, t0, 0},
		{"refilled in part", "github:app", 1, t0.Add(1500 * time.Millisecond), 0},
		// -1 left at t0+1.5s... took 1 there: balance -1 -> wait 0.5s
		{"the deficit again", "github:app", 1, t0.Add(1500 * time.Millisecond), 500 * time.Millisecond},
		{"a clock behind the bucket refills nothing", "github:app", 0, t0, 500 * time.Millisecond},
		{"refill stops at burst", "github:app", 5, t0.Add(time.Hour), 0},
		{"no more than burst after a long idle", "github:app", 1, t0.Add(time.Hour), 500 * time.Millisecond},
		{"n larger than burst reserves the whole deficit", "jira:bot", 10, t0.Add(time.Hour), 2500 * time.Millisecond},
	}
	for _, st := range steps {
		if got := take(st.bucket, st.n, st.at); (got - st.want).Abs() > time.Microsecond {
			t.Errorf("%s: TakeTokens(%s, %v at +%s) = %s, want %s", st.what, st.bucket, st.n, st.at.Sub(t0), got, st.want)
		}
	}
}

// testTakeTokensAbove: a background taker leaves a floor for the others:
// it takes only what is above it, books no deficit, and waits (taking
// nothing) while the others keep the bucket low.
func testTakeTokensAbove(t *testing.T, s store.Store) {
	t0 := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	above := func(n float64, at time.Time) time.Duration {
		t.Helper()
		w, err := s.TakeTokensAbove(ctx, "bg", n, 2, 10, 3, at) // 2/s, burst 10, leave 3
		if err != nil {
			t.Fatalf("TakeTokensAbove: %v", err)
		}
		return w
	}
	live := func(n float64, at time.Time) time.Duration {
		t.Helper()
		w, err := s.TakeTokens(ctx, "bg", n, 2, 10, at)
		if err != nil {
			t.Fatalf("TakeTokens: %v", err)
		}
		return w
	}
	steps := []struct {
		what string
		get  func() time.Duration
		want time.Duration
	}{
		{"a full bucket: 7 above the floor of 3", func() time.Duration { return above(7, t0) }, 0},
		{"at the floor: nothing taken, half a second to one above it", func() time.Duration { return above(1, t0) }, 500 * time.Millisecond},
		{"still nothing taken: the same wait", func() time.Duration { return above(1, t0) }, 500 * time.Millisecond},
		{"the others take the floor and go into debt", func() time.Duration { return live(5, t0) }, time.Second},
		{"background waits for the debt and the floor", func() time.Duration { return above(1, t0) }, 3 * time.Second},
		{"once refilled, it takes again", func() time.Duration { return above(1, t0.Add(3*time.Second)) }, 0},
	}
	for _, st := range steps {
		if got := st.get(); (got - st.want).Abs() > time.Microsecond {
			t.Errorf("%s: wait %s, want %s", st.what, got, st.want)
		}
	}
	for _, c := range []struct{ n, burst, floor float64 }{{1, 10, -1}, {8, 10, 3}, {-1, 10, 3}} {
		_, err := s.TakeTokensAbove(ctx, "bg2", c.n, 2, c.burst, c.floor, t0)
		wantErr(t, fmt.Sprintf("TakeTokensAbove(n %v, burst %v, floor %v)", c.n, c.burst, c.floor), err, adapters.ErrInvalid)
	}
}

func testTakeTokensInvalid(t *testing.T, s store.Store) {
	now := time.Now()
	for _, c := range []struct {
		bucket         string
		n, rate, burst float64
	}{
		{"", 1, 1, 1}, {"b", 1, 0, 1}, {"b", 1, 1, 0}, {"b", -1, 1, 1}, {"b", 1, -2, 1},
	} {
		_, err := s.TakeTokens(ctx, c.bucket, c.n, c.rate, c.burst, now)
		wantErr(t, fmt.Sprintf("TakeTokens(%q, n %v, rate %v, burst %v)", c.bucket, c.n, c.rate, c.burst), err, adapters.ErrInvalid)
	}
}

func testConcurrentTakeTokens(t *testing.T, s store.Store) {
	// All at one instant, rate 10/s, burst 10: the k-th token taken waits
	// (k-10)/10 s. A lost update would hand two takers the same wait.
	now := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var waits []time.Duration
	parallel(t, func(w int) error {
		for range perWorker {
			wait, err := s.TakeTokens(ctx, "github:app", 1, 10, 10, now)
			if err != nil {
				return err
			}
			mu.Lock()
			waits = append(waits, wait)
			mu.Unlock()
		}
		return nil
	})
	slices.Sort(waits)
	var want []time.Duration
	for k := 1; k <= workers*perWorker; k++ {
		want = append(want, max(0, time.Duration(k-10)*100*time.Millisecond))
	}
	// Float arithmetic may differ in the last nanosecond between stores.
	diff(t, "waits of concurrent takers", want, waits, cmp.Comparer(func(a, b time.Duration) bool {
		return (a - b).Abs() <= time.Microsecond
	}))
}

// Outbox: delivering.

func claim(t *testing.T, s store.Store, worker string, limit int) []store.Event {
	t.Helper()
	evs, err := s.ClaimEvents(ctx, worker, limit, time.Hour)
	if err != nil {
		t.Fatalf("ClaimEvents(%s): %v", worker, err)
	}
	return evs
}

func eventIDs(evs []store.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func testOutbox(t *testing.T, s store.Store) {
	put := func(e store.Event) int64 {
		t.Helper()
		id, err := s.PutEvent(ctx, e)
		if err != nil {
			t.Fatalf("PutEvent: %v", err)
		}
		return id
	}
	e1 := put(store.Event{Kind: "run.finished", DedupKey: "run:1", Payload: []byte(`{"run":1}`)})
	e2 := put(store.Event{Kind: "conflict.held", Payload: []byte{0, 1, 2, 255}})
	e3 := put(store.Event{Kind: "run.finished", DedupKey: "run:3"})
	later := put(store.Event{Kind: "initiative.at_risk", NextAttempt: time.Now().Add(time.Hour)})

	got := claim(t, s, "w1", 2)
	diff(t, "first claim (oldest first, limit 2)", []int64{e1, e2}, eventIDs(got))
	if len(got) == 2 {
		if got[0].Kind != "run.finished" || got[0].DedupKey != "run:1" || string(got[0].Payload) != `{"run":1}` || got[0].Attempts != 1 {
			t.Errorf("claimed event = %+v", got[0])
		}
		checkTime(t, "claimed event CreatedAt", got[0].CreatedAt)
		diff(t, "binary payload", []byte{0, 1, 2, 255}, got[1].Payload)
	}
	diff(t, "second claim (the rest that is due)", []int64{e3}, eventIDs(claim(t, s, "w2", 10)))
	if got := claim(t, s, "w3", 10); len(got) != 0 {
		t.Errorf("claim with everything claimed or not due = %v, want none", eventIDs(got))
	}

	if err := s.AckEvent(ctx, e1); err != nil {
		t.Fatalf("AckEvent: %v", err)
	}
	if err := s.RetryEvent(ctx, e2, time.Now().Add(-time.Second), "webhook answered 502"); err != nil {
		t.Fatalf("RetryEvent: %v", err)
	}
	if err := s.RetryEvent(ctx, e3, time.Now().Add(time.Hour), "later"); err != nil {
		t.Fatalf("RetryEvent: %v", err)
	}
	got = claim(t, s, "w1", 10)
	diff(t, "claim after ack and retries", []int64{e2}, eventIDs(got))
	if len(got) == 1 && (got[0].Attempts != 2 || got[0].LastError != "webhook answered 502") {
		t.Errorf("retried event = %+v, want attempts 2 and the last error", got[0])
	}
	// A late retry of a delivered event does not bring it back.
	if err := s.RetryEvent(ctx, e1, time.Now().Add(-time.Second), "late"); err != nil {
		t.Fatalf("RetryEvent of a delivered event: %v", err)
	}
	if err := s.AckEvent(ctx, e2); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s, "w1", 10); len(got) != 0 {
		t.Errorf("claim after acks = %v, want none", eventIDs(got))
	}
	// A delivered event's key still de-duplicates.
	if id := put(store.Event{Kind: "run.finished", DedupKey: "run:1"}); id != e1 {
		t.Errorf("PutEvent with a delivered event's key = %d, want %d", id, e1)
	}
	_ = later
}

func testOutboxTx(t *testing.T, s store.Store) {
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx store.Ops) error {
		if _, err := tx.CreateLink(ctx, link("f1", 1)); err != nil {
			return err
		}
		if _, err := tx.PutEvent(ctx, store.Event{Kind: "link.created", DedupKey: "link:1"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx = %v", err)
	}
	if got := claim(t, s, "w", 10); len(got) != 0 {
		t.Errorf("events of a rolled-back Tx claimed: %v", eventIDs(got))
	}
	var id int64
	err = s.Tx(ctx, func(tx store.Ops) error {
		if _, err := tx.CreateLink(ctx, link("f1", 1)); err != nil {
			return err
		}
		id, err = tx.PutEvent(ctx, store.Event{Kind: "link.created", DedupKey: "link:1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "events of a committed Tx", []int64{id}, eventIDs(claim(t, s, "w", 10)))
}

func testOutboxErrors(t *testing.T, s store.Store) {
	wantErr(t, "AckEvent of a missing event", s.AckEvent(ctx, 1<<40), store.ErrNotFound)
	wantErr(t, "RetryEvent of a missing event", s.RetryEvent(ctx, 1<<40, time.Now(), "x"), store.ErrNotFound)
	for _, c := range []struct {
		worker string
		limit  int
		lease  time.Duration
	}{{"", 1, time.Minute}, {"w", 0, time.Minute}, {"w", 1, 0}} {
		_, err := s.ClaimEvents(ctx, c.worker, c.limit, c.lease)
		wantErr(t, fmt.Sprintf("ClaimEvents(%q, %d, %s)", c.worker, c.limit, c.lease), err, adapters.ErrInvalid)
	}
}

func testConcurrentClaims(t *testing.T, s store.Store) {
	const n = 60
	for i := range n {
		if _, err := s.PutEvent(ctx, store.Event{Kind: "run.finished", DedupKey: fmt.Sprintf("run:%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[int64]string{}
	parallel(t, func(w int) error {
		worker := fmt.Sprintf("w%d", w)
		for {
			evs, err := s.ClaimEvents(ctx, worker, 3, time.Hour)
			if err != nil {
				return err
			}
			if len(evs) == 0 {
				return nil
			}
			mu.Lock()
			for _, e := range evs {
				if prev, dup := claimed[e.ID]; dup {
					mu.Unlock()
					return fmt.Errorf("event %d claimed by %s and %s", e.ID, prev, worker)
				}
				claimed[e.ID] = worker
			}
			mu.Unlock()
		}
	})
	if len(claimed) != n {
		t.Errorf("%d of %d events claimed", len(claimed), n)
	}
}
