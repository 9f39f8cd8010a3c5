// Package postgres is tracksync's state store on PostgreSQL (jackc/pgx/v5
// and its pool), for installations that run several `serve` replicas, or
// a laptop beside a server, on one database. It registers as "postgres".
//
// Where SQLite relies on its single writer, this driver relies on
// PostgreSQL's own concurrency control: Tx runs at SERIALIZABLE and is
// retried when PostgreSQL reports a serialization failure or deadlock;
// the coordination calls are single upserts (INSERT ... ON CONFLICT) or
// short transactions that lock the one row they change (SELECT ... FOR
// UPDATE); fenced journal writes take a share lock on the lease row, so a
// takeover waits for them or they see it; ClaimEvents skips rows another
// claim has locked (FOR UPDATE SKIP LOCKED).
//
// Lease, delivery-id and outbox times are decided by the database's
// clock unless Options.Clock is set, so replicas whose clocks disagree
// still agree on who holds a lease. Created, updated and finished stamps
// come from Options.Clock (time.Now by default), as in SQLite.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/sqlops"
)

// DriverName is the name the package registers with store.Register.
const DriverName = "postgres"

func init() {
	store.Register(DriverName, func(ctx context.Context, dsn string, opts store.Options) (store.Store, error) {
		return Open(ctx, dsn, opts)
	})
}

// DefaultBusyTimeout bounds how long a statement waits for a row another
// process has locked (PostgreSQL's lock_timeout), as SQLite's busy timeout
// does; past it the call fails with an error wrapping store.ErrLocked.
const DefaultBusyTimeout = 10 * time.Second

// DefaultIdleInTxTimeout is how long the server lets a transaction sit
// idle (idle_in_transaction_session_timeout) before it ends the session.
// A replica paused mid-transaction (SIGSTOP, a VM freeze) would otherwise
// keep its row locks, the lease row's among them, and no other replica
// could take its flows over. tracksync's transactions do no I/O but the
// database's, so a healthy one is never idle this long.
const DefaultIdleInTxTimeout = 30 * time.Second

// Tx gives up on a transaction PostgreSQL keeps aborting for
// serialization failures only after both minTxAttempts runs and
// txRetryBudget of wall time: under contention (several replicas, or
// many workers of one, writing one row) a transaction can lose a dozen
// times in a row and still win the next, and giving up turns a pause
// into a failed run. Past both, the error goes to the caller.
const (
	minTxAttempts = 12
	txRetryBudget = 10 * time.Second
)

// Store is a store.Store on a PostgreSQL database (the schema the DSN's
// search_path names first). It is safe for concurrent use, by any number
// of processes on one database.
type Store struct {
	ops
	d     *sqlops.Dialect
	pool  *pgxpool.Pool
	desc  string
	clock func() time.Time
	log   *slog.Logger
	// dbClock: no clock was injected, so lease, delivery and outbox
	// expiry use the database's (see nowArg).
	dbClock bool
	// sent counts round trips to the server on this pool (statements and
	// batches, the job queue's included), for benchmarks and metrics.
	sent roundTrips
}

// roundTrips is a pgx tracer counting what the pool sends.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// RoundTrips is how many statements and batches this store's pool has
// sent to the server since it opened (the job queue's, when it shares the
// pool, included).
func (s *Store) RoundTrips() int64 { return s.sent.n.Load() }

var (
	_ store.Store     = (*Store)(nil)
	_ store.Describer = (*Store)(nil)
)

// Open connects to the database at dsn (a postgres:// URL or key=value
// DSN; search_path may be given as a URL parameter) and migrates its
// schema. A database whose schema is newer than this binary fails with
// an error wrapping store.ErrTooNew. opts.BusyTimeout (default
// DefaultBusyTimeout, or lock_timeout in the DSN) bounds how long a
// statement waits for a row another process has locked; past it the
// error wraps store.ErrLocked. idle_in_transaction_session_timeout
// defaults to DefaultIdleInTxTimeout unless the DSN sets it.
func Open(ctx context.Context, dsn string, opts store.Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included.
		return nil, fmt.Errorf("parsing postgres DSN (state.dsn): %s", redactErr(err, dsn))
	}
	params := cfg.ConnConfig.RuntimeParams
	if _, ok := params["application_name"]; !ok {
		params["application_name"] = "tracksync"
	}
	if opts.BusyTimeout > 0 {
		params["lock_timeout"] = strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	} else if _, ok := params["lock_timeout"]; !ok {
		params["lock_timeout"] = strconv.FormatInt(DefaultBusyTimeout.Milliseconds(), 10)
	}
	// The single statements and short transactions of the coordination
	// calls are written for READ COMMITTED (they re-check rows they wait
	// for); a database whose default a DBA raised would fail them with
	// serialization errors nobody retries. Tx asks for SERIALIZABLE itself.
	params["default_transaction_isolation"] = "read committed"
	if _, ok := params["idle_in_transaction_session_timeout"]; !ok {
		params["idle_in_transaction_session_timeout"] = strconv.FormatInt(DefaultIdleInTxTimeout.Milliseconds(), 10)
	}
	s := &Store{desc: describe(cfg.ConnConfig), clock: opts.Clock, dbClock: opts.Clock == nil, log: opts.Logger}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.d = s.newDialect()
	if cfg.ConnConfig.Tracer == nil {
		cfg.ConnConfig.Tracer = &s.sent
	}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, s.wrap(err, "connecting to state store %s", s.desc)
	}
	s.ops = *s.newOps(s.pool, false)
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, s.wrap(err, "connecting to state store %s", s.desc)
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// describe names the database without its password.
func describe(c *pgx.ConnConfig) string {
	u := url.URL{Scheme: "postgres", User: url.User(c.User), Host: net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))), Path: "/" + c.Database}
	if sp := c.RuntimeParams["search_path"]; sp != "" {
		u.RawQuery = url.Values{"search_path": {sp}}.Encode()
	}
	return u.String()
}

// redactErr returns err's message with the DSN's password cut out.
func redactErr(err error, dsn string) string {
	msg := err.Error()
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// Describe names the store for messages: the database, no password.
func (s *Store) Describe() string { return s.desc }

// Pool returns the underlying pool, for a job queue (River on riverpgxv5)
// to share. Writes through it bypass the store's invariants.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return s.wrap(err, "pinging state store %s", s.desc)
	}
	return nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Tx runs fn in one SERIALIZABLE transaction: PostgreSQL then guarantees
// what SQLite's single writer did, that concurrent read-modify-write
// transactions behave as if run one after the other. When PostgreSQL
// aborts the transaction for a serialization failure or a deadlock, Tx
// rolls back and runs fn again (for at least minTxAttempts runs and
// txRetryBudget, with a short jittered pause), so fn must have no effect
// outside the Ops it is given. An error
// from fn, or a panic, rolls back every write fn made.
func (s *Store) Tx(ctx context.Context, fn func(tx store.Ops) error) error {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := s.tx(ctx, fn)
		if err == nil || !retryable(err) || (attempt >= minTxAttempts && time.Since(start) >= txRetryBudget) {
			return err
		}
		// Up to 1ms, 2ms, 4ms ... 128ms, jittered so the losers of one
		// conflict do not collide again.
		pause := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt-1, 7)))
		s.log.Debug("retrying state store transaction", "attempt", attempt+1, "pause", pause, "error", err)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("retrying transaction on state store %s: %w (after: %w)", s.desc, ctx.Err(), err)
		case <-t.C:
		}
	}
}

func (s *Store) tx(ctx context.Context, fn func(tx store.Ops) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return s.wrap(err, "starting transaction on state store %s", s.desc)
	}
	// Rolls back on error and on panic; a no-op after Commit. The
	// rollback must reach the server even when ctx was cancelled.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(s.newOps(tx, true)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return s.wrap(err, "committing transaction on state store %s", s.desc)
	}
	return nil
}

// retryable reports a serialization failure or a deadlock: PostgreSQL
// aborted the transaction so that a run of it again can succeed.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func (s *Store) now() time.Time { return s.clock().UTC() }

// nowArg is the parameter for the "now" of an expiry decision: NULL when
// the database's clock decides (see dbNow), else the injected clock's.
func (s *Store) nowArg() any {
	if s.dbClock {
		return nil
	}
	return s.now().UnixNano()
}

// dbNow is the database's time in unix nanoseconds. statement_timestamp
// is fixed for the length of a statement, so every comparison in one
// statement sees one now.
const dbNow = `(extract(epoch FROM statement_timestamp()) * 1000000000)::bigint`

// nowSQL is a statement's now: the parameter $n if set (an injected
// clock), else the database's.
func nowSQL(n int) string { return fmt.Sprintf("COALESCE($%d::bigint, %s)", n, dbNow) }

// LockTimeoutError is returned (wrapping store.ErrLocked and PostgreSQL's
// own error) when a statement waited longer than Options.BusyTimeout for
// a row another process had locked.
type LockTimeoutError struct {
	Desc string
	Err  error
}

func (e *LockTimeoutError) Error() string {
	return fmt.Sprintf("state store %s is locked: another tracksync process holds a row this needs: %v", e.Desc, e.Err)
}

// Unwrap lets errors.Is match both store.ErrLocked and the pg error.
func (e *LockTimeoutError) Unwrap() []error { return []error{store.ErrLocked, e.Err} }

// wrap maps PostgreSQL errors to the store's sentinels and adds what was
// being done: a unique violation to store.ErrExists, a foreign-key
// violation (the link is missing) to store.ErrNotFound, a lock timeout to
// *LockTimeoutError. Serialization failures keep their code so that Tx
// can retry them.
func (s *Store) wrap(err error, format string, args ...any) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			err = fmt.Errorf("%w: %w", store.ErrExists, err)
		case "23503": // foreign_key_violation
			err = fmt.Errorf("%w: %w", store.ErrNotFound, err)
		case "55P03": // lock_not_available
			err = &LockTimeoutError{Desc: s.desc, Err: err}
		}
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
