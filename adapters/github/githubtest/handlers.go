package githubtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v4"

	"github.com/tracksync/tracksync/adapters/internal/faults"
)

// response is what a handler answers, before the limits' headers.
type response struct {
	status int
	body   any
	raw    []byte // sent as is instead of body, when not nil
	header http.Header
	events []delivery
	gql    string // "query" or "mutation" for a GraphQL request
}

func reply(status int, body any) response { return response{status: status, body: body} }

// apiError is GitHub's error shape: basic-error, or validation-error when
// fieldErrs are given.
func apiError(status int, msg, doc string, fieldErrs ...obj) response {
	b := obj{"message": msg, "documentation_url": docsBase + doc, "status": strconv.Itoa(status)}
	if len(fieldErrs) > 0 {
		b["errors"] = fieldErrs
	}
	return reply(status, b)
}

// moved is GitHub's answer for a transferred issue or a renamed
// repository: 301 with Location the new URL, and a basic-error body
// carrying it too.
func moved(loc string) response {
	r := reply(http.StatusMovedPermanently, obj{"message": "Moved Permanently", "url": loc,
		"documentation_url": docsBase + "/overview/resources-in-the-rest-api#http-redirects"})
	r.header = http.Header{"Location": {loc}}
	return r
}

func notFound() response { return apiError(http.StatusNotFound, "Not Found", "") }

func invalid(resource, field, code string, value any) response {
	e := obj{"resource": resource, "field": field, "code": code}
	if value != nil {
		e["value"] = value
	}
	return apiError(http.StatusUnprocessableEntity, "Validation Failed", "/issues/issues", e)
}

// MaxTitleLen and MaxBodyLen are the longest issue title and the
// longest issue or comment body GitHub takes, in characters.
const (
	MaxTitleLen = 256
	MaxBodyLen  = 65536
)

// tooLong is GitHub's 422 for a text field over its limit.
func tooLong(resource, field string, limit int) response {
	return apiError(http.StatusUnprocessableEntity, "Validation Failed", "/issues/issues",
		obj{"resource": resource, "field": field, "code": "custom", "message": fmt.Sprintf("%s is too long (maximum is %d characters)", field, limit)})
}

func isContent(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

const secondaryMessage = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID."

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	s.mu.Lock()
	now := s.now()
	rec := Request{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, IfNoneMatch: req.Header.Get("If-None-Match"), At: now}
	resp, quota := s.handle(req, body)
	rec.Status, rec.Quota, rec.GraphQL = resp.status, quota, resp.gql
	s.logRequest(rec)
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	s.rollRate()
	if h.Get("X-RateLimit-Resource") == "" { // GraphQL sets its own
		h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, s.opts.RateLimit-s.rate.used)))
		h.Set("X-RateLimit-Used", strconv.Itoa(s.rate.used))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(s.rate.reset.Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
	}
	h.Set("X-GitHub-Api-Version-Selected", apiVersion)
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%d", len(s.log)))
	var out []byte
	switch {
	case resp.raw != nil:
		out = resp.raw
	case resp.body != nil && resp.status != http.StatusNotModified && resp.status != http.StatusNoContent:
		out, _ = json.Marshal(resp.body)
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	events := resp.events
	s.mu.Unlock()
	// Webhooks go out before the response, so a test sees them as soon as
	// its call returns.
	for _, ev := range events {
		s.deliver(ev)
	}
	w.WriteHeader(resp.status)
	w.Write(out)
}

// rollRate starts a new primary window once the old one has reset.
func (s *Server) rollRate() {
	if now := s.now(); s.rate.reset.IsZero() || !now.Before(s.rate.reset) {
		s.rate.used = 0
		s.rate.reset = now.Add(time.Hour).Truncate(time.Second)
	}
}

// handle runs one request through auth, faults, limits and the route, and
// returns the answer and the primary quota it used.
func (s *Server) handle(req *http.Request, body []byte) (response, int) {
	path := strings.TrimPrefix(req.URL.Path, "/api/v3")
	seg := strings.Split(strings.Trim(path, "/"), "/")
	if len(seg) == 4 && seg[0] == "app" && seg[1] == "installations" && seg[3] == "access_tokens" && req.Method == http.MethodPost {
		return s.mintToken(req, seg[2]), 0
	}
	if r, ok := s.authenticate(req); !ok {
		return r, 0
	}
	var after *Fault
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == req.Method) && strings.HasPrefix(path, f.Path) {
			f.Times--
			if f.Times <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			if f.AfterApply {
				after = f
				break
			}
			return faultResponse(f), 0
		}
	}
	if path == "/graphql" || path == "/api/graphql" {
		resp := s.graphql(req, body)
		if after != nil {
			// Done, and the answer lost on the way back.
			f := faultResponse(after)
			f.gql = resp.gql
			return f, 0
		}
		return resp, 0
	}
	if len(seg) == 1 && seg[0] == "rate_limit" {
		s.rollRate()
		core := obj{"limit": s.opts.RateLimit, "remaining": s.opts.RateLimit - s.rate.used, "used": s.rate.used, "reset": s.rate.reset.Unix(), "resource": "core"}
		search := obj{"limit": 30, "remaining": 30, "used": 0, "reset": s.rate.reset.Unix(), "resource": "search"}
		return reply(http.StatusOK, obj{"resources": obj{"core": core, "search": search}, "rate": core}), 0
	}
	s.rollRate()
	if s.rate.used >= s.opts.RateLimit {
		return apiError(http.StatusForbidden, "API rate limit exceeded for user ID 1.", "/overview/rate-limits-for-the-rest-api"), 0
	}
	if isContent(req.Method) {
		if wait := s.secondaryWait(); wait > 0 {
			s.secondaryViolations++
			r := apiError(http.StatusForbidden, secondaryMessage, "/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
			r.header = http.Header{"Retry-After": {strconv.Itoa(int(math.Ceil(wait.Seconds())))}}
			return r, 0
		}
	}
	var resp response
	if len(seg) == 3 && seg[0] == "orgs" && seg[2] == "issue-fields" && req.Method == http.MethodGet {
		resp = s.listIssueFields(seg[1])
	} else {
		resp = s.route(req, seg, body)
	}
	if isContent(req.Method) && resp.status < 500 {
		s.content = append(s.content, s.now())
	}
	quota := 1
	if req.Method == http.MethodGet && resp.status == http.StatusOK {
		b, _ := json.Marshal(resp.body)
		sum := sha256.Sum256(b)
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		if resp.header == nil {
			resp.header = http.Header{}
		}
		resp.header.Set("ETag", etag)
		if inm := req.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
			// A conditional request answered 304 costs no quota.
			resp.status, resp.body, quota = http.StatusNotModified, nil, 0
		}
	}
	s.rate.used += quota
	if after != nil && after.Garble != faults.None {
		var real []byte
		if resp.body != nil {
			real, _ = json.Marshal(resp.body)
		}
		g := garbled(after, real)
		g.events = resp.events
		return g, quota
	}
	if after != nil {
		f := faultResponse(after)
		f.events = resp.events
		return f, quota
	}
	return resp, quota
}

func etagMatch(header, etag string) bool {
	strip := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "W/") }
	for _, e := range strings.Split(header, ",") {
		if strip(e) == strip(etag) || strings.TrimSpace(e) == "*" {
			return true
		}
	}
	return false
}

// garbled is f's unreadable answer, made from real where it needs it.
func garbled(f *Fault, real []byte) response {
	body, ct := f.Garble.Body(real)
	return response{status: f.Status, raw: body, header: http.Header{"Content-Type": {ct}}}
}

func faultResponse(f *Fault) response {
	if f.Garble != faults.None {
		return garbled(f, nil)
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	var r response
	if f.Secondary {
		r = apiError(http.StatusForbidden, secondaryMessage, "/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
	} else {
		r = apiError(f.Status, msg, "")
	}
	if f.RetryAfter > 0 {
		r.header = http.Header{"Retry-After": {strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds())))}}
	}
	return r
}

// secondaryWait is how long until one more content-creating request fits
// in both windows; 0 when it fits now.
func (s *Server) secondaryWait() time.Duration {
	now := s.now()
	s.content = slices.DeleteFunc(s.content, func(t time.Time) bool { return !t.After(now.Add(-time.Hour)) })
	var wait time.Duration
	check := func(limit int, window time.Duration) {
		if limit < 0 {
			return
		}
		var in []time.Time
		for _, t := range s.content {
			if t.After(now.Add(-window)) {
				in = append(in, t)
			}
		}
		if len(in) >= limit {
			// The oldest request that must leave the window first.
			w := in[len(in)-limit].Add(window).Sub(now)
			wait = max(wait, w)
		}
	}
	check(s.opts.ContentPerMinute, time.Minute)
	check(s.opts.ContentPerHour, time.Hour)
	return wait
}

func (s *Server) authenticate(req *http.Request) (response, bool) {
	if len(s.tokens) == 0 && len(s.apps) == 0 {
		return response{}, true
	}
	h := req.Header.Get("Authorization")
	tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(h, "token "), "Bearer "))
	exp, ok := s.tokens[tok]
	if tok == "" || !ok {
		return apiError(http.StatusUnauthorized, "Bad credentials", ""), false
	}
	if !exp.IsZero() && !s.now().Before(exp) {
		return apiError(http.StatusUnauthorized, "Bad credentials: token expired", ""), false
	}
	return response{}, true
}

// mintToken answers POST /app/installations/{id}/access_tokens: the
// bearer must be a JWT the app's key signed, issued for that app.
func (s *Server) mintToken(req *http.Request, idStr string) response {
	id, _ := strconv.ParseInt(idStr, 10, 64)
	app, ok := s.apps[id]
	if !ok {
		return notFound()
	}
	raw := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	claims := &jwt.RegisteredClaims{}
	// The JWT's own times are checked against real time by the library
	// that made it; the fake checks the signature and issuer only.
	p := jwt.NewParser(jwt.WithoutClaimsValidation())
	if _, err := p.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return app.Key, nil }); err != nil || claims.Issuer != strconv.FormatInt(app.ID, 10) {
		return apiError(http.StatusUnauthorized, "A JSON web token could not be decoded", "/apps/building-github-apps/authenticating-with-github-apps")
	}
	s.minted++
	tok := fmt.Sprintf("ghs_fake%d_%d", id, s.minted)
	exp := s.now().Add(s.opts.TokenTTL).Truncate(time.Second)
	s.tokens[tok] = exp
	return reply(http.StatusCreated, obj{"token": tok, "expires_at": ts(exp), "permissions": obj{"issues": "write", "metadata": "read"}, "repository_selection": "all"})
}

func (s *Server) route(req *http.Request, seg []string, body []byte) response {
	var r *repo
	var rest []string
	switch {
	case len(seg) >= 2 && seg[0] == "repositories":
		// GitHub's id-based paths, where its redirects point.
		id, _ := strconv.ParseInt(seg[1], 10, 64)
		for _, x := range s.repos {
			if x.id == id {
				r = x
			}
		}
		rest = seg[2:]
	case len(seg) >= 3 && seg[0] == "repos":
		full := seg[1] + "/" + seg[2]
		if to, ok := s.renamed[full]; ok && s.repos[to] != nil {
			loc := s.api("/repositories/%d", s.repos[to].id)
			if len(seg) > 3 {
				loc += "/" + strings.Join(seg[3:], "/")
			}
			return moved(loc)
		}
		r = s.repos[full]
		rest = seg[3:]
	}
	if r == nil {
		return notFound()
	}
	m := req.Method
	q := req.URL.Query()
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		return reply(http.StatusOK, s.repoJSON(r))
	case len(rest) == 1 && rest[0] == "issues" && m == http.MethodGet:
		return s.listIssues(req, r, q)
	case len(rest) == 1 && rest[0] == "issues" && m == http.MethodPost:
		return s.createIssue(r, body)
	case len(rest) == 3 && rest[0] == "issues" && rest[1] == "comments":
		id, _ := strconv.ParseInt(rest[2], 10, 64)
		c := findComment(r, id)
		if c == nil {
			return notFound()
		}
		switch m {
		case http.MethodGet:
			return reply(http.StatusOK, s.commentJSON(r, c))
		case http.MethodPatch:
			return s.editComment(r, c, body)
		}
	case len(rest) >= 2 && rest[0] == "issues":
		n, err := strconv.Atoi(rest[1])
		if err != nil {
			return notFound()
		}
		is := s.issue(r.owner+"/"+r.name, n)
		if is == nil {
			return notFound()
		}
		if is.Deleted {
			return apiError(http.StatusGone, "This issue was deleted", "/issues/issues#get-an-issue")
		}
		if is.MovedTo != "" {
			to, num, _ := strings.Cut(is.MovedTo, "#")
			loc := s.api("/repositories/%d/issues/%s", s.repos[to].id, num)
			if len(rest) > 2 {
				loc += "/" + strings.Join(rest[2:], "/")
			}
			return moved(loc)
		}
		if resp, ok := s.routeSubIssues(req, r, is, rest, body); ok {
			return resp
		}
		switch {
		case len(rest) == 2 && m == http.MethodGet:
			return reply(http.StatusOK, s.issueJSON(r, is))
		case len(rest) == 2 && m == http.MethodPatch:
			return s.updateIssue(r, is, body)
		case len(rest) == 3 && rest[2] == "issue-field-values" && m == http.MethodPost:
			return s.addIssueFieldValues(r, is, body)
		case len(rest) == 3 && rest[2] == "comments" && m == http.MethodGet:
			return s.listComments(req, r, is, q)
		case len(rest) == 3 && rest[2] == "comments" && m == http.MethodPost:
			var in struct{ Body *string }
			if err := json.Unmarshal(body, &in); err != nil || in.Body == nil {
				return invalid("IssueComment", "body", "missing_field", nil)
			}
			if utf8.RuneCountInString(*in.Body) > MaxBodyLen {
				return tooLong("IssueComment", "body", MaxBodyLen)
			}
			c := s.insertComment(r, is, "octocat", *in.Body)
			resp := reply(http.StatusCreated, s.commentJSON(r, c))
			resp.events = []delivery{s.commentEvent(r, is, c, "created")}
			return resp
		}
	case len(rest) == 1 && rest[0] == "issue-types" && m == http.MethodGet:
		return s.listIssueTypes()
	case len(rest) == 1 && rest[0] == "labels" && m == http.MethodGet:
		var all []obj
		for _, l := range r.labels {
			all = append(all, s.labelJSON(r, l))
		}
		return s.paginate(req, all)
	case len(rest) == 2 && rest[0] == "labels" && m == http.MethodGet:
		if l := findLabel(r, rest[1]); l != nil {
			return reply(http.StatusOK, s.labelJSON(r, l))
		}
		return notFound()
	case len(rest) == 1 && (rest[0] == "labels" || rest[0] == "milestones") && m == http.MethodPost && s.opts.NoPush:
		return apiError(http.StatusForbidden, "Must have admin rights to Repository.", "/rest/issues/"+rest[0])
	case len(rest) == 1 && rest[0] == "labels" && m == http.MethodPost:
		return s.createLabel(r, body)
	case len(rest) == 1 && rest[0] == "milestones" && m == http.MethodGet:
		state := q.Get("state")
		var all []obj
		for _, ms := range r.milestones {
			if state == "all" || ms.State == state || (state == "" && ms.State == "open") {
				all = append(all, s.milestoneJSON(r, ms))
			}
		}
		return s.paginate(req, all)
	case len(rest) == 1 && rest[0] == "milestones" && m == http.MethodPost:
		var in struct{ Title, State string }
		if err := json.Unmarshal(body, &in); err != nil || in.Title == "" {
			return invalid("Milestone", "title", "missing_field", nil)
		}
		for _, ms := range r.milestones {
			if ms.Title == in.Title {
				return invalid("Milestone", "title", "already_exists", nil)
			}
		}
		if in.State == "" {
			in.State = "open"
		}
		ms := &Milestone{ID: s.id(), Number: len(r.milestones) + 1, Title: in.Title, State: in.State, CreatedAt: s.now()}
		r.milestones = append(r.milestones, ms)
		return reply(http.StatusCreated, s.milestoneJSON(r, ms))
	case len(rest) == 1 && rest[0] == "assignees" && m == http.MethodGet:
		var logins []string
		for u := range s.users {
			logins = append(logins, u)
		}
		sort.Strings(logins)
		var all []obj
		for _, u := range logins {
			all = append(all, s.userJSON(u))
		}
		return s.paginate(req, all)
	case len(rest) == 2 && rest[0] == "assignees" && m == http.MethodGet:
		if _, ok := s.login(rest[1]); ok {
			return reply(http.StatusNoContent, nil)
		}
		return notFound()
	}
	return notFound()
}

func (s *Server) listIssues(req *http.Request, r *repo, q url.Values) response {
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return invalid("Issue", "since", "invalid", v)
		}
		since = t
	}
	var labels []string
	if v := q.Get("labels"); v != "" {
		labels = strings.Split(v, ",")
	}
	var match []*Issue
	for _, is := range r.issues {
		if is.Deleted || is.MovedTo != "" || (state != "all" && is.State != state) {
			continue
		}
		if !since.IsZero() && is.UpdatedAt.Truncate(time.Second).Before(since) {
			continue
		}
		if c := q.Get("creator"); c != "" && c != is.User {
			continue
		}
		if a := q.Get("assignee"); a != "" && a != "*" && a != "none" && !slices.Contains(is.Assignees, a) {
			continue
		}
		if ms := q.Get("milestone"); ms != "" && ms != "*" && ms != "none" && ms != strconv.Itoa(is.Milestone) {
			continue
		}
		ok := true
		for _, l := range labels {
			if !slices.ContainsFunc(is.Labels, func(x string) bool { return strings.EqualFold(x, strings.TrimSpace(l)) }) {
				ok = false
			}
		}
		if ok {
			match = append(match, is)
		}
	}
	key := func(is *Issue) time.Time { return is.CreatedAt }
	switch q.Get("sort") {
	case "updated":
		key = func(is *Issue) time.Time { return is.UpdatedAt.Truncate(time.Second) }
	case "comments", "created", "":
	default:
		return invalid("Issue", "sort", "invalid", q.Get("sort"))
	}
	asc := q.Get("direction") == "asc"
	if q.Get("sort") != "updated" && !r.createdOutOfOrder {
		// Already in (created, number) order: a listing per create (the
		// adapter's recent-marker look-up) must not sort 10,000 issues.
		if !asc {
			slices.Reverse(match)
		}
	} else {
		sort.SliceStable(match, func(i, j int) bool {
			a, b := key(match[i]), key(match[j])
			if !a.Equal(b) {
				return a.Before(b) == asc
			}
			return (match[i].Number < match[j].Number) == asc
		})
	}
	// Only the page asked for is rendered: a listing of 10,000 issues is
	// read 100 at a time, and rendering all of them for each page made
	// the fake, not the adapter, the cost of a large migration.
	return s.paginateN(req, len(match), func(i int) obj { return s.issueJSON(r, match[i]) })
}

func (s *Server) listComments(req *http.Request, r *repo, is *Issue, q url.Values) response {
	var since time.Time
	if v := q.Get("since"); v != "" {
		since, _ = time.Parse(time.RFC3339, v)
	}
	var all []obj
	for _, c := range r.byIssue[is.Number] {
		if !c.UpdatedAt.Truncate(time.Second).Before(since) {
			all = append(all, s.commentJSON(r, c))
		}
	}
	return s.paginate(req, all)
}

// paginate cuts one page out of all and sets the Link header GitHub sends.
func (s *Server) paginate(req *http.Request, all []obj) response {
	return s.paginateN(req, len(all), func(i int) obj { return all[i] })
}

// paginateN answers one page of n rendered items (GitHub's page and
// per_page, its Link header), rendering only the items on that page.
func (s *Server) paginateN(req *http.Request, n int, render func(i int) obj) response {
	q := req.URL.Query()
	per := 30
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		per = min(v, 100)
	}
	page := 1
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		page = v
	}
	last := max(1, (n+per-1)/per)
	lo, hi := min((page-1)*per, n), min(page*per, n)
	out := make([]obj, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, render(i))
	}
	resp := reply(http.StatusOK, out)
	link := func(p int, rel string) string {
		u := *req.URL
		u.Scheme, u.Host = "http", req.Host
		qq := u.Query()
		qq.Set("page", strconv.Itoa(p))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		resp.header = http.Header{"Link": {strings.Join(links, ", ")}}
	}
	return resp
}

// issueInput is the body of POST and PATCH on an issue; pointers and raw
// messages tell "absent" from "null".
type issueInput struct {
	Title       *string         `json:"title"`
	Body        *string         `json:"body"`
	State       *string         `json:"state"`
	StateReason *string         `json:"state_reason"`
	Labels      json.RawMessage `json:"labels"`
	Assignees   *[]string       `json:"assignees"`
	Milestone   json.RawMessage `json:"milestone"`
	Type        json.RawMessage `json:"type"`
}

func parseLabels(raw json.RawMessage) ([]string, bool) {
	var names []string
	if json.Unmarshal(raw, &names) == nil {
		return names, true
	}
	var objs []struct{ Name string }
	if json.Unmarshal(raw, &objs) == nil {
		for _, o := range objs {
			names = append(names, o.Name)
		}
		return names, true
	}
	return nil, false
}

// login is an assignable user's login as GitHub spells it, found
// whatever the case of name: logins are case-insensitive.
func (s *Server) login(name string) (string, bool) {
	if s.users[name] {
		return name, true
	}
	for u := range s.users {
		if strings.EqualFold(u, name) {
			return u, true
		}
	}
	return "", false
}

// apply validates in and writes it into is; ok is false with the error
// response when a value is refused.
func (s *Server) apply(r *repo, is *Issue, in issueInput) (response, bool) {
	if s.opts.NoPush {
		// "Without push access to the repository, ... changes are
		// silently dropped."
		in.Labels, in.Assignees, in.Milestone, in.Type = nil, nil, nil, nil
	}
	if in.Title != nil {
		if strings.TrimSpace(*in.Title) == "" {
			return invalid("Issue", "title", "missing_field", nil), false
		}
		if utf8.RuneCountInString(*in.Title) > MaxTitleLen {
			return tooLong("Issue", "title", MaxTitleLen), false
		}
		is.Title = *in.Title
	}
	if in.Body != nil {
		if utf8.RuneCountInString(*in.Body) > MaxBodyLen {
			return tooLong("Issue", "body", MaxBodyLen), false
		}
		is.Body = *in.Body
	}
	if in.Assignees != nil {
		var logins []string
		for _, a := range *in.Assignees {
			login, ok := s.login(a)
			if !ok {
				return invalid("Issue", "assignees", "invalid", a), false
			}
			logins = append(logins, login)
		}
		is.Assignees = normalize(logins)
	}
	if len(in.Labels) > 0 && !bytes.Equal(in.Labels, []byte("null")) {
		names, ok := parseLabels(in.Labels)
		if !ok {
			return invalid("Issue", "labels", "invalid", nil), false
		}
		for _, n := range names {
			if utf8.RuneCountInString(n) > MaxLabelLen && findLabel(r, n) == nil {
				return invalid("Label", "name", "invalid", n), false
			}
		}
		is.Labels = s.ensureLabels(r, names)
	}
	if len(in.Milestone) > 0 {
		if bytes.Equal(in.Milestone, []byte("null")) {
			is.Milestone = 0
		} else {
			var n int
			if json.Unmarshal(in.Milestone, &n) != nil || n < 1 || n > len(r.milestones) {
				return invalid("Issue", "milestone", "invalid", string(in.Milestone)), false
			}
			is.Milestone = n
		}
	}
	if resp, ok := s.applyType(is, in.Type); !ok {
		return resp, false
	}
	if in.State != nil || in.StateReason != nil {
		state, reason := is.State, ""
		if in.State != nil {
			state = *in.State
		}
		if in.StateReason != nil {
			reason = *in.StateReason
		}
		if state != "open" && state != "closed" {
			return invalid("Issue", "state", "invalid", state), false
		}
		if reason != "" && reason != "completed" && reason != "not_planned" && reason != "duplicate" && reason != "reopened" {
			return invalid("Issue", "state_reason", "invalid", reason), false
		}
		s.setState(is, state, reason)
	}
	return response{}, true
}

var hexColor = regexp.MustCompile(`^[0-9a-fA-F]{6}$`)

func (s *Server) createIssue(r *repo, body []byte) response {
	var in issueInput
	if err := json.Unmarshal(body, &in); err != nil {
		return apiError(http.StatusBadRequest, "Problems parsing JSON", "/issues/issues#create-an-issue")
	}
	if in.Title == nil {
		return invalid("Issue", "title", "missing_field", nil)
	}
	var is Issue
	if resp, ok := s.apply(r, &is, in); !ok {
		return resp
	}
	stored := s.insertIssue(r, is)
	resp := reply(http.StatusCreated, s.issueJSON(r, stored))
	resp.header = http.Header{"Location": {s.api("/repos/%s/%s/issues/%d", r.owner, r.name, stored.Number)}}
	resp.events = []delivery{s.issueEvent(r, stored, "opened")}
	return resp
}

func (s *Server) updateIssue(r *repo, is *Issue, body []byte) response {
	var in issueInput
	if err := json.Unmarshal(body, &in); err != nil {
		return apiError(http.StatusBadRequest, "Problems parsing JSON", "/issues/issues#update-an-issue")
	}
	next := clone(is)
	if resp, ok := s.apply(r, &next, in); !ok {
		return resp
	}
	changed := next.Title != is.Title || next.Body != is.Body || next.State != is.State || next.StateReason != is.StateReason ||
		!slices.Equal(next.Labels, is.Labels) || !slices.Equal(next.Assignees, is.Assignees) || next.Milestone != is.Milestone ||
		next.Type != is.Type
	var events []delivery
	if changed {
		// GitHub leaves updated_at alone when a PATCH changes nothing.
		next.UpdatedAt = s.now()
		before := *is
		*is = next
		events = s.changeEvents(r, before, is)
	}
	resp := reply(http.StatusOK, s.issueJSON(r, is))
	resp.events = events
	return resp
}

func (s *Server) editComment(r *repo, c *Comment, body []byte) response {
	var in struct{ Body *string }
	if err := json.Unmarshal(body, &in); err != nil || in.Body == nil {
		return invalid("IssueComment", "body", "missing_field", nil)
	}
	if utf8.RuneCountInString(*in.Body) > MaxBodyLen {
		return tooLong("IssueComment", "body", MaxBodyLen)
	}
	var events []delivery
	if *in.Body != c.Body {
		from := c.Body
		c.Body = *in.Body
		c.UpdatedAt = s.now()
		is := s.issue(r.owner+"/"+r.name, c.Issue)
		is.UpdatedAt = c.UpdatedAt
		events = append(events, s.commentEdited(r, is, c, from))
	}
	resp := reply(http.StatusOK, s.commentJSON(r, c))
	resp.events = events
	return resp
}

// MaxLabelLen is the longest label name GitHub takes, in characters.
const MaxLabelLen = 50

func (s *Server) createLabel(r *repo, body []byte) response {
	var in struct{ Name, Color, Description string }
	if err := json.Unmarshal(body, &in); err != nil || in.Name == "" {
		return invalid("Label", "name", "missing_field", nil)
	}
	in.Color = strings.TrimPrefix(in.Color, "#")
	if in.Color == "" {
		in.Color = "ededed"
	}
	if !hexColor.MatchString(in.Color) {
		return invalid("Label", "color", "invalid", in.Color)
	}
	if utf8.RuneCountInString(in.Name) > MaxLabelLen {
		return invalid("Label", "name", "invalid", in.Name)
	}
	if findLabel(r, in.Name) != nil {
		return invalid("Label", "name", "already_exists", in.Name)
	}
	l := &Label{ID: s.id(), Name: in.Name, Color: strings.ToLower(in.Color), Description: in.Description}
	r.labels = append(r.labels, l)
	resp := reply(http.StatusCreated, s.labelJSON(r, l))
	resp.events = []delivery{s.labelEvent(r, l, "created")}
	return resp
}
