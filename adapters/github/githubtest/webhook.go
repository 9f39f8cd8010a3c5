package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// Delivery is one webhook the fake sent.
type Delivery struct {
	ID     string
	Event  string // issues, issue_comment, label, ping
	Action string
	Header http.Header
	Body   []byte
	Status int // the receiver's answer; 0 when it could not be reached
}

// delivery is a webhook waiting to go out once the lock is released.
type delivery struct {
	event, action string
	payload       obj
}

// SetWebhook registers url to receive issues, issue_comment and label
// events signed with secret, and sends it a ping as GitHub does when a
// hook is created. client nil means http.DefaultClient.
func (s *Server) SetWebhook(url, secret string, client *http.Client) {
	s.mu.Lock()
	s.hook.url, s.hook.secret, s.hook.client = url, secret, client
	s.hook.id = s.id()
	ping := delivery{event: "ping", payload: obj{
		"zen": "Keep it logically awesome.", "hook_id": s.hook.id,
		"hook": obj{"type": "Repository", "id": s.hook.id, "name": "web", "active": true, "events": []string{"issues", "issue_comment", "label", "sub_issues"},
			"config": obj{"url": url, "content_type": "json", "insecure_ssl": "0"}, "created_at": ts(s.now()), "updated_at": ts(s.now())},
	}}
	s.mu.Unlock()
	s.deliver(ping)
}

// Deliveries returns the webhooks sent so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// repoHookJSON is a webhook payload's repository: the full repository
// (repoJSON) with the members GitHub's repository-webhooks schema adds.
func (s *Server) repoHookJSON(r *repo) obj {
	out := s.repoJSON(r)
	open := 0
	for _, is := range r.issues {
		if is != nil && !is.Deleted && !is.PullRequest && is.State == "open" {
			open++
		}
	}
	out["open_issues"], out["open_issues_count"] = open, open
	out["visibility"], out["topics"] = "public", []string{}
	delete(out, "permissions")
	return out
}

func (s *Server) issueEvent(r *repo, is *Issue, action string) delivery {
	return delivery{event: "issues", action: action, payload: obj{
		"action": action, "issue": s.issueJSON(r, is), "repository": s.repoHookJSON(r), "sender": s.userJSON("octocat"),
	}}
}

func (s *Server) commentEvent(r *repo, is *Issue, c *Comment, action string) delivery {
	return delivery{event: "issue_comment", action: action, payload: obj{
		"action": action, "issue": s.issueJSON(r, is), "comment": s.commentJSON(r, c),
		"repository": s.repoHookJSON(r), "sender": s.userJSON(c.User),
	}}
}

// commentEdited is the issue_comment edited delivery, with the body's
// previous version as GitHub's schema requires.
func (s *Server) commentEdited(r *repo, is *Issue, c *Comment, from string) delivery {
	d := s.commentEvent(r, is, c, "edited")
	d.payload["changes"] = obj{"body": obj{"from": from}}
	return d
}

func (s *Server) labelEvent(r *repo, l *Label, action string) delivery {
	return delivery{event: "label", action: action, payload: obj{
		"action": action, "label": s.labelJSON(r, l), "repository": s.repoHookJSON(r), "sender": s.userJSON("octocat"),
	}}
}

// deliver posts d to the registered hook, signed; it is called without
// the lock held, since the receiver may call the API back.
func (s *Server) deliver(d delivery) {
	s.mu.Lock()
	url, secret, client, hookID := s.hook.url, s.hook.secret, s.hook.client, s.hook.id
	if url == "" {
		s.mu.Unlock()
		return
	}
	id := fmt.Sprintf("72d3162e-cc78-11e3-81ab-%012d", s.id())
	s.mu.Unlock()
	body, _ := json.Marshal(d.payload)
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/fake")
	req.Header.Set("X-GitHub-Event", d.event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-GitHub-Hook-ID", fmt.Sprint(hookID))
	if secret != "" {
		req.Header.Set("X-Hub-Signature-256", Sign(secret, body))
	}
	rec := Delivery{ID: id, Event: d.event, Action: d.action, Header: req.Header.Clone(), Body: body}
	if resp, err := client.Do(req); err == nil {
		rec.Status = resp.StatusCode
		resp.Body.Close()
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, rec)
	s.mu.Unlock()
}

// changeEvents are the issues deliveries GitHub sends for an issue that
// went from before to after: one per kind of change, as GitHub sends them
// (closed or reopened; edited with the title's and body's previous
// values; labeled and unlabeled per label; assigned and unassigned per
// person; milestoned, demilestoned; typed, untyped). A change of none of
// these kinds (a state reason) is an edited delivery with no changes.
func (s *Server) changeEvents(r *repo, before Issue, after *Issue) []delivery {
	var out []delivery
	add := func(action string, extra obj) {
		d := s.issueEvent(r, after, action)
		for k, v := range extra {
			d.payload[k] = v
		}
		out = append(out, d)
	}
	switch {
	case before.State == "open" && after.State == "closed":
		add("closed", nil)
	case before.State == "closed" && after.State == "open":
		add("reopened", nil)
	}
	changes := obj{}
	if before.Title != after.Title {
		changes["title"] = obj{"from": before.Title}
	}
	if before.Body != after.Body {
		changes["body"] = obj{"from": before.Body}
	}
	if len(changes) > 0 {
		add("edited", obj{"changes": changes})
	}
	for _, n := range after.Labels {
		if !slices.Contains(before.Labels, n) {
			if l := findLabel(r, n); l != nil {
				add("labeled", obj{"label": s.labelJSON(r, l)})
			}
		}
	}
	for _, n := range before.Labels {
		if !slices.Contains(after.Labels, n) {
			if l := findLabel(r, n); l != nil {
				add("unlabeled", obj{"label": s.labelJSON(r, l)})
			}
		}
	}
	for _, a := range after.Assignees {
		if !slices.Contains(before.Assignees, a) {
			add("assigned", obj{"assignee": s.userJSON(a)})
		}
	}
	for _, a := range before.Assignees {
		if !slices.Contains(after.Assignees, a) {
			add("unassigned", obj{"assignee": s.userJSON(a)})
		}
	}
	if before.Milestone != after.Milestone {
		for _, m := range r.milestones {
			switch m.Number {
			case before.Milestone:
				add("demilestoned", obj{"milestone": s.milestoneJSON(r, m)})
			case after.Milestone:
				add("milestoned", obj{"milestone": s.milestoneJSON(r, m)})
			}
		}
	}
	if before.Type != after.Type {
		if before.Type != "" {
			add("untyped", obj{"type": s.issueTypeJSON(before.Type)})
		}
		if after.Type != "" {
			add("typed", obj{"type": s.issueTypeJSON(after.Type)})
		}
	}
	if len(out) == 0 {
		add("edited", obj{"changes": obj{}})
	}
	return out
}
