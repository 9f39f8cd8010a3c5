package asanatest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters/internal/faults"
	"github.com/tracksync/tracksync/mapping/markup"
)

const apiPrefix = "/api/1.0"

// serve is the outer handler: authentication, rate limits, faults and the
// log; the routes see paths without /api/1.0.
func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	path, ok := strings.CutPrefix(req.URL.Path, apiPrefix)
	s.mu.Lock()
	now := s.now
	entry := Request{Method: req.Method, Path: path, Query: req.URL.RawQuery, ContentType: req.Header.Get("Content-Type"), Body: body, At: now}
	var (
		status int
		out    []byte
		hdr    = http.Header{}
		fault  *Fault
	)
	write := req.Method != http.MethodGet && req.Method != http.MethodHead
	switch {
	case !ok:
		status, out = http.StatusNotFound, errorBody("Not a recognized route: "+req.URL.Path)
	case !s.authorized(req):
		status, out = http.StatusUnauthorized, errorBody("Not Authorized")
	default:
		if wait, limited := s.rateLimited(now, path, body); limited {
			status, out = http.StatusTooManyRequests, errorBody("You have made too many requests recently. Please, be chill.")
			hdr.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			s.rejected++
			break
		}
		if write && s.opts.ConcurrentWrites > 0 && s.writes >= s.opts.ConcurrentWrites {
			status, out = http.StatusTooManyRequests, errorBody("You have too many concurrent write requests. Please, be chill.")
			hdr.Set("Retry-After", "1")
			s.rejected++
			break
		}
		fault = s.takeFault(req.Method, path)
		if fault == nil {
			fault = s.chaosFault()
		}
		if fault != nil && fault.Garble != faults.None && !fault.Garble.NeedsAnswer() {
			s.injected++
			var ct string
			out, ct = fault.Garble.Body(nil)
			status = http.StatusOK
			hdr.Set("Content-Type", ct)
			fault = nil
		} else if fault != nil && fault.Garble != faults.None {
			// Cut needs the real answer: applied, then cut below.
			f := *fault
			f.AfterApply = true
			fault = &f
		}
		if fault != nil && !fault.AfterApply {
			status, out = s.faultAnswer(fault, hdr)
		}
	}
	if status == 0 && write {
		s.writes++
	}
	s.mu.Unlock()

	if status == 0 {
		r := req.Clone(req.Context())
		r.URL.Path, r.URL.RawPath = path, ""
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, r)
		status, out = rec.Code, rec.Body.Bytes()
		for k, v := range rec.Header() {
			hdr[k] = v
		}
		s.mu.Lock()
		if write {
			s.writes--
		}
		switch {
		case fault != nil && fault.Garble != faults.None:
			s.injected++
			var ct string
			out, ct = fault.Garble.Body(out)
			status = http.StatusOK
			hdr.Set("Content-Type", ct)
		case fault != nil:
			status, out = s.faultAnswer(fault, hdr)
		}
		if path == "/batch" {
			entry.Actions, entry.ReadOnly = batchShape(body)
		}
		s.mu.Unlock()
	}
	if hdr.Get("Content-Type") == "" {
		hdr.Set("Content-Type", "application/json; charset=UTF-8")
	}
	for k, v := range hdr {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)

	s.mu.Lock()
	entry.Status, entry.RespBody, entry.RespHeader = status, out, hdr.Clone()
	s.log = append(s.log, entry)
	s.mu.Unlock()
}

func batchActions(body []byte) int {
	n, _ := batchShape(body)
	return n
}

// batchShape is how many actions a /batch body holds and whether all of
// them are reads.
func batchShape(body []byte) (int, bool) {
	var in struct {
		Data struct {
			Actions []struct {
				Method string `json:"method"`
			} `json:"actions"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &in)
	reads := len(in.Data.Actions) > 0
	for _, a := range in.Data.Actions {
		reads = reads && strings.EqualFold(a.Method, "get")
	}
	return len(in.Data.Actions), reads
}

func (s *Server) authorized(req *http.Request) bool {
	tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return false
	}
	return len(s.opts.Tokens) == 0 || slices.Contains(s.opts.Tokens, tok)
}

// rateLimited counts the request (each action of a batch counts) in the
// sliding minute and says how long to wait when it is over the limit.
func (s *Server) rateLimited(now time.Time, path string, body []byte) (time.Duration, bool) {
	if s.opts.RequestsPerMinute < 0 {
		return 0, false
	}
	cut := 0
	for cut < len(s.window) && !s.window[cut].After(now.Add(-time.Minute)) {
		cut++
	}
	s.window = s.window[cut:]
	n := 1
	if path == "/batch" {
		n = max(1, batchActions(body))
	}
	if len(s.window)+n > s.opts.RequestsPerMinute {
		oldest := s.window[min(len(s.window)-1, n-1)]
		return max(time.Second, oldest.Add(time.Minute).Sub(now)), true
	}
	for range n {
		s.window = append(s.window, now)
	}
	return 0, false
}

// RateLimited is how many requests the rate limits refused.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

func (s *Server) takeFault(method, path string) *Fault {
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == method) && strings.HasPrefix(path, f.Path) {
			f.Times--
			if f.Times <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			return f
		}
	}
	return nil
}

func (s *Server) faultAnswer(f *Fault, hdr http.Header) (int, []byte) {
	s.injected++
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	if f.RetryAfter > 0 {
		hdr.Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Seconds())))
	}
	if f.Status == http.StatusPreconditionFailed {
		b, _ := json.Marshal(obj{"errors": []obj{{"message": msg}}, "sync": newToken()})
		return f.Status, b
	}
	return f.Status, errorBody(msg)
}

// answer is what a route returns.
type answer struct {
	status int
	body   any
}

func data(v any) answer { return answer{http.StatusOK, obj{"data": v}} }

func created(v any) answer { return answer{http.StatusCreated, obj{"data": v}} }

func fail(status int, format string, args ...any) answer {
	return answer{status, json.RawMessage(errorBody(fmt.Sprintf(format, args...)))}
}

func notFound(what, gid string) answer {
	return fail(http.StatusNotFound, "%s: Unknown object: %s", what, gid)
}

type route func(r *http.Request, body []byte) answer

func (s *Server) handle(mux *http.ServeMux, pattern string, h route) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a := h(r, body)
		b, ok := a.body.(json.RawMessage)
		if !ok {
			b, _ = json.Marshal(a.body)
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(a.status)
		_, _ = w.Write(b)
	})
}

// locked runs h under the server's lock.
func (s *Server) locked(h route) route {
	return func(r *http.Request, body []byte) answer {
		s.mu.Lock()
		defer s.mu.Unlock()
		return h(r, body)
	}
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for pattern, h := range map[string]route{
		"GET /users/me":                                 s.getMe,
		"GET /users/{user}":                             s.getUser,
		"GET /users":                                    s.listUsers,
		"GET /workspaces/{ws}/users":                    s.listUsers,
		"GET /workspaces":                               s.listWorkspaces,
		"GET /workspaces/{ws}/projects":                 s.listProjects,
		"GET /workspaces/{ws}/custom_fields":            s.listFields,
		"GET /workspaces/{ws}/tags":                     s.listTags,
		"GET /tags":                                     s.listTags,
		"POST /tags":                                    s.createTag,
		"POST /workspaces/{ws}/tags":                    s.createTag,
		"GET /projects/{project}":                       s.getProject,
		"GET /projects/{project}/sections":              s.listSections,
		"GET /projects/{project}/custom_field_settings": s.listFieldSettings,
		"GET /tasks":                                    s.listTasks,
		"GET /projects/{project}/tasks":                 s.listTasks,
		"GET /sections/{section}/tasks":                 s.listTasks,
		"GET /tags/{tag}/tasks":                         s.listTasks,
		"GET /tasks/{task}/subtasks":                    s.listTasks,
		"POST /tasks":                                   s.createTask,
		"GET /tasks/{task}":                             s.getTask,
		"PUT /tasks/{task}":                             s.updateTask,
		"DELETE /tasks/{task}":                          s.deleteTaskRoute,
		"POST /tasks/{task}/{op}":                       s.taskOp,
		"POST /sections/{section}/addTask":              s.addTaskToSection,
		"GET /tasks/{task}/stories":                     s.listStories,
		"POST /tasks/{task}/stories":                    s.createStory,
		"GET /stories/{story}":                          s.getStory,
		"PUT /stories/{story}":                          s.updateStory,
		"DELETE /stories/{story}":                       s.deleteStory,
		"GET /events":                                   s.getEvents,
		"GET /portfolios/{portfolio}":                   s.getPortfolio,
		"GET /portfolios/{portfolio}/items":             s.listPortfolioItems,
		"PUT /projects/{project}":                       s.updateProject,
		"GET /status_updates":                           s.listStatusUpdates,
		"POST /status_updates":                          s.createStatusUpdate,
		"GET /status_updates/{status}":                  s.getStatusUpdate,
		"DELETE /status_updates/{status}":               s.deleteStatusUpdate,
		"GET /webhooks":                                 s.listWebhooks,
		"DELETE /webhooks/{hook}":                       s.deleteWebhook,
	} {
		s.handle(mux, pattern, s.locked(h))
	}
	// These release the lock while they call out or dispatch.
	s.handle(mux, "POST /webhooks", s.createWebhook)
	s.handle(mux, "POST /batch", s.batch)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write(errorBody("Not a recognized route: " + r.Method + " " + r.URL.Path))
	})
	return mux
}

// page answers a listing: all of records without limit, else one page
// with next_page.
func (s *Server) page(r *http.Request, records []obj, compact []string) answer {
	return s.pageOf(r, len(records), func(i int) obj { return records[i] }, compact)
}

// pageOf is page over n records rendered on demand, so a page of a long
// listing renders only its own records.
func (s *Server) pageOf(r *http.Request, n int, render func(i int) obj, compact []string) answer {
	q := r.URL.Query()
	fields := optFields(q["opt_fields"])
	start, limit := 0, n
	if v := q.Get("limit"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l < 1 || l > maxPage {
			return fail(http.StatusBadRequest, "limit: Must be between 1 and 100")
		}
		limit = l
	}
	if v := q.Get("offset"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		o, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(raw), "offset:") || o < 0 || o > n {
			return fail(http.StatusBadRequest, "offset: Your pagination token is invalid or has expired")
		}
		start = o
	}
	end := min(n, start+limit)
	out := make([]obj, 0, end-start)
	for i := start; i < end; i++ {
		out = append(out, selectFields(render(i), fields, compact))
	}
	resp := obj{"data": out}
	if q.Get("limit") != "" {
		resp["next_page"] = nil
		if end < n {
			off := base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
			nq := r.URL.Query()
			nq.Set("offset", off)
			p := r.URL.Path + "?" + nq.Encode()
			resp["next_page"] = obj{"offset": off, "path": p, "uri": s.URL + p}
		}
	}
	return answer{http.StatusOK, resp}
}

func (s *Server) one(r *http.Request, rec obj, compact []string) any {
	return selectFields(rec, optFields(r.URL.Query()["opt_fields"]), compact)
}

var (
	compactNamed = []string{"resource_type", "name"}
	compactTask  = []string{"resource_type", "name", "resource_subtype"}
	compactStory = []string{"resource_type", "created_at", "created_by", "resource_subtype", "text"}
)

func (s *Server) checkWorkspace(r *http.Request) (answer, bool) {
	ws := r.PathValue("ws")
	if ws == "" {
		ws = r.URL.Query().Get("workspace")
	}
	if ws == "" {
		return fail(http.StatusBadRequest, "workspace: Missing input"), false
	}
	if ws != s.workspace {
		return notFound("workspace", ws), false
	}
	return answer{}, true
}

func (s *Server) getMe(r *http.Request, _ []byte) answer {
	u := s.userJSON(s.me).(obj)
	u["workspaces"] = []obj{s.workspaceJSON()}
	return data(s.one(r, u, compactNamed))
}

func (s *Server) getUser(r *http.Request, _ []byte) answer {
	u := s.userRef(r.PathValue("user"))
	if u == nil {
		return notFound("user", r.PathValue("user"))
	}
	return data(s.one(r, s.userJSON(u.GID).(obj), compactNamed))
}

func (s *Server) listUsers(r *http.Request, _ []byte) answer {
	if a, ok := s.checkWorkspace(r); !ok {
		return a
	}
	var recs []obj
	for _, u := range s.users {
		recs = append(recs, s.userJSON(u.GID).(obj))
	}
	return s.page(r, recs, compactNamed)
}

func (s *Server) listWorkspaces(r *http.Request, _ []byte) answer {
	return s.page(r, []obj{s.workspaceJSON()}, compactNamed)
}

func (s *Server) listProjects(r *http.Request, _ []byte) answer {
	return listInWorkspace(s, r, s.projOrder, s.projects, s.projectJSON, compactNamed)
}

func (s *Server) listFields(r *http.Request, _ []byte) answer {
	return listInWorkspace(s, r, s.fieldOrd, s.fields, s.fieldJSON, []string{"resource_type", "name", "resource_subtype", "type"})
}

func (s *Server) listTags(r *http.Request, _ []byte) answer {
	return listInWorkspace(s, r, s.tagOrder, s.tags, s.tagJSON, compactNamed)
}

// listInWorkspace answers a workspace's listing of one kind of record,
// in the order they were made.
func listInWorkspace[T any](s *Server, r *http.Request, order []string, byGID map[string]T, render func(T) obj, compact []string) answer {
	if a, ok := s.checkWorkspace(r); !ok {
		return a
	}
	var recs []obj
	for _, g := range order {
		recs = append(recs, render(byGID[g]))
	}
	return s.page(r, recs, compact)
}

func (s *Server) createTag(r *http.Request, body []byte) answer {
	var in struct {
		Name      string `json:"name"`
		Workspace string `json:"workspace"`
	}
	if a, ok := decodeData(body, &in); !ok {
		return a
	}
	ws := r.PathValue("ws")
	if ws == "" {
		ws = in.Workspace
	}
	if ws == "" {
		return fail(http.StatusBadRequest, "workspace: Missing input")
	}
	if ws != s.workspace {
		return notFound("workspace", ws)
	}
	if strings.TrimSpace(in.Name) == "" {
		return fail(http.StatusBadRequest, "name: Missing input")
	}
	return created(s.one(r, s.tagJSON(s.addTag(in.Name)), compactNamed))
}

func (s *Server) getProject(r *http.Request, _ []byte) answer {
	p := s.projects[r.PathValue("project")]
	if p == nil {
		return notFound("project", r.PathValue("project"))
	}
	return data(s.one(r, s.projectJSON(p), compactNamed))
}

func (s *Server) listSections(r *http.Request, _ []byte) answer {
	p := s.projects[r.PathValue("project")]
	if p == nil {
		return notFound("project", r.PathValue("project"))
	}
	var recs []obj
	for _, g := range p.Sections {
		recs = append(recs, s.sectionJSON(s.sections[g]))
	}
	return s.page(r, recs, compactNamed)
}

func (s *Server) listFieldSettings(r *http.Request, _ []byte) answer {
	p := s.projects[r.PathValue("project")]
	if p == nil {
		return notFound("project", r.PathValue("project"))
	}
	var recs []obj
	for _, g := range p.Fields {
		recs = append(recs, obj{"gid": p.GID + "-" + g, "resource_type": "custom_field_setting", "is_important": true,
			"project": s.projectJSON(p), "custom_field": s.fieldJSON(s.fields[g])})
	}
	return s.page(r, recs, []string{"resource_type", "is_important", "project", "custom_field"})
}

// listTasks serves every task listing: by project, section, tag (path or
// query) and subtasks, with modified_since and completed_since.
func (s *Server) listTasks(r *http.Request, _ []byte) answer {
	q := r.URL.Query()
	project, section, tag, parent := r.PathValue("project"), r.PathValue("section"), r.PathValue("tag"), r.PathValue("task")
	// Only GET /tasks filters by modified_since; the per-project,
	// section, tag and subtask listings do not take it (the contract).
	if q.Has("modified_since") && !strings.HasPrefix(r.URL.Path, "/tasks") || q.Has("modified_since") && parent != "" {
		return fail(http.StatusBadRequest, "modified_since: Unknown parameter for %s; use GET /tasks?project=", r.URL.Path)
	}
	if strings.HasPrefix(r.URL.Path, "/tasks") && parent == "" {
		project, section, tag = q.Get("project"), q.Get("section"), q.Get("tag")
		if project == "" && section == "" && tag == "" {
			return fail(http.StatusBadRequest, "Must specify exactly one of project, tag, section, user task list, or assignee + workspace")
		}
	}
	switch {
	case project != "" && s.projects[project] == nil:
		return notFound("project", project)
	case section != "" && s.sections[section] == nil:
		return notFound("section", section)
	case tag != "" && s.tags[tag] == nil:
		return notFound("tag", tag)
	case parent != "" && (s.tasks[parent] == nil || s.tasks[parent].Deleted):
		return notFound("task", parent)
	}
	var since, completedSince time.Time
	for _, p := range []struct {
		name string
		into *time.Time
	}{{"modified_since", &since}, {"completed_since", &completedSince}} {
		if v := q.Get(p.name); v != "" && v != "now" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return fail(http.StatusBadRequest, "%s: Not a valid ISO 8601 date-time: %s", p.name, v)
			}
			*p.into = t
		} else if v == "now" {
			*p.into = s.now
		}
	}
	var match []*Task
	for _, g := range s.taskOrder {
		t := s.tasks[g]
		if t.Deleted {
			continue
		}
		switch {
		case project != "" && !t.inProject(project),
			section != "" && !slices.ContainsFunc(t.Memberships, func(m Membership) bool { return m.Section == section }),
			tag != "" && !slices.Contains(t.Tags, tag),
			parent != "" && t.Parent != parent,
			!since.IsZero() && t.ModifiedAt.Before(since),
			!completedSince.IsZero() && t.Completed && t.CompletedAt.Before(completedSince):
			continue
		}
		match = append(match, t)
	}
	return s.pageOf(r, len(match), func(i int) obj { return s.taskJSON(match[i]) }, compactTask)
}

func (s *Server) liveTask(gid string) (*Task, answer, bool) {
	t := s.tasks[gid]
	if t == nil || t.Deleted {
		return nil, notFound("task", gid), false
	}
	return t, answer{}, true
}

func (s *Server) getTask(r *http.Request, _ []byte) answer {
	t, a, ok := s.liveTask(r.PathValue("task"))
	if !ok {
		return a
	}
	return data(s.one(r, s.taskJSON(t), compactTask))
}

func decodeData(body []byte, into any) (answer, bool) {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return fail(http.StatusBadRequest, "data: Missing input"), false
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fail(http.StatusBadRequest, "Could not parse request data, invalid JSON"), false
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return fail(http.StatusBadRequest, "data: Missing input"), false
	}
	if err := json.Unmarshal(env.Data, into); err != nil {
		return fail(http.StatusBadRequest, "data: %v", err), false
	}
	return answer{}, true
}

// taskIn is what POST and PUT /tasks accept.
type taskIn struct {
	Name         *string                    `json:"name"`
	Notes        *string                    `json:"notes"`
	HTMLNotes    *string                    `json:"html_notes"`
	Completed    *bool                      `json:"completed"`
	Assignee     json.RawMessage            `json:"assignee"`
	DueOn        json.RawMessage            `json:"due_on"`
	Tags         []string                   `json:"tags"`
	Projects     []string                   `json:"projects"`
	Memberships  json.RawMessage            `json:"memberships"`
	Parent       *string                    `json:"parent"`
	Workspace    *string                    `json:"workspace"`
	CustomFields map[string]json.RawMessage `json:"custom_fields"`
	External     *struct {
		GID  string `json:"gid"`
		Data string `json:"data"`
	} `json:"external"`
}

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// apply writes in's plain fields into t.
func (s *Server) apply(t *Task, in taskIn) (answer, bool) {
	if in.Name != nil {
		t.Name = *in.Name
	}
	if in.HTMLNotes != nil {
		if err := checkRichText(*in.HTMLNotes); err != nil {
			return fail(http.StatusBadRequest, "html_notes: %v", err), false
		}
		t.HTMLNotes = *in.HTMLNotes
	} else if in.Notes != nil {
		t.HTMLNotes = escapeText(*in.Notes)
	}
	if in.Completed != nil {
		t.Completed = *in.Completed
	}
	if len(in.Assignee) > 0 {
		var a *string
		if err := json.Unmarshal(in.Assignee, &a); err != nil {
			return fail(http.StatusBadRequest, "assignee: Not a valid user reference"), false
		}
		t.Assignee = ""
		if a != nil {
			u := s.userRef(*a)
			if u == nil {
				return fail(http.StatusBadRequest, "assignee: Not a recognized ID: %s", *a), false
			}
			t.Assignee = u.GID
		}
	}
	if len(in.DueOn) > 0 {
		var d *string
		if err := json.Unmarshal(in.DueOn, &d); err != nil || (d != nil && !dateRE.MatchString(*d)) {
			return fail(http.StatusBadRequest, "due_on: Not a valid date: %s", in.DueOn), false
		}
		t.DueOn = ""
		if d != nil {
			t.DueOn = *d
		}
	}
	if in.External != nil {
		t.ExternalGID, t.ExternalData = in.External.GID, in.External.Data
	}
	if in.CustomFields != nil {
		if t.CustomValues == nil {
			t.CustomValues = map[string]FieldValue{}
		}
		for _, fg := range sortedKeys(in.CustomFields) {
			on := false
			for _, m := range t.Memberships {
				on = on || slices.Contains(s.projects[m.Project].Fields, fg)
			}
			v, a, ok := s.fieldValue(on, fg, in.CustomFields[fg])
			if !ok {
				return a, false
			}
			t.CustomValues[fg] = v
		}
	}
	return answer{}, true
}

// fieldValue reads the value written to custom field fg of an object
// that field is on (on: a task's project, a project's portfolio has it).
func (s *Server) fieldValue(on bool, fg string, raw json.RawMessage) (FieldValue, answer, bool) {
	f := s.fields[fg]
	if f == nil || !on {
		return FieldValue{}, fail(http.StatusBadRequest, "custom_fields: Custom field with ID %s is not on given object", fg), false
	}
	bad := func(format string, args ...any) (FieldValue, answer, bool) {
		return FieldValue{}, fail(http.StatusBadRequest, "custom_fields: %s: %s", f.Name, fmt.Sprintf(format, args...)), false
	}
	if string(raw) == "null" {
		return FieldValue{}, answer{}, true
	}
	v := FieldValue{HasValue: true}
	switch f.Type {
	case TypeText:
		if json.Unmarshal(raw, &v.Text) != nil {
			return bad("text value must be a string")
		}
	case TypeNumber:
		var n float64
		if json.Unmarshal(raw, &n) != nil {
			return bad("number value must be a number")
		}
		v.Number = &n
	case TypeEnum:
		if json.Unmarshal(raw, &v.Enum) != nil {
			return bad("enum value must be an enum option gid")
		}
		if o, ok := f.option(v.Enum); !ok || !o.Enabled {
			return bad("enum option %s is not an option of this field", v.Enum)
		}
	case TypeMultiEnum:
		if json.Unmarshal(raw, &v.Multi) != nil {
			return bad("multi_enum value must be a list of enum option gids")
		}
		for _, g := range v.Multi {
			if _, ok := f.option(g); !ok {
				return bad("enum option %s is not an option of this field", g)
			}
		}
	case TypeDate:
		var d struct {
			Date string `json:"date"`
		}
		if json.Unmarshal(raw, &d) != nil || !dateRE.MatchString(d.Date) {
			return bad("date value must be {\"date\": \"YYYY-MM-DD\"}")
		}
		v.Date = d.Date
	case TypePeople:
		var l []string
		if json.Unmarshal(raw, &l) != nil {
			return bad("people value must be a list of user gids")
		}
		for _, g := range l {
			u := s.userRef(g)
			if u == nil {
				return bad("not a user: %s", g)
			}
			v.People = append(v.People, u.GID)
		}
	}
	return v, answer{}, true
}

func (s *Server) createTask(r *http.Request, body []byte) answer {
	var in taskIn
	if a, ok := decodeData(body, &in); !ok {
		return a
	}
	if len(in.Memberships) > 0 {
		return fail(http.StatusBadRequest, "memberships: Cannot write this property; use projects, then addTask on a section")
	}
	t := &Task{CustomValues: map[string]FieldValue{}}
	for _, p := range in.Projects {
		if s.projects[p] == nil {
			return notFound("projects", p)
		}
		t.Memberships = append(t.Memberships, Membership{Project: p})
	}
	if in.Parent != nil && *in.Parent != "" {
		if p := s.tasks[*in.Parent]; p == nil || p.Deleted {
			return notFound("parent", *in.Parent)
		}
		t.Parent = *in.Parent
	}
	if in.Workspace != nil && *in.Workspace != s.workspace {
		return notFound("workspace", *in.Workspace)
	}
	if len(in.Projects) == 0 && t.Parent == "" && in.Workspace == nil {
		return fail(http.StatusBadRequest, "workspace: Missing input")
	}
	for _, g := range in.Tags {
		if s.tags[g] == nil {
			return notFound("tags", g)
		}
		t.Tags = append(t.Tags, g)
	}
	// Sections are filled before custom fields are checked against the
	// projects.
	for i, m := range t.Memberships {
		if p := s.projects[m.Project]; len(p.Sections) > 0 {
			t.Memberships[i].Section = p.Sections[0]
		}
	}
	if a, ok := s.apply(t, in); !ok {
		return a
	}
	if strings.TrimSpace(t.Name) == "" {
		t.Name = ""
	}
	s.insertTask(t)
	return created(s.one(r, s.taskJSON(t), compactTask))
}

func (s *Server) updateTask(r *http.Request, body []byte) answer {
	t, a, ok := s.liveTask(r.PathValue("task"))
	if !ok {
		return a
	}
	var in taskIn
	if a, ok := decodeData(body, &in); !ok {
		return a
	}
	for name, set := range map[string]bool{"tags": in.Tags != nil, "projects": in.Projects != nil,
		"memberships": len(in.Memberships) > 0, "parent": in.Parent != nil, "workspace": in.Workspace != nil} {
		if set {
			return fail(http.StatusBadRequest, "%s: Cannot write this property", name)
		}
	}
	before := t.clone()
	next := t.clone()
	if a, ok := s.apply(&next, in); !ok {
		return a
	}
	*t = next
	s.changed(t, before)
	return data(s.one(r, s.taskJSON(t), compactTask))
}

func (s *Server) deleteTaskRoute(r *http.Request, _ []byte) answer {
	t, a, ok := s.liveTask(r.PathValue("task"))
	if !ok {
		return a
	}
	s.deleteTask(t)
	return data(obj{})
}

// taskOp serves POST /tasks/{task}/setParent, addTag, removeTag,
// addProject and removeProject.
func (s *Server) taskOp(r *http.Request, body []byte) answer {
	t, a, ok := s.liveTask(r.PathValue("task"))
	if !ok {
		return a
	}
	var in struct {
		Parent  json.RawMessage `json:"parent"`
		Tag     string          `json:"tag"`
		Project string          `json:"project"`
		Section string          `json:"section"`
	}
	if a, ok := decodeData(body, &in); !ok {
		return a
	}
	before := t.clone()
	switch op := r.PathValue("op"); op {
	case "setParent":
		var parent *string
		if len(in.Parent) == 0 || json.Unmarshal(in.Parent, &parent) != nil {
			return fail(http.StatusBadRequest, "parent: Missing input")
		}
		if parent == nil {
			parent = new(string)
		}
		if *parent != "" {
			p := s.tasks[*parent]
			if p == nil || p.Deleted {
				return notFound("parent", *parent)
			}
			for a := p; a != nil; a = s.tasks[a.Parent] {
				if a.GID == t.GID {
					return fail(http.StatusBadRequest, "parent: A task cannot be its own ancestor")
				}
			}
		}
		t.Parent = *parent
		s.changed(t, before)
		return data(s.one(r, s.taskJSON(t), compactTask))
	case "addTag", "removeTag":
		if s.tags[in.Tag] == nil {
			return notFound("tag", in.Tag)
		}
		if op == "addTag" && !slices.Contains(t.Tags, in.Tag) {
			t.Tags = append(t.Tags, in.Tag)
		}
		if op == "removeTag" {
			t.Tags = slices.DeleteFunc(t.Tags, func(g string) bool { return g == in.Tag })
		}
	case "addProject", "removeProject":
		p := s.projects[in.Project]
		if p == nil {
			return notFound("project", in.Project)
		}
		t.Memberships = slices.DeleteFunc(t.Memberships, func(m Membership) bool { return m.Project == in.Project })
		if op == "addProject" {
			sec := in.Section
			if sec == "" && len(p.Sections) > 0 {
				sec = p.Sections[0]
			}
			if sec != "" && (s.sections[sec] == nil || s.sections[sec].Project != p.GID) {
				return notFound("section", sec)
			}
			t.Memberships = append(t.Memberships, Membership{Project: p.GID, Section: sec})
		}
	default:
		return fail(http.StatusNotFound, "Not a recognized route: POST /tasks/%s/%s", t.GID, op)
	}
	s.changed(t, before)
	return data(obj{})
}

func (s *Server) addTaskToSection(r *http.Request, body []byte) answer {
	sec := s.sections[r.PathValue("section")]
	if sec == nil {
		return notFound("section", r.PathValue("section"))
	}
	var in struct {
		Task string `json:"task"`
	}
	if a, ok := decodeData(body, &in); !ok {
		return a
	}
	t, a, ok := s.liveTask(in.Task)
	if !ok {
		return a
	}
	before := t.clone()
	i := slices.IndexFunc(t.Memberships, func(m Membership) bool { return m.Project == sec.Project })
	if i < 0 {
		t.Memberships = append(t.Memberships, Membership{Project: sec.Project, Section: sec.GID})
	} else {
		t.Memberships[i].Section = sec.GID
	}
	s.changed(t, before)
	return data(obj{})
}

func (s *Server) listStories(r *http.Request, _ []byte) answer {
	t, a, ok := s.liveTask(r.PathValue("task"))
	if !ok {
		return a
	}
	var recs []obj
	for _, g := range s.storyByT[t.GID] {
		if st := s.stories[g]; !st.Deleted {
			recs = append(recs, s.storyJSON(st))
		}
	}
	return s.page(r, recs, compactStory)
}

type storyIn struct {
	Text     *string `json:"text"`
	HTMLText *string `json:"html_text"`
}

func (in storyIn) html() (string, answer, bool) {
	switch {
	case in.HTMLText != nil:
		if err := checkRichText(*in.HTMLText); err != nil {
			return "", fail(http.StatusBadRequest, "html_text: %v", err), false
		}
		return *in.HTMLText, answer{}, true
	case in.Text != nil:
		return escapeText(*in.Text), answer{}, true
	}
	return "", fail(http.StatusBadRequest, "text: Missing input"), false
}

func (s *Server) createStory(r *http.Request, body []byte) answer {
	t, a, ok := s.liveTask(r.PathValue("task"))
	if !ok {
		return a
	}
	var in storyIn
	if a, ok := decodeData(body, &in); !ok {
		return a
	}
	html, a, ok := in.html()
	if !ok {
		return a
	}
	return created(s.one(r, s.storyJSON(s.addStory(t, "comment_added", html, s.me)), compactStory))
}

func (s *Server) story(gid string) (*Story, answer, bool) {
	st := s.stories[gid]
	if st == nil || st.Deleted || s.tasks[st.Task].Deleted {
		return nil, notFound("story", gid), false
	}
	return st, answer{}, true
}

func (s *Server) getStory(r *http.Request, _ []byte) answer {
	st, a, ok := s.story(r.PathValue("story"))
	if !ok {
		return a
	}
	return data(s.one(r, s.storyJSON(st), compactStory))
}

func (s *Server) updateStory(r *http.Request, body []byte) answer {
	st, a, ok := s.story(r.PathValue("story"))
	if !ok {
		return a
	}
	if st.Subtype != "comment_added" {
		return fail(http.StatusForbidden, "story: Only comment stories can be edited")
	}
	var in storyIn
	if a, ok := decodeData(body, &in); !ok {
		return a
	}
	html, a, ok := in.html()
	if !ok {
		return a
	}
	st.HTMLText, st.Text, st.Edited = html, markup.AsanaPlainText(html), true
	t := s.tasks[st.Task]
	t.ModifiedAt = s.tick()
	s.emitStory(t, st, "changed")
	return data(s.one(r, s.storyJSON(st), compactStory))
}

func (s *Server) deleteStory(r *http.Request, _ []byte) answer {
	st, a, ok := s.story(r.PathValue("story"))
	if !ok {
		return a
	}
	st.Deleted = true
	return data(obj{})
}

// batch runs up to 10 actions, each as its own request against the routes
// (so each keeps its own status), and answers their results in order.
func (s *Server) batch(r *http.Request, body []byte) answer {
	var in struct {
		Actions []struct {
			RelativePath string         `json:"relative_path"`
			Method       string         `json:"method"`
			Data         map[string]any `json:"data"`
			Options      struct {
				Limit  int      `json:"limit"`
				Offset string   `json:"offset"`
				Fields []string `json:"fields"`
			} `json:"options"`
		} `json:"actions"`
	}
	if a, ok := decodeData(body, &in); !ok {
		return a
	}
	if len(in.Actions) == 0 {
		return fail(http.StatusBadRequest, "actions: Missing input")
	}
	if len(in.Actions) > maxBatchActions {
		return fail(http.StatusBadRequest, "actions: Batch requests may contain at most %d actions", maxBatchActions)
	}
	results := make([]obj, len(in.Actions))
	for i, act := range in.Actions {
		method := strings.ToUpper(act.Method)
		u, err := url.Parse(act.RelativePath)
		if err != nil || u.RawQuery != "" || !strings.HasPrefix(u.Path, "/") || u.Path == "/batch" {
			results[i] = obj{"status_code": 400, "headers": obj{}, "body": json.RawMessage(errorBody("relative_path: Not a valid relative path: " + act.RelativePath))}
			continue
		}
		q := url.Values{}
		var reqBody io.Reader
		if method == http.MethodGet {
			for k, v := range act.Data {
				q.Set(k, fmt.Sprint(v))
			}
		} else {
			b, _ := json.Marshal(obj{"data": act.Data})
			reqBody = bytes.NewReader(b)
		}
		if len(act.Options.Fields) > 0 {
			q.Set("opt_fields", strings.Join(act.Options.Fields, ","))
		}
		if act.Options.Limit > 0 {
			q.Set("limit", strconv.Itoa(act.Options.Limit))
		}
		if act.Options.Offset != "" {
			q.Set("offset", act.Options.Offset)
		}
		sub := httptest.NewRequest(method, u.Path+"?"+q.Encode(), reqBody)
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, sub)
		var out any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		hdr := obj{}
		if rec.Code == http.StatusCreated {
			var c struct {
				Data struct {
					GID string `json:"gid"`
				} `json:"data"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &c)
			hdr["location"] = u.Path + "/" + c.Data.GID
		}
		results[i] = obj{"status_code": rec.Code, "headers": hdr, "body": out}
	}
	return data(results)
}
