package rest

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store/sqlite"
)

// sharedClock is one fake clock for several pacers: a pacer's sleep moves
// it forward.
type sharedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *sharedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *sharedClock) sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return nil
}

// TestStoreBudgetSharedByTwoPacers: two pacers (two replicas) on one
// store, one credential limited to 10 requests a minute, take 40
// requests between them: no 60-second span holds more than 10. With a
// budget each, the first minute would see 20.
func TestStoreBudgetSharedByTwoPacers(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := &sharedClock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	adapters.SetSharedRates(st)
	defer adapters.SetSharedRates(nil)
	limits := Limits{Windows: []Window{{Limit: 10, Per: time.Minute}}}
	var pacers []*Pacer
	for range 2 {
		pacers = append(pacers, NewPacer(PacerOptions{Tracker: "gh", Credential: "token-1", Limits: limits, Clock: clk.now, Sleep: clk.sleep}))
	}
	if _, shared := pacers[0].budget.(*StoreBudget); !shared {
		t.Fatalf("pacer budget %T, want the store's", pacers[0].budget)
	}
	var sent []time.Time
	for i := range 40 {
		release, err := pacers[i%2].Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, clk.now())
		release()
	}
	for i := range sent {
		n := 0
		for j := i; j < len(sent) && sent[j].Sub(sent[i]) < time.Minute; j++ {
			n++
		}
		if n > 10 {
			t.Fatalf("%d requests in the minute from %s (request %d), limit 10", n, sent[i].Format(time.TimeOnly), i)
		}
	}
	// A tenth of the window goes at once, the rest at nine tenths of the
	// window's pace: one at once, then one every 6.67 s, so 40 take
	// 39 × 60/9 s = 4m20s (7m0s when the bucket held half the window:
	// the replicas got half the limit).
	took := sent[len(sent)-1].Sub(sent[0])
	if took < 4*time.Minute+19*time.Second || took > 4*time.Minute+21*time.Second {
		t.Errorf("40 requests took %s of budget time, want 4m20s (9 a minute sustained of the 10 allowed)", took)
	}

	// A credential of its own has a budget of its own.
	other := NewPacer(PacerOptions{Tracker: "gh", Credential: "token-2", Limits: limits, Clock: clk.now, Sleep: clk.sleep})
	before := clk.now()
	if _, err := other.Acquire(ctx); err != nil || !clk.now().Equal(before) {
		t.Fatalf("another credential waited %s (%v)", clk.now().Sub(before), err)
	}
}

// TestStoreBudgetHoldShared: a quota one replica's answer reports used up
// holds the other replica's requests too.
func TestStoreBudgetHoldShared(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := &sharedClock{t: time.Now().Truncate(time.Second)}
	adapters.SetSharedRates(st)
	defer adapters.SetSharedRates(nil)
	limits := Limits{PerSecond: 10, Burst: 5}
	a := NewPacer(PacerOptions{Tracker: "jira", Credential: "bot:tok", Limits: limits, Clock: clk.now, Sleep: clk.sleep})
	b := NewPacer(PacerOptions{Tracker: "jira", Credential: "bot:tok", Limits: limits, Clock: clk.now, Sleep: clk.sleep})
	if err := b.Blocked(ctx); err != nil {
		t.Fatalf("blocked before any hold: %v", err)
	}
	b.budget.(*StoreBudget).cacheFor = 0 // see the other's hold at once, not within a second
	reset := clk.now().Add(10 * time.Minute)
	a.Observe(ctx, http.StatusOK, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Reset": {strconv.FormatInt(reset.Unix(), 10)}})
	var rl *adapters.RateLimitError
	if err := b.Blocked(ctx); !errors.As(err, &rl) || rl.RetryAfter != 10*time.Minute {
		t.Fatalf("the other replica's pacer: %v, want a rate limit error for 10m", err)
	}
	// An earlier hold does not shorten it.
	if err := b.budget.Hold(ctx, clk.now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if h, _ := NewStoreBudget(st, CredentialKey("jira", "bot:tok"), limits).HeldUntil(ctx); !h.Equal(reset) {
		t.Fatalf("hold in the store %s, want %s", h, reset)
	}
}

// TestBackgroundYieldsToLive: a migration (background budget,
// adapters.SetBackground) beside live sync on one credential's shared
// budget, 60 requests a minute. Simulated time, ten minutes; live sync
// asks as fast as it may during minutes 0-2 and 5-6 and is idle
// otherwise; the migration asks all the time. The migration sends nothing
// while live sync is busy (after the first seconds), takes the whole
// sustained rate while it is idle, live sync keeps the sustained rate
// when busy, and no minute holds more than 60 requests of both.
func TestBackgroundYieldsToLive(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	limits := Limits{Windows: []Window{{Limit: 60, Per: time.Minute}}}
	live := NewStoreBudget(st, "gh/cred", limits)
	bg := NewStoreBudget(st, "gh/cred", limits)
	bg.reserve = 0.3
	if !bg.Background() || live.Background() {
		t.Fatal("only the migration's budget is background")
	}
	t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	busy := func(at time.Time) bool {
		m := at.Sub(t0).Minutes()
		return m < 2 || (m >= 5 && m < 6)
	}
	type send struct {
		at   time.Time
		live bool
	}
	var sends []send
	// Each client sends one request at a time: it books, waits until its
	// slot, sends, and books the next.
	liveNext, bgNext := t0, t0
	for now := t0; now.Before(t0.Add(10 * time.Minute)); now = now.Add(50 * time.Millisecond) {
		if busy(now) && !now.Before(liveNext) {
			at, err := live.Reserve(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			sends = append(sends, send{at, true})
			liveNext = at.Add(time.Nanosecond)
		}
		if !now.Before(bgNext) {
			at, ok, err := bg.TryReserve(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				sends = append(sends, send{at, false})
				bgNext = at.Add(time.Nanosecond)
			} else {
				bgNext = at
			}
		}
	}
	slices.SortFunc(sends, func(a, b send) int { return a.at.Compare(b.at) })
	for i := range sends {
		n := 0
		for j := i; j < len(sends) && sends[j].at.Sub(sends[i].at) < time.Minute; j++ {
			n++
		}
		if n > 60 {
			t.Fatalf("%d requests in the minute from +%s, limit 60", n, sends[i].at.Sub(t0))
		}
	}
	count := func(from, to time.Duration, isLive bool) int {
		n := 0
		for _, s := range sends {
			if d := s.at.Sub(t0); d >= from && d < to && s.live == isLive {
				n++
			}
		}
		return n
	}
	// Sustained: 54 a minute (nine tenths of the window, the rest is the
	// bucket's burst).
	if n := count(10*time.Second, 2*time.Minute, false); n > 0 {
		t.Errorf("the migration sent %d requests while live sync was busy (from +10s to +2m), want 0", n)
	}
	if n := count(5*time.Minute+10*time.Second, 6*time.Minute, false); n > 0 {
		t.Errorf("the migration sent %d requests while live sync was busy (from +5m10s to +6m), want 0", n)
	}
	if n := count(time.Minute, 2*time.Minute, true); n < 53 {
		t.Errorf("live sync sent %d requests in its second busy minute, want the sustained 54", n)
	}
	if n := count(3*time.Minute, 5*time.Minute, false); n < 2*53 {
		t.Errorf("the migration sent %d requests in the two idle minutes +3m..+5m, want the sustained 2 × 54", n)
	}
	// Wired as a migration wires it: the pacer of a tracker opened
	// under SetSharedRates and SetBackground yields (and waits its turn
	// through its own sleep).
	adapters.SetSharedRates(st)
	adapters.SetBackground(0.3)
	defer func() { adapters.SetSharedRates(nil); adapters.SetBackground(0) }()
	clk := &sharedClock{t: t0.Add(time.Hour)}
	p := NewPacer(PacerOptions{Tracker: "gh", Credential: "other", Limits: limits, Clock: clk.now, Sleep: clk.sleep})
	if sb, ok := p.budget.(*StoreBudget); !ok || !sb.Background() {
		t.Fatalf("a pacer opened under SetBackground: budget %T, want a background StoreBudget", p.budget)
	}
	for range 30 {
		release, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	// 6 in the bucket, 2 of them (0.3 × 6, rounded up by the refill)
	// left to others: 4 at once, then one every 60/54 s.
	if took := clk.now().Sub(t0.Add(time.Hour)); took < 25*time.Second || took > 31*time.Second {
		t.Errorf("30 background requests took %s of budget time, want about 29 s", took)
	}
	t.Logf("live %d+%d, migration %d while idle", count(0, 2*time.Minute, true), count(5*time.Minute, 6*time.Minute, true), count(2*time.Minute, 5*time.Minute, false)+count(6*time.Minute, 10*time.Minute, false))
}
