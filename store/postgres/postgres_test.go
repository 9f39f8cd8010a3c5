package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"

	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/postgres/pgtest"
	"github.com/tracksync/tracksync/store/storetest"
)

var ctx = context.Background()

// openTB opens a store on a fresh schema and closes it when tb ends.
func openTB(tb testing.TB, opts store.Options) (*Store, string) {
	tb.Helper()
	_, dsn := pgtest.Schema(tb)
	s, err := Open(ctx, dsn, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s, dsn
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTB(t, store.Options{})
		return s
	})
}

func TestRegistered(t *testing.T) {
	_, dsn := pgtest.Schema(t)
	st, err := store.Open(ctx, "postgres", dsn, store.Options{})
	if err != nil {
		t.Fatalf("store.Open(postgres): %v", err)
	}
	defer st.Close()
	s, ok := st.(*Store)
	if !ok {
		t.Fatalf("store.Open(postgres) = %T, want *postgres.Store", st)
	}
	if d := s.Describe(); !strings.HasPrefix(d, "postgres://") || !strings.Contains(d, "search_path=tracksync_test_") {
		t.Errorf("Describe = %q, want the database and its schema", d)
	}
}

// TestSecretsStayOut: neither Describe nor a connection error repeats
// the DSN's password.
func TestSecretsStayOut(t *testing.T) {
	const pw = "s3cret-PW-4711"
	_, err := Open(ctx, "postgres://tracksync:"+pw+"@127.0.0.1:1/nowhere?connect_timeout=2", store.Options{})
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), pw) {
		t.Errorf("error repeats the password: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("error does not name the database: %v", err)
	}
	_, err = Open(ctx, "postgres://tracksync:"+pw+"@127.0.0.1:notaport/x", store.Options{})
	if err == nil || strings.Contains(err.Error(), pw) || !strings.Contains(err.Error(), "state.dsn") {
		t.Errorf("Open of a malformed DSN = %v, want an error naming state.dsn without the password", err)
	}
}

// TestTooNew: a database migrated by a newer tracksync is refused, and
// left as it is.
func TestTooNew(t *testing.T) {
	s, dsn := openTB(t, store.Options{})
	if _, err := s.Pool().Exec(ctx, `UPDATE tracksync_schema SET version = 99`); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, dsn, store.Options{})
	if !errors.Is(err, store.ErrTooNew) || !strings.Contains(err.Error(), "99") ||
		!strings.Contains(err.Error(), fmt.Sprint(SchemaVersion())) || !strings.Contains(err.Error(), "upgrade tracksync") {
		t.Errorf("Open of a newer database = %v, want ErrTooNew naming both versions", err)
	}
	var v int
	if err := s.Pool().QueryRow(ctx, `SELECT version FROM tracksync_schema`).Scan(&v); err != nil || v != 99 {
		t.Errorf("version after the refusal = %d, %v; want 99 left alone", v, err)
	}
}

// TestConcurrentOpen: processes that open a new database at once migrate
// it once, one after the other (the advisory lock), and all succeed.
func TestConcurrentOpen(t *testing.T) {
	_, dsn := pgtest.Schema(t)
	const n = 6
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			s, err := Open(ctx, dsn, store.Options{})
			if err == nil {
				_, err = s.CreateLink(ctx, store.Link{Flow: "f", A: adapters.Ref{ID: fmt.Sprint(rand.Int64())}, B: adapters.Ref{ID: "b" + fmt.Sprint(rand.Int64())}})
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s, _ := Open(ctx, dsn, store.Options{})
	defer s.Close()
	var v, rows int
	if err := s.Pool().QueryRow(ctx, `SELECT version, (SELECT count(*) FROM tracksync_schema) FROM tracksync_schema`).Scan(&v, &rows); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || rows != 1 {
		t.Errorf("schema version %d in %d rows, want %d in one", v, rows, SchemaVersion())
	}
	if n2, _ := s.CountLinks(ctx, "f"); n2 != n {
		t.Errorf("%d links, want %d", n2, n)
	}
}

// TestFenceHoldsTakeover: a fenced journal write holds the lease row
// until its transaction ends, so another process cannot take the lease
// over in the middle of it (here its Lock times out on the row, with
// ErrLocked); once the writer commits, the takeover succeeds and the old
// holder's next write is refused. SQLite gets this from its single
// writer; PostgreSQL from the share lock the fence takes.
func TestFenceHoldsTakeover(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a, dsn := openTB(t, store.Options{Clock: clock})
	b, err := Open(ctx, dsn, store.Options{Clock: clock, BusyTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	lease, err := a.Lock(ctx, "flow:f", "a:1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	entry := store.JournalEntry{RunID: 1, Flow: "f", Op: "update", Side: store.SideB, LeaseName: lease.Name, LeaseToken: lease.Token}
	inTx := make(chan struct{})
	release := make(chan struct{})
	txErr := make(chan error, 1)
	go func() {
		txErr <- a.Tx(ctx, func(tx store.Ops) error {
			if _, err := tx.JournalIntent(ctx, entry); err != nil {
				return err
			}
			close(inTx)
			<-release
			return nil
		})
	}()
	<-inTx
	// a's lease runs out while its write is still open.
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	_, err = b.Lock(ctx, "flow:f", "b:2", time.Minute)
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("takeover during a fenced write = %v, want it to wait on the row (ErrLocked after the busy timeout)", err)
	}
	close(release)
	if err := <-txErr; err != nil {
		t.Fatalf("the fenced Tx: %v", err)
	}
	nb, err := b.Lock(ctx, "flow:f", "b:2", time.Minute)
	if err != nil || nb.Token != lease.Token+1 {
		t.Fatalf("takeover after the write = %+v, %v; want token %d", nb, err, lease.Token+1)
	}
	if _, err := a.JournalIntent(ctx, entry); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("old holder's write after the takeover = %v, want ErrLeaseLost", err)
	}
}

// TestDatabaseClock: without an injected clock, lease expiry is the
// database's time, so two processes whose clocks disagree agree on it.
func TestDatabaseClock(t *testing.T) {
	s, _ := openTB(t, store.Options{})
	var dbNowNS int64
	if err := s.Pool().QueryRow(ctx, `SELECT `+dbNow).Scan(&dbNowNS); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(ctx, "x", "me", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if d := l.Expires.Sub(time.Unix(0, dbNowNS)); d < time.Hour || d > time.Hour+time.Minute {
		t.Errorf("lease expires %s after the database's now, want an hour", d)
	}
}

func openBench(tb testing.TB) store.Store {
	s, _ := openTB(tb, store.Options{})
	return s
}

func BenchmarkPutBase(b *testing.B)       { storetest.BenchPutBase(b, openBench) }
func BenchmarkListBases100k(b *testing.B) { storetest.BenchListBases(b, openBench) }
func BenchmarkGetBase(b *testing.B)       { storetest.BenchGetBase(b, openBench) }
func BenchmarkJournalWrite(b *testing.B)  { storetest.BenchJournalWrite(b, openBench) }
func BenchmarkCoordination(b *testing.B)  { storetest.BenchCoordination(b, openBench) }

// TestTwoProcessesReadModifyWrite: two stores (two pools, as two
// processes would have) increment one counter in transactions that read
// it first; SERIALIZABLE with retries loses no increment, where READ
// COMMITTED would.
func TestTwoProcessesReadModifyWrite(t *testing.T) {
	a, dsn := openTB(t, store.Options{})
	b, err := Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for _, s := range []*Store{a, b} {
		for range workers {
			wg.Go(func() {
				for range each {
					err := s.Tx(ctx, func(tx store.Ops) error {
						c, err := tx.GetCursor(ctx, "counter", store.SideA)
						if err != nil {
							return err
						}
						var n int
						if c != "" {
							fmt.Sscan(c, &n)
						}
						return tx.PutCursor(ctx, "counter", store.SideA, fmt.Sprint(n+1))
					})
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c, err := a.GetCursor(ctx, "counter", store.SideA)
	if want := fmt.Sprint(2 * workers * each); err != nil || c != want {
		t.Errorf("counter = %s, %v; want %s", c, err, want)
	}
}

func TestMissingSchema(t *testing.T) {
	_, dsn := pgtest.Schema(t)
	dsn = pgtest.WithSearchPath(t, dsn, "tracksync_no_such_schema")
	_, err := Open(ctx, dsn, store.Options{})
	if err == nil || !strings.Contains(err.Error(), "tracksync_no_such_schema") || !strings.Contains(err.Error(), "CREATE SCHEMA") {
		t.Errorf("Open with a missing schema = %v, want an error naming it", err)
	}
}

// TestPausedHolderLosesItsLocks: a replica paused in the middle of a
// transaction (SIGSTOP) holds the lease row's lock; the server ends its
// session after idle_in_transaction_session_timeout, so another replica
// takes the flow over, and nothing of the paused transaction lands.
func TestPausedHolderLosesItsLocks(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	_, dsn := pgtest.Schema(t)
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("idle_in_transaction_session_timeout", "300")
	u.RawQuery = q.Encode()
	a, err := Open(ctx, u.String(), store.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, dsn, store.Options{Clock: clock, BusyTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	lease, err := a.Lock(ctx, "flow:f", "a:1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	inTx, resume := make(chan struct{}), make(chan struct{})
	txErr := make(chan error, 1)
	go func() {
		txErr <- a.Tx(ctx, func(tx store.Ops) error {
			if _, err := tx.JournalIntent(ctx, store.JournalEntry{RunID: 1, Flow: "f", Op: "update", Side: store.SideB,
				LeaseName: lease.Name, LeaseToken: lease.Token}); err != nil {
				return err
			}
			close(inTx)
			<-resume // paused
			_, err := tx.CreateLink(ctx, store.Link{Flow: "f", A: adapters.Ref{ID: "1"}, B: adapters.Ref{ID: "2"}})
			return err
		})
	}()
	<-inTx
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	// Blocks on the lease row until the server ends a's session.
	nb, err := b.Lock(ctx, "flow:f", "b:2", time.Minute)
	if err != nil || nb.Token != lease.Token+1 {
		t.Fatalf("takeover from a paused holder = %+v, %v; want token %d", nb, err, lease.Token+1)
	}
	close(resume)
	if err := <-txErr; err == nil {
		t.Error("the paused transaction committed after its session was ended")
	}
	if entries, _ := b.RunJournal(ctx, 1); len(entries) != 0 {
		t.Errorf("the paused transaction's journal entry landed: %+v", entries)
	}
	if n, _ := b.CountLinks(ctx, "f"); n != 0 {
		t.Errorf("the paused transaction's link landed")
	}
}

// TestSessionDefaults: every pooled session waits at most
// DefaultBusyTimeout for a row lock and is ended when idle in a
// transaction for DefaultIdleInTxTimeout, unless the DSN says otherwise.
func TestSessionDefaults(t *testing.T) {
	s, dsn := openTB(t, store.Options{})
	show := func(s *Store, name string) string {
		t.Helper()
		var v string
		if err := s.Pool().QueryRow(ctx, "SHOW "+name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := show(s, "lock_timeout"); got != "10s" {
		t.Errorf("lock_timeout = %s, want 10s", got)
	}
	if got := show(s, "idle_in_transaction_session_timeout"); got != "30s" {
		t.Errorf("idle_in_transaction_session_timeout = %s, want 30s", got)
	}
	if got := show(s, "default_transaction_isolation"); got != "read committed" {
		t.Errorf("default_transaction_isolation = %s, want read committed", got)
	}
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("lock_timeout", "2500")
	q.Set("idle_in_transaction_session_timeout", "0")
	q.Set("default_transaction_isolation", "serializable") // a DBA's default: not for this store's sessions
	u.RawQuery = q.Encode()
	s2, err := Open(ctx, u.String(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got, got2 := show(s2, "lock_timeout"), show(s2, "idle_in_transaction_session_timeout"); got != "2500ms" || got2 != "0" {
		t.Errorf("with the DSN's settings: lock_timeout %s, idle timeout %s; want 2500ms and 0", got, got2)
	}
	if got := show(s2, "default_transaction_isolation"); got != "read committed" {
		t.Errorf("default_transaction_isolation with serializable in the DSN = %s, want read committed", got)
	}
}

// TestTxRetriesAfterConflict: a transaction whose read was overtaken by
// another's committed write is aborted by PostgreSQL and run again, on a
// fresh snapshot, and then sees that write.
func TestTxRetriesAfterConflict(t *testing.T) {
	s, _ := openTB(t, store.Options{})
	if err := s.PutCursor(ctx, "f", store.SideA, "1"); err != nil {
		t.Fatal(err)
	}
	read, overtaken := make(chan struct{}), make(chan struct{})
	runs := 0
	done := make(chan error, 1)
	go func() {
		done <- s.Tx(ctx, func(tx store.Ops) error {
			runs++
			c, err := tx.GetCursor(ctx, "f", store.SideA)
			if err != nil {
				return err
			}
			if runs == 1 {
				close(read)
				<-overtaken
			}
			return tx.PutCursor(ctx, "f", store.SideA, c+"+a")
		})
	}()
	<-read
	if err := s.PutCursor(ctx, "f", store.SideA, "1+b"); err != nil {
		t.Fatal(err)
	}
	close(overtaken)
	if err := <-done; err != nil {
		t.Fatalf("Tx: %v", err)
	}
	c, err := s.GetCursor(ctx, "f", store.SideA)
	if err != nil || c != "1+b+a" || runs != 2 {
		t.Errorf("cursor %q after %d runs of fn, %v; want 1+b+a after 2", c, runs, err)
	}
}

// TestRoundTrips: the pool counts what it sends, one per statement and
// one per batch, so benchmarks can report round trips per run.
func TestRoundTrips(t *testing.T) {
	s, _ := openTB(t, store.Options{})
	n0 := s.RoundTrips()
	if _, err := s.Generation(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if got := s.RoundTrips() - n0; got != 1 {
		t.Errorf("one Generation read sent %d round trips, want 1", got)
	}
	n0 = s.RoundTrips()
	if _, err := s.BumpGeneration(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if got := s.RoundTrips() - n0; got < 1 {
		t.Errorf("a BumpGeneration sent %d round trips, want at least 1", got)
	}
}
