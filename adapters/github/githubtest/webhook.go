package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
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
		"hook": obj{"type": "Repository", "id": s.hook.id, "active": true, "events": []string{"issues", "issue_comment", "label"}},
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

func (s *Server) repoHookJSON(r *repo) obj {
	return obj{"id": r.id, "node_id": nodeID("Repository", r.id), "name": r.name, "full_name": r.owner + "/" + r.name,
		"owner": s.userJSON(r.owner), "private": false, "html_url": s.html("/%s/%s", r.owner, r.name), "url": s.api("/repos/%s/%s", r.owner, r.name)}
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
