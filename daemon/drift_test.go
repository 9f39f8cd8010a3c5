package daemon

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// TestScheduledDriftCheck: serve runs the drift check on its schedule,
// exports tracksync_drift_items and shows it on /status.
func TestScheduledDriftCheck(t *testing.T) {
	ctx := context.Background()
	a, _ := memory.New("a", memory.Options{Project: "A"})
	b, _ := memory.New("b", memory.Options{Project: "B"})
	a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "one", Status: "To Do"})
	st := flowtest.Store(t, "", nil)
	cf := flowtest.Flow("", "", map[string]config.FieldConfig{"title": {Direction: "both"}})
	cf.Schedule = "@every 1h"
	fs := &tsync.Flows{ByName: map[string]*tsync.Flow{"f": flowtest.Compile(t, cf, nil, "memory", a, "memory", b)}, Order: []string{"f"},
		Trackers: map[string]adapters.Tracker{"a": a, "b": b}, Kinds: map[string]string{"a": "memory", "b": "memory"}}
	synced := make(chan struct{}, 10)
	checked := make(chan *tsync.CheckReport, 100)
	d, err := New(ctx, Config{Store: st, Flows: fs, Listen: "127.0.0.1:0", PollInterval: 10 * time.Millisecond, CheckEvery: 20 * time.Millisecond,
		OnRun:   func(string, *tsync.Result, error) { synced <- struct{}{} },
		OnCheck: func(_ string, rep *tsync.CheckReport, _ error) { checked <- rep }})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-synced:
	case <-time.After(20 * time.Second):
		t.Fatal("no first sync")
	}
	wait := func(what string, ok func(*tsync.CheckReport) bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case rep := <-checked:
				if rep != nil && ok(rep) {
					return
				}
			case <-deadline:
				t.Fatalf("no scheduled check saw %s within 20s", what)
			}
		}
	}
	wait("the converged pair", func(r *tsync.CheckReport) bool { return r.Compared == 1 && len(r.Drift) == 0 })
	// An edit on b that the listing cursor has gone past: drift.
	item := b.Items()[0]
	b.Edit(item.Ref, func(x *adapters.Item) { x.Title = "edited behind the cursor" })
	page, err := b.List(ctx, adapters.ListRequest{})
	for err == nil && page.NextPageToken != "" {
		page, err = b.List(ctx, adapters.ListRequest{PageToken: page.NextPageToken})
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutCursor(ctx, "f", store.SideB, page.Cursor); err != nil {
		t.Fatal(err)
	}
	wait("the drift", func(r *tsync.CheckReport) bool { return len(r.Drift) == 1 })
	get := func(path string) string {
		resp, err := http.Get("http://" + d.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	body := get("/metrics")
	for _, want := range []string{`tracksync_drift_items{flow="f"} 1`, `tracksync_tracker_up{tracker="a"} 1`, `tracksync_tracker_up{tracker="b"} 1`,
		`tracksync_build_info{commit="unknown",goversion="`, `tracksync_flow_last_success_timestamp_seconds{flow="f"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if body := get("/status"); !strings.Contains(body, `"drift_items": 1`) || !strings.Contains(body, "edited behind the cursor") {
		t.Errorf("/status does not mark the drift:\n%s", body)
	}
}
