package postgres

import (
	"context"
	"testing"

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
