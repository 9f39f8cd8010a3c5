package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/notify"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/sqlite"
	tsync "github.com/tracksync/tracksync/sync"
)

func TestLastDigestTime(t *testing.T) {
	mon9 := config.DigestSchedule{Weekday: "monday", Hour: 9}
	for _, c := range []struct {
		now  string
		want string
	}{
		{"2026-11-30T09:00:00Z", "2026-11-30T09:00:00Z"}, // Monday 9:00
		{"2026-11-30T08:59:00Z", "2026-11-23T09:00:00Z"}, // just before: last week's
		{"2026-12-03T12:00:00Z", "2026-11-30T09:00:00Z"}, // Thursday
	} {
		now, _ := time.Parse(time.RFC3339, c.now)
		got, week := lastDigestTime(now, mon9)
		if got.Format(time.RFC3339) != c.want || week != c.want[:10] {
			t.Errorf("lastDigestTime(%s) = %s %s, want %s", c.now, got.Format(time.RFC3339), week, c.want)
		}
	}
}

// A flow whose runs keep failing past StaleAfter is announced once per
// stale stretch; one that succeeds again is not.
func TestCheckStale(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"), sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run := func(flow, state string) {
		r, err := st.StartRun(ctx, flow, false)
		if err != nil {
			t.Fatal(err)
		}
		r.State, r.FinishedAt = state, now
		if state == store.RunFailed {
			r.Error = "jira: HTTP 503: down\nmore detail"
		}
		if err := st.FinishRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	run("a", store.RunOK)
	run("b", store.RunOK)
	now = now.Add(time.Hour)
	run("a", store.RunFailed)
	run("b", store.RunFailed)
	now = now.Add(time.Hour)
	run("b", store.RunOK) // b recovered
	d := &Daemon{cfg: Config{Store: st}, log: slog.New(slog.DiscardHandler)}
	d.flowSet.Store(&tsync.Flows{Order: []string{"a", "b"}})
	n := &Notify{StaleAfter: 6 * time.Hour, Now: clock}
	d.checkStale(ctx, n) // 2h: not yet
	now = now.Add(5 * time.Hour)
	d.checkStale(ctx, n)
	d.checkStale(ctx, n) // again: the same event
	evs, err := st.ClaimEvents(ctx, "t", 10, time.Minute)
	if err != nil || len(evs) != 1 || evs[0].Kind != notify.KindFlowStale {
		t.Fatalf("events %+v %v", evs, err)
	}
	var p notify.Payload
	json.Unmarshal(evs[0].Payload, &p)
	if p.Flow != "a" || !p.LastSuccess.Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)) || p.Error != "jira: HTTP 503: down" {
		t.Errorf("payload %+v", p)
	}
}
