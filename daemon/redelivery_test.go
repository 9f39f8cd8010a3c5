package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/daemon/jobs"
	"github.com/tracksync/tracksync/daemon/jobs/riverjobs"
	"github.com/tracksync/tracksync/store"
)

// refusingQueue is a job queue whose inserts fail while refuse is set, as
// a database that times out or fails over under the receiver does.
type refusingQueue struct {
	jobs.Queue
	refuse *atomic.Bool
}

func (q refusingQueue) Insert(ctx context.Context, j jobs.Job, o jobs.InsertOpts) (bool, error) {
	if q.refuse.Load() {
		return false, errors.New("job queue unavailable")
	}
	return q.Queue.Insert(ctx, j, o)
}

// TestWebhookRetriedAfterEnqueueFailed: a delivery answered 503 because
// its sync could not be enqueued is retried by the tracker with the same
// delivery id (Jira and Asana retry on their own; GitHub on a click). The
// retry must be handled, not taken for a repeat of a delivery already
// handled: the first attempt enqueued nothing.
func TestWebhookRetriedAfterEnqueueFailed(t *testing.T) {
	var refuse atomic.Bool
	h := startWith(t, "@every 1h", 20*time.Millisecond, func(o *harnessOpts) {
		o.cfg = func(c *Config) {
			c.Jobs = func(ctx context.Context, st store.Store, ro riverjobs.Options) (jobs.Queue, error) {
				q, err := riverjobs.Open(ctx, st, ro)
				if err != nil {
					return nil, err
				}
				return refusingQueue{Queue: q, refuse: &refuse}, nil
			}
		}
	})
	h.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "first", Status: "To Do"})
	h.until("the scheduled first run creates the copy", func() bool { return len(h.fake.Issues(repo)) == 1 })
	h.until("the first job is done", func() bool { return h.jobs() == 0 })
	is := h.fake.Issues(repo)[0]
	if err := h.fake.EditIssue(repo, is.Number, func(x *githubtest.Issue) { x.Title = "renamed on github" }); err != nil {
		t.Fatal(err)
	}
	body := fmt.Appendf(nil, `{"action":"edited","issue":{"number":%d,"title":"renamed on github","state":"open","updated_at":%q},"repository":{"full_name":%q}}`,
		is.Number, time.Now().UTC().Format(time.RFC3339), repo)
	hdr := map[string]string{"X-GitHub-Event": "issues", "X-GitHub-Delivery": "retried-1", "X-Hub-Signature-256": sign(body)}

	refuse.Store(true)
	if resp := h.post("/webhooks/b", body, hdr); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("delivery while the queue refuses: HTTP %d, want 503", resp.StatusCode)
	}
	refuse.Store(false)
	if resp := h.post("/webhooks/b", body, hdr); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("the tracker's retry of the delivery: HTTP %d, want 202 (handled, not a repeat)", resp.StatusCode)
	}
	h.until("the retried delivery's sync carries the edit to A", func() bool { return h.a.Items()[0].Title == "renamed on github" })
	h.until("the job is done", func() bool { return h.jobs() == 0 })
	// A second retry, after the first was handled, is a repeat: nothing
	// is enqueued for it.
	if resp := h.post("/webhooks/b", body, hdr); resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		t.Errorf("a repeat of the handled delivery: HTTP %d, want 200 or 202", resp.StatusCode)
	}
	if n := h.jobs(); n != 0 {
		t.Errorf("a repeat of the handled delivery enqueued %d job(s)", n)
	}
}

// TestSlowBodyTimesOut: a client that sends a webhook's headers and then
// stalls its body does not hold the connection (and a goroutine) for
// ever: the server gives up after ReadTimeout.
func TestSlowBodyTimesOut(t *testing.T) {
	h := startWith(t, "@every 1h", 20*time.Millisecond, func(o *harnessOpts) {
		o.cfg = func(c *Config) { c.ReadTimeout = 300 * time.Millisecond }
	})
	conn, err := net.Dial("tcp", h.d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /webhooks/b HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: issues\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"action\":")
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		resp.Body.Close()
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server still held the stalled request after %s", time.Since(start).Round(time.Millisecond))
	}
	// Either an answer (the handler saw its read fail) or a closed
	// connection, well before the 10s the client waited.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the stalled request was let go after %s, want about the 300ms read timeout", d)
	}
}
