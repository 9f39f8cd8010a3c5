package asana_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
)

// TestOtherStatusSources runs the conformance suite with status in an
// enum custom field and in the completed checkbox.
func TestOtherStatusSources(t *testing.T) {
	for _, c := range []struct {
		source string
		status string
	}{{"custom_field:Stage", "Planned"}, {asana.StatusCompleted, "Open"}} {
		t.Run(c.source, func(t *testing.T) {
			var cur *env
			adaptertest.Run(t, adaptertest.Harness{
				New: func(t *testing.T) adapters.Tracker {
					cur = newEnv(t, asanatest.Options{})
					return cur.tracker(t, func(o *asana.Options) { o.Status = c.source })
				},
				Scope:           newEnv(t, asanatest.Options{}).project,
				Advance:         func(d time.Duration) { cur.s.Advance(d) },
				InjectRateLimit: func(d time.Duration) { cur.s.Inject(asanatest.Fault{Status: 429, RetryAfter: d}) },
				ExpireCursor:    cur2(&cur),
				Sample: func(i int) adapters.Item {
					it := sample(i)
					it.Status = c.status
					return it
				},
			})
		})
	}
}

func cur2(cur **env) func() { return func() { (*cur).s.ExpireSyncTokens() } }

// TestCreateAfterLostAnswer: the create reached Asana but its answer was
// lost. The retry, in the same process or a new one, finds the task by
// its key instead of making another.
func TestCreateAfterLostAnswer(t *testing.T) {
	e := newEnv(t, asanatest.Options{})
	tr := e.tracker(t, nil)
	ctx := t.Context()
	// The first listing indexes the project's keys: the lost create must
	// still be found after it.
	if _, err := tr.List(ctx, adapters.ListRequest{Scope: e.project}); err != nil {
		t.Fatal(err)
	}
	e.s.Inject(asanatest.Fault{Method: "POST", Path: "/tasks", Status: 504, AfterApply: true})
	it := sample(0)
	if _, err := tr.Create(ctx, it, adapters.CreateOptions{IdempotencyKey: "flow/a/PLAT-1", Scope: e.project}); err == nil {
		t.Fatal("the create whose answer was lost reported success")
	}
	if n := len(e.s.Tasks(e.project)); n != 1 {
		t.Fatalf("%d tasks after the lost create, want the 1 it made", n)
	}
	for name, t2 := range map[string]*asana.Tracker{"same process": tr, "after a restart": e.tracker(t, nil)} {
		res, err := t2.Create(ctx, it, adapters.CreateOptions{IdempotencyKey: "flow/a/PLAT-1", Scope: e.project})
		if err != nil {
			t.Fatalf("%s: retried create: %v", name, err)
		}
		if !res.Existed || res.Item.SyncKey != "flow/a/PLAT-1" {
			t.Errorf("%s: retried create: Existed=%v SyncKey=%q, want the task the lost create made", name, res.Existed, res.Item.SyncKey)
		}
	}
	if n := len(e.s.Tasks(e.project)); n != 1 {
		t.Errorf("%d tasks after the retries, want 1", n)
	}
}

// TestMarkerInvisibleAndDurable: the key sits in html_notes as characters
// people do not see; the notes people read are the body; editing the
// notes above it keeps it; the body the adapter returns never shows it.
func TestMarkerInvisibleAndDurable(t *testing.T) {
	e := newEnv(t, asanatest.Options{})
	tr := e.tracker(t, nil)
	ctx := t.Context()
	res, err := tr.Create(ctx, sample(1), adapters.CreateOptions{IdempotencyKey: "flow/b/acme#7", Scope: e.project})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := e.s.Task(res.Item.Ref.ID)
	visible := strings.Map(func(r rune) rune {
		if strings.ContainsRune("\u200b\u200c\u200d\u2060\u2063", r) {
			return -1
		}
		return r
	}, stored.HTMLNotes)
	if visible != "<body>Body of item 1.</body>" || visible == stored.HTMLNotes {
		t.Errorf("html_notes %q: want the body plus invisible characters only", stored.HTMLNotes)
	}
	if err := e.s.EditTask(res.Item.Ref.ID, func(tk *asanatest.Task) {
		tk.HTMLNotes = strings.Replace(tk.HTMLNotes, "<body>", "<body>A person wrote this first. ", 1)
	}); err != nil {
		t.Fatal(err)
	}
	got, err := tr.Get(ctx, res.Item.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if got.SyncKey != "flow/b/acme#7" || got.Body != "A person wrote this first. Body of item 1." {
		t.Errorf("after a person's edit: SyncKey %q body %q", got.SyncKey, got.Body)
	}
	// A body update keeps the key.
	up, err := e.tracker(t, nil).Update(ctx, res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldBody}, Item: adapters.Item{Body: "Rewritten."}})
	if err != nil {
		t.Fatal(err)
	}
	if up.SyncKey != "flow/b/acme#7" || up.Body != "Rewritten." {
		t.Errorf("after a body update by a fresh tracker: SyncKey %q body %q", up.SyncKey, up.Body)
	}
}

// TestSafetyPollFindsLostEvents: a change whose event Asana never
// recorded is found by the modified_since poll once it is due, and only
// then.
func TestSafetyPollFindsLostEvents(t *testing.T) {
	e := newEnv(t, asanatest.Options{})
	tr := e.tracker(t, func(o *asana.Options) { o.SafetyPoll = 10 * time.Minute })
	ctx := t.Context()
	res, err := tr.Create(ctx, sample(0), adapters.CreateOptions{Scope: e.project})
	if err != nil {
		t.Fatal(err)
	}
	first := listAll(t, tr, e.project, "")
	e.s.Advance(time.Minute)
	if err := e.s.EditTask(res.Item.Ref.ID, func(tk *asanatest.Task) { tk.Name = "renamed, event lost" }); err != nil {
		t.Fatal(err)
	}
	e.s.LoseEvents()
	second := listAll(t, tr, e.project, first.Cursor)
	if len(second.Items) != 0 {
		t.Errorf("before the poll is due: %d items, want none (the event was lost)", len(second.Items))
	}
	e.s.Advance(10 * time.Minute)
	third := listAll(t, tr, e.project, second.Cursor)
	if len(third.Items) != 1 || third.Items[0].Title != "renamed, event lost" {
		t.Fatalf("once the poll is due: %+v, want the renamed task", third.Items)
	}
	e.s.Advance(10 * time.Minute)
	if fourth := listAll(t, tr, e.project, third.Cursor); len(fourth.Items) != 0 {
		t.Errorf("the next poll listed %d items again", len(fourth.Items))
	}
}

func listAll(t *testing.T, tr adapters.Tracker, scope, cursor string) adapters.ListPage {
	t.Helper()
	return adaptertest.ListAll(t, tr, adapters.ListRequest{Scope: scope, Cursor: cursor})
}

// TestIdleAndStatusRequests: an idle incremental listing is one request;
// a status change in section mode is the move plus the read-back, in the
// custom-field and completed modes one PUT.
func TestIdleAndStatusRequests(t *testing.T) {
	for _, c := range []struct {
		source, status string
		want           []string
	}{
		{asana.StatusSection, "Done", []string{"POST /sections/{gid}/addTask", "GET /tasks/{gid}"}},
		{"custom_field:Risk", "High", []string{"PUT /tasks/{gid}"}},
		{asana.StatusCompleted, "Completed", []string{"PUT /tasks/{gid}"}},
	} {
		t.Run(c.source, func(t *testing.T) {
			e := newEnv(t, asanatest.Options{})
			tr := e.tracker(t, func(o *asana.Options) { o.Status = c.source })
			it := sample(0)
			it.Status = map[string]string{asana.StatusSection: "To do", "custom_field:Risk": "Low", asana.StatusCompleted: "Open"}[c.source]
			res, err := tr.Create(t.Context(), it, adapters.CreateOptions{Scope: e.project})
			if err != nil {
				t.Fatal(err)
			}
			l := listAll(t, tr, e.project, "")
			e.s.Advance(time.Minute)
			e.s.ResetLog()
			listAll(t, tr, e.project, l.Cursor)
			if n := e.s.Count().Total; n != 1 {
				t.Errorf("idle incremental listing: %d requests, want 1: %v", n, e.s.Count().ByRoute)
			}
			e.s.ResetLog()
			got, err := tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: c.status}})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != c.status {
				t.Errorf("status after Update: %q", got.Status)
			}
			var routes []string
			for _, r := range e.s.Requests() {
				routes = append(routes, r.Method+" "+routeOf(r.Path))
			}
			if strings.Join(routes, ", ") != strings.Join(c.want, ", ") {
				t.Errorf("status change sent %v, want %v", routes, c.want)
			}
		})
	}
}

func routeOf(p string) string {
	seg := strings.Split(p, "/")
	for i, s := range seg {
		if s != "" && strings.Trim(s, "0123456789") == "" {
			seg[i] = "{gid}"
		}
	}
	return strings.Join(seg, "/")
}

// TestPacing: at 150 requests a minute the adapter spaces its requests
// (on the fake's clock) and the fake never answers 429.
func TestPacing(t *testing.T) {
	e := newEnv(t, asanatest.Options{RequestsPerMinute: 150})
	tr := e.tracker(t, func(o *asana.Options) { o.RequestsPerMinute = 150 })
	res, err := tr.Create(t.Context(), sample(0), adapters.CreateOptions{Scope: e.project})
	if err != nil {
		t.Fatal(err)
	}
	start := e.s.Now()
	for i := range 400 {
		if _, err := tr.Get(t.Context(), res.Item.Ref); err != nil {
			t.Fatalf("Get #%d: %v", i, err)
		}
	}
	took := e.s.Now().Sub(start)
	if e.s.RateLimited() != 0 {
		t.Errorf("the fake refused %d requests: the pacer let too many through", e.s.RateLimited())
	}
	// 800 requests at 2.5 a second, less the burst.
	if took < 4*time.Minute {
		t.Errorf("800 requests took %v of the fake's time; at 150 a minute they need over 4 minutes", took)
	}
}

// TestConcurrentWritesCapped: more writers than Asana's 15 concurrent
// writes are held back by the adapter, never refused by Asana.
func TestConcurrentWritesCapped(t *testing.T) {
	e := newEnv(t, asanatest.Options{ConcurrentWrites: 3})
	tr := e.tracker(t, func(o *asana.Options) { o.ConcurrentWrites = 3; o.RequestsPerMinute = 100000 })
	res, err := tr.Create(t.Context(), sample(0), adapters.CreateOptions{Scope: e.project})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: adapters.Item{Title: "t" + string(rune('a'+i))}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent update: %v", err)
		}
	}
	if n := e.s.RateLimited(); n != 0 {
		t.Errorf("the fake refused %d writes for concurrency", n)
	}
}

// TestWebhookHandshakeAndDeliveries: the handshake is answered and its
// secret kept in the KV; a tracker opened afterwards (a restart) verifies
// deliveries with it; a wrong signature is refused before parsing.
func TestWebhookHandshakeAndDeliveries(t *testing.T) {
	e := newEnv(t, asanatest.Options{})
	kv := &adaptertest.KV{}
	tr := e.tracker(t, nil)
	tr.SetKV(kv)
	var mu sync.Mutex
	var events []adapters.Event
	var decodeErrs []error
	current := tr
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if h, ok, err := current.Handshake(r.Context(), r.Header); ok {
			if err != nil {
				w.WriteHeader(500)
				return
			}
			for k, v := range h {
				w.Header()[k] = v
			}
			w.WriteHeader(200)
			return
		}
		body := make([]byte, r.ContentLength)
		_, _ = r.Body.Read(body)
		evs, err := current.DecodeWebhook(r.Header, body)
		if err != nil {
			decodeErrs = append(decodeErrs, err)
			w.WriteHeader(401)
			return
		}
		events = append(events, evs...)
	}))
	defer recv.Close()
	// A handshake nobody asked for is refused: it would plant a secret.
	if _, handled, err := tr.Handshake(t.Context(), http.Header{"X-Hook-Secret": {"planted"}}); !handled || !errors.Is(err, adapters.ErrUnauthorized) {
		t.Errorf("unsolicited handshake: handled %v, error %v; want ErrUnauthorized", handled, err)
	}
	if st, _ := postJSON(t, e.s, "/webhooks", `{"data":{"resource":"`+e.project+`","target":"`+recv.URL+`"}}`); st != 400 {
		t.Errorf("a webhook created by hand got HTTP %d; the tracker should have refused its handshake", st)
	}
	for range 2 { // the second call finds the webhook and makes none
		if err := tr.EnsureWebhooks(t.Context(), recv.URL); err != nil {
			t.Fatalf("EnsureWebhooks: %v", err)
		}
	}
	if n := e.s.Count().ByRoute["POST /webhooks"]; n != 2 {
		t.Errorf("%d webhook creates, want 2 (the refused one by hand, one by EnsureWebhooks)", n)
	}
	if v, ok, _ := kv.Get(t.Context(), "webhook_secrets"); !ok || v == "" {
		t.Fatalf("the handshake secret was not kept in the KV")
	}
	// A restart: a new tracker with the same KV.
	mu.Lock()
	current = e.tracker(t, nil)
	current.SetKV(kv)
	mu.Unlock()
	res, err := tr.Create(t.Context(), sample(0), adapters.CreateOptions{Scope: e.project})
	if err != nil {
		t.Fatal(err)
	}
	ds := e.s.Deliver(t.Context())
	if len(ds) != 1 || ds[0].Status != 200 {
		t.Fatalf("deliveries: %+v, errors %v", ds, decodeErrs)
	}
	if len(events) != 1 || events[0].Ref.ID != res.Item.Ref.ID || events[0].Type != adapters.EventUpserted {
		t.Errorf("decoded events %+v, want one upsert of %s", events, res.Item.Ref.ID)
	}
	if hb := e.s.Heartbeat(t.Context()); len(hb) != 1 || hb[0].Status != 200 {
		t.Errorf("heartbeat: %+v, errors %v", hb, decodeErrs)
	}
	body := []byte(`{"events":[]}`)
	for name, sig := range map[string]string{"wrong": asanatest.Sign("not the secret", body), "missing": "", "not hex": "sha256=zz"} {
		h := http.Header{}
		if sig != "" {
			h.Set("X-Hook-Signature", sig)
		}
		if _, err := current.DecodeWebhook(h, body); !errors.Is(err, adapters.ErrUnauthorized) {
			t.Errorf("%s signature: %v, want ErrUnauthorized", name, err)
		}
	}
	// With no secret at all, nothing is accepted.
	if _, err := e.tracker(t, nil).DecodeWebhook(http.Header{"X-Hook-Signature": {asanatest.Sign("", body)}}, body); !errors.Is(err, adapters.ErrUnauthorized) {
		t.Errorf("no secret: %v, want ErrUnauthorized", err)
	}
}

func postJSON(t *testing.T, s *asanatest.Server, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+asanatest.DefaultToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, ""
}

// TestErrorsNameTheProblem: Asana's own message and the item reach the
// error; an unknown section, user or option is named with the choices.
func TestErrorsNameTheProblem(t *testing.T) {
	e := newEnv(t, asanatest.Options{})
	tr := e.tracker(t, nil)
	res, err := tr.Create(t.Context(), sample(0), adapters.CreateOptions{Scope: e.project})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		field string
		item  adapters.Item
		want  []string
	}{
		{adapters.FieldStatus, adapters.Item{Status: "Shipped"}, []string{res.Item.Ref.ID, `no section "Shipped"`, "To do, In progress, Done"}},
		{adapters.FieldAssignees, adapters.Item{Assignees: []string{"nobody@example.com"}}, []string{"nobody@example.com"}},
		{adapters.CustomPrefix + "Risk", adapters.Item{Fields: map[string]string{"Risk": "Extreme"}}, []string{`"Extreme"`, "Low, High"}},
		{adapters.FieldPriority, adapters.Item{Priority: "High"}, []string{"priority"}},
	} {
		_, err := tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{c.field}, Item: c.item})
		if err == nil || !adapters.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", c.field, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %q", c.field, err, w)
			}
		}
	}
	e.s.Inject(asanatest.Fault{Method: "PUT", Status: 403, Message: "You do not have access to this task"})
	_, err = tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: adapters.Item{Title: "x"}})
	if !errors.Is(err, adapters.ErrForbidden) || !strings.Contains(err.Error(), "You do not have access to this task") || !strings.Contains(err.Error(), res.Item.Ref.ID) {
		t.Errorf("403: %v", err)
	}
	if strings.Contains(err.Error(), asanatest.DefaultToken) {
		t.Errorf("the token leaked into an error: %v", err)
	}
}

// TestNewPeopleAndSectionsFound: a person who joined and a section added
// after the tracker read its workspace are found by reading again.
func TestNewPeopleAndSectionsFound(t *testing.T) {
	e := newEnv(t, asanatest.Options{})
	tr := e.tracker(t, nil)
	res, err := tr.Create(t.Context(), sample(0), adapters.CreateOptions{Scope: e.project})
	if err != nil {
		t.Fatal(err)
	}
	e.s.AddUser("Nia New", "nia@example.com")
	if _, err := e.s.AddSection(e.project, "Blocked"); err != nil {
		t.Fatal(err)
	}
	e.s.Advance(2 * time.Minute)
	got, err := tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldAssignees, adapters.FieldStatus},
		Item: adapters.Item{Assignees: []string{"nia@example.com"}, Status: "Blocked"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "Blocked" || len(got.Assignees) != 1 || got.Assignees[0] != "nia@example.com" {
		t.Errorf("after the update: status %q, assignees %v", got.Status, got.Assignees)
	}
}

// TestOneAssigneeKept: Asana holds one assignee; given two (a merge of
// both sides' people), the first is written and read back, as Jira does.
func TestOneAssigneeKept(t *testing.T) {
	e := newEnv(t, asanatest.Options{})
	tr := e.tracker(t, nil)
	res, err := tr.Create(t.Context(), sample(0), adapters.CreateOptions{Scope: e.project})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldAssignees},
		Item: adapters.Item{Assignees: []string{people[0], people[1]}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Assignees) != 1 || got.Assignees[0] != people[1] {
		t.Errorf("assignees after writing %v: %v, want the first in order, %s", people, got.Assignees, people[1])
	}
}

// TestGarbledAnswersAreNotSuccess: a 200 whose body is a login page, cut
// JSON, empty or {} is an error wrapping ErrBadResponse, for reads,
// listings and writes alike; never an empty page or a written item.
func TestGarbledAnswersAreNotSuccess(t *testing.T) {
	for _, g := range []asanatest.Garble{asanatest.GarbleHTML, asanatest.GarbleCut, asanatest.GarbleEmpty, asanatest.GarbleEmptyObject} {
		t.Run(g.String(), func(t *testing.T) {
			e := newEnv(t, asanatest.Options{})
			tr := e.tracker(t, nil)
			res, err := tr.Create(t.Context(), sample(0), adapters.CreateOptions{Scope: e.project})
			if err != nil {
				t.Fatal(err)
			}
			calls := map[string]func() error{
				"Get": func() error { _, err := tr.Get(t.Context(), res.Item.Ref); return err },
				"List": func() error {
					_, err := tr.List(t.Context(), adapters.ListRequest{Scope: e.project})
					return err
				},
				"Update": func() error {
					_, err := tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: adapters.Item{Title: "x"}})
					return err
				},
			}
			for name, call := range calls {
				path := map[string]string{"Get": "/tasks/", "List": "/projects/", "Update": "/tasks/"}[name]
				e.s.Inject(asanatest.Fault{Path: path, Garble: g})
				if err := call(); !errors.Is(err, adapters.ErrBadResponse) {
					t.Errorf("%s with a garbled answer (%s): %v, want ErrBadResponse", name, g, err)
				}
				e.s.ClearFaults()
			}
		})
	}
}

// TestScopes: a section or a tag narrows a scope; a task in two scope
// projects is listed once; a scope without a project is refused.
func TestScopes(t *testing.T) {
	e := newEnv(t, asanatest.Options{})
	s := e.s
	other := s.AddProject("Launch", "Backlog", "Shipped")
	tr := e.tracker(t, nil)
	done := s.SectionByName(e.project, "Done")
	tag := s.AddTag("backend")
	inDone := s.CreateTask(asanatest.Task{Name: "done one", Memberships: []asanatest.Membership{{Project: e.project, Section: done}}})
	tagged := s.CreateTask(asanatest.Task{Name: "tagged", Tags: []string{tag}, Memberships: []asanatest.Membership{{Project: e.project}}})
	both := s.CreateTask(asanatest.Task{Name: "in both", Memberships: []asanatest.Membership{{Project: e.project}, {Project: other}}})
	onlyOther := s.CreateTask(asanatest.Task{Name: "launch only", Memberships: []asanatest.Membership{{Project: other}}})
	for _, c := range []struct {
		scope string
		want  []string
	}{
		{e.project + " section:Done", []string{inDone.GID}},
		{e.project + " section:" + done, []string{inDone.GID}},
		{e.project + " tag:backend", []string{tagged.GID}},
		{e.project + " " + other, []string{inDone.GID, tagged.GID, both.GID, onlyOther.GID}},
		{other, []string{both.GID, onlyOther.GID}},
	} {
		var got []string
		for _, it := range listAll(t, tr, c.scope, "").Items {
			got = append(got, it.Ref.ID)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("scope %q listed %v, want %v", c.scope, got, c.want)
		}
	}
	// Incremental listings narrow the same way.
	cur := listAll(t, tr, e.project+" tag:backend", "").Cursor
	e.s.Advance(time.Minute)
	_ = s.EditTask(inDone.GID, func(x *asanatest.Task) { x.Name = "edited, not tagged" })
	_ = s.EditTask(tagged.GID, func(x *asanatest.Task) { x.Name = "edited, tagged" })
	if l := listAll(t, tr, e.project+" tag:backend", cur); len(l.Items) != 1 || l.Items[0].Ref.ID != tagged.GID {
		t.Errorf("incremental listing of tag:backend: %+v", l.Items)
	}
	for _, bad := range []string{"", "section:Done", "Roadmap"} {
		if _, err := tr.List(t.Context(), adapters.ListRequest{Scope: bad}); !errors.Is(err, adapters.ErrInvalid) || !adapters.IsPermanent(err) {
			t.Errorf("scope %q: %v, want a permanent ErrInvalid", bad, err)
		}
	}
}

// TestRichNotes: Markdown bodies become Asana rich text the fake accepts
// (its <body> root and tag set) and read back as the same Markdown.
func TestRichNotes(t *testing.T) {
	e := newEnv(t, asanatest.Options{})
	tr := e.tracker(t, nil)
	body := "Launch **checklist** for *v2*:\n\n- write the [docs](https://example.com/docs)\n- run `make release`\n\n> ask legal first\n\n```\ngo test ./...\n```"
	it := sample(0)
	it.Body = body
	res, err := tr.Create(t.Context(), it, adapters.CreateOptions{Scope: e.project, IdempotencyKey: "f/b/PLAT-9"})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := e.s.Task(res.Item.Ref.ID)
	for _, want := range []string{"<strong>checklist</strong>", "<em>v2</em>", `<a href="https://example.com/docs">docs</a>`, "<ul><li>", "<code>make release</code>", "<blockquote>", "<pre>"} {
		if !strings.Contains(stored.HTMLNotes, want) {
			t.Errorf("html_notes %q lacks %s", stored.HTMLNotes, want)
		}
	}
	got, err := tr.Get(t.Context(), res.Item.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got.Body) != body || got.SyncKey != "f/b/PLAT-9" {
		t.Errorf("read back:\n%q (key %q)\nwant:\n%q", got.Body, got.SyncKey, body)
	}
	c, err := tr.AddComment(t.Context(), res.Item.Ref, adapters.Comment{Body: "Looks **good**"}, "f/b/c1")
	if err != nil {
		t.Fatal(err)
	}
	if sts := e.s.Stories(res.Item.Ref.ID); len(sts) == 0 || !strings.Contains(sts[len(sts)-1].HTMLText, "<strong>good</strong>") {
		t.Errorf("comment html_text: %+v", sts)
	}
	if strings.TrimSpace(c.Body) != "Looks **good**" || c.SyncKey != "f/b/c1" {
		t.Errorf("comment read back %q key %q", c.Body, c.SyncKey)
	}
}

// TestExternalMarker: with an OAuth app's token (marker: external) the
// key is written to external.gid as well, so a task whose notes a person
// cleared is still found by a retried create.
func TestExternalMarker(t *testing.T) {
	e := newEnv(t, asanatest.Options{})
	tr := e.tracker(t, func(o *asana.Options) { o.External = true })
	res, err := tr.Create(t.Context(), sample(0), adapters.CreateOptions{IdempotencyKey: "f/b/PLAT-3", Scope: e.project})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.Task(res.Item.Ref.ID); got.ExternalGID != "tracksync:f/b/PLAT-3" {
		t.Errorf("external.gid = %q", got.ExternalGID)
	}
	if err := e.s.EditTask(res.Item.Ref.ID, func(x *asanatest.Task) { x.HTMLNotes = "<body>rewritten by a person</body>" }); err != nil {
		t.Fatal(err)
	}
	again, err := e.tracker(t, nil).Create(t.Context(), sample(0), adapters.CreateOptions{IdempotencyKey: "f/b/PLAT-3", Scope: e.project})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Existed || again.Item.Ref.ID != res.Item.Ref.ID {
		t.Errorf("retried create after the notes were cleared: Existed=%v ID %s, want %s", again.Existed, again.Item.Ref.ID, res.Item.Ref.ID)
	}
	if n := len(e.s.Tasks(e.project)); n != 1 {
		t.Errorf("%d tasks, want 1", n)
	}
}

// TestSafetyPollOfAnEmptyProject: the first poll of a project that was
// empty when listed asks modified_since from when it was listed (not from
// the year 0, which Asana refuses) and finds what arrived with lost events.
func TestSafetyPollOfAnEmptyProject(t *testing.T) {
	e := newEnv(t, asanatest.Options{})
	tr := e.tracker(t, func(o *asana.Options) { o.SafetyPoll = time.Minute })
	first := listAll(t, tr, e.project, "")
	e.s.Advance(time.Minute)
	tk := e.s.CreateTask(asanatest.Task{Name: "made while events were lost", Memberships: []asanatest.Membership{{Project: e.project}}})
	e.s.LoseEvents()
	e.s.Advance(time.Minute)
	e.s.ResetLog()
	got := listAll(t, tr, e.project, first.Cursor)
	if len(got.Items) != 1 || got.Items[0].Ref.ID != tk.GID {
		t.Errorf("poll of a project empty at its listing: %+v", got.Items)
	}
	for _, r := range e.s.Requests() {
		if strings.Contains(r.Query, "modified_since=0") {
			t.Errorf("asked %s?%s", r.Path, r.Query)
		}
	}
}
