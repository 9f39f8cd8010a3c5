package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	tsync "github.com/tracksync/tracksync/sync"
)

// progressEvery is how often, off a terminal, a long run logs where it
// stands (a phase change and a wait of a second or more log at once).
var progressEvery = 10 * time.Second

// progressReporter shows a run's progress: a live line on a terminal
// (phase, done/total, rate, ETA, rate-limit waits), periodic info log
// lines otherwise.
type progressReporter struct {
	a        *app
	terminal bool
	mu       sync.Mutex
	bar      *progressbar.ProgressBar
	phase    string
	started  time.Time
	lastLog  time.Time
}

func (a *app) newProgress() *progressReporter {
	return &progressReporter{a: a, terminal: a.output == "text" && isTTY(a.stderr)}
}

// isTTY reports whether f (a writer, through the redaction wrapper,
// or a reader such as os.Stdin) is a terminal.
func isTTY(w any) bool {
	for {
		if f, ok := w.(*os.File); ok {
			return term.IsTerminal(int(f.Fd()))
		}
		u, ok := w.(interface{ Unwrap() io.Writer })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
}

func (p *progressReporter) report(ev tsync.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	newPhase := ev.Phase != p.phase
	if newPhase {
		p.phase, p.started = ev.Phase, now
	}
	if p.terminal {
		p.live(ev, newPhase)
		return
	}
	if p.a.log == nil {
		return
	}
	if ev.Wait > 0 {
		if ev.Wait >= time.Second {
			p.a.log.Info("rate-limit wait", "flow", ev.Flow, "tracker", ev.Tracker, "reason", ev.WaitReason, "wait", ev.Wait.String())
		}
		return
	}
	if !newPhase && now.Sub(p.lastLog) < progressEvery && (ev.Total == 0 || ev.Done < ev.Total) {
		return
	}
	p.lastLog = now
	attrs := []any{"flow", ev.Flow, "phase", ev.Phase, "done", ev.Done}
	if ev.Total > 0 {
		attrs = append(attrs, "total", ev.Total)
	}
	if secs := now.Sub(p.started).Seconds(); secs > 0 && ev.Done > 0 {
		rate := float64(ev.Done) / secs
		attrs = append(attrs, "rate_per_second", fmt.Sprintf("%.1f", rate))
		if ev.Total > ev.Done {
			attrs = append(attrs, "eta", (time.Duration(float64(ev.Total-ev.Done)/rate) * time.Second).Round(time.Second).String())
		}
	}
	p.a.log.Info("progress", attrs...)
}

// live draws the terminal line.
func (p *progressReporter) live(ev tsync.Progress, newPhase bool) {
	if newPhase || p.bar == nil {
		if p.bar != nil {
			p.bar.Finish()
		}
		max := int64(ev.Total)
		if max == 0 {
			max = -1 // a spinner: the total is unknown while listing
		}
		p.bar = progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(p.a.stderr),
			progressbar.OptionSetDescription(ev.Flow+": "+ev.Phase),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("items"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	if ev.Wait > 0 {
		p.bar.Describe(fmt.Sprintf("%s: %s (waiting %s: %s)", ev.Flow, ev.Phase, ev.Wait.Round(100*time.Millisecond), ev.WaitReason))
		return
	}
	p.bar.Describe(ev.Flow + ": " + ev.Phase)
	p.bar.Set(ev.Done)
}

// finish clears the live line.
func (p *progressReporter) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}
