// Package githubtest is an in-process fake of the GitHub REST API, enough of
// it for tracksync's GitHub adapter: repositories, issues and pull requests
// (which the issues list returns too, marked with a pull_request key),
// labels, milestones, assignable users and comments, with GitHub's rules:
// ETags and 304 Not Modified on If-None-Match (a 304 costs no quota),
// since/sort/direction/state/labels/creator filtering, Link-header
// pagination, 404/410/422 errors in GitHub's {message, errors,
// documentation_url} shape, the primary rate limit with its X-RateLimit-*
// headers and the secondary limits on content-creating requests (80 a
// minute, 500 an hour by default, answered 403 with Retry-After), all on a
// clock tests drive. It injects faults, logs requests, lets tests play a
// person editing an issue, mints GitHub App installation tokens and delivers
// signed webhooks to a registered URL.
package githubtest

import (
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tracksync/tracksync/adapters/internal/faults"
)

// DefaultOwner and DefaultRepo name the repository New creates unless
// Options.Repos says otherwise.
const (
	DefaultRepo = "acme/app"
	apiVersion  = "2022-11-28"
	docsBase    = "https://docs.github.com/rest"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Repos to create, "owner/name" (default: DefaultRepo).
	Repos []string
	// Users who may be assigned in every repository. "octocat" (the
	// default creator of everything) is always one.
	Users []string
	// Tokens the server accepts; empty means any non-empty token (and
	// none at all) is accepted as "octocat".
	Tokens []string
	// Clock reads the time (default: a manual clock starting at
	// 2026-11-01T09:00:00Z that Advance moves).
	Clock func() time.Time
	// RateLimit is the primary limit per hour (default 5000).
	RateLimit int
	// ContentPerMinute and ContentPerHour are the secondary limits on
	// content-creating requests (POST, PATCH, PUT, DELETE); defaults 80
	// and 500, negative means unlimited.
	ContentPerMinute, ContentPerHour int
	// TokenTTL is the lifetime of minted installation tokens (default 1h).
	TokenTTL time.Duration
	// Start is where the manual clock starts (default 2026-11-01T09:00Z).
	Start time.Time
	// IssueTypes are the issue types every owner has (e.g. Task, Bug,
	// Epic); none means issue types are off and issues carry no type.
	IssueTypes []string
	// GraphQLLimit is the GraphQL point budget per hour (default 5000).
	GraphQLLimit int
	// NoPush makes every token one without push access to the
	// repositories (a triager's or reader's): as GitHub does, an issue
	// write's labels, assignees, milestone and type are then silently
	// dropped, and the rest written; creating a label or a milestone is
	// refused (403).
	NoPush bool
}

// Issue is an issue or pull request as the fake stores it; test hooks
// receive and return copies.
type Issue struct {
	Repo        string
	Number      int
	ID          int64
	Title       string
	Body        string
	State       string // open, closed
	StateReason string // "", completed, not_planned, duplicate, reopened
	Labels      []string
	Assignees   []string
	Milestone   int // milestone number, 0 for none
	User        string
	PullRequest bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ClosedAt    time.Time
	Deleted     bool // answered 410 Gone
	// MovedTo is "owner/repo#n" once the issue was transferred there:
	// the API then answers 301 for it, and listings leave it out.
	MovedTo string
	// Parent is "owner/repo#n" of the issue this one is a sub-issue of.
	Parent string
	// Type is the issue type's name ("" for none).
	Type string
	// FieldValues are the issue's values of its owner's issue fields, by
	// field id (a single select's by option name).
	FieldValues map[int64]string
	subPos      int64 // order among the parent's sub-issues
}

// Comment is one issue comment.
type Comment struct {
	ID        int64
	Repo      string
	Issue     int
	Body      string
	User      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Label is a repository label.
type Label struct {
	ID          int64
	Name        string
	Color       string
	Description string
}

// Milestone is a repository milestone.
type Milestone struct {
	ID        int64
	Number    int
	Title     string
	State     string
	CreatedAt time.Time
}

type repo struct {
	id         int64
	owner      string
	name       string
	issues     []*Issue // index number-1
	labels     []*Label
	milestones []*Milestone
	comments   []*Comment
	// byIssue and byID index comments (addComment keeps them), so an
	// issue's comments cost no scan of the repository's: at 10,000 issues
	// with 30,000 comments the scans were most of a soak's time.
	byIssue map[int][]*Comment
	byID    map[int64]*Comment
	// createdOutOfOrder: some issue was created before one with a lower
	// number (CreateIssue with a CreatedAt, a clock set back). Until then
	// issues holds them in (created, number) order and a listing by
	// creation needs no sort.
	createdOutOfOrder bool
}

// noteCreated keeps createdOutOfOrder true once issue p's creation time
// breaks the order of numbers.
func (r *repo) noteCreated(p *Issue) {
	if p.Number > 1 && p.CreatedAt.Before(r.issues[p.Number-2].CreatedAt) {
		r.createdOutOfOrder = true
	}
}

// addComment appends c to the repository's comments and their indexes.
func (r *repo) addComment(c *Comment) {
	if r.byIssue == nil {
		r.byIssue, r.byID = map[int][]*Comment{}, map[int64]*Comment{}
	}
	r.comments = append(r.comments, c)
	r.byIssue[c.Issue] = append(r.byIssue[c.Issue], c)
	r.byID[c.ID] = c
}

// Request is one logged request.
type Request struct {
	Method      string
	Path        string
	Query       string
	IfNoneMatch string
	Status      int
	// Quota is how much primary quota the request used (0 for a 304 or
	// a request refused by a limit).
	Quota int
	// GraphQL is "query" or "mutation" for a GraphQL request ("" for
	// REST); only mutations count as writes.
	GraphQL string
	At      time.Time
}

// Fault makes matching requests fail.
type Fault struct {
	Method     string // "" matches every method
	Path       string // prefix of the URL path (without a GHES /api/v3); "" matches every path
	Status     int    // HTTP status to answer
	Message    string // GitHub message (default: the status text)
	RetryAfter time.Duration
	// AfterApply performs the request and then answers Status instead of
	// its result, as when a response is lost on the way back.
	AfterApply bool
	// Times is how many requests it fails (0: one).
	Times int
	// Secondary answers as GitHub's secondary rate limit does (403 with
	// the secondary-limit documentation URL).
	Secondary bool
	// Garble answers Status (default 200) with an unreadable body
	// instead: a login page, cut JSON, an empty body or {}. The request
	// does not reach GitHub (a proxy answered) unless AfterApply is set
	// or the garble is GarbleCut, which cuts the real answer.
	Garble Garble
}

// Garble is a kind of unreadable 2xx body a Fault answers with.
type Garble = faults.Garble

// The garbles.
const (
	GarbleHTML        = faults.HTML
	GarbleCut         = faults.Cut
	GarbleEmpty       = faults.Empty
	GarbleEmptyObject = faults.EmptyObject
)

// App is a GitHub App the fake knows: installation tokens are minted for
// JWTs signed with its key.
type App struct {
	ID             int64
	InstallationID int64
	Key            *rsa.PublicKey
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server
	// URL is the API base URL (what the adapter's url option takes).
	URL string

	mu     sync.Mutex
	opts   Options
	manual time.Time
	repos  map[string]*repo
	// renamed maps a repository's old "owner/name" to its current one:
	// GitHub answers 301 on every path under the old name.
	renamed map[string]string
	users   map[string]bool
	tokens  map[string]time.Time // token -> expiry (zero: never)
	apps    map[int64]App
	nextID  int64
	faults  []*Fault
	log     []Request
	counts  Counts // the log's sums, kept as it grows (Count)
	rate    struct {
		used  int
		reset time.Time
	}
	content []time.Time // content-creating requests, for the secondary limit
	// SecondaryViolations counts requests refused by the secondary limits.
	secondaryViolations int
	minted              int
	hook                struct {
		url, secret string
		client      *http.Client
		id          int64
	}
	deliveries []Delivery
	subSeq     int64 // orders sub-issues
	projects   []*Project
	// ids and kids index issues by id and by their Parent key (insertIssue
	// and setParentKey keep them), so an issue's sub-issues and an id cost
	// no scan of every issue.
	ids  map[int64]*Issue
	kids map[string][]*Issue
	// issueFields are organizations' issue fields.
	issueFields []*IssueField
	gqlUsed     int // GraphQL points in the current window
	gqlTotal    int
	gqlReset    time.Time
	// fieldWrites are the project field values GraphQL wrote.
	fieldWrites []FieldWrite
}

// New starts a fake; it is closed when the test ends.
func New(t interface{ Cleanup(func()) }, opts Options) *Server {
	if len(opts.Repos) == 0 {
		opts.Repos = []string{DefaultRepo}
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = 5000
	}
	if opts.ContentPerMinute == 0 {
		opts.ContentPerMinute = 80
	}
	if opts.ContentPerHour == 0 {
		opts.ContentPerHour = 500
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.GraphQLLimit == 0 {
		opts.GraphQLLimit = 5000
	}
	s := &Server{
		opts:    opts,
		manual:  time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC),
		repos:   map[string]*repo{},
		renamed: map[string]string{},
		users:   map[string]bool{"octocat": true},
		tokens:  map[string]time.Time{},
		apps:    map[int64]App{},
		nextID:  1000,
	}
	if !opts.Start.IsZero() {
		s.manual = opts.Start
	}
	for _, u := range opts.Users {
		s.users[u] = true
	}
	for _, tok := range opts.Tokens {
		s.tokens[tok] = time.Time{}
	}
	for _, r := range opts.Repos {
		s.AddRepo(r)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/"
	t.Cleanup(s.srv.Close)
	return s
}

// Client returns an HTTP client that reaches the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Now reads the fake's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) now() time.Time {
	if s.opts.Clock != nil {
		return s.opts.Clock()
	}
	return s.manual
}

// Advance moves the fake's own clock forward; it panics when
// Options.Clock was given (move that clock instead).
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Clock != nil {
		panic("githubtest: Advance with an external Options.Clock")
	}
	s.manual = s.manual.Add(d)
}

func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

// AddRepo creates repository "owner/name" (no-op when it exists).
func (s *Server) AddRepo(full string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[full]; ok {
		return
	}
	owner, name, _ := strings.Cut(full, "/")
	s.repos[full] = &repo{id: s.id(), owner: owner, name: name}
}

// AddUser makes login assignable in every repository.
func (s *Server) AddUser(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[login] = true
}

// AddToken makes tok valid until expiry (zero: forever).
func (s *Server) AddToken(tok string, expiry time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = expiry
}

// AddApp registers a GitHub App whose installation tokens the fake mints
// at POST /app/installations/{id}/access_tokens.
func (s *Server) AddApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[a.InstallationID] = a
}

// SetTokenTTL changes the lifetime of installation tokens minted from now.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.TokenTTL = d
}

// Minted is how many installation tokens were minted.
func (s *Server) Minted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minted
}

// Inject adds a fault; faults are tried in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	if f.Garble != faults.None {
		if f.Status == 0 {
			f.Status = http.StatusOK
		}
		if f.Garble.NeedsAnswer() {
			f.AfterApply = true
		}
	}
	s.faults = append(s.faults, &f)
}

// ClearFaults drops every pending fault.
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
	s.log, s.counts = nil, Counts{}
}

// Counts sums the request log: requests made, primary quota used, and
// writes (content-creating requests that succeeded).
type Counts struct {
	Requests, Quota, Writes, NotModified int
}

// Count sums the request log. The sums are kept as requests are logged:
// a test that polls them (to kill a process at a given write) must not
// walk a log of hundreds of thousands of requests under the server's lock.
func (s *Server) Count() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// logRequest appends r to the request log and adds it to the counts.
func (s *Server) logRequest(r Request) {
	s.log = append(s.log, r)
	s.counts.Requests++
	s.counts.Quota += r.Quota
	if isContent(r.Method) && r.Status < 300 && r.GraphQL != "query" {
		s.counts.Writes++
	}
	if r.Status == http.StatusNotModified {
		s.counts.NotModified++
	}
}

// SecondaryViolations is how many requests the secondary limits refused.
func (s *Server) SecondaryViolations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secondaryViolations
}

// RateRemaining is the primary quota left in the current window.
func (s *Server) RateRemaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollRate()
	return s.opts.RateLimit - s.rate.used
}

// Issues returns copies of every issue and pull request in repo, deleted
// ones left out.
func (s *Server) Issues(repoName string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repoName]
	if r == nil {
		return nil
	}
	var out []Issue
	for _, is := range r.issues {
		if !is.Deleted && is.MovedTo == "" {
			out = append(out, clone(is))
		}
	}
	return out
}

// IssueTitled returns a copy of the first issue or pull request in repo
// titled title (by number), deleted ones left out.
func (s *Server) IssueTitled(repoName, title string) (Issue, bool) {
	for _, is := range s.Issues(repoName) {
		if is.Title == title {
			return is, true
		}
	}
	return Issue{}, false
}

// Issue returns a copy of one issue.
func (s *Server) Issue(repoName string, number int) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issue(repoName, number)
	if is == nil {
		return Issue{}, false
	}
	return clone(is), true
}

// Comments returns copies of an issue's comments, oldest first.
func (s *Server) Comments(repoName string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repoName]
	if r == nil {
		return nil
	}
	var out []Comment
	for _, c := range r.byIssue[number] {
		out = append(out, *c)
	}
	return out
}

// Labels returns the repository's labels.
func (s *Server) Labels(repoName string) []Label {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Label
	if r := s.repos[repoName]; r != nil {
		for _, l := range r.labels {
			out = append(out, *l)
		}
	}
	return out
}

func clone(is *Issue) Issue {
	c := *is
	c.Labels = slices.Clone(is.Labels)
	c.Assignees = slices.Clone(is.Assignees)
	c.FieldValues = maps.Clone(is.FieldValues)
	return c
}

func (s *Server) issue(repoName string, number int) *Issue {
	r := s.repos[repoName]
	if r == nil || number < 1 || number > len(r.issues) {
		return nil
	}
	return r.issues[number-1]
}

// CreateIssue makes an issue (or, with PullRequest set, a pull request) as
// a person would, outside the API: no quota, no limits. It fills number,
// id and times and returns the stored copy; labels it names are created.
// A CreatedAt given is kept (updated_at is still now): an issue that
// reaches the replica answering listings after newer ones did.
func (s *Server) CreateIssue(repoName string, is Issue) Issue {
	s.mu.Lock()
	r := s.repos[repoName]
	if r == nil {
		s.mu.Unlock()
		panic("githubtest: no repository " + repoName)
	}
	created := is.CreatedAt
	stored := s.insertIssue(r, is)
	if !created.IsZero() {
		stored.CreatedAt = created
		r.noteCreated(stored)
	}
	ev := s.issueEvent(r, stored, "opened")
	s.mu.Unlock()
	s.deliver(ev)
	return clone(stored)
}

func (s *Server) insertIssue(r *repo, is Issue) *Issue {
	now := s.now()
	is.Repo = r.owner + "/" + r.name
	is.Number = len(r.issues) + 1
	is.ID = s.id()
	if is.State == "" {
		is.State = "open"
	}
	if is.User == "" {
		is.User = "octocat"
	}
	is.CreatedAt, is.UpdatedAt = now, now
	if is.State == "closed" {
		is.ClosedAt = now
		if is.StateReason == "" {
			is.StateReason = "completed"
		}
	}
	is.Labels = s.ensureLabels(r, is.Labels)
	is.Assignees = normalize(is.Assignees)
	p := &is
	r.issues = append(r.issues, p)
	r.noteCreated(p)
	if s.ids == nil {
		s.ids, s.kids = map[int64]*Issue{}, map[string][]*Issue{}
	}
	s.ids[p.ID] = p
	if p.Parent != "" {
		s.kids[p.Parent] = append(s.kids[p.Parent], p)
	}
	return p
}

// AddMilestone makes an open milestone as a person would, outside the
// API, and returns it; an existing title is returned as it is.
func (s *Server) AddMilestone(repoName, title string) Milestone {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[repoName]
	if r == nil {
		panic("githubtest: no repository " + repoName)
	}
	for _, ms := range r.milestones {
		if ms.Title == title {
			return *ms
		}
	}
	ms := &Milestone{ID: s.id(), Number: len(r.milestones) + 1, Title: title, State: "open", CreatedAt: s.now()}
	r.milestones = append(r.milestones, ms)
	return *ms
}

// EditIssue changes an issue as a person would in the web UI: mutate sees
// a copy, and updated_at moves to now. Labels named are created.
func (s *Server) EditIssue(repoName string, number int, mutate func(*Issue)) error {
	s.mu.Lock()
	is := s.issue(repoName, number)
	if is == nil || is.Deleted || is.MovedTo != "" {
		s.mu.Unlock()
		return fmt.Errorf("githubtest: no issue %s#%d", repoName, number)
	}
	r := s.repos[repoName]
	c := clone(is)
	mutate(&c)
	before := clone(is)
	is.Title, is.Body, is.Milestone, is.Type = c.Title, c.Body, c.Milestone, c.Type
	is.Labels = s.ensureLabels(r, c.Labels)
	is.Assignees = normalize(c.Assignees)
	s.setState(is, c.State, c.StateReason)
	is.UpdatedAt = s.now()
	evs := s.changeEvents(r, before, is)
	s.mu.Unlock()
	for _, ev := range evs {
		s.deliver(ev)
	}
	return nil
}

// DeleteIssue deletes an issue: the API then answers 410 Gone for it.
func (s *Server) DeleteIssue(repoName string, number int) error {
	s.mu.Lock()
	is := s.issue(repoName, number)
	if is == nil || is.Deleted || is.MovedTo != "" {
		s.mu.Unlock()
		return fmt.Errorf("githubtest: no issue %s#%d", repoName, number)
	}
	is.Deleted = true
	ev := s.issueEvent(s.repos[repoName], is, "deleted")
	s.mu.Unlock()
	s.deliver(ev)
	return nil
}

// TransferIssue moves an issue to another repository as a person would:
// a new issue (next number there) takes its title, body, state, labels,
// assignees and comments, the milestone is dropped (milestones are per
// repository), and the old number answers 301 with Location the new
// issue's URL from then on. The old repository's hook gets a
// "transferred" issues event, the new one's an "opened". It returns the
// new issue.
func (s *Server) TransferIssue(repoName string, number int, toRepo string) (Issue, error) {
	s.mu.Lock()
	is := s.issue(repoName, number)
	to := s.repos[toRepo]
	if is == nil || is.Deleted || is.MovedTo != "" || to == nil || toRepo == repoName {
		s.mu.Unlock()
		return Issue{}, fmt.Errorf("githubtest: cannot transfer %s#%d to %s", repoName, number, toRepo)
	}
	from := s.repos[repoName]
	c := clone(is)
	c.Milestone = 0
	moved := s.insertIssue(to, c)
	moved.State, moved.StateReason, moved.ClosedAt = is.State, is.StateReason, is.ClosedAt
	for _, cm := range from.byIssue[number] {
		x := *cm
		x.ID, x.Repo, x.Issue = s.id(), toRepo, moved.Number
		to.addComment(&x)
	}
	is.MovedTo = fmt.Sprintf("%s#%d", toRepo, moved.Number)
	ev := s.issueEvent(from, is, "transferred")
	ev.payload["changes"] = obj{"new_issue": s.issueJSON(to, moved), "new_repository": s.repoHookJSON(to)}
	opened := s.issueEvent(to, moved, "opened")
	out := clone(moved)
	s.mu.Unlock()
	s.deliver(ev)
	s.deliver(opened)
	return out, nil
}

// RenameRepo renames repository from to "owner/name" to: the old name
// answers 301 on every path from then on, as GitHub's redirects do.
func (s *Server) RenameRepo(from, to string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[from]
	if r == nil || s.repos[to] != nil {
		return fmt.Errorf("githubtest: cannot rename %s to %s", from, to)
	}
	delete(s.repos, from)
	r.owner, r.name, _ = strings.Cut(to, "/")
	for _, is := range r.issues {
		is.Repo = to
	}
	for _, c := range r.comments {
		c.Repo = to
	}
	s.repos[to] = r
	s.renamed[from] = to
	return nil
}

// AddComment comments on an issue as user (default "octocat"), outside
// the API.
func (s *Server) AddComment(repoName string, number int, user, body string) (Comment, error) {
	s.mu.Lock()
	is := s.issue(repoName, number)
	if is == nil || is.Deleted || is.MovedTo != "" {
		s.mu.Unlock()
		return Comment{}, fmt.Errorf("githubtest: no issue %s#%d", repoName, number)
	}
	r := s.repos[repoName]
	c := s.insertComment(r, is, user, body)
	ev := s.commentEvent(r, is, c, "created")
	s.mu.Unlock()
	s.deliver(ev)
	return *c, nil
}

func (s *Server) insertComment(r *repo, is *Issue, user, body string) *Comment {
	if user == "" {
		user = "octocat"
	}
	now := s.now()
	c := &Comment{ID: s.id(), Repo: is.Repo, Issue: is.Number, Body: body, User: user, CreatedAt: now, UpdatedAt: now}
	r.addComment(c)
	// A new comment moves the issue's updated_at, as on GitHub.
	is.UpdatedAt = now
	return c
}

// EditComment replaces a comment's body as a person would.
func (s *Server) EditComment(repoName string, id int64, body string) error {
	s.mu.Lock()
	r := s.repos[repoName]
	var c *Comment
	if r != nil {
		c = findComment(r, id)
	}
	if c == nil {
		s.mu.Unlock()
		return fmt.Errorf("githubtest: no comment %d in %s", id, repoName)
	}
	from := c.Body
	c.Body = body
	c.UpdatedAt = s.now()
	is := s.issue(repoName, c.Issue)
	is.UpdatedAt = c.UpdatedAt
	ev := s.commentEdited(r, is, c, from)
	s.mu.Unlock()
	s.deliver(ev)
	return nil
}

func findComment(r *repo, id int64) *Comment {
	return r.byID[id]
}

// setState applies a state and reason the way GitHub does: closing
// without a reason means completed; reopening clears the reason to
// "reopened".
func (s *Server) setState(is *Issue, state, reason string) {
	switch {
	case state == "closed" && is.State != "closed":
		is.State = "closed"
		is.ClosedAt = s.now()
		if reason == "" || reason == "reopened" {
			reason = "completed"
		}
		is.StateReason = reason
	case state == "closed":
		if reason != "" && reason != "reopened" {
			is.StateReason = reason
		}
	case state == "open" && is.State != "open":
		is.State = "open"
		is.ClosedAt = time.Time{}
		is.StateReason = "reopened"
	}
}

// ensureLabels creates labels that do not exist yet (as GitHub does when
// an issue names one) and returns the names as stored, de-duplicated.
func (s *Server) ensureLabels(r *repo, names []string) []string {
	var out []string
	for _, n := range names {
		if n == "" {
			continue
		}
		l := findLabel(r, n)
		if l == nil {
			l = &Label{ID: s.id(), Name: n, Color: "ededed"}
			r.labels = append(r.labels, l)
		}
		if !slices.Contains(out, l.Name) {
			out = append(out, l.Name)
		}
	}
	return out
}

func findLabel(r *repo, name string) *Label {
	for _, l := range r.labels {
		if strings.EqualFold(l.Name, name) {
			return l
		}
	}
	return nil
}

func normalize(l []string) []string {
	out := slices.Clone(l)
	sort.Strings(out)
	return slices.Compact(out)
}

// Sign returns the X-Hub-Signature-256 value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
