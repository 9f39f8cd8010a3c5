package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/daemon/jobs"
	"github.com/tracksync/tracksync/daemon/jobs/riverjobs"
	"github.com/tracksync/tracksync/store/sqlite"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// runsSoFar is how many runs the harness has seen end.
func (h *harness) runsSoFar() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nRuns
}

// jobStates counts the sync jobs by state, straight from River's table.
func jobStates(t *testing.T, st *sqlite.Store) map[string]int {
	t.Helper()
	rows, err := st.DB().Query(`SELECT state, count(*) FROM river_job WHERE kind = ? GROUP BY state`, riverjobs.Kind)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

// TestRestartAfterKill reproduces the outside check of issue 10: serve is
// killed with -9 in the middle of a run and restarted. The dead process
// left its job running (River's row says so), its flow lease held, and
// the flow's generation bumped. Before generations were in the store, the
// restarted daemon began again at generation 0, so every webhook and every
// scheduled run coalesced into the dead job and nothing synced until
// River's rescue an hour later. Now edits sync within a bounded number of
// runs, and a job left running for longer than the lease is rescued as
// soon as the new process leads.
func TestRestartAfterKill(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // after the daemon's own clean-up
	const ttl = 3 * time.Second

	// The dead process: its jobs were inserted by River, then it died
	// while working them: one a moment ago (its lease still held), one a
	// lease and more ago (to be rescued).
	q, err := riverjobs.Open(ctx, st, riverjobs.Options{Options: jobs.Options{Handler: func(context.Context, jobs.Job) error { return nil }}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Insert(ctx, jobs.Job{Flow: "f", Gen: 0}, jobs.InsertOpts{}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Insert(ctx, jobs.Job{Flow: "f", Full: true, Gen: 0}, jobs.InsertOpts{}); err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{
		`state = 'running', attempt = 1, attempted_by = jsonb('["dead-host:4242"]'), attempted_at = strftime('%Y-%m-%d %H:%M:%f', 'now')`,
		`attempted_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour') WHERE id = (SELECT max(id) FROM river_job)`,
	} {
		if !strings.Contains(set, "WHERE") {
			set += " WHERE kind = '" + riverjobs.Kind + "'"
		}
		if _, err := st.DB().Exec(`UPDATE river_job SET ` + set); err != nil {
			t.Fatal(err)
		}
	}
	var at string
	st.DB().QueryRow(`SELECT group_concat(attempted_at, ' | ') FROM river_job`).Scan(&at)
	t.Logf("dead jobs attempted at %s", at)
	if g, err := st.BumpGeneration(ctx, genName("f")); err != nil || g != 1 {
		t.Fatalf("bump: %d %v", g, err)
	}
	if _, err := st.Lock(ctx, "flow:f", "dead-host:4242", ttl); err != nil {
		t.Fatal(err)
	}
	if s := jobStates(t, st); s["running"] != 2 {
		t.Fatalf("setup: job states %v, want 2 running", s)
	}

	// The restart.
	h := startWith(t, "@every 1h", 20*time.Millisecond, func(o *harnessOpts) {
		o.st = st
		o.cfg = func(c *Config) { c.LockTTL = ttl; c.Debounce = -1 }
	})
	h.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "seeded", Status: "To Do"})
	h.until("the first run after the restart creates the copy", func() bool { return len(h.fake.Issues(repo)) == 1 })
	h.until("the job left running past its lease is rescued and run", func() bool {
		s := jobStates(t, st)
		return s["running"] <= 1 && s["completed"] >= 2
	})
	h.fake.SetWebhook(h.url+"/webhooks/github", secret, nil)
	num := h.fake.Issues(repo)[0].Number
	for i := range 3 {
		before := h.runsSoFar()
		title := fmt.Sprintf("edit %d after the restart", i)
		if err := h.fake.EditIssue(repo, num, func(x *githubtest.Issue) { x.Title = title }); err != nil {
			t.Fatal(err)
		}
		h.until("edit "+title+" reaches A", func() bool { return h.a.Items()[0].Title == title })
		if n := h.runsSoFar() - before; n > 2 {
			t.Errorf("edit %d took %d runs to sync, want at most 2", i, n)
		}
	}
	if g, err := st.Generation(ctx, genName("f")); err != nil || g < 4 {
		t.Errorf("generation after the restart's runs: %d (%v); want it to have grown from the dead process's 1", g, err)
	}
}

// TestWebhookBurst500 is the README's promise: a burst of webhooks for
// one flow costs at most two runs. 500 deliveries arrive while the flow's
// webhooks are not yet quiet (the daemon's clock stands still); they
// coalesce into the one job waiting, which runs once they stop.
func TestWebhookBurst500(t *testing.T) {
	clk := newFakeClock()
	h := startWith(t, "@every 1h", 20*time.Millisecond, func(o *harnessOpts) {
		o.cfg = func(c *Config) { c.Clock = clk.Now; c.Debounce = 100 * time.Millisecond; c.MaxDelay = time.Minute }
	})
	h.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "x", Status: "To Do"})
	h.waitRun()
	h.until("the first job is done", func() bool { return h.jobs() == 0 })
	is := h.fake.Issues(repo)[0]
	h.fake.SetWebhook(h.url+"/webhooks/b", secret, nil)
	before := h.runsSoFar()
	h.fake.EditIssue(repo, is.Number, func(x *githubtest.Issue) { x.Title = "burst" })
	const n = 500
	h.deliverBurst(h.issuesDelivery(), n, 16)
	if got := h.runsSoFar() - before; got != 0 {
		t.Fatalf("%d run(s) during the burst; the job must wait for quiet", got)
	}
	clk.Advance(time.Second) // the burst is over
	h.until("the burst's change reaches A", func() bool { return h.a.Items()[0].Title == "burst" })
	h.until("the queue drains", func() bool { return h.jobs() == 0 })
	if got := h.runsSoFar() - before; got < 1 || got > 2 {
		t.Fatalf("an edit and %d webhooks made %d runs, want 1 or 2", n, got)
	}
	metrics := h.metricsText()
	if !strings.Contains(metrics, `tracksync_jobs_enqueued_total{flow="f",outcome="coalesced",reason="webhook"}`) {
		t.Errorf("no coalesced webhooks in the metrics:\n%s", grepLines(metrics, "tracksync_jobs_enqueued_total"))
	}
	t.Logf("%d webhooks -> %d run(s); %s", n+1, h.runsSoFar()-before, grepLines(metrics, "tracksync_jobs_enqueued_total"))
}

// TestRedeliveryToAnotherReplica: the same delivery sent to two daemons
// on one store is handled once; the second answers that it is a repeat.
func TestRedeliveryToAnotherReplica(t *testing.T) {
	h1 := startWith(t, "@every 1h", 20*time.Millisecond, func(o *harnessOpts) { o.cfg = func(c *Config) { c.Owner = "r1" } })
	h2 := startWith(t, "@every 1h", 20*time.Millisecond, func(o *harnessOpts) {
		o.st, o.a, o.fake = h1.st, h1.a, h1.fake
		o.cfg = func(c *Config) { c.Owner = "r2" }
	})
	body := []byte(`{"action":"edited","issue":{"number":1,"title":"t","state":"open","updated_at":"2026-12-03T09:00:00Z"},"repository":{"full_name":"acme/app"}}`)
	hdr := map[string]string{"X-GitHub-Event": "issues", "X-GitHub-Delivery": "same-id", "X-Hub-Signature-256": sign(body)}
	if resp := h1.post("/webhooks/b", body, hdr); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first delivery: HTTP %d, want 202", resp.StatusCode)
	}
	if resp := h2.post("/webhooks/b", body, hdr); resp.StatusCode != http.StatusOK {
		t.Fatalf("redelivery to the other replica: HTTP %d, want 200 (a repeat)", resp.StatusCode)
	}
	if m := h2.metricsText(); !strings.Contains(m, `tracksync_webhooks_total{result="duplicate",tracker="b"} 1`) {
		t.Errorf("replica 2 metrics:\n%s", grepLines(m, "tracksync_webhooks_total"))
	}
	if m := h1.metricsText(); strings.Contains(m, `result="duplicate"`) {
		t.Errorf("replica 1 counted a duplicate:\n%s", grepLines(m, "tracksync_webhooks_total"))
	}
}

// readyz is /readyz's status code and its checks.
func (h *harness) readyz() (int, map[string]string) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.url+"/readyz", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, body.Checks
}

func (h *harness) metricsText() string {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestOverdueFlow: a flow with no run for longer than its schedule allows
// shows in /readyz (not ready) and in tracksync_flow_overdue.
func TestOverdueFlow(t *testing.T) {
	clk := newFakeClock()
	h := startWith(t, "@every 1m", 20*time.Millisecond, func(o *harnessOpts) {
		o.cfg = func(c *Config) { c.Clock = clk.Now }
	})
	h.waitRun()
	if _, c := h.readyz(); !strings.HasPrefix(c["flows"], "ok") {
		t.Fatalf("flows check after a run: %q", c["flows"])
	}
	if m := h.metricsText(); !strings.Contains(m, `tracksync_flow_overdue{flow="f"} 0`) {
		t.Fatalf("metrics after a run:\n%s", grepLines(m, "tracksync_flow"))
	}
	// Two periods, the lease (2m) and the debounce cap (10s) allowed:
	// 4m10s. The runs are stamped with real time, the daemon's clock
	// moves 5 minutes past them.
	clk.Advance(5 * time.Minute)
	code, c := h.readyz()
	if code != http.StatusServiceUnavailable || !strings.Contains(c["flows"], "overdue: f (no run for") {
		t.Fatalf("readyz %d, flows check %q; want 503 naming flow f overdue", code, c["flows"])
	}
	if m := h.metricsText(); !strings.Contains(m, `tracksync_flow_overdue{flow="f"} 1`) {
		t.Fatalf("metrics with the flow overdue:\n%s", grepLines(m, "tracksync_flow"))
	}
}

// TestReplicasWithOtherSchedulesNotReady: only River's leader enqueues
// periodic jobs, so a replica whose config has other schedules than the
// latest replica to start would run the leader's, whatever its own says.
// /readyz says so on the replica that notices.
func TestReplicasWithOtherSchedulesNotReady(t *testing.T) {
	h1 := startWith(t, "@every 1h", 20*time.Millisecond, func(o *harnessOpts) { o.cfg = func(c *Config) { c.Owner = "r1" } })
	h2 := startWith(t, "@every 5m", 20*time.Millisecond, func(o *harnessOpts) {
		o.st, o.a, o.fake = h1.st, h1.a, h1.fake
		o.cfg = func(c *Config) { c.Owner = "r2" }
	})
	h1.d.checkPeers(h1.ctx)
	h2.d.checkPeers(h2.ctx)
	check := func(h *harness) string {
		_, c := h.readyz()
		return c["replicas"]
	}
	if got := check(h1); !strings.Contains(got, "replica r2") {
		t.Errorf("replica r1's readyz replicas check %q; want it to name r2, whose schedules differ", got)
	}
	if got := check(h2); got != "" {
		t.Errorf("replica r2 (the latest to publish) reports %q", got)
	}
}
