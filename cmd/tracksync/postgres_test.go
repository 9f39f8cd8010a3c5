package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/postgres/pgtest"
)

// TestPostgresState: with state.driver postgres, sync --once, plan, links
// and runs work on a memory-tracker flow, and the state is in the
// database (a fresh schema), not in a file beside the config.
func TestPostgresState(t *testing.T) {
	_, dsn := pgtest.Schema(t)
	dir, cfg := setup(t, "manual", 3)
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pg := strings.Replace(string(body), "state:\n  dsn: state.db", "state:\n  driver: postgres\n  dsn: '"+dsn+"'", 1)
	if pg == string(body) {
		t.Fatal("the test config has no sqlite state block to replace")
	}
	if err := os.WriteFile(cfg, []byte(pg), 0o600); err != nil {
		t.Fatal(err)
	}

	if code, out, errs := runCLI(t, "-c", cfg, "validate"); code != exitOK {
		t.Fatalf("validate: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK || !strings.Contains(out, "3 created") {
		t.Fatalf("sync --once: exit %d\n%s%s", code, out, errs)
	}
	if n := len(openMem(t, dir, "right").Items()); n != 3 {
		t.Errorf("right tracker has %d items after the sync, want 3", n)
	}
	// A second run has nothing to do: the links and bases were kept.
	left := openMem(t, dir, "left")
	left.Edit(left.Items()[0].Ref, func(it *adapters.Item) { it.Title = "renamed on the left" })
	code, out, errs := runCLI(t, "-c", cfg, "plan")
	if code != exitOK || strings.Contains(out, "create on") || !strings.Contains(out, "renamed on the left") {
		t.Errorf("plan after an edit: exit %d, want one update and no create\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK || !strings.Contains(out, "1 updated") {
		t.Errorf("second sync: exit %d\n%s%s", code, out, errs)
	}

	code, out, errs = runCLI(t, "-c", cfg, "-o", "json", "links")
	var links []store.Link
	if err := json.Unmarshal([]byte(out), &links); code != exitOK || err != nil || len(links) != 3 {
		t.Errorf("links: exit %d, %v, %d links, want 3\n%s%s", code, err, len(links), out, errs)
	}
	code, out, errs = runCLI(t, "-c", cfg, "-o", "json", "runs")
	var runs []store.Run
	if err := json.Unmarshal([]byte(out), &runs); code != exitOK || err != nil || len(runs) != 2 ||
		runs[0].State != store.RunOK || runs[0].Counts.Updated != 1 || runs[1].Counts.Created != 3 {
		t.Errorf("runs: exit %d, %v, %+v; want two ok runs, newest first\n%s%s", code, err, runs, out, errs)
	}

	// The rows are in PostgreSQL.
	st, err := store.Open(context.Background(), "postgres", dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.CountLinks(context.Background(), "pair"); err != nil || n != 3 {
		t.Errorf("CountLinks in the database = %d, %v; want 3", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.db")); err == nil {
		t.Error("a sqlite state file was made for a postgres config")
	}
}

// TestStoreCopy: an installation on SQLite moves to PostgreSQL with
// `store copy`; the copy is verified, a second one needs --force, and
// the moved state syncs on from where it was.
func TestStoreCopy(t *testing.T) {
	dir, cfg := setup(t, "manual", 3)
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync on sqlite: exit %d\n%s%s", code, out, errs)
	}
	_, dsn := pgtest.Schema(t)
	from := "sqlite:" + filepath.Join(dir, "state.db")

	code, out, errs := runCLI(t, "store", "copy", "--from", from, "--to", dsn)
	if code != exitOK || !strings.Contains(out, "copied 3 links, 3 bases") || !strings.Contains(out, "1 runs") ||
		!strings.Contains(out, "verified: counts match, checksum sha256:") {
		t.Fatalf("store copy: exit %d\n%s%s", code, out, errs)
	}
	code, _, errs = runCLI(t, "store", "copy", "--from", from, "--to", dsn)
	if code != exitUsage || !strings.Contains(errs, "--force") || !strings.Contains(errs, "links") {
		t.Errorf("copy into a non-empty target: exit %d, want %d naming --force\n%s", code, exitUsage, errs)
	}
	code, out, errs = runCLI(t, "-o", "json", "store", "copy", "--from", from, "--to", dsn, "--force")
	var res struct {
		Counts   map[string]int
		Checksum string
	}
	if err := json.Unmarshal([]byte(out), &res); code != exitOK || err != nil || res.Counts["links"] != 3 || len(res.Checksum) != 64 {
		t.Errorf("store copy --force: exit %d, %v, %+v\n%s%s", code, err, res, out, errs)
	}

	for _, bad := range [][]string{
		{"store", "copy", "--from", filepath.Join(dir, "state.db"), "--to", dsn},            // no driver
		{"store", "copy", "--from", "sqlite:" + filepath.Join(dir, "none.db"), "--to", dsn}, // missing file
		{"store", "copy", "--from", "mysql:x", "--to", dsn},
		{"store", "copy", "--to", dsn},
	} {
		if code, out, errs := runCLI(t, bad...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s%s", bad, code, exitUsage, out, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Error("copying from a missing sqlite file created it")
	}

	// The flow carries on against the copy: nothing to create again.
	body, _ := os.ReadFile(cfg)
	pg := strings.Replace(string(body), "state:\n  dsn: state.db", "state:\n  driver: postgres\n  dsn: '"+dsn+"'", 1)
	if err := os.WriteFile(cfg, []byte(pg), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK || strings.Contains(out, "created") && !strings.Contains(out, "0 created") {
		t.Errorf("sync on the copy: exit %d, want nothing created\n%s%s", code, out, errs)
	}
	if n := len(openMem(t, dir, "right").Items()); n != 3 {
		t.Errorf("right tracker has %d items after syncing on the copy, want 3 (no duplicates)", n)
	}
}
