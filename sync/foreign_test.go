package sync_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store/sqlite"
	tsync "github.com/tracksync/tracksync/sync"
)

// A second state file on the same trackers (a laptop run beside the
// server) finds the copies the first one made by their keys: it links
// them, copies nothing again, and warns, naming them, that another
// installation made them. The installation that made them does not warn.
func TestItemsKeyedByAnotherInstallation(t *testing.T) {
	e := newEnv(t, envOpts{})
	for i := range 7 {
		e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Status: "To Do"})
	}
	if res := e.sync(tsync.RunOptions{}); res.Run.Counts.Created != 7 {
		t.Fatalf("first installation created %d, want 7", res.Run.Counts.Created)
	}
	for _, w := range e.plan().Warnings {
		if strings.Contains(w, "never made") {
			t.Errorf("the installation that made the copies warns: %s", w)
		}
	}

	other, err := sqlite.Open(e.ctx, filepath.Join(t.TempDir(), "laptop.db"), sqlite.Options{Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	laptop := tsync.New(other, tsync.Options{Clock: e.clock.Now, Owner: "laptop:1"})
	p, err := laptop.Plan(e.ctx, e.flow, tsync.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var warned string
	for _, w := range p.Warnings {
		if strings.Contains(w, "never made") {
			warned = w
		}
	}
	if !strings.Contains(warned, "7 item(s)") || !strings.Contains(warned, "and 2 more") || !strings.Contains(warned, "another tracksync installation") {
		t.Errorf("warnings %q: want one naming the 7 copies another installation made", p.Warnings)
	}
	res, err := laptop.Sync(e.ctx, e.flow, tsync.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Counts.Created != 0 || len(e.b.Items()) != 7 {
		t.Errorf("the second installation created %d (b holds %d items, want 7)", res.Run.Counts.Created, len(e.b.Items()))
	}
	p, err = laptop.Plan(e.ctx, e.flow, tsync.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range p.Warnings {
		if strings.Contains(w, "never made") {
			t.Errorf("warned again once linked: %s", w)
		}
	}
}
