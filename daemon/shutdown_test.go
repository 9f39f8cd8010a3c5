package daemon

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/store/sqlite"
	tsync "github.com/tracksync/tracksync/sync"
)

// TestShutdownMidRunThenRestart: SIGTERM while a run is creating items;
// the write in flight finishes and is recorded, the daemon exits, and a
// new daemon on the same state finishes the job with no duplicate and
// nothing lost.
func TestShutdownMidRunThenRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, _ := memory.New("a", memory.Options{Project: "A"})
	b, _ := memory.New("b", memory.Options{Project: "B"})
	for i := 0; i < 10; i++ {
		a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: string(rune('a' + i)), Status: "To Do"})
	}
	cf := flowtest.Flow("", "", map[string]config.FieldConfig{"title": {Direction: "both"}, "status": {Direction: "both"}})
	cf.Schedule = "@every 1h"
	flow := flowtest.Compile(t, cf, nil, "memory", a, "memory", b)
	// b takes one create a call (the memory tracker's bulk CreateMany is
	// hidden): draining stops between two writes, and a bulk create in
	// flight is one write, finished whole.
	single := struct{ adapters.Tracker }{b}
	fs := &tsync.Flows{ByName: map[string]*tsync.Flow{"f": {Map: flow.Map, A: a, B: single}}, Order: []string{"f"}, Trackers: map[string]adapters.Tracker{"a": a, "b": single}}

	startDaemon := func(onRun func(*tsync.Result, error)) (*Daemon, context.CancelFunc, chan error) {
		st, err := sqlite.Open(ctx, filepath.Join(dir, "state.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := New(ctx, Config{Store: st, Flows: fs, Listen: "127.0.0.1:0", PollInterval: 20 * time.Millisecond,
			OnRun: func(_ string, res *tsync.Result, err error) { onRun(res, err) }})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- d.Run(runCtx)
			st.Close()
		}()
		return d, cancel, done
	}

	// The third create blocks until "SIGTERM" has been sent.
	creates := 0
	sigterm := make(chan struct{})
	inFlight := make(chan struct{})
	b.SetHook(func(op string, ref adapters.Ref, ph memory.Phase) error {
		if op == "create" && ph == memory.Before {
			creates++
			if creates == 3 {
				close(inFlight)
				<-sigterm
			}
		}
		return nil
	})
	firstRun := make(chan error, 1)
	d1, cancel, done := startDaemon(func(res *tsync.Result, err error) { firstRun <- err })
	select {
	case <-inFlight:
	case <-time.After(20 * time.Second):
		t.Fatal("the first run never reached its third create")
	}
	cancel() // SIGTERM
	// The write in flight completes only once the daemon is draining.
	for deadline := time.Now().Add(10 * time.Second); !d1.draining.Load(); {
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not start draining")
		}
		time.Sleep(time.Millisecond)
	}
	close(sigterm)
	if err := <-firstRun; err == nil {
		t.Fatal("the interrupted run reported success")
	}
	if err := <-done; err != nil {
		t.Fatalf("daemon exit: %v", err)
	}
	if n := len(b.Items()); n != 3 {
		t.Fatalf("%d copies after shutdown, want 3 (two done, one in flight finished)", n)
	}

	b.SetHook(nil)
	next := make(chan error, 1)
	_, cancel2, done2 := startDaemon(func(res *tsync.Result, err error) { next <- err })
	defer func() {
		cancel2()
		<-done2
	}()
	select {
	case err := <-next:
		if err != nil {
			t.Fatalf("run after restart: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no run after restart")
	}
	titles := map[string]int{}
	for _, it := range b.Items() {
		titles[it.Title]++
	}
	if len(titles) != 10 {
		t.Fatalf("after restart b has %d distinct items, want 10: %v", len(titles), titles)
	}
	for title, n := range titles {
		if n != 1 {
			t.Fatalf("%q copied %d times", title, n)
		}
	}
}
