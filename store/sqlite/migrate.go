package sqlite

import (
	"context"
	"embed"
	"fmt"
	"sync"

	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/migration"
)

// Migrations live in the binary so that a store file and the code that
// reads it can never disagree about where the schema files are. The file
// NNNN_name.sql takes the schema to version NNNN; PRAGMA user_version
// holds the version a file is at (River keeps its own migration table).
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

// migrate brings the file to the binary's schema version. The version is
// read first without a write lock, so opening an up-to-date store never
// waits for a busy writer; when migrations are due it is read again inside
// the immediate transaction, because another process may have migrated in
// between.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	v, err := s.userVersion(ctx, s.db)
	if err != nil {
		return err
	}
	if err := s.checkVersion(v, len(ms)); err != nil || v == len(ms) {
		return err
	}

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err, "migrating state store %s", s.path)
	}
	defer func() { _ = tx.Rollback() }()
	v, err = s.userVersion(ctx, tx)
	if err != nil {
		return err
	}
	if err := s.checkVersion(v, len(ms)); err != nil {
		return err
	}
	for _, m := range ms[v:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return s.wrap(err, "migrating state store %s to version %d (%s)", s.path, m.Version, m.Name)
		}
	}
	// user_version lives in the file header, which the transaction covers:
	// a failed migration leaves the old version behind.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(ms))); err != nil {
		return s.wrap(err, "migrating state store %s to version %d", s.path, len(ms))
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(err, "migrating state store %s to version %d", s.path, len(ms))
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

func (s *Store) checkVersion(file, binary int) error {
	if file > binary {
		return fmt.Errorf("state store %s has schema version %d but this tracksync knows versions up to %d; upgrade tracksync: %w",
			s.path, file, binary, store.ErrTooNew)
	}
	return nil
}
