package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracksync/tracksync/notify/notifytest"
	"github.com/tracksync/tracksync/rollup"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/sqlite"
)

// clock is the tests' clock: Sleep advances it.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	c.Advance(d)
	return ctx.Err()
}

type harness struct {
	t     *testing.T
	ctx   context.Context
	clk   *clock
	st    *sqlite.Store
	slack *notifytest.Slack
	teams *notifytest.Teams
	hook  *hookServer
	logs  *bytes.Buffer
	opts  WorkerOptions
}

// hookServer receives the generic webhook and checks its signature.
type hookServer struct {
	mu     sync.Mutex
	srv    *httptest.Server
	secret string
	bodies []WebhookBody
	bad    int
	idem   []string
}

func newHookServer(secret string) *hookServer {
	h := &hookServer{secret: secret}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if !Verify(h.secret, r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp), b) {
			h.bad++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var body WebhookBody
		if err := json.Unmarshal(b, &body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.bodies = append(h.bodies, body)
		h.idem = append(h.idem, r.Header.Get(HeaderIdempotency))
		w.WriteHeader(http.StatusNoContent)
	}))
	return h
}

const dash = "https://tracksync.example.com/"

func newHarness(t *testing.T) *harness {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"), sqlite.Options{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, ctx: context.Background(), clk: clk, st: st, slack: notifytest.NewSlack(), teams: notifytest.NewTeams(), hook: newHookServer("hook-secret-123"), logs: &bytes.Buffer{}}
	h.slack.Now = clk.Now
	t.Cleanup(h.slack.Close)
	t.Cleanup(h.teams.Close)
	t.Cleanup(h.hook.srv.Close)
	sl, err := NewSlack("pm-slack", SlackOptions{WebhookURL: h.slack.WebhookURL("#roadmap")})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := NewTeams("eng-teams", TeamsOptions{WebhookURL: h.teams.WebhookURL("wf1")})
	if err != nil {
		t.Fatal(err)
	}
	wh, err := NewWebhook("audit", WebhookOptions{URL: h.hook.srv.URL + "/hook", Secret: h.hook.secret})
	if err != nil {
		t.Fatal(err)
	}
	wh.now = clk.Now
	h.opts = WorkerOptions{
		ID:      "w1",
		Targets: []Target{{Sink: sl}, {Sink: tm}, {Sink: wh, Rate: 10, Burst: 10}},
		Render:  Renderer{Dashboard: dash},
		Log:     slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:     clk.Now,
		Sleep:   clk.Sleep,
	}
	return h
}

func (h *harness) worker() *Worker { return NewWorker(h.st, h.opts) }

func (h *harness) put(evs ...store.Event) {
	h.t.Helper()
	err := h.st.Tx(h.ctx, func(tx store.Ops) error {
		for _, e := range evs {
			if _, err := tx.PutEvent(h.ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) runOnce(w *Worker) int {
	h.t.Helper()
	n, err := w.RunOnce(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func init1() Payload {
	return Payload{Initiative: "INIT-1", Ref: "plan:INIT-1", Title: "Checkout v2", URL: "https://jira.example.com/browse/INIT-1", Percent: 40}
}

func conflict(id int64) Conflict {
	return Conflict{ID: id, Field: "status", ATracker: "jira", AKey: fmt.Sprintf("PLAT-%d", id), AURL: fmt.Sprintf("https://jira.example.com/browse/PLAT-%d", id), AValue: "Done",
		BTracker: "github", BKey: fmt.Sprintf("acme/app#%d", id), BURL: fmt.Sprintf("https://github.com/acme/app/issues/%d", id), BValue: "open"}
}

func allEvents(now time.Time) []store.Event {
	risk := init1()
	risk.Reasons = []string{"due in 10 days with 40% done (< 50%)", "PLAT-7 is blocked"}
	moved := init1()
	moved.From, moved.To = "2026-12-15", "2027-01-10"
	return []store.Event{
		AtRisk(risk, now),
		OnTrack(init1(), now.Add(time.Hour)),
		DateMoved(moved, now),
		ConflictHeld(Payload{Flow: "platform", RunID: 7}, conflict(3)),
		RunFailed(Payload{Flow: "platform", RunID: 8, Error: "jira: HTTP 503: Service Unavailable"}),
		FlowStale(Payload{Flow: "platform", LastSuccess: now.Add(-7 * time.Hour), Error: "jira: HTTP 503"}),
		ValveStopped(Payload{Flow: "platform", RunID: 9, Error: "the run would close 30 of 100 linked items (30%, limit 25%)"}),
		Digest(Payload{Headline: "2 on track · 1 at risk · 0 done", Lines: []string{"3 items finished, 1 item added"}}, "2026-11-30"),
	}
}

// Every event kind reaches Slack (Block Kit), Teams (an Adaptive Card) and
// the signed webhook, in words, with links to the item and the dashboard.
func TestEveryEventKind(t *testing.T) {
	h := newHarness(t)
	h.put(allEvents(h.clk.Now())...)
	if n := h.runOnce(h.worker()); n != 8 {
		t.Fatalf("claimed %d events, want 8", n)
	}
	want := []struct {
		title string
		words []string
	}{
		{"INIT-1 Checkout v2 is at risk", []string{"due in 10 days with 40% done (< 50%); PLAT-7 is blocked", "Open INIT-1", dash + "?initiative=INIT-1", "https://jira.example.com/browse/INIT-1"}},
		{"INIT-1 Checkout v2 is back on track", []string{"40% done"}},
		{"INIT-1 Checkout v2: target date moved", []string{"2026-12-15 → 2027-01-10 (+26 days)"}},
		{"Conflict held in flow platform: status of PLAT-3", []string{"Done", "open", "tracksync conflicts resolve 3 --take a|b", "https://github.com/acme/app/issues/3"}},
		{"Sync run 8 of flow platform failed", []string{"HTTP 503: Service Unavailable", dash}},
		{"Flow platform has not synced successfully for a while", []string{"Last success 2026-12-01 02:00 UTC", "Last error: jira: HTTP 503"}},
		{"Safety valve stopped run 9 of flow platform", []string{"limit 25%", "tracksync plan --flow platform"}},
		{"Weekly roll-up: 2 on track · 1 at risk · 0 done", []string{"3 items finished, 1 item added"}},
	}
	msgs, cards, bodies := h.slack.Messages(), h.teams.Cards(), h.hook.bodies
	if len(msgs) != len(want) || len(cards) != len(want) || len(bodies) != len(want) || h.hook.bad != 0 {
		t.Fatalf("slack %d, teams %d, webhook %d (bad signatures %d), want %d each; logs:\n%s", len(msgs), len(cards), len(bodies), h.hook.bad, len(want), h.logs)
	}
	for i, w := range want {
		sj, _ := json.Marshal(msgs[i].Blocks)
		cj, _ := json.Marshal(cards[i].Card)
		bj, _ := json.Marshal(bodies[i])
		if !strings.HasSuffix(msgs[i].Header(), w.title) || cards[i].Title() != w.title || bodies[i].Title != w.title {
			t.Errorf("message %d: slack %q, teams %q, webhook %q, want %q", i, msgs[i].Header(), cards[i].Title(), bodies[i].Title, w.title)
		}
		for _, word := range w.words {
			for name, doc := range map[string]string{"slack": string(sj), "teams": string(cj), "webhook": string(bj)} {
				if !strings.Contains(unescape(doc), word) {
					t.Errorf("%s message %q lacks %q:\n%s", name, w.title, word, doc)
				}
			}
		}
	}
	if msgs[0].Channel != "#roadmap" || !strings.Contains(msgs[0].Text, "is at risk") {
		t.Errorf("slack message 0: channel %q, fallback text %q", msgs[0].Channel, msgs[0].Text)
	}
	if len(bodies[0].Events) != 1 || bodies[0].Events[0].Kind != KindAtRisk || h.hook.idem[0] != bodies[0].Events[0].DedupKey {
		t.Errorf("webhook body events %+v, idempotency key %q", bodies[0].Events, h.hook.idem[0])
	}
	// All acked: nothing left to claim, even much later.
	h.clk.Advance(24 * time.Hour)
	if n := h.runOnce(h.worker()); n != 0 {
		t.Errorf("%d events claimed again after delivery", n)
	}
}

// unescape undoes JSON's and Slack's escaping of <, >, & for comparisons.
func unescape(s string) string {
	r := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&", "&lt;", "<", "&gt;", ">", "&amp;", "&")
	return r.Replace(r.Replace(s))
}

func (h *harness) only(i int) {
	h.opts.Targets = h.opts.Targets[i : i+1]
}

// A 500 is retried after the backoff, and delivered once.
func TestRetryAfter500(t *testing.T) {
	h := newHarness(t)
	h.only(0)
	h.slack.Fail(notifytest.Fault{Status: 500, Times: 1})
	h.put(RunFailed(Payload{Flow: "f", RunID: 1, Error: "boom"}))
	w := h.worker()
	h.runOnce(w)
	if len(h.slack.Messages()) != 0 {
		t.Fatal("delivered despite the 500")
	}
	h.clk.Advance(9 * time.Second)
	if n := h.runOnce(w); n != 0 {
		t.Fatalf("retried after 9s, before the 10s backoff")
	}
	h.clk.Advance(time.Second)
	evs, err := h.st.ClaimEvents(h.ctx, "peek", 10, time.Nanosecond)
	if err != nil || len(evs) != 1 || !strings.Contains(evs[0].LastError, "500") {
		t.Fatalf("after the backoff: %+v %v", evs, err)
	}
	h.clk.Advance(time.Second) // the peek's claim lapses
	h.runOnce(w)
	if got := len(h.slack.Messages()); got != 1 || h.slack.Requests() != 2 {
		t.Errorf("%d messages in %d requests, want 1 in 2", got, h.slack.Requests())
	}
}

// A 429 is retried when its Retry-After says, not before, on both Slack
// and Teams.
func TestRetryAfter429(t *testing.T) {
	for i, name := range []string{"slack", "teams"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.only(i)
			f := notifytest.Fault{Status: 429, RetryAfter: "42", Times: 1}
			if name == "slack" {
				h.slack.Fail(f)
			} else {
				h.teams.Fail(f)
			}
			h.put(ValveStopped(Payload{Flow: "f", RunID: 2, Error: "too many closes"}), RunFailed(Payload{Flow: "f", RunID: 3, Error: "x"}))
			w := h.worker()
			h.runOnce(w)
			delivered := func() int { return len(h.slack.Messages()) + len(h.teams.Cards()) }
			if delivered() != 0 {
				t.Fatal("delivered despite the 429")
			}
			h.clk.Advance(41 * time.Second)
			if n := h.runOnce(w); n != 0 {
				t.Fatalf("claimed %d events 41s after a Retry-After of 42s", n)
			}
			h.clk.Advance(time.Second)
			if n := h.runOnce(w); n != 2 || delivered() != 2 {
				t.Fatalf("at Retry-After: claimed %d, delivered %d; want 2, 2", n, delivered())
			}
		})
	}
}

// Ten conflicts of one run are one message; another run's are another.
func TestGrouping(t *testing.T) {
	h := newHarness(t)
	h.only(0)
	var evs []store.Event
	for id := int64(1); id <= 10; id++ {
		evs = append(evs, ConflictHeld(Payload{Flow: "platform", RunID: 5}, conflict(id)))
	}
	evs = append(evs, ConflictHeld(Payload{Flow: "platform", RunID: 6}, conflict(11)))
	h.put(evs...)
	h.runOnce(h.worker())
	msgs := h.slack.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	if !strings.HasSuffix(msgs[0].Header(), "10 conflicts held in flow platform (run 5)") {
		t.Errorf("grouped header %q", msgs[0].Header())
	}
	b, _ := json.Marshal(msgs[0].Blocks)
	for id := 1; id <= 10; id++ {
		if !strings.Contains(string(b), fmt.Sprintf("#%d status of PLAT-%d", id, id)) {
			t.Errorf("grouped message lacks conflict %d", id)
		}
	}
	if !strings.Contains(msgs[1].Header(), "status of PLAT-11") {
		t.Errorf("second run's message %q", msgs[1].Header())
	}
}

// A worker killed after a sink took an event (the send recorded, the
// event not yet acked) leaves it to the next claim, which sends it only to
// the sinks that did not have it: no duplicate.
func TestNoDuplicateAfterKill(t *testing.T) {
	h := newHarness(t)
	h.opts.Targets = h.opts.Targets[:2] // slack, then teams
	h.put(AtRisk(init1(), h.clk.Now()), ConflictHeld(Payload{Flow: "f", RunID: 1}, conflict(1)))
	for _, killAfter := range []string{"pm-slack", "eng-teams"} {
		ctx, kill := context.WithCancel(h.ctx)
		o := h.opts
		o.afterRecord = func(sink string, m Message) {
			if sink == killAfter {
				kill()
			}
		}
		w := NewWorker(h.st, o)
		if _, err := w.RunOnce(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("killed worker returned %v", err)
		}
		h.clk.Advance(6 * time.Minute) // the claim (5m) lapses
	}
	// The first kill came after Slack's first message; the second after
	// Teams' first. A fresh worker finishes the job.
	h.runOnce(h.worker())
	h.clk.Advance(time.Hour)
	if n := h.runOnce(h.worker()); n != 0 {
		t.Errorf("%d events still pending", n)
	}
	if s, c := len(h.slack.Messages()), len(h.teams.Cards()); s != 2 || c != 2 {
		t.Errorf("slack got %d messages, teams %d cards; want 2 each (no duplicate)", s, c)
	}
}

// Slack's one message a second per channel is kept: three events are three
// messages a second apart, with no 429.
func TestRateLimited(t *testing.T) {
	h := newHarness(t)
	h.only(0)
	for i := range 3 {
		h.put(RunFailed(Payload{Flow: "f", RunID: int64(i + 1), Error: "x"}))
	}
	h.runOnce(h.worker())
	msgs := h.slack.Messages()
	if len(msgs) != 3 || h.slack.Requests() != 3 {
		t.Fatalf("%d messages in %d requests, want 3 in 3", len(msgs), h.slack.Requests())
	}
	for i := 1; i < 3; i++ {
		if gap := msgs[i].At.Sub(msgs[i-1].At); gap < time.Second {
			t.Errorf("messages %d and %d %v apart", i-1, i, gap)
		}
	}
}

// Webhook URLs and tokens never appear in errors, logs or stored errors.
func TestRedaction(t *testing.T) {
	h := newHarness(t)
	secretPath := "T000/B000/XyZsecretWebhookPath"
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // connection refused: the error names the URL
	sl, _ := NewSlack("s", SlackOptions{WebhookURL: deadURL + "/services/" + secretPath})
	tm, _ := NewTeams("t", TeamsOptions{WebhookURL: deadURL + "/workflows/x?sig=" + "SiGsecret123"})
	wh, _ := NewWebhook("w", WebhookOptions{URL: deadURL + "/hook?token=" + "HooKsecret456", Secret: "signing-key-789"})
	h.opts.Targets = []Target{{Sink: sl}, {Sink: tm}, {Sink: wh}}
	for _, tg := range h.opts.Targets {
		err := tg.Sink.Send(h.ctx, Message{Title: "x", Lines: []string{"y"}})
		if err == nil {
			t.Fatalf("%s: sent to a closed server", tg.Sink.Name())
		}
		for _, s := range []string{secretPath, "SiGsecret123", "HooKsecret456"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: error shows a secret: %v", tg.Sink.Name(), err)
			}
		}
	}
	h.put(RunFailed(Payload{Flow: "f", RunID: 1, Error: "x"}))
	h.runOnce(h.worker())
	h.clk.Advance(time.Hour)
	evs, err := h.st.ClaimEvents(h.ctx, "peek", 1, time.Second)
	if err != nil || len(evs) != 1 || evs[0].LastError == "" {
		t.Fatalf("stored event %+v %v", evs, err)
	}
	for _, s := range []string{secretPath, "SiGsecret123", "HooKsecret456"} {
		if strings.Contains(h.logs.String(), s) || strings.Contains(evs[0].LastError, s) {
			t.Errorf("secret %q in logs or stored error:\n%s\n%s", s, h.logs, evs[0].LastError)
		}
	}
	if !strings.Contains(h.logs.String(), "send failed") {
		t.Errorf("failures not logged:\n%s", h.logs)
	}
}

// A permanent failure (a revoked webhook: 404) is not retried; the event
// is given up with an error log, other sinks still get it.
func TestPermanentFailureGivesUp(t *testing.T) {
	h := newHarness(t)
	h.opts.Targets = h.opts.Targets[:2]
	h.teams.Fail(notifytest.Fault{Status: 404, Times: 1})
	var given []string
	h.opts.OnGiveUp = func(sink, kind string, n int) { given = append(given, fmt.Sprintf("%s %s %d", sink, kind, n)) }
	h.put(RunFailed(Payload{Flow: "f", RunID: 1, Error: "x"}))
	h.runOnce(h.worker())
	h.clk.Advance(time.Hour)
	if n := h.runOnce(h.worker()); n != 0 || len(h.slack.Messages()) != 1 || len(h.teams.Cards()) != 0 {
		t.Errorf("claimed %d after a 404; slack %d teams %d", n, len(h.slack.Messages()), len(h.teams.Cards()))
	}
	if !strings.Contains(h.logs.String(), "giving up") {
		t.Errorf("no error log:\n%s", h.logs)
	}
	if len(given) != 1 || given[0] != "eng-teams "+KindRunFailed+" 1" {
		t.Errorf("OnGiveUp heard %v, want the run_failed event once", given)
	}
}

// Rules pick events by kind, initiative and flow.
func TestRules(t *testing.T) {
	h := newHarness(t)
	h.opts.Targets = h.opts.Targets[:2]
	h.opts.Targets[0].Rules = []Rule{{Events: []string{KindAtRisk, KindDigest}, Initiatives: []string{"init-1"}}}
	h.opts.Targets[1].Rules = []Rule{{Flows: []string{"platform"}, Events: []string{KindRunFailed}}}
	other := init1()
	other.Initiative, other.Ref = "INIT-2", "plan:INIT-2"
	h.put(AtRisk(init1(), h.clk.Now()), AtRisk(other, h.clk.Now()),
		RunFailed(Payload{Flow: "platform", RunID: 1, Error: "x"}), RunFailed(Payload{Flow: "web", RunID: 2, Error: "x"}),
		Digest(Payload{Headline: "h", Set: []string{"INIT-1"}}, "2026-11-30"), Digest(Payload{Headline: "all"}, "2026-11-30"))
	h.runOnce(h.worker())
	var got []string
	for _, m := range h.slack.Messages() {
		got = append(got, "slack: "+m.Header())
	}
	for _, c := range h.teams.Cards() {
		got = append(got, "teams: "+c.Title())
	}
	// Slack's rule names INIT-1: the digest of that set, not of all.
	want := []string{"slack: ⚠️ INIT-1 Checkout v2 is at risk", "slack: Weekly roll-up: h", "teams: Sync run 1 of flow platform failed"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("delivered:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// chat.postMessage with a bot token reaches the configured channel; a bad
// token is a permanent failure.
func TestSlackBotToken(t *testing.T) {
	h := newHarness(t)
	sl, err := NewSlack("bot", SlackOptions{Token: h.slack.Token, Channel: "#eng", APIURL: h.slack.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := Test(h.ctx, Target{Sink: sl}, Renderer{Dashboard: dash}); err != nil {
		t.Fatal(err)
	}
	if m := h.slack.Messages(); len(m) != 1 || m[0].Channel != "#eng" || m[0].Header() != "tracksync test message" {
		t.Fatalf("messages %+v", m)
	}
	bad, _ := NewSlack("bot", SlackOptions{Token: "xoxb-wrong", Channel: "#eng", APIURL: h.slack.APIURL()})
	err = bad.Send(h.ctx, Message{Title: "x"})
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") || strings.Contains(err.Error(), "xoxb-wrong") {
		t.Errorf("bad token: %v", err)
	}
	if !isPermanent(err) {
		t.Errorf("bad token should be permanent: %v", err)
	}
	// A message Slack refuses as such is refused the same at every
	// retry: permanent, not retried for days; a Slack hiccup is retried.
	for code, permanent := range map[string]bool{"msg_too_long": true, "invalid_blocks": true, "internal_error": false} {
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"ok":false,"error":%q}`, code)
		}))
		s, _ := NewSlack("bot", SlackOptions{Token: h.slack.Token, Channel: "#eng", APIURL: api.URL + "/"})
		err := s.Send(h.ctx, Message{Title: "x"})
		api.Close()
		if err == nil || !strings.Contains(err.Error(), code) || isPermanent(err) != permanent {
			t.Errorf("slack answering %s: %v (permanent %v), want permanent %v", code, err, isPermanent(err), permanent)
		}
	}
}

func TestDigestPayloadSharesRollupWords(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	rep := rollup.Report{Generated: now, Rollups: []rollup.Rollup{{Title: "Checkout", AtRisk: true, Reasons: []string{"target date passed with 10% done"}}}}
	rep.Rollups[0].Initiative.Key, rep.Rollups[0].Initiative.Tracker, rep.Rollups[0].Initiative.ID = "INIT-1", "plan", "INIT-1"
	p := DigestPayload(rep, nil)
	s := rep.Summary()
	if p.Headline != s.Headline() || p.Lines[0] != s.Changes[0] || !strings.Contains(strings.Join(p.Lines, "\n"), "INIT-1 Checkout — at risk: target date passed with 10% done") {
		t.Errorf("digest %+v, summary %+v", p, s)
	}
}

// A paced batch that runs past half its claim puts the rest back for the
// next claim instead of sending after the claim may have lapsed.
func TestSlowBatchDefers(t *testing.T) {
	h := newHarness(t)
	h.only(0)
	h.opts.Lease = 4 * time.Second // pacing at 1/s: two sends fit in half of it
	for i := range 5 {
		h.put(RunFailed(Payload{Flow: "f", RunID: int64(i + 1), Error: "x"}))
	}
	w := h.worker()
	h.runOnce(w)
	if got := len(h.slack.Messages()); got != 4 {
		t.Fatalf("first claim sent %d messages, want 4 (at 0s, 1s, 2s and the one paced from 2s to 3s)", got)
	}
	for i := 0; h.runOnce(w) > 0; i++ {
		if i > 10 {
			t.Fatalf("still claiming after 10 rounds; %d sent, clock %v", len(h.slack.Messages()), h.clk.Now())
		}
	}
	if got := len(h.slack.Messages()); got != 5 || h.slack.Requests() != 5 {
		t.Errorf("%d messages in %d requests, want 5 in 5", got, h.slack.Requests())
	}
}

// Each rule's initiative set gets its own digest, of those initiatives only.
func TestDigestSets(t *testing.T) {
	ts := []Target{
		{Rules: []Rule{{Events: []string{KindDigest}, Initiatives: []string{"init-2", "INIT-1"}}, {Events: []string{KindAtRisk}, Initiatives: []string{"INIT-9"}}}},
		{},
		{Rules: []Rule{{Initiatives: []string{"INIT-1", "INIT-2"}}}},
	}
	got := DigestSets(ts)
	if len(got) != 2 || strings.Join(got[0], ",") != "INIT-1,INIT-2" || got[1] != nil {
		t.Errorf("sets %q", got)
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	rep := rollup.Report{Generated: now}
	for i, risk := range []bool{true, false, false} {
		r := rollup.Rollup{Title: fmt.Sprintf("I%d", i+1), AtRisk: risk, Reasons: []string{"late"}}
		r.Initiative.Tracker, r.Initiative.ID, r.Initiative.Key = "plan", fmt.Sprintf("INIT-%d", i+1), fmt.Sprintf("INIT-%d", i+1)
		rep.Rollups = append(rep.Rollups, r)
	}
	if p := DigestPayload(rep, []string{"init-2", "INIT-3"}); p.Headline != "2 on track · 0 at risk · 0 done" || strings.Join(p.Set, ",") != "INIT-2,INIT-3" {
		t.Errorf("narrowed digest %+v", p)
	}
	if p := DigestPayload(rep, nil); p.Headline != "2 on track · 1 at risk · 0 done" || p.Set != nil {
		t.Errorf("whole digest %+v", p)
	}
}

// A worker frozen in a pacing wait past its claim (a paused process, a
// blocked database connection) does not send on waking: another replica
// has claimed the events meanwhile and delivered them, so the frozen
// worker's send would be a duplicate.
func TestFrozenWorkerDoesNotSendAfterItsClaim(t *testing.T) {
	h := newHarness(t)
	h.only(0) // slack: one message a second
	h.put(RunFailed(Payload{Flow: "f", RunID: 1, Error: "x"}), RunFailed(Payload{Flow: "f", RunID: 2, Error: "y"}))
	other := h.opts
	other.ID = "w2"
	b := NewWorker(h.st, other)
	frozen := false
	a := h.opts
	a.Sleep = func(ctx context.Context, d time.Duration) error {
		if !frozen {
			frozen = true
			h.clk.Advance(6 * time.Minute) // past the 5m claim
			if n := h.runOnce(b); n != 2 {
				t.Errorf("the other replica claimed %d events once the claim lapsed, want 2", n)
			}
		}
		return h.clk.Sleep(ctx, d)
	}
	h.runOnce(NewWorker(h.st, a))
	h.clk.Advance(time.Hour)
	h.runOnce(h.worker())
	var got []string
	for _, m := range h.slack.Messages() {
		got = append(got, m.Header())
	}
	if len(got) != 2 {
		t.Errorf("slack got %d messages, want 2 (one per event):\n%s", len(got), strings.Join(got, "\n"))
	}
	if !strings.Contains(h.logs.String(), "claim on the events ran out") {
		t.Errorf("the frozen worker did not say why it stopped:\n%s", h.logs)
	}
}

// Slack's incoming webhook answers 200 "ok". A 200 with anything else (a
// proxy's login page, a garbled answer) is not a delivery: it is retried
// with backoff, not recorded as sent.
func TestSlackWebhookGarbled200Retried(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	requests, accepted := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		requests++
		if requests == 1 {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><body>Sign in to continue</body></html>")
			return
		}
		accepted++
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	sl, err := NewSlack("pm-slack", SlackOptions{WebhookURL: srv.URL + "/services/T000/B000/roadmapSecretPart"})
	if err != nil {
		t.Fatal(err)
	}
	h.opts.Targets = []Target{{Sink: sl}}
	h.put(RunFailed(Payload{Flow: "f", RunID: 1, Error: "x"}))
	w := h.worker()
	h.runOnce(w)
	h.clk.Advance(10 * time.Second) // the first backoff
	h.runOnce(w)
	h.clk.Advance(time.Hour)
	h.runOnce(w)
	mu.Lock()
	defer mu.Unlock()
	if requests != 2 || accepted != 1 {
		t.Errorf("slack got %d requests, %d answered ok, after a garbled 200; want 2 and 1 (a retry)", requests, accepted)
	}
	if !strings.Contains(h.logs.String(), "send failed") || strings.Contains(h.logs.String(), "roadmapSecretPart") {
		t.Errorf("the garbled answer was not logged as a failure, or the log shows the URL:\n%s", h.logs)
	}
}

// A weekly digest of a large portfolio (a line per initiative at risk or
// whose date moved) still fits Slack's 50 blocks a message: it is
// delivered, every line in it, not refused as invalid_blocks and given up.
func TestLargeDigestFitsSlack(t *testing.T) {
	h := newHarness(t)
	h.only(0)
	var lines []string
	for i := 1; i <= 80; i++ {
		lines = append(lines, fmt.Sprintf("INIT-%d Initiative %d — at risk: due in 10 days with 40%% done", i, i))
	}
	h.put(Digest(Payload{Headline: "0 on track · 80 at risk · 0 done", Lines: lines}, "2026-11-30"))
	h.runOnce(h.worker())
	msgs := h.slack.Messages()
	if len(msgs) != 1 {
		t.Fatalf("slack got %d messages, want the digest:\n%s", len(msgs), h.logs)
	}
	b, _ := json.Marshal(msgs[0].Blocks)
	for _, l := range lines {
		if !strings.Contains(string(b), l) {
			t.Errorf("the digest lacks line %q", l)
		}
	}
}

// A Slack incoming webhook's refusal says why in its body (no_service,
// invalid_blocks, channel_is_archived): the error carries that answer, as
// `tracksync notify test` promises, with the webhook URL redacted from it.
func TestSlackWebhookErrorCarriesAnswer(t *testing.T) {
	h := newHarness(t)
	const secret = "XyZsecretHookPath77"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "no_service: "+r.URL.Path)
	}))
	defer srv.Close()
	sl, err := NewSlack("pm-slack", SlackOptions{WebhookURL: srv.URL + "/services/T000/B000/" + secret})
	if err != nil {
		t.Fatal(err)
	}
	err = Test(h.ctx, Target{Sink: sl}, Renderer{})
	if err == nil || !strings.Contains(err.Error(), "no_service") || strings.Contains(err.Error(), secret) || !isPermanent(err) {
		t.Errorf("error %v: want Slack's answer (no_service), permanent, without the webhook path", err)
	}
}

// The conflicts of one run are one message however many there are: a run
// holding more than a claim's batch (25) is not split into two messages.
func TestGroupingBeyondOneBatch(t *testing.T) {
	h := newHarness(t)
	h.only(0)
	var evs []store.Event
	for id := int64(1); id <= 30; id++ {
		evs = append(evs, ConflictHeld(Payload{Flow: "platform", RunID: 5}, conflict(id)))
	}
	evs = append(evs, RunFailed(Payload{Flow: "platform", RunID: 6, Error: "x"}))
	// A run holding 150 conflicts: as many as fit one message (100), then
	// the rest; each message within Slack's limits.
	for id := int64(31); id <= 180; id++ {
		evs = append(evs, ConflictHeld(Payload{Flow: "platform", RunID: 7}, conflict(id)))
	}
	h.put(evs...)
	w := h.worker()
	for i := 0; h.runOnce(w) > 0; i++ {
		if i > 5 {
			t.Fatal("still claiming after 5 rounds")
		}
	}
	var got []string
	for _, m := range h.slack.Messages() {
		got = append(got, m.Header())
	}
	want := []string{"⚠️ 30 conflicts held in flow platform (run 5)", "⚠️ Sync run 6 of flow platform failed",
		"⚠️ 69 conflicts held in flow platform (run 7)", "⚠️ 81 conflicts held in flow platform (run 7)"}
	if diff := strings.Join(got, "\n"); diff != strings.Join(want, "\n") {
		t.Errorf("messages:\n%s\nwant:\n%s", diff, strings.Join(want, "\n"))
	}
}

// One sink refusing an event for good (a revoked Teams workflow: 404)
// gives it up for that sink only: another sink whose send failed for a
// while (Slack: 500) still gets it after the backoff.
func TestPermanentFailureOfOneSinkSparesTheOthers(t *testing.T) {
	h := newHarness(t)
	h.opts.Targets = h.opts.Targets[:2] // slack, teams
	h.slack.Fail(notifytest.Fault{Status: 500, Times: 1})
	h.teams.Fail(notifytest.Fault{Status: 404, Times: 1})
	h.put(RunFailed(Payload{Flow: "f", RunID: 1, Error: "x"}))
	w := h.worker()
	h.runOnce(w)
	h.clk.Advance(10 * time.Second) // the first backoff
	h.runOnce(w)
	h.clk.Advance(time.Hour)
	if n := h.runOnce(w); n != 0 {
		t.Errorf("%d events still pending", n)
	}
	if s, c := len(h.slack.Messages()), len(h.teams.Cards()); s != 1 || c != 0 {
		t.Errorf("slack got %d messages, teams %d cards; want 1 and 0 (slack retried after its 500)", s, c)
	}
	if h.teams.Requests() != 1 {
		t.Errorf("teams asked %d times after a 404, want once", h.teams.Requests())
	}
	if !strings.Contains(h.logs.String(), "giving up") {
		t.Errorf("no error log for the permanent failure:\n%s", h.logs)
	}
}
