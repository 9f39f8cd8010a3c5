package rest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// Limits is a request budget: a token bucket and sliding windows, every
// one of which a request must fit. The zero value allows everything.
type Limits struct {
	// PerSecond refills the bucket; 0 means no bucket.
	PerSecond float64
	// Burst is the bucket's size (default 1: requests evenly spaced).
	Burst int
	// Windows cap the requests in any interval of their length. A
	// bucket refilled at 80 a minute still lets 160 through in some
	// 60-second span, which GitHub counts as a violation of "80 a
	// minute"; a window does not.
	Windows []Window
}

// Window is a cap of Limit requests in any interval of length Per.
type Window struct {
	Limit int
	Per   time.Duration
}

// Budget holds a pacer's state: the requests booked and any server-told
// hold. It is an interface so that the state can live in the state store
// and be shared by replicas using one token; NewMemoryBudget is the
// in-process one. Implementations are safe for concurrent use.
type Budget interface {
	// Reserve books one request no earlier than now and returns when it
	// may be sent (now or later). Booked slots are spent even when the
	// caller gives up waiting.
	Reserve(ctx context.Context, now time.Time) (time.Time, error)
	// Hold records that the tracker asked for no requests before until;
	// a later hold extends it, an earlier one does not shorten it.
	Hold(ctx context.Context, until time.Time) error
	// HeldUntil is the hold in force (zero when none was set).
	HeldUntil(ctx context.Context) (time.Time, error)
}

// NewMemoryBudget is an in-process Budget for l.
func NewMemoryBudget(l Limits) *MemoryBudget {
	b := &MemoryBudget{limits: l}
	if l.PerSecond > 0 {
		b.interval = time.Duration(float64(time.Second) / l.PerSecond)
		b.tau = time.Duration(max(l.Burst, 1)-1) * b.interval
	}
	for _, w := range l.Windows {
		b.longest = max(b.longest, w.Per)
	}
	return b
}

// MemoryBudget is the in-process Budget. The bucket is kept as the
// generic cell rate algorithm's one timestamp (the theoretical arrival
// time of the next request), the windows as the times of the requests
// booked within the longest one: both small enough for a store row.
type MemoryBudget struct {
	limits        Limits
	interval, tau time.Duration
	longest       time.Duration

	mu   sync.Mutex
	tat  time.Time   // bucket: next request's theoretical arrival
	log  []time.Time // windows: booked times, ascending
	hold time.Time
}

// Reserve implements Budget.
func (b *MemoryBudget) Reserve(_ context.Context, now time.Time) (time.Time, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	at := now
	if b.interval > 0 {
		if t := b.tat.Add(-b.tau); t.After(at) {
			at = t
		}
	}
	if len(b.limits.Windows) > 0 {
		cut := 0
		for cut < len(b.log) && !b.log[cut].After(now.Add(-b.longest)) {
			cut++
		}
		b.log = b.log[cut:]
		if n := len(b.log); n > 0 && b.log[n-1].After(at) {
			at = b.log[n-1] // keep the log ascending
		}
		// With every booked time at or before at, a window holds fewer
		// than Limit of them once at is Per past the Limit-th latest.
		for _, w := range b.limits.Windows {
			if w.Limit > 0 && len(b.log) >= w.Limit {
				if t := b.log[len(b.log)-w.Limit].Add(w.Per); t.After(at) {
					at = t
				}
			}
		}
		b.log = append(b.log, at)
	}
	if b.interval > 0 {
		if b.tat.Before(at) {
			b.tat = at
		}
		b.tat = b.tat.Add(b.interval)
	}
	return at, nil
}

// Hold implements Budget.
func (b *MemoryBudget) Hold(_ context.Context, until time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until.After(b.hold) {
		b.hold = until
	}
	return nil
}

// HeldUntil implements Budget.
func (b *MemoryBudget) HeldUntil(context.Context) (time.Time, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hold, nil
}

// PacerOptions configure a Pacer.
type PacerOptions struct {
	// Tracker names the tracker in the errors the pacer returns.
	Tracker string
	// Budget holds the state (default NewMemoryBudget(Limits)).
	Budget Budget
	// Limits are used when Budget is nil.
	Limits Limits
	// Credential names the credential the limits belong to (a hash of
	// it, never the secret). When adapters.SetSharedRates has set a
	// shared store and Budget is nil, the budget lives there under
	// Tracker and Credential, shared by every process using them.
	Credential string
	// Serial lets one request through at a time: the next waits until
	// the previous one's release (GitHub asks for no concurrent
	// content-creating requests).
	Serial bool
	// Clock and Sleep drive the waits (default: real time); tests pass
	// a fake clock's.
	Clock func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Pacer spaces one tracker's requests to a Budget and honours the waits
// the tracker's answers ask for. It is safe for concurrent use.
type Pacer struct {
	tracker string
	budget  Budget
	sem     chan struct{}
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
}

// NewPacer builds a Pacer.
func NewPacer(o PacerOptions) *Pacer {
	p := &Pacer{tracker: o.Tracker, budget: o.Budget, now: o.Clock, sleep: o.Sleep}
	if p.budget == nil {
		if s := adapters.CurrentSharedRates(); s != nil && (o.Limits.PerSecond > 0 || len(o.Limits.Windows) > 0) {
			sb := NewStoreBudget(s, CredentialKey(o.Tracker, o.Credential), o.Limits)
			sb.reserve = adapters.Background()
			p.budget = sb
		} else {
			p.budget = NewMemoryBudget(o.Limits)
		}
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.sleep == nil {
		p.sleep = Sleep
	}
	if o.Serial {
		p.sem = make(chan struct{}, 1)
	}
	return p
}

// Acquire waits until one more request fits the budget (and, for a serial
// pacer, the previous one was released). Call release once the request
// has been answered. A hold in force is a *adapters.RateLimitError at
// once, without waiting: a used-up quota lasts up to an hour, which is
// the engine's to schedule.
func (p *Pacer) Acquire(ctx context.Context) (release func(), err error) {
	if err := p.Blocked(ctx); err != nil {
		return nil, err
	}
	release = func() {}
	if p.sem != nil {
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		release = func() { <-p.sem }
	}
	at, err := p.reserve(ctx)
	if err != nil {
		release()
		return nil, err
	}
	if d := at.Sub(p.now()); d > 0 {
		adapters.ObserveWait(ctx, p.tracker, "pacing requests to the rate budget", d)
		if err := p.sleep(ctx, d); err != nil {
			release()
			return nil, err
		}
	}
	return release, nil
}

// backgroundBudget is a Budget that can yield to others (StoreBudget
// under adapters.SetBackground).
type backgroundBudget interface {
	Background() bool
	TryReserve(ctx context.Context, now time.Time) (at time.Time, ok bool, err error)
}

// reserve books the next request: at once for a budget of its own or a
// foreground one; a background budget asks until a request fits above
// the others' reserve, waiting in between (nothing booked meanwhile, so
// live sync on the same budget is never queued behind it).
func (p *Pacer) reserve(ctx context.Context) (time.Time, error) {
	bb, ok := p.budget.(backgroundBudget)
	if !ok || !bb.Background() {
		return p.budget.Reserve(ctx, p.now())
	}
	for {
		at, ok, err := bb.TryReserve(ctx, p.now())
		if err != nil || ok {
			return at, err
		}
		d := at.Sub(p.now())
		adapters.ObserveWait(ctx, p.tracker, "yielding the shared rate budget to live sync", d)
		if err := p.sleep(ctx, d); err != nil {
			return time.Time{}, err
		}
	}
}

// Blocked is a *adapters.RateLimitError (in an *adapters.APIError) while
// a server-told hold is in force, nil otherwise. Requests that are not
// paced (GitHub's reads) check it before they are sent.
func (p *Pacer) Blocked(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	until, err := p.budget.HeldUntil(ctx)
	if err != nil {
		return err
	}
	if now := p.now(); now.Before(until) {
		const msg = "rate limit used up"
		return &adapters.APIError{Tracker: p.tracker, Op: "waiting for the rate limit", Status: http.StatusForbidden, Message: msg,
			Err: &adapters.RateLimitError{RetryAfter: until.Sub(now), Scope: "primary", Message: msg}}
	}
	return nil
}

// Observe reads the limits an answer reports. A quota reported used up
// (X-RateLimit-Remaining: 0 with a reset ahead) holds every request until
// the reset. A 429 does not: it is the error of its own request, and its
// scope may be one issue or one endpoint (Jira sends Remaining: 0 on
// per-issue limits too).
func (p *Pacer) Observe(ctx context.Context, status int, h http.Header) {
	if status == http.StatusTooManyRequests || h == nil {
		return
	}
	now := p.now()
	if r := ParseRate(h, now); r.Known {
		if _, ok := r.Exhausted(now); ok {
			_ = p.budget.Hold(ctx, r.Reset)
		}
	}
}

// Transport wraps next so that every answer, each retry included, is
// Observed.
func (p *Pacer) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return observing{p, next}
}

type observing struct {
	p    *Pacer
	next http.RoundTripper
}

func (o observing) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := o.next.RoundTrip(r)
	if err == nil {
		o.p.Observe(r.Context(), resp.StatusCode, resp.Header)
	}
	return resp, err
}

// Sleep waits for d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// CredentialKey is a shared budget's key for a tracker's credential: the
// tracker's name and a short hash of the credential, so the secret never
// reaches the store.
func CredentialKey(tracker, credential string) string {
	if credential == "" {
		return tracker
	}
	sum := sha256.Sum256([]byte(credential))
	return tracker + "/" + hex.EncodeToString(sum[:6])
}
