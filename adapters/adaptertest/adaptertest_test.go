package adaptertest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/memory"
)

// bugEnv names the bug a child test process plants in the tracker.
const bugEnv = "ADAPTERTEST_BUG"

// TestMemoryPasses is the control for TestSuiteCatchesBugs: the suite
// passes against the reference tracker it is about to break.
func TestMemoryPasses(t *testing.T) {
	if os.Getenv(bugEnv) != "" {
		t.Skip("this is a child process of TestSuiteCatchesBugs")
	}
	adaptertest.Run(t, harness("none"))
}

// TestSuiteCatchesBugs keeps the suite honest: for each subtest it plants
// a bug in the memory tracker that the subtest exists to catch, runs just
// that subtest in a child process and requires it to fail.
func TestSuiteCatchesBugs(t *testing.T) {
	if os.Getenv(bugEnv) != "" {
		t.Skip("this is a child process")
	}
	tests := []struct {
		bug     string
		subtest string
	}{
		{"get-drops-labels", "create-then-get"},
		{"create-result-no-version", "create-then-get"},
		{"update-writes-all-fields", "update-field"},
		{"version-never-changes", "update-field"},
		{"unsupported-field-ignored", "unsupported-field"},
		{"category-always-todo", "status-transitions"},
		{"list-drops-newest", "list/everything"},
		{"cursor-ignored", "list/no-changes"},
		{"cursor-skips-one", "list/since-cursor"},
		{"page-size-ignored", "list/pagination"},
		{"not-found-unwrapped", "not-found"},
		{"if-version-ignored", "stale-version"},
		{"context-ignored", "context-cancelled"},
		{"idempotency-key-ignored", "idempotent-create"},
		{"sync-key-not-read-back", "idempotent-create"},
		{"comments-newest-first", "comments"},
		{"comment-key-ignored", "comments"},
		{"delete-does-nothing", "delete"},
		{"archive-does-nothing", "archive"},
		{"bulk-results-reversed", "bulk-create"},
		{"retry-after-lost", "rate-limit"},
		{"expired-cursor-unwrapped", "list/expired-cursor"},
		{"handshake-not-kept", "webhook-handshake"},
		{"webhook-signature-unchecked", "webhook"},
		{"webhook-forgery-burns-id", "webhook"},
		{"webhook-redelivery-repeated", "webhook"},
		{"webhook-wrong-tracker", "webhook"},
		{"webhook-release-ignored", "webhook"},
		{"check-ignores-context", "check"},
		{"check-always-ok", "check"},
	}
	for _, tt := range tests {
		t.Run(tt.bug, func(t *testing.T) {
			t.Parallel()
			out, err := runChild(t, tt.bug, tt.subtest)
			if err == nil {
				t.Fatalf("subtest %s passed against a tracker with bug %s:\n%s", tt.subtest, tt.bug, out)
			}
			if strings.Contains(out, "panic:") {
				t.Errorf("subtest %s panicked instead of failing:\n%s", tt.subtest, out)
			}
			if !strings.Contains(out, "--- FAIL: TestBuggyTracker/"+tt.subtest) {
				t.Errorf("subtest %s did not report its own failure:\n%s", tt.subtest, out)
			}
		})
	}
}

// TestSkipsWhatTrackerLacks runs the suite on a tracker with no optional
// interfaces, one field and one status: every capability subtest skips,
// with its reason, and the rest pass.
func TestSkipsWhatTrackerLacks(t *testing.T) {
	if os.Getenv(bugEnv) != "" {
		t.Skip("this is a child process")
	}
	out, err := runChild(t, "minimal", "")
	if err != nil {
		t.Fatalf("suite failed on a minimal tracker: %v\n%s", err, out)
	}
	for _, sub := range []string{"status-transitions", "comments", "delete", "archive", "bulk-create", "rate-limit", "webhook", "check", "list/expired-cursor", "webhook-handshake"} {
		if !strings.Contains(out, "--- SKIP: TestBuggyTracker/"+sub) {
			t.Errorf("subtest %s did not skip on a tracker without the capability:\n%s", sub, out)
		}
	}
	if !strings.Contains(out, "--- PASS: TestBuggyTracker/list/since-cursor") {
		t.Errorf("list/since-cursor did not pass using Update in place of Harness.Edit:\n%s", out)
	}
}

// runChild runs TestBuggyTracker (restricted to subtest, "" for all) in a
// child process with bug planted, and returns its output.
func runChild(t *testing.T, bug, subtest string) (string, error) {
	t.Helper()
	pattern := "^TestBuggyTracker$"
	if subtest != "" {
		for _, part := range strings.Split(subtest, "/") {
			pattern += "/^" + regexp.QuoteMeta(part) + "$"
		}
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+pattern, "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), bugEnv+"="+bug)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the child test process: %v", err)
	}
	return string(out), err
}

// TestBuggyTracker runs only in a child process of the tests above.
func TestBuggyTracker(t *testing.T) {
	bug := os.Getenv(bugEnv)
	if bug == "" {
		t.Skip("run by TestSuiteCatchesBugs and TestSkipsWhatTrackerLacks in a child process")
	}
	adaptertest.Run(t, harness(bug))
}

func harness(bug string) adaptertest.Harness {
	clock := memory.NewClock(time.Time{})
	if bug == "minimal" {
		return adaptertest.Harness{
			New: func(t *testing.T) adapters.Tracker {
				m := newMemory(t, memory.Options{
					Fields:   []string{adapters.FieldTitle},
					Statuses: []adapters.StatusDef{{Name: "Open", Category: adapters.CategoryTodo}},
				})
				// Only the required interface shows through.
				return struct{ adapters.Tracker }{m}
			},
		}
	}
	opts := memory.Options{Clock: clock.Now}
	if bug == "unsupported-field-ignored" {
		opts.Fields = slices.DeleteFunc(slices.Clone(adapters.StandardFields), func(f string) bool { return f == adapters.FieldDue })
	}
	var cur *buggy
	deliveries := 0
	return adaptertest.Harness{
		New: func(t *testing.T) adapters.Tracker {
			cur = &buggy{Tracker: newMemory(t, opts), bug: bug, seen: adapters.NewDeliverySet(100)}
			return &handshaker{buggy: cur}
		},
		ExpireCursor: func() { cur.expireCursors() },
		Handshake: func() (http.Header, []byte, func([]byte) http.Header) {
			body := []byte(`{"changed":["1"]}`)
			return http.Header{"X-Hook-Secret": {"s3cret"}}, body, func(b []byte) http.Header {
				return http.Header{"X-Hook-Signature": {signWith("s3cret", b)}}
			}
		},
		Advance:         clock.Advance,
		InjectRateLimit: func(d time.Duration) { cur.InjectRateLimit(1, d) },
		Edit: func(t *testing.T, ref adapters.Ref, mutate func(*adapters.Item)) {
			if _, err := cur.Edit(ref, mutate); err != nil {
				t.Fatal(err)
			}
		},
		Delivery: func(t *testing.T, ref adapters.Ref) (http.Header, []byte) {
			deliveries++
			body, _ := json.Marshal(map[string]string{"id": ref.ID})
			h := http.Header{}
			h.Set("X-Delivery", strconv.Itoa(deliveries))
			h.Set("X-Signature", sign(body))
			return h, body
		},
		Break: func(t *testing.T) { cur.InjectRateLimit(1000, time.Hour) },
	}
}

// webhookSecret signs the buggy tracker's webhook deliveries.
const webhookSecret = "adaptertest-secret"

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(webhookSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func newMemory(t *testing.T, opts memory.Options) *memory.Tracker {
	t.Helper()
	m, err := memory.New("mem", opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// buggy is the memory tracker with one bug planted, named by bug, and a
// webhook decoder of its own (the memory tracker has none): a JSON body
// naming the item, signed in X-Signature, its id in X-Delivery. Its
// cursors expire when the harness says (the memory tracker's never do).
type buggy struct {
	*memory.Tracker
	bug     string
	seen    *adapters.DeliverySet
	mu      sync.Mutex
	issued  []string
	expired map[string]bool
}

func (b *buggy) DecodeWebhook(h http.Header, body []byte) ([]adapters.Event, error) {
	id := h.Get("X-Delivery")
	if b.bug == "webhook-forgery-burns-id" && !b.seen.Add(id) {
		return nil, nil
	}
	if b.bug != "webhook-signature-unchecked" {
		if err := adapters.VerifySHA256(webhookSecret, "X-Signature", h.Get("X-Signature"), body); err != nil {
			return nil, err
		}
	}
	var p struct{ ID string }
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("%w: %w", adapters.ErrInvalid, err)
	}
	if b.bug != "webhook-redelivery-repeated" && b.bug != "webhook-forgery-burns-id" && !b.seen.Add(id) {
		return nil, nil
	}
	ev := adapters.Event{Type: adapters.EventUpserted, Ref: adapters.Ref{Tracker: b.Name(), ID: p.ID}, DeliveryID: id}
	if b.bug == "webhook-wrong-tracker" {
		ev.Ref.Tracker = ""
	}
	return []adapters.Event{ev}, nil
}

// ReleaseDelivery forgets the delivery, unless the bug is that it does
// nothing.
func (b *buggy) ReleaseDelivery(id string) {
	if b.bug != "webhook-release-ignored" {
		b.seen.Remove(id)
	}
}

func (b *buggy) Check(ctx context.Context) error {
	switch b.bug {
	case "check-ignores-context":
		ctx = context.Background()
	case "check-always-ok": // but it does mind a cancelled context
		return ctx.Err()
	}
	return b.Tracker.Check(ctx)
}

func (b *buggy) expireCursors() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.expired == nil {
		b.expired = map[string]bool{}
	}
	for _, c := range b.issued {
		b.expired[c] = true
	}
}

// handshaker adds a webhook handshake to the memory tracker, keeping the
// secret in the KV it is given (unless bug handshake-not-kept).
type handshaker struct {
	*buggy
	kv     adapters.KV
	secret string
}

func (h *handshaker) SetKV(kv adapters.KV) { h.kv = kv }

func (h *handshaker) Handshake(ctx context.Context, hdr http.Header) (http.Header, bool, error) {
	sec := hdr.Get("X-Hook-Secret")
	if sec == "" {
		return nil, false, nil
	}
	h.secret = sec
	if h.bug != "handshake-not-kept" && h.kv != nil {
		if err := h.kv.Put(ctx, "secret", sec); err != nil {
			return nil, true, err
		}
	}
	return http.Header{"X-Hook-Secret": {sec}}, true, nil
}

// DecodeWebhook takes deliveries signed after a handshake
// (X-Hook-Signature); others go to buggy's own decoder.
func (h *handshaker) DecodeWebhook(hdr http.Header, body []byte) ([]adapters.Event, error) {
	if hdr.Get("X-Hook-Signature") == "" {
		return h.buggy.DecodeWebhook(hdr, body)
	}
	sec := h.secret
	if h.kv != nil {
		if v, ok, _ := h.kv.Get(context.Background(), "secret"); ok {
			sec = v
		}
	}
	if sec == "" || !hmac.Equal([]byte(hdr.Get("X-Hook-Signature")), []byte(signWith(sec, body))) {
		return nil, adapters.ErrUnauthorized
	}
	return nil, nil
}

func signWith(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func (b *buggy) ctx(ctx context.Context) context.Context {
	if b.bug == "context-ignored" {
		return context.Background()
	}
	return ctx
}

// item plants the bugs that distort returned items.
func (b *buggy) item(it adapters.Item) adapters.Item {
	switch b.bug {
	case "version-never-changes":
		it.Version = "1"
	case "category-always-todo":
		it.StatusCategory = adapters.CategoryTodo
	}
	return it
}

func (b *buggy) Get(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	it, err := b.Tracker.Get(b.ctx(ctx), ref)
	switch b.bug {
	case "get-drops-labels":
		it.Labels = nil
	case "sync-key-not-read-back":
		it.SyncKey = ""
	case "not-found-unwrapped":
		if err != nil {
			err = errors.New(err.Error())
		}
	case "retry-after-lost":
		var rl *adapters.RateLimitError
		if errors.As(err, &rl) {
			err = &adapters.RateLimitError{Scope: rl.Scope, Message: rl.Message}
		}
	}
	return b.item(it), err
}

func (b *buggy) List(ctx context.Context, req adapters.ListRequest) (adapters.ListPage, error) {
	switch b.bug {
	case "cursor-ignored":
		req.Cursor = ""
	case "page-size-ignored":
		req.PageSize = 0
	}
	b.mu.Lock()
	expired := b.expired[req.Cursor]
	b.mu.Unlock()
	if expired && req.Cursor != "" {
		if b.bug == "expired-cursor-unwrapped" {
			return adapters.ListPage{}, errors.New("cursor too old")
		}
		return adapters.ListPage{}, fmt.Errorf("cursor %s: %w", req.Cursor, adapters.ErrCursorExpired)
	}
	p, err := b.Tracker.List(b.ctx(ctx), req)
	if p.Cursor != "" {
		b.mu.Lock()
		b.issued = append(b.issued, p.Cursor)
		b.mu.Unlock()
	}
	switch b.bug {
	case "list-drops-newest":
		p.Items = slices.DeleteFunc(p.Items, func(it adapters.Item) bool { return it.Ref.ID == "3" })
	case "cursor-skips-one":
		if n, err := strconv.Atoi(p.Cursor); err == nil {
			p.Cursor = strconv.Itoa(n + 1)
		}
	}
	for i := range p.Items {
		p.Items[i] = b.item(p.Items[i])
	}
	return p, err
}

func (b *buggy) Create(ctx context.Context, it adapters.Item, opts adapters.CreateOptions) (adapters.CreateResult, error) {
	if b.bug == "idempotency-key-ignored" {
		opts.IdempotencyKey = ""
	}
	res, err := b.Tracker.Create(b.ctx(ctx), it, opts)
	if b.bug == "create-result-no-version" {
		res.Item.Version = ""
	}
	res.Item = b.item(res.Item)
	return res, err
}

func (b *buggy) Update(ctx context.Context, ref adapters.Ref, p adapters.Patch) (adapters.Item, error) {
	switch b.bug {
	case "update-writes-all-fields":
		p.Fields = b.Capabilities().Fields
	case "if-version-ignored":
		p.IfVersion = ""
	case "unsupported-field-ignored":
		p.Fields = slices.DeleteFunc(slices.Clone(p.Fields), func(f string) bool { return !b.Capabilities().HasField(f) })
	}
	if b.bug == "version-never-changes" && p.IfVersion == "1" {
		p.IfVersion = ""
	}
	it, err := b.Tracker.Update(b.ctx(ctx), ref, p)
	if b.bug == "not-found-unwrapped" && err != nil {
		err = errors.New(err.Error())
	}
	return b.item(it), err
}

func (b *buggy) Comments(ctx context.Context, ref adapters.Ref) ([]adapters.Comment, error) {
	cs, err := b.Tracker.Comments(b.ctx(ctx), ref)
	if b.bug == "comments-newest-first" {
		slices.Reverse(cs)
	}
	return cs, err
}

func (b *buggy) AddComment(ctx context.Context, ref adapters.Ref, c adapters.Comment, key string) (adapters.Comment, error) {
	if b.bug == "comment-key-ignored" {
		key = ""
	}
	return b.Tracker.AddComment(b.ctx(ctx), ref, c, key)
}

func (b *buggy) Delete(ctx context.Context, ref adapters.Ref) error {
	if b.bug == "delete-does-nothing" {
		return nil
	}
	return b.Tracker.Delete(b.ctx(ctx), ref)
}

func (b *buggy) Archive(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	if b.bug == "archive-does-nothing" {
		return b.Tracker.Get(ctx, ref)
	}
	it, err := b.Tracker.Archive(b.ctx(ctx), ref)
	return b.item(it), err
}

func (b *buggy) CreateMany(ctx context.Context, reqs []adapters.CreateRequest) ([]adapters.CreateResult, error) {
	res, err := b.Tracker.CreateMany(b.ctx(ctx), reqs)
	if b.bug == "bulk-results-reversed" {
		slices.Reverse(res)
	}
	return res, err
}
