package sync_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	tsync "github.com/tracksync/tracksync/sync"
)

// TestProgress: a run reports listing each side, then its writes, done
// of total.
func TestProgress(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "one", Status: "To Do"}, adapters.Item{Kind: adapters.KindIssue, Title: "two", Status: "To Do"},
		adapters.Item{Kind: adapters.KindIssue, Title: "three", Status: "Done"})
	var mu sync.Mutex
	var got []tsync.Progress
	e.eng = tsync.New(e.st, tsync.Options{Clock: e.clock.Now, Progress: func(p tsync.Progress) {
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}})
	e.sync(tsync.RunOptions{})
	var phases []string
	last := map[string]tsync.Progress{}
	for _, p := range got {
		if p.Flow != "f" {
			t.Errorf("progress of flow %q", p.Flow)
		}
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
		last[p.Phase] = p
	}
	if len(phases) != 3 || !strings.HasPrefix(phases[0], "listing a (a)") || !strings.HasPrefix(phases[1], "listing b (b)") || phases[2] != "writing" {
		t.Fatalf("phases %v", phases)
	}
	if l := last["listing a (a)"]; l.Done != 3 {
		t.Errorf("listing a ended at %d items, want 3", l.Done)
	}
	if w := last["writing"]; w.Total != 3 || w.Done != 3 {
		t.Errorf("writing ended at %d of %d, want 3 of 3", w.Done, w.Total)
	}
}
