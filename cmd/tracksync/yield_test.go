package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/migrate"
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

// TestPaceOfTrackers: the estimate's pace comes from the opened tracker's
// own options (adapters.WritePacer), defaults included, not from the
// config's keys read again.
func TestPaceOfTrackers(t *testing.T) {
	gh, err := github.New("gh", github.Options{Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	limited, err := github.New("gh", github.Options{Token: "t", ContentPerMinute: 20, ContentPerHour: 100})
	if err != nil {
		t.Fatal(err)
	}
	k := newKillFakes(t)
	mem, _ := memory.New("m", memory.Options{Project: "M"})
	for _, c := range []struct {
		name string
		tr   adapters.Tracker
		want migrate.Pace
	}{
		{"github defaults", gh, migrate.Pace{Windows: []migrate.Window{{Limit: 80, Per: time.Minute}, {Limit: 500, Per: time.Hour}}}},
		{"github limits", limited, migrate.Pace{Windows: []migrate.Window{{Limit: 20, Per: time.Minute}, {Limit: 100, Per: time.Hour}}}},
		{"jira", k.jr, migrate.Pace{Latency: 300 * time.Millisecond}},
		{"memory", mem, migrate.Pace{}},
	} {
		if got := paceOf(c.tr); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: pace %+v, want %+v", c.name, got, c.want)
		}
	}
}
