package jiratest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters/internal/faults"
)

// Fault is an injected failure of the next matching request.
type Fault struct {
	Method string // "" matches any
	Path   string // a substring of the path; "" matches any
	// Status answered (500, 502, 503, ...); with Drop the connection is
	// closed without an answer instead.
	Status int
	Drop   bool
	// Hang answers nothing until the client gives up (a timeout).
	Hang bool
	// AfterWrite lets the request do its work first: the write happens,
	// the client sees only the failure (the lost-response case).
	AfterWrite bool
	// Garble answers Status (default 200) with an unreadable body
	// instead: a login page, cut JSON, an empty body or {}. The request
	// does not reach Jira (a proxy answered) unless AfterWrite is set or
	// the garble is GarbleCut, which cuts the real answer.
	Garble Garble
	// Times is how many requests it hits (default 1).
	Times int
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

// InjectFault queues a fault for the next requests it matches.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	switch {
	case f.Status == 0 && f.Garble != faults.None:
		f.Status = http.StatusOK
	case f.Status == 0 && !f.Drop:
		f.Status = http.StatusInternalServerError
	}
	s.faults = append(s.faults, f)
}

// ClearFaults drops the injected faults and rate limits not yet hit.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.limits = nil, nil
}

type rateLimit struct {
	retryAfter time.Duration
	reason     string
}

// InjectRateLimit makes the next request answer 429 with Retry-After
// (whole seconds, rounded up) and RateLimit-Reason (default
// "jira-quota-global-based").
func (s *Server) InjectRateLimit(retryAfter time.Duration, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reason == "" {
		reason = "jira-quota-global-based"
	}
	s.limits = append(s.limits, rateLimit{retryAfter, reason})
}

type chaos struct {
	rnd               *rand.Rand
	faultRate, rlRate float64
}

// SetChaos makes a share of requests fail at random, reproducibly from
// seed: faultRate of them with a 5xx or a dropped connection (half of those
// on writes after the write happened), rateLimitRate with a 429. Zero rates
// turn it off.
func (s *Server) SetChaos(seed uint64, faultRate, rateLimitRate float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if faultRate == 0 && rateLimitRate == 0 {
		s.chaos = nil
		return
	}
	s.chaos = &chaos{rand.New(rand.NewPCG(seed, seed^0x5eed)), faultRate, rateLimitRate}
}

// SetRateBudget makes the fake allow n requests per window of the fake
// clock (starting at the next request); requests beyond answer 429 with
// Retry-After until the window ends. n = 0 turns it off.
func (s *Server) SetRateBudget(n int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.budget = budget{n: n, per: per}
}

type budget struct {
	n     int
	per   time.Duration
	start time.Time
	used  int
}

func (s *Server) takeRateLimit(r *request) (rateLimit, bool) {
	if b := &s.budget; b.n > 0 {
		if b.start.IsZero() || !s.now.Before(b.start.Add(b.per)) {
			b.start, b.used = s.now, 0
		}
		b.used++
		if b.used > b.n {
			return rateLimit{b.start.Add(b.per).Sub(s.now), "jira-quota-tenant-based"}, true
		}
	}
	if len(s.limits) > 0 {
		rl := s.limits[0]
		s.limits = s.limits[1:]
		return rl, true
	}
	if s.chaos != nil && s.chaos.rlRate > 0 && s.chaos.rnd.Float64() < s.chaos.rlRate {
		s.injected++
		return rateLimit{time.Duration(1+s.chaos.rnd.IntN(5)) * time.Second, "jira-burst-based"}, true
	}
	return rateLimit{}, false
}

func (s *Server) takeFault(r *request) (Fault, bool) {
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.Contains(r.URL.Path, f.Path) {
			s.faults[i].Times--
			if s.faults[i].Times <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			return f, true
		}
	}
	if c := s.chaos; c != nil && c.faultRate > 0 && c.rnd.Float64() < c.faultRate {
		s.injected++
		f := Fault{Status: []int{500, 502, 503}[c.rnd.IntN(3)]}
		if r.Method != http.MethodGet && c.rnd.IntN(2) == 0 {
			f.AfterWrite = true
			f.Drop = c.rnd.IntN(2) == 0
		}
		return f, true
	}
	return Fault{}, false
}

// Injected is how many requests SetChaos has failed so far.
func (s *Server) Injected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.injected
}

// Delivery is one webhook the fake sent (or would have sent).
type Delivery struct {
	Header http.Header
	Body   []byte
}

// Deliveries returns every webhook delivery so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// SetWebhookURL makes the fake POST each delivery to url as it happens,
// besides recording it ("" stops sending).
func (s *Server) SetWebhookURL(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookURL = url
}

// webhook records a delivery of event about it; the send happens once the
// request's lock is released.
func (s *Server) webhook(r *request, event string, it *Issue, changes []ChangeItem, c *Comment) {
	payload := map[string]any{
		"timestamp":    s.now.UnixMilli(),
		"webhookEvent": event,
		"issue":        s.issueJSON(it, fieldSet{all: true}, nil, ""),
	}
	if r != nil {
		payload["user"] = s.userJSON(r.user.id(s.flavor))
	}
	switch {
	case strings.HasPrefix(event, "jira:issue_"):
		payload["issue_event_type_name"] = map[string]string{"jira:issue_created": "issue_created", "jira:issue_updated": "issue_generic", "jira:issue_deleted": "issue_deleted"}[event]
		if len(changes) > 0 {
			var items []any
			for _, ci := range changes {
				items = append(items, map[string]any{"field": ci.Field, "fieldtype": "jira", "fromString": ci.FromString, "toString": ci.ToString})
			}
			payload["changelog"] = map[string]any{"id": strconv.Itoa(s.nextChange), "items": items}
		}
	case c != nil:
		payload["comment"] = s.commentJSON(it, c, false)
	}
	body := jsonBytes(payload)
	s.nextHook++
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Atlassian-Webhook-Identifier", fmt.Sprintf("%d", 900000+s.nextHook))
	h.Set("X-Atlassian-Webhook-Retry", "0")
	if s.opts.WebhookSecret != "" {
		h.Set("X-Hub-Signature", Sign(s.opts.WebhookSecret, body))
	}
	d := Delivery{Header: h, Body: body}
	s.deliveries = append(s.deliveries, d)
	if r != nil && s.webhookURL != "" {
		r.pending = append(r.pending, d)
	}
}

// Sign is the X-Hub-Signature value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (s *Server) send(ds []Delivery) {
	s.mu.Lock()
	url := s.webhookURL
	s.mu.Unlock()
	for _, d := range ds {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.Body))
		if err != nil {
			continue
		}
		req.Header = d.Header.Clone()
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
}

// Issue returns a copy of the issue with that id or key.
func (s *Server) Issue(idOrKey string) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.lookup(idOrKey)
	if it == nil {
		return Issue{}, false
	}
	return it.clone(), true
}

// IssueTitled returns a copy of the first issue (by id) whose summary is
// title.
func (s *Server) IssueTitled(title string) (Issue, bool) {
	for _, is := range s.Issues() {
		if is.Summary == title {
			return is, true
		}
	}
	return Issue{}, false
}

// Issues returns copies of every issue, by id.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, 0, len(s.issues))
	for _, it := range s.issues {
		out = append(out, it.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// EditIssue is a person (user id by, "" for the first non-bot user)
// editing an issue in the browser: mutate changes a copy, and what it
// changed is written with a fresh updated stamp, a changelog entry and a
// jira:issue_updated webhook. Status changes bypass the workflow, as an
// admin's bulk edit would; the resolution follows the status category.
func (s *Server) EditIssue(idOrKey, by string, mutate func(*Issue)) error {
	s.mu.Lock()
	it := s.lookup(idOrKey)
	if it == nil {
		s.mu.Unlock()
		return fmt.Errorf("jiratest: no issue %s", idOrKey)
	}
	if by == "" {
		by = s.users[1].id(s.flavor)
	}
	next := it.clone()
	mutate(&next)
	var changes []ChangeItem
	add := func(f, a, b string) {
		if a != b {
			changes = append(changes, ChangeItem{Field: f, FromString: a, ToString: b})
		}
	}
	add("summary", it.Summary, next.Summary)
	add("description", string(it.Description), string(next.Description))
	add("status", it.Status, next.Status)
	add("assignee", it.Assignee, next.Assignee)
	next.Labels = slices.Compact(slices.Sorted(slices.Values(next.Labels)))
	add("labels", strings.Join(it.Labels, " "), strings.Join(next.Labels, " "))
	add("priority", it.Priority, next.Priority)
	add("duedate", it.Due, next.Due)
	add("parent", s.keyOf(it.Parent), s.keyOf(next.Parent))
	if st, ok := s.statusByName(next.Status); !ok {
		s.mu.Unlock()
		return fmt.Errorf("jiratest: no status %q", next.Status)
	} else if st.Category == "done" && next.Resolution == "" {
		next.Resolution = Resolutions[0]
	} else if st.Category != "done" {
		next.Resolution = ""
	}
	next.Updated = s.stamp()
	if len(changes) > 0 {
		next.Changelog = append(next.Changelog, s.change(by, next.Updated, changes))
	}
	next.Comments = it.Comments
	*it = next
	r := &request{Request: &http.Request{}, user: User{AccountID: by, Name: by}}
	s.webhook(r, "jira:issue_updated", it, changes, nil)
	pending := r.pending
	s.mu.Unlock()
	s.send(pending)
	return nil
}

// BulkStamp is a bulk operation (an import, a bulk change) that touches
// the issues within one millisecond: they all get the same fresh updated
// stamp, which Jira's millisecond precision cannot tell apart.
func (s *Server) BulkStamp(idsOrKeys ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.stamp()
	for _, k := range idsOrKeys {
		it := s.lookup(k)
		if it == nil {
			return fmt.Errorf("jiratest: no issue %s", k)
		}
		it.Updated = now
	}
	return nil
}

// AddCommentAs adds a comment by user id by, as a person would; body is
// the stored JSON (an ADF document on Cloud, a string on DC).
func (s *Server) AddCommentAs(idOrKey, by string, body json.RawMessage) error {
	return s.AddCommentWith(idOrKey, by, body, func(*Comment) {})
}

// AddCommentWith is AddCommentAs with the comment set by set first: a
// comment restricted to a role, or a Service Management internal note.
func (s *Server) AddCommentWith(idOrKey, by string, body json.RawMessage, set func(*Comment)) error {
	s.mu.Lock()
	it := s.lookup(idOrKey)
	if it == nil {
		s.mu.Unlock()
		return fmt.Errorf("jiratest: no issue %s", idOrKey)
	}
	now := s.stamp()
	s.nextComment++
	c := &Comment{ID: s.nextComment, Author: by, Body: slices.Clone(body), Created: now, Updated: now}
	set(c)
	it.Comments = append(it.Comments, c)
	it.Updated = now
	r := &request{Request: &http.Request{}, user: User{AccountID: by, Name: by}}
	s.webhook(r, "comment_created", it, nil, c)
	pending := r.pending
	s.mu.Unlock()
	s.send(pending)
	return nil
}

// RemoveIssue deletes an issue as a person would.
func (s *Server) RemoveIssue(idOrKey string) error {
	s.mu.Lock()
	it := s.lookup(idOrKey)
	if it == nil {
		s.mu.Unlock()
		return fmt.Errorf("jiratest: no issue %s", idOrKey)
	}
	delete(s.issues, it.ID)
	for _, x := range s.issues {
		if x.Parent == it.ID {
			x.Parent = 0
		}
	}
	r := &request{Request: &http.Request{}, user: s.users[1]}
	s.webhook(r, "jira:issue_deleted", it, nil, nil)
	pending := r.pending
	s.mu.Unlock()
	s.send(pending)
	return nil
}
