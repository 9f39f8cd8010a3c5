// Package notify tells people what changed: an initiative turned at risk
// or back on track, its target date moved, a conflict waits for a person, a
// run failed or a flow has not succeeded for a while, the safety valve
// stopped a run, and a weekly digest. Events are written to the store's
// outbox in the same transaction as the change that caused them (see
// Events); a Worker claims them, renders one Message per event (or per
// group: the conflicts of one run are one message), and sends it to each
// Sink whose rules want it: Slack (Block Kit, an incoming webhook or
// chat.postMessage), Microsoft Teams (a Workflows webhook with an Adaptive
// Card) or a signed JSON webhook.
//
// Delivery is at least once, with backoff and Retry-After honoured, paced
// per sink through the store's shared token buckets, and de-duplicated: a
// sink that took an event is recorded in the store right after the send,
// so an event claimed again after a crash (or by another replica once the
// claim lapses) is sent only to the sinks that have not had it.
package notify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tracksync/tracksync/store"
)

// Event kinds, the outbox Kind of each event this package delivers. A
// sink's rules name them (or their short names, see ShortKinds).
const (
	KindAtRisk       = "initiative.at_risk"
	KindOnTrack      = "initiative.on_track"
	KindDateMoved    = "initiative.date_moved"
	KindConflictHeld = "conflict.held"
	KindRunFailed    = "run.failed"
	KindFlowStale    = "flow.stale"
	KindValveStopped = "run.valve_stopped"
	KindDigest       = "digest.weekly"
	// KindTest is the sample `tracksync notify test` sends.
	KindTest = "notify.test"
)

// Kinds are the event kinds a rule may name, in the order the docs list them.
var Kinds = []string{KindAtRisk, KindOnTrack, KindDateMoved, KindConflictHeld, KindRunFailed, KindFlowStale, KindValveStopped, KindDigest}

// Payload is the JSON body of every event; each kind uses the fields it
// needs.
type Payload struct {
	// Initiative is the initiative's human key (INIT-1), Ref its roll-up
	// key (tracker:id), URL its page in its tracker.
	Initiative string   `json:"initiative,omitempty"`
	Ref        string   `json:"ref,omitempty"`
	Title      string   `json:"title,omitempty"`
	URL        string   `json:"url,omitempty"`
	Reasons    []string `json:"reasons,omitempty"`
	Percent    int      `json:"percent,omitempty"`
	// From and To are the old and new target dates (YYYY-MM-DD, "" for none).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Flow and RunID name a sync run; Error is its error (redacted).
	Flow  string `json:"flow,omitempty"`
	RunID int64  `json:"run_id,omitempty"`
	Error string `json:"error,omitempty"`
	// LastSuccess is when a stale flow last succeeded (zero: never).
	LastSuccess time.Time `json:"last_success,omitzero"`
	Conflict    *Conflict `json:"conflict,omitempty"`
	// Digest is the weekly digest: a headline, lines, and its Markdown
	// (the rollup --format markdown words).
	Headline string   `json:"headline,omitempty"`
	Lines    []string `json:"lines,omitempty"`
	// Set is the initiative set a digest covers (sorted keys; empty: all).
	Set []string `json:"set,omitempty"`
}

// Conflict is a field both sides changed differently, held for a person.
type Conflict struct {
	ID    int64  `json:"id"`
	Field string `json:"field"`
	// A and B are the two sides: tracker name, item key, item URL, value.
	ATracker string `json:"a_tracker"`
	AKey     string `json:"a_key"`
	AURL     string `json:"a_url,omitempty"`
	AValue   string `json:"a_value"`
	BTracker string `json:"b_tracker"`
	BKey     string `json:"b_key"`
	BURL     string `json:"b_url,omitempty"`
	BValue   string `json:"b_value"`
}

// ResolveCommand is the command that settles c.
func (c Conflict) ResolveCommand() string {
	return "tracksync conflicts resolve " + strconv.FormatInt(c.ID, 10) + " --take a|b"
}

func newEvent(kind, dedup string, p Payload) store.Event {
	b, err := json.Marshal(p)
	if err != nil { // a Payload always marshals
		panic(fmt.Sprintf("notify: encoding %s payload: %v", kind, err))
	}
	return store.Event{Kind: kind, DedupKey: dedup, Payload: b}
}

// AtRisk is the event "initiative turned at risk"; at is when the change
// was seen (it keys de-duplication: one event per change).
func AtRisk(p Payload, at time.Time) store.Event {
	return newEvent(KindAtRisk, KindAtRisk+":"+p.Ref+":"+at.UTC().Format(time.RFC3339), p)
}

// OnTrack is the event "initiative back on track".
func OnTrack(p Payload, at time.Time) store.Event {
	return newEvent(KindOnTrack, KindOnTrack+":"+p.Ref+":"+at.UTC().Format(time.RFC3339), p)
}

// DateMoved is the event "target date moved from p.From to p.To".
func DateMoved(p Payload, at time.Time) store.Event {
	return newEvent(KindDateMoved, KindDateMoved+":"+p.Ref+":"+p.From+">"+p.To+":"+at.UTC().Format(time.RFC3339), p)
}

// ConflictHeld is the event "run p.RunID of p.Flow held conflict c".
func ConflictHeld(p Payload, c Conflict) store.Event {
	p.Conflict = &c
	return newEvent(KindConflictHeld, fmt.Sprintf("%s:%d:%d", KindConflictHeld, c.ID, p.RunID), p)
}

// RunFailed is the event "run p.RunID of p.Flow failed with p.Error".
func RunFailed(p Payload) store.Event {
	return newEvent(KindRunFailed, fmt.Sprintf("%s:%d", KindRunFailed, p.RunID), p)
}

// ValveStopped is the event "the safety valve stopped run p.RunID".
func ValveStopped(p Payload) store.Event {
	return newEvent(KindValveStopped, fmt.Sprintf("%s:%d", KindValveStopped, p.RunID), p)
}

// FlowStale is the event "p.Flow has not succeeded since p.LastSuccess";
// one per flow and last success.
func FlowStale(p Payload) store.Event {
	return newEvent(KindFlowStale, KindFlowStale+":"+p.Flow+":"+p.LastSuccess.UTC().Format(time.RFC3339), p)
}

// Digest is the weekly digest of week (the digest day, YYYY-MM-DD) for
// the initiative set p.Set.
func Digest(p Payload, week string) store.Event {
	return newEvent(KindDigest, KindDigest+":"+week+":"+strings.Join(p.Set, ","), p)
}

// decode reads an event's payload.
func decode(e store.Event) (Payload, error) {
	var p Payload
	if len(e.Payload) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return p, fmt.Errorf("notify: event %d (%s): payload is not JSON: %w", e.ID, e.Kind, err)
	}
	return p, nil
}
