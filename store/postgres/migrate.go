package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

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

var migrations = migration.Embedded(migrationFS, "migrations")

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return migrations.Version() }

// migrate brings the schema to the binary's version in one transaction.
// A transaction-scoped advisory lock, keyed by the schema, makes
// processes that open one database at once migrate it one after the
// other; the second then finds nothing to do. DDL is transactional in
// PostgreSQL, so a failed migration leaves the old version behind.
func (s *Store) migrate(ctx context.Context) error {
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
		if due, err := migrations.Due(s.desc, v); !due {
			return err
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
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
		exec := func(ctx context.Context, sql string) error {
			_, err := tx.Exec(ctx, sql)
			return err
		}
		setVersion := func(ctx context.Context, v int) error {
			_, err := tx.Exec(ctx, `INSERT INTO tracksync_schema (version) VALUES ($1)
				ON CONFLICT (one) DO UPDATE SET version = excluded.version`, v)
			return err
		}
		return migrations.Up(ctx, s.desc, v, exec, setVersion, s.wrap)
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
