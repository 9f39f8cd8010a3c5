package jira

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	p := newPacer(200) // one request every 5ms
	start := time.Now()
	for range 5 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Timers never fire early, so the lower bound is exact.
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("5 paced requests took %v, want at least 20ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := newPacer(0.001)
	_ = slow.wait(context.Background())
	if err := slow.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting with a cancelled context: %v", err)
	}
	if err := newPacer(0).wait(ctx); err != nil {
		t.Errorf("no pacing still waited: %v", err)
	}
}
