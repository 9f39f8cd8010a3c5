// Package jobs is the job queue the daemon runs its syncs on, as an
// interface: insert (unique per flow and generation while waiting or
// running), periodic jobs, cancel, and the queue's depth. River is the
// implementation (package riverjobs), on riversqlite or riverpgxv5 as the
// state store's driver decides, so that River's generic client type and
// its SQL drivers stay out of the daemon.
//
// Rules every implementation keeps, because replicas share one queue:
//   - Periodic jobs are enqueued by the elected leader only, and every
//     replica must register the same set (SetPeriodic): whichever replica
//     leads, the schedule is the same. Fingerprint names a set so replicas
//     can compare theirs.
//   - Uniqueness holds at insert only: two jobs of one flow may still run
//     at once (a rescued job beside a new one, a retry). Mutual exclusion
//     is the flow lease's job in the store, not the queue's.
//   - The queue's tables belong to this installation alone: another
//     application sharing them could win the leadership and never enqueue
//     this one's periodic jobs.
package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Job is one sync of a flow.
type Job struct {
	ID   int64
	Flow string
	Full bool
	// Gen is the flow's generation (store.Coordinator.Generation) when
	// the job was asked for: jobs are unique per (Flow, Full, Gen) while
	// they wait or run.
	Gen int64
	// Since is when the job was first asked for (not part of its
	// uniqueness: a coalesced insert keeps the first one's).
	Since time.Time
	// Attempt counts this job's runs, this one included (set by the queue).
	Attempt int
	// Periodic is the id of the periodic job that made it, if any.
	Periodic string
	// Takeover is the fencing token of the expired lease this job takes
	// over (0 for other jobs). Part of the uniqueness: a job of the same
	// generation may be stuck "running" in the dead process (fetched,
	// waiting behind its run), and must not swallow the takeover.
	Takeover int64
}

// Handler runs a job. Its error decides what happens next: nil completes
// the job, Snooze and Cancel do what they say, any other error retries
// with backoff.
type Handler func(ctx context.Context, j Job) error

// Schedule is a periodic job's schedule.
type Schedule interface {
	Next(time.Time) time.Time
}

// Periodic is a job enqueued on a schedule by the elected leader.
type Periodic struct {
	// ID names it; ids are unique within a set and the same on every
	// replica.
	ID       string
	Schedule Schedule
	// Describe is the schedule as configured (for the fingerprint).
	Describe string
	// Make builds the job when it is due; ok false skips this time.
	Make func() (j Job, ok bool)
	// RunOnStart enqueues it as soon as a leader takes over.
	RunOnStart bool
}

// Fingerprint names a periodic set: replicas registering different sets
// have different fingerprints.
func Fingerprint(ps []Periodic) string {
	lines := make([]string, 0, len(ps))
	for _, p := range ps {
		lines = append(lines, fmt.Sprintf("%s=%s/%t", p.ID, p.Describe, p.RunOnStart))
	}
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:8])
}

// InsertOpts adjust one insert.
type InsertOpts struct {
	// At schedules the job for later (zero: now).
	At time.Time
}

// Queue is the daemon's job queue.
type Queue interface {
	// Insert enqueues j unless a job with the same Flow, Full and Gen is
	// waiting or running; coalesced reports that it was absorbed.
	Insert(ctx context.Context, j Job, o InsertOpts) (coalesced bool, err error)
	// SetPeriodic replaces the periodic jobs.
	SetPeriodic(ps []Periodic) error
	// Cancel cancels flow's jobs that wait (a flow removed from the
	// config) and returns how many.
	Cancel(ctx context.Context, flow string) (int, error)
	// Waiting counts jobs waiting to run (available or retryable).
	Waiting(ctx context.Context) (int, error)
	// Active counts jobs waiting, scheduled or running.
	Active(ctx context.Context) (int, error)
	// Start starts working jobs with the handler given at Open.
	Start(ctx context.Context) error
	// Stop waits for running jobs to finish, until ctx is done; then it
	// cancels them and returns ctx's error.
	Stop(ctx context.Context) error
	// ID names this replica's queue client (in leader election, logs).
	ID() string
}

// Options configure a queue.
type Options struct {
	Handler Handler
	// Workers is how many jobs run at once.
	Workers int
	// Poll is how often idle workers look for jobs.
	Poll time.Duration
	// RescueAfter is how long a job may stay running before it is taken
	// for dead and run again: tracksync sets it to the flow lease, so a
	// job left running by a killed process is rescued within a lease
	// period (River's default is an hour). A live job rescued early is
	// harmless: its flow lease turns the second run away.
	RescueAfter time.Duration
	// ID names this replica (default: host and pid plus a random part).
	ID string
	// Periodic jobs to register at once.
	Periodic []Periodic
}

// SnoozeError asks for the job to run again after After, not counted as a
// failed attempt.
type SnoozeError struct{ After time.Duration }

func (e *SnoozeError) Error() string { return fmt.Sprintf("snoozed for %s", e.After) }

// Snooze makes a handler's job run again after d.
func Snooze(d time.Duration) error { return &SnoozeError{After: d} }

// CancelError gives a job up for good.
type CancelError struct{ Err error }

func (e *CancelError) Error() string { return "cancelled: " + e.Err.Error() }
func (e *CancelError) Unwrap() error { return e.Err }

// Cancel gives the handler's job up for good, with err as the reason.
func Cancel(err error) error { return &CancelError{Err: err} }

// IsSnooze reports a Snooze error and its delay.
func IsSnooze(err error) (time.Duration, bool) {
	var s *SnoozeError
	if errors.As(err, &s) {
		return s.After, true
	}
	return 0, false
}
