// Package store is tracksync's state: links between items in two trackers,
// the base snapshot each linked pair last agreed on, per-side cursors, the
// write journal, conflicts held for a person, run history and one daily
// roll-up snapshot per initiative (progress over time). The sync engine is
// the only writer. store/sqlite is the embedded default;
// store/storetest is the conformance suite every implementation passes.
package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
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
)

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

// Side is one side of a flow.
type Side string

// The two sides.
const (
	SideA Side = "a"
	SideB Side = "b"
)

// Other returns the opposite side.
func (s Side) Other() Side {
	if s == SideA {
		return SideB
	}
	return SideA
}

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
	JournalIntent(ctx context.Context, e JournalEntry) (int64, error)
	// JournalFinish sets the state, result, link and error of entry id:
	// done or failed, or pending again (with the error) when a call failed
	// in a way that may still have taken effect and is to be re-issued.
	JournalFinish(ctx context.Context, id int64, state string, result adapters.Ref, linkID int64, errMsg string) error
	// JournalSetState changes only the state of entry id (e.g. to undone).
	JournalSetState(ctx context.Context, id int64, state string) error
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
}

// Store is a state store.
type Store interface {
	Ops
	// Tx runs fn in one transaction: all of its writes land or none do.
	// fn must use only the Ops it is given.
	Tx(ctx context.Context, fn func(tx Ops) error) error
	// Lock takes a named lease (one flow runs in one process at a time)
	// for ttl, held by owner. It returns a *LockedError (wrapping
	// ErrLocked) when another owner holds an unexpired lease; the same
	// owner re-locking extends it. Unlock releases it.
	Lock(ctx context.Context, name, owner string, ttl time.Duration) error
	Unlock(ctx context.Context, name, owner string) error
	// Ping checks the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}
