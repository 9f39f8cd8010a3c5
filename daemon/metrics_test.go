package daemon

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/rollup"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// TestOperatorMetrics: build info, tracker health, a flow's last success,
// failed writes by kind and each initiative's risk are exported.
func TestOperatorMetrics(t *testing.T) {
	m := newMetrics("v1.2.3", "abc123")
	now := time.Unix(1_700_000_000, 0)
	m.now = func() time.Time { return now }

	m.observeCheck("jira", nil)
	m.observeCheck("gh", errors.New("401"))
	m.observeRun("f", &tsync.Result{Run: store.Run{Flow: "f"}}, nil, time.Second)
	writes := &tsync.WriteErrors{Flow: "g", Errs: []error{
		adapters.StatusError("jira", "PUT /x", 503, "down", 0),
		adapters.StatusError("jira", "PUT /y", 400, "bad field", 0),
		adapters.StatusError("jira", "PUT /z", 400, "bad field", 0),
	}}
	m.observeRun("g", &tsync.Result{Run: store.Run{Flow: "g"}}, writes, time.Second)
	m.setAtRisk([]rollup.Rollup{{Initiative: adapters.Ref{Key: "INIT-1"}, AtRisk: true}, {Initiative: adapters.Ref{Key: "INIT-2"}}})

	for name, tc := range map[string]struct {
		got, want float64
	}{
		"build_info":         {testutil.ToFloat64(m.buildInfo.WithLabelValues("v1.2.3", "abc123", runtime.Version())), 1},
		"jira up":            {testutil.ToFloat64(m.trackerUp.WithLabelValues("jira")), 1},
		"gh down":            {testutil.ToFloat64(m.trackerUp.WithLabelValues("gh")), 0},
		"f last success":     {testutil.ToFloat64(m.flowLastSuccess.WithLabelValues("f")), 1_700_000_000},
		"temporary failures": {testutil.ToFloat64(m.writeErrors.WithLabelValues("g", "temporary")), 1},
		"permanent failures": {testutil.ToFloat64(m.writeErrors.WithLabelValues("g", "permanent")), 2},
		"INIT-1 at risk":     {testutil.ToFloat64(m.initiativeAtRisk.WithLabelValues("INIT-1")), 1},
		"INIT-2 on track":    {testutil.ToFloat64(m.initiativeAtRisk.WithLabelValues("INIT-2")), 0},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", name, tc.got, tc.want)
		}
	}
	// A failed run does not move the flow's last success.
	if n := testutil.CollectAndCount(m.flowLastSuccess); n != 1 {
		t.Errorf("flow_last_success has %d series, want only f's (g failed)", n)
	}
	// An initiative gone from the config leaves the gauge.
	m.setAtRisk([]rollup.Rollup{{Initiative: adapters.Ref{Key: "INIT-1"}}})
	if n := testutil.CollectAndCount(m.initiativeAtRisk); n != 1 {
		t.Errorf("initiative_at_risk has %d series after INIT-2 left, want 1", n)
	}
}
