// Package store is tracksync's state: links between items in two trackers,
// the base snapshot each linked pair last agreed on, per-side cursors, the
// write journal, conflicts held for a person, run history and one daily
// roll-up snapshot per initiative (progress over time). It is also where
// processes coordinate: anything two tracksync processes (a laptop run
// beside a server, or several `serve` replicas) must agree on is a row
// here, never a variable in one process: flow leases with a fencing token
// that the journal checks on every write, flow generations, webhook
// delivery ids, shared rate budgets, a small key-value space per tracker
// and an outbox of events.
//
// Writers are the sync engine (links, bases, journal, runs), the daemon
// (generations, deliveries, outbox delivery), adapters (their key-value
// scope, rate budgets), the CLI (undo, conflict resolution) and the
// initiatives service (snapshots). Implementations register by name like
// database/sql drivers (Register, Open); store/sqlite registers "sqlite".
// store/storetest is the conformance suite every implementation passes.
package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/internal/sides"
)

// Sentinel errors.
var (
	// ErrNotFound: no such link, base, conflict, run or journal entry.
	ErrNotFound = errors.New("not found in state store")
	// ErrExists: a link for that flow and side ref already exists.
	ErrExists = errors.New("already exists in state store")
	// ErrLocked: another process holds the lock (see *LockedError).
	ErrLocked = errors.New("locked by another process")
	// ErrTooNew: the store's schema is newer than this binary knows.
	ErrTooNew = errors.New("state store schema is newer than this binary")
	// ErrLeaseLost: a write was fenced off because the lease it was made
	// under is no longer held by that token (another process took it
	// over, or it expired). The writer must stop: what it was doing is
	// someone else's now.
	ErrLeaseLost = errors.New("lease lost: another process holds it now or it expired")
)

// Lease is a named lease held by Owner until Expires. Token is its fencing
// token: it strictly increases, per name, on every new acquisition (a fresh
// lock, a takeover of an expired or released lease, the holder re-locking
// after its lease expired) and stays the same when the holder renews an
// unexpired lease. Writes carry the token; the store refuses those whose
// token is no longer the holder's, so a process that paused past its lease
// cannot write beside the one that took over.
type Lease struct {
	Name    string    `json:"name"`
	Owner   string    `json:"owner"`
	Token   int64     `json:"token"`
	Expires time.Time `json:"expires"`
}

// LockedError says who holds a lock, so the message can tell the user.
type LockedError struct {
	Name    string
	Owner   string // "host:pid" or a replica id
	Expires time.Time
}

func (e *LockedError) Error() string {
	return "lock " + e.Name + " is held by " + e.Owner + " until " + e.Expires.UTC().Format(time.RFC3339)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// Side is one side of a flow (package side, which mapping uses too).
type Side = sides.Side

// The two sides.
const (
	SideA = sides.A
	SideB = sides.B
)

// Link pairs one item on side A with one on side B within a flow. Key is
// stable for the link's life and is the idempotency key of the create that
// made the counterpart.
type Link struct {
	ID        int64        `json:"id"`
	Flow      string       `json:"flow"`
	Key       string       `json:"key"`
	A         adapters.Ref `json:"a"`
	B         adapters.Ref `json:"b"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// TombstonePrefix marks the side of a link whose item was deleted or left
// the flow's scope (on_delete unlink or close): the link is kept, with that
// side's ID prefixed, so the surviving item is neither copied back as new
// nor synced. Such a link is a tombstone; CountLinks skips it.
const TombstonePrefix = "deleted:"

// Tombstone reports whether l is a tombstone.
func (l Link) Tombstone() bool {
	return strings.HasPrefix(l.A.ID, TombstonePrefix) || strings.HasPrefix(l.B.ID, TombstonePrefix)
}

// Ref returns the link's ref on side s.
func (l Link) Ref(s Side) adapters.Ref {
	if s == SideA {
		return l.A
	}
	return l.B
}

// Base is the snapshot both sides of a link agreed on at the last sync:
// each side's canonical field values (adapters.FieldValue) keyed by field
// name, in that side's own vocabulary (a status map may be many-to-one, so
// one side's value cannot always be recovered from the other's), and the
// item versions seen then.
type Base struct {
	LinkID   int64             `json:"link_id"`
	A        map[string]string `json:"a"`
	B        map[string]string `json:"b"`
	AVersion string            `json:"a_version,omitempty"`
	BVersion string            `json:"b_version,omitempty"`
	SyncedAt time.Time         `json:"synced_at"`
}

// CommentLink pairs a comment on side A with its copy on side B.
type CommentLink struct {
	LinkID int64  `json:"link_id"`
	AID    string `json:"a_id"`
	BID    string `json:"b_id"`
	// Hash of the body both agreed on, to detect edits.
	BodyHash string `json:"body_hash"`
}

// Journal entry states.
const (
	JournalPending = "pending" // intent recorded; the API call may or may not have happened
	JournalDone    = "done"    // the API call succeeded and its effect is recorded
	JournalFailed  = "failed"  // the API call failed; nothing (known) was written
	JournalUndone  = "undone"  // reverted by `tracksync undo`
)

// JournalEntry is one write to a tracker, recorded before the call
// (pending) and completed after it.
type JournalEntry struct {
	ID     int64  `json:"id"`
	RunID  int64  `json:"run_id"`
	Flow   string `json:"flow"`
	LinkID int64  `json:"link_id,omitempty"` // 0 for a create before its link exists
	// Op is the plan operation kind: create, update, archive, delete,
	// comment_add, comment_edit.
	Op     string       `json:"op"`
	Side   Side         `json:"side"`   // the side written
	Target adapters.Ref `json:"target"` // the item written (for create: the source item)
	// IdempotencyKey of a create or comment add.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// LeaseName and LeaseToken are the lease the write is made under
	// (Lease.Name, Lease.Token); "" for a write made under no lease (a
	// tool, a test). JournalIntent refuses the entry with ErrLeaseLost
	// when that lease is no longer held with that token.
	LeaseName  string `json:"lease_name,omitempty"`
	LeaseToken int64  `json:"lease_token,omitempty"`
	// Before and After are canonical field values before and after the write.
	Before map[string]string `json:"before,omitempty"`
	After  map[string]string `json:"after,omitempty"`
	// Result is the ref the write produced (the created item), once done.
	Result    adapters.Ref `json:"result,omitempty"`
	State     string       `json:"state"`
	Error     string       `json:"error,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	DoneAt    time.Time    `json:"done_at,omitempty"`
}

// Conflict states.
const (
	ConflictOpen     = "open"
	ConflictResolved = "resolved"
)

// Conflict is a field both sides changed differently, held for a person
// under the manual policy.
type Conflict struct {
	ID     int64  `json:"id"`
	Flow   string `json:"flow"`
	LinkID int64  `json:"link_id"`
	Field  string `json:"field"`
	Base   string `json:"base"`
	A      string `json:"a"` // side A's value (side A's vocabulary)
	B      string `json:"b"` // side B's value
	State  string `json:"state"`
	// Resolution is "a", "b" or "value" (also used when the sides came to
	// agree on their own); Value the chosen canonical value in side A's
	// vocabulary.
	Resolution string    `json:"resolution,omitempty"`
	Value      string    `json:"value,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ResolvedAt time.Time `json:"resolved_at,omitempty"`
}

// Run states.
const (
	RunRunning   = "running"
	RunOK        = "ok"
	RunFailed    = "failed"
	RunStopped   = "stopped"   // by the safety valve
	RunConflicts = "conflicts" // finished, with conflicts held
)

// Counts summarise a run.
type Counts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Conflicts int `json:"conflicts"`
	Archived  int `json:"archived"`
	Unlinked  int `json:"unlinked"`
	Comments  int `json:"comments"`
	Errors    int `json:"errors"`
}

// Run is one sync run of one flow.
type Run struct {
	ID         int64     `json:"id"`
	Flow       string    `json:"flow"`
	State      string    `json:"state"`
	DryRun     bool      `json:"dry_run,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitempty"`
	Counts     Counts    `json:"counts"`
	Error      string    `json:"error,omitempty"`
}

// Snapshot is one initiative's roll-up figures on one day (UTC). A later
// snapshot of the same initiative and day replaces the earlier one.
type Snapshot struct {
	Initiative     string    `json:"initiative"` // the initiative's rollup key, "tracker:id"
	Day            string    `json:"day"`        // YYYY-MM-DD
	Total          int       `json:"total"`
	Done           int       `json:"done"`
	InProgress     int       `json:"in_progress"`
	Todo           int       `json:"todo"`
	DoneByCount    float64   `json:"done_by_count"`
	DoneByEstimate float64   `json:"done_by_estimate"`
	AtRisk         bool      `json:"at_risk"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Ops are the data operations; both Store and a transaction offer them.
// Every method is safe for concurrent use on a Store.
type Ops interface {
	// CreateLink stores l (ID, CreatedAt, UpdatedAt are assigned) and
	// returns it. ErrExists if the flow already links l.A.ID or l.B.ID.
	CreateLink(ctx context.Context, l Link) (Link, error)
	// UpdateLink replaces the refs of link l.ID (keys, URLs change).
	UpdateLink(ctx context.Context, l Link) error
	// GetLink returns link id, or ErrNotFound.
	GetLink(ctx context.Context, id int64) (Link, error)
	// FindLink returns the link of flow whose side s has item id, or ErrNotFound.
	FindLink(ctx context.Context, flow string, s Side, id string) (Link, error)
	// FindLinkByKey returns the link of flow with key, or ErrNotFound.
	FindLinkByKey(ctx context.Context, flow, key string) (Link, error)
	// ListLinks returns every link of flow ("" for all flows), by ID.
	ListLinks(ctx context.Context, flow string) ([]Link, error)
	// CountLinks counts the links of flow that are not tombstones.
	CountLinks(ctx context.Context, flow string) (int, error)
	// DeleteLink removes link id with its base, comment links and
	// conflicts. Link IDs are never reused.
	DeleteLink(ctx context.Context, id int64) error

	// PutBase stores (replaces) the base of b.LinkID.
	PutBase(ctx context.Context, b Base) error
	// GetBase returns the base of a link, or ErrNotFound.
	GetBase(ctx context.Context, linkID int64) (Base, error)
	// ListBases returns the bases of every link of flow, by link ID.
	ListBases(ctx context.Context, flow string) (map[int64]Base, error)

	// PutCommentLink stores (replaces by LinkID+AID) a comment pair.
	PutCommentLink(ctx context.Context, c CommentLink) error
	// ListCommentLinks returns the comment pairs of a link.
	ListCommentLinks(ctx context.Context, linkID int64) ([]CommentLink, error)

	// GetCursor returns the cursor of one side of flow, "" if none.
	GetCursor(ctx context.Context, flow string, s Side) (string, error)
	// PutCursor stores it.
	PutCursor(ctx context.Context, flow string, s Side, cursor string) error

	// JournalIntent records e as pending (ID and CreatedAt assigned) and
	// returns its ID. It must be durable before the API call it describes.
	// When e.LeaseName is set, the check that the lease is still held
	// with e.LeaseToken (and unexpired, by the store's clock) and the
	// insert are one atomic step; otherwise it fails with an error
	// wrapping ErrLeaseLost and records nothing.
	JournalIntent(ctx context.Context, e JournalEntry) (int64, error)
	// JournalFinish sets the state, result, link and error of entry id:
	// done or failed, or pending again (with the error) when a call failed
	// in a way that may still have taken effect and is to be re-issued.
	// lease is the caller's (the zero Lease: unfenced), not the one the
	// entry was written under: a run that took a flow over finishes the
	// entries its predecessor left pending. With lease.Name set, the
	// check and the update are one atomic step, and a lease no longer
	// held with lease.Token fails with ErrLeaseLost, changing nothing (in
	// a Tx, the caller's other writes then roll back with it).
	JournalFinish(ctx context.Context, id int64, state string, result adapters.Ref, linkID int64, errMsg string, lease Lease) error
	// JournalSetState changes only the state of entry id (e.g. to undone).
	JournalSetState(ctx context.Context, id int64, state string) error
	// JournalHasKey reports whether any journal entry, of any flow, is a
	// write with idempotency key (whatever its outcome): whether this
	// store ever set out to make the item that carries key.
	JournalHasKey(ctx context.Context, key string) (bool, error)
	// PendingJournal lists pending entries of flow ("" for all), oldest first.
	PendingJournal(ctx context.Context, flow string) ([]JournalEntry, error)
	// RunJournal lists the entries of run, oldest first.
	RunJournal(ctx context.Context, runID int64) ([]JournalEntry, error)

	// PutConflict stores an open conflict and returns its ID. If an open
	// conflict for the same link and field exists it is replaced (same ID).
	PutConflict(ctx context.Context, c Conflict) (int64, error)
	// GetConflict returns conflict id, or ErrNotFound.
	GetConflict(ctx context.Context, id int64) (Conflict, error)
	// ListConflicts lists conflicts of flow ("" for all); state "" for any.
	ListConflicts(ctx context.Context, flow, state string) ([]Conflict, error)
	// ResolveConflict marks conflict id resolved with resolution and value.
	ResolveConflict(ctx context.Context, id int64, resolution, value string) error

	// StartRun records a new running run and returns it with its ID.
	StartRun(ctx context.Context, flow string, dryRun bool) (Run, error)
	// FinishRun records the end state, counts and error of run r.ID.
	FinishRun(ctx context.Context, r Run) error
	// GetRun returns run id, or ErrNotFound.
	GetRun(ctx context.Context, id int64) (Run, error)
	// ListRuns lists runs of flow ("" for all), newest first, at most limit (0: all).
	ListRuns(ctx context.Context, flow string, limit int) ([]Run, error)

	// PutSnapshot stores s, replacing the snapshot of the same initiative
	// and day. An error wrapping adapters.ErrInvalid, with nothing written,
	// when Day is not YYYY-MM-DD, Initiative is empty or a DoneBy figure
	// is NaN or infinite. A zero UpdatedAt is stamped with the store's clock.
	PutSnapshot(ctx context.Context, s Snapshot) error
	// ListSnapshots returns the snapshots of initiative ("" for all) from
	// day since on ("" for all), oldest day first (then by initiative).
	// A since that is not YYYY-MM-DD fails with adapters.ErrInvalid.
	ListSnapshots(ctx context.Context, initiative, since string) ([]Snapshot, error)
	// DeleteSnapshots removes the snapshots older than day before
	// (retention; before itself is kept) and returns how many. A before
	// that is not YYYY-MM-DD (including "") fails with adapters.ErrInvalid.
	DeleteSnapshots(ctx context.Context, before string) (int64, error)

	// GetKV returns the value of key in scope, ok false when there is
	// none. A scope is one owner's space; by convention an adapter uses
	// its tracker's configured name.
	// Adapters keep small durable state here: a webhook handshake
	// secret, ETags. It is in Ops so that such state can change in the
	// same transaction as what depends on it (a cursor, say).
	GetKV(ctx context.Context, scope, key string) (value string, ok bool, err error)
	// PutKV stores (replaces) the value of key in scope. An empty scope
	// or key fails with an error wrapping adapters.ErrInvalid.
	PutKV(ctx context.Context, scope, key, value string) error
	// DeleteKV removes key from scope; removing a missing key is a no-op.
	DeleteKV(ctx context.Context, scope, key string) error

	// PutEvent adds e to the outbox (ID and CreatedAt assigned; a zero
	// NextAttempt means now; Attempts and LastError are ignored) and
	// returns its ID. It is in Ops so an event is written in the same
	// transaction as the change it reports: both land or neither does.
	// An event whose non-empty DedupKey the outbox already holds (pending
	// or delivered) is not added again: the existing event's ID is
	// returned, with no error.
	PutEvent(ctx context.Context, e Event) (int64, error)

	// PutDateChange records that initiative c.Initiative's target date
	// went from c.From to c.To at c.At (a zero At means now), for the
	// date-slip history. An error wrapping adapters.ErrInvalid, with
	// nothing written, when Initiative is empty or a day is neither ""
	// nor YYYY-MM-DD.
	PutDateChange(ctx context.Context, c DateChange) error
	// ListDateChanges returns the changes of initiative ("" for all),
	// oldest first.
	ListDateChanges(ctx context.Context, initiative string) ([]DateChange, error)
}

// DateChange is one change of an initiative's target date. From is ""
// when the date was first seen (or newly set), To "" when it was removed.
type DateChange struct {
	Initiative string    `json:"initiative"` // the initiative's rollup key
	At         time.Time `json:"at"`
	From       string    `json:"from"` // YYYY-MM-DD or ""
	To         string    `json:"to"`
}

// Event is one outbox entry: something other parts react to ("a run
// finished", "a conflict was held"), delivered at least once by a worker.
type Event struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"` // e.g. "run.finished"
	// DedupKey, when set, makes PutEvent idempotent: one event per key.
	DedupKey    string    `json:"dedup_key,omitempty"`
	Payload     []byte    `json:"payload,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	Attempts    int       `json:"attempts"`     // claims so far, this one included
	NextAttempt time.Time `json:"next_attempt"` // not claimed before this
	LastError   string    `json:"last_error,omitempty"`
}

// Coordinator is what processes sharing one store agree on. Every method
// commits on its own, never inside a caller's Tx: a lease, a generation
// or a delivery id must be visible to the other processes at once and
// must not roll back with an unrelated write. Each is atomic across
// processes. Arguments outside the documented range (an empty name, a
// rate that is not positive) fail with an error wrapping
// adapters.ErrInvalid.
type Coordinator interface {
	// Lock takes or renews the named lease for owner until now+ttl (the
	// store's clock) and returns it. A new acquisition (the lease free,
	// released, expired, or held by owner but expired) gets a token
	// greater than any the name had; the holder of an unexpired lease
	// renewing it keeps its token. It fails with a *LockedError
	// (wrapping ErrLocked) when another owner holds an unexpired lease.
	Lock(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error)
	// Unlock releases owner's lease; a lease owner does not hold is left
	// alone (no error). The token counter survives: the next Lock of the
	// name gets a greater token.
	Unlock(ctx context.Context, name, owner string) error
	// ExpiredLeases lists the leases named with prefix that an owner took
	// and never released, and whose expiry has passed (by the store's
	// clock): their holder died or froze in the middle of its work. Name,
	// Owner, Token and Expires are set.
	ExpiredLeases(ctx context.Context, prefix string) ([]Lease, error)

	// BumpGeneration increments the generation of name (0 before the
	// first bump) and returns the new value. Durable: it survives
	// restarts, so jobs of an old generation stay recognisably old.
	BumpGeneration(ctx context.Context, name string) (int64, error)
	// Generation returns the current generation of name, 0 if never bumped.
	Generation(ctx context.Context, name string) (int64, error)

	// SeenDelivery records the webhook delivery id of tracker for keep
	// and reports whether this is its first sighting (true) or a repeat
	// (false) within keep of the first. Exactly one of any number of
	// concurrent callers, in any processes, gets true. Ids older than
	// keep are forgotten (and cleaned up). keep must be positive for the
	// id to be remembered at all.
	SeenDelivery(ctx context.Context, tracker, id string, keep time.Duration) (first bool, err error)
	// ForgetDelivery drops a delivery id SeenDelivery recorded, so that
	// the next sighting is a first again: the receiver could not act on
	// the delivery (its sync was not enqueued) and the tracker's retry
	// must be handled. Forgetting an id not recorded is no error.
	ForgetDelivery(ctx context.Context, tracker, id string) error

	// TakeTokens reserves n tokens from the token bucket named bucket
	// (one per tracker credential, shared by every process), which
	// refills at ratePerSec up to burst and starts full. It returns how
	// long the caller must wait before using them: 0 when they were
	// there, else the time the refill takes to cover the deficit. The
	// reservation is made either way, so concurrent callers queue behind
	// each other instead of all waiting the same time. now is the
	// caller's clock (a clock behind the bucket's last use refills
	// nothing). ratePerSec and burst must be positive, n not negative.
	TakeTokens(ctx context.Context, bucket string, n, ratePerSec, burst float64, now time.Time) (wait time.Duration, err error)
	// TakeTokensAbove is TakeTokens for background work that yields to
	// others: it takes n tokens only if floor tokens are left after them,
	// and otherwise takes nothing and returns how long the refill takes
	// to get there (wait > 0 means not taken: ask again then, as other
	// takers may have come first). floor+n must not exceed burst.
	TakeTokensAbove(ctx context.Context, bucket string, n, ratePerSec, burst, floor float64, now time.Time) (wait time.Duration, err error)
}

// Outbox is the delivering side of the outbox (PutEvent is in Ops). A
// worker claims due events, delivers them, and acks or retries each.
type Outbox interface {
	// ClaimEvents claims up to limit due events (NextAttempt passed, not
	// delivered, not claimed by a worker whose claim is still running),
	// oldest first, for lease: until then no other claim returns them.
	// Each claim increments Attempts. Two concurrent claims never return
	// the same event.
	ClaimEvents(ctx context.Context, worker string, limit int, lease time.Duration) ([]Event, error)
	// AckEvent marks event id delivered: it is never claimed again, and
	// its DedupKey keeps de-duplicating (delivered events are kept; their
	// pruning is a later retention job). ErrNotFound for a missing id.
	AckEvent(ctx context.Context, id int64) error
	// RetryEvent releases event id's claim, to be claimed again from
	// next on, with errMsg as its LastError; a delivered event stays
	// delivered. ErrNotFound for a missing id. ClaimEvents' worker,
	// limit and lease must be set and positive.
	RetryEvent(ctx context.Context, id int64, next time.Time, errMsg string) error
}

// Store is a state store.
//
// The data (Ops) may be written in a transaction; coordination
// (Coordinator) and outbox delivery (Outbox) commit on their own, because
// what they record must be seen by other processes at once and must not
// roll back with a caller's unrelated writes.
type Store interface {
	Ops
	Coordinator
	Outbox
	// Tx runs fn in one transaction: all of its writes land or none do.
	// fn must use only the Ops it is given, and may run more than once:
	// a server database (store/postgres) runs it again when the database
	// aborted it for a conflict with a concurrent transaction, so fn must
	// have no effect but its writes (and state it overwrites each time).
	Tx(ctx context.Context, fn func(tx Ops) error) error
	// Ping checks the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}
