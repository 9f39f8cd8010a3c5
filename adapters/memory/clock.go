package memory

import (
	"sync"
	"time"
)

// Clock is a manual clock for tests and the sandbox: time stands still
// until Advance or Set moves it, so tests order events without sleeping.
// Pass its Now method as Options.Clock. The zero Clock starts at
// 2026-01-01T00:00:00Z. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// clockEpoch is where a zero Clock starts: a fixed instant keeps test
// output (timestamps in golden files) stable.
var clockEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// NewClock returns a clock reading start (the zero time means the default
// epoch, 2026-01-01T00:00:00Z).
func NewClock(start time.Time) *Clock {
	return &Clock{now: start}
}

// Now returns the clock's current reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = clockEpoch
	}
	return c.now
}

// Advance moves the clock forward by d (a negative d moves it back, which
// tests of clock skew may want).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = clockEpoch
	}
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
