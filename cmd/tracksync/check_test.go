package main

import (
	"os"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

func TestCheckCommand(t *testing.T) {
	dir, cfg := setup(t, "manual", 2)
	body, _ := os.ReadFile(cfg)
	mapped := func(b string) string {
		return strings.Replace(string(body), "      status: both\n", "      status:\n        map:\n          - { a: 'To Do', b: '"+b+"' }\n          - { a: 'Done', b: 'Done' }\n", 1)
	}
	os.WriteFile(cfg, []byte(mapped("In Progress")), 0o600)
	if code, _, errs := runCLI(t, "-c", cfg, "check"); code != exitUsage || !strings.Contains(errs, "state.dsn") {
		t.Errorf("check before any sync: %d %s", code, errs)
	}
	if code, out, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync: %d %s%s", code, out, errs)
	}
	code, out, errs := runCLI(t, "-c", cfg, "-o", "json", "check")
	if code != exitOK {
		t.Fatalf("check on a converged flow: %d %s%s", code, out, errs)
	}
	golden(t, "check-converged.json", out)
	// An edit the next run copies is pending, not drift.
	right := openMem(t, dir, "right")
	right.Edit(right.Items()[0].Ref, func(x *adapters.Item) { x.Title = "edited" })
	code, out, errs = runCLI(t, "-c", cfg, "check")
	if code != exitOK || !strings.Contains(out, "flow pair: 2 linked, 2 compared, 1 pending for the next run, 0 drifted") {
		t.Errorf("check with a pending edit: %d %s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "-c", cfg, "sync", "--once"); code != exitOK {
		t.Fatalf("sync: %d %s", code, errs)
	}
	// The config now maps To Do to In Review: the pairs (To Do, In
	// Progress) no longer agree, and no run would change them.
	os.WriteFile(cfg, []byte(mapped("In Review")), 0o600)
	code, out, errs = runCLI(t, "-c", cfg, "check")
	if code != exitDrift || !strings.Contains(out, "2 drifted") || !strings.Contains(out, "status") || !strings.Contains(out, "neither side changed") ||
		!strings.Contains(errs, "2 difference(s)") {
		t.Errorf("check with drift: %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "-c", cfg, "check", "--flow", "nope"); code != exitUsage {
		t.Errorf("check --flow nope: %d %s", code, errs)
	}
}
