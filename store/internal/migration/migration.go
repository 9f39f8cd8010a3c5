// Package migration reads a driver's embedded schema migrations (the file
// NNNN_name.sql takes the schema to version NNNN) and holds the part of
// running them every driver does alike: the version checks and the run
// of the due files. Where the version lives, and the lock or transaction
// that makes two processes migrate one after the other, are the driver's.
package migration

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"sync"

	"github.com/tracksync/tracksync/store"
)

// Migration is one schema file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

var fileName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// Load reads dir of fsys in version order and checks the versions run
// 1, 2, 3... with no gap, so a misnamed file fails loudly.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("embedded migration %s: name is not NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading embedded migration %s: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("embedded migration %s: expected version %04d", m.Name, i+1)
		}
	}
	return ms, nil
}

// Set is a driver's embedded migrations, read once: they cannot change
// while the binary runs, and Open and SchemaVersion both need them.
type Set struct {
	load func() ([]Migration, error)
}

// Embedded is the Set of dir in fsys (see Load).
func Embedded(fsys fs.FS, dir string) *Set {
	return &Set{load: sync.OnceValues(func() ([]Migration, error) { return Load(fsys, dir) })}
}

// Load returns the migrations in version order.
func (s *Set) Load() ([]Migration, error) { return s.load() }

// Version is the schema version the set takes a store to; 0 when the
// migrations cannot be read.
func (s *Set) Version() int {
	ms, err := s.load()
	if err != nil {
		return 0
	}
	return len(ms)
}

// due says whether a store at version v, named desc, needs any of ms:
// false for a store up to date, and false with an error wrapping
// store.ErrTooNew for one a newer binary wrote.
func due(desc string, v int, ms []Migration) (bool, error) {
	if v > len(ms) {
		return false, fmt.Errorf("state store %s has schema version %d but this tracksync knows versions up to %d; upgrade tracksync: %w",
			desc, v, len(ms), store.ErrTooNew)
	}
	return v < len(ms), nil
}

// Due says whether a store at version v, named desc, needs any of the
// set's migrations: false for one up to date, and false with an error
// for one a newer binary wrote (wrapping store.ErrTooNew) or when the
// migrations cannot be read.
func (s *Set) Due(desc string, v int) (bool, error) {
	ms, err := s.load()
	if err != nil {
		return false, err
	}
	return due(desc, v, ms)
}

// Up takes a store at version v (read under the driver's lock) to the
// set's last version: it runs each due migration with exec, then records
// the version with setVersion; a store that a newer binary wrote is
// refused. wrap adds what was being done to the driver's errors.
func (s *Set) Up(ctx context.Context, desc string, v int,
	exec func(ctx context.Context, sql string) error,
	setVersion func(ctx context.Context, v int) error,
	wrap func(err error, format string, args ...any) error) error {
	ms, err := s.load()
	if err != nil {
		return err
	}
	if _, err := due(desc, v, ms); err != nil {
		return err
	}
	for _, m := range ms[v:] {
		if err := exec(ctx, m.SQL); err != nil {
			return wrap(err, "migrating state store %s to version %d (%s)", desc, m.Version, m.Name)
		}
	}
	if err := setVersion(ctx, len(ms)); err != nil {
		return wrap(err, "migrating state store %s to version %d", desc, len(ms))
	}
	return nil
}
