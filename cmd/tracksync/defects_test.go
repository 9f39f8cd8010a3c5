package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store/sqlite"
)

// TestRelativeConfigPathState: with -c conf/tracksync.yaml the state lands
// in conf/state.db (relative to the config file, once), and the same
// config named by its absolute path uses that same file.
func TestRelativeConfigPathState(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf")
	if err := os.Mkdir(conf, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(conf, "tracksync.yaml")
	if err := os.WriteFile(cfg, []byte(strings.Replace(flowConfig, "%s", "newest", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TS_TEST_TOKEN", "tok-SUPERSECRET-123")
	left := openMem(t, conf, "left")
	for _, title := range []string{"one", "two", "three"} {
		left.Seed(memItem(title))
	}
	t.Chdir(dir)
	if code, out, errs := runCLI(t, "-c", "conf/tracksync.yaml", "sync", "--once"); code != exitOK {
		t.Fatalf("sync: %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(conf, "conf", "state.db")); err == nil {
		t.Error("the state went to conf/conf/state.db: the relative state.dsn was resolved twice")
	}
	if _, err := os.Stat(filepath.Join(conf, "state.db")); err != nil {
		t.Errorf("no state beside the config file: %v", err)
	}
	code, out, errs := runCLI(t, "-c", cfg, "-o", "json", "links")
	var links []struct{ ID int64 }
	if err := json.Unmarshal([]byte(out), &links); code != exitOK || err != nil {
		t.Fatalf("links by the absolute config path: %d %v\n%s%s", code, err, out, errs)
	}
	if len(links) != 3 {
		t.Errorf("the absolute config path sees %d links, want the 3 the relative one made (another state file?)", len(links))
	}
}

// TestEmptyListsAsJSON: -o json prints [] for an empty list, never null.
func TestEmptyListsAsJSON(t *testing.T) {
	dir, cfg := setup(t, "manual", 0)
	// Read-only commands never create the state: make an empty one.
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "state.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, args := range [][]string{{"conflicts", "list"}, {"conflicts", "list", "--all"}, {"runs"}, {"links"}} {
		code, out, errs := runCLI(t, append([]string{"-c", cfg, "-o", "json"}, args...)...)
		if code != exitOK || strings.TrimSpace(out) != "[]" {
			t.Errorf("%s -o json with none: %d %q %s, want []", strings.Join(args, " "), code, out, errs)
		}
	}
}

// TestUndoUnknownRun: the error names the run once.
func TestUndoUnknownRun(t *testing.T) {
	_, cfg := setup(t, "manual", 0)
	// A state that exists (one without it is refused before the run is
	// looked up).
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync: %d\n%s%s", code, out, errs)
	}
	code, _, errs := runCLI(t, "-c", cfg, "undo", "999")
	if code != exitUsage || strings.Count(errs, "run 999") != 1 || !strings.Contains(errs, "not found") {
		t.Errorf("undo 999: %d %q, want a usage error naming run 999 once", code, errs)
	}
}

// TestPlanCountsLinks: an incremental plan (cursors stored) reports the
// flow's links, not 0.
func TestPlanCountsLinks(t *testing.T) {
	_, cfg := setup(t, "manual", 3)
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync: %d\n%s%s", code, out, errs)
	}
	code, out, errs := runCLI(t, "-c", cfg, "plan")
	if code != exitOK || !strings.Contains(out, "flow pair: 3 linked") {
		t.Errorf("plan after linking 3: %d\n%s%s", code, out, errs)
	}
}

func memItem(title string) adapters.Item {
	return adapters.Item{Kind: adapters.KindIssue, Title: title, Status: "To Do"}
}
