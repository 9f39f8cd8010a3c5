package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/migration"
)

// Migrations live in the binary, as SQLite's do. The file NNNN_name.sql
// takes the schema to version NNNN; the table tracksync_schema holds the
// version the database is at (River keeps its own migration table).
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// loadMigrations reads the embedded migrations once: they cannot change
// while the binary runs, and Open and SchemaVersion both need them.
var loadMigrations = sync.OnceValues(func() ([]migration.Migration, error) {
	return migration.Load(migrationFS, "migrations")
})

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate brings the schema to the binary's version in one transaction.
// A transaction-scoped advisory lock, keyed by the schema, makes
// processes that open one database at once migrate it one after the
// other; the second then finds nothing to do. DDL is transactional in
// PostgreSQL, so a failed migration leaves the old version behind.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	// A search_path naming no existing schema leaves nowhere to create
	// the tables; PostgreSQL's own message does not say why.
	var schema *string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return s.wrap(err, "reading the schema of state store %s", s.desc)
	}
	if schema == nil {
		var path string
		_ = s.pool.QueryRow(ctx, `SHOW search_path`).Scan(&path)
		return fmt.Errorf("state store %s: search_path %q names no schema that exists; create it (CREATE SCHEMA ...) or fix state.dsn", s.desc, path)
	}
	// The fast path: an up-to-date database needs no lock. A missing
	// table (42P01) means a new database.
	if v, err := s.schemaVersion(ctx, s.pool); err == nil {
		if err := s.checkVersion(v, len(ms)); err != nil || v == len(ms) {
			return err
		}
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('tracksync migrate ' || current_schema(), 0))`); err != nil {
			return s.wrap(err, "locking state store %s for migration", s.desc)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS tracksync_schema (
			one     BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
			version INTEGER NOT NULL)`); err != nil {
			return s.wrap(err, "creating the schema version table of state store %s", s.desc)
		}
		v, err := s.schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.checkVersion(v, len(ms)); err != nil {
			return err
		}
		for _, m := range ms[v:] {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return s.wrap(err, "migrating state store %s to version %d (%s)", s.desc, m.Version, m.Name)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tracksync_schema (version) VALUES ($1)
			ON CONFLICT (one) DO UPDATE SET version = excluded.version`, len(ms)); err != nil {
			return s.wrap(err, "migrating state store %s to version %d", s.desc, len(ms))
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrTooNew) {
		return fmt.Errorf("migrating state store %s: %w", s.desc, err)
	}
	return err
}

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// schemaVersion reads the version; 0 for a database that has the table
// but no row yet.
func (s *Store) schemaVersion(ctx context.Context, q rowQuerier) (int, error) {
	var v int
	err := q.QueryRow(ctx, `SELECT version FROM tracksync_schema`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.wrap(err, "reading schema version of state store %s", s.desc)
	}
	return v, nil
}

func (s *Store) checkVersion(db, binary int) error {
	if db > binary {
		return fmt.Errorf("state store %s has schema version %d but this tracksync knows versions up to %d; upgrade tracksync: %w",
			s.desc, db, binary, store.ErrTooNew)
	}
	return nil
}
