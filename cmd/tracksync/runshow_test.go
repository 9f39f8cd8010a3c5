package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

// TestRunsShow: a run's items, each with its fields old -> new, in text
// and JSON; info log lines name the item and fields of each write.
func TestRunsShow(t *testing.T) {
	dir, cfg := setup(t, "manual", 2)
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync: %d %s%s", code, out, errs)
	}
	left := openMem(t, dir, "left")
	li := left.Items()[0]
	left.Edit(li.Ref, func(x *adapters.Item) { x.Title = "renamed on the left" })
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-c", cfg, "--log-level", "info", "sync", "--once"}, &out, &errb); code != exitOK {
		t.Fatalf("second sync: %d %s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "item written") || !strings.Contains(errb.String(), "fields=title") || !strings.Contains(errb.String(), "item=right:") {
		t.Errorf("no info line naming the item and its fields:\n%s", errb.String())
	}
	code, txt, errs := runCLI(t, "-c", cfg, "runs", "show", "2")
	if code != exitOK || !strings.Contains(txt, "run 2 of flow pair: ok") || !strings.Contains(txt, `title: "item A" -> "renamed on the left"`) ||
		!strings.Contains(txt, "updated") || !strings.Contains(txt, "left:"+li.Ref.Key) {
		t.Errorf("runs show 2: %d\n%s%s", code, txt, errs)
	}
	code, js, _ := runCLI(t, "-c", cfg, "-o", "json", "runs", "show", "1")
	var got struct {
		Run   struct{ ID int64 }
		Items []struct {
			Action, Item, Source string
			Fields               []struct{ Field, From, To string }
		}
	}
	if err := json.Unmarshal([]byte(js), &got); code != exitOK || err != nil || got.Run.ID != 1 || len(got.Items) != 2 || got.Items[0].Action != "created" {
		t.Fatalf("runs show 1 -o json: %d %v\n%s", code, err, js)
	}
	// A warning of the run (an assignee with no users: entry) is listed.
	body, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(body), "      labels: both\n", "      labels: both\n      assignees: both\n", 1)), 0o600)
	left.Edit(li.Ref, func(x *adapters.Item) { x.Assignees = []string{"zed"} })
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("third sync: %d %s%s", code, out, errs)
	}
	if code, txt, _ := runCLI(t, "-c", cfg, "runs", "show", "3"); code != exitOK || !strings.Contains(txt, "warning") || !strings.Contains(txt, "zed") {
		t.Errorf("runs show 3 lacks the unknown-user warning: %d\n%s", code, txt)
	}
	if code, _, errs := runCLI(t, "-c", cfg, "runs", "show", "99"); code != exitUsage || !strings.Contains(errs, "99") {
		t.Errorf("runs show 99: %d %s", code, errs)
	}
	if code, _, _ := runCLI(t, "-c", cfg, "runs", "show", "x"); code != exitUsage {
		t.Errorf("runs show x: %d", code)
	}
}
