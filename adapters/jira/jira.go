// Package jira is tracksync's Jira adapter, for Jira Cloud (REST v3: ADF
// bodies, accountIds, /search/jql with nextPageToken then /issue/bulkfetch)
// and Jira Data Center or Server (REST v2: wiki bodies, usernames,
// /search with startAt, the "Epic Link" custom field).
//
// It runs on github.com/andygrunwald/go-jira v1.16.0 over the shared HTTP
// layer (adapters/internal/rest: retries, pacing, error mapping); the
// endpoints that client predates go through its NewRequestWithContext and
// Do. A 2xx whose body is not what the call expects (a login page, cut
// JSON, an empty body, {} for a search page, HTML for a PUT that answers
// 204) is adapters.ErrBadResponse, never an empty page or a write done.
//
// Status is written through the workflow: the adapter learns each status's
// transitions (cached per project, issue type and status), takes the
// shortest path to the target, and fills required transition-screen fields
// from Options.TransitionDefaults or fails naming the field. Listing is
// incremental on `updated >= <epoch ms>` minus an overlap window, with a
// seen-set of (id, updated) so the overlap never lists a change twice;
// pages are keyset (each starts again at the last updated stamp seen), so
// an edit mid-listing cannot shift an issue past the pages already read.
// Issues tracksync creates carry the entity property "tracksync" holding
// the idempotency key, written in the create request itself, so a create
// whose answer was lost is found again instead of made twice: by JQL where
// the property is indexed, else among the issues tracksync's account
// created in the project within Options.MarkerWindow.
package jira

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/internal/fresh"
	"github.com/tracksync/tracksync/adapters/internal/rest"
	"github.com/tracksync/tracksync/mapping/markup"
)

// Compile-time checks of the capabilities the adapter offers.
var (
	_ adapters.Tracker        = (*Tracker)(nil)
	_ adapters.Commenter      = (*Tracker)(nil)
	_ adapters.Archiver       = (*Tracker)(nil)
	_ adapters.Checker        = (*Tracker)(nil)
	_ adapters.WebhookDecoder = (*Tracker)(nil)
	_ adapters.WriteNoter     = (*Tracker)(nil)
)

// Deployments.
const (
	Cloud      = "cloud"
	DataCenter = "datacenter"
)

// PropertyKey is the issue entity property holding tracksync's
// idempotency key ({"key": "..."}).
const PropertyKey = "tracksync"

// MaxPageSize is the largest listing page: search/jql returns at most 100
// issues with fields, and bulkfetch takes 100 ids.
const MaxPageSize = 100

// Options configure a Jira tracker.
type Options struct {
	URL        string // site (Cloud) or base URL (Data Center); required
	Deployment string // Cloud (default) or DataCenter
	// Cloud: Email and Token (an API token). Data Center: PAT (a personal
	// access token, sent as Bearer), or Email (the username) and Token
	// (the password) for basic auth.
	Email, Token, PAT string
	WebhookSecret     string // verifies X-Hub-Signature; "" accepts unsigned deliveries
	// Project is where Create makes issues when the item names none.
	Project string
	Timeout time.Duration // per HTTP attempt (default 30s)
	// RequestsPerSecond paces requests (0: no pacing).
	RequestsPerSecond float64
	// Overlap is how far before the last seen update an incremental
	// listing looks again, for Jira's search index lag (default 2m).
	Overlap time.Duration
	// MarkerWindow is how far back a Create looks, among the issues
	// tracksync's account created, for one an earlier attempt made with
	// the same idempotency key (default 2h).
	MarkerWindow time.Duration
	// NoBackLinks: no remote link to the counterpart on the issues
	// tracksync creates (config back_links: false). The link is a
	// click-through convenience and costs one request per created issue;
	// the idempotency marker does not depend on it.
	NoBackLinks bool
	// TransitionDefaults fill required transition-screen fields, by field
	// id or display name (default resolution: Done).
	TransitionDefaults map[string]string
	// CustomFields are display names of custom fields to sync as
	// "custom:<name>", resolved to ids at start-up.
	CustomFields []string
	// IssueTypes names the issue type of each kind (defaults: Initiative,
	// Epic, Story, Sub-task).
	IssueTypes map[adapters.Kind]string
	// Statuses is the workflow in order; default: read from /status,
	// ordered by category.
	Statuses []adapters.StatusDef
	// RetryMax, RetryWaitMin, RetryWaitMax tune retries of idempotent
	// requests on 5xx and connection failures (defaults 3, 200ms, 5s).
	RetryMax                   int
	RetryWaitMin, RetryWaitMax time.Duration
	Logger                     *slog.Logger
}

// Tracker is a Jira tracker. It is safe for concurrent use.
type Tracker struct {
	name     string
	o        Options
	c        *client
	api      string // "3" on Cloud, "2" on Data Center
	dc       bool
	caps     adapters.Capabilities
	custom   map[string]string // display name -> field id
	ctype    map[string]string // field id -> schema type (string, number, option) or "textarea" (wireSchema.kind)
	epicLink string            // Data Center "Epic Link" field id
	epicName string            // Data Center "Epic Name" field id, "" when the site has none
	fields   string            // the fields Get and List ask for

	mu    sync.Mutex
	trans map[string][]wireTransition // project/issuetype/status -> transitions
	keys  map[string]string           // issue id -> key, for DC epic links
	ids   map[string]string           // issue key -> id
	hooks *adapters.DeliverySet
	// markers: per project, the sync keys scans of the marker window
	// found (see findMarkers).
	markers map[string]*markerCache
	// reads are the issues Get read in the last second, by id and key:
	// an Update with IfVersion right after takes its version from there
	// instead of reading the issue again (see package fresh). Any write
	// naming an issue forgets it; any other write forgets all.
	reads *fresh.Reads[wireIssue]
	// offScreen are the fields Jira said a project's screens lack
	// (project|issue type|field id): left out of later creates there (an
	// edit naming one still ends in an error that names it).
	offScreen map[string]bool
	// noPropJQL is set once Jira refused a search naming tracksync's
	// issue property (see propertyRefused): lookups stop naming it.
	noPropJQL atomic.Bool
}

// New connects to Jira: it reads the field list (custom field ids, the
// Epic Link field on Data Center) and, unless Options.Statuses is set, the
// statuses.
func New(ctx context.Context, name string, o Options) (*Tracker, error) {
	if name == "" {
		return nil, errors.New("jira tracker: a name is required")
	}
	if o.URL == "" {
		return nil, fmt.Errorf("jira tracker %s: url is required: %w", name, adapters.ErrInvalid)
	}
	if _, err := url.Parse(o.URL); err != nil {
		return nil, fmt.Errorf("jira tracker %s: url %q: %w", name, o.URL, err)
	}
	switch o.Deployment {
	case "":
		o.Deployment = Cloud
	case Cloud, DataCenter:
	default:
		return nil, fmt.Errorf("jira tracker %s: deployment %q is not cloud or datacenter: %w", name, o.Deployment, adapters.ErrInvalid)
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Overlap == 0 {
		o.Overlap = 2 * time.Minute
	}
	if o.MarkerWindow == 0 {
		// Long enough to outlast a dead process's flow lease (minutes)
		// and a daemon restart: the interrupted create is recovered on the
		// next run, whenever that is within this window.
		o.MarkerWindow = 2 * time.Hour
	}
	if o.RetryMax == 0 {
		o.RetryMax = 3
	}
	if o.RetryWaitMin == 0 {
		o.RetryWaitMin = 200 * time.Millisecond
	}
	if o.RetryWaitMax == 0 {
		o.RetryWaitMax = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TransitionDefaults == nil {
		o.TransitionDefaults = map[string]string{"resolution": "Done"}
	}
	types := map[adapters.Kind]string{adapters.KindInitiative: "Initiative", adapters.KindEpic: "Epic", adapters.KindIssue: "Story", adapters.KindTask: "Sub-task"}
	for k, v := range o.IssueTypes {
		types[k] = v
	}
	o.IssueTypes = types
	c, err := newClient(name, o)
	if err != nil {
		return nil, fmt.Errorf("jira tracker %s: %w", name, err)
	}
	t := &Tracker{name: name, o: o, c: c, api: "3", dc: o.Deployment == DataCenter,
		custom: map[string]string{}, ctype: map[string]string{}, trans: map[string][]wireTransition{}, keys: map[string]string{}, ids: map[string]string{}, hooks: adapters.NewDeliverySet(10000),
		reads: fresh.New[wireIssue](0, nil)}
	c.onWrite = t.forgetWritten
	if t.dc {
		t.api = "2"
	}
	if err := t.discover(ctx); err != nil {
		return nil, fmt.Errorf("jira tracker %s: %w", name, err)
	}
	return t, nil
}

func (t *Tracker) path(p string) string { return "/rest/api/" + t.api + p }

// discover reads custom field ids and the workflow's statuses.
func (t *Tracker) discover(ctx context.Context) error {
	var fields []wireField
	if err := t.c.do(ctx, http.MethodGet, "/rest/api/2/field", nil, &fields); err != nil {
		return fmt.Errorf("reading the field list: %w", err)
	}
	byName := map[string]string{}
	for _, f := range fields {
		if f.Custom {
			byName[f.Name] = f.ID
			t.ctype[f.ID] = f.Schema.kind()
		}
	}
	for _, name := range t.o.CustomFields {
		id, ok := byName[name]
		if !ok {
			return fmt.Errorf("custom field %q does not exist in Jira (GET /rest/api/2/field lists no custom field by that name): %w", name, adapters.ErrInvalid)
		}
		t.custom[name] = id
	}
	if t.dc {
		id, ok := byName["Epic Link"]
		if !ok {
			return fmt.Errorf("custom field %q does not exist (it links issues to epics on Data Center): %w", "Epic Link", adapters.ErrInvalid)
		}
		t.epicLink = id
		// Jira Software on Data Center requires an epic's Epic Name at
		// create; a site without the field needs none.
		t.epicName = byName["Epic Name"]
	}
	statuses := t.o.Statuses
	if len(statuses) == 0 {
		// The project's own workflow statuses when a project is set (the
		// site's /status lists every workflow's), in category order.
		var ws []wireStatus
		if t.o.Project != "" {
			var types []struct {
				Statuses []wireStatus `json:"statuses"`
			}
			if err := t.c.do(ctx, http.MethodGet, t.path("/project/"+url.PathEscape(t.o.Project)+"/statuses"), nil, &types); err != nil {
				return fmt.Errorf("reading the statuses of project %s: %w", t.o.Project, err)
			}
			for _, it := range types {
				ws = append(ws, it.Statuses...)
			}
		} else if err := t.c.do(ctx, http.MethodGet, t.path("/status"), nil, &ws); err != nil {
			return fmt.Errorf("reading the statuses: %w", err)
		}
		for _, s := range ws {
			if !slices.ContainsFunc(statuses, func(d adapters.StatusDef) bool { return d.Name == s.Name }) {
				statuses = append(statuses, adapters.StatusDef{Name: s.Name, Category: category(s.StatusCategory.Key)})
			}
		}
		rank := map[adapters.StatusCategory]int{adapters.CategoryTodo: 0, adapters.CategoryInProgress: 1, adapters.CategoryDone: 2}
		sort.SliceStable(statuses, func(i, j int) bool { return rank[statuses[i].Category] < rank[statuses[j].Category] })
	}
	t.caps = adapters.Capabilities{
		Fields:      append(slices.Clone(adapters.StandardFields), adapters.FieldType),
		Statuses:    statuses,
		Kinds:       []adapters.Kind{adapters.KindInitiative, adapters.KindEpic, adapters.KindIssue, adapters.KindTask},
		MaxPageSize: MaxPageSize,
		// The version is the updated stamp, which a comment moves.
		VersionedComments: true,
		// Jira refuses a label with white space, or over 255 characters.
		LabelMaxLen: 255, LabelForbidden: " \t\n\r",
	}
	fl := []string{"summary", "description", "status", "issuetype", "project", "assignee", "labels", "priority", "duedate", "parent", "created", "updated"}
	for _, name := range t.o.CustomFields {
		t.caps.Fields = append(t.caps.Fields, adapters.CustomPrefix+name)
		fl = append(fl, t.custom[name])
	}
	if t.dc {
		fl = append(fl, t.epicLink)
	}
	t.fields = strings.Join(fl, ",")
	return nil
}

func category(key string) adapters.StatusCategory {
	switch key {
	case "done":
		return adapters.CategoryDone
	case "indeterminate":
		return adapters.CategoryInProgress
	}
	return adapters.CategoryTodo
}

// Name is the configured tracker name.
func (t *Tracker) Name() string { return t.name }

// Capabilities describes the fields, workflow and kinds.
func (t *Tracker) Capabilities() adapters.Capabilities {
	c := t.caps
	c.Fields = slices.Clone(c.Fields)
	c.Statuses = slices.Clone(c.Statuses)
	c.Kinds = slices.Clone(c.Kinds)
	return c
}

// Check reads the API user and, when set, the default project.
func (t *Tracker) Check(ctx context.Context) error {
	var me wireUser
	if err := t.c.do(ctx, http.MethodGet, t.path("/myself"), nil, &me); err != nil {
		return fmt.Errorf("checking jira credentials: %w", err)
	}
	if t.o.Project != "" {
		if err := t.c.do(ctx, http.MethodGet, t.path("/project/"+url.PathEscape(t.o.Project)), nil, nil); err != nil {
			return fmt.Errorf("checking jira project %s: %w", t.o.Project, err)
		}
	}
	return nil
}

func refPath(ref adapters.Ref) string {
	if ref.ID != "" {
		return url.PathEscape(ref.ID)
	}
	return url.PathEscape(ref.Key)
}

func (t *Tracker) getWire(ctx context.Context, ref adapters.Ref, fields string) (wireIssue, error) {
	var w wireIssue
	if ref.ID == "" && ref.Key == "" {
		return w, fmt.Errorf("jira: reading an issue with neither id nor key: %w", adapters.ErrNotFound)
	}
	q := url.Values{"fields": {fields}, "properties": {PropertyKey}}
	if err := t.c.doShape(ctx, http.MethodGet, t.path("/issue/"+refPath(ref)+"?"+q.Encode()), nil, &w, rest.Object("an issue", "id", "key")); err != nil {
		return w, fmt.Errorf("reading jira issue %s: %w", ref, err)
	}
	return w, nil
}

// Get reads one issue with its comments.
func (t *Tracker) Get(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	return t.read(ctx, ref, true)
}

// read reads one issue; withComments adds its comments, from their own
// endpoint: the comment field embedded in the issue carries no
// properties, so tracksync's copies would not be recognisable. Create,
// Update and Archive return items without comments (the engine reads
// them through Comments), which saves a request per write.
func (t *Tracker) read(ctx context.Context, ref adapters.Ref, withComments bool) (adapters.Item, error) {
	fields := t.fields
	if withComments {
		fields += ",comment" // its total says when there are none to read
	}
	w, err := t.getWire(ctx, ref, fields)
	if err != nil {
		return adapters.Item{}, err
	}
	t.reads.Put(w, w.ID, w.Key)
	it, err := t.toItem(ctx, w)
	if err != nil {
		return adapters.Item{}, err
	}
	if withComments && !it.AllComments {
		if it.Comments, err = t.Comments(ctx, it.Ref); err != nil {
			return adapters.Item{}, err
		}
	}
	return it, nil
}

func (t *Tracker) markupOptions() markup.Options { return markup.Options{} }

// toItem translates a wire issue.
func (t *Tracker) toItem(ctx context.Context, w wireIssue) (adapters.Item, error) {
	typ := w.issueType()
	st := w.status()
	it := adapters.Item{
		Ref:            adapters.Ref{Tracker: t.name, Project: w.project(), ID: w.ID, Key: w.Key, URL: strings.TrimSuffix(t.o.URL, "/") + "/browse/" + w.Key},
		Kind:           t.kindOf(typ),
		Type:           typ.Name,
		Title:          w.str("summary"),
		Status:         st.Name,
		StatusCategory: category(st.StatusCategory.Key),
		UpdatedAt:      w.updated(),
		Version:        w.version(),
		Due:            w.str("duedate"),
	}
	var cs struct {
		Total *int `json:"total"`
	}
	if w.decode("comment", &cs) && cs.Total != nil && *cs.Total == 0 {
		it.AllComments = true // listed with none: nothing to read
	}
	if cat, ok := t.caps.Category(st.Name); ok {
		it.StatusCategory = cat
	}
	it.Body = t.readBody(w.Fields["description"])
	var u wireUser
	if w.decode("assignee", &u) {
		it.Assignees = []string{t.userID(u)}
	}
	var labels []string
	if w.decode("labels", &labels) {
		it.Labels = adapters.NormalizeList(labels)
	}
	var pr wireNamed
	if w.decode("priority", &pr) {
		it.Priority = pr.Name
	}
	var p wireRef
	if w.decode("parent", &p) {
		it.Parent = &adapters.Ref{Tracker: t.name, ID: p.ID, Key: p.Key}
		t.remember(p.ID, p.Key)
	} else if t.dc {
		if key := w.str(t.epicLink); key != "" {
			id, err := t.idOf(ctx, key)
			if err != nil {
				return adapters.Item{}, fmt.Errorf("jira issue %s: its epic link %s: %w", w.Key, key, err)
			}
			it.Parent = &adapters.Ref{Tracker: t.name, ID: id, Key: key}
		}
	}
	for name, id := range t.custom {
		if v := t.customValue(id, w.Fields[id]); v != "" {
			if it.Fields == nil {
				it.Fields = map[string]string{}
			}
			it.Fields[name] = v
		}
	}
	var m marker
	if raw, ok := w.Properties[PropertyKey]; ok && json.Unmarshal(raw, &m) == nil {
		it.SyncKey = m.Key
	}
	t.remember(w.ID, w.Key)
	return it, nil
}

func (t *Tracker) userID(u wireUser) string {
	if t.dc {
		if u.Name != "" {
			return u.Name
		}
		return u.Key
	}
	return u.AccountID
}

func (t *Tracker) kindOf(typ wireType) adapters.Kind {
	for k, name := range t.o.IssueTypes {
		if strings.EqualFold(name, typ.Name) {
			return k
		}
	}
	switch {
	case typ.Subtask || typ.HierarchyLevel < 0:
		return adapters.KindTask
	case typ.HierarchyLevel == 1:
		return adapters.KindEpic
	case typ.HierarchyLevel >= 2:
		return adapters.KindInitiative
	}
	return adapters.KindIssue
}

func (t *Tracker) readBody(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if t.dc {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return markup.WikiToMarkdown(s, t.markupOptions())
	}
	var doc markup.Node
	if json.Unmarshal(raw, &doc) != nil {
		return ""
	}
	return markup.ADFToMarkdown(&doc, t.markupOptions())
}

// writeBody is the JSON of a description or comment body; nil for none.
func (t *Tracker) writeBody(md string) any {
	if strings.TrimSpace(md) == "" {
		return nil
	}
	if t.dc {
		return markup.MarkdownToWiki(md, t.markupOptions())
	}
	return markup.MarkdownToADF(md, t.markupOptions())
}

// Create makes an issue, or finds the one an earlier Create with the same
// idempotency key made (by its tracksync entity property).
func (t *Tracker) Create(ctx context.Context, it adapters.Item, opts adapters.CreateOptions) (adapters.CreateResult, error) {
	key := opts.IdempotencyKey
	project := t.createProject(it, opts)
	if key != "" && !opts.KeyUnseen {
		if found, ok, err := t.findByMarker(ctx, key, project); err != nil {
			return adapters.CreateResult{}, fmt.Errorf("creating jira issue %q: looking for key %s: %w", it.Title, key, err)
		} else if ok {
			return adapters.CreateResult{Item: found, Existed: true}, nil
		}
	}
	body, err := t.createBody(ctx, it, project, key)
	if err != nil {
		return adapters.CreateResult{}, err
	}
	var made struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	err = t.c.doShape(ctx, http.MethodPost, t.path("/issue"), body, &made, rest.Object("the created issue", "id", "key"))
	var fr *rest.FieldRefusal
	if errors.As(err, &fr) && t.learnOffScreen(project, createdType(body), fr.Fields) {
		// Fields the project's screen lacks: made without them.
		if body, err = t.createBody(ctx, it, project, key); err != nil {
			return adapters.CreateResult{}, err
		}
		err = t.c.doShape(ctx, http.MethodPost, t.path("/issue"), body, &made, rest.Object("the created issue", "id", "key"))
	}
	if err != nil {
		if key == "" || !ambiguous(ctx, err) {
			return adapters.CreateResult{}, fmt.Errorf("creating jira issue %q in %s: %w", it.Title, project, err)
		}
		// The answer was lost: the issue may exist. Its marker says.
		found, ok, ferr := t.findByMarker(ctx, key, project)
		if ferr != nil || !ok {
			return adapters.CreateResult{}, fmt.Errorf("creating jira issue %q in %s: %w", it.Title, project, err)
		}
		made.ID, made.Key = found.Ref.ID, found.Ref.Key
	}
	ref := adapters.Ref{Tracker: t.name, Project: project, ID: made.ID, Key: made.Key}
	if link := cmp.Or(opts.BackLink, it.Ref.URL); link != "" && key != "" && !t.o.NoBackLinks {
		t.backLink(ctx, ref, key, link)
	}
	got, err := t.settleCreated(ctx, ref, it.Status)
	if err != nil {
		return adapters.CreateResult{}, fmt.Errorf("created jira issue %s, then: %w", made.Key, err)
	}
	return adapters.CreateResult{Item: got}, nil
}

// createProject is the project a create of it goes to.
func (t *Tracker) createProject(it adapters.Item, opts adapters.CreateOptions) string {
	return cmp.Or(it.Ref.Project, t.o.Project, scopeProject(opts.Scope))
}

// settleCreated reads a created issue and, only when the workflow's
// initial status is not status, walks it there and reads it again: the
// read that returns the item also tells where it stands, so an issue
// created in the status wanted costs no transition request at all.
func (t *Tracker) settleCreated(ctx context.Context, ref adapters.Ref, status string) (adapters.Item, error) {
	w, err := t.getWire(ctx, ref, t.fields)
	if err != nil {
		return adapters.Item{}, err
	}
	return t.settleRead(ctx, ref, status, w)
}

// settleRead is settleCreated from an issue w already read.
func (t *Tracker) settleRead(ctx context.Context, ref adapters.Ref, status string, w wireIssue) (adapters.Item, error) {
	if status != "" && w.status().Name != status {
		if err := t.moveTo(ctx, ref, status, &w); err != nil {
			return adapters.Item{}, err
		}
		var err error
		if w, err = t.getWire(ctx, ref, t.fields); err != nil {
			return adapters.Item{}, err
		}
	}
	return t.toItem(ctx, w)
}

// searchAll returns up to limit issues matching jql (which gives its own
// order): ids, keys and the tracksync property.
func (t *Tracker) searchAll(ctx context.Context, jql string, limit int) ([]wireIssue, error) {
	var res struct {
		Issues []wireIssue `json:"issues"`
	}
	if t.dc {
		q := url.Values{"jql": {jql}, "maxResults": {strconv.Itoa(limit)}, "fields": {"updated"}, "properties": {PropertyKey}}
		if err := t.c.doShape(ctx, http.MethodGet, t.path("/search?"+q.Encode()), nil, &res, searchPage); err != nil {
			return nil, fmt.Errorf("searching jira: %w", err)
		}
		return res.Issues, nil
	}
	body := map[string]any{"jql": jql, "maxResults": limit, "fields": []string{"id", "key"}, "properties": []string{PropertyKey}}
	if err := t.c.doShape(withIdempotent(ctx), http.MethodPost, t.path("/search/jql"), body, &res, searchPage); err != nil {
		return nil, fmt.Errorf("searching jira: %w", err)
	}
	return res.Issues, nil
}

// WritePace is the configured requests a second (none by default) and a
// write's typical round trip on Jira Cloud.
func (t *Tracker) WritePace() adapters.WritePace {
	return adapters.WritePace{PerSecond: t.o.RequestsPerSecond, Latency: 300 * time.Millisecond}
}

var _ adapters.WritePacer = (*Tracker)(nil)

// recentRead is the issue as Get read it within the last second, when
// that read is at version (a Get, then an Update with IfVersion from it:
// the read stands for the one the version check would make).
func (t *Tracker) recentRead(ref adapters.Ref, version string) (wireIssue, bool) {
	if version == "" {
		return wireIssue{}, false
	}
	name := ref.ID
	if name == "" {
		name = ref.Key
	}
	w, ok := t.reads.Take(name)
	return w, ok && w.version() == version
}

// forgetWritten forgets the recent read of the issue a write's path
// names (/issue/{idOrKey}...), or every recent read when it names none
// (an issue link, a bulk create): the write may have changed them.
func (t *Tracker) forgetWritten(path string) {
	_, rest, ok := strings.Cut(path, "/issue/")
	if !ok {
		t.reads.ForgetAll()
		return
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	name, err := url.PathUnescape(rest)
	if err != nil || name == "" || name == "bulk" {
		t.reads.ForgetAll()
		return
	}
	t.reads.Forget(name)
}

// Update writes the patch's fields: plain fields in one edit, status by
// transitions.
func (t *Tracker) Update(ctx context.Context, ref adapters.Ref, p adapters.Patch) (adapters.Item, error) {
	for _, f := range p.Fields {
		if !t.caps.HasField(f) {
			return adapters.Item{}, fmt.Errorf("updating jira issue %s: field %q: %w", ref, f, adapters.ErrUnsupported)
		}
	}
	// The current state is read only when needed: to compare versions,
	// to know where the workflow starts, or the kind a parent depends on.
	var cur *wireIssue
	if p.IfVersion != "" || slices.Contains(p.Fields, adapters.FieldStatus) || slices.Contains(p.Fields, adapters.FieldParent) || ref.ID == "" {
		w, ok := t.recentRead(ref, p.IfVersion)
		if !ok {
			var err error
			if w, err = t.getWire(ctx, ref, "status,issuetype,project,updated"); err != nil {
				return adapters.Item{}, fmt.Errorf("updating: %w", err)
			}
		}
		cur = &w
		ref = adapters.Ref{Tracker: t.name, Project: w.project(), ID: w.ID, Key: w.Key}
		if p.IfVersion != "" && w.version() != p.IfVersion {
			return adapters.Item{}, fmt.Errorf("updating jira issue %s: at version %s, not %s: %w", w.Key, w.version(), p.IfVersion, adapters.ErrConflict)
		}
	}
	name := ref.Key
	if name == "" {
		name = ref.ID
	}
	item := p.Item
	if cur != nil {
		item.Kind = t.kindOf(cur.issueType())
	}
	var plain []string
	for _, f := range p.Fields {
		if f != adapters.FieldStatus {
			plain = append(plain, f)
		}
	}
	// refused holds the fields Jira refused in an edit whose other fields
	// were then written without them: the update goes on (status too),
	// and ends in an error naming them.
	var refused error
	if len(plain) > 0 {
		// Field by field, to know which of ours a refusal names.
		fields, byField := map[string]any{}, map[string][]string{}
		for _, f := range plain {
			fm, err := t.writeFields(ctx, item, []string{f}, false)
			if err != nil {
				return adapters.Item{}, fmt.Errorf("updating jira issue %s: %w", name, err)
			}
			for k, v := range fm {
				fields[k] = v
				byField[f] = append(byField[f], k)
			}
		}
		// Jira Cloud answers the edit with the issue when asked
		// (returnIssue), which saves the read-back below when no
		// transition follows.
		path := t.path("/issue/" + url.PathEscape(ref.ID))
		returning := !t.dc && !slices.Contains(p.Fields, adapters.FieldStatus)
		if returning {
			path += "?returnIssue=true"
		}
		var back wireIssue
		err := t.c.doShape(ctx, http.MethodPut, path, map[string]any{"fields": fields}, &back, rest.NoContent())
		if fr := (*rest.FieldRefusal)(nil); errors.As(err, &fr) && cur != nil {
			t.learnOffScreen(ref.Project, cur.issueType().Name, fr.Fields)
		}
		if others, why := withoutRefused(err, plain, byField, fields); others != nil {
			// One value Jira will not take (a user it does not know, a
			// priority it lacks) does not hold back the others.
			refused = adapters.Permanent(fmt.Errorf("updating jira issue %s: Jira refused %s; the other fields were written: %w", name, why, err))
			returning = false
			err = t.c.doShape(ctx, http.MethodPut, t.path("/issue/"+url.PathEscape(ref.ID)), map[string]any{"fields": others}, nil, rest.NoContent())
		}
		if err != nil {
			return adapters.Item{}, fmt.Errorf("updating jira issue %s (%s): %w", name, strings.Join(plain, ", "), err)
		}
		if returning && t.whole(back, ref.ID) {
			// The edit writes no property: the sync key is the one the
			// issue had.
			back.Properties = nil
			it, err := t.toItem(ctx, back)
			if err != nil {
				return adapters.Item{}, fmt.Errorf("updating jira issue %s: %w", name, err)
			}
			it.SyncKey = p.Item.SyncKey
			return it, nil
		}
	}
	if slices.Contains(p.Fields, adapters.FieldStatus) && item.Status != "" {
		if err := t.moveTo(ctx, ref, item.Status, cur); err != nil {
			return adapters.Item{}, errors.Join(refused, err)
		}
	}
	if refused != nil {
		return adapters.Item{}, refused
	}
	return t.read(ctx, ref, false)
}

// offScreenMessage is how Jira refuses a field a project's screen lacks.
const offScreenMessage = "It is not on the appropriate screen"

// learnOffScreen notes the fields Jira refused (errs, by field id) for
// being off the screens of project's issues of type typ, so later writes
// there leave them out, and says so once a field. It reports whether
// every refusal was of that kind (the write can be sent again without
// them).
func (t *Tracker) learnOffScreen(project, typ string, errs map[string]string) bool {
	if project == "" || len(errs) == 0 {
		return false
	}
	all := true
	for id, msg := range errs {
		if !strings.Contains(msg, offScreenMessage) || id == "project" || id == "issuetype" || id == "summary" {
			all = false
			continue
		}
		k := project + "|" + typ + "|" + id
		t.mu.Lock()
		seen := t.offScreen[k]
		if t.offScreen == nil {
			t.offScreen = map[string]bool{}
		}
		t.offScreen[k] = true
		t.mu.Unlock()
		if !seen {
			t.o.Logger.Warn("a field is not on the project's screen in jira: tracksync leaves it out of the writes there; add it to the screen to sync it", "tracker", t.name, "project", project, "issue_type", typ, "field", id, "jira", msg)
		}
	}
	return all
}

// dropOffScreen removes from fields those project's screens lack for
// issues of type typ (learnOffScreen).
func (t *Tracker) dropOffScreen(project, typ string, fields map[string]any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range fields {
		if t.offScreen[project+"|"+typ+"|"+id] {
			delete(fields, id)
		}
	}
}

// createdType is the issue type name a create body names.
func createdType(body map[string]any) string {
	f, _ := body["fields"].(map[string]any)
	t, _ := f["issuetype"].(map[string]string)
	return t["name"]
}

// withoutRefused is what an edit refused with err can send again: the
// fields Jira did not name, when err is a 400 naming only fields of the
// edit and some are left; why names the refused ones (our names, with
// Jira's words). nil when the edit cannot be split.
func withoutRefused(err error, plain []string, byField map[string][]string, fields map[string]any) (others map[string]any, why string) {
	var fr *rest.FieldRefusal
	if !errors.As(err, &fr) {
		return nil, ""
	}
	for k := range fr.Fields {
		if _, sent := fields[k]; !sent {
			return nil, "" // about something else (a screen, a required field)
		}
	}
	others = map[string]any{}
	var named []string
	for _, f := range plain {
		bad := false
		for _, k := range byField[f] {
			if msg, ok := fr.Fields[k]; ok {
				bad = true
				named = append(named, fmt.Sprintf("%s (%s)", f, msg))
			}
		}
		if !bad {
			for _, k := range byField[f] {
				others[k] = fields[k]
			}
		}
	}
	if len(others) == 0 {
		return nil, ""
	}
	return others, strings.Join(named, ", ")
}

// whole says whether w, an edit's answer, is issue id whole, as Get issue
// answers it: then it stands for the read-back. An empty answer (204: the
// parameter ignored) does not, nor one holding only the fields edited:
// created is never edited, so its presence (with the fields every issue
// has) tells a whole issue from the edited fields alone.
func (t *Tracker) whole(w wireIssue, id string) bool {
	if w.ID != id || w.Key == "" {
		return false
	}
	for _, f := range []string{"created", "updated", "status", "issuetype", "project", "summary"} {
		if v, ok := w.Fields[f]; !ok || string(v) == "null" {
			return false
		}
	}
	return true
}

// Archive moves the issue to a done-category status.
func (t *Tracker) Archive(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	w, err := t.getWire(ctx, ref, t.fields)
	if err != nil {
		return adapters.Item{}, fmt.Errorf("archiving: %w", err)
	}
	it, err := t.toItem(ctx, w)
	if err != nil {
		return adapters.Item{}, fmt.Errorf("archiving: %w", err)
	}
	if it.StatusCategory == adapters.CategoryDone {
		return it, nil
	}
	target := ""
	for _, s := range t.caps.Statuses {
		if s.Category == adapters.CategoryDone && (target == "" || s.Name == "Done") {
			target = s.Name
		}
	}
	if target == "" {
		return adapters.Item{}, fmt.Errorf("archiving jira issue %s: the workflow has no done status: %w", it.Ref.Key, adapters.ErrUnsupported)
	}
	if err := t.moveTo(ctx, it.Ref, target, &w); err != nil {
		return adapters.Item{}, err
	}
	return t.read(ctx, it.Ref, false)
}

// quote makes s one JQL string literal: whatever it holds, it cannot end
// the string or change the query around it.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// scopeProjectRE finds the project a flow's scope JQL is limited to.
var scopeProjectRE = regexp.MustCompile(`(?i)\bproject\s*=\s*"?([A-Z][A-Z0-9_]+)"?`)

// scopeProject returns the project key in a scope like
// 'project = PLAT AND issuetype = Epic', or "".
func scopeProject(scope string) string {
	if m := scopeProjectRE.FindStringSubmatch(scope); m != nil {
		return strings.ToUpper(m[1])
	}
	return ""
}
