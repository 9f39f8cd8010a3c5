package rest

import (
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// TestPacerReportsWaits: each wait for the budget is reported, with its
// tracker, reason and length, to the context's observer (a run's
// progress line).
func TestPacerReportsWaits(t *testing.T) {
	c := &fakeClock{t: t0}
	p := NewPacer(PacerOptions{Tracker: "jira", Limits: Limits{PerSecond: 200}, Clock: c.Now, Sleep: c.Sleep})
	var waits []time.Duration
	ctx := adapters.WithWaitObserver(t.Context(), func(tracker, reason string, d time.Duration) {
		if tracker != "jira" || reason == "" {
			t.Errorf("wait of %s for %q on %q", d, reason, tracker)
		}
		waits = append(waits, d)
	})
	for range 3 {
		release, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	if len(waits) != 2 || waits[0] != 5*time.Millisecond || waits[1] != 5*time.Millisecond {
		t.Errorf("waits %v, want two of 5ms (the first request goes at once)", waits)
	}
}
