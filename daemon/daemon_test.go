package daemon

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/daemon/jobs"
	"github.com/tracksync/tracksync/daemon/jobs/riverjobs"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/postgres"
	"github.com/tracksync/tracksync/store/postgres/pgtest"
	"github.com/tracksync/tracksync/store/sqlite"
	tsync "github.com/tracksync/tracksync/sync"
)

const (
	repo   = "acme/app"
	secret = "hook-secret"
	token  = "ops-token"
)

type harness struct {
	t      testing.TB
	ctx    context.Context
	a      *memory.Tracker
	fake   *githubtest.Server
	st     store.Store
	d      *Daemon
	url    string
	runs   chan string
	mu     sync.Mutex
	nRuns  int
	cancel context.CancelFunc
	done   chan error
}

// start runs a daemon over a memory tracker (a) and the GitHub fake (b).
func start(t *testing.T, schedule string) *harness {
	return startWith(t, schedule, 20*time.Millisecond)
}

func startBench(b *testing.B, poll time.Duration) *harness { return startWith(b, "@every 1h", poll) }

// harnessOpts vary a harness: an existing store, trackers shared with
// another harness (replicas), config changes.
type harnessOpts struct {
	st   store.Store
	a    *memory.Tracker
	fake *githubtest.Server
	cfg  func(*Config)
}

// harnessStore is a harness's state store: SQLite, or with
// TRACKSYNC_DAEMON_STORE=postgres a PostgreSQL schema of its own (River's
// tables then run on riverpgxv5), so the daemon's tests run on both
// drivers (.ci/run runs them twice).
func harnessStore(t testing.TB) store.Store {
	t.Helper()
	ctx := context.Background()
	if os.Getenv("TRACKSYNC_DAEMON_STORE") == "postgres" {
		schema, dsn := pgtest.Schema(t)
		pg, err := postgres.Open(ctx, dsn, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			pg.Close()
			riverjobs.DropSchemaForTest(t, dsn, schema)
		})
		return pg
	}
	sq, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	return sq
}

func startWith(t testing.TB, schedule string, poll time.Duration, mods ...func(*harnessOpts)) *harness {
	t.Helper()
	ctx := context.Background()
	var o harnessOpts
	for _, m := range mods {
		m(&o)
	}
	a, fake := o.a, o.fake
	var err error
	if a == nil {
		if a, err = memory.New("a", memory.Options{Project: "A"}); err != nil {
			t.Fatal(err)
		}
	}
	if fake == nil {
		fake = githubtest.New(t, githubtest.Options{Repos: []string{repo}, Tokens: []string{"tok"}})
	}
	b, err := github.New("b", github.Options{URL: fake.URL, Token: "tok", WebhookSecret: secret, Transport: fake.Client().Transport,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	st := o.st
	if st == nil {
		st = harnessStore(t)
	}
	cf := flowtest.Flow("", repo, map[string]config.FieldConfig{"title": {Direction: "both"}, "status": {Direction: "both", Map: flowtest.LabelMap}})
	cf.Schedule = schedule
	flow := flowtest.Compile(t, cf, nil, "memory", a, "github", b)
	h := &harness{t: t, ctx: ctx, a: a, fake: fake, st: st, runs: make(chan string, 1000), done: make(chan error, 1)}
	fs := &tsync.Flows{ByName: map[string]*tsync.Flow{"f": flow}, Order: []string{"f"}, Trackers: map[string]adapters.Tracker{"a": a, "b": b},
		Kinds: map[string]string{"a": "memory", "b": "github"}}
	cfg := Config{Store: st, Flows: fs, Listen: "127.0.0.1:0", Token: token, PollInterval: poll, MaxBody: 64 << 10,
		OnRun: func(flow string, res *tsync.Result, err error) {
			h.mu.Lock()
			h.nRuns++
			h.mu.Unlock()
			h.runs <- flow
		}}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	h.d, err = New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.d.Listen(); err != nil {
		t.Fatal(err)
	}
	h.url = "http://" + h.d.Addr()
	runCtx, cancel := context.WithCancel(ctx)
	h.cancel = cancel
	go func() { h.done <- h.d.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		<-h.done
	})
	return h
}

// waitRun waits for the next sync run to end.
func (h *harness) waitRun() {
	h.t.Helper()
	select {
	case <-h.runs:
	case <-time.After(20 * time.Second):
		h.t.Fatal("no sync run within 20s")
	}
}

// until waits for cond to hold, checking after each run and every 20ms
// (a job's state changes just after its run ends).
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-h.runs:
		case <-tick.C:
		case <-deadline:
			h.t.Fatalf("%s: not within 20s", what)
		}
	}
}

func (h *harness) post(path string, body []byte, hdr map[string]string) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.url+path, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// issuesDelivery is the body of the GitHub fake's last issues webhook.
func (h *harness) issuesDelivery() []byte {
	var payload []byte
	for _, d := range h.fake.Deliveries() {
		if d.Event == "issues" {
			payload = d.Body
		}
	}
	return payload
}

// deliverBurst posts payload, signed, as n GitHub issues deliveries
// (burst-0, burst-1, ...), parallel at a time, and fails the test unless
// every one is accepted.
func (h *harness) deliverBurst(payload []byte, n, parallel int) {
	h.t.Helper()
	var wg sync.WaitGroup
	codes := make([]int, n)
	sem := make(chan struct{}, parallel)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			req, _ := http.NewRequest(http.MethodPost, h.url+"/webhooks/b", bytes.NewReader(payload))
			req.Header.Set("X-GitHub-Event", "issues")
			req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("burst-%d", i))
			req.Header.Set("X-Hub-Signature-256", sign(payload))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				h.t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusAccepted {
			h.t.Fatalf("delivery %d: HTTP %d", i, c)
		}
	}
}

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// jobs counts sync jobs waiting (available or retryable).
func (h *harness) jobs() int {
	n, err := h.d.queue.Active(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func TestScheduleAndWebhookDrivenSync(t *testing.T) {
	h := start(t, "@every 1h")
	h.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "first", Status: "In Progress"})
	// The schedule runs each flow once at start.
	h.until("the scheduled first run creates the copy", func() bool {
		return len(h.fake.Issues(repo)) == 1
	})
	is := h.fake.Issues(repo)[0]
	if !strings.Contains(strings.Join(is.Labels, ","), "status: in progress") {
		t.Fatalf("copy labels %v", is.Labels)
	}
	// A person edits on GitHub; the fake delivers a signed webhook; the
	// change reaches A without waiting for the hourly schedule.
	h.fake.SetWebhook(h.url+"/webhooks/github", secret, nil)
	if err := h.fake.EditIssue(repo, is.Number, func(x *githubtest.Issue) { x.Title = "renamed on github" }); err != nil {
		t.Fatal(err)
	}
	for _, d := range h.fake.Deliveries() {
		t.Logf("delivery %s %s/%s -> %d", d.ID, d.Event, d.Action, d.Status)
	}
	h.until("the webhook-driven run carries the edit to A", func() bool {
		return h.a.Items()[0].Title == "renamed on github"
	})
	for _, d := range h.fake.Deliveries() {
		if d.Event == "issues" && d.Status != http.StatusAccepted {
			t.Errorf("delivery %s answered %d, want 202", d.ID, d.Status)
		}
	}
}

func TestBadWebhooksEnqueueNothing(t *testing.T) {
	h := start(t, "@every 1h")
	h.waitRun()
	h.until("the first job is done", func() bool { return h.jobs() == 0 })
	body := []byte(`{"action":"edited","issue":{"number":1}}`)
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		body []byte
		want int
	}{
		{"no signature", map[string]string{"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d1"}, body, http.StatusUnauthorized},
		{"wrong signature", map[string]string{"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d2", "X-Hub-Signature-256": "sha256=" + strings.Repeat("0", 64)}, body, http.StatusUnauthorized},
		{"signed garbage", map[string]string{"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d3", "X-Hub-Signature-256": sign([]byte("{not json"))}, []byte("{not json"), http.StatusBadRequest},
		{"oversized", map[string]string{"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d4"}, bytes.Repeat([]byte("x"), 65<<10), http.StatusRequestEntityTooLarge},
	} {
		if resp := h.post("/webhooks/github", tc.body, tc.hdr); resp.StatusCode != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		if n := h.jobs(); n != 0 {
			t.Errorf("%s: %d job(s) enqueued, want none", tc.name, n)
		}
	}
}

func TestWebhookBurstCoalesces(t *testing.T) {
	h := start(t, "@every 1h")
	h.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "x", Status: "To Do"})
	h.waitRun()
	is := h.fake.Issues(repo)[0]
	h.fake.SetWebhook(h.url+"/webhooks/b", secret, nil)
	h.fake.EditIssue(repo, is.Number, func(x *githubtest.Issue) { x.Title = "burst" })
	payload := h.issuesDelivery()
	h.waitRun() // the run for the real delivery
	h.mu.Lock()
	before := h.nRuns
	h.mu.Unlock()
	// A burst: 50 deliveries at once, as a tracker sends them when a
	// script edits one issue 50 times.
	h.deliverBurst(payload, 50, 50)
	h.waitRun()
	// Let anything still queued run, then count.
	h.until("the queue drains", func() bool { return h.jobs() == 0 })
	select {
	case <-h.runs:
	case <-time.After(500 * time.Millisecond):
	}
	h.mu.Lock()
	burstRuns := h.nRuns - before
	h.mu.Unlock()
	if burstRuns < 1 || burstRuns > 2 {
		t.Fatalf("50 webhooks for one issue made %d runs, want 1 or 2", burstRuns)
	}
}

func TestOperationsEndpoints(t *testing.T) {
	h := start(t, "@every 1h")
	h.waitRun()
	get := func(path, tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, h.url+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/"} {
		if code, _ := get(p, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without the token: HTTP %d, want 401", p, code)
		}
		if code, _ := get(p, "wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: HTTP %d, want 401", p, code)
		}
	}
	h.until("the trackers' first health check", func() bool {
		code, body := get("/readyz", token)
		return code == http.StatusOK && strings.Contains(body, `"store":"ok"`) && strings.Contains(body, `"tracker b":"ok (checked`)
	})
	code, body := get("/metrics", token)
	for _, want := range []string{
		`tracksync_runs_total{flow="f",outcome="ok"}`,
		`/repos/{owner}/{repo}/issues",method="GET",tracker="b"}`,
		`tracksync_rate_budget_remaining{tracker="b"}`,
		`tracksync_job_queue_depth`,
	} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			var ours []string
			for _, l := range strings.Split(body, "\n") {
				if strings.HasPrefix(l, "tracksync_") {
					ours = append(ours, l)
				}
			}
			t.Errorf("/metrics: %d, no %s in:\n%s", code, want, strings.Join(ours, "\n"))
		}
	}
	if code, body := get("/status", token); code != http.StatusOK || !strings.Contains(body, `"name": "f"`) {
		t.Errorf("/status: %d %s", code, body)
	}
	// Without initiatives the dashboard says so and points at /status.
	if code, body := get("/", token); code != http.StatusOK || !strings.Contains(body, "No initiatives configured yet") || !strings.Contains(body, "/status") {
		t.Errorf("/: %d %s", code, body)
	}
	// With no Asana tracker configured, an Asana handshake is not answered:
	// anyone could otherwise plant a secret of their own.
	req, _ := http.NewRequest(http.MethodPost, h.url+"/webhooks/asana", nil)
	req.Header.Set("X-Hook-Secret", "abc")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Hook-Secret") != "" {
		t.Errorf("asana handshake without an Asana tracker: %d %q", resp.StatusCode, resp.Header.Get("X-Hook-Secret"))
	}
}

// TestScheduleDrivenSync: with no webhook (the memory side sends none),
// the flow's schedule alone carries an edit across.
func TestScheduleDrivenSync(t *testing.T) {
	h := start(t, "@every 1s")
	it := h.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "x", Status: "To Do"})[0]
	h.until("the first copy", func() bool { return len(h.fake.Issues(repo)) == 1 })
	if _, err := h.a.Edit(it.Ref, func(x *adapters.Item) { x.Title = "edited, no webhook" }); err != nil {
		t.Fatal(err)
	}
	h.until("the scheduled run carries the edit", func() bool { return h.fake.Issues(repo)[0].Title == "edited, no webhook" })
}

// recordingQueue records what the daemon asks of the job queue and what
// its handler answers.
type recordingQueue struct {
	jobs.Queue
	mu      sync.Mutex
	inserts []jobs.InsertOpts
	snoozes []time.Duration
}

func (q *recordingQueue) Insert(ctx context.Context, j jobs.Job, o jobs.InsertOpts) (bool, error) {
	q.mu.Lock()
	q.inserts = append(q.inserts, o)
	q.mu.Unlock()
	return q.Queue.Insert(ctx, j, o)
}

// TestLoneWebhookNotScheduledLater: a webhook's job waits for quiet in
// the worker, not as a job scheduled in the future or snoozed: River
// promotes scheduled jobs only every 5 s, which made every webhook-driven
// write take 5 s (BenchmarkWebhookToWrite p50 5,000 ms before, about the
// 500 ms debounce after).
func TestLoneWebhookNotScheduledLater(t *testing.T) {
	rec := &recordingQueue{}
	h := startWith(t, "@every 1h", 20*time.Millisecond, func(o *harnessOpts) {
		o.cfg = func(c *Config) {
			c.Debounce = 300 * time.Millisecond
			c.Jobs = func(ctx context.Context, st store.Store, o riverjobs.Options) (jobs.Queue, error) {
				next := o.Handler
				o.Handler = func(ctx context.Context, j jobs.Job) error {
					err := next(ctx, j)
					if d, ok := jobs.IsSnooze(err); ok {
						rec.mu.Lock()
						rec.snoozes = append(rec.snoozes, d)
						rec.mu.Unlock()
					}
					return err
				}
				q, err := riverjobs.Open(ctx, st, o)
				rec.Queue = q
				return rec, err
			}
		}
	})
	h.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "x", Status: "To Do"})
	h.waitRun()
	is := h.fake.Issues(repo)[0]
	h.fake.SetWebhook(h.url+"/webhooks/b", secret, nil)
	h.fake.EditIssue(repo, is.Number, func(x *githubtest.Issue) { x.Title = "by webhook" })
	h.until("the webhook's edit synced", func() bool { return h.a.Items()[0].Title == "by webhook" })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, o := range rec.inserts {
		if !o.At.IsZero() {
			t.Errorf("a job was inserted to start at %s: River starts scheduled jobs up to 5 s late", o.At)
		}
	}
	if len(rec.snoozes) > 0 {
		t.Errorf("a lone webhook's job was snoozed %v: a snoozed job starts up to 5 s late", rec.snoozes)
	}
}
