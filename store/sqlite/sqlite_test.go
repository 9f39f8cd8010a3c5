package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/storetest"
)

var ctx = context.Background()

// openTB opens a store at path (a fresh file under TempDir if "") and
// closes it when the test ends.
func openTB(tb testing.TB, path string, opts Options) *Store {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "state.db")
	}
	s, err := Open(ctx, path, opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	t.Run("File", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return openTB(t, "", Options{}) })
	})
	t.Run("Memory", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return openTB(t, ":memory:", Options{}) })
	})
}

// rawDB opens path with a plain handle, standing in for another process.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_txlock=immediate&_busy_timeout=50")
	if err != nil {
		t.Fatalf("opening raw handle: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestFileMode(t *testing.T) {
	// Parent directories that do not exist yet are created too.
	path := filepath.Join(t.TempDir(), "state", "nested", "tracksync.db")
	s := openTB(t, path, Options{})
	// A write makes sure the -wal and -shm files exist.
	if _, err := s.CreateLink(ctx, store.Link{Flow: "f", A: adapters.Ref{ID: "1"}, B: adapters.Ref{ID: "2"}}); err != nil {
		t.Fatalf("CreateLink: %v", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("stat: %v", err)
			continue
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), got)
		}
	}
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("created directory has mode %v, want 0700", got)
	}
	if s.Path() != path {
		t.Errorf("Path() = %s, want %s", s.Path(), path)
	}
}

func TestPragmas(t *testing.T) {
	s := openTB(t, "", Options{})
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "2"}, // FULL: a journal intent survives power loss
		{"busy_timeout", "10000"},
		{"user_version", fmt.Sprint(SchemaVersion())},
	}
	// Every pooled connection must have them, not only the first.
	conns := make([]*sql.Conn, maxOpenConns)
	for i := range conns {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatalf("Conn: %v", err)
		}
		conns[i] = c
	}
	for i, c := range conns {
		for _, tc := range tests {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
			}
			if got != tc.want {
				t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, tc.pragma, got, tc.want)
			}
		}
		c.Close()
	}
	if got := s.DB().Stats().MaxOpenConnections; got != maxOpenConns {
		t.Errorf("MaxOpenConnections = %d, want %d", got, maxOpenConns)
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	l, err := s.CreateLink(ctx, store.Link{Flow: "f", Key: "k", A: adapters.Ref{ID: "1"}, B: adapters.Ref{ID: "2"}})
	if err != nil {
		t.Fatalf("CreateLink: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i := range 2 { // migrations are not re-applied on an up-to-date file
		s := openTB(t, path, Options{})
		got, err := s.GetLink(ctx, l.ID)
		if err != nil {
			t.Fatalf("reopen %d: GetLink: %v", i, err)
		}
		if d := cmp.Diff(l, got); d != "" {
			t.Errorf("reopen %d: link (-want +got):\n%s", i, d)
		}
		s.Close()
	}
}

func TestMigrationsEmbedded(t *testing.T) {
	ms, err := migrations.Load()
	if err != nil {
		t.Fatalf("loadMigrations: %v", err)
	}
	if len(ms) == 0 || SchemaVersion() != len(ms) {
		t.Fatalf("%d migrations, SchemaVersion %d", len(ms), SchemaVersion())
	}
	// Each migration applies on top of the ones before it and bumps the
	// version; a store opened at an intermediate version catches up.
	for v := range len(ms) {
		path := filepath.Join(t.TempDir(), "state.db")
		raw := rawDB(t, path)
		for _, m := range ms[:v] {
			if _, err := raw.ExecContext(ctx, m.SQL); err != nil {
				t.Fatalf("applying %s: %v", m.Name, err)
			}
		}
		if _, err := raw.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
			t.Fatalf("setting user_version: %v", err)
		}
		s := openTB(t, path, Options{})
		var got int
		if err := s.DB().QueryRowContext(ctx, "PRAGMA user_version").Scan(&got); err != nil {
			t.Fatalf("user_version: %v", err)
		}
		if got != len(ms) {
			t.Errorf("from version %d: user_version %d after Open, want %d", v, got, len(ms))
		}
	}
}

// TestMigrateFrom0001 opens a file that a 0001-only tracksync wrote, with
// data in it: Open adds the snapshots table, keeps every row and the store
// works as a current one.
func TestMigrateFrom0001(t *testing.T) {
	ms, err := migrations.Load()
	if err != nil {
		t.Fatalf("loadMigrations: %v", err)
	}
	if len(ms) < 2 || ms[1].Name != "0002_snapshots.sql" {
		t.Fatalf("migrations %v: want 0002_snapshots.sql second", ms)
	}
	path := filepath.Join(t.TempDir(), "state.db")
	raw := rawDB(t, path)
	for _, q := range []string{
		ms[0].SQL,
		`PRAGMA user_version = 1`,
		`INSERT INTO links (flow, key, a_tracker, a_id, b_tracker, b_id, created_at, updated_at)
			VALUES ('f', 'k1', 'jira', '10001', 'github', '1', 1741000000000000000, 1741000000000000000)`,
		`INSERT INTO bases (link_id, a_fields, b_fields, synced_at) VALUES (1, '{"status":"Open"}', '{"status":"open"}', 1741000000000000000)`,
		`INSERT INTO runs (flow, state, started_at, counts) VALUES ('f', 'ok', 1741000000000000000, '{"created":1}')`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("building a 0001 store: %s: %v", q, err)
		}
	}
	var tables int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'snapshots'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("0001 store has %d snapshots tables (%v), want 0", tables, err)
	}
	raw.Close()

	s := openTB(t, path, Options{})
	var v int
	if err := s.DB().QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil || v != SchemaVersion() {
		t.Fatalf("user_version after Open = %d (%v), want %d", v, err, SchemaVersion())
	}
	var idx int
	if err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'snapshots_day'`).Scan(&idx); err != nil || idx != 1 {
		t.Errorf("snapshots_day index: %d (%v), want 1", idx, err)
	}

	// The 0001 data is intact.
	l, err := s.FindLinkByKey(ctx, "f", "k1")
	if err != nil {
		t.Fatalf("FindLinkByKey after migration: %v", err)
	}
	if l.A.ID != "10001" || l.B.ID != "1" || !l.CreatedAt.Equal(time.Unix(0, 1741000000000000000)) {
		t.Errorf("link after migration = %+v", l)
	}
	b, err := s.GetBase(ctx, l.ID)
	if err != nil || b.A["status"] != "Open" || b.B["status"] != "open" {
		t.Errorf("base after migration = %+v, %v", b, err)
	}
	runs, err := s.ListRuns(ctx, "f", 0)
	if err != nil || len(runs) != 1 || runs[0].Counts.Created != 1 {
		t.Errorf("runs after migration = %+v, %v", runs, err)
	}

	// Snapshots work, and survive a reopen that has nothing to migrate.
	want := store.Snapshot{Initiative: "jira:10001", Day: "2025-03-04", Total: 5, Done: 2, InProgress: 1, Todo: 2,
		DoneByCount: 0.4, DoneByEstimate: 0.25, AtRisk: true, UpdatedAt: time.Date(2025, 3, 4, 18, 0, 0, 0, time.UTC)}
	if err := s.PutSnapshot(ctx, want); err != nil {
		t.Fatalf("PutSnapshot after migration: %v", err)
	}
	s.Close()
	s = openTB(t, path, Options{})
	got, err := s.ListSnapshots(ctx, "", "")
	if err != nil {
		t.Fatalf("ListSnapshots after reopen: %v", err)
	}
	if d := cmp.Diff([]store.Snapshot{want}, got); d != "" {
		t.Errorf("snapshots after migration and reopen (-want +got):\n%s", d)
	}
}

func TestTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := openTB(t, path, Options{})
	newer := SchemaVersion() + 1
	if _, err := s.DB().ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
		t.Fatalf("PRAGMA user_version: %v", err)
	}
	s.Close()

	_, err := Open(ctx, path, Options{})
	if !errors.Is(err, store.ErrTooNew) {
		t.Fatalf("Open of a newer file: %v, want ErrTooNew", err)
	}
	for _, want := range []string{path, fmt.Sprintf("version %d", newer), fmt.Sprintf("up to %d", SchemaVersion()), "upgrade tracksync"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, []byte("this is not a database, it is a shopping list\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, path, Options{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Open of a text file: %v, want an error naming %s", err, path)
	}
}

// holdWriteLock starts a write transaction on a separate handle, as
// another tracksync process would, and releases it when the test ends.
func holdWriteLock(t *testing.T, path string) {
	t.Helper()
	tx, err := rawDB(t, path).BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		t.Fatalf("taking the write lock: %v", err)
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS other_process (x)"); err != nil {
		t.Fatalf("writing under the lock: %v", err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
}

func checkLockedErr(t *testing.T, what string, err error, path string) {
	t.Helper()
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("%s: %v, want ErrLocked", what, err)
	}
	var be *BusyError
	if !errors.As(err, &be) || be.Path != path {
		t.Errorf("%s: %v, want a *BusyError for %s", what, err, path)
	}
	for _, want := range []string{path, "another tracksync process"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q does not mention %q", what, err, want)
		}
	}
}

func TestLockedByAnotherProcess(t *testing.T) {
	short := Options{BusyTimeout: 100 * time.Millisecond}

	t.Run("write", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.db")
		s := openTB(t, path, short)
		holdWriteLock(t, path)
		_, err := s.CreateLink(ctx, store.Link{Flow: "f", A: adapters.Ref{ID: "1"}, B: adapters.Ref{ID: "2"}})
		checkLockedErr(t, "CreateLink", err, path)
		err = s.Tx(ctx, func(store.Ops) error { return nil })
		checkLockedErr(t, "Tx", err, path)
		_, err = s.Lock(ctx, "flow:f", "me", time.Minute)
		checkLockedErr(t, "Lock", err, path)
		// Readers are not blocked in WAL mode.
		if _, err := s.ListLinks(ctx, "f"); err != nil {
			t.Errorf("ListLinks while another process writes: %v", err)
		}
	})

	t.Run("open needing migration", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.db")
		holdWriteLock(t, path)
		_, err := Open(ctx, path, short)
		checkLockedErr(t, "Open", err, path)
	})
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestClock(t *testing.T) {
	start := time.Date(2025, 7, 1, 9, 30, 0, 123456789, time.FixedZone("CEST", 2*3600))
	clock := &fakeClock{now: start}
	s := openTB(t, "", Options{Clock: clock.Now})

	l, err := s.CreateLink(ctx, store.Link{Flow: "f", A: adapters.Ref{ID: "1"}, B: adapters.Ref{ID: "2"}})
	if err != nil {
		t.Fatalf("CreateLink: %v", err)
	}
	if !l.CreatedAt.Equal(start) || l.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", l.CreatedAt, start)
	}
	clock.Advance(time.Minute)
	if err := s.UpdateLink(ctx, l); err != nil {
		t.Fatalf("UpdateLink: %v", err)
	}
	got, err := s.GetLink(ctx, l.ID)
	if err != nil {
		t.Fatalf("GetLink: %v", err)
	}
	if !got.UpdatedAt.Equal(start.Add(time.Minute)) || !got.CreatedAt.Equal(start) {
		t.Errorf("after update: created %v updated %v, want %v and a minute later", got.CreatedAt, got.UpdatedAt, start)
	}

	// Leases expire by the injected clock.
	if _, err := s.Lock(ctx, "flow:f", "a", 10*time.Minute); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	clock.Advance(9 * time.Minute)
	_, err = s.Lock(ctx, "flow:f", "b", time.Minute)
	var le *store.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Lock by b before expiry: %v, want LockedError", err)
	}
	if want := start.Add(11 * time.Minute); !le.Expires.Equal(want) {
		t.Errorf("LockedError.Expires = %v, want %v", le.Expires, want)
	}
	clock.Advance(time.Minute) // exactly at expiry: free
	if _, err := s.Lock(ctx, "flow:f", "b", time.Minute); err != nil {
		t.Errorf("Lock by b at expiry: %v", err)
	}
}

func TestMemory(t *testing.T) {
	a, err := Open(ctx, ":memory:", Options{})
	if err != nil {
		t.Fatalf("Open(:memory:): %v", err)
	}
	b, err := Open(ctx, "", Options{})
	if err != nil {
		t.Fatalf("Open(\"\"): %v", err)
	}
	defer b.Close()
	if a.Path() == b.Path() {
		t.Fatalf("two in-memory stores share %s", a.Path())
	}
	if _, err := a.CreateLink(ctx, store.Link{Flow: "f", A: adapters.Ref{ID: "1"}, B: adapters.Ref{ID: "2"}}); err != nil {
		t.Fatalf("CreateLink: %v", err)
	}
	links, err := b.ListLinks(ctx, "f")
	if err != nil || len(links) != 0 {
		t.Errorf("the other in-memory store has links %v, %v; want none", links, err)
	}
	dir := filepath.Dir(a.Path())
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("in-memory store's directory %s remains after Close: %v", dir, err)
	}
}

// Benchmarks: a real file, with the production settings.

func openBench(tb testing.TB) store.Store { return openTB(tb, "", Options{}) }

func BenchmarkPutBase(b *testing.B)       { storetest.BenchPutBase(b, openBench) }
func BenchmarkListBases100k(b *testing.B) { storetest.BenchListBases(b, openBench) }
func BenchmarkGetBase(b *testing.B)       { storetest.BenchGetBase(b, openBench) }
func BenchmarkJournalWrite(b *testing.B)  { storetest.BenchJournalWrite(b, openBench) }
func BenchmarkCoordination(b *testing.B)  { storetest.BenchCoordination(b, openBench) }

// readOnlyDir returns a folder holding an existing state file, then made
// read-only: by its mode where that binds (not root), else by a tmpfs
// remounted read-only (root, where mount is allowed).
func readOnlyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		seedState(t, dir)
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return dir
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("running as root, and a read-only folder needs a tmpfs mount, which this machine refuses: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	seedState(t, dir)
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remounting %s read-only: %v: %s", dir, err, out)
	}
	return dir
}

func seedState(t *testing.T, dir string) {
	t.Helper()
	st, err := Open(t.Context(), filepath.Join(dir, "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// A state file in a folder that cannot be written is refused with the
// path and what to do, not SQLite's "unable to open database file: no
// such file or directory" (it cannot make its write-ahead log there).
func TestReadOnlyStateFolder(t *testing.T) {
	dir := readOnlyDir(t)
	path := filepath.Join(dir, "state.db")
	_, err := Open(t.Context(), path, Options{})
	if err == nil {
		t.Fatal("opened a state file in a read-only folder")
	}
	msg := err.Error()
	if !strings.Contains(msg, path) || !strings.Contains(msg, "state.dsn") || strings.Contains(msg, "no such file") {
		t.Errorf("error %q: want the path, what to change (state.dsn), and not SQLite's misleading message", msg)
	}
}
