package sync

import (
	"context"
	"sync"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// Progress is where a run stands, for a live line on a terminal or a
// periodic log line.
type Progress struct {
	Flow  string `json:"flow"`
	Phase string `json:"phase"` // "listing a (jira)", "writing"
	Done  int    `json:"done"`  // items listed, or writes made
	Total int    `json:"total"` // writes planned; 0 while listing (unknown)
	// Wait and WaitReason are set on a rate-limit wait about to start.
	Wait       time.Duration `json:"wait,omitempty"`
	WaitReason string        `json:"wait_reason,omitempty"`
	Tracker    string        `json:"tracker,omitempty"`
}

// progress is one run's progress state, carried in its context.
type progress struct {
	mu  sync.Mutex
	fn  func(Progress)
	cur Progress
}

type progressKey struct{}

// withProgress returns ctx carrying a progress state for flow that
// reports to fn (nil: ctx unchanged), and tells fn of adapters' waits.
func withProgress(ctx context.Context, flow string, fn func(Progress)) context.Context {
	if fn == nil {
		return ctx
	}
	p := &progress{fn: fn, cur: Progress{Flow: flow}}
	ctx = context.WithValue(ctx, progressKey{}, p)
	return adapters.WithWaitObserver(ctx, func(tracker, reason string, d time.Duration) {
		p.mu.Lock()
		ev := p.cur
		p.mu.Unlock()
		ev.Wait, ev.WaitReason, ev.Tracker = d, reason, tracker
		fn(ev)
	})
}

func progressOf(ctx context.Context) *progress {
	p, _ := ctx.Value(progressKey{}).(*progress)
	return p
}

// phase starts a phase with total steps (0: unknown).
func (p *progress) phase(name string, total int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.cur.Phase, p.cur.Done, p.cur.Total = name, 0, total
	ev := p.cur
	p.mu.Unlock()
	p.fn(ev)
}

// set reports done steps of the current phase.
func (p *progress) set(done int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.cur.Done = done
	ev := p.cur
	p.mu.Unlock()
	p.fn(ev)
}

// step reports one more step of the current phase.
func (p *progress) step() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.cur.Done++
	ev := p.cur
	p.mu.Unlock()
	p.fn(ev)
}
