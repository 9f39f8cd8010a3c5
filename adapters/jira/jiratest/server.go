package jiratest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracksync/tracksync/adapters/internal/faults"
)

// Options configure a fake.
type Options struct {
	Flavor Flavor // default Cloud
	// Start is the fake clock's first reading (default 2026-11-01 09:00 UTC).
	Start time.Time
	// Projects are the project keys (default PLAT and OPS).
	Projects []string
	// Email and Token are the basic-auth credentials accepted (Cloud, and
	// Data Center basic); PAT is the Data Center bearer token. Defaults:
	// bot@example.com, "api-token", "pat-token".
	Email, Token, PAT string
	// WebhookSecret signs webhook deliveries (X-Hub-Signature); "" leaves
	// them unsigned.
	WebhookSecret string
	// ReadOnlyProjects are projects the API user may browse but not
	// change: writes there answer 403.
	ReadOnlyProjects []string
	// IndexedProperties are the entity property keys an app declares a
	// JQL index for. As on real Jira, an issue.property[key] clause on any
	// other key matches no issue (default: none indexed).
	IndexedProperties []string
	// RefuseUnindexedProperty makes a JQL clause on an entity property
	// no app indexes an error (400, "Field ... does not exist") instead
	// of a clause that matches nothing: which of the two a site answers
	// is not documented, and an adapter must survive both.
	RefuseUnindexedProperty bool
	// OffScreen are field ids the project's create and edit screens
	// lack (a team-managed project without Priority): Jira refuses a
	// write naming one, "Field 'priority' cannot be set. It is not on
	// the appropriate screen, or unknown."
	OffScreen []string
}

// Server is the fake Jira. Its URL is the site's base URL.
type Server struct {
	*httptest.Server
	opts   Options
	flavor Flavor

	mu          sync.Mutex
	now         time.Time
	lastStamp   time.Time
	statuses    []Status
	transitions []Transition
	users       []User
	projects    []string
	issues      map[int]*Issue
	byKey       map[string]*Issue // issues by key (keys never change)
	nextID      int
	nextNum     map[string]int
	nextComment int
	nextLink    int
	nextChange  int
	log         []Request
	writes      int // the log's writes (Writes), kept as it grows
	faults      []Fault
	limits      []rateLimit
	chaos       *chaos
	budget      budget
	injected    int
	deliveries  []Delivery
	webhookURL  string
	nextHook    int
}

// New starts a fake; it stops when the test ends.
func New(t interface{ Cleanup(func()) }, opts Options) *Server {
	if opts.Flavor == "" {
		opts.Flavor = Cloud
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	}
	if len(opts.Projects) == 0 {
		opts.Projects = []string{"PLAT", "OPS"}
	}
	if opts.Email == "" {
		opts.Email = "bot@example.com"
	}
	if opts.Token == "" {
		opts.Token = "api-token"
	}
	if opts.PAT == "" {
		opts.PAT = "pat-token"
	}
	s := &Server{
		opts: opts, flavor: opts.Flavor, now: opts.Start,
		statuses: slices.Clone(DefaultStatuses), transitions: DefaultTransitions(),
		users: slices.Clone(DefaultUsers), projects: slices.Clone(opts.Projects),
		issues: map[int]*Issue{}, byKey: map[string]*Issue{}, nextID: 10000, nextNum: map[string]int{},
		nextComment: 20000, nextLink: 30000, nextChange: 40000,
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Flavor is the API the fake speaks.
func (s *Server) Flavor() Flavor { return s.flavor }

// Users returns the accounts the fake knows; the first is the API user.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.users)
}

// UserIDs returns the user ids (accountId on Cloud, name on DC) of the
// people besides the API user.
func (s *Server) UserIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, u := range s.users[1:] {
		out = append(out, u.id(s.flavor))
	}
	return out
}

// Advance moves the fake's clock forward.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// Now is the fake's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// SetRequired makes the screen of the transition named name require the
// given field ids (replacing what it required).
func (s *Server) SetRequired(name string, fieldIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.transitions {
		if s.transitions[i].Name == name {
			s.transitions[i].Required = fieldIDs
		}
	}
}

// apiError is Jira's error body.
type apiError struct {
	ErrorMessages []string          `json:"errorMessages"`
	Errors        map[string]string `json:"errors"`
}

type httpError struct {
	status int
	body   apiError
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d %v", e.status, e.body) }

func errMsg(status int, msg string) *httpError {
	return &httpError{status, apiError{ErrorMessages: []string{msg}, Errors: map[string]string{}}}
}

func errField(field, msg string) *httpError {
	return &httpError{http.StatusBadRequest, apiError{ErrorMessages: []string{}, Errors: map[string]string{field: msg}}}
}

// reply is what a handler returns: a status and a JSON body (nil for none).
type reply struct {
	status int
	body   any
}

// route is one endpoint.
type route struct {
	method  string
	pattern *regexp.Regexp
	// versions the route answers on in each flavour ("2", "3").
	cloud, dc []string
	handle    func(s *Server, r *request) (reply, error)
}

type request struct {
	*http.Request
	args    []string
	body    []byte
	version string
	user    User
	pending []Delivery // webhooks to send once the lock is released
	hang    bool       // answer nothing until the client gives up
}

func (r *request) decode(v any) error {
	if len(r.body) == 0 {
		return errMsg(http.StatusBadRequest, "No content to map due to end-of-input")
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return errMsg(http.StatusBadRequest, "Unexpected character in request body: "+err.Error())
	}
	return nil
}

var (
	v23 = []string{"2", "3"}
	v2  = []string{"2"}
	v3  = []string{"3"}
)

func rt(method, pattern string, cloud, dc []string, h func(*Server, *request) (reply, error)) route {
	return route{method, regexp.MustCompile(`^/rest/api/(2|3)` + pattern + `$`), cloud, dc, h}
}

var routes = []route{
	rt("GET", `/myself`, v23, v2, (*Server).myself),
	rt("GET", `/serverInfo`, v23, v2, (*Server).serverInfo),
	rt("GET", `/field`, v23, v2, (*Server).fields),
	rt("GET", `/project/([^/]+)`, v23, v2, (*Server).project),
	rt("GET", `/project/([^/]+)/statuses`, v23, v2, (*Server).projectStatuses),
	rt("GET", `/status`, v23, v2, (*Server).statusList),
	rt("GET", `/priority`, v23, v2, (*Server).priorities),
	rt("GET", `/search`, v23, nil, (*Server).searchGone),
	rt("POST", `/search`, v23, nil, (*Server).searchGone),
	rt("GET", `/search`, nil, v2, (*Server).searchStartAt),
	rt("POST", `/search`, nil, v2, (*Server).searchStartAt),
	rt("GET", `/search/jql`, v3, nil, (*Server).searchJQL),
	rt("POST", `/search/jql`, v3, nil, (*Server).searchJQL),
	rt("POST", `/issue/bulkfetch`, v3, nil, (*Server).bulkFetch),
	rt("POST", `/issue`, v3, v2, (*Server).createIssue),
	rt("POST", `/issue/bulk`, v3, v2, (*Server).createIssues),
	rt("GET", `/issue/([^/]+)`, v3, v2, (*Server).getIssue),
	rt("PUT", `/issue/([^/]+)`, v3, v2, (*Server).editIssue),
	rt("DELETE", `/issue/([^/]+)`, v3, v2, (*Server).deleteIssue),
	rt("GET", `/issue/([^/]+)/transitions`, v3, v2, (*Server).listTransitions),
	rt("POST", `/issue/([^/]+)/transitions`, v3, v2, (*Server).doTransition),
	rt("GET", `/issue/([^/]+)/comment`, v3, v2, (*Server).listComments),
	rt("POST", `/issue/([^/]+)/comment`, v3, v2, (*Server).addComment),
	rt("GET", `/issue/([^/]+)/comment/([^/]+)`, v3, v2, (*Server).getComment),
	rt("POST", `/comment/list`, v3, v2, (*Server).commentsByID),
	rt("PUT", `/issue/([^/]+)/comment/([^/]+)`, v3, v2, (*Server).editComment),
	rt("GET", `/issue/([^/]+)/properties`, v3, v2, (*Server).listProperties),
	rt("GET", `/issue/([^/]+)/properties/([^/]+)`, v3, v2, (*Server).getProperty),
	rt("PUT", `/issue/([^/]+)/properties/([^/]+)`, v3, v2, (*Server).setProperty),
	rt("DELETE", `/issue/([^/]+)/properties/([^/]+)`, v3, v2, (*Server).deleteProperty),
	rt("GET", `/issue/([^/]+)/remotelink`, v3, v2, (*Server).listRemoteLinks),
	rt("POST", `/issue/([^/]+)/remotelink`, v3, v2, (*Server).addRemoteLink),
	// describe.go: what `trackers describe` and `doctor` read.
	rt("GET", `/workflow/search`, v3, nil, (*Server).workflowSearch),
	rt("GET", `/label`, v3, nil, (*Server).labels),
	rt("GET", `/user/assignable/search`, v3, nil, (*Server).assignableUsers),
	rt("POST", `/jql/parse`, v3, nil, (*Server).jqlParse),
}

func (s *Server) serve(w http.ResponseWriter, hr *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(hr.Body, 10<<20))
	r := &request{Request: hr, body: body}

	s.mu.Lock()
	entry := Request{Method: hr.Method, Path: hr.URL.Path, Query: hr.URL.RawQuery, Body: body, At: s.now}
	status, hdr, out, drop := s.handleLocked(r)
	entry.Status, entry.Response = status, out
	s.log = append(s.log, entry)
	if isWrite(entry) {
		s.writes++
	}
	pending := r.pending
	at := s.now
	s.mu.Unlock()
	// Jira's Date header is its clock: the fake's.
	w.Header().Set("Date", at.UTC().Format(http.TimeFormat))

	s.send(pending)
	if r.hang {
		// The write happened; the answer never comes, until the client
		// gives up (its timeout or context).
		<-hr.Context().Done()
		return
	}
	if drop {
		// The write happened; the client never hears about it.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	for k, v := range hdr {
		w.Header()[k] = v
	}
	if out != nil && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	}
	w.WriteHeader(status)
	if out != nil {
		w.Write(out)
	}
}

// garbled answers f's unreadable body, after carrying out the request
// when f says the write happens or the garble is made from the answer.
func (s *Server) garbled(r *request, f Fault, hdr http.Header) (int, http.Header, []byte, bool) {
	var real []byte
	if f.AfterWrite || f.Garble.NeedsAnswer() {
		if rep, err := s.dispatch(r); err == nil && rep.body != nil {
			real, _ = json.Marshal(rep.body)
		}
	}
	body, ct := f.Garble.Body(real)
	hdr.Set("Content-Type", ct)
	return f.Status, hdr, body, false
}

// handleLocked answers one request: rate limits and faults first, then
// authentication, then the route.
func (s *Server) handleLocked(r *request) (status int, hdr http.Header, out []byte, drop bool) {
	hdr = http.Header{}
	if rl, ok := s.takeRateLimit(r); ok {
		hdr.Set("Retry-After", strconv.Itoa(int((rl.retryAfter+time.Second-1)/time.Second)))
		hdr.Set("RateLimit-Reason", rl.reason)
		hdr.Set("X-RateLimit-Limit", "100")
		hdr.Set("X-RateLimit-Remaining", "0")
		hdr.Set("X-RateLimit-Reset", s.now.Add(rl.retryAfter).UTC().Format(time.RFC3339))
		b, _ := json.Marshal(apiError{ErrorMessages: []string{"Rate limit exceeded."}, Errors: map[string]string{}})
		return http.StatusTooManyRequests, hdr, b, false
	}
	f, faulted := s.takeFault(r)
	if faulted && f.Garble != faults.None {
		return s.garbled(r, f, hdr)
	}
	r.hang = faulted && f.Hang
	if faulted && !f.AfterWrite {
		if f.Drop || f.Hang {
			return 0, hdr, nil, true
		}
		b, _ := json.Marshal(apiError{ErrorMessages: []string{fmt.Sprintf("injected fault: HTTP %d", f.Status)}, Errors: map[string]string{}})
		return f.Status, hdr, b, false
	}
	rep, err := s.dispatch(r)
	if faulted && f.AfterWrite {
		if f.Drop || f.Hang || f.Status == 0 {
			return 0, hdr, nil, true
		}
		b, _ := json.Marshal(apiError{ErrorMessages: []string{fmt.Sprintf("injected fault after the write: HTTP %d", f.Status)}, Errors: map[string]string{}})
		return f.Status, hdr, b, false
	}
	if err != nil {
		he, ok := err.(*httpError)
		if !ok {
			he = errMsg(http.StatusInternalServerError, err.Error())
		}
		if he.status == http.StatusUnauthorized {
			hdr.Set("WWW-Authenticate", `Basic realm="protected-area"`)
		}
		b, _ := json.Marshal(he.body)
		return he.status, hdr, b, false
	}
	if rep.body != nil {
		out, _ = json.Marshal(rep.body)
	}
	return rep.status, hdr, out, false
}

func (s *Server) dispatch(r *request) (reply, error) {
	path := r.URL.Path
	var found bool
	for _, rte := range routes {
		m := rte.pattern.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		versions := rte.cloud
		if s.flavor == DataCenter {
			versions = rte.dc
		}
		if !slices.Contains(versions, m[1]) {
			continue
		}
		found = true
		if rte.method != r.Method {
			continue
		}
		r.version = m[1]
		r.args = m[2:]
		u, err := s.authenticate(r.Request)
		if err != nil {
			return reply{}, err
		}
		r.user = u
		if err := s.checkWrite(r); err != nil {
			return reply{}, err
		}
		return rte.handle(s, r)
	}
	if found {
		return reply{}, errMsg(http.StatusMethodNotAllowed, "Method not allowed")
	}
	return reply{}, errMsg(http.StatusNotFound, "null for uri: "+path)
}

// checkWrite refuses writes to issues of read-only projects.
func (s *Server) checkWrite(r *request) error {
	if r.Method == http.MethodGet || len(s.opts.ReadOnlyProjects) == 0 || strings.Contains(r.URL.Path, "/search") || strings.HasSuffix(r.URL.Path, "/bulkfetch") || strings.HasSuffix(r.URL.Path, "/comment/list") {
		return nil
	}
	project := ""
	if len(r.args) > 0 {
		if it := s.lookup(r.args[0]); it != nil {
			project = it.Project
		}
	} else {
		var b struct {
			Fields struct {
				Project named `json:"project"`
			} `json:"fields"`
		}
		_ = json.Unmarshal(r.body, &b)
		project = b.Fields.Project.Key
	}
	if slices.Contains(s.opts.ReadOnlyProjects, project) {
		return errMsg(http.StatusForbidden, "You do not have permission to edit issues in this project.")
	}
	return nil
}

func (s *Server) authenticate(r *http.Request) (User, error) {
	bot := s.users[0]
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok && s.flavor == DataCenter && tok == s.opts.PAT {
		return bot, nil
	}
	if user, pass, ok := r.BasicAuth(); ok && pass == s.opts.Token && (user == s.opts.Email || (s.flavor == DataCenter && user == bot.Name)) {
		return bot, nil
	}
	if h == "" {
		return User{}, errMsg(http.StatusUnauthorized, "You are not authenticated. Authentication required to perform this operation.")
	}
	return User{}, errMsg(http.StatusUnauthorized, "Client must be authenticated to access this resource.")
}

func (s *Server) userJSON(id string) any {
	u, ok := s.userByID(id)
	if !ok {
		return nil
	}
	if s.flavor == DataCenter {
		return map[string]any{"name": u.Name, "key": u.Name, "displayName": u.DisplayName, "emailAddress": u.Email, "active": true}
	}
	return map[string]any{"accountId": u.AccountID, "accountType": "atlassian", "displayName": u.DisplayName, "emailAddress": u.Email, "active": true}
}

func (s *Server) myself(r *request) (reply, error) {
	return reply{200, s.userJSON(r.user.id(s.flavor))}, nil
}

func (s *Server) serverInfo(r *request) (reply, error) {
	dt := "Cloud"
	if s.flavor == DataCenter {
		dt = "DataCenter"
	}
	return reply{200, map[string]any{"baseUrl": s.URL, "version": "1001.0.0", "deploymentType": dt, "serverTitle": "Jira (fake)"}}, nil
}

func (s *Server) fields(r *request) (reply, error) {
	var out []map[string]any
	for _, f := range s.fieldList() {
		out = append(out, map[string]any{
			"id": f.ID, "key": f.ID, "name": f.Name, "custom": f.Custom, "orderable": true, "navigable": true, "searchable": true,
			"clauseNames": []string{f.ID}, "schema": f.schemaJSON(),
		})
	}
	return reply{200, out}, nil
}

func (s *Server) project(r *request) (reply, error) {
	key := r.args[0]
	if !slices.Contains(s.projects, key) {
		return reply{}, errMsg(http.StatusNotFound, "No project could be found with key '"+key+"'.")
	}
	var types []any
	for _, t := range DefaultIssueTypes {
		types = append(types, s.issueTypeJSON(t))
	}
	return reply{200, map[string]any{"id": strconv.Itoa(10000 + slices.Index(s.projects, key)), "key": key, "name": key, "issueTypes": types}}, nil
}

func (s *Server) projectStatuses(r *request) (reply, error) {
	key := r.args[0]
	if !slices.Contains(s.projects, key) {
		return reply{}, errMsg(http.StatusNotFound, "No project could be found with key '"+key+"'.")
	}
	var sts []any
	for _, st := range s.statuses {
		j := s.statusJSON(st)
		j["self"] = s.URL + "/rest/api/" + r.version + "/status/" + st.ID
		sts = append(sts, j)
	}
	var out []any
	for _, t := range DefaultIssueTypes {
		out = append(out, map[string]any{"id": t.ID, "name": t.Name, "subtask": t.Subtask, "self": s.URL + "/rest/api/" + r.version + "/issuetype/" + t.ID, "statuses": sts})
	}
	return reply{200, out}, nil
}

func (s *Server) statusList(r *request) (reply, error) {
	var out []any
	for _, st := range s.statuses {
		out = append(out, s.statusJSON(st))
	}
	return reply{200, out}, nil
}

func (s *Server) priorities(r *request) (reply, error) {
	var out []any
	for i, p := range Priorities {
		out = append(out, map[string]any{"id": strconv.Itoa(i + 1), "name": p})
	}
	return reply{200, out}, nil
}

func (s *Server) searchGone(r *request) (reply, error) {
	return reply{}, errMsg(http.StatusGone, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")
}

func (s *Server) issueTypeJSON(t IssueType) map[string]any {
	return map[string]any{"id": t.ID, "name": t.Name, "subtask": t.Subtask, "hierarchyLevel": t.Hierarchy}
}

var categoryIDs = map[string]int{"new": 2, "indeterminate": 4, "done": 3}
var categoryNames = map[string]string{"new": "To Do", "indeterminate": "In Progress", "done": "Done"}

func (s *Server) statusJSON(st Status) map[string]any {
	return map[string]any{"id": st.ID, "name": st.Name, "statusCategory": map[string]any{
		"id": categoryIDs[st.Category], "key": st.Category, "name": categoryNames[st.Category]}}
}

// fieldSet is which fields a response carries.
type fieldSet struct {
	all     bool
	include map[string]bool
	exclude map[string]bool
}

func parseFields(lists []string, def string) fieldSet {
	var items []string
	for _, l := range lists {
		for _, f := range strings.Split(l, ",") {
			if f = strings.TrimSpace(f); f != "" {
				items = append(items, f)
			}
		}
	}
	if len(items) == 0 {
		items = []string{def}
	}
	fs := fieldSet{include: map[string]bool{}, exclude: map[string]bool{}}
	for _, f := range items {
		switch {
		case f == "*all" || f == "*navigable":
			fs.all = true
		case strings.HasPrefix(f, "-"):
			fs.exclude[f[1:]] = true
		default:
			fs.include[f] = true
		}
	}
	return fs
}

func (fs fieldSet) has(f string) bool {
	if fs.exclude[f] {
		return false
	}
	return fs.all || fs.include[f]
}

// onlyID reports whether the set asks for nothing but ids (and keys).
func (fs fieldSet) onlyID() bool {
	if fs.all {
		return false
	}
	for f := range fs.include {
		if f != "id" && f != "key" {
			return false
		}
	}
	return true
}

func (s *Server) issueJSON(it *Issue, fs fieldSet, props []string, expand string) map[string]any {
	out := map[string]any{"id": strconv.Itoa(it.ID), "key": it.Key, "self": s.URL + "/rest/api/" + s.apiVersion() + "/issue/" + strconv.Itoa(it.ID)}
	if fs.onlyID() {
		if !fs.include["key"] {
			delete(out, "key")
		}
		delete(out, "self")
		s.addProps(out, it, props)
		return out
	}
	typ, _ := s.issueType(it.Type)
	st, _ := s.statusByName(it.Status)
	all := map[string]any{
		"summary":     it.Summary,
		"description": nil,
		"status":      s.statusJSON(st),
		"issuetype":   s.issueTypeJSON(typ),
		"project":     map[string]any{"id": strconv.Itoa(10000 + slices.Index(s.projects, it.Project)), "key": it.Project, "name": it.Project},
		"assignee":    s.userJSON(it.Assignee),
		"reporter":    s.userJSON(it.Reporter),
		"labels":      nonNil(it.Labels),
		"priority":    nil,
		"duedate":     nil,
		"resolution":  nil,
		"created":     it.Created.Format(jiraTime),
		"updated":     it.Updated.Format(jiraTime),
	}
	if it.Description != nil {
		all["description"] = json.RawMessage(it.Description)
	}
	if it.Priority != "" {
		all["priority"] = map[string]any{"id": strconv.Itoa(slices.Index(Priorities, it.Priority) + 1), "name": it.Priority}
	}
	if it.Due != "" {
		all["duedate"] = it.Due
	}
	if it.Resolution != "" {
		all["resolution"] = map[string]any{"name": it.Resolution}
	}
	if p := s.issues[it.Parent]; p != nil {
		pt, _ := s.issueType(p.Type)
		ref := map[string]any{"id": strconv.Itoa(p.ID), "key": p.Key, "fields": map[string]any{"summary": p.Summary, "issuetype": s.issueTypeJSON(pt)}}
		if s.flavor == DataCenter && !typ.Subtask {
			if pt.Name == "Epic" {
				all[EpicLinkField] = p.Key
			}
		} else {
			all["parent"] = ref
		}
	}
	for k, v := range it.Custom {
		all[k] = v
	}
	var cs []any
	for _, c := range it.Comments {
		cs = append(cs, s.commentJSON(it, c, false))
	}
	all["comment"] = map[string]any{"comments": nonNilAny(cs), "startAt": 0, "maxResults": len(cs), "total": len(cs)}
	fields := map[string]any{}
	for k, v := range all {
		if fs.has(k) {
			fields[k] = v
		}
	}
	out["fields"] = fields
	s.addProps(out, it, props)
	if strings.Contains(expand, "changelog") {
		var hist []any
		for _, c := range it.Changelog {
			var items []any
			for _, ci := range c.Items {
				items = append(items, map[string]any{"field": ci.Field, "fromString": ci.FromString, "toString": ci.ToString})
			}
			hist = append(hist, map[string]any{"id": strconv.Itoa(c.ID), "author": s.userJSON(c.Author), "created": c.Created.Format(jiraTime), "items": items})
		}
		out["changelog"] = map[string]any{"startAt": 0, "maxResults": len(hist), "total": len(hist), "histories": nonNilAny(hist)}
	}
	return out
}

func (s *Server) apiVersion() string {
	if s.flavor == DataCenter {
		return "2"
	}
	return "3"
}

func (s *Server) addProps(out map[string]any, it *Issue, props []string) {
	if len(props) == 0 {
		return
	}
	p := map[string]any{}
	for _, k := range props {
		if v, ok := it.Properties[k]; ok {
			p[k] = json.RawMessage(v)
		}
	}
	out["properties"] = p
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func nonNilAny(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// search runs jql and returns the matching issues in order.
func (s *Server) search(jql string) ([]*Issue, error) {
	q, err := parseJQL(jql, s)
	if err != nil {
		return nil, err
	}
	var out []*Issue
	for _, it := range s.issues {
		if q.where == nil || q.where(it) {
			out = append(out, it)
		}
	}
	q.sort(out)
	return out, nil
}

type searchParams struct {
	JQL           string   `json:"jql"`
	NextPageToken string   `json:"nextPageToken"`
	StartAt       int      `json:"startAt"`
	MaxResults    *int     `json:"maxResults"`
	Fields        []string `json:"fields"`
	Properties    []string `json:"properties"`
	Expand        any      `json:"expand"`
}

func (s *Server) readSearch(r *request) (searchParams, error) {
	var p searchParams
	if r.Method == http.MethodPost {
		if err := r.decode(&p); err != nil {
			return p, err
		}
		return p, nil
	}
	q := r.URL.Query()
	p.JQL = q.Get("jql")
	p.NextPageToken = q.Get("nextPageToken")
	p.StartAt, _ = strconv.Atoi(q.Get("startAt"))
	if m := q.Get("maxResults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil {
			return p, errMsg(http.StatusBadRequest, "maxResults must be a number")
		}
		p.MaxResults = &n
	}
	p.Fields = splitList(q["fields"])
	p.Properties = splitList(q["properties"])
	p.Expand = q.Get("expand")
	return p, nil
}

func expandString(e any) string {
	switch x := e.(type) {
	case string:
		return x
	case []any:
		var parts []string
		for _, p := range x {
			parts = append(parts, fmt.Sprint(p))
		}
		return strings.Join(parts, ",")
	}
	return ""
}

func (s *Server) searchJQL(r *request) (reply, error) {
	p, err := s.readSearch(r)
	if err != nil {
		return reply{}, err
	}
	q, err := parseJQL(p.JQL, s)
	if err != nil {
		return reply{}, err
	}
	if q.where == nil {
		return reply{}, errMsg(http.StatusBadRequest, "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.")
	}
	fs := parseFields(p.Fields, "id")
	limit := 5000
	if !fs.onlyID() {
		limit = 100
	}
	size := 50
	if p.MaxResults != nil {
		size = *p.MaxResults
	}
	size = max(1, min(size, limit))
	if len(p.Properties) > 5 {
		return reply{}, errMsg(http.StatusBadRequest, "At most 5 properties can be requested.")
	}
	start := 0
	if p.NextPageToken != "" {
		off, ok := decodeToken(p.NextPageToken, p.JQL)
		if !ok {
			return reply{}, errMsg(http.StatusBadRequest, "The provided next page token is invalid or expired.")
		}
		start = off
	}
	all, err := s.search(p.JQL)
	if err != nil {
		return reply{}, err
	}
	end := min(start+size, len(all))
	var issues []any
	if start < len(all) {
		for _, it := range all[start:end] {
			issues = append(issues, s.issueJSON(it, fs, p.Properties, expandString(p.Expand)))
		}
	}
	out := map[string]any{"issues": nonNilAny(issues), "isLast": end >= len(all)}
	if end < len(all) {
		out["nextPageToken"] = encodeToken(end, p.JQL)
	}
	return reply{200, out}, nil
}

func encodeToken(off int, jql string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d|%s", off, jql)))
}

func decodeToken(tok, jql string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	n, q, ok := strings.Cut(string(b), "|")
	if !ok || q != jql {
		return 0, false
	}
	off, err := strconv.Atoi(n)
	return off, err == nil && off >= 0
}

func (s *Server) searchStartAt(r *request) (reply, error) {
	p, err := s.readSearch(r)
	if err != nil {
		return reply{}, err
	}
	all, err := s.search(p.JQL)
	if err != nil {
		return reply{}, err
	}
	size := 50
	if p.MaxResults != nil {
		size = *p.MaxResults
	}
	size = max(0, min(size, 1000))
	start := max(0, p.StartAt)
	end := min(start+size, len(all))
	fs := parseFields(p.Fields, "*navigable")
	var issues []any
	if start < len(all) {
		for _, it := range all[start:end] {
			issues = append(issues, s.issueJSON(it, fs, p.Properties, expandString(p.Expand)))
		}
	}
	return reply{200, map[string]any{"startAt": start, "maxResults": size, "total": len(all), "issues": nonNilAny(issues)}}, nil
}

func (s *Server) bulkFetch(r *request) (reply, error) {
	var p struct {
		IssueIDsOrKeys []string `json:"issueIdsOrKeys"`
		Fields         []string `json:"fields"`
		Properties     []string `json:"properties"`
		Expand         []string `json:"expand"`
	}
	if err := r.decode(&p); err != nil {
		return reply{}, err
	}
	if len(p.IssueIDsOrKeys) == 0 {
		return reply{}, errField("issueIdsOrKeys", "issueIdsOrKeys must not be empty")
	}
	if len(p.IssueIDsOrKeys) > 100 {
		return reply{}, errMsg(http.StatusBadRequest, "The number of issues requested exceeds the maximum of 100.")
	}
	fs := parseFields(p.Fields, "*navigable")
	var issues []any
	for _, k := range p.IssueIDsOrKeys {
		if it := s.lookup(k); it != nil {
			issues = append(issues, s.issueJSON(it, fs, p.Properties, strings.Join(p.Expand, ",")))
		}
	}
	return reply{200, map[string]any{"issues": nonNilAny(issues), "issueErrors": []any{}}}, nil
}

func (s *Server) mustIssue(idOrKey string) (*Issue, error) {
	it := s.lookup(idOrKey)
	if it == nil {
		return nil, errMsg(http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
	}
	return it, nil
}

func (s *Server) getIssue(r *request) (reply, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return reply{}, err
	}
	q := r.URL.Query()
	fs := parseFields(q["fields"], "*all")
	return reply{200, s.issueJSON(it, fs, splitList(q["properties"]), q.Get("expand"))}, nil
}

// Request is one logged request.
type Request struct {
	Method string
	Path   string
	Query  string
	Body   []byte
	Status int // 0 when the connection was dropped
	// Response is the body answered (nil when none or dropped).
	Response []byte
	At       time.Time
}

// String is "METHOD path".
func (r Request) String() string { return r.Method + " " + r.Path }

// Requests returns the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log, s.writes = nil, 0
}

// Count is how many logged requests had method (any when "") and a path
// containing pathPart.
func (s *Server) Count(method, pathPart string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if (method == "" || r.Method == method) && strings.Contains(r.Path, pathPart) {
			n++
		}
	}
	return n
}

// Writes counts logged requests that changed state (not GETs, not
// search, bulkfetch or comment/list POSTs). The count is kept as requests
// are logged: a test polls it to kill a process at a given write.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// isWrite reports whether a logged request changed state.
func isWrite(r Request) bool {
	return r.Method != http.MethodGet && !strings.HasSuffix(r.Path, "/search/jql") && !strings.HasSuffix(r.Path, "/bulkfetch") && !strings.HasSuffix(r.Path, "/search") && !strings.HasSuffix(r.Path, "/comment/list")
}

func jsonBytes(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSpace(b.Bytes())
}
