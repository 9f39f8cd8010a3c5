package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/internal/redact"
	"github.com/tracksync/tracksync/store"
)

// Rule selects the events a sink gets: an event matches when its kind is
// in Events, its initiative in Initiatives and its flow in Flows, an empty
// list matching anything. Events about no initiative (a failed run) pass
// an Initiatives list, and events about no flow pass a Flows list, so a
// rule for one team's initiatives still hears about its digest.
type Rule struct {
	Events      []string
	Initiatives []string
	Flows       []string
}

// Match reports whether the rule wants an event of kind with payload p.
func (r Rule) Match(kind string, p Payload) bool {
	in := func(list []string, v string) bool {
		return len(list) == 0 || v == "" || slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
	}
	if len(r.Events) > 0 && !slices.Contains(r.Events, kind) {
		return false
	}
	if kind == KindDigest {
		// A digest is per initiative set: a rule gets the one of its set.
		return sameSet(r.Initiatives, p.Set)
	}
	return in(r.Initiatives, p.Initiative) && in(r.Flows, p.Flow)
}

// DigestSets are the initiative sets the targets' rules want digests of
// (a nil set: every initiative), each once, sorted keys.
func DigestSets(ts []Target) [][]string {
	var out [][]string
	add := func(set []string) {
		set = normSet(set)
		if !slices.ContainsFunc(out, func(s []string) bool { return slices.Equal(s, set) }) {
			out = append(out, set)
		}
	}
	for _, t := range ts {
		if len(t.Rules) == 0 {
			add(nil)
		}
		for _, r := range t.Rules {
			if len(r.Events) == 0 || slices.Contains(r.Events, KindDigest) {
				add(r.Initiatives)
			}
		}
	}
	return out
}

func normSet(set []string) []string {
	if len(set) == 0 {
		return nil
	}
	out := make([]string, len(set))
	for i, s := range set {
		out[i] = strings.ToUpper(s)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sameSet(a, b []string) bool { return slices.Equal(normSet(a), normSet(b)) }

// Target is a sink with its rules (none: every event) and its pace.
type Target struct {
	Sink  Sink
	Rules []Rule
	// Rate is the messages a second the sink may take (0: 1), Burst how
	// many may go at once (0: 1). Slack allows about one a second per
	// channel.
	Rate, Burst float64
}

func (t Target) wants(kind string, p Payload) bool {
	if kind == KindTest {
		return false // samples go through Test, never the outbox
	}
	if len(t.Rules) == 0 {
		return kind != KindDigest || len(p.Set) == 0 // every event; the digest of everything
	}
	return slices.ContainsFunc(t.Rules, func(r Rule) bool { return r.Match(kind, p) })
}

// Outbox is the store the worker needs: the outbox, a key-value space for
// its delivery records and the shared token buckets that pace each sink
// across replicas. *sqlite.Store (any store.Store) has it all.
type Outbox interface {
	ClaimEvents(ctx context.Context, worker string, limit int, lease time.Duration) ([]store.Event, error)
	AckEvent(ctx context.Context, id int64) error
	RetryEvent(ctx context.Context, id int64, next time.Time, errMsg string) error
	GetKV(ctx context.Context, scope, key string) (string, bool, error)
	PutKV(ctx context.Context, scope, key, value string) error
	DeleteKV(ctx context.Context, scope, key string) error
	TakeTokens(ctx context.Context, bucket string, n, ratePerSec, burst float64, now time.Time) (time.Duration, error)
}

// WorkerOptions configure a Worker; zero values take the defaults shown.
type WorkerOptions struct {
	// ID names this worker in claims (default "notify").
	ID      string
	Targets []Target
	Render  Renderer
	// Batch is how many events one claim takes (25): events claimed
	// together are grouped (the conflicts of one run are one message).
	Batch int
	// Lease is how long a claim holds (5m): a worker killed mid-batch
	// leaves its events to be claimed again when it lapses. Sends that
	// would start after half of it (a slow, paced batch) are put back for
	// the next claim, so a claim never lapses under a live worker; one
	// held up past three quarters of it (frozen, or blocked on the
	// database) sends and settles nothing more of the batch.
	Lease time.Duration
	// MinBackoff and MaxBackoff bound the wait before a retry (10s, 30m);
	// it doubles with each attempt. A Retry-After from the receiver wins.
	MinBackoff, MaxBackoff time.Duration
	// MaxAttempts is when an event is given up on (20), with an error log.
	MaxAttempts int
	// OnGiveUp, when set, hears of events given up on (n of one kind,
	// for one sink, or "" for every sink left), for a metric: a log line
	// alone is easy to miss.
	OnGiveUp func(sink, kind string, n int)
	Log      *slog.Logger
	// Now and Sleep are the clock (time.Now, a timer).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	// afterRecord, in tests, runs after a send is recorded (a kill there
	// is the case the records exist for).
	afterRecord func(sink string, m Message)
}

// Worker delivers outbox events to sinks.
type Worker struct {
	st   Outbox
	o    WorkerOptions
	kick chan struct{}
	// sinks are the targets and the renderer, replaced whole by
	// SetTargets (a reloaded config) between two batches.
	sinks atomic.Pointer[sinkSet]
}

type sinkSet struct {
	targets []Target
	render  Renderer
}

// SetTargets replaces the worker's targets and renderer (a reloaded
// config); the batch being delivered finishes with the old ones.
func (w *Worker) SetTargets(ts []Target, r Renderer) {
	w.sinks.Store(&sinkSet{targets: ts, render: r})
}

// kvScope is the worker's key-value scope: "sent:<sink>:<event id>"
// records that a sink took an event.
const kvScope = "notify"

// NewWorker returns a worker over st.
func NewWorker(st Outbox, o WorkerOptions) *Worker {
	if o.ID == "" {
		o.ID = "notify"
	}
	if o.Batch <= 0 {
		o.Batch = 25
	}
	if o.Lease <= 0 {
		o.Lease = 5 * time.Minute
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 10 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}
	}
	w := &Worker{st: st, o: o, kick: make(chan struct{}, 1)}
	w.SetTargets(o.Targets, o.Render)
	return w
}

// Kick asks a running Run to look at the outbox now.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends: batch after batch while there are due
// events, then every poll or on a Kick.
func (w *Worker) Run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for {
			n, err := w.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				w.o.Log.Error("notifications: delivery failed; retried at the next poll", "err", redact.Global.String(err.Error()))
			}
			if err != nil || n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
	}
}

// outcome is what became of one event across the sinks.
type outcome struct {
	err       error     // last failure
	retryAt   time.Time // zero: backoff
	permanent bool
	failed    bool
	deferred  bool // not sent for lack of time: back at once, no failure
}

// RunOnce claims one batch and delivers it: per sink, the events its rules
// want and it has not taken yet, grouped into messages and paced; then
// each event is acked (every sink took it, or will never) or released for
// a retry. It returns how many events it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	claimed := w.o.Now()
	evs, err := w.st.ClaimEvents(ctx, w.o.ID, w.o.Batch, w.o.Lease)
	if err != nil {
		return 0, fmt.Errorf("notify: claiming events: %w", err)
	}
	// A full batch ending in a held conflict may stop in the middle of
	// one run's conflicts, which are one message: claim on until the
	// batch comes back short or ends in another kind (at most maxGroup).
	for len(evs) >= w.o.Batch && len(evs) < maxGroup && len(evs)%w.o.Batch == 0 && evs[len(evs)-1].Kind == KindConflictHeld {
		more, err := w.st.ClaimEvents(ctx, w.o.ID, w.o.Batch, w.o.Lease)
		if err != nil {
			w.o.Log.Warn("notifications: claiming the rest of a run's conflicts; they go in another message", "err", err)
			break
		}
		evs = append(evs, more...)
		if len(more) == 0 {
			break
		}
	}
	if len(evs) == 0 {
		return 0, nil
	}
	payloads := make([]Payload, len(evs))
	out := make(map[int64]*outcome, len(evs))
	var good []int
	for i, e := range evs {
		out[e.ID] = &outcome{}
		p, err := decode(e)
		if err != nil {
			w.o.Log.Error("notifications: dropping an event that cannot be read", "event", e.ID, "kind", e.Kind, "err", err)
			out[e.ID].permanent, out[e.ID].failed, out[e.ID].err = true, true, err
			continue
		}
		payloads[i] = p
		good = append(good, i)
	}
	// Past lapse, the claim may be gone (it runs on the database's clock
	// from a moment after claimed): another replica may hold these events
	// and be sending them.
	lapse := claimed.Add(w.o.Lease * 3 / 4)
	sinks := w.sinks.Load()
	for _, t := range sinks.targets {
		if err := w.deliver(ctx, t, sinks.render, evs, payloads, good, out, claimed.Add(w.o.Lease/2), lapse); err != nil {
			if errors.Is(err, errClaimLapsed) {
				w.o.Log.Warn("notifications: this worker was held up (a paused process or a blocked database connection?) until its claim on the events ran out; it sends and settles nothing more of them, the next claim does", "sink", t.Sink.Name(), "events", len(evs), "claimed_at", claimed, "lease", w.o.Lease)
				return len(evs), nil
			}
			return len(evs), err // ctx ended: the claim lapses, the events come back
		}
	}
	if w.o.Now().After(lapse) {
		// Settling now could release another replica's claim.
		w.o.Log.Warn("notifications: this worker was held up until its claim on the events ran out; it leaves them to the next claim", "events", len(evs), "claimed_at", claimed, "lease", w.o.Lease)
		return len(evs), nil
	}
	for _, e := range evs {
		if err := w.settle(ctx, sinks.targets, e, out[e.ID]); err != nil {
			return len(evs), err
		}
	}
	return len(evs), nil
}

// maxGroup bounds the events one RunOnce claims to keep a run's conflicts
// in one message: 100 conflicts are ten Slack sections of facts, well
// inside Slack's 50 blocks and a Teams card's 28 KB.
const maxGroup = 100

// errClaimLapsed stops a batch whose claim ran out under it.
var errClaimLapsed = errors.New("notify: the claim on the batch ran out")

func sentKey(sink string, id int64) string { return "sent:" + sink + ":" + strconv.FormatInt(id, 10) }

// deliver sends target t the events among good it wants and has not taken.
// A send that would start after sendBy is deferred; one that, after its
// pacing wait, would start after lapse stops the batch (errClaimLapsed).
func (w *Worker) deliver(ctx context.Context, t Target, render Renderer, evs []store.Event, payloads []Payload, good []int, out map[int64]*outcome, sendBy, lapse time.Time) error {
	name := t.Sink.Name()
	var mine []store.Event
	var ps []Payload
	for _, i := range good {
		e := evs[i]
		if !t.wants(e.Kind, payloads[i]) {
			continue
		}
		_, sent, err := w.st.GetKV(ctx, kvScope, sentKey(name, e.ID))
		if err != nil {
			return fmt.Errorf("notify: reading the delivery record of event %d for %s: %w", e.ID, name, err)
		}
		if sent {
			continue // taken before a crash or by another replica
		}
		mine, ps = append(mine, e), append(ps, payloads[i])
	}
	var throttled time.Time // a 429 holds the rest of this sink's batch
	for _, m := range render.Group(mine, ps) {
		if !throttled.IsZero() {
			w.fail(m, out, errors.New("notify: sink "+name+" is rate limited"), throttled, false)
			continue
		}
		rate, burst := t.Rate, t.Burst
		if rate <= 0 {
			rate = 1
		}
		if burst <= 0 {
			burst = 1
		}
		// Checked before the pacing reservation, so a deferred send
		// leaves no debt in the bucket; a send may start one pacing wait
		// after sendBy, far inside the claim.
		if w.o.Now().After(sendBy) {
			for _, e := range m.Events {
				out[e.ID].deferred = true
			}
			continue
		}
		wait, err := w.st.TakeTokens(ctx, "notify:"+name, 1, rate, burst, w.o.Now())
		if err != nil {
			return fmt.Errorf("notify: pacing %s: %w", name, err)
		}
		if wait > 0 {
			if err := w.o.Sleep(ctx, wait); err != nil {
				return err
			}
		}
		// A wait (or the reservation before it) that a frozen process
		// or a blocked connection stretched past the claim: another
		// replica may have sent these already.
		if w.o.Now().After(lapse) {
			return errClaimLapsed
		}
		err = t.Sink.Send(ctx, m)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && adapters.IsPermanent(err) {
			// This sink will answer the same however often it is
			// asked: the events are given up for it alone, recorded
			// like a send so that their retries for the other sinks
			// skip it.
			w.o.Log.Error("notifications: giving up on these events for this sink: it refused them for good", "sink", name, "kind", m.Kind, "events", len(m.Events), "err", redact.Global.String(err.Error()))
			if w.o.OnGiveUp != nil {
				w.o.OnGiveUp(name, m.Kind, len(m.Events))
			}
			if err := w.record(ctx, name, m, "gave up"); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			var rl *adapters.RateLimitError
			at := time.Time{}
			if errors.As(err, &rl) {
				d := max(rl.RetryAfter, time.Second)
				at = w.o.Now().Add(d)
				throttled = at
			}
			w.o.Log.Warn("notifications: send failed", "sink", name, "kind", m.Kind, "events", len(m.Events), "err", redact.Global.String(err.Error()))
			w.fail(m, out, err, at, false)
			continue
		}
		// Record the send at once, before anything else can fail: a
		// worker killed from here on leaves the events to a later claim,
		// which skips this sink for them.
		if err := w.record(ctx, name, m, "sent"); err != nil {
			return err
		}
		w.o.Log.Info("notification sent", "sink", name, "kind", m.Kind, "events", len(m.Events), "title", m.Title)
		if w.o.afterRecord != nil {
			w.o.afterRecord(name, m)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	return nil
}

// record notes that sink took m's events (or will never: what says
// which), so that no later claim sends them to it again.
func (w *Worker) record(ctx context.Context, sink string, m Message, what string) error {
	rec := context.WithoutCancel(ctx)
	for _, e := range m.Events {
		if err := w.st.PutKV(rec, kvScope, sentKey(sink, e.ID), what+" "+w.o.Now().UTC().Format(time.RFC3339)); err != nil {
			return fmt.Errorf("notify: recording the delivery of event %d to %s: %w", e.ID, sink, err)
		}
	}
	return nil
}

func (w *Worker) fail(m Message, out map[int64]*outcome, err error, at time.Time, permanent bool) {
	for _, e := range m.Events {
		o := out[e.ID]
		o.failed, o.err = true, err
		o.permanent = o.permanent || permanent
		if at.After(o.retryAt) {
			o.retryAt = at
		}
	}
}

// settle acks e or schedules its retry.
func (w *Worker) settle(ctx context.Context, targets []Target, e store.Event, o *outcome) error {
	giveUp := o.failed && (o.permanent || e.Attempts >= w.o.MaxAttempts)
	if o.deferred && !giveUp {
		if err := w.st.RetryEvent(ctx, e.ID, w.o.Now(), "deferred: the batch ran past half its claim"); err != nil {
			return fmt.Errorf("notify: putting event %d back: %w", e.ID, err)
		}
		return nil
	}
	if o.failed && !giveUp {
		next := o.retryAt
		if next.IsZero() {
			d := w.o.MinBackoff << min(max(e.Attempts-1, 0), 20)
			next = w.o.Now().Add(min(d, w.o.MaxBackoff))
		}
		msg := redact.Global.String(o.err.Error())
		if err := w.st.RetryEvent(ctx, e.ID, next, msg); err != nil {
			return fmt.Errorf("notify: scheduling the retry of event %d: %w", e.ID, err)
		}
		return nil
	}
	if giveUp {
		w.o.Log.Error("notifications: giving up on an event", "event", e.ID, "kind", e.Kind, "attempts", e.Attempts, "err", redact.Global.String(o.err.Error()))
		if w.o.OnGiveUp != nil {
			w.o.OnGiveUp("", e.Kind, 1)
		}
	}
	if err := w.st.AckEvent(ctx, e.ID); err != nil {
		return fmt.Errorf("notify: acking event %d: %w", e.ID, err)
	}
	// The records are only needed while the event can come back.
	for _, t := range targets {
		if err := w.st.DeleteKV(ctx, kvScope, sentKey(t.Sink.Name(), e.ID)); err != nil {
			w.o.Log.Debug("notifications: delivery record left behind", "event", e.ID, "err", err)
		}
	}
	return nil
}

// Test sends a sample message to t's sink now, bypassing the outbox.
func Test(ctx context.Context, t Target, r Renderer) error {
	m := r.render(KindTest, []Payload{{}})
	m.Kind = KindTest
	return t.Sink.Send(ctx, m)
}
