package sync_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/notify"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// With Options.Events, a held conflict, a valve stop and a failed run each
// leave their outbox event, written with the conflict or the run's end;
// without it, none.
func TestRunEvents(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("events=", on), func(t *testing.T) {
			e := newEnv(t, envOpts{policy: "manual", share: 0.25})
			e.eng = tsync.New(e.st, tsync.Options{Clock: e.clock.Now, Events: on})
			for i := range 8 {
				e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Status: "To Do"})
			}
			e.sync(tsync.RunOptions{})
			ls := e.links()
			e.clock.Advance(time.Minute)
			for _, l := range ls[:2] {
				e.a.Edit(l.A, func(x *adapters.Item) { x.Title = "from A" })
				e.b.Edit(l.B, func(x *adapters.Item) { x.Title = "from B" })
			}
			held := e.sync(tsync.RunOptions{})
			if held.Run.Counts.Conflicts != 2 {
				t.Fatalf("conflicts %d, want 2", held.Run.Counts.Conflicts)
			}
			for _, l := range ls[2:5] {
				e.b.Edit(l.B, func(x *adapters.Item) { x.Status = "closed" })
			}
			if _, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{}); err == nil {
				t.Fatal("the valve did not stop the run")
			}
			e.a.InjectRateLimit(100, time.Minute)
			if _, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{}); err == nil {
				t.Fatal("the run did not fail")
			}
			// A dry run that fails says nothing.
			if _, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{DryRun: true}); err == nil {
				t.Fatal("the dry run did not fail")
			}
			evs, err := e.st.ClaimEvents(e.ctx, "t", 100, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if !on {
				if len(evs) != 0 {
					t.Fatalf("events written with Events off: %+v", evs)
				}
				return
			}
			var kinds []string
			for _, ev := range evs {
				kinds = append(kinds, ev.Kind)
			}
			want := []string{notify.KindConflictHeld, notify.KindConflictHeld, notify.KindValveStopped, notify.KindRunFailed}
			if strings.Join(kinds, ",") != strings.Join(want, ",") {
				t.Fatalf("events %v, want %v", kinds, want)
			}
			var p notify.Payload
			if err := json.Unmarshal(evs[0].Payload, &p); err != nil {
				t.Fatal(err)
			}
			cs, _ := e.st.ListConflicts(e.ctx, "f", "")
			c := p.Conflict
			if p.Flow != "f" || p.RunID != held.Run.ID || c == nil || c.ID != cs[0].ID || c.Field != "title" ||
				c.AValue != "from A" || c.BValue != "from B" || c.AKey != ls[0].A.Key || c.BKey != ls[0].B.Key {
				t.Errorf("conflict payload %+v %+v, conflicts %+v", p, c, cs)
			}
			if err := json.Unmarshal(evs[2].Payload, &p); err != nil || !strings.Contains(p.Error, "safety valve") {
				t.Errorf("valve payload %+v %v", p, err)
			}
			runs, _ := e.st.ListRuns(e.ctx, "f", 2) // the failed dry run, the failed run
			if err := json.Unmarshal(evs[3].Payload, &p); err != nil || runs[1].State != store.RunFailed || p.RunID != runs[1].ID || p.Error != runs[1].Error {
				t.Errorf("failure payload %+v %v (run %+v)", p, err, runs[1])
			}
		})
	}
}
