package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

// TestMigrateCommand: dry run, migration with hand-over and an id map, a
// re-run that makes nothing, --resume by id, and the flow's first run
// after the hand-over writing nothing.
func TestMigrateCommand(t *testing.T) {
	dir, cfg := setup(t, "manual", 0)
	left := openMem(t, dir, "left")
	epic := left.Seed(adapters.Item{Kind: adapters.KindEpic, Title: "Epic", Status: "In Progress", Labels: []string{"big"}, Body: "Children: L-2 and L-3."})[0]
	left.Seed(
		adapters.Item{Kind: adapters.KindIssue, Title: "first", Status: "To Do", Parent: &epic.Ref, Body: "see L-3", Comments: []adapters.Comment{{Author: "ana", Body: "hello"}}},
		adapters.Item{Kind: adapters.KindIssue, Title: "second", Status: "Done", Parent: &epic.Ref, Labels: []string{"x"}},
	)
	code, out, errs := runCLI(t, "-c", cfg, "migrate", "--from", "left", "--to", "right", "--dry-run")
	if code != exitOK || !strings.Contains(out, "3 to create") || !strings.Contains(out, "dry run: nothing written") || len(openMem(t, dir, "right").Items()) != 0 {
		t.Fatalf("dry run: %d\n%s%s", code, out, errs)
	}
	idmap := filepath.Join(dir, "ids.csv")
	code, out, errs = runCLI(t, "-c", cfg, "-o", "json", "migrate", "--from", "left", "--to", "right", "--link", "pair", "--id-map", idmap)
	if code != exitOK {
		t.Fatalf("migrate: %d\n%s%s", code, out, errs)
	}
	// Not a terminal: progress as log lines on stderr, one per phase.
	for _, phase := range []string{"listing left", "creating on right (3)", "finishing (references, status, comments) (3)", "finishing (references, status, comments) 3/3"} {
		if !strings.Contains(errs, phase) {
			t.Errorf("stderr lacks %q:\n%s", phase, errs)
		}
	}
	var rep struct {
		ID     string
		Counts struct{ Created, Comments, Linked int }
		IDMap  []struct{ Source, Target struct{ Key string } } `json:"id_map"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Counts.Created != 3 || rep.Counts.Comments != 1 || rep.Counts.Linked != 3 || len(rep.IDMap) != 3 {
		t.Fatalf("report: %+v\n%s", rep, out)
	}
	f, _ := os.Open(idmap)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 4 || rows[1][0] != "L-1" || !strings.HasPrefix(rows[1][1], "R-") {
		t.Fatalf("id map: %v %v", rows, err)
	}
	right := openMem(t, dir, "right").Items()
	if len(right) != 3 {
		t.Fatalf("%d items on the right", len(right))
	}
	for _, it := range right {
		if it.Title == "Epic" && !strings.Contains(it.Body, "R-2 and R-3") {
			t.Errorf("references not rewritten: %q", it.Body)
		}
	}
	// The same command again, and --resume by id: nothing to do.
	if code, out, errs = runCLI(t, "-c", cfg, "migrate", "--from", "left", "--to", "right"); code != exitOK || !strings.Contains(out, "0 created") || !strings.Contains(out, "3 done earlier") {
		t.Fatalf("again: %d\n%s%s", code, out, errs)
	}
	if code, out, errs = runCLI(t, "-c", cfg, "migrate", "--resume", rep.ID); code != exitOK || !strings.Contains(out, "0 created") {
		t.Fatalf("resume: %d\n%s%s", code, out, errs)
	}
	if code, _, errs = runCLI(t, "-c", cfg, "migrate", "--resume", "nope"); code != exitUsage || !strings.Contains(errs, "no such migration") {
		t.Fatalf("resume of an unknown id: %d %s", code, errs)
	}
	// The flow's first run writes nothing.
	lb, _ := os.ReadFile(filepath.Join(dir, "left.json"))
	rb, _ := os.ReadFile(filepath.Join(dir, "right.json"))
	code, out, errs = runCLI(t, "-c", cfg, "sync", "--once")
	if code != exitOK || !strings.Contains(out, "0 created") {
		t.Fatalf("sync: %d\n%s%s", code, out, errs)
	}
	la, _ := os.ReadFile(filepath.Join(dir, "left.json"))
	ra, _ := os.ReadFile(filepath.Join(dir, "right.json"))
	if string(la) != string(lb) || string(ra) != string(rb) {
		t.Fatalf("the flow's first run after the hand-over wrote:\n%s", out)
	}
}

func TestMigrateUsage(t *testing.T) {
	_, cfg := setup(t, "manual", 0)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "--from", "left"}, "needs --from and --to"},
		{[]string{"migrate", "--from", "nope", "--to", "right"}, `no tracker "nope"`},
		{[]string{"migrate", "--from", "left", "--to", "left"}, "same tracker and scope"},
		{[]string{"migrate", "--from", "left", "--to", "right", "--link", "zzz"}, `no flow "zzz"`},
		{[]string{"migrate", "--from", "left", "--to", "right", "--since", "last week"}, "YYYY-MM-DD"},
		{[]string{"migrate", "--from", "left", "--to", "right", "--yield", "2"}, "--yield 2: want a share between 0 and 1"},
	} {
		if code, _, errs := runCLI(t, append([]string{"-c", cfg}, c.args...)...); code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: %d %s", c.args, code, errs)
		}
	}
}

// TestMigrateMapFile: --map FILE decides what moves.
func TestMigrateMapFile(t *testing.T) {
	dir, cfg := setup(t, "manual", 0)
	openMem(t, dir, "left").Seed(adapters.Item{Kind: adapters.KindIssue, Title: "one", Status: "Done", Labels: []string{"keep-out"}})
	mapFile := filepath.Join(dir, "map.yaml")
	os.WriteFile(mapFile, []byte("fields:\n  title: a-to-b\n  status:\n    map:\n      - {a: Done, b: In Review}\n"), 0o600)
	if code, out, errs := runCLI(t, "-c", cfg, "migrate", "--from", "left", "--to", "right", "--map", mapFile); code != exitOK {
		t.Fatalf("migrate --map: %d\n%s%s", code, out, errs)
	}
	got := openMem(t, dir, "right").Items()
	if len(got) != 1 || got[0].Status != "In Review" || len(got[0].Labels) != 0 {
		t.Fatalf("copy %+v", got)
	}
	os.WriteFile(mapFile, []byte("flows: []\n"), 0o600)
	if code, _, errs := runCLI(t, "-c", cfg, "migrate", "--from", "left", "--to", "right:other", "--map", mapFile); code != exitUsage || !strings.Contains(errs, `unknown key "flows"`) {
		t.Fatalf("bad map file: %d %s", code, errs)
	}
}

// TestMigrateWithFlowMaps: --flow takes a flow's maps, with the source on
// either side of it; only the flow's fields move.
func TestMigrateWithFlowMaps(t *testing.T) {
	dir, cfg := setup(t, "manual", 0)
	openMem(t, dir, "right").Seed(adapters.Item{Kind: adapters.KindIssue, Title: "from the right", Status: "Done", Labels: []string{"l"}, Priority: "High"})
	if code, out, errs := runCLI(t, "-c", cfg, "migrate", "--from", "right", "--to", "left", "--flow", "pair"); code != exitOK {
		t.Fatalf("migrate --flow: %d\n%s%s", code, out, errs)
	}
	got := openMem(t, dir, "left").Items()
	if len(got) != 1 || got[0].Title != "from the right" || got[0].Status != "Done" || len(got[0].Labels) != 1 || got[0].Priority != "" {
		t.Fatalf("copy %+v (pair syncs title, status and labels, not priority)", got)
	}
}
