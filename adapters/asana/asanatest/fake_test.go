package asanatest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// call sends one authenticated request and returns status, decoded body
// and headers.
func call(t *testing.T, s *Server, method, path string, data any) (int, map[string]any, http.Header) {
	t.Helper()
	var r io.Reader
	if data != nil {
		b, _ := json.Marshal(map[string]any{"data": data})
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, s.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+DefaultToken)
	if data != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %q", method, path, b)
	}
	return resp.StatusCode, out, resp.Header
}

func mustCall(t *testing.T, s *Server, want int, method, path string, data any) map[string]any {
	t.Helper()
	st, out, _ := call(t, s, method, path, data)
	if st != want {
		t.Fatalf("%s %s: HTTP %d, want %d: %v", method, path, st, want, out)
	}
	return out
}

func dataOf(m map[string]any) map[string]any { d, _ := m["data"].(map[string]any); return d }

func errMsg(m map[string]any) string {
	l, _ := m["errors"].([]any)
	if len(l) == 0 {
		return ""
	}
	e, _ := l[0].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// world is a project with sections, custom fields of every type and a
// second user.
type world struct {
	s                                           *Server
	project, todo, doing, done                  string
	status, size, notes, due, labels, reviewers CustomField
	sam                                         string
}

func newWorld(t *testing.T, opts Options) world {
	s := New(t, opts)
	w := world{s: s}
	w.project = s.AddProject("Roadmap", "To do", "Doing", "Done")
	w.todo, w.doing, w.done = s.SectionByName(w.project, "To do"), s.SectionByName(w.project, "Doing"), s.SectionByName(w.project, "Done")
	w.status = s.AddCustomField(CustomField{Name: "Status", Type: TypeEnum, Options: []EnumOption{{Name: "Open"}, {Name: "At risk"}}}, w.project)
	w.size = s.AddCustomField(CustomField{Name: "Size", Type: TypeNumber, Precision: 1}, w.project)
	w.notes = s.AddCustomField(CustomField{Name: "Team", Type: TypeText}, w.project)
	w.due = s.AddCustomField(CustomField{Name: "Launch", Type: TypeDate}, w.project)
	w.labels = s.AddCustomField(CustomField{Name: "Areas", Type: TypeMultiEnum, Options: []EnumOption{{Name: "API"}, {Name: "UI"}}}, w.project)
	w.reviewers = s.AddCustomField(CustomField{Name: "Reviewers", Type: TypePeople}, w.project)
	w.sam = s.AddUser("Sam Engineer", "sam@example.com")
	return w
}

func TestTaskLifecycle(t *testing.T) {
	w := newWorld(t, Options{})
	s := w.s
	tag := dataOf(mustCall(t, s, 201, "POST", "/tags", map[string]any{"name": "backend", "workspace": s.Workspace()}))["gid"].(string)
	created := dataOf(mustCall(t, s, 201, "POST", "/tasks?opt_fields=name,html_notes,memberships.section.name,custom_fields.display_value,custom_fields.name,assignee.name,tags.name", map[string]any{
		"name": "Launch", "html_notes": "<body>Ship <strong>it</strong></body>", "projects": []string{w.project},
		"assignee": "sam@example.com", "due_on": "2026-12-01", "tags": []string{tag},
		"custom_fields": map[string]any{
			w.status.GID: w.status.Options[1].GID, w.size.GID: 3.5, w.notes.GID: "core", w.due.GID: map[string]any{"date": "2027-01-02"},
			w.labels.GID: []string{w.labels.Options[0].GID, w.labels.Options[1].GID}, w.reviewers.GID: []string{s.Me()},
		},
	}))
	gid := created["gid"].(string)
	if got := created["memberships"].([]any)[0].(map[string]any)["section"].(map[string]any)["name"]; got != "To do" {
		t.Errorf("new task in section %v, want the first one", got)
	}
	if _, has := created["notes"]; has {
		t.Errorf("opt_fields did not ask for notes, but it came: %v", created)
	}
	var display []string
	for _, cf := range created["custom_fields"].([]any) {
		m := cf.(map[string]any)
		display = append(display, m["name"].(string)+"="+strings.TrimSpace(toString(m["display_value"])))
	}
	want := []string{"Status=At risk", "Size=3.5", "Team=core", "Launch=2027-01-02", "Areas=API, UI", "Reviewers=Pat PM"}
	if diff := cmp.Diff(want, display); diff != "" {
		t.Errorf("custom field display values (-want +got):\n%s", diff)
	}
	if got := created["assignee"].(map[string]any)["name"]; got != "Sam Engineer" {
		t.Errorf("assignee by email: %v", got)
	}

	s.Advance(time.Minute)
	mustCall(t, s, 200, "POST", "/sections/"+w.done+"/addTask", map[string]any{"task": gid})
	upd := dataOf(mustCall(t, s, 200, "PUT", "/tasks/"+gid+"?opt_fields=completed,modified_at,due_on", map[string]any{"completed": true, "due_on": nil}))
	if upd["completed"] != true || upd["due_on"] != nil {
		t.Errorf("after PUT: %v", upd)
	}
	if upd["modified_at"] == created["modified_at"] {
		t.Errorf("modified_at did not move")
	}
	stories := mustCall(t, s, 200, "GET", "/tasks/"+gid+"/stories?opt_fields=resource_subtype,type", nil)["data"].([]any)
	var subtypes []string
	for _, st := range stories {
		subtypes = append(subtypes, st.(map[string]any)["resource_subtype"].(string))
	}
	if diff := cmp.Diff([]string{"section_changed", "marked_complete"}, subtypes); diff != "" {
		t.Errorf("system stories (-want +got):\n%s", diff)
	}

	// Asana's rules.
	for _, c := range []struct {
		name, method, path string
		data               any
		status             int
		msg                string
	}{
		{"bad rich text", "PUT", "/tasks/" + gid, map[string]any{"html_notes": "<body><div>x</div></body>"}, 400, "not allowed"},
		{"no body root", "PUT", "/tasks/" + gid, map[string]any{"html_notes": "plain"}, 400, "<body>"},
		{"field not on project", "POST", "/tasks", map[string]any{"name": "x", "workspace": s.Workspace(), "custom_fields": map[string]any{w.notes.GID: "y"}}, 400, "not on given object"},
		{"bad enum option", "PUT", "/tasks/" + gid, map[string]any{"custom_fields": map[string]any{w.status.GID: "123"}}, 400, "not an option"},
		{"tags via PUT", "PUT", "/tasks/" + gid, map[string]any{"tags": []string{tag}}, 400, "Cannot write"},
		{"unknown task", "GET", "/tasks/42", nil, 404, "Unknown object"},
		{"no data", "PUT", "/tasks/" + gid, nil, 400, "Missing input"},
		{"bad limit", "GET", "/projects/" + w.project + "/tasks?limit=101", nil, 400, "between 1 and 100"},
		{"modified_since on a project listing", "GET", "/projects/" + w.project + "/tasks?modified_since=2026-01-01T00:00:00Z", nil, 400, "Unknown parameter"},
	} {
		st, out, _ := call(t, s, c.method, c.path, c.data)
		if st != c.status || !strings.Contains(errMsg(out), c.msg) {
			t.Errorf("%s: HTTP %d %q, want %d with %q", c.name, st, errMsg(out), c.status, c.msg)
		}
	}
	mustCall(t, s, 200, "DELETE", "/tasks/"+gid, nil)
	if st, _, _ := call(t, s, "GET", "/tasks/"+gid, nil); st != 404 {
		t.Errorf("GET after DELETE: HTTP %d", st)
	}
}

func toString(v any) string {
	if v == nil {
		return ""
	}
	return v.(string)
}

func TestPaginationAndModifiedSince(t *testing.T) {
	w := newWorld(t, Options{})
	s := w.s
	for i := range 5 {
		s.CreateTask(Task{Name: "t" + string(rune('0'+i)), Memberships: []Membership{{Project: w.project}}})
	}
	mid := s.Now()
	s.Advance(time.Minute)
	late := s.CreateTask(Task{Name: "late", Memberships: []Membership{{Project: w.project}}})
	var names []string
	path := "/projects/" + w.project + "/tasks?limit=2"
	for pages := 0; path != ""; pages++ {
		out := mustCall(t, s, 200, "GET", path, nil)
		for _, d := range out["data"].([]any) {
			names = append(names, d.(map[string]any)["name"].(string))
		}
		path = ""
		if np, ok := out["next_page"].(map[string]any); ok {
			path = "/projects/" + w.project + "/tasks?limit=2&offset=" + np["offset"].(string)
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if diff := cmp.Diff([]string{"t0", "t1", "t2", "t3", "t4", "late"}, names); diff != "" {
		t.Errorf("paged names (-want +got):\n%s", diff)
	}
	out := mustCall(t, s, 200, "GET", "/tasks?project="+w.project+"&modified_since="+mid.Add(time.Second).Format(time.RFC3339), nil)
	if l := out["data"].([]any); len(l) != 1 || l[0].(map[string]any)["gid"] != late.GID {
		t.Errorf("modified_since: %v", l)
	}
	if st, out, _ := call(t, s, "GET", "/projects/"+w.project+"/tasks?limit=2&offset=bogus", nil); st != 400 {
		t.Errorf("bad offset: HTTP %d %v", st, out)
	}
}

func TestEventsSyncTokens(t *testing.T) {
	w := newWorld(t, Options{SyncTTL: time.Hour})
	s := w.s
	st, out, _ := call(t, s, "GET", "/events?resource="+w.project, nil)
	tok, _ := out["sync"].(string)
	if st != http.StatusPreconditionFailed || tok == "" || errMsg(out) == "" {
		t.Fatalf("first call: HTTP %d %v, want 412 with a sync token and an error", st, out)
	}
	a := s.CreateTask(Task{Name: "a", Memberships: []Membership{{Project: w.project}}})
	if err := s.EditTask(a.GID, func(t *Task) { t.Name = "a2" }); err != nil {
		t.Fatal(err)
	}
	out = mustCall(t, s, 200, "GET", "/events?resource="+w.project+"&sync="+tok, nil)
	var got []string
	for _, e := range out["data"].([]any) {
		m := e.(map[string]any)
		got = append(got, m["action"].(string)+" "+m["resource"].(map[string]any)["gid"].(string))
	}
	if diff := cmp.Diff([]string{"added " + a.GID, "changed " + a.GID}, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	next := out["sync"].(string)
	if out := mustCall(t, s, 200, "GET", "/events?resource="+w.project+"&sync="+next, nil); len(out["data"].([]any)) != 0 {
		t.Errorf("events after the last token: %v", out["data"])
	}
	// Over 100 events: has_more, and the rest on the next call.
	for i := range 120 {
		_ = s.EditTask(a.GID, func(t *Task) { t.Name = "n" + string(rune('a'+i%26)) + string(rune('a'+i/26)) })
	}
	out = mustCall(t, s, 200, "GET", "/events?resource="+w.project+"&sync="+next, nil)
	if len(out["data"].([]any)) != 100 || out["has_more"] != true {
		t.Fatalf("120 events: got %d, has_more %v", len(out["data"].([]any)), out["has_more"])
	}
	out = mustCall(t, s, 200, "GET", "/events?resource="+w.project+"&sync="+out["sync"].(string), nil)
	if len(out["data"].([]any)) != 20 || out["has_more"] != false {
		t.Fatalf("the rest: got %d, has_more %v", len(out["data"].([]any)), out["has_more"])
	}
	s.Advance(2 * time.Hour)
	st, out, _ = call(t, s, "GET", "/events?resource="+w.project+"&sync="+out["sync"].(string), nil)
	if st != http.StatusPreconditionFailed || out["sync"] == "" {
		t.Errorf("expired token: HTTP %d %v, want 412 with a fresh token", st, out)
	}
}

func TestRateLimitAndFaults(t *testing.T) {
	w := newWorld(t, Options{RequestsPerMinute: 3})
	s := w.s
	for range 3 {
		mustCall(t, s, 200, "GET", "/projects/"+w.project, nil)
	}
	st, out, h := call(t, s, "GET", "/projects/"+w.project, nil)
	if st != 429 || h.Get("Retry-After") != "60" || errMsg(out) == "" {
		t.Errorf("over the limit: HTTP %d Retry-After %q %v", st, h.Get("Retry-After"), out)
	}
	s.Advance(time.Minute)
	mustCall(t, s, 200, "GET", "/projects/"+w.project, nil)

	s.Inject(Fault{Method: "POST", Path: "/tasks", Status: 500, AfterApply: true})
	s.Advance(time.Minute)
	if st, _, _ := call(t, s, "POST", "/tasks", map[string]any{"name": "lost answer", "projects": []string{w.project}}); st != 500 {
		t.Errorf("fault: HTTP %d", st)
	}
	if l := s.Tasks(w.project); len(l) != 1 || l[0].Name != "lost answer" {
		t.Errorf("an AfterApply fault still applies the request: %v", l)
	}
	if c := s.Count(); c.RateLimited != 1 || c.ByRoute["GET /projects/{gid}"] != 5 {
		t.Errorf("counts: %+v", c)
	}
	req, _ := http.NewRequest("GET", s.URL+"/users/me", nil)
	resp, _ := s.Client().Do(req)
	if resp.StatusCode != 401 {
		t.Errorf("no token: HTTP %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestBatch(t *testing.T) {
	w := newWorld(t, Options{})
	s := w.s
	a := s.CreateTask(Task{Name: "a", Memberships: []Membership{{Project: w.project}}})
	out := mustCall(t, s, 200, "POST", "/batch", map[string]any{"actions": []any{
		map[string]any{"relative_path": "/tasks/" + a.GID, "method": "get", "options": map[string]any{"fields": []string{"name"}}},
		map[string]any{"relative_path": "/sections/" + w.doing + "/addTask", "method": "post", "data": map[string]any{"task": a.GID}},
		map[string]any{"relative_path": "/tasks/404", "method": "get"},
	}})
	var codes []float64
	for _, r := range out["data"].([]any) {
		codes = append(codes, r.(map[string]any)["status_code"].(float64))
	}
	if diff := cmp.Diff([]float64{200, 200, 404}, codes); diff != "" {
		t.Errorf("batch status codes (-want +got):\n%s", diff)
	}
	if got, _ := s.Task(a.GID); got.Memberships[0].Section != w.doing {
		t.Errorf("batch addTask not applied: %v", got.Memberships)
	}
	many := make([]any, 11)
	for i := range many {
		many[i] = map[string]any{"relative_path": "/tasks/" + a.GID, "method": "get"}
	}
	if st, _, _ := call(t, s, "POST", "/batch", map[string]any{"actions": many}); st != 400 {
		t.Errorf("11 actions: HTTP %d, want 400", st)
	}
}

func TestWebhookHandshakeAndSignedDeliveries(t *testing.T) {
	w := newWorld(t, Options{})
	s := w.s
	var secret string
	var got [][]byte
	recv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if sec := r.Header.Get("X-Hook-Secret"); sec != "" {
			secret = sec
			rw.Header().Set("X-Hook-Secret", sec)
			rw.WriteHeader(200)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if Sign(secret, b) != r.Header.Get("X-Hook-Signature") {
			rw.WriteHeader(401)
			return
		}
		got = append(got, b)
	}))
	defer recv.Close()
	h := dataOf(mustCall(t, s, 201, "POST", "/webhooks", map[string]any{"resource": w.project, "target": recv.URL}))
	if secret == "" || h["active"] != true {
		t.Fatalf("handshake: secret %q, webhook %v", secret, h)
	}
	if sec, _ := s.WebhookSecret(h["gid"].(string)); sec != secret {
		t.Errorf("the fake keeps secret %q, the handshake sent %q", sec, secret)
	}
	s.CreateTask(Task{Name: "hooked", Memberships: []Membership{{Project: w.project}}})
	ds := s.Deliver(t.Context())
	if len(ds) != 1 || ds[0].Status != 200 || ds[0].Events != 1 || len(got) != 1 {
		t.Fatalf("deliveries %+v, received %d", ds, len(got))
	}
	if hb := s.Heartbeat(t.Context()); len(hb) != 1 || hb[0].Status != 200 || !strings.Contains(string(hb[0].Body), `"events":[]`) {
		t.Errorf("heartbeat: %+v", hb)
	}
	// Every kind of change the fake reports: an edit, a completion, a
	// comment, a subtask, a deletion; each event fits Asana's EventResponse.
	task := s.CreateTask(Task{Name: "kinds", Memberships: []Membership{{Project: w.project}}})
	if err := s.EditTask(task.GID, func(t *Task) { t.Name, t.Completed = "kinds, renamed", true }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddComment(task.GID, s.Me(), "<body>a comment</body>"); err != nil {
		t.Fatal(err)
	}
	s.CreateTask(Task{Name: "sub", Parent: task.GID})
	if err := s.DeleteTask(task.GID); err != nil {
		t.Fatal(err)
	}
	s.Deliver(t.Context())
	if n := checkDeliveredEvents(t, s.Deliveries()); n < 5 {
		t.Errorf("%d events checked against the contract, want at least 5", n)
	}
	// The check fails an event that does not fit.
	rec := &errRecorder{TB: t}
	checkDeliveredEvents(rec, []Delivery{{Body: []byte(`{"events":[{"action":42,"resource":"task"}]}`)}})
	if len(rec.errs) == 0 {
		t.Error("an event with a number for its action passed the contract check")
	}
	// A target that does not echo the secret gets no webhook.
	bad := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {}))
	defer bad.Close()
	if st, out, _ := call(t, s, "POST", "/webhooks", map[string]any{"resource": w.project, "target": bad.URL}); st != 400 {
		t.Errorf("no handshake echo: HTTP %d %v", st, out)
	}
}

// TestContract drives the endpoints the fake serves, errors included, and
// checks requests and answers against Asana's OpenAPI description.
func TestContract(t *testing.T) {
	w := newWorld(t, Options{RequestsPerMinute: 1000})
	s := w.s
	contractRouter(t)
	tag := dataOf(mustCall(t, s, 201, "POST", "/workspaces/"+s.Workspace()+"/tags", map[string]any{"name": "backend"}))["gid"].(string)
	fields := "?opt_fields=name,html_notes,completed,assignee,assignee.name,due_on,tags,tags.name,memberships.project,memberships.section,memberships.section.name,parent,custom_fields,custom_fields.name,custom_fields.enum_value,custom_fields.enum_value.name,custom_fields.multi_enum_values.name,custom_fields.number_value,custom_fields.text_value,custom_fields.date_value,custom_fields.people_value,custom_fields.display_value,modified_at,created_at,permalink_url"
	a := dataOf(mustCall(t, s, 201, "POST", "/tasks"+fields, map[string]any{"name": "a", "html_notes": "<body>x</body>", "projects": []string{w.project},
		"tags": []string{tag}, "custom_fields": map[string]any{w.status.GID: w.status.Options[0].GID, w.due.GID: map[string]any{"date": "2027-01-01"}}}))["gid"].(string)
	b := dataOf(mustCall(t, s, 201, "POST", "/tasks", map[string]any{"name": "b", "parent": a, "projects": []string{w.project}}))["gid"].(string)
	mustCall(t, s, 200, "GET", "/tasks/"+a+fields, nil)
	mustCall(t, s, 200, "PUT", "/tasks/"+a+fields, map[string]any{"name": "a2", "assignee": s.Me(), "due_on": "2026-12-24"})
	mustCall(t, s, 200, "POST", "/tasks/"+b+"/setParent", map[string]any{"parent": nil})
	mustCall(t, s, 200, "POST", "/tasks/"+a+"/removeTag", map[string]any{"tag": tag})
	mustCall(t, s, 200, "POST", "/tasks/"+a+"/addTag", map[string]any{"tag": tag})
	mustCall(t, s, 200, "POST", "/sections/"+w.doing+"/addTask", map[string]any{"task": a})
	for _, p := range []string{"/projects/" + w.project + "/tasks?limit=1", "/tasks?project=" + w.project + "&modified_since=2026-01-01T00:00:00Z" + strings.Replace(fields, "?", "&", 1),
		"/sections/" + w.doing + "/tasks", "/tags/" + tag + "/tasks", "/tasks/" + a + "/subtasks", "/projects/" + w.project,
		"/projects/" + w.project + "/sections", "/projects/" + w.project + "/custom_field_settings?opt_fields=custom_field.name,custom_field.resource_subtype,custom_field.enum_options.name",
		"/workspaces/" + s.Workspace() + "/custom_fields", "/workspaces/" + s.Workspace() + "/users?opt_fields=email,name", "/users/me", "/workspaces/" + s.Workspace() + "/tags",
		"/webhooks?workspace=" + s.Workspace()} {
		mustCall(t, s, 200, "GET", p, nil)
	}
	c := dataOf(mustCall(t, s, 201, "POST", "/tasks/"+a+"/stories?opt_fields=html_text,created_at,created_by.name,resource_subtype", map[string]any{"html_text": "<body>hi</body>"}))["gid"].(string)
	mustCall(t, s, 200, "PUT", "/stories/"+c, map[string]any{"html_text": "<body>hi again</body>"})
	mustCall(t, s, 200, "GET", "/tasks/"+a+"/stories?limit=10", nil)
	_, out, _ := call(t, s, "GET", "/events?resource="+w.project, nil)
	mustCall(t, s, 200, "GET", "/events?resource="+w.project+"&sync="+out["sync"].(string), nil)
	mustCall(t, s, 200, "POST", "/batch", map[string]any{"actions": []any{map[string]any{"relative_path": "/tasks/" + a, "method": "get"}}})
	call(t, s, "GET", "/tasks/42", nil)
	call(t, s, "PUT", "/tasks/"+a, map[string]any{"html_notes": "plain"})
	mustCall(t, s, 200, "DELETE", "/tasks/"+b, nil)

	checked := CheckContract(t, s.Requests())
	t.Logf("checked %d operations: %v", len(checked), CheckedOps(checked))
	if len(checked) < 20 {
		t.Errorf("only %d operations checked: %v", len(checked), CheckedOps(checked))
	}
}

// errRecorder keeps the errors a check reports instead of failing the test.
type errRecorder struct {
	testing.TB
	errs []string
}

func (r *errRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
