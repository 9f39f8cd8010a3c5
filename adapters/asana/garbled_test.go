package asana_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
)

var garbles = []asanatest.Garble{asanatest.GarbleHTML, asanatest.GarbleCut, asanatest.GarbleEmpty, asanatest.GarbleEmptyObject}

// TestGarbledCreate: a create answered garbled, alone or in a /batch, is
// an error, never an item linked to an empty gid; the task it may have
// made is found by its key next time, not made twice.
func TestGarbledCreate(t *testing.T) {
	for _, g := range garbles {
		for _, bulk := range []bool{false, true} {
			t.Run(fmt.Sprint(g, "/bulk=", bulk), func(t *testing.T) {
				e := newEnv(t, asanatest.Options{})
				tr := e.tracker(t, nil)
				if _, err := tr.List(t.Context(), adapters.ListRequest{Scope: e.project}); err != nil {
					t.Fatal(err)
				}
				create := func() (adapters.CreateResult, error) {
					opts := adapters.CreateOptions{Scope: e.project, IdempotencyKey: "f/a/PLAT-1"}
					if !bulk {
						return tr.Create(t.Context(), sample(0), opts)
					}
					res, err := tr.CreateMany(t.Context(), []adapters.CreateRequest{{Item: sample(0), Options: opts}})
					if err != nil {
						return adapters.CreateResult{}, err
					}
					return res[0], nil
				}
				path := "/tasks"
				if bulk {
					path = "/batch"
				}
				e.s.Inject(asanatest.Fault{Method: http.MethodPost, Path: path, Garble: g})
				res, err := create()
				if err == nil {
					t.Fatalf("create answered %s: linked to %q and no error", g, res.Item.Ref.ID)
				}
				adaptertest.WantBadResponse(t, "the create", err, asanatest.DefaultToken)
				res, err = create()
				if err != nil {
					t.Fatalf("creating again: %v", err)
				}
				if all := e.s.Tasks(e.project); len(all) != 1 || res.Item.Ref.ID != all[0].GID {
					t.Fatalf("created %q; the fake holds %d tasks", res.Item.Ref.ID, len(all))
				}
			})
		}
	}
}

// TestGarbledOtherCalls: comments, events, sections, custom fields, tags
// and webhooks answered garbled are errors naming the status.
func TestGarbledOtherCalls(t *testing.T) {
	for _, g := range garbles {
		t.Run(g.String(), func(t *testing.T) {
			e := newEnv(t, asanatest.Options{})
			tr := e.tracker(t, nil)
			res, err := tr.Create(t.Context(), sample(0), adapters.CreateOptions{Scope: e.project})
			if err != nil {
				t.Fatal(err)
			}
			first, err := tr.List(t.Context(), adapters.ListRequest{Scope: e.project})
			if err != nil {
				t.Fatal(err)
			}
			task := "/tasks/" + res.Item.Ref.ID
			for _, c := range []struct {
				name, method, path string
				call               func(tr *asana.Tracker) error
			}{
				{"Comments", "GET", task + "/stories", func(tr *asana.Tracker) error { _, err := tr.Comments(t.Context(), res.Item.Ref); return err }},
				{"AddComment", "POST", task + "/stories", func(tr *asana.Tracker) error {
					_, err := tr.AddComment(t.Context(), res.Item.Ref, adapters.Comment{Body: "hi"}, "")
					return err
				}},
				{"events", "GET", "/events", func(tr *asana.Tracker) error {
					_, err := tr.List(t.Context(), adapters.ListRequest{Scope: e.project, Cursor: first.Cursor})
					return err
				}},
				{"sections", "GET", "/projects/" + e.project + "/sections", func(*asana.Tracker) error {
					_, err := e.tracker(t, nil).Create(t.Context(), sample(1), adapters.CreateOptions{Scope: e.project})
					return err
				}},
				{"custom fields", "GET", "/workspaces/" + e.s.Workspace() + "/custom_fields", func(*asana.Tracker) error {
					_, err := e.tracker(t, nil).Create(t.Context(), sample(1), adapters.CreateOptions{Scope: e.project})
					return err
				}},
				{"new tag", "POST", "/workspaces/" + e.s.Workspace() + "/tags", func(tr *asana.Tracker) error {
					it := sample(0)
					it.Labels = append(it.Labels, "brand-new")
					_, err := tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldLabels}, Item: it})
					return err
				}},
				{"webhooks list", "GET", "/webhooks", func(tr *asana.Tracker) error { return tr.EnsureWebhooks(t.Context(), "https://x.example/hook") }},
			} {
				e.s.Inject(asanatest.Fault{Method: c.method, Path: c.path, Garble: g})
				err := c.call(tr)
				e.s.ClearFaults()
				if err == nil {
					t.Errorf("%s answered %s: no error", c.name, g)
					continue
				}
				if !strings.Contains(err.Error(), "HTTP 200") {
					t.Errorf("%s: %v", c.name, err)
				}
			}
		})
	}
}

// dataRewriter answers body (2xx) to the first request that matches.
type dataRewriter struct {
	next         http.RoundTripper
	method, path string
	body         string
}

func (d *dataRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.next.RoundTrip(r)
	if err != nil || r.Method != d.method || !strings.Contains(r.URL.Path, d.path) {
		return resp, err
	}
	d.method = "" // once
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader([]byte(d.body)))
	resp.ContentLength = int64(len(d.body))
	resp.Header.Del("Content-Length")
	if resp.StatusCode >= 300 { // a webhook without a receiver
		resp.StatusCode = http.StatusCreated
	}
	return resp, nil
}

// TestRecordWithoutGID: a write or read answered 200 {"data": {}} (the
// key is there, the record is not) is a retryable ErrBadResponse naming
// the status and the body, never a task, comment or tag of gid "": the
// create is not linked to an empty id, the tag not cached as "".
func TestRecordWithoutGID(t *testing.T) {
	for _, c := range []struct{ name, method, path string }{
		{"create", "POST", "/tasks"},
		{"get", "GET", "/tasks/"},
		{"update", "PUT", "/tasks/"},
		{"comment", "POST", "/stories"},
		{"tag", "POST", "/tags"},
		{"webhook", "POST", "/webhooks"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, asanatest.Options{})
			rw := &dataRewriter{next: e.s.Client().Transport}
			tr := e.tracker(t, func(o *asana.Options) { o.Transport = rw })
			res, err := tr.Create(t.Context(), sample(0), adapters.CreateOptions{Scope: e.project})
			if err != nil {
				t.Fatal(err)
			}
			rw.method, rw.path, rw.body = c.method, c.path, `{"data":{}}`
			tagged := sample(0)
			tagged.Labels = append(tagged.Labels, "brand-new")
			var id string
			do := func() error {
				switch c.name {
				case "create":
					it := sample(1)
					it.Status = "" // no move to a section after the create
					r, err := tr.Create(t.Context(), it, adapters.CreateOptions{Scope: e.project, IdempotencyKey: "f/a/PLAT-2"})
					id = r.Item.Ref.ID
					return err
				case "get":
					it, err := tr.Get(t.Context(), res.Item.Ref)
					id = it.Ref.ID
					return err
				case "update":
					it, err := tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: adapters.Item{Title: "renamed"}})
					id = it.Ref.ID
					return err
				case "comment":
					cm, err := tr.AddComment(t.Context(), res.Item.Ref, adapters.Comment{Body: "x"}, "f/a/c1")
					id = cm.ID
					return err
				case "tag":
					it, err := tr.Update(t.Context(), res.Item.Ref, adapters.Patch{Fields: []string{adapters.FieldLabels}, Item: tagged})
					id = strings.Join(it.Labels, ",")
					return err
				case "webhook":
					return tr.EnsureWebhooks(t.Context(), "https://hooks.example/asana")
				}
				return nil
			}
			err = do()
			if err == nil {
				t.Fatalf("%s answered {\"data\":{}}: no error (got %q)", c.name, id)
			}
			if !errors.Is(err, adapters.ErrBadResponse) || adapters.IsPermanent(err) {
				t.Errorf("%s: %v, want a retryable ErrBadResponse", c.name, err)
			}
			if msg := err.Error(); !strings.Contains(msg, "HTTP 20") || !strings.Contains(msg, `{"data":{}}`) {
				t.Errorf("%v does not name the status and show the body", err)
			}
			if c.name == "webhook" {
				return
			}
			if err := do(); err != nil || id == "" {
				t.Fatalf("%s again: %q, %v", c.name, id, err)
			}
			switch c.name {
			case "create":
				if n := len(e.s.Tasks(e.project)); n != 2 {
					t.Errorf("%d tasks after the retried create, want 2", n)
				}
			case "comment":
				var comments int
				for _, st := range e.s.Stories(res.Item.Ref.ID) {
					if st.Subtype == "comment_added" {
						comments++
					}
				}
				if comments != 1 {
					t.Errorf("%d comments after the retried comment, want 1", comments)
				}
			case "tag":
				if !strings.Contains(id, "brand-new") {
					t.Errorf("labels after the retried tag: %s", id)
				}
			}
		})
	}
}

// TestBatchResultWithoutTask: a /batch whose action answered 2xx without
// a task (a create's, a read-back's) is an ErrBadResponse naming the
// action, its status and the first bytes of its body.
func TestBatchResultWithoutTask(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"create", `{"data":[{"status_code":201,"body":{}}]}`, "HTTP 201"},
		{"create, empty data", `{"data":[{"status_code":201,"body":{"data":{}}}]}`, "HTTP 201"},
		{"read-back", `{"data":[{"status_code":200,"body":{"data":{}}},{"status_code":200,"body":{"data":{}}}]}`, "HTTP 200"},
		{"no results", `{"data":[]}`, "HTTP 200"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, asanatest.Options{})
			rw := &dataRewriter{next: e.s.Client().Transport}
			tr := e.tracker(t, func(o *asana.Options) { o.Transport = rw })
			var a, b adapters.CreateResult
			var err error
			if a, err = tr.Create(t.Context(), sample(0), adapters.CreateOptions{Scope: e.project}); err != nil {
				t.Fatal(err)
			}
			if b, err = tr.Create(t.Context(), sample(1), adapters.CreateOptions{Scope: e.project}); err != nil {
				t.Fatal(err)
			}
			first, err := tr.List(t.Context(), adapters.ListRequest{Scope: e.project})
			if err != nil {
				t.Fatal(err)
			}
			rw.method, rw.path, rw.body = "POST", "/batch", c.body
			if c.name == "read-back" {
				for _, g := range []string{a.Item.Ref.ID, b.Item.Ref.ID} {
					if err := e.s.EditTask(g, func(x *asanatest.Task) { x.Name += " edited" }); err != nil {
						t.Fatal(err)
					}
				}
				_, err = tr.List(t.Context(), adapters.ListRequest{Scope: e.project, Cursor: first.Cursor})
			} else {
				_, err = tr.CreateMany(t.Context(), []adapters.CreateRequest{{Item: sample(2), Options: adapters.CreateOptions{Scope: e.project, IdempotencyKey: "f/a/PLAT-3"}}})
			}
			if err == nil {
				t.Fatalf("/batch answered %s: no error", c.body)
			}
			if !errors.Is(err, adapters.ErrBadResponse) || adapters.IsPermanent(err) {
				t.Errorf("%v, want a retryable ErrBadResponse", err)
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || !strings.Contains(msg, "body") || strings.Contains(msg, "<nil>") {
				t.Errorf("%q does not name the status (%s) and show the body", msg, c.want)
			}
			if c.name == "read-back" {
				return
			}
			// The task the unreadable answer may have made is found by
			// its key, not made twice.
			res, err := tr.CreateMany(t.Context(), []adapters.CreateRequest{{Item: sample(2), Options: adapters.CreateOptions{Scope: e.project, IdempotencyKey: "f/a/PLAT-3"}}})
			if err != nil {
				t.Fatalf("creating again: %v", err)
			}
			if n := len(e.s.Tasks(e.project)); n != 3 || res[0].Item.Ref.ID == "" {
				t.Errorf("%d tasks after the retried create (linked to %q), want 3", n, res[0].Item.Ref.ID)
			}
		})
	}
}

// refuseSecond gives the second action of the next /batch an assignee
// Asana does not know, which it refuses; the actions after it are carried
// out all the same.
type refuseSecond struct {
	next http.RoundTripper
	on   bool
}

func (d *refuseSecond) RoundTrip(r *http.Request) (*http.Response, error) {
	if !d.on || r.URL.Path != "/api/1.0/batch" {
		return d.next.RoundTrip(r)
	}
	d.on = false
	var in struct {
		Data struct {
			Actions []map[string]any `json:"actions"`
		} `json:"data"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &in); err != nil || len(in.Data.Actions) < 2 {
		return nil, fmt.Errorf("refuseSecond: %s", b)
	}
	in.Data.Actions[1]["data"].(map[string]any)["assignee"] = "404404404"
	b, _ = json.Marshal(in)
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	return d.next.RoundTrip(r)
}

// TestBulkCreateRefusedMidBatch: one create of a /batch refused; the
// creates after it in the same batch were made. Retried, they are found
// by their keys, not made twice.
func TestBulkCreateRefusedMidBatch(t *testing.T) {
	e := newEnv(t, asanatest.Options{})
	rw := &refuseSecond{next: e.s.Client().Transport}
	tr := e.tracker(t, func(o *asana.Options) { o.Transport = rw })
	if _, err := tr.List(t.Context(), adapters.ListRequest{Scope: e.project}); err != nil {
		t.Fatal(err)
	}
	var reqs []adapters.CreateRequest
	for i := range 3 {
		reqs = append(reqs, adapters.CreateRequest{Item: sample(i), Options: adapters.CreateOptions{Scope: e.project, IdempotencyKey: fmt.Sprint("f/a/PLAT-", i)}})
	}
	rw.on = true
	_, err := tr.CreateMany(t.Context(), reqs)
	if err == nil {
		t.Fatal("a batch with a refused create: no error")
	}
	if msg := err.Error(); !strings.Contains(msg, "HTTP 400") || !strings.Contains(msg, sample(1).Title) {
		t.Errorf("%q does not name the task and the status", msg)
	}
	res, err := tr.CreateMany(t.Context(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.s.Tasks(e.project)); n != 3 {
		t.Errorf("%d tasks after the retry, want 3", n)
	}
	if !res[0].Existed || res[1].Existed || !res[2].Existed {
		t.Errorf("Existed: %v %v %v, want the first and last found, the refused one made", res[0].Existed, res[1].Existed, res[2].Existed)
	}
}
