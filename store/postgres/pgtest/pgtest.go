// Package pgtest gives each test its own PostgreSQL schema on the test
// database, so that test runs (and parallel tests) never see each other's
// state. Only tests import it.
//
// The database is TRACKSYNC_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). When it does
// not answer, tests skip saying so, unless TRACKSYNC_REQUIRE_POSTGRES=1
// (CI sets it): then they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultDSN is the test database when TRACKSYNC_TEST_POSTGRES is unset.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// BaseDSN returns the test database's DSN.
func BaseDSN() string {
	if dsn := os.Getenv("TRACKSYNC_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return DefaultDSN
}

// Required reports whether PostgreSQL must be there (CI).
func Required() bool { return os.Getenv("TRACKSYNC_REQUIRE_POSTGRES") == "1" }

// Schema creates a schema with a random name on the test database, drops
// it (with everything in it) when tb ends, and returns its name and a DSN
// whose search_path is that schema.
func Schema(tb testing.TB) (name, dsn string) {
	tb.Helper()
	base := BaseDSN()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if Required() {
			tb.Fatalf("PostgreSQL at TRACKSYNC_TEST_POSTGRES (%s) is required (TRACKSYNC_REQUIRE_POSTGRES=1) but does not answer: %v", redact(base), err)
		}
		tb.Skipf("PostgreSQL at %s does not answer (%v); set TRACKSYNC_TEST_POSTGRES, or TRACKSYNC_REQUIRE_POSTGRES=1 to fail instead", redact(base), err)
	}
	defer conn.Close(context.Background())
	var b [6]byte
	_, _ = rand.Read(b[:])
	name = "tracksync_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("creating test schema %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("dropping test schema %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("dropping test schema %s: %v", name, err)
		}
	})
	return name, WithSearchPath(tb, base, name)
}

// WithSearchPath returns dsn (a URL) with search_path set to schema.
func WithSearchPath(tb testing.TB, dsn, schema string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("TRACKSYNC_TEST_POSTGRES must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return u.Redacted()
}
