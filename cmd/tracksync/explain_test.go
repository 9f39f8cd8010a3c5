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

// explainSetup writes a two-memory-tracker config with flow settings and
// fields given, seeds left, and syncs once.
func explainSetup(t *testing.T, flow, fields string, seed ...adapters.Item) (dir, cfg string) {
	t.Helper()
	dir = t.TempDir()
	cfg = filepath.Join(dir, "tracksync.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`state: { dsn: state.db }
trackers:
  left: { kind: memory, project: L, path: left.json }
  right: { kind: memory, project: R, path: right.json }
users:
  - { name: Ana, left: ana, right: gh-ana }
flows:
  - name: pair
    a: { tracker: left }
    b: { tracker: right }
%s    fields:
%s`, flow, fields)), 0o600)
	left := openMem(t, dir, "left")
	left.Seed(seed...)
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK && code != exitFailed {
		t.Fatalf("sync: %d %s%s", code, out, errs)
	}
	return dir, cfg
}

func explainJSON(t *testing.T, cfg, item string) []map[string]any {
	t.Helper()
	code, out, errs := runCLI(t, "-c", cfg, "-o", "json", "explain", item)
	var xs []map[string]any
	if err := json.Unmarshal([]byte(out), &xs); code != exitOK || err != nil {
		t.Fatalf("explain %s: %d %v\n%s%s", item, code, err, out, errs)
	}
	return xs
}

// field returns the explanation of field f in x.
func fieldOf(x map[string]any, f string) map[string]any {
	for _, fx := range x["fields"].([]any) {
		if m := fx.(map[string]any); m["field"] == f {
			return m
		}
	}
	return nil
}

func item(title string) adapters.Item {
	return adapters.Item{Kind: adapters.KindIssue, Title: title, Status: "To Do"}
}

func TestExplainDirection(t *testing.T) {
	dir, cfg := explainSetup(t, "", "      title: a-to-b\n      status: both\n", item("one"))
	right := openMem(t, dir, "right")
	r := right.Items()[0]
	right.Edit(r.Ref, func(x *adapters.Item) { x.Title = "edited on right" })
	_, raw, _ := runCLI(t, "-c", cfg, "-o", "json", "explain", r.Ref.Key)
	golden(t, "explain-direction.json", raw)
	xs := explainJSON(t, cfg, r.Ref.Key)
	if len(xs) != 1 || xs[0]["linked"] != true || xs[0]["side"] != "b" {
		t.Fatalf("explain: %v", xs)
	}
	f := fieldOf(xs[0], "title")
	if f["next"] != "nothing" || !strings.Contains(f["why"].(string), "direction a-to-b") || f["b"] != "edited on right" || f["base_b"] != "one" {
		t.Errorf("title: %v", f)
	}
	// The text form says the same.
	code, out, _ := runCLI(t, "-c", cfg, "explain", "right:"+r.Ref.Key)
	if code != exitOK || !strings.Contains(out, "linked to left:") || !strings.Contains(out, "direction a-to-b") {
		t.Errorf("explain (text): %d\n%s", code, out)
	}
}

func TestExplainOwnerAndPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, flow, fields, next, why string
	}{
		{"owner", "    conflict: manual\n", "      title: { direction: both, owner: a }\n", "conflict settled: side a wins", "side a owns the field"},
		{"policy", "    conflict: manual\n", "      title: both\n", "conflict held", "policy manual holds it"},
		{"newest", "    conflict: newest\n", "      title: both\n", "conflict settled: side b wins", "policy newest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, cfg := explainSetup(t, tc.flow, tc.fields, item("one"))
			left, right := openMem(t, dir, "left"), openMem(t, dir, "right")
			l := left.Items()[0]
			left.Edit(l.Ref, func(x *adapters.Item) { x.Title = "left says" })
			right.Edit(right.Items()[0].Ref, func(x *adapters.Item) { x.Title = "right says" })
			f := fieldOf(explainJSON(t, cfg, l.Ref.Key)[0], "title")
			if !strings.HasPrefix(f["next"].(string), tc.next) || !strings.Contains(f["why"].(string), tc.why) {
				t.Errorf("title: %v, want next %q, why %q", f, tc.next, tc.why)
			}
		})
	}
}

func TestExplainOutOfScope(t *testing.T) {
	dir, cfg := explainSetup(t, "", "      title: both\n", item("one"))
	body, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(body), "a: { tracker: left }", "a: { tracker: left, scope: 'label:sync' }", 1)), 0o600)
	left := openMem(t, dir, "left")
	fresh := left.Seed(item("not labelled"))[0]
	x := explainJSON(t, cfg, fresh.Ref.Key)[0]
	if x["linked"] != false || x["next"].([]any)[0] != "nothing" || !strings.Contains(fmt.Sprint(x["reasons"]), `out of scope`) || !strings.Contains(fmt.Sprint(x["reasons"]), "label:sync") {
		t.Errorf("out of scope: %v", x)
	}
	labelled := left.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "labelled", Status: "To Do", Labels: []string{"sync"}})[0]
	x = explainJSON(t, cfg, labelled.Ref.Key)[0]
	if !strings.Contains(fmt.Sprint(x["next"]), "create") {
		t.Errorf("a new item in scope: %v", x)
	}
}

func TestExplainUnmappedStatus(t *testing.T) {
	dir, cfg := explainSetup(t, "", "      title: both\n      status:\n        map:\n          - { a: 'To Do', b: 'To Do' }\n          - { a: 'Done', b: 'Done' }\n", item("one"))
	// Right's workflow has no In Review.
	body, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(body), "right: { kind: memory, project: R, path: right.json }",
		"right: { kind: memory, project: R, path: right.json, statuses: 'To Do:todo, Doing:in_progress, Done:done' }", 1)), 0o600)
	left := openMem(t, dir, "left")
	l := left.Items()[0]
	left.Edit(l.Ref, func(x *adapters.Item) { x.Status = "In Review" })
	x := explainJSON(t, cfg, l.Ref.Key)[0]
	f := fieldOf(x, "status")
	if f == nil {
		t.Fatalf("no status field: %v", x)
	}
	if !strings.Contains(f["why"].(string), `"In Review"`) || !strings.Contains(f["why"].(string), "map") {
		t.Errorf("status: %v", f)
	}
}

func TestExplainUnknownUser(t *testing.T) {
	dir, cfg := explainSetup(t, "", "      title: both\n      assignees: both\n", item("one"))
	left := openMem(t, dir, "left")
	l := left.Items()[0]
	left.Edit(l.Ref, func(x *adapters.Item) { x.Assignees = []string{"zed"} })
	f := fieldOf(explainJSON(t, cfg, l.Ref.Key)[0], "assignees")
	if !strings.Contains(f["why"].(string), "zed") || !strings.Contains(f["why"].(string), "users") {
		t.Errorf("assignees: %v", f)
	}
}

// TestExplainRefusedWrite: a write the tracker refused is named with the
// tracker's own message.
func TestExplainRefusedWrite(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	os.WriteFile(cfg, []byte(`state: { dsn: state.db }
trackers:
  mem: { kind: memory, project: M, path: mem.json }
  jira:
    kind: jira
    url: `+jiraFake(t)+`
    project: PLAT
    auth:
      email: bot@example.com
      token: jira-SECRET-token-42
flows:
  - name: pair
    a: { tracker: mem }
    b: { tracker: jira, scope: 'project = PLAT' }
    fields:
      title: both
`), 0o600)
	mem := openMemProject(t, dir, "mem", "M")
	long := mem.Seed(item(strings.Repeat("very long title ", 20)))[0]
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitFailed {
		t.Fatalf("sync of a title Jira refuses: %d %s%s", code, out, errs)
	}
	x := explainJSON(t, cfg, long.Ref.Key)[0]
	if !strings.Contains(fmt.Sprint(x["reasons"]), "a write was refused") || !strings.Contains(fmt.Sprint(x["reasons"]), "Summary must be less than 255 characters") {
		t.Errorf("refused write: %v", x)
	}
}

func TestExplainUnknownItem(t *testing.T) {
	_, cfg := explainSetup(t, "", "      title: both\n", item("one"))
	if code, _, errs := runCLI(t, "-c", cfg, "explain", "NOPE-9"); code != exitUsage || !strings.Contains(errs, "NOPE-9") {
		t.Errorf("unknown item: %d %s", code, errs)
	}
}
