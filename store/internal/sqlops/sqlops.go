// Package sqlops is the part of the state store that every SQL driver
// does alike: the checks, the reading of rows into store types, the
// fences' verdicts, the listings' loops and the wrapping of errors. A
// driver hands it its SQL (Queries), a way to run it (DB) and what its
// dialect does differently (Dialect), embeds Ops in its own ops type and
// writes only the methods whose statements really differ: how an id
// comes back, a savepoint, a lock.
package sqlops

import (
	"context"
	"time"

	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/rowscan"
)

// DB is a driver's pool or transaction, as Ops runs statements on it.
type DB interface {
	// Exec runs a statement and says how many rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// ExecGuarded is Exec for a statement that may violate a constraint
	// (ErrExists) where the caller carries on: the failure must leave a
	// transaction usable.
	ExecGuarded(ctx context.Context, query string, args ...any) (int64, error)
	// QueryRow runs a query for one row; Dialect.NoRows recognises the
	// error of its Scan when there is none.
	QueryRow(ctx context.Context, query string, args ...any) rowscan.Scanner
	// Query runs a query for many rows; the caller closes them.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// Rows is a query's result as Ops reads it.
type Rows interface {
	rowscan.Rows
	Close()
}

// Dialect is what a driver does its own way.
type Dialect struct {
	// Now is the store's clock, for created, updated and finished stamps.
	Now func() time.Time
	// ExpiryNow is the argument for the now of an expiry decision (a
	// lease, an outbox claim): the clock's unix nanoseconds, or what
	// lets the database's own clock decide.
	ExpiryNow func() any
	// Wrap maps the driver's errors to the store's sentinels and adds
	// what was being done (format and args).
	Wrap func(err error, format string, args ...any) error
	// NoRows says whether err is the driver's "no row" error.
	NoRows func(err error) bool
	// Param is the placeholder of the nth argument of a statement.
	Param func(n int) string
	// Bytes is the argument for a value kept byte for byte (field maps,
	// conflict values).
	Bytes func(s string) any
	// Text is the argument for a TEXT column that may hold anything
	// (error messages).
	Text func(s string) string
	// Limit is the argument of LIMIT for n, or for no limit when n <= 0.
	Limit func(n int) any
	// ScanBases returns a reader of base rows (BaseCols), a
	// BaseScanner's Scan.
	ScanBases func() func(rowscan.Scanner) (store.Base, error)
	// Bucket is the read-modify-write of a rate bucket's row, atomic
	// across processes: it reads tokens and last (a bucket without a
	// row: burst, as of now), writes back what update makes of them, and
	// returns the driver's error unwrapped.
	Bucket func(ctx context.Context, bucket string, burst float64, now time.Time, update func(tokens float64, last int64) (float64, int64)) error
}

// Ops implements the store.Ops and store.Coordinator methods that are
// the same statements, flows and errors on every driver. N is how the
// driver reads a nullable time, B how it reads a value kept byte for
// byte (see rowscan).
type Ops[N rowscan.Nullable, B rowscan.Bytes] struct {
	db DB
	q  *Queries
	d  *Dialect
}

// New returns the Ops running q on db.
func New[N rowscan.Nullable, B rowscan.Bytes](db DB, q *Queries, d *Dialect) Ops[N, B] {
	return Ops[N, B]{db: db, q: q, d: d}
}

// Queries are a driver's statements for Ops, each with its arguments in
// the order the comment gives.
type Queries struct {
	UpdateLink string // a_tracker, a_project, a_id, a_key, a_url, b_..., updated_at, id
	DeleteLink string // id
	// DeleteLinkConflicts: link id, run before DeleteLink.
	DeleteLinkConflicts string

	// Links, each selecting LinkCols.
	GetLink       string // id
	FindLinkA     string // flow, side a's item id: the lowest id first
	FindLinkB     string // flow, side b's item id: the lowest id first
	FindLinkByKey string // flow, key
	ListLinks     string // every link, by id
	ListFlowLinks string // flow; by id

	GetBase string // link id; BaseCols
	// ListBases: flow; BaseCols of the flow's links' bases. Before it,
	// CountFlowLinks (flow), if set, sizes the map.
	ListBases      string
	CountFlowLinks string

	ListCommentLinks string // link id: link_id, a_id, b_id, body_hash by id

	GetCursor string // flow, side: cursor
	PutCursor string // flow, side, cursor (upsert)

	LeaseOf         string // name: owner, expires_at, token of the lease row
	JournalExists   string // id: 1
	JournalSetState string // state, id
	JournalHasKey   string // idempotency key: whether an entry has it
	// Journal listings, each selecting JournalCols.
	PendingJournal     string // pending state
	PendingFlowJournal string // pending state, flow
	RunJournal         string // run id

	PutConflict     string // flow, link id, field, base, a, b, state, created_at; returning id
	GetConflict     string // id; ConflictCols
	ListConflicts   string // ConflictCols, no WHERE: Ops adds flow and state
	ResolveConflict string // state, resolution, value, resolved_at, id

	StartRun      string // flow, state, dry_run, started_at; returning id
	FinishRun     string // state, finished_at, counts, error, id
	GetRun        string // id; RunCols
	ListRuns      string // limit; RunCols by id descending
	ListFlowRuns  string // flow, limit; as ListRuns
	PutSnapshot   string // initiative, day, total, done, in_progress, todo, done_by_count, done_by_estimate, at_risk, updated_at (upsert)
	ListSnapshots string // SnapshotCols, no WHERE: Ops adds initiative and since
	// SnapshotOrder ends ListSnapshots: by day, then initiative, bytewise.
	SnapshotOrder   string
	DeleteSnapshots string // before
	PutDateChange   string // initiative, at, from, to
	ListDateChanges string // initiative, at, from_day, to_day; no WHERE or ORDER: Ops adds them

	GetKV    string // scope, key: value
	PutKV    string // scope, key, value (upsert)
	DeleteKV string // scope, key

	EventByKey  string // dedup key: id
	ClaimEvents string // the driver's arguments: EventCols of the claimed events
	AckEvent    string // now, id
	RetryEvent  string // next attempt, error, id

	LinkIDHigh string // the highest link id ever given out, 0 for none

	BumpGeneration string // name: the new generation
	Generation     string // name: generation
	Unlock         string // name, owner
	ExpiredLeases  string // now, len(prefix), prefix: name, owner, token, expires_at by name
}

// The columns every driver selects for a link, a base, a journal entry, a
// conflict, a run and a snapshot, in the order Ops reads them.
const (
	LinkCols = `id, flow, COALESCE(key, ''), a_tracker, a_project, a_id, a_key, a_url,
	b_tracker, b_project, b_id, b_key, b_url, created_at, updated_at`
	BaseCols    = `link_id, a_fields, b_fields, a_version, b_version, synced_at`
	JournalCols = `id, run_id, flow, link_id, op, side,
	target_tracker, target_project, target_id, target_key, target_url,
	idempotency_key, lease_name, lease_token, before_fields, after_fields,
	result_tracker, result_project, result_id, result_key, result_url,
	state, error, created_at, done_at`
	ConflictCols = `id, flow, link_id, field, base, a_value, b_value, state, resolution, value, created_at, resolved_at`
	RunCols      = `id, flow, state, dry_run, started_at, finished_at, counts, error`
	SnapshotCols = `initiative, day, total, done, in_progress, todo,
	done_by_count, done_by_estimate, at_risk, updated_at`
	EventCols = `id, kind, COALESCE(dedup_key, ''), payload, created_at, attempts, next_attempt, last_error`
)

// list runs query and reads each row with scan; what names the listing
// in errors.
func list[T any](ctx context.Context, d *Dialect, db DB, what string, scan func(rowscan.Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return nil, d.Wrap(err, "listing %s", what)
	}
	defer rows.Close()
	out, err := rowscan.Collect(rows, func() (T, error) { return scan(rows) })
	if err != nil {
		return nil, d.Wrap(err, "listing %s", what)
	}
	return out, nil
}
