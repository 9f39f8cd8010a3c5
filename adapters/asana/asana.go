// Package asana is the tracksync adapter for Asana: tasks in one or more
// projects (optionally one section or tag of them) as items, their
// comments, incremental listing through the Events API, and webhooks; and,
// as a source of initiatives, a portfolio's projects (portfolio.go).
//
// Status comes from one of three places, chosen per tracker: the task's
// section in its project (a board's columns), an enum custom field, or
// the completed checkbox. Assignees are people's emails, looked up in the
// workspace's users; labels are tag names; custom fields of every type
// (text, number, enum, multi-enum, date, people) are read and written by
// name. Notes are Markdown through Asana's rich text (html_notes).
//
// The client is small and typed (wire.go) over the shared HTTP layer
// (adapters/internal/rest): retries of idempotent calls, the pacer below
// the workspace's request budget (150 or 1,500 a minute), at most 15
// writes in flight, 429 with Retry-After as *adapters.RateLimitError.
package asana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/internal/rest"
)

// DefaultURL is Asana's API base.
const DefaultURL = "https://app.asana.com/api/1.0"

// Status sources.
const (
	StatusSection     = "section"
	StatusCompleted   = "completed"
	StatusFieldPrefix = "custom_field:"
)

// The statuses of the completed source.
const (
	statusOpen      = "Open"
	statusCompleted = "Completed"
)

// Options configure a Tracker.
type Options struct {
	URL       string // API base (default DefaultURL)
	Token     string // a personal access token or an OAuth access token
	Workspace string // workspace gid
	// Projects whose sections are statuses (StatusSection) before any
	// scope names them; scopes add theirs.
	Projects []string
	// Status is where status lives: StatusSection (default),
	// StatusCompleted or StatusFieldPrefix+"<enum field name>".
	Status string
	// RequestsPerMinute paces all requests (default 150, a free
	// workspace's limit; paid workspaces allow 1,500).
	RequestsPerMinute int
	// ConcurrentWrites caps writes in flight (default 15, Asana's limit).
	ConcurrentWrites int
	// WebhookSecret verifies X-Hook-Signature when set by hand; secrets
	// from handshakes are kept in the KV.
	WebhookSecret string
	// SafetyPoll is how often an incremental listing also asks for the
	// tasks modified since the last one (default 15m): events are
	// delivered at most once.
	SafetyPoll time.Duration
	// AnyHandshake accepts a webhook handshake at any time (webhooks
	// created by hand); by default only while EnsureWebhooks creates one.
	AnyHandshake bool
	// External writes the idempotency key to the task's external gid as
	// well (only OAuth apps may).
	External bool
	Logger   *slog.Logger
	// Transport is the innermost transport (tests: the fake's).
	Transport http.RoundTripper
	// Clock and Sleep drive the pacer and the listing's clock (tests).
	Clock func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// RetryWaitMin and RetryWaitMax bound retry back-off (default 1s–30s).
	RetryWaitMin, RetryWaitMax time.Duration
}

// Tracker is an Asana workspace as a tracksync tracker.
type Tracker struct {
	name, workspace, base string
	opts                  Options
	http                  *http.Client
	pace                  *rest.Pacer
	writes                chan struct{}
	now                   func() time.Time
	log                   *slog.Logger
	statusField           string // the enum field's name for custom_field:<name>

	mu          sync.Mutex
	loaded      bool
	users       map[string]user   // by gid
	byEmail     map[string]string // lower-case email -> gid
	fields      map[string]customField
	tags        map[string]string // lower-case name -> gid
	tagsRead    bool
	sections    map[string][]section // by project gid
	projects    []string             // projects seen, in order
	keys        map[string]string    // idempotency key -> task gid
	keyOf       map[string]string    // task gid -> key
	indexed     map[string]bool      // projects scanned for markers
	scanned     map[string]time.Time // when each indexed project's scan (or full listing) began
	dirty       map[string]time.Time // projects where a create's answer was lost, since when
	refreshed   map[string]time.Time // when a miss last re-read metadata ("" workspace, else a project)
	registering int                  // EnsureWebhooks calls creating a webhook now
	kv          adapters.KV
	secrets     []string
	seenHook    *adapters.DeliverySet
}

var (
	_ adapters.Tracker            = (*Tracker)(nil)
	_ adapters.Commenter          = (*Tracker)(nil)
	_ adapters.Deleter            = (*Tracker)(nil)
	_ adapters.Checker            = (*Tracker)(nil)
	_ adapters.WebhookDecoder     = (*Tracker)(nil)
	_ adapters.HandshakeResponder = (*Tracker)(nil)
	_ adapters.KVUser             = (*Tracker)(nil)
	_ adapters.WebhookRegistrar   = (*Tracker)(nil)
	_ adapters.BulkCreator        = (*Tracker)(nil)
	_ adapters.Archiver           = (*Tracker)(nil)
)

// New returns a tracker named name.
func New(name string, o Options) (*Tracker, error) {
	if o.Token == "" {
		return nil, fmt.Errorf("asana tracker %s: no token", name)
	}
	if o.Workspace == "" {
		return nil, fmt.Errorf("asana tracker %s: no workspace gid", name)
	}
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if _, err := url.Parse(o.URL); err != nil {
		return nil, fmt.Errorf("asana tracker %s: url: %w", name, err)
	}
	if o.Status == "" {
		o.Status = StatusSection
	}
	t := &Tracker{name: name, workspace: o.Workspace, base: strings.TrimSuffix(o.URL, "/"), opts: o,
		now: o.Clock, log: o.Logger, keys: map[string]string{}, keyOf: map[string]string{},
		indexed: map[string]bool{}, scanned: map[string]time.Time{}, dirty: map[string]time.Time{}, sections: map[string][]section{},
		seenHook: adapters.NewDeliverySet(4096)}
	switch {
	case o.Status == StatusSection, o.Status == StatusCompleted:
	case strings.HasPrefix(o.Status, StatusFieldPrefix) && len(o.Status) > len(StatusFieldPrefix):
		t.statusField = strings.TrimPrefix(o.Status, StatusFieldPrefix)
	default:
		return nil, fmt.Errorf("asana tracker %s: status %q: want section, completed or custom_field:<name>", name, o.Status)
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if o.RequestsPerMinute <= 0 {
		o.RequestsPerMinute = 150
	}
	if o.ConcurrentWrites <= 0 {
		o.ConcurrentWrites = 15
	}
	if o.SafetyPoll <= 0 {
		t.opts.SafetyPoll = 15 * time.Minute
	}
	if o.RetryWaitMin == 0 {
		o.RetryWaitMin, o.RetryWaitMax = time.Second, 30*time.Second
	}
	t.writes = make(chan struct{}, o.ConcurrentWrites)
	perSec := float64(o.RequestsPerMinute) / 60
	t.pace = rest.NewPacer(rest.PacerOptions{Tracker: name, Clock: o.Clock, Sleep: o.Sleep,
		// A bucket smooths bursts; the window is Asana's own rule (so
		// many in any minute), which a bucket alone overshoots by its burst.
		Limits: rest.Limits{PerSecond: perSec, Burst: max(1, o.RequestsPerMinute/10),
			Windows: []rest.Window{{Limit: o.RequestsPerMinute, Per: time.Minute}}}})
	next := o.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	t.http = rest.NewClient(rest.Config{Tracker: name, Transport: t.pace.Transport(&tokenTransport{token: o.Token, next: next}),
		Timeout: time.Minute, RetryMax: 3, RetryWaitMin: o.RetryWaitMin, RetryWaitMax: o.RetryWaitMax})
	for _, p := range o.Projects {
		t.seeProject(p)
	}
	if o.WebhookSecret != "" {
		t.secrets = []string{o.WebhookSecret}
	}
	return t, nil
}

// Name implements adapters.Tracker.
func (t *Tracker) Name() string { return t.name }

// Capabilities implements adapters.Tracker. The statuses and custom
// fields are read from Asana on first use.
func (t *Tracker) Capabilities() adapters.Capabilities {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	caps := adapters.Capabilities{
		Fields: []string{adapters.FieldTitle, adapters.FieldBody, adapters.FieldStatus, adapters.FieldAssignees,
			adapters.FieldLabels, adapters.FieldDue, adapters.FieldParent},
		Kinds:       []adapters.Kind{adapters.KindIssue},
		MaxPageSize: 100,
	}
	if err := t.ensureMeta(ctx); err != nil {
		t.log.Warn("asana: reading the workspace's custom fields", "error", err)
	}
	t.mu.Lock()
	var names []string
	for n := range t.fields {
		if n != t.statusField {
			names = append(names, n)
		}
	}
	projects := slices.Clone(t.projects)
	status := t.fields[t.statusField]
	t.mu.Unlock()
	sort.Strings(names)
	for _, n := range names {
		caps.Fields = append(caps.Fields, adapters.CustomPrefix+n)
	}
	switch {
	case t.opts.Status == StatusCompleted:
		caps.Statuses = []adapters.StatusDef{{Name: statusOpen, Category: adapters.CategoryTodo}, {Name: statusCompleted, Category: adapters.CategoryDone}}
	case t.statusField != "":
		for _, o := range status.EnumOptions {
			if o.Enabled == nil || *o.Enabled {
				caps.Statuses = append(caps.Statuses, adapters.StatusDef{Name: o.Name, Category: category(o.Name)})
			}
		}
	default:
		seen := map[string]bool{}
		for _, p := range projects {
			secs, err := t.sectionsOf(ctx, p)
			if err != nil {
				t.log.Warn("asana: reading sections", "project", p, "error", err)
				continue
			}
			for _, s := range secs {
				if !seen[s.Name] {
					seen[s.Name] = true
					caps.Statuses = append(caps.Statuses, adapters.StatusDef{Name: s.Name, Category: category(s.Name)})
				}
			}
		}
	}
	return caps
}

// category guesses a status's category from its name: Asana sections and
// enum options carry none.
func category(name string) adapters.StatusCategory {
	n := strings.ToLower(name)
	for _, w := range []string{"done", "complete", "closed", "shipped", "finished", "released", "resolved", "cancel", "won't"} {
		if strings.Contains(n, w) {
			return adapters.CategoryDone
		}
	}
	for _, w := range []string{"progress", "doing", "review", "active", "started", "wip", "testing", "blocked", "at risk", "on track", "off track"} {
		if strings.Contains(n, w) {
			return adapters.CategoryInProgress
		}
	}
	return adapters.CategoryTodo
}

// taskPath is the path of task gid.
func taskPath(gid string) string { return "/tasks/" + url.PathEscape(gid) }

func refGID(ref adapters.Ref) string {
	if ref.ID != "" {
		return ref.ID
	}
	return ref.Key
}

// getTask reads one task with every field toItem uses.
func (t *Tracker) getTask(ctx context.Context, gid string) (task, error) {
	if gid == "" || strings.Trim(gid, "0123456789") != "" {
		return task{}, &adapters.APIError{Tracker: t.name, Op: "GET /tasks/" + gid, Message: "not a task gid", Err: adapters.ErrNotFound}
	}
	tk, err := getOne[task](ctx, t, taskPath(gid), taskFields, "a task")
	if err != nil {
		return task{}, err
	}
	t.record(tk)
	return tk, nil
}

// Get implements adapters.Tracker; comments included.
func (t *Tracker) Get(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	if isProjectRef(ref) {
		return t.getProjectItem(ctx, ref)
	}
	gid := refGID(ref)
	tk, err := t.getTask(ctx, gid)
	if err != nil {
		return adapters.Item{}, fmt.Errorf("reading asana task %s: %w", gid, err)
	}
	it, err := t.toItem(ctx, tk, ref.Project)
	if err != nil {
		return adapters.Item{}, err
	}
	cs, err := t.Comments(ctx, it.Ref)
	if err != nil {
		return adapters.Item{}, err
	}
	it.Comments = cs
	return it, nil
}

// record remembers the idempotency key tk carries.
func (t *Tracker) record(tk task) {
	key := taskKey(tk)
	if key == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.keys[key] = tk.GID
	t.keyOf[tk.GID] = key
}

// taskKey is the key tk carries: the notes marker, else external.gid.
func taskKey(tk task) string {
	if _, k := splitMarker(tk.HTMLNotes); k != "" {
		return k
	}
	if tk.External != nil && strings.HasPrefix(tk.External.GID, externalPrefix) {
		return strings.TrimPrefix(tk.External.GID, externalPrefix)
	}
	return ""
}

const externalPrefix = "tracksync:"

// pickProject is the project an item is seen in: preferred when the task
// is in it, else the first project the tracker knows, else its first.
func (t *Tracker) pickProject(tk task, preferred string) string {
	t.mu.Lock()
	known := slices.Clone(t.projects)
	t.mu.Unlock()
	first := ""
	for _, m := range tk.Memberships {
		if m.Project == nil {
			continue
		}
		if m.Project.GID == preferred {
			return preferred
		}
		if first == "" {
			first = m.Project.GID
		}
	}
	for _, m := range tk.Memberships {
		if m.Project != nil && slices.Contains(known, m.Project.GID) {
			return m.Project.GID
		}
	}
	return first
}

// version is an item's Version: Asana has no ETag, modified_at moves on
// every change.
func version(tk task) string { return tk.ModifiedAt.UTC().Format(time.RFC3339Nano) }

// toItem translates a task; project is the project the caller sees it in
// ("" to pick one).
func (t *Tracker) toItem(ctx context.Context, tk task, project string) (adapters.Item, error) {
	if err := t.ensureMeta(ctx); err != nil {
		return adapters.Item{}, err
	}
	project = t.pickProject(tk, project)
	notes, key := splitMarker(tk.HTMLNotes)
	if key == "" {
		key = taskKey(tk)
	}
	body, err := fromRichText(notes)
	if err != nil {
		return adapters.Item{}, fmt.Errorf("asana task %s: reading html_notes: %w", tk.GID, err)
	}
	it := adapters.Item{
		Ref:       adapters.Ref{Tracker: t.name, Project: project, ID: tk.GID, Key: tk.GID, URL: tk.PermalinkURL},
		Kind:      adapters.KindIssue, // Asana has one kind of task; subtasks carry a parent
		Title:     tk.Name,
		Body:      body,
		UpdatedAt: tk.ModifiedAt,
		Version:   version(tk),
		SyncKey:   key,
	}
	switch {
	case t.opts.Status == StatusCompleted:
		it.Status = statusOpen
		if tk.Completed {
			it.Status = statusCompleted
		}
	case t.statusField != "":
		for _, cf := range tk.CustomFields {
			if cf.Name == t.statusField && cf.EnumValue != nil {
				it.Status = cf.EnumValue.Name
			}
		}
	default:
		for _, m := range tk.Memberships {
			if m.Project != nil && m.Project.GID == project && m.Section != nil {
				it.Status = m.Section.Name
			}
		}
	}
	it.StatusCategory = category(it.Status)
	if it.Status == "" {
		it.StatusCategory = ""
	}
	if tk.Assignee != nil {
		it.Assignees = []string{t.email(tk.Assignee.GID)}
	}
	for _, tg := range tk.Tags {
		it.Labels = append(it.Labels, tg.Name)
	}
	it.Labels = adapters.NormalizeList(it.Labels)
	if tk.DueOn != nil {
		it.Due = *tk.DueOn
	}
	if tk.Parent != nil {
		it.Parent = &adapters.Ref{Tracker: t.name, ID: tk.Parent.GID, Key: tk.Parent.GID}
	}
	it.Fields = t.fieldValues(tk.CustomFields)
	return it, nil
}

// fieldValues are the custom field values of a task or project by field
// name, but the status field's; nil when none is set.
func (t *Tracker) fieldValues(cfs []customValue) map[string]string {
	var out map[string]string
	for _, cf := range cfs {
		if cf.Name == t.statusField {
			continue
		}
		if v := t.fieldString(cf); v != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[cf.Name] = v
		}
	}
	return out
}

// fieldString is a custom field's canonical value: multi-valued fields as
// their sorted names (people: emails) joined by ", ".
func (t *Tracker) fieldString(cf customValue) string {
	switch cf.kind() {
	case "text":
		if cf.TextValue != nil {
			return *cf.TextValue
		}
	case "number":
		if cf.NumberValue != nil {
			return strconv.FormatFloat(*cf.NumberValue, 'f', -1, 64)
		}
	case "enum":
		if cf.EnumValue != nil {
			return cf.EnumValue.Name
		}
	case "multi_enum":
		var l []string
		for _, o := range cf.MultiEnumValues {
			l = append(l, o.Name)
		}
		sort.Strings(l)
		return strings.Join(l, ", ")
	case "date":
		if cf.DateValue != nil {
			return cf.DateValue.Date
		}
	case "people":
		var l []string
		for _, p := range cf.PeopleValue {
			l = append(l, t.email(p.GID))
		}
		sort.Strings(l)
		return strings.Join(l, ", ")
	}
	return ""
}

func invalid(format string, args ...any) error {
	return adapters.Permanent(fmt.Errorf(format+": %w", append(args, adapters.ErrInvalid)...))
}

// statusTarget is what writing status s takes: a section gid to move to
// (section source), a custom field value, or completed.
func (t *Tracker) statusWrite(ctx context.Context, project, s string, w *taskWrite) (sectionGID string, err error) {
	switch {
	case t.opts.Status == StatusCompleted:
		var done bool
		switch s {
		case statusOpen:
		case statusCompleted:
			done = true
		default:
			return "", invalid("asana status %q: with status: completed the statuses are %s and %s", s, statusOpen, statusCompleted)
		}
		w.Completed = &done
	case t.statusField != "":
		g, v, err := t.fieldValue(ctx, t.statusField, s)
		if err != nil {
			return "", err
		}
		if w.CustomFields == nil {
			w.CustomFields = map[string]json.RawMessage{}
		}
		w.CustomFields[g] = v
	default:
		if project == "" {
			return "", invalid("asana status %q: the task's project is not known, so neither is its section", s)
		}
		secs, err := t.sectionsOf(ctx, project)
		if err != nil {
			return "", err
		}
		for try := 0; ; try++ {
			for _, sec := range secs {
				if sec.Name == s {
					return sec.GID, nil
				}
			}
			if try > 0 || !t.refresh(project) {
				break
			}
			// A section added or renamed since they were read.
			if secs, err = t.sectionsOf(ctx, project); err != nil {
				return "", err
			}
		}
		var names []string
		for _, sec := range secs {
			names = append(names, sec.Name)
		}
		return "", invalid("asana project %s has no section %q (sections: %s)", project, s, strings.Join(names, ", "))
	}
	return "", nil
}

// newTask is a create worked out: the body to POST and where it goes.
type newTask struct {
	title, project, key, status string
	section                     string // the section to move to after (section status)
	w                           taskWrite
}

// prepare works out the create of it: its project, and either the task
// already carrying its idempotency key (found) or what to POST.
// fresh are the projects whose keys this call has already brought up to
// date (a bulk create looks once, not once a task).
func (t *Tracker) prepare(ctx context.Context, it adapters.Item, opts adapters.CreateOptions, fresh map[string]bool) (nt newTask, found *task, err error) {
	project := it.Ref.Project
	if project == "" && opts.Scope != "" {
		sc, err := parseScope(opts.Scope)
		if err != nil {
			return nt, nil, err
		}
		if sc.portfolio != "" {
			return nt, nil, invalid("creating asana task %q: scope %q lists a portfolio's projects; tasks are made in a project (name its gid)", it.Title, opts.Scope)
		}
		project = sc.projects[0]
	}
	if project == "" {
		t.mu.Lock()
		if len(t.projects) > 0 {
			project = t.projects[0]
		}
		t.mu.Unlock()
	}
	if project == "" {
		return nt, nil, invalid("creating asana task %q: no project (give a scope or the item's project)", it.Title)
	}
	if strings.HasPrefix(project, portfolioPrefix) {
		return nt, nil, invalid("creating asana task %q: %s is a portfolio; tasks are made in a project", it.Title, project)
	}
	t.seeProject(project)
	if err := t.ensureMeta(ctx); err != nil {
		return nt, nil, err
	}
	key := opts.IdempotencyKey
	nt = newTask{title: it.Title, project: project, key: key, status: it.Status}
	if key != "" {
		tk, ok, err := t.findKey(ctx, project, key, fresh)
		if err != nil {
			return nt, nil, fmt.Errorf("creating asana task %q: looking for key %q: %w", it.Title, key, err)
		}
		if ok {
			return nt, &tk, nil
		}
	}
	title := it.Title
	w := taskWrite{Name: &title, Projects: []string{project}}
	html, err := toRichText(it.Body)
	if err != nil {
		return nt, nil, invalid("asana task %q: body: %v", it.Title, err)
	}
	html = withMarker(html, key)
	w.HTMLNotes = &html
	if key != "" && t.opts.External {
		w.External = &external{GID: externalPrefix + key}
	}
	if err := t.plainFields(ctx, &w, it, []string{adapters.FieldAssignees, adapters.FieldDue}); err != nil {
		return nt, nil, fmt.Errorf("creating asana task %q: %w", it.Title, err)
	}
	for _, l := range adapters.NormalizeList(it.Labels) {
		g, err := t.tagGID(ctx, l)
		if err != nil {
			return nt, nil, err
		}
		w.Tags = append(w.Tags, g)
	}
	for _, n := range sortedKeys(it.Fields) {
		if n == t.statusField {
			continue
		}
		g, v, err := t.fieldValue(ctx, n, it.Fields[n])
		if err != nil {
			return nt, nil, fmt.Errorf("creating asana task %q: %w", it.Title, err)
		}
		if w.CustomFields == nil {
			w.CustomFields = map[string]json.RawMessage{}
		}
		w.CustomFields[g] = v
	}
	if it.Parent != nil && it.Parent.ID != "" {
		p := it.Parent.ID
		w.Parent = &p
	}
	if it.Status != "" {
		if nt.section, err = t.statusWrite(ctx, project, it.Status, &w); err != nil {
			return nt, nil, fmt.Errorf("creating asana task %q: %w", it.Title, err)
		}
	}
	nt.w = w
	return nt, nil, nil
}

// lost notes that a create's answer may be lost while the task was made:
// the next lookup of a key in project scans what changed since.
func (t *Tracker) lost(project string, since time.Time, err error) {
	if adapters.IsPermanent(err) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.dirty[project]; !ok {
		t.dirty[project] = since
	}
}

// Create implements adapters.Tracker.
func (t *Tracker) Create(ctx context.Context, it adapters.Item, opts adapters.CreateOptions) (adapters.CreateResult, error) {
	nt, found, err := t.prepare(ctx, it, opts, map[string]bool{})
	if err != nil {
		return adapters.CreateResult{}, err
	}
	if found != nil {
		got, err := t.toItem(ctx, *found, nt.project)
		return adapters.CreateResult{Item: got, Existed: true}, err
	}
	started := t.now()
	var out one[task]
	err = t.call(ctx, request{method: http.MethodPost, path: "/tasks", query: url.Values{"opt_fields": {taskFields}}, body: nt.w}, recordShape("a task"), &out)
	if err != nil {
		t.lost(nt.project, started, err)
		return adapters.CreateResult{}, fmt.Errorf("creating asana task %q in project %s: %w", it.Title, nt.project, err)
	}
	tk := out.Data
	t.record(tk)
	if nt.section != "" && !inSection(tk, nt.project, nt.section) {
		if err := t.call(ctx, request{method: http.MethodPost, path: "/sections/" + nt.section + "/addTask", body: map[string]any{"task": tk.GID}, idempotent: true}, dataShape("an empty answer"), nil); err != nil {
			return adapters.CreateResult{}, fmt.Errorf("moving new asana task %s to section %q: %w", tk.GID, it.Status, err)
		}
		if tk, err = t.getTask(ctx, tk.GID); err != nil {
			return adapters.CreateResult{}, fmt.Errorf("reading new asana task back: %w", err)
		}
	}
	got, err := t.toItem(ctx, tk, nt.project)
	if err != nil {
		return adapters.CreateResult{}, err
	}
	t.log.Info("asana task created", "task", tk.GID, "project", nt.project)
	return adapters.CreateResult{Item: got}, nil
}

// CreateMany implements adapters.BulkCreator: the creates go ten to a
// /batch request, then the moves to their sections and the read-back of
// the moved tasks, ten to a request each. Each keeps its idempotency key;
// on an error, the tasks made so far are found by their keys next time.
func (t *Tracker) CreateMany(ctx context.Context, reqs []adapters.CreateRequest) ([]adapters.CreateResult, error) {
	results := make([]adapters.CreateResult, len(reqs))
	var todo []int
	plans := make([]newTask, len(reqs))
	fresh := map[string]bool{}
	for i, r := range reqs {
		nt, found, err := t.prepare(ctx, r.Item, r.Options, fresh)
		if err != nil {
			return nil, fmt.Errorf("bulk create, item %d: %w", i, err)
		}
		if found != nil {
			got, err := t.toItem(ctx, *found, nt.project)
			if err != nil {
				return nil, err
			}
			results[i] = adapters.CreateResult{Item: got, Existed: true}
			continue
		}
		plans[i] = nt
		todo = append(todo, i)
	}
	made := map[int]task{}
	fields := splitFields(taskFields)
	for len(todo) > 0 {
		n := min(len(todo), 10)
		chunk := todo[:n]
		actions := make([]batchAction, n)
		for j, i := range chunk {
			var data map[string]any
			b, _ := json.Marshal(plans[i].w)
			_ = json.Unmarshal(b, &data)
			actions[j] = batchAction{RelativePath: "/tasks", Method: "post", Data: data, Options: &batchOptions{Fields: fields}}
		}
		if err := adapters.Fence(ctx); err != nil {
			return nil, fmt.Errorf("bulk create in asana: %w", err)
		}
		started := t.now()
		res, err := t.batch(ctx, actions, false)
		if err != nil {
			for _, i := range chunk {
				t.lost(plans[i].project, started, err)
			}
			return nil, fmt.Errorf("bulk create in asana: %w", err)
		}
		// Every result is read before an error is returned: the actions
		// of a batch run in no order, and the tasks made beside a refused
		// one must be found by their keys when the creates are retried.
		var failed error
		for j, r := range res {
			i := chunk[j]
			var err error
			if r.StatusCode >= 300 {
				err = t.batchError(actions[j], r)
			} else {
				var tk task
				if tk, err = t.batchTask(actions[j], r); err == nil {
					t.record(tk)
					made[i] = tk
					continue
				}
			}
			t.lost(plans[i].project, started, err)
			if failed == nil {
				failed = fmt.Errorf("bulk create in asana, task %q: %w", plans[i].title, err)
			}
		}
		if failed != nil {
			return nil, failed
		}
		todo = todo[n:]
	}
	var moves []batchAction
	var moved []string
	for i, tk := range made {
		if s := plans[i].section; s != "" && !inSection(tk, plans[i].project, s) {
			moves = append(moves, batchAction{RelativePath: "/sections/" + s + "/addTask", Method: "post", Data: map[string]any{"task": tk.GID}})
			moved = append(moved, tk.GID)
		}
	}
	if len(moves) > 0 {
		if err := t.runActions(ctx, moves); err != nil {
			return nil, fmt.Errorf("bulk create in asana: moving new tasks to their sections: %w", err)
		}
		back, _, err := t.fetchTasks(ctx, moved)
		if err != nil {
			return nil, err
		}
		for i, tk := range made {
			if b, ok := back[tk.GID]; ok {
				made[i] = b
			}
		}
	}
	for i, tk := range made {
		got, err := t.toItem(ctx, tk, plans[i].project)
		if err != nil {
			return nil, err
		}
		results[i] = adapters.CreateResult{Item: got}
	}
	t.log.Info("asana tasks created in bulk", "created", len(made), "found", len(reqs)-len(made))
	return results, nil
}

func inSection(tk task, project, section string) bool {
	for _, m := range tk.Memberships {
		if m.Project != nil && m.Project.GID == project && m.Section != nil && m.Section.GID == section {
			return true
		}
	}
	return false
}

// plainFields writes the fields among fields that PUT /tasks takes
// directly (not body, status or custom fields).
func (t *Tracker) plainFields(ctx context.Context, w *taskWrite, it adapters.Item, fields []string) error {
	for _, f := range fields {
		switch f {
		case adapters.FieldTitle:
			title := it.Title
			w.Name = &title
		case adapters.FieldAssignees:
			a := adapters.NormalizeList(it.Assignees)
			if len(a) == 0 {
				w.Assignee = json.RawMessage("null")
				break
			}
			if len(a) > 1 {
				// As Jira: the engine sees what was kept on read-back and
				// brings the other side to it.
				t.log.Warn("an asana task holds one assignee; writing the first", "assignees", strings.Join(a, ","))
			}
			g, err := t.userGID(ctx, a[0])
			if err != nil {
				return err
			}
			w.Assignee, _ = json.Marshal(g)
		case adapters.FieldDue:
			if it.Due == "" {
				w.DueOn = json.RawMessage("null")
			} else {
				if _, err := time.Parse("2006-01-02", it.Due); err != nil {
					return invalid("due date %q is not YYYY-MM-DD", it.Due)
				}
				w.DueOn, _ = json.Marshal(it.Due)
			}
		}
	}
	return nil
}

// findKey finds the task carrying idempotency key in project: from what
// this process has read, after scanning the project's notes once and then,
// once a call (fresh), what changed since the last scan: another process
// (a second state file: a laptop beside a server) may have made the task
// since, and Asana, not this process's index, is the authority.
func (t *Tracker) findKey(ctx context.Context, project, key string, fresh map[string]bool) (task, bool, error) {
	t.mu.Lock()
	gid, known := t.keys[key]
	indexed := t.indexed[project]
	since := t.scanned[project]
	if d, ok := t.dirty[project]; ok && d.Before(since) {
		since = d
	}
	_, dirty := t.dirty[project]
	t.mu.Unlock()
	if !known && (!indexed || dirty || !fresh[project]) {
		started := t.now()
		q := url.Values{"project": {project}, "opt_fields": {markerFields}}
		if indexed && !since.IsZero() {
			// Only GET /tasks takes modified_since.
			q.Set("modified_since", since.Add(-time.Minute).UTC().Format(time.RFC3339))
		}
		tasks, err := listAll[task](ctx, t, "/tasks", q, "tasks")
		if err != nil {
			return task{}, false, err
		}
		for _, tk := range tasks {
			t.record(tk)
		}
		t.mu.Lock()
		t.indexed[project] = true
		t.scanned[project] = started
		delete(t.dirty, project)
		gid, known = t.keys[key]
		t.mu.Unlock()
		fresh[project] = true
	}
	if !known {
		return task{}, false, nil
	}
	tk, err := t.getTask(ctx, gid)
	if errors.Is(err, adapters.ErrNotFound) || (err == nil && taskKey(tk) != key) {
		t.mu.Lock()
		delete(t.keys, key)
		t.mu.Unlock()
		return task{}, false, nil
	}
	if err != nil {
		return task{}, false, err
	}
	return tk, true, nil
}

// Update implements adapters.Tracker.
func (t *Tracker) Update(ctx context.Context, ref adapters.Ref, p adapters.Patch) (adapters.Item, error) {
	if isProjectRef(ref) {
		return t.updateProject(ctx, ref, p)
	}
	gid := refGID(ref)
	caps := t.Capabilities()
	for _, f := range p.Fields {
		if !caps.HasField(f) {
			return adapters.Item{}, adapters.Permanent(fmt.Errorf("updating asana task %s: field %q: %w", gid, f, adapters.ErrUnsupported))
		}
	}
	t.mu.Lock()
	key, keyKnown := t.keyOf[gid]
	t.mu.Unlock()
	needCur := p.IfVersion != "" || slices.Contains(p.Fields, adapters.FieldLabels) ||
		(slices.Contains(p.Fields, adapters.FieldBody) && !keyKnown) ||
		(slices.Contains(p.Fields, adapters.FieldStatus) && t.opts.Status == StatusSection && ref.Project == "")
	var cur task
	if needCur {
		var err error
		if cur, err = t.getTask(ctx, gid); err != nil {
			return adapters.Item{}, fmt.Errorf("updating asana task %s: %w", gid, err)
		}
		if p.IfVersion != "" && version(cur) != p.IfVersion {
			return adapters.Item{}, &adapters.APIError{Tracker: t.name, Op: "update task " + gid,
				Message: fmt.Sprintf("changed since it was read (version %s, now %s)", p.IfVersion, version(cur)), Err: adapters.ErrConflict}
		}
		key = taskKey(cur)
	}
	project := ref.Project
	if project == "" && needCur {
		project = t.pickProject(cur, "")
	}
	var (
		w      taskWrite
		put    bool
		action []batchAction
	)
	for _, f := range p.Fields {
		switch {
		case f == adapters.FieldTitle || f == adapters.FieldAssignees || f == adapters.FieldDue:
			if err := t.plainFields(ctx, &w, p.Item, []string{f}); err != nil {
				return adapters.Item{}, fmt.Errorf("updating asana task %s: %w", gid, err)
			}
			put = true
		case f == adapters.FieldBody:
			html, err := toRichText(p.Item.Body)
			if err != nil {
				return adapters.Item{}, invalid("updating asana task %s: body: %v", gid, err)
			}
			html = withMarker(html, key)
			w.HTMLNotes, put = &html, true
		case f == adapters.FieldStatus:
			sec, err := t.statusWrite(ctx, project, p.Item.Status, &w)
			if err != nil {
				return adapters.Item{}, fmt.Errorf("updating asana task %s: %w", gid, err)
			}
			if sec != "" {
				action = append(action, batchAction{RelativePath: "/sections/" + sec + "/addTask", Method: "post", Data: map[string]any{"task": gid}})
			} else {
				put = true
			}
		case f == adapters.FieldLabels:
			want := map[string]bool{}
			for _, l := range adapters.NormalizeList(p.Item.Labels) {
				want[strings.ToLower(l)] = true
				if !slices.ContainsFunc(cur.Tags, func(c compact) bool { return strings.EqualFold(c.Name, l) }) {
					g, err := t.tagGID(ctx, l)
					if err != nil {
						return adapters.Item{}, err
					}
					action = append(action, batchAction{RelativePath: taskPath(gid) + "/addTag", Method: "post", Data: map[string]any{"tag": g}})
				}
			}
			for _, c := range cur.Tags {
				if !want[strings.ToLower(c.Name)] {
					action = append(action, batchAction{RelativePath: taskPath(gid) + "/removeTag", Method: "post", Data: map[string]any{"tag": c.GID}})
				}
			}
		case f == adapters.FieldParent:
			var parent any
			if p.Item.Parent != nil && p.Item.Parent.ID != "" {
				parent = p.Item.Parent.ID
			}
			action = append(action, batchAction{RelativePath: taskPath(gid) + "/setParent", Method: "post", Data: map[string]any{"parent": parent}})
		case strings.HasPrefix(f, adapters.CustomPrefix):
			g, v, err := t.fieldValue(ctx, strings.TrimPrefix(f, adapters.CustomPrefix), p.Item.Fields[strings.TrimPrefix(f, adapters.CustomPrefix)])
			if err != nil {
				return adapters.Item{}, fmt.Errorf("updating asana task %s: %w", gid, err)
			}
			if w.CustomFields == nil {
				w.CustomFields = map[string]json.RawMessage{}
			}
			w.CustomFields[g], put = v, true
		}
	}
	var tk task
	if put {
		var out one[task]
		err := t.call(ctx, request{method: http.MethodPut, path: taskPath(gid), query: url.Values{"opt_fields": {taskFields}}, body: w}, recordShape("a task"), &out)
		if err != nil {
			return adapters.Item{}, fmt.Errorf("updating asana task %s (%s): %w", gid, strings.Join(p.Fields, ", "), err)
		}
		tk = out.Data
		t.record(tk)
	}
	if len(action) > 0 {
		if err := t.runActions(ctx, action); err != nil {
			return adapters.Item{}, fmt.Errorf("updating asana task %s (%s): %w", gid, strings.Join(p.Fields, ", "), err)
		}
	}
	if !put || len(action) > 0 {
		// The PUT's answer predates the actions: read the task back.
		var err error
		if tk, err = t.getTask(ctx, gid); err != nil {
			return adapters.Item{}, fmt.Errorf("reading asana task %s back: %w", gid, err)
		}
	}
	t.log.Info("asana task updated", "task", gid, "fields", strings.Join(p.Fields, ","))
	return t.toItem(ctx, tk, project)
}

// runActions sends writes that each set an absolute state (addTask,
// addTag, removeTag, setParent): one alone as itself, several in /batch
// requests of at most 10 (the order among them does not matter).
func (t *Tracker) runActions(ctx context.Context, actions []batchAction) error {
	if len(actions) == 1 {
		a := actions[0]
		return t.call(ctx, request{method: http.MethodPost, path: a.RelativePath, body: a.Data, idempotent: true}, dataShape("an answer"), nil)
	}
	for len(actions) > 0 {
		n := min(len(actions), 10)
		res, err := t.batch(ctx, actions[:n], true)
		if err != nil {
			return err
		}
		for i, r := range res {
			if r.StatusCode >= 300 {
				return t.batchError(actions[i], r)
			}
		}
		actions = actions[n:]
	}
	return nil
}

// Delete implements adapters.Deleter.
func (t *Tracker) Delete(ctx context.Context, ref adapters.Ref) error {
	gid := refGID(ref)
	if err := t.call(ctx, request{method: http.MethodDelete, path: taskPath(gid)}, dataShape("an answer"), nil); err != nil {
		return fmt.Errorf("deleting asana task %s: %w", gid, err)
	}
	t.mu.Lock()
	if k, ok := t.keyOf[gid]; ok {
		delete(t.keys, k)
		delete(t.keyOf, gid)
	}
	t.mu.Unlock()
	t.log.Info("asana task deleted", "task", gid)
	return nil
}

// Check implements adapters.Checker: the token works, the workspace and
// every configured project can be read, the status field exists.
func (t *Tracker) Check(ctx context.Context) error {
	if _, err := getOne[user](ctx, t, "/users/me", "name,email", "the token's user"); err != nil {
		return fmt.Errorf("asana tracker %s: the token: %w", t.name, err)
	}
	if err := t.ensureMeta(ctx); err != nil {
		return fmt.Errorf("asana tracker %s: %w", t.name, err)
	}
	t.mu.Lock()
	projects := slices.Clone(t.projects)
	t.mu.Unlock()
	for _, p := range projects {
		if _, err := getOne[compact](ctx, t, "/projects/"+p, "name", "a project"); err != nil {
			return fmt.Errorf("asana tracker %s: project %s: %w", t.name, p, err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Archive implements adapters.Archiver: the task moves to the first
// done-category status (a "Done" section, a done enum option, or
// completed) and is marked complete, as people close work in Asana.
func (t *Tracker) Archive(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	done := ""
	for _, s := range t.Capabilities().Statuses {
		if s.Category == adapters.CategoryDone {
			done = s.Name
			break
		}
	}
	if done == "" {
		return adapters.Item{}, adapters.Permanent(fmt.Errorf("archiving asana task %s: no status is done (name a section or option Done): %w", refGID(ref), adapters.ErrUnsupported))
	}
	gid := refGID(ref)
	if t.opts.Status != StatusCompleted {
		yes := true
		if err := t.call(ctx, request{method: http.MethodPut, path: taskPath(gid), body: taskWrite{Completed: &yes}}, dataShape("a task"), nil); err != nil {
			return adapters.Item{}, fmt.Errorf("archiving asana task %s: %w", gid, err)
		}
	}
	return t.Update(ctx, ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: done}})
}
