// Package sqlite is tracksync's embedded state store: one SQLite file
// (mattn/go-sqlite3) in WAL mode, with its schema migrated at Open. The
// daemon runs River on the same *sql.DB (see DB), so the connection
// settings here are the ones River is known to work with.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/sqlops"
)

// DefaultBusyTimeout is how long a write waits for another connection or
// process to release the database before giving up with store.ErrLocked.
const DefaultBusyTimeout = 10 * time.Second

// maxOpenConns is what River on riversqlite was shown to work with while
// sync jobs write state in their own transactions.
const maxOpenConns = 4

// Options tune Open; the zero value is the production setting.
// BusyTimeout 0 means DefaultBusyTimeout; Clock nil means time.Now (it
// stamps times and decides lease and delivery-id expiry).
type Options = store.Options

// DriverName is the name the package registers with store.Register.
const DriverName = "sqlite"

func init() {
	store.Register(DriverName, func(ctx context.Context, dsn string, opts store.Options) (store.Store, error) {
		return Open(ctx, dsn, opts)
	})
}

// Store is a store.Store over one SQLite file. It is safe for concurrent
// use; several processes may open the same file.
type Store struct {
	ops
	d      *sqlops.Dialect
	db     *sql.DB
	path   string
	clock  func() time.Time
	busy   time.Duration
	tmpDir string // removed on Close; set for in-memory stores
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.SQLDBer   = (*Store)(nil)
	_ store.Describer = (*Store)(nil)
)

// Open opens (creating if needed) the state store at path and migrates its
// schema. A new file gets mode 0600 because it names private work items;
// missing parent directories are created 0700. path "" or ":memory:" opens
// a private throwaway store, removed on Close.
//
// Open fails with an error wrapping store.ErrTooNew when the file was
// written by a newer tracksync, and store.ErrLocked when another process
// keeps it locked longer than Options.BusyTimeout.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	s := &Store{clock: opts.Clock, busy: opts.BusyTimeout}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.busy <= 0 {
		s.busy = DefaultBusyTimeout
	}
	s.d = s.newDialect()

	// synchronous=FULL makes every commit durable on power loss too: a
	// journal intent must survive before the API call it describes runs.
	syncMode := "FULL"
	if path == "" || path == ":memory:" {
		// A temporary file rather than SQLite's :memory: so that the
		// in-memory store behaves exactly like a real one: WAL, several
		// connections, River. Shared-cache memory databases cannot use
		// WAL and report table locks as SQLITE_LOCKED, which ignores the
		// busy timeout.
		dir, err := os.MkdirTemp("", "tracksync-state-")
		if err != nil {
			return nil, fmt.Errorf("creating temporary state store: %w", err)
		}
		s.tmpDir = dir
		path = filepath.Join(dir, "state.db")
		syncMode = "OFF" // nothing to keep after a crash
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, s.closeOnErr(fmt.Errorf("opening state store %s: %w", path, err))
	}
	s.path = abs
	if err := createFile(abs); err != nil {
		return nil, s.closeOnErr(err)
	}

	db, err := sql.Open("sqlite3", dsn(abs, s.busy, syncMode))
	if err != nil {
		return nil, s.closeOnErr(fmt.Errorf("opening state store %s: %w", abs, err))
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)
	s.db = db
	s.ops = *s.newOps(db)

	if err := db.PingContext(ctx); err != nil {
		return nil, s.closeOnErr(cmp.Or(writable(abs), s.wrap(err, "opening state store %s", abs)))
	}
	if err := s.migrate(ctx); err != nil {
		return nil, s.closeOnErr(cmp.Or(writable(abs), err))
	}
	return s, nil
}

// createFile creates path with mode 0600 unless it exists, so that SQLite
// (which would create it 0644) only ever opens an existing file; SQLite
// gives the -wal and -shm files the main file's mode.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating directory for state store %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating state store %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("creating state store %s: %w", path, err)
	}
	return nil
}

// writable says why the state file or its folder cannot be written, nil
// when both can. Open asks only once SQLite failed: it keeps its
// write-ahead log (-wal, -shm) next to the file, and a read-only folder
// surfaces as its "unable to open database file: no such file or
// directory".
func writable(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("state store %s cannot be opened for writing (%w): make it writable by the user running tracksync, or point state.dsn elsewhere", path, err)
	}
	f.Close()
	dir := filepath.Dir(path)
	probe, err := os.CreateTemp(dir, ".tracksync-probe-*")
	if err != nil {
		return fmt.Errorf("state store %s: its folder %s is not writable (%w): tracksync keeps the state's write-ahead log (%s-wal, %s-shm) beside it; make the folder writable, or point state.dsn at a writable folder", path, dir, err, filepath.Base(path), filepath.Base(path))
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// dsn builds a SQLite URI. mode=rw: createFile made the file, and SQLite
// must not recreate it with a looser mode if it disappears.
func dsn(path string, busy time.Duration, syncMode string) string {
	u := url.URL{Path: path}
	q := url.Values{}
	q.Set("mode", "rw")
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", strconv.FormatInt(busy.Milliseconds(), 10))
	q.Set("_txlock", "immediate")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", syncMode)
	// The driver's per-connection statement cache keeps every query this
	// package runs prepared, in and out of transactions alike.
	q.Set("_stmt_cache_size", "64")
	return "file:" + u.EscapedPath() + "?" + q.Encode()
}

// DB returns the underlying pool, for River to share. Writes through it
// bypass the store's invariants; use it for River only.
func (s *Store) DB() *sql.DB { return s.db }

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Describe names the store for messages: its file.
func (s *Store) Describe() string { return "sqlite:" + s.path }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return s.wrap(err, "pinging state store %s", s.path)
	}
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return s.wrap(err, "pinging state store %s", s.path)
	}
	return nil
}

// Close closes the pool and, for an in-memory store, removes its file.
func (s *Store) Close() error {
	var err error
	if s.db != nil {
		if cerr := s.db.Close(); cerr != nil {
			err = fmt.Errorf("closing state store %s: %w", s.path, cerr)
		}
	}
	if s.tmpDir != "" {
		if rerr := os.RemoveAll(s.tmpDir); rerr != nil && err == nil {
			err = fmt.Errorf("removing temporary state store %s: %w", s.tmpDir, rerr)
		}
	}
	return err
}

// closeOnErr releases whatever Open had acquired and returns err.
func (s *Store) closeOnErr(err error) error {
	if cerr := s.Close(); cerr != nil {
		return errors.Join(err, cerr)
	}
	return err
}

// Tx runs fn in one BEGIN IMMEDIATE transaction (the DSN's _txlock): the
// write lock is taken up front, so two writers queue on the busy timeout
// instead of failing to upgrade a read lock. An error from fn, or a panic,
// rolls back every write fn made.
func (s *Store) Tx(ctx context.Context, fn func(tx store.Ops) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err, "starting transaction on state store %s", s.path)
	}
	// Rolls back on error and on panic; a no-op after Commit.
	defer func() { _ = tx.Rollback() }()
	if err := fn(s.newOps(tx)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(err, "committing transaction on state store %s", s.path)
	}
	return nil
}

// Lock takes or renews the lease name for owner until now+ttl. The check
// and the write share one immediate transaction, so two processes racing
// for a free lease cannot both win, and cannot both get one token.
func (s *Store) Lock(ctx context.Context, name, owner string, ttl time.Duration) (store.Lease, error) {
	if name == "" || owner == "" {
		return store.Lease{}, fmt.Errorf("taking lock %q for %q: name and owner are required", name, owner)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return store.Lease{}, s.wrap(err, "taking lock %s", name)
	}
	defer func() { _ = tx.Rollback() }()

	now := s.now()
	var holder string
	var expires, token int64
	err = tx.QueryRowContext(ctx, `SELECT owner, expires_at, token FROM locks WHERE name = ?`, name).Scan(&holder, &expires, &token)
	held := err == nil && holder != "" && expires > now.UnixNano()
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return store.Lease{}, s.wrap(err, "taking lock %s", name)
	case held && holder != owner:
		return store.Lease{}, &store.LockedError{Name: name, Owner: holder, Expires: time.Unix(0, expires).UTC()}
	}
	if !held {
		token++ // a new acquisition: fence off every earlier holder
	}
	l := store.Lease{Name: name, Owner: owner, Token: token, Expires: now.Add(ttl)}
	if _, err := tx.ExecContext(ctx, `INSERT INTO locks (name, owner, expires_at, token) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, token = excluded.token`,
		name, owner, l.Expires.UnixNano(), token); err != nil {
		return store.Lease{}, s.wrap(err, "taking lock %s", name)
	}
	if err := tx.Commit(); err != nil {
		return store.Lease{}, s.wrap(err, "taking lock %s", name)
	}
	return l, nil
}

func (s *Store) now() time.Time { return s.clock().UTC() }

// BusyError is returned (wrapping store.ErrLocked and SQLite's own error)
// when the database stayed locked longer than the busy timeout.
type BusyError struct {
	Path string
	Wait time.Duration
	Err  error
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("state store %s is locked: another tracksync process holds it (waited %s): %v",
		e.Path, e.Wait, e.Err)
}

// Unwrap lets errors.Is match both store.ErrLocked and the SQLite error.
func (e *BusyError) Unwrap() []error { return []error{store.ErrLocked, e.Err} }

// wrap maps SQLite errors to the store's sentinels and adds what was being
// done: busy to *BusyError, a unique violation to store.ErrExists, a
// foreign-key violation (the link is missing) to store.ErrNotFound.
func (s *Store) wrap(err error, format string, args ...any) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch {
		case se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked:
			err = &BusyError{Path: s.path, Wait: s.busy, Err: err}
		case se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey:
			err = fmt.Errorf("%w: %w", store.ErrExists, err)
		case se.ExtendedCode == sqlite3.ErrConstraintForeignKey:
			err = fmt.Errorf("%w: %w", store.ErrNotFound, err)
		}
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
