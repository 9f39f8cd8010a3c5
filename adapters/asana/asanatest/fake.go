// Package asanatest is an in-process fake of the Asana REST API (like
// net/http/httptest), enough of it for tracksync's Asana adapter: one
// workspace with its users, projects with sections and custom field
// settings, tasks and subtasks, stories (comments and the system stories
// Asana writes beside them), tags, and custom fields of every type the
// adapter reads (text, number, enum, multi-enum, date, people); portfolios
// of projects, projects' own custom field values and status updates
// (portfolio.go).
//
// It keeps Asana's rules: answers in {"data": ...}, compact records unless
// opt_fields names more, offset pagination (limit 1..100, next_page with
// an opaque offset), errors in the {"errors":[{"message": ...}]} shape,
// html_notes that must be well-formed rich text, custom fields that must be
// on one of the task's projects, the Events API with sync tokens that
// expire (412 with a fresh sync token in the body), webhooks with the
// X-Hook-Secret handshake and deliveries signed with X-Hook-Signature
// (HMAC-SHA256, bare hex), /batch (at most 10 actions), and the rate
// limits with 429 and Retry-After, all on a clock tests drive. It injects
// faults, logs requests (bodies included, so tests can check them against
// the vendor contract) and lets tests play a person editing a task.
package asanatest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracksync/tracksync/adapters/internal/faults"
	"github.com/tracksync/tracksync/mapping/markup"
)

// Default values of Options.
const (
	DefaultToken       = "asana-test-token"
	DefaultRPM         = 1500
	DefaultWrites      = 15
	DefaultSyncTTL     = 24 * time.Hour
	DefaultWorkspace   = "Acme"
	DefaultUserEmail   = "pat@example.com"
	maxPage            = 100
	maxBatchActions    = 10
	maxEventsPerAnswer = 100
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Tokens the server accepts as bearer tokens; empty means any
	// non-empty token. Every token acts as the first user.
	Tokens []string
	// RequestsPerMinute is the rate limit (default 1500, the paid plans';
	// free workspaces have 150). Requests beyond it in a sliding minute
	// are answered 429 with Retry-After. Negative: unlimited.
	RequestsPerMinute int
	// ConcurrentWrites is how many POST/PUT/DELETE may be in flight at
	// once (default 15); more are answered 429. Negative: unlimited.
	ConcurrentWrites int
	// SyncTTL is how long an Events API sync token stays valid (default
	// 24h of the fake's clock).
	SyncTTL time.Duration
	// Start is where the manual clock starts (default 2026-11-02T09:00Z).
	Start time.Time
	// Users to add besides the token's own (Pat PM, pat@example.com).
	Users []User
}

// User is a workspace member.
type User struct {
	GID   string
	Name  string
	Email string
}

// Project is a project as the fake stores it.
type Project struct {
	GID      string
	Name     string
	Sections []string // section gids in board order
	Fields   []string // custom field gids set on the project (its tasks')
	Archived bool
	// The project's own record, as a portfolio shows it.
	HTMLNotes    string // "<body>...</body>", "" for none
	Owner        string // user gid
	DueOn        string // YYYY-MM-DD
	Completed    bool
	CustomValues map[string]FieldValue // the project's own values, by field gid (its portfolios' fields)
	CreatedAt    time.Time
	ModifiedAt   time.Time
}

// Section is a column of a project.
type Section struct {
	GID     string
	Name    string
	Project string
}

// Membership is a task's place in one project.
type Membership struct {
	Project string
	Section string // "" when the project has no sections
}

// Task is a task as the fake stores it; test hooks receive and return
// copies.
type Task struct {
	GID          string
	Name         string
	HTMLNotes    string // "<body>...</body>"
	Completed    bool
	CompletedAt  time.Time
	Assignee     string // user gid
	DueOn        string // YYYY-MM-DD
	Tags         []string
	Memberships  []Membership
	Parent       string
	CustomValues map[string]FieldValue // by custom field gid
	ExternalGID  string
	ExternalData string
	CreatedAt    time.Time
	ModifiedAt   time.Time
	Deleted      bool
}

// FieldValue is one custom field's value on a task.
type FieldValue struct {
	Text     string
	Number   *float64
	Enum     string   // enum option gid
	Multi    []string // enum option gids
	Date     string   // YYYY-MM-DD
	People   []string // user gids
	HasValue bool
}

// FieldType is a custom field's type.
type FieldType string

// The custom field types the fake knows.
const (
	TypeText      FieldType = "text"
	TypeNumber    FieldType = "number"
	TypeEnum      FieldType = "enum"
	TypeMultiEnum FieldType = "multi_enum"
	TypeDate      FieldType = "date"
	TypePeople    FieldType = "people"
)

// CustomField is a workspace custom field.
type CustomField struct {
	GID       string
	Name      string
	Type      FieldType
	Options   []EnumOption
	Precision int
}

// EnumOption is one option of an enum or multi-enum field.
type EnumOption struct {
	GID     string
	Name    string
	Enabled bool
	Color   string
}

// Story is a comment or a system story on a task.
type Story struct {
	GID       string
	Task      string
	Subtype   string // comment_added, marked_complete, section_changed, ...
	HTMLText  string
	Text      string
	CreatedBy string
	CreatedAt time.Time
	Edited    bool
	Deleted   bool
}

// Tag is a workspace tag.
type Tag struct {
	GID  string
	Name string
}

// Request is one logged request and its answer.
type Request struct {
	Method      string
	Path        string
	Query       string
	ContentType string
	Body        []byte
	Status      int
	RespHeader  http.Header
	RespBody    []byte
	At          time.Time
	// Actions is how many actions a /batch request carried (0 for others)
	// and ReadOnly whether they were all reads.
	Actions  int
	ReadOnly bool
}

// Fault makes matching requests fail.
type Fault struct {
	Method     string // "" matches every method
	Path       string // prefix of the path after /api/1.0; "" matches every path
	Status     int
	Message    string
	RetryAfter time.Duration
	// AfterApply performs the request, then answers Status instead of its
	// result (an answer lost on the way back).
	AfterApply bool
	Times      int // how many requests it fails (0: one)
	// Garble answers 200 with a body that is not what the call expects
	// (a login page, cut JSON, an empty body, {}) instead of Status.
	Garble Garble
}

// Garble is a kind of unreadable 200 answer (see adapters/internal/faults).
type Garble = faults.Garble

// The garbles a Fault can answer with.
const (
	GarbleHTML        = faults.HTML
	GarbleCut         = faults.Cut
	GarbleEmpty       = faults.Empty
	GarbleEmptyObject = faults.EmptyObject
)

// event is one entry of the Events API log.
type event struct {
	seq       int
	resources []string // what subscribers see it: the task and its projects
	json      obj
}

type syncToken struct {
	resource string
	seq      int
	issued   time.Time
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server
	// URL is the API base URL, ending in /api/1.0 (the adapter's url).
	URL string

	mu         sync.Mutex
	opts       Options
	now        time.Time
	next       int64
	workspace  string
	me         string
	users      []*User
	projects   map[string]*Project
	portfolios map[string]*Portfolio
	statuses   map[string]*StatusUpdate
	statusOrd  []string
	projOrder  []string
	sections   map[string]*Section
	tasks      map[string]*Task
	taskOrder  []string
	stories    map[string]*Story
	storyByT   map[string][]string
	tags       map[string]*Tag
	tagOrder   []string
	fields     map[string]*CustomField
	fieldOrd   []string
	events     []event
	seq        int
	tokens     map[string]syncToken
	hooks      map[string]*webhook
	hookOrder  []string
	faults     []*Fault
	log        []Request
	window     []time.Time // requests in the last minute, for the rate limit
	writes     int         // writes in flight
	rejected   int
	mux        *http.ServeMux
	hookClient *http.Client
	// writesSeen counts state changes; children caches subtask counts
	// as of childrenAt.
	writesSeen, childrenAt int
	children               map[string]int
	chaos                  *mrand.Rand
	chaosFail, chaosLimit  float64
	injected               int
	deliveries             []Delivery
}

// New starts a fake; it is closed when the test ends.
func New(t interface{ Cleanup(func()) }, opts Options) *Server {
	if opts.RequestsPerMinute == 0 {
		opts.RequestsPerMinute = DefaultRPM
	}
	if opts.ConcurrentWrites == 0 {
		opts.ConcurrentWrites = DefaultWrites
	}
	if opts.SyncTTL == 0 {
		opts.SyncTTL = DefaultSyncTTL
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	}
	s := &Server{
		opts: opts, now: opts.Start, next: 1200000000000000,
		projects: map[string]*Project{}, portfolios: map[string]*Portfolio{}, statuses: map[string]*StatusUpdate{}, sections: map[string]*Section{}, tasks: map[string]*Task{},
		stories: map[string]*Story{}, storyByT: map[string][]string{}, tags: map[string]*Tag{},
		fields: map[string]*CustomField{}, tokens: map[string]syncToken{}, hooks: map[string]*webhook{},
	}
	s.workspace = s.gid()
	s.me = s.AddUser("Pat PM", DefaultUserEmail)
	for _, u := range opts.Users {
		s.AddUser(u.Name, u.Email)
	}
	s.mux = s.routes()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/api/1.0"
	t.Cleanup(s.srv.Close)
	return s
}

// Close stops the server (New's cleanup does it too).
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Workspace is the gid of the one workspace.
func (s *Server) Workspace() string { return s.workspace }

// Me is the gid of the user every token acts as.
func (s *Server) Me() string { return s.me }

// Now is the fake's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves the clock forward.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// tick is the time of a write: Asana's timestamps are in milliseconds and
// two writes never share one, so modified_at orders them.
func (s *Server) tick() time.Time {
	s.writesSeen++
	s.now = s.now.Add(time.Millisecond)
	return s.now
}

func (s *Server) gid() string {
	s.next++
	return strconv.FormatInt(s.next, 10)
}

// AddUser adds a workspace member and returns its gid.
func (s *Server) AddUser(name, email string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &User{GID: s.gid(), Name: name, Email: email}
	s.users = append(s.users, u)
	return u.GID
}

// Users returns the workspace members.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, len(s.users))
	for i, u := range s.users {
		out[i] = *u
	}
	return out
}

func (s *Server) user(gid string) *User {
	for _, u := range s.users {
		if u.GID == gid {
			return u
		}
	}
	return nil
}

// userRef resolves what Asana accepts for a user: a gid, an email or "me".
func (s *Server) userRef(v string) *User {
	if v == "me" {
		return s.user(s.me)
	}
	for _, u := range s.users {
		if u.GID == v || strings.EqualFold(u.Email, v) {
			return u
		}
	}
	return nil
}

// AddProject adds a project with the named sections (in board order) and
// returns its gid.
func (s *Server) AddProject(name string, sections ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &Project{GID: s.gid(), Name: name, CreatedAt: s.now, ModifiedAt: s.now, CustomValues: map[string]FieldValue{}}
	s.projects[p.GID] = p
	s.projOrder = append(s.projOrder, p.GID)
	for _, n := range sections {
		sec := &Section{GID: s.gid(), Name: n, Project: p.GID}
		s.sections[sec.GID] = sec
		p.Sections = append(p.Sections, sec.GID)
	}
	return p.GID
}

// Project returns a copy of project gid.
func (s *Server) Project(gid string) (Project, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[gid]
	if !ok {
		return Project{}, false
	}
	c := *p
	c.Sections, c.Fields = slices.Clone(p.Sections), slices.Clone(p.Fields)
	c.CustomValues = make(map[string]FieldValue, len(p.CustomValues))
	for k, v := range p.CustomValues {
		v.Multi, v.People = slices.Clone(v.Multi), slices.Clone(v.People)
		c.CustomValues[k] = v
	}
	return c, true
}

// Section returns a copy of section gid.
func (s *Server) Section(gid string) (Section, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.sections[gid]
	if !ok {
		return Section{}, false
	}
	return *sec, true
}

// SectionByName returns the gid of the section of project named name.
func (s *Server) SectionByName(project, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.projects[project]; p != nil {
		for _, g := range p.Sections {
			if s.sections[g].Name == name {
				return g
			}
		}
	}
	return ""
}

// AddCustomField adds a workspace custom field (option gids are filled
// in) and sets it on the given projects (for their tasks) and portfolios
// (for their projects); it returns the field as stored.
func (s *Server) AddCustomField(f CustomField, projects ...string) CustomField {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := f
	c.GID = s.gid()
	c.Options = nil
	for _, o := range f.Options {
		o.GID = s.gid()
		if o.Color == "" {
			o.Color = "none"
		}
		o.Enabled = true
		c.Options = append(c.Options, o)
	}
	s.fields[c.GID] = &c
	s.fieldOrd = append(s.fieldOrd, c.GID)
	for _, p := range projects {
		if pr := s.projects[p]; pr != nil {
			pr.Fields = append(pr.Fields, c.GID)
		}
		if pf := s.portfolios[p]; pf != nil {
			pf.Fields = append(pf.Fields, c.GID)
		}
	}
	out := c
	out.Options = slices.Clone(c.Options)
	return out
}

// AddTag adds a workspace tag and returns its gid.
func (s *Server) AddTag(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addTag(name).GID
}

func (s *Server) addTag(name string) *Tag {
	t := &Tag{GID: s.gid(), Name: name}
	s.tags[t.GID] = t
	s.tagOrder = append(s.tagOrder, t.GID)
	return t
}

// Tasks returns copies of the live tasks of project, in project order.
func (s *Server) Tasks(project string) []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Task
	for _, g := range s.taskOrder {
		t := s.tasks[g]
		if !t.Deleted && t.inProject(project) {
			out = append(out, t.clone())
		}
	}
	return out
}

// Task returns a copy of task gid (deleted ones too).
func (s *Server) Task(gid string) (Task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[gid]
	if !ok {
		return Task{}, false
	}
	return t.clone(), true
}

// Stories returns the live stories of task, oldest first.
func (s *Server) Stories(task string) []Story {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Story
	for _, g := range s.storyByT[task] {
		if st := s.stories[g]; !st.Deleted {
			out = append(out, *st)
		}
	}
	return out
}

func (t *Task) clone() Task {
	c := *t
	c.Tags = slices.Clone(t.Tags)
	c.Memberships = slices.Clone(t.Memberships)
	c.CustomValues = make(map[string]FieldValue, len(t.CustomValues))
	for k, v := range t.CustomValues {
		v.Multi, v.People = slices.Clone(v.Multi), slices.Clone(v.People)
		c.CustomValues[k] = v
	}
	return c
}

func (t *Task) inProject(p string) bool {
	for _, m := range t.Memberships {
		if m.Project == p {
			return true
		}
	}
	return false
}

func (t *Task) projectGIDs() []string {
	out := make([]string, len(t.Memberships))
	for i, m := range t.Memberships {
		out[i] = m.Project
	}
	return out
}

// CreateTask stores a task as a person would make it in the UI (gid,
// times and the first section filled in) and returns it.
func (s *Server) CreateTask(t Task) Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := t.clone()
	s.insertTask(&c)
	return c.clone()
}

func (s *Server) insertTask(t *Task) {
	t.GID = s.gid()
	now := s.tick()
	t.CreatedAt, t.ModifiedAt = now, now
	if t.HTMLNotes == "" {
		t.HTMLNotes = "<body></body>"
	}
	for i, m := range t.Memberships {
		if p := s.projects[m.Project]; p != nil && m.Section == "" && len(p.Sections) > 0 {
			t.Memberships[i].Section = p.Sections[0]
		}
	}
	if t.CustomValues == nil {
		t.CustomValues = map[string]FieldValue{}
	}
	if t.Completed {
		t.CompletedAt = now
	}
	s.tasks[t.GID] = t
	s.taskOrder = append(s.taskOrder, t.GID)
	for _, m := range t.Memberships {
		s.emit(t, "added", obj{"gid": m.Project, "resource_type": "project", "name": s.projects[m.Project].Name}, nil)
	}
	if t.Parent != "" {
		s.emit(t, "added", obj{"gid": t.Parent, "resource_type": "task", "name": s.tasks[t.Parent].Name}, nil)
	}
}

// EditTask changes a task as a person would: modified_at moves, an event
// is recorded for every field that changed.
func (s *Server) EditTask(gid string, mutate func(*Task)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[gid]
	if !ok || t.Deleted {
		return fmt.Errorf("asanatest: no task %s", gid)
	}
	before := t.clone()
	next := t.clone()
	mutate(&next)
	next.GID, next.CreatedAt = t.GID, t.CreatedAt
	*t = next
	s.changed(t, before)
	return nil
}

// DeleteTask deletes a task as a person would.
func (s *Server) DeleteTask(gid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[gid]
	if !ok || t.Deleted {
		return fmt.Errorf("asanatest: no task %s", gid)
	}
	s.deleteTask(t)
	return nil
}

func (s *Server) deleteTask(t *Task) {
	t.Deleted = true
	t.ModifiedAt = s.tick()
	s.emit(t, "deleted", nil, nil)
	for _, g := range s.taskOrder { // subtasks go with their parent
		if c := s.tasks[g]; c.Parent == t.GID && !c.Deleted {
			s.deleteTask(c)
		}
	}
}

// AddComment adds a comment by user (a gid, "" for the token's user).
func (s *Server) AddComment(task, user, htmlText string) (Story, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[task]
	if !ok || t.Deleted {
		return Story{}, fmt.Errorf("asanatest: no task %s", task)
	}
	if user == "" {
		user = s.me
	}
	return *s.addStory(t, "comment_added", htmlText, user), nil
}

func (s *Server) addStory(t *Task, subtype, htmlText, user string) *Story {
	st := &Story{GID: s.gid(), Task: t.GID, Subtype: subtype, HTMLText: htmlText, Text: markup.AsanaPlainText(htmlText), CreatedBy: user, CreatedAt: s.tick()}
	s.stories[st.GID] = st
	s.storyByT[t.GID] = append(s.storyByT[t.GID], st.GID)
	if subtype == "comment_added" {
		t.ModifiedAt = st.CreatedAt
		s.emitStory(t, st, "added")
	}
	return st
}

// changed records what differs between before and t: modified_at, system
// stories and events.
func (s *Server) changed(t *Task, before Task) {
	var fields []string
	add := func(f string, differs bool) {
		if differs {
			fields = append(fields, f)
		}
	}
	add("name", t.Name != before.Name)
	add("notes", t.HTMLNotes != before.HTMLNotes)
	add("completed", t.Completed != before.Completed)
	add("assignee", t.Assignee != before.Assignee)
	add("due_on", t.DueOn != before.DueOn)
	add("tags", !slices.Equal(t.Tags, before.Tags))
	add("parent", t.Parent != before.Parent)
	add("external", t.ExternalGID != before.ExternalGID || t.ExternalData != before.ExternalData)
	add("custom_fields", fmt.Sprint(t.CustomValues) != fmt.Sprint(before.CustomValues))
	add("memberships", !slices.Equal(t.Memberships, before.Memberships))
	if len(fields) == 0 {
		return
	}
	now := s.tick()
	t.ModifiedAt = now
	if t.Completed != before.Completed {
		if t.Completed {
			t.CompletedAt = now
			s.addStory(t, "marked_complete", "", s.me)
		} else {
			t.CompletedAt = time.Time{}
			s.addStory(t, "marked_incomplete", "", s.me)
		}
	}
	if !slices.Equal(t.Memberships, before.Memberships) {
		s.addStory(t, "section_changed", "", s.me)
	}
	for _, f := range fields {
		s.emit(t, "changed", nil, obj{"field": f, "action": "changed"})
	}
}

// emit records an event on task t, seen by subscribers of t, of its
// projects and of its parent.
func (s *Server) emit(t *Task, action string, parent obj, change obj) {
	s.seq++
	ev := obj{
		"user":       obj{"gid": s.me, "resource_type": "user", "name": s.user(s.me).Name},
		"resource":   obj{"gid": t.GID, "resource_type": "task", "resource_subtype": "default_task", "name": t.Name},
		"type":       "task",
		"action":     action,
		"parent":     nil,
		"created_at": stamp(s.now),
	}
	if parent != nil {
		ev["parent"] = parent
	}
	if change != nil {
		ev["change"] = change
	}
	res := append([]string{t.GID}, t.projectGIDs()...)
	if t.Parent != "" {
		res = append(res, t.Parent)
	}
	s.events = append(s.events, event{seq: s.seq, resources: res, json: ev})
	s.queueHooks(res, ev)
}

func (s *Server) emitStory(t *Task, st *Story, action string) {
	s.seq++
	ev := obj{
		"user":       obj{"gid": st.CreatedBy, "resource_type": "user", "name": s.user(st.CreatedBy).Name},
		"resource":   obj{"gid": st.GID, "resource_type": "story", "resource_subtype": st.Subtype},
		"type":       "story",
		"action":     action,
		"parent":     obj{"gid": t.GID, "resource_type": "task", "name": t.Name},
		"created_at": stamp(s.now),
	}
	res := append([]string{t.GID}, t.projectGIDs()...)
	s.events = append(s.events, event{seq: s.seq, resources: res, json: ev})
	s.queueHooks(res, ev)
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests returns the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetLog empties the request log.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Counts summarises the request log.
type Counts struct {
	// Reads counts GETs and /batch requests of reads only; Writes the rest.
	Total, Reads, Writes, Batches, RateLimited int
	// ByRoute counts requests by "METHOD /path" with gids as {gid}.
	ByRoute map[string]int
}

// Count summarises the request log.
func (s *Server) Count() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Counts{ByRoute: map[string]int{}}
	for _, r := range s.log {
		c.Total++
		if r.Method == http.MethodGet || r.ReadOnly {
			c.Reads++
		} else {
			c.Writes++
		}
		if r.Path == "/batch" {
			c.Batches++
		}
		if r.Status == http.StatusTooManyRequests {
			c.RateLimited++
		}
		c.ByRoute[r.Method+" "+routeClass(r.Path)]++
	}
	return c
}

func routeClass(p string) string {
	seg := strings.Split(p, "/")
	for i, x := range seg {
		if x != "" && strings.Trim(x, "0123456789") == "" {
			seg[i] = "{gid}"
		}
	}
	return strings.Join(seg, "/")
}

// ExpireSyncTokens makes every sync token issued so far invalid, as
// Asana does after about a day (advancing the clock past SyncTTL does the
// same).
func (s *Server) ExpireSyncTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]syncToken{}
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// AddSection adds a section at the end of project's board, as a person
// would, and returns its gid.
func (s *Server) AddSection(project, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[project]
	if p == nil {
		return "", fmt.Errorf("asanatest: no project %s", project)
	}
	sec := &Section{GID: s.gid(), Name: name, Project: p.GID}
	s.sections[sec.GID] = sec
	p.Sections = append(p.Sections, sec.GID)
	return sec.GID, nil
}

// SetChaos makes a share of all requests fail, reproducibly from seed:
// fail of them with 500 (half of those after the request was applied, as
// when an answer is lost), limited of them with 429 and Retry-After.
// SetChaos(0, 0, 0) stops it.
func (s *Server) SetChaos(seed uint64, fail, limited float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chaos, s.chaosFail, s.chaosLimit = nil, fail, limited
	if fail > 0 || limited > 0 {
		s.chaos = mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	}
}

// Injected counts the requests faults and chaos made fail.
func (s *Server) Injected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.injected
}

func (s *Server) chaosFault() *Fault {
	if s.chaos == nil {
		return nil
	}
	switch x := s.chaos.Float64(); {
	case x < s.chaosLimit:
		return &Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second, Message: "You have made too many requests recently. Please, be chill."}
	case x < s.chaosLimit+s.chaosFail:
		return &Fault{Status: http.StatusInternalServerError, Message: "Server Error", AfterApply: s.chaos.IntN(2) == 0}
	}
	return nil
}
