// Package github is tracksync's adapter for GitHub issues, on github.com or
// GitHub Enterprise Server, through go-github over the shared HTTP layer
// (adapters/internal/rest: retries, pacing, error mapping, shape checks).
//
// Items are the issues of the repositories a scope names (pull requests,
// which GitHub lists among issues, are skipped). Refs are
// {Project: "owner/repo", ID and Key: "owner/repo#12", URL: html_url}.
// Native statuses are "open" (todo), "closed" (done) and "not planned"
// (done: closed with state_reason not_planned or duplicate); statuses
// beyond those are status labels, which the flow's mapping layer manages
// through labels.
// The milestone is the custom field "custom:milestone" (by title; a missing
// milestone is created). Parent is the issue's parent in GitHub's
// sub-issue hierarchy (see subissues.go); UpdateChildren keeps a task
// list of children in a parent's body besides.
//
// Redirects are never followed. A transferred issue (GitHub answers 301
// with the new URL) is ErrNotFound, "moved to <url>", for the link that
// names it; a renamed repository (301 on every path) is a permanent error
// asking for the scope to name it anew, so its issues are not taken for
// deleted. Refs are built from the repository an answer names.
//
// Listing is incremental and cheap: GET /repos/{o}/{r}/issues with
// state=all, sort=updated, direction=asc, since and If-None-Match on the
// stored ETag, so an idle poll is one request answered 304, which costs no
// quota. Writes are paced to GitHub's secondary limits (80 content
// requests a minute, 500 an hour by default) one at a time, and a create
// is never retried blindly: it first looks for the hidden marker
// <!-- tracksync:key=... --> a previous attempt left in an issue body.
//
// A 2xx whose body is not what the call expects (a proxy's login page,
// cut JSON, an empty body, {} for a listing) is adapters.ErrBadResponse:
// never an empty page, never an issue numbered 0.
package github

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/internal/fresh"
	"github.com/tracksync/tracksync/adapters/internal/rest"
)

// Native statuses.
const (
	StatusOpen       = "open"
	StatusClosed     = "closed"
	StatusNotPlanned = "not planned"
)

// FieldMilestone is the custom field holding the milestone title.
const FieldMilestone = adapters.CustomPrefix + "milestone"

// DefaultURL is the github.com API.
const DefaultURL = "https://api.github.com"

// Options configure a Tracker.
type Options struct {
	// URL is the API base: DefaultURL, or a GitHub Enterprise Server
	// host or API URL (/api/v3 is added when missing).
	URL string
	// Token is a personal access token; App is the alternative.
	Token string
	App   *AppAuth
	// WebhookSecret verifies X-Hub-Signature-256 on deliveries.
	WebhookSecret string
	// ContentPerMinute and ContentPerHour pace content-creating requests
	// (defaults 80 and 500, GitHub's secondary limits).
	ContentPerMinute, ContentPerHour int
	// Repo is where Create puts items that name no repository of this
	// tracker (default: the first repository of the latest List scope).
	Repo string
	// Clock and Sleep drive pacing and rate-limit waits (default: real
	// time); tests pass a fake clock's.
	Clock func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Transport is the base HTTP transport (default http.DefaultTransport).
	Transport http.RoundTripper
	// RetryWaitMin and RetryWaitMax bound the back-off between retries of
	// reads (defaults 1s and 30s).
	RetryWaitMin, RetryWaitMax time.Duration
	Logger                     *slog.Logger
	// IssueTypes says the owners have issue types: an issue of type
	// Epic is an epic, and creating an epic sets that type.
	IssueTypes bool
	// Project, when set, makes a Projects field the status (status
	// source "project", see projects.go); nil keeps open/closed.
	Project *ProjectOptions
	// IssueField, when set, makes an organization issue field the status
	// (status source "issue-field", see issuefields.go). Not with Project.
	IssueField *IssueFieldOptions
}

// AppAuth authenticates as a GitHub App installation: installation tokens
// are minted from the app's private key and refreshed before they expire
// (by ghinstallation).
type AppAuth struct {
	AppID, InstallationID int64
	PrivateKey            []byte // PEM
}

// Tracker is a GitHub issues tracker. It is safe for concurrent use.
type Tracker struct {
	name string
	opts Options
	http *http.Client
	base *url.URL
	pace *rest.Pacer // writes, and the quota every request checks
	log  *slog.Logger

	// msMu makes finding-or-creating a milestone one step, so two
	// creates naming a new milestone do not both make it.
	msMu       sync.Mutex
	mu         sync.Mutex
	repo       string                       // where Create goes
	labels     map[string]map[string]string // repo -> lower-case label name -> GitHub's spelling
	milestones map[string]map[string]int    // repo -> title -> number
	keys       map[string]*keyIndex         // repo -> idempotency markers seen
	types      map[string][]string          // repo -> issue type names
	proj       *project                     // the status source "project", or nil
	ifields    *issueFields                 // the status source "issue-field", or nil
	deliveries *adapters.DeliverySet
	// reads are the issues Get read in the last second (status in state
	// or labels only), by issue id: an Update with IfVersion right after
	// takes its version from there instead of reading the issue again
	// (see package fresh). A write naming an issue forgets it; any other
	// write forgets all.
	reads *fresh.Reads[recentIssue]
}

// recentIssue is an issue as Get read it, with the version it gave.
type recentIssue struct {
	is      *issue
	version string
}

var (
	_ adapters.Tracker        = (*Tracker)(nil)
	_ adapters.Commenter      = (*Tracker)(nil)
	_ adapters.WebhookDecoder = (*Tracker)(nil)
	_ adapters.Checker        = (*Tracker)(nil)
	_ adapters.Archiver       = (*Tracker)(nil)
	_ adapters.WritePacer     = (*Tracker)(nil)
)

// WritePace is the content limits the tracker paces its creates by.
func (t *Tracker) WritePace() adapters.WritePace {
	return adapters.WritePace{Windows: []adapters.RateWindow{{Limit: t.opts.ContentPerMinute, Per: time.Minute}, {Limit: t.opts.ContentPerHour, Per: time.Hour}}}
}

// New builds a tracker named name.
func New(name string, opts Options) (*Tracker, error) {
	if opts.URL == "" {
		opts.URL = DefaultURL
	}
	if opts.ContentPerMinute == 0 {
		opts.ContentPerMinute = 80
	}
	if opts.ContentPerHour == 0 {
		opts.ContentPerHour = 500
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = rest.Sleep
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	if opts.RetryWaitMin == 0 {
		opts.RetryWaitMin = time.Second
	}
	if opts.RetryWaitMax == 0 {
		opts.RetryWaitMax = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	base, err := apiBase(opts.URL)
	if err != nil {
		return nil, err
	}
	t := &Tracker{
		name: name, opts: opts, base: base, log: opts.Logger, repo: opts.Repo,
		// A sliding log, not a bucket: a bucket refilled at 80 a minute
		// still lets 160 through in some 60-second window, which GitHub
		// counts as a violation.
		pace: rest.NewPacer(rest.PacerOptions{Tracker: name, Credential: opts.Token, Serial: true, Clock: opts.Clock, Sleep: opts.Sleep,
			Limits: rest.Limits{Windows: []rest.Window{{Limit: opts.ContentPerMinute, Per: time.Minute}, {Limit: opts.ContentPerHour, Per: time.Hour}}}}),
		labels:     map[string]map[string]string{},
		milestones: map[string]map[string]int{},
		keys:       map[string]*keyIndex{},
		types:      map[string][]string{},
		deliveries: adapters.NewDeliverySet(4096),
		reads:      fresh.New[recentIssue](0, nil),
	}
	var auth http.RoundTripper
	switch {
	case opts.App != nil:
		itr, err := ghinstallation.New(opts.Transport, opts.App.AppID, opts.App.InstallationID, opts.App.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("github app %d: reading the private key: %w", opts.App.AppID, adapters.Permanent(err))
		}
		itr.BaseURL = strings.TrimRight(base.String(), "/")
		auth = itr
	case opts.Token != "":
		auth = &tokenTransport{token: opts.Token, next: opts.Transport}
	default:
		auth = opts.Transport
	}
	if opts.Project != nil && opts.IssueField != nil {
		return nil, fmt.Errorf("github: statuses from a project and from an issue field: choose one")
	}
	t.proj = t.newProject(opts.Project, auth)
	t.ifields = newIssueFields(opts.IssueField)
	t.http = rest.NewClient(rest.Config{Tracker: name, Transport: t.pace.Transport(&apiTransport{next: auth}),
		Timeout: time.Minute, RetryMax: 3, RetryWaitMin: opts.RetryWaitMin, RetryWaitMax: opts.RetryWaitMax,
		// A transferred issue answers 301: following it turns a PATCH
		// into a GET that "succeeds" without writing, and reads another
		// repository's issue under the requested path.
		NoRedirect: true})
	return t, nil
}

// apiBase is the REST base URL, ending in a slash: github.com's as is,
// an Enterprise Server's with /api/v3/.
func apiBase(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("url %q is not an http(s) URL: %w", raw, adapters.ErrInvalid)
	}
	if u.Host == "api.github.com" {
		u.Path = "/"
		return u, nil
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	if !strings.HasSuffix(u.Path, "/api/v3/") {
		u.Path += "api/v3/"
	}
	return u, nil
}

// Name implements adapters.Tracker.
func (t *Tracker) Name() string { return t.name }

// Capabilities implements adapters.Tracker.
func (t *Tracker) Capabilities() adapters.Capabilities {
	fields := []string{adapters.FieldTitle, adapters.FieldBody, adapters.FieldStatus, adapters.FieldAssignees, adapters.FieldLabels, FieldMilestone, adapters.FieldParent}
	if t.opts.IssueTypes {
		fields = append(fields, adapters.FieldType)
	}
	if t.proj != nil {
		fields = append(fields, t.proj.fieldCaps()...)
	}
	return adapters.Capabilities{
		Fields:        fields,
		Statuses:      t.statuses(),
		Kinds:         t.kinds(),
		MaxPageSize:   100,
		TimePrecision: time.Second, // updated_at is ISO 8601 without fractions
		// version() hashes updated_at, which a comment moves.
		VersionedComments: true,
		// GitHub refuses a label name over 50 characters.
		LabelMaxLen: 50,
	}
}

func (t *Tracker) now() time.Time { return t.opts.Clock() }

// client is a go-github client for one call. A fresh one each time
// because go-github remembers a secondary-limit reset against the real
// clock and would refuse calls itself; pacing and waits are ours.
func (t *Tracker) client() *gh.Client {
	c := gh.NewClient(t.http)
	c.BaseURL, c.UploadURL = t.base, t.base
	return c
}

// call sends one request, its answer checked against the shape out
// implies (see callShape). Writes wait for the pacer; reads and PATCHes
// may be retried by the transport, POSTs never. A 304 is returned with a
// nil error.
func (t *Tracker) call(ctx context.Context, op, method, path string, body, out any, header http.Header) (*gh.Response, error) {
	shape := rest.NoContent()
	if out != nil {
		if v := reflect.ValueOf(out); v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Slice {
			shape = rest.Array("a JSON array")
		} else {
			shape = rest.Object("a JSON object")
		}
	}
	return t.callShape(ctx, op, method, path, body, out, header, shape)
}

// The shapes of single answers: an issue without its number is not an
// issue (linking to #0 would follow).
var (
	issueShape   = rest.Object("an issue", "number")
	commentShape = rest.Object("a comment", "id")
)

// callShape is call with the shape the answer must have: a 2xx whose
// body is not of that shape (a proxy's login page, cut JSON, an empty
// body, {}) is an adapters.ErrBadResponse, never an empty page or an
// issue numbered 0.
func (t *Tracker) callShape(ctx context.Context, op, method, path string, body, out any, header http.Header, shape rest.Shape) (*gh.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("github %s: %w", op, err)
	}
	if err := t.pace.Blocked(ctx); err != nil {
		return nil, fmt.Errorf("github %s: %w", op, err)
	}
	if method != http.MethodGet {
		t.forgetWritten(path)
		release, err := t.pace.Acquire(ctx)
		if err != nil {
			return nil, fmt.Errorf("github %s: waiting for the content rate limit: %w", op, err)
		}
		defer release()
	}
	if method == http.MethodGet || method == http.MethodPatch {
		ctx = rest.Idempotent(ctx)
	}
	c := t.client()
	req, err := c.NewRequest(method, path, body)
	if err != nil {
		return nil, fmt.Errorf("github %s: %w", op, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	var raw bytes.Buffer
	resp, err := c.Do(ctx, req, &raw)
	if resp != nil && resp.StatusCode == http.StatusNotModified {
		return resp, nil
	}
	if err != nil {
		return resp, t.apiError(op, resp, err)
	}
	t.log.Debug("github call", "op", op, "method", method, "status", resp.StatusCode)
	if err := rest.Decode(t.name, op, resp.StatusCode, raw.Bytes(), shape, out); err != nil {
		return resp, err
	}
	return resp, nil
}

func repoPath(repo string) string {
	o, r, _ := strings.Cut(repo, "/")
	return "repos/" + url.PathEscape(o) + "/" + url.PathEscape(r)
}

// getIssue reads one issue; a pull request is ErrNotFound, since it is
// not an item.
func (t *Tracker) getIssue(ctx context.Context, repo string, n int) (*issue, error) {
	var is issue
	id := issueID(repo, n)
	if _, err := t.callShape(ctx, "reading issue "+id, http.MethodGet, fmt.Sprintf("%s/issues/%d", repoPath(repo), n), nil, &is, nil, issueShape); err != nil {
		return nil, t.checkMoved(ctx, repo, err)
	}
	if is.IsPullRequest() {
		return nil, fmt.Errorf("github: %s is a pull request, not an issue: %w", id, adapters.ErrNotFound)
	}
	return &is, nil
}

// patchIssue sends one PATCH to issue n of repo and returns the issue
// as answered.
func (t *Tracker) patchIssue(ctx context.Context, op, repo string, n int, w issueWrite) (*issue, error) {
	var out issue
	if _, err := t.callShape(ctx, op, http.MethodPatch, fmt.Sprintf("%s/issues/%d", repoPath(repo), n), w, &out, nil, issueShape); err != nil {
		t.dropCaches(repo, err)
		return nil, t.checkMoved(ctx, repo, err)
	}
	return &out, nil
}

// checkMoved refines a redirect on an issue. A transferred issue answers
// 301 and its repository does not: the issue left this repository, which
// for the link is as good as deleted (ErrNotFound, "moved to <url>", and
// the engine applies on_delete). A renamed repository answers 301 on
// every path: that is a scope to fix, not every issue deleted, so it is
// a permanent error that is not ErrNotFound.
func (t *Tracker) checkMoved(ctx context.Context, repo string, err error) error {
	var ae *adapters.APIError
	if !errors.As(err, &ae) || ae.Status < 300 || ae.Status >= 400 {
		return err
	}
	var r gh.Repository
	_, rerr := t.call(ctx, "reading repository "+repo, http.MethodGet, repoPath(repo), nil, &r, nil)
	var re *adapters.APIError
	switch {
	case rerr == nil:
		return err
	case errors.As(rerr, &re) && re.Status >= 300 && re.Status < 400:
		return &adapters.APIError{Tracker: t.name, Op: ae.Op, Status: ae.Status,
			Message: fmt.Sprintf("repository %s %s: name its new owner/name in the scope", repo, re.Message),
			Err:     adapters.Permanent(adapters.ErrInvalid)}
	default:
		// Unknown which: not ErrNotFound, so nothing is taken for deleted
		// and the engine tries again later.
		return fmt.Errorf("%s; checking whether repository %s moved: %w", ae.Error(), repo, rerr)
	}
}

// issueRepo is the repository an answer says the issue is in, from its
// repository_url (".../repos/{owner}/{repo}"), else its html_url
// (".../{owner}/{repo}/issues/{n}"); "" when it says neither.
func issueRepo(is *gh.Issue) string {
	if full := is.GetRepository().GetFullName(); strings.Contains(full, "/") {
		return full
	}
	if u, err := url.Parse(is.GetRepositoryURL()); err == nil {
		if _, rest, ok := strings.Cut(u.Path, "/repos/"); ok {
			if p := strings.Split(strings.Trim(rest, "/"), "/"); len(p) == 2 && p[0] != "" && p[1] != "" {
				return p[0] + "/" + p[1]
			}
		}
	}
	if u, err := url.Parse(is.GetHTMLURL()); err == nil {
		if p := strings.Split(strings.Trim(u.Path, "/"), "/"); len(p) >= 4 && p[len(p)-4] != "" && p[len(p)-3] != "" {
			return p[len(p)-4] + "/" + p[len(p)-3]
		}
	}
	return ""
}

// getItem is Get without the project status source; comments included.
func (t *Tracker) getItem(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	repo, n, err := parseRef(ref)
	if err != nil {
		return adapters.Item{}, err
	}
	is, err := t.getIssue(ctx, repo, n)
	if err != nil {
		return adapters.Item{}, err
	}
	it := t.toItem(repo, is)
	if t.proj == nil && t.ifields == nil {
		t.reads.Put(recentIssue{is: is, version: it.Version}, issueID(repo, n))
	}
	if it.AllComments {
		return it, nil // the issue says it has none: no request for them
	}
	cs, err := t.comments(ctx, repo, n)
	if err != nil {
		return adapters.Item{}, err
	}
	it.Comments, it.AllComments = cs, true
	return it, nil
}

// toItem translates an issue; it also notes the issue's marker for
// creates to find. The Ref names the repository the answer says the
// issue is in, not repo, the one asked: were the two ever to differ (a
// followed redirect), repo plus the answer's number would name some
// unrelated issue. repo is used only when the answer names none.
func (t *Tracker) toItem(repo string, is *issue) adapters.Item {
	if r := issueRepo(&is.Issue); r != "" {
		repo = r
	}
	b := splitBody(is.GetBody())
	id := issueID(repo, is.GetNumber())
	it := adapters.Item{
		Ref:     adapters.Ref{Tracker: t.name, Project: repo, ID: id, Key: id, URL: is.GetHTMLURL()},
		Kind:    kindOfType(is.typeName()),
		Type:    is.typeName(),
		Title:   is.GetTitle(),
		Body:    b.Text,
		SyncKey: b.Key,
		Version: version(is),
		// A listing knows how many comments an issue has: none is all
		// there is to know, and saves reading them.
		AllComments: is.Comments != nil && *is.Comments == 0,
	}
	it.Status, it.StatusCategory = StatusOpen, adapters.CategoryTodo
	if is.GetState() == "closed" {
		it.Status, it.StatusCategory = StatusClosed, adapters.CategoryDone
		// A duplicate was not done either: GitHub shows it as it shows
		// not planned, not as completed.
		if r := is.GetStateReason(); r == "not_planned" || r == "duplicate" {
			it.Status = StatusNotPlanned
		}
	}
	it.Assignees = adapters.NormalizeList(names(is.Assignees, (*gh.User).GetLogin))
	it.Labels = adapters.NormalizeList(names(is.Labels, (*gh.Label).GetName))
	if m := is.GetMilestone(); m != nil && m.GetTitle() != "" {
		it.Fields = map[string]string{"milestone": m.GetTitle()}
	}
	if is.UpdatedAt != nil {
		it.UpdatedAt = is.UpdatedAt.Time
	}
	it.Parent = t.parentRef(is)
	t.applyProject(&it)
	t.applyIssueField(&it, is)
	if b.Key != "" {
		t.remember(repo, b.Key, is.GetNumber())
	}
	return it
}

// version identifies an issue's state: GitHub gives no per-issue ETag in
// listings, so it is a hash of updated_at and every field tracksync
// reads, the same whether the issue came from a list or a get.
func version(is *issue) string {
	var labels, assignees []string
	for _, l := range is.Labels {
		labels = append(labels, l.GetName())
	}
	for _, u := range is.Assignees {
		assignees = append(assignees, u.GetLogin())
	}
	fields := []any{is.GetUpdatedAt().Unix(), is.GetTitle(), is.GetBody(), is.GetState(), is.GetStateReason(),
		adapters.NormalizeList(labels), adapters.NormalizeList(assignees), is.GetMilestone().GetTitle()}
	if p, ty := is.parentKey(), is.typeName(); p != "" || ty != "" {
		// Only then, so versions of issues without either stay as they were.
		fields = append(fields, p, ty)
	}
	for _, v := range is.IssueFieldValues {
		if v.Option != nil {
			fields = append(fields, v.FieldID, v.Option.Name)
		}
	}
	b, _ := json.Marshal(fields)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// stateOf is the state and state_reason a native status is written as.
func stateOf(status string) (state, reason string, err error) {
	switch status {
	case StatusOpen:
		return "open", "", nil
	case StatusClosed:
		return "closed", "completed", nil
	case StatusNotPlanned:
		return "closed", "not_planned", nil
	}
	return "", "", fmt.Errorf("status %q is not open, closed or not planned (status labels are the flow's status map's job): %w",
		status, adapters.Permanent(adapters.ErrInvalid))
}

// targetRepo is the repository Create writes to.
func (t *Tracker) targetRepo(it adapters.Item, scopeStr string) (string, error) {
	if it.Ref.Tracker == t.name && strings.Contains(it.Ref.Project, "/") {
		return it.Ref.Project, nil
	}
	if sc, err := parseScope(scopeStr); err == nil && len(sc.repos) > 0 {
		return sc.repos[0], nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.repo == "" {
		return "", fmt.Errorf("github %s: no repository to create %q in: list a scope first: %w", t.name, it.Title, adapters.Permanent(adapters.ErrInvalid))
	}
	return t.repo, nil
}

// issueWrite is the body of POST and PATCH on an issue. Milestone is a
// json.RawMessage so that null (clear it) can be sent.
type issueWrite struct {
	Title       *string         `json:"title,omitempty"`
	Body        *string         `json:"body,omitempty"`
	State       *string         `json:"state,omitempty"`
	StateReason *string         `json:"state_reason,omitempty"`
	Labels      *[]string       `json:"labels,omitempty"`
	Assignees   *[]string       `json:"assignees,omitempty"`
	Milestone   json.RawMessage `json:"milestone,omitempty"`
	Type        *string         `json:"type,omitempty"`
}

func (w issueWrite) empty() bool {
	return w.Title == nil && w.Body == nil && w.State == nil && w.StateReason == nil && w.Labels == nil && w.Assignees == nil && w.Milestone == nil && w.Type == nil
}

func ptr[T any](v T) *T { return &v }

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// createItem is Create without the project status source (see
// projects.go). With an idempotency key it first
// looks for an issue carrying the key's marker (see findKey), so a
// create retried after a lost answer finds the first one.
func (t *Tracker) createItem(ctx context.Context, it adapters.Item, opts adapters.CreateOptions) (adapters.CreateResult, error) {
	if err := ctx.Err(); err != nil {
		return adapters.CreateResult{}, fmt.Errorf("github creating %q: %w", it.Title, err)
	}
	repo, err := t.targetRepo(it, opts.Scope)
	if err != nil {
		return adapters.CreateResult{}, err
	}
	state, reason := "open", ""
	if it.Status != "" {
		if state, reason, err = stateOf(it.Status); err != nil {
			return adapters.CreateResult{}, fmt.Errorf("creating %q in %s: %w", it.Title, repo, err)
		}
	}
	if key := opts.IdempotencyKey; key != "" {
		n, found, err := t.findKey(ctx, repo, key, opts.KeyUnseen)
		if err != nil {
			return adapters.CreateResult{}, fmt.Errorf("creating %q in %s: looking for key %s: %w", it.Title, repo, key, err)
		}
		if found {
			got, err := t.Get(ctx, adapters.Ref{Tracker: t.name, ID: issueID(repo, n)})
			if err == nil {
				// A create cut short may have made the issue and not
				// linked its parent yet.
				got, err = t.finishParent(ctx, got, it.Parent)
				return adapters.CreateResult{Item: got, Existed: true}, err
			}
			if !isNotFound(err) {
				return adapters.CreateResult{}, err
			}
			t.forget(repo, key) // deleted since: make a new one
		}
	}
	w := issueWrite{Title: ptr(it.Title), Body: ptr(rawBody{Text: it.Body, Key: opts.IdempotencyKey}.join())}
	// A label or milestone GitHub will not make (leftOut) does not hold
	// back the issue: it is made without, and a warning says why.
	if len(it.Labels) > 0 {
		spelt, err := t.ensureLabels(ctx, repo, it.Labels)
		switch {
		case leftOut(err):
			t.log.Warn("creating the issue without its labels: GitHub would not make one", "tracker", t.name, "title", it.Title, "repo", repo, "err", err)
		case err != nil:
			return adapters.CreateResult{}, fmt.Errorf("creating %q in %s: %w", it.Title, repo, err)
		default:
			w.Labels = ptr(spelt)
		}
	}
	if len(it.Assignees) > 0 {
		w.Assignees = ptr(adapters.NormalizeList(it.Assignees))
	}
	if m := it.Fields["milestone"]; m != "" {
		ms, err := t.milestone(ctx, repo, m)
		switch {
		case leftOut(err):
			t.log.Warn("creating the issue without its milestone: GitHub would not make it", "tracker", t.name, "title", it.Title, "repo", repo, "err", err)
		case err != nil:
			return adapters.CreateResult{}, fmt.Errorf("creating %q in %s: %w", it.Title, repo, err)
		default:
			w.Milestone = ms
		}
	}
	if typ, err := t.typeFor(ctx, repo, it); err != nil {
		return adapters.CreateResult{}, fmt.Errorf("creating %q in %s: %w", it.Title, repo, err)
	} else if typ != "" {
		w.Type = ptr(typ)
	}
	var is issue
	op := fmt.Sprintf("creating issue %q in %s", it.Title, repo)
	_, err = t.callShape(ctx, op, http.MethodPost, repoPath(repo)+"/issues", w, &is, nil, issueShape)
	if others, why := w.without(err); others != nil && others.Title != nil && others.Body != nil {
		// One value GitHub will not take (a person who cannot be
		// assigned) does not keep the issue from being made; the title
		// and the body (which holds the key's marker) are never left out.
		t.log.Warn("creating the issue without the fields GitHub refused", "tracker", t.name, "title", it.Title, "repo", repo, "refused", why)
		w = *others
		_, err = t.callShape(ctx, op, http.MethodPost, repoPath(repo)+"/issues", w, &is, nil, issueShape)
	}
	if err != nil {
		t.dropCaches(repo, err)
		return adapters.CreateResult{}, err
	}
	if opts.IdempotencyKey != "" {
		t.remember(repo, opts.IdempotencyKey, is.GetNumber())
	}
	if f := w.dropped(&is); len(f) > 0 {
		// The issue is made and will be linked as it is; someone must
		// give the token push access for the rest to follow.
		t.log.Warn("GitHub made the issue without some of the fields written: it silently drops them when the token lacks push access to the repository",
			"tracker", t.name, "issue", issueID(repo, is.GetNumber()), "fields", strings.Join(f, ", "), "repo", repo)
	}
	if state != "open" {
		// GitHub creates issues open; closing is a second write.
		id := issueID(repo, is.GetNumber())
		cw := issueWrite{State: ptr(state), StateReason: ptr(reason)}
		closed, err := t.patchIssue(ctx, "closing new issue "+id, repo, is.GetNumber(), cw)
		if err != nil {
			return adapters.CreateResult{}, err
		}
		is = *closed
	}
	made := t.toItem(repo, &is)
	if it.Parent != nil && !it.Parent.IsZero() {
		if made, err = t.updateParent(ctx, repo, &is, it.Parent, true); err != nil {
			return adapters.CreateResult{}, fmt.Errorf("creating %q in %s: %w", it.Title, repo, err)
		}
	}
	return adapters.CreateResult{Item: made}, nil
}

// forgetWritten forgets the recent read of the issue a write's path
// names (repos/{owner}/{repo}/issues/{n}...), or every recent read when it
// names none: the write may have changed them.
func (t *Tracker) forgetWritten(path string) {
	seg := strings.Split(strings.Trim(strings.SplitN(path, "?", 2)[0], "/"), "/")
	for i := 0; i+3 < len(seg); i++ {
		if seg[i] == "repos" && seg[i+3] == "issues" && i+4 < len(seg) {
			if n, err := strconv.Atoi(seg[i+4]); err == nil {
				t.reads.Forget(issueID(seg[i+1]+"/"+seg[i+2], n))
				return
			}
		}
	}
	t.reads.ForgetAll()
}

func isNotFound(err error) bool { return errors.Is(err, adapters.ErrNotFound) }

// updateItem is Update without the project status source (see
// projects.go). GitHub has no conditional write, so
// IfVersion is checked against a fresh read just before the PATCH. Only
// fields whose value differs are sent, all in one PATCH: a status and the
// status labels the mapping layer put in Labels land together.
func (t *Tracker) updateItem(ctx context.Context, ref adapters.Ref, p adapters.Patch) (adapters.Item, error) {
	caps := t.Capabilities()
	for _, f := range p.Fields {
		if !caps.HasField(f) {
			return adapters.Item{}, fmt.Errorf("github: updating %s: field %q: %w", ref, f, adapters.ErrUnsupported)
		}
	}
	repo, n, err := parseRef(ref)
	if err != nil {
		return adapters.Item{}, err
	}
	id := issueID(repo, n)
	// The version check reads the issue, unless Get read it at that
	// version within the last second (package fresh).
	r, ok := t.reads.Take(id)
	is := r.is
	if !ok || p.IfVersion == "" || r.version != p.IfVersion {
		if is, err = t.getIssue(ctx, repo, n); err != nil {
			return adapters.Item{}, err
		}
	}
	cur := t.toItem(repo, is)
	if p.IfVersion != "" && p.IfVersion != cur.Version {
		return adapters.Item{}, fmt.Errorf("github: updating %s: version %s, expected %s: %w", id, cur.Version, p.IfVersion, adapters.ErrConflict)
	}
	var w issueWrite
	parent, fieldStatus := false, false
	// left are the fields left out of the write because what they need
	// could not be had (a label or milestone GitHub would not make, an
	// issue type the owner lacks): they do not hold back the others.
	var left []error
	for _, f := range p.Fields {
		switch f {
		case adapters.FieldTitle:
			if p.Item.Title != cur.Title {
				w.Title = ptr(p.Item.Title)
			}
		case adapters.FieldBody:
			if p.Item.Body != cur.Body {
				b := splitBody(is.GetBody())
				b.Text = p.Item.Body
				w.Body = ptr(b.join())
			}
		case adapters.FieldStatus:
			if t.ifields != nil {
				// Written after the rest (setIssueField).
				fieldStatus = p.Item.Status != cur.Status
				continue
			}
			if p.Item.Status != cur.Status {
				state, reason, err := stateOf(p.Item.Status)
				if err != nil {
					return adapters.Item{}, fmt.Errorf("updating %s: %w", id, err)
				}
				w.State = ptr(state)
				if reason != "" {
					w.StateReason = ptr(reason)
				}
			}
		case adapters.FieldAssignees:
			if want := adapters.NormalizeList(p.Item.Assignees); !slices.Equal(want, cur.Assignees) {
				w.Assignees = ptr(nonNil(want))
			}
		case adapters.FieldLabels:
			// Labels differing in case only are the same labels to
			// GitHub: writing them would change nothing.
			if want := adapters.NormalizeList(p.Item.Labels); !sameLabels(want, cur.Labels) {
				spelt, err := t.ensureLabels(ctx, repo, want)
				if leftOut(err) {
					left = append(left, err)
					continue
				}
				if err != nil {
					return adapters.Item{}, fmt.Errorf("updating %s: %w", id, err)
				}
				w.Labels = ptr(nonNil(spelt))
			}
		case adapters.FieldParent:
			parent = true
		case adapters.FieldType:
			// An item without a type leaves the issue's alone.
			if p.Item.Type != "" && !strings.EqualFold(p.Item.Type, cur.Type) {
				typ, err := t.ownerType(ctx, repo, p.Item.Type)
				if leftOut(err) {
					left = append(left, err)
					continue
				}
				if err != nil {
					return adapters.Item{}, fmt.Errorf("updating %s: %w", id, err)
				}
				w.Type = ptr(typ)
			}
		case FieldMilestone:
			if want := p.Item.Fields["milestone"]; want != cur.Fields["milestone"] {
				ms, err := t.milestone(ctx, repo, want)
				if leftOut(err) {
					left = append(left, err)
					continue
				}
				if err != nil {
					return adapters.Item{}, fmt.Errorf("updating %s: %w", id, err)
				}
				w.Milestone = ms
			}
		}
	}
	// refused names the fields GitHub refused (or dropped) in an edit
	// whose other fields were written without them: the update ends in
	// an error naming them.
	var refused error
	if len(left) > 0 {
		why := errors.Join(left...)
		if w.empty() && !parent && !fieldStatus {
			return adapters.Item{}, fmt.Errorf("updating %s: %w", id, why)
		}
		refused = adapters.Permanent(fmt.Errorf("updating %s: %w; %w", id, why, errOthersWritten))
	}
	if parent {
		if cur, err = t.updateParent(ctx, repo, is, p.Item.Parent, w.empty()); err != nil {
			return adapters.Item{}, fmt.Errorf("updating %s: %w", id, err)
		}
	}
	out := is
	if !w.empty() {
		out, err = t.patchIssue(ctx, "updating issue "+id, repo, n, w)
		sent := w
		if others, why := w.without(err); others != nil {
			sent = *others
			// One value GitHub will not take (a person who cannot be
			// assigned) does not hold back the others.
			refused = errors.Join(refused, adapters.Permanent(fmt.Errorf("github: updating %s: GitHub refused %s; %w: %w", id, why, errOthersWritten, err)))
			out, err = t.patchIssue(ctx, "updating issue "+id, repo, n, *others)
		}
		if err != nil {
			return adapters.Item{}, err
		}
		if f := sent.dropped(out); len(f) > 0 {
			refused = errors.Join(refused, adapters.Permanent(fmt.Errorf("github: updating %s: GitHub answered without the %s written, which it silently drops when the token lacks push access to %s; %w",
				id, strings.Join(f, " and "), repo, errOthersWritten)))
		}
		cur = t.toItem(repo, out)
	}
	if fieldStatus {
		if err := t.setIssueField(ctx, repo, n, p.Item.Status); err != nil {
			return adapters.Item{}, errors.Join(refused, fmt.Errorf("updating %s: %w", id, err))
		}
		if out, err = t.getIssue(ctx, repo, n); err != nil {
			return adapters.Item{}, err
		}
		cur = t.toItem(repo, out)
	}
	// The item as written comes back with the refusal, for Update to go
	// on with the project's fields; the engine takes the error.
	return cur, refused
}

// leftOut reports whether err, met while preparing one field of an
// edit, is GitHub's lasting refusal of what that field needs (a label it
// will not make, an issue type the owner lacks): the field is left out
// and the rest written. Bad credentials would fail the write as well.
func leftOut(err error) bool {
	return err != nil && adapters.IsPermanent(err) && !errors.Is(err, adapters.ErrUnauthorized)
}

// errOthersWritten marks an update that wrote all but the fields GitHub
// refused.
var errOthersWritten = errors.New("the other fields were written")

// without is w less the fields err (a 422 naming fields) refused, when
// err names only fields w sets and some are left; why names them with
// GitHub's words. nil when the write cannot be split.
func (w issueWrite) without(err error) (*issueWrite, string) {
	var fr *rest.FieldRefusal
	if !errors.As(err, &fr) {
		return nil, ""
	}
	rest := w
	var named []string
	for _, f := range slices.Sorted(maps.Keys(fr.Fields)) {
		set := true
		switch f {
		case "title":
			set, rest.Title = rest.Title != nil, nil
		case "body":
			set, rest.Body = rest.Body != nil, nil
		case "state", "state_reason":
			set, rest.State, rest.StateReason = rest.State != nil || rest.StateReason != nil, nil, nil
		case "labels":
			set, rest.Labels = rest.Labels != nil, nil
		case "assignees", "assignee":
			set, rest.Assignees = rest.Assignees != nil, nil
		case "milestone":
			set, rest.Milestone = rest.Milestone != nil, nil
		case "type":
			set, rest.Type = rest.Type != nil, nil
		default:
			set = false
		}
		if !set {
			return nil, "" // about a field this write did not send
		}
		named = append(named, fmt.Sprintf("%s (%s)", f, fr.Fields[f]))
	}
	if rest.empty() {
		return nil, ""
	}
	return &rest, strings.Join(named, ", ")
}

// dropped names the fields w sets that the answer does not hold:
// GitHub answers 200 to an issue write from a token without push access
// to the repository and silently leaves out its labels, assignees,
// milestone and type.
func (w issueWrite) dropped(is *issue) []string {
	var out []string
	// Label names and logins alike are case-insensitive.
	if w.Labels != nil && !sameLabels(*w.Labels, names(is.Labels, (*gh.Label).GetName)) {
		out = append(out, "labels")
	}
	if w.Assignees != nil && !sameLabels(*w.Assignees, names(is.Assignees, (*gh.User).GetLogin)) {
		out = append(out, "assignees")
	}
	if w.Milestone != nil {
		want := string(w.Milestone)
		got := "null"
		if m := is.GetMilestone(); m != nil {
			got = strconv.Itoa(m.GetNumber())
		}
		if want != got {
			out = append(out, "milestone")
		}
	}
	if w.Type != nil && !strings.EqualFold(*w.Type, is.typeName()) {
		out = append(out, "type")
	}
	return out
}

// names is name of each of xs.
func names[T any](xs []*T, name func(*T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, name(x))
	}
	return out
}

// archiveItem is Archive without the project status source: it closes
// the issue as completed; an issue already closed (either way) is left
// as it is.
func (t *Tracker) archiveItem(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	repo, n, err := parseRef(ref)
	if err != nil {
		return adapters.Item{}, err
	}
	is, err := t.getIssue(ctx, repo, n)
	if err != nil {
		return adapters.Item{}, err
	}
	if is.GetState() == "closed" {
		return t.toItem(repo, is), nil
	}
	w := issueWrite{State: ptr("closed"), StateReason: ptr("completed")}
	out, err := t.patchIssue(ctx, "closing issue "+issueID(repo, n), repo, n, w)
	if err != nil {
		return adapters.Item{}, err
	}
	return t.toItem(repo, out), nil
}

// Check implements adapters.Checker: the credentials work (GET
// /rate_limit, which costs no quota) and, once known, the repository
// Create writes to is reachable.
func (t *Tracker) Check(ctx context.Context) error {
	var rl struct{}
	if _, err := t.call(ctx, "checking credentials", http.MethodGet, "rate_limit", nil, &rl, nil); err != nil {
		return err
	}
	t.mu.Lock()
	repo := t.repo
	t.mu.Unlock()
	if repo != "" {
		var r gh.Repository
		if _, err := t.call(ctx, "reading repository "+repo, http.MethodGet, repoPath(repo), nil, &r, nil); err != nil {
			return err
		}
		if !r.GetHasIssues() {
			return fmt.Errorf("github: repository %s has issues turned off: %w", repo, adapters.ErrInvalid)
		}
		if t.ifields != nil {
			// The status field must exist before any status is written.
			owner, _, _ := strings.Cut(repo, "/")
			if _, err := t.orgField(ctx, owner); err != nil {
				return err
			}
		}
	}
	return nil
}

// UpdateChildren rewrites the children task list in parent's body (see
// SetChildren) to children, each checked when its status is done, and
// leaves the rest of the body alone. Nothing is written when the list is
// already so. This is how hierarchy is kept on GitHub, which has no
// parent field tracksync can write.
func (t *Tracker) UpdateChildren(ctx context.Context, parent adapters.Ref, children []adapters.Item) (adapters.Item, error) {
	return t.UpdateTracking(ctx, parent, "", children)
}

// UpdateTracking is UpdateChildren with a summary line above the task list
// (an initiative's progress, written by the roll-up's write-back).
func (t *Tracker) UpdateTracking(ctx context.Context, parent adapters.Ref, summary string, children []adapters.Item) (adapters.Item, error) {
	repo, n, err := parseRef(parent)
	if err != nil {
		return adapters.Item{}, err
	}
	is, err := t.getIssue(ctx, repo, n)
	if err != nil {
		return adapters.Item{}, err
	}
	var refs []string
	done := map[string]bool{}
	for _, c := range children {
		r := c.Ref.Key
		if r == "" {
			r = c.Ref.ID
		}
		if c.Ref.Tracker == t.name && c.Ref.Project == repo {
			// Same repository: the short form GitHub links and tracks.
			_, num, _ := strings.Cut(r, "#")
			r = "#" + num
		} else if c.Ref.Tracker != t.name && c.Ref.URL != "" {
			r = "[" + r + "](" + c.Ref.URL + ")"
		}
		refs = append(refs, r)
		done[r] = c.StatusCategory == adapters.CategoryDone
	}
	body := SetTracking(is.GetBody(), summary, refs, done)
	if body == is.GetBody() {
		return t.toItem(repo, is), nil
	}
	out, err := t.patchIssue(ctx, "updating the children of "+issueID(repo, n), repo, n, issueWrite{Body: ptr(body)})
	if err != nil {
		return adapters.Item{}, err
	}
	return t.toItem(repo, out), nil
}
