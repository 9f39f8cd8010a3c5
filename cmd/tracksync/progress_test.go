package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	tsync "github.com/tracksync/tracksync/sync"
)

// TestProgressLogLines: off a terminal, a run logs its phases and where
// each stands (periodically; here on every step).
func TestProgressLogLines(t *testing.T) {
	old := progressEvery
	progressEvery = 0
	defer func() { progressEvery = old }()
	_, cfg := setup(t, "manual", 3)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-c", cfg, "--log-level", "info", "sync", "--once"}, &out, &errb); code != exitOK {
		t.Fatalf("sync: %d %s%s", code, out.String(), errb.String())
	}
	logs := errb.String()
	for _, want := range []string{
		`msg=progress flow=pair phase="listing a (left)" done=3`,
		`msg=progress flow=pair phase="listing b (right)" done=0`,
		`msg=progress flow=pair phase=writing done=3 total=3`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %q in the log:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "\r") {
		t.Error("a live terminal line went to a log that is not a terminal")
	}
}

// TestProgressRateLimitWait: a wait of a second or more is logged with
// its tracker, reason and length; the ETA comes with a known total.
func TestProgressRateLimitWait(t *testing.T) {
	var errb bytes.Buffer
	a := &app{stderr: &errb, output: "text", logLevel: "info"}
	a.setupLog()
	p := a.newProgress()
	if p.terminal {
		t.Fatal("a buffer taken for a terminal")
	}
	old := progressEvery
	progressEvery = time.Hour
	defer func() { progressEvery = old }()
	p.report(progressEvent("writing", 0, 10, 0))
	p.report(progressEvent("writing", 1, 10, 0)) // within the period: not logged
	p.report(progressEvent("writing", 1, 10, 3*time.Second))
	logs := errb.String()
	if strings.Count(logs, "msg=progress") != 1 || !strings.Contains(logs, `msg="rate-limit wait" flow=f tracker=jira reason="pacing requests to the rate budget" wait=3s`) {
		t.Errorf("log:\n%s", logs)
	}
}

func progressEvent(phase string, done, total int, wait time.Duration) tsync.Progress {
	ev := tsync.Progress{Flow: "f", Phase: phase, Done: done, Total: total}
	if wait > 0 {
		ev.Wait, ev.WaitReason, ev.Tracker = wait, "pacing requests to the rate budget", "jira"
	}
	return ev
}
