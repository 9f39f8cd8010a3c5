package rest

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
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
