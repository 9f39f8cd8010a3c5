package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

func TestLinkUnlinkCommands(t *testing.T) {
	dir, cfg := setup(t, "manual", 0)
	left, right := openMem(t, dir, "left"), openMem(t, dir, "right")
	l := left.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Jira name", Status: "To Do"}, adapters.Item{Kind: adapters.KindIssue, Title: "second", Status: "To Do"}, adapters.Item{Kind: adapters.KindIssue, Title: "third", Status: "To Do"})
	r := right.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "GitHub name", Status: "To Do"}, adapters.Item{Kind: adapters.KindIssue, Title: "deux", Status: "To Do"}, adapters.Item{Kind: adapters.KindIssue, Title: "trois", Status: "To Do"})
	links := func() int {
		t.Helper()
		_, out, _ := runCLI(t, "-c", cfg, "-o", "json", "links", "--flow", "pair")
		var ls []struct{ A, B struct{ ID string } }
		if err := json.Unmarshal([]byte(out), &ls); err != nil {
			t.Fatalf("links: %v\n%s", err, out)
		}
		n := 0
		for _, x := range ls {
			if !strings.HasPrefix(x.A.ID, "deleted:") {
				n++
			}
		}
		return n
	}
	// Items named in either order; --dry-run links nothing.
	code, out, errs := runCLI(t, "-c", cfg, "link", "--flow", "pair", "--dry-run", "right:"+r[0].Ref.Key, "left:"+l[0].Ref.Key)
	if code != exitOK || !strings.Contains(out, "would link (dry run) left:"+l[0].Ref.Key+" with right:"+r[0].Ref.Key) || links() != 0 {
		t.Fatalf("dry run: %d\n%s%s", code, out, errs)
	}
	if code, out, errs = runCLI(t, "-c", cfg, "link", "--flow", "pair", "left:"+l[0].Ref.Key, "right:"+r[0].Ref.Key); code != exitOK || links() != 1 {
		t.Fatalf("link: %d\n%s%s", code, out, errs)
	}
	if code, _, errs = runCLI(t, "-c", cfg, "link", "--flow", "pair", "left:"+l[0].Ref.Key, "right:"+r[1].Ref.Key); code != exitFailed || !strings.Contains(errs, "linked already") {
		t.Fatalf("linking a linked item: %d %s", code, errs)
	}
	if code, _, errs = runCLI(t, "-c", cfg, "link", "--flow", "pair", "nope:X-1", "right:"+r[1].Ref.Key); code != exitUsage || !strings.Contains(errs, "neither side") {
		t.Fatalf("unknown tracker: %d %s", code, errs)
	}
	// A mapping file.
	csv := filepath.Join(dir, "mapping.csv")
	os.WriteFile(csv, []byte("a_key,b_key\n"+l[1].Ref.Key+","+r[1].Ref.Key+"\n"+l[2].Ref.Key+","+r[2].Ref.Key+"\n"), 0o600)
	if code, out, errs = runCLI(t, "-c", cfg, "link", "--flow", "pair", "--file", csv); code != exitOK || links() != 3 || !strings.Contains(out, "2 linked, 0 failed") {
		t.Fatalf("link --file: %d\n%s%s", code, out, errs)
	}
	// The first sync compares the pairs: titles differ, held under manual;
	// nothing is created.
	code, out, errs = runCLI(t, "-c", cfg, "sync", "--once")
	if code != exitConflicts || !strings.Contains(out, "0 created") {
		t.Fatalf("sync: %d\n%s%s", code, out, errs)
	}
	// Unlink keeps both items, and the flow leaves them alone.
	if code, out, errs = runCLI(t, "-c", cfg, "unlink", "--flow", "pair", "--dry-run", "left:"+l[0].Ref.Key); code != exitOK || links() != 3 {
		t.Fatalf("unlink dry run: %d\n%s%s", code, out, errs)
	}
	if code, out, errs = runCLI(t, "-c", cfg, "unlink", "--flow", "pair", "left:"+l[0].Ref.Key); code != exitOK || links() != 2 {
		t.Fatalf("unlink: %d\n%s%s", code, out, errs)
	}
	if _, out, _ := runCLI(t, "-c", cfg, "links", "--flow", "pair"); !strings.Contains(out, "unlinked by hand") {
		t.Fatalf("links:\n%s", out)
	}
	runCLI(t, "-c", cfg, "sync", "--once", "--full")
	if na, nb := len(openMem(t, dir, "left").Items()), len(openMem(t, dir, "right").Items()); na != 3 || nb != 3 {
		t.Fatalf("after unlink and sync: %d and %d items, want 3 and 3", na, nb)
	}
}

func TestValidateRefusesLoops(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct{ flows, want string }{
		"same tracker both sides": {`
  - name: loop
    a: { tracker: left }
    b: { tracker: left }
`, "are the same tracker"},
		"two names for one tracker": {`
  - name: loop
    a: { tracker: left }
    b: { tracker: left2 }
`, "are the same tracker"},
		"two flows copy the same items": {`
  - name: platform
    a: { tracker: left }
    b: { tracker: right }
  - name: platform-epics
    a: { tracker: left }
    b: { tracker: right }
`, "flows platform and platform-epics would both copy"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
			body := `trackers:
  left: { kind: memory, project: L, path: left.json }
  left2: { kind: memory, project: L, path: left.json }
  right: { kind: memory, project: R, path: right.json }
flows:` + c.flows
			os.WriteFile(cfg, []byte(body), 0o600)
			code, _, errs := runCLI(t, "-c", cfg, "validate")
			if code != exitUsage || !strings.Contains(errs, c.want) {
				t.Fatalf("validate: %d\n%s", code, errs)
			}
		})
	}
	// Disjoint scopes of one tracker pass.
	cfg := filepath.Join(dir, "ok.yaml")
	os.WriteFile(cfg, []byte(`trackers:
  left: { kind: memory, project: L, path: left.json }
flows:
  - name: epics-to-tasks
    a: { tracker: left, scope: "kind:epic" }
    b: { tracker: left, scope: "kind:task" }
`), 0o600)
	if code, _, errs := runCLI(t, "-c", cfg, "validate"); code != exitOK {
		t.Fatalf("disjoint scopes: %d %s", code, errs)
	}
}

// The recommended sequence on trackers that both hold work: the first run
// stops and points at plan; plan shows each match with its rule; a forced
// run links the matches and copies only the rest.
func TestAdoptionWalkthrough(t *testing.T) {
	dir, cfg := setup(t, "manual", 0)
	left, right := openMem(t, dir, "left"), openMem(t, dir, "right")
	for i := range 12 {
		left.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("left %d", i), Status: "To Do"})
		title := fmt.Sprintf("right %d", i)
		if i%2 == 0 {
			title = fmt.Sprintf("Left %d", i)
		}
		right.Seed(adapters.Item{Kind: adapters.KindIssue, Title: title, Status: "To Do"})
	}
	code, out, errs := runCLI(t, "-c", cfg, "sync", "--once")
	if code != exitValve || !strings.Contains(errs, "tracksync plan --flow pair") || len(openMem(t, dir, "right").Items()) != 12 {
		t.Fatalf("first run: %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "-c", cfg, "plan")
	if code != exitOK || strings.Count(out, "matched by title") != 6 || strings.Count(out, "create on") != 12 || !strings.Contains(out, "first contact: 12 unlinked item(s) on side a and 12 on side b") {
		t.Fatalf("plan: %d\n%s%s", code, out, errs)
	}
	// The matched titles differ in case: held under manual, not overwritten.
	if code, out, errs = runCLI(t, "-c", cfg, "sync", "--once", "--force"); code != exitConflicts || !strings.Contains(out, "12 created") || !strings.Contains(out, "6 conflicts held") {
		t.Fatalf("forced run: %d\n%s%s", code, out, errs)
	}
	if nl, nr := len(openMem(t, dir, "left").Items()), len(openMem(t, dir, "right").Items()); nl != 18 || nr != 18 {
		t.Fatalf("after the first run: %d left, %d right; want 18 each", nl, nr)
	}
}
