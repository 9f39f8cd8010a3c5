package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/store"
)

// TestStateDriverRegistry: the store is opened by the name in
// state.driver through the registry; a name this binary has no driver
// for fails `validate` itself, naming the key and the drivers it has.
func TestStateDriverRegistry(t *testing.T) {
	probs := driverProblems(&config.Config{State: config.State{Driver: "mysql"}})
	if len(probs) != 1 || probs[0].Path != "state.driver" ||
		!strings.Contains(probs[0].Msg, `"mysql"`) || !strings.Contains(probs[0].Msg, "known: sqlite") {
		t.Errorf("driverProblems(mysql) = %v, want one state.driver problem naming mysql and the known drivers", probs)
	}
	if probs := driverProblems(&config.Config{State: config.State{Driver: "sqlite"}}); len(probs) != 0 {
		t.Errorf("driverProblems(sqlite) = %v, want none", probs)
	}

	if slices.Contains(store.Drivers(), "postgres") {
		t.Log("postgres is registered in this build; the end-to-end refusal is checked with driverProblems alone")
		return
	}
	dir, cfg := setup(t, "newest", 1)
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pg := strings.Replace(string(body), "state:\n  dsn: state.db", "state:\n  driver: postgres\n  dsn: postgres://tracksync@127.0.0.1/tracksync", 1)
	if err := os.WriteFile(cfg, []byte(pg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"validate"}, {"sync", "--once"}} {
		code, out, errs := runCLI(t, append([]string{"-c", cfg}, cmd...)...)
		if code != exitUsage || !strings.Contains(errs, "state.driver") || !strings.Contains(errs, "known: sqlite") {
			t.Errorf("%s with an unavailable driver: exit %d, want %d with state.driver and the known drivers named\n%s%s", cmd, code, exitUsage, out, errs)
		}
	}
	if _, err := os.Stat(dir + "/state.db"); err == nil {
		t.Error("a sqlite state file was made for a postgres config")
	}
}
