package sqlite

import (
	"context"
	"embed"
	"fmt"

	"github.com/tracksync/tracksync/store/internal/migration"
)

// Migrations live in the binary so that a store file and the code that
// reads it can never disagree about where the schema files are. The file
// NNNN_name.sql takes the schema to version NNNN; PRAGMA user_version
// holds the version a file is at (River keeps its own migration table).
//
//go:embed migrations/*.sql
var migrationFS embed.FS

var migrations = migration.Embedded(migrationFS, "migrations")

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return migrations.Version() }

// migrate brings the file to the binary's schema version. The version is
// read first without a write lock, so opening an up-to-date store never
// waits for a busy writer; when migrations are due it is read again inside
// the immediate transaction, because another process may have migrated in
// between.
func (s *Store) migrate(ctx context.Context) error {
	v, err := s.userVersion(ctx, s.db)
	if err != nil {
		return err
	}
	if due, err := migrations.Due(s.path, v); !due {
		return err
	}

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err, "migrating state store %s", s.path)
	}
	defer func() { _ = tx.Rollback() }()
	if v, err = s.userVersion(ctx, tx); err != nil {
		return err
	}
	exec := func(ctx context.Context, sql string) error {
		_, err := tx.ExecContext(ctx, sql)
		return err
	}
	// user_version lives in the file header, which the transaction covers:
	// a failed migration leaves the old version behind.
	setVersion := func(ctx context.Context, v int) error { return exec(ctx, fmt.Sprintf("PRAGMA user_version = %d", v)) }
	if err := migrations.Up(ctx, s.path, v, exec, setVersion, s.wrap); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(err, "migrating state store %s to version %d", s.path, migrations.Version())
	}
	return nil
}

func (s *Store) userVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return 0, s.wrap(err, "reading schema version of state store %s", s.path)
	}
	return v, nil
}
