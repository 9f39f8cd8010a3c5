package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

// TestMigrateSharesTheStoreBudget: with --yield (0.3 by default) the
// migration's trackers pace through the state store's rate buckets, the
// ones serve and its replicas share, so live sync on the same state and
// the migration draw on one budget (how the background side yields is
// TestBackgroundYieldsToLive in adapters/internal/rest); with --yield 0
// the migration paces on its own and takes nothing from the store.
func TestMigrateSharesTheStoreBudget(t *testing.T) {
	for _, c := range []struct {
		yield   string
		buckets bool
	}{{"0.3", true}, {"0", false}} {
		t.Run("yield "+c.yield, func(t *testing.T) {
			k := newKillFakes(t)
			for i := range 3 {
				if _, err := k.jr.Create(t.Context(), adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprint("issue ", i), Status: "To Do"},
					adapters.CreateOptions{IdempotencyKey: fmt.Sprint("seed|", i)}); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errs := runCLI(t, "-c", k.cfg, "migrate", "--from", "jira:project = "+killProj, "--to", "github:"+killRepo, "--yield", c.yield)
			if code != exitOK {
				t.Fatalf("migrate: %d\n%s%s", code, out, errs)
			}
			if n := len(k.gfake.Issues(killRepo)); n != 3 {
				t.Fatalf("%d issues on GitHub, want 3", n)
			}
			db, err := sql.Open("sqlite3", filepath.Join(filepath.Dir(k.cfg), "state.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM rate_buckets`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if (n > 0) != c.buckets {
				t.Errorf("--yield %s: %d rate buckets in the state store, want some: %v", c.yield, n, c.buckets)
			}
		})
	}
}
