// Package notifytest has in-process fakes of Slack and Microsoft Teams for
// tests and the sandbox, like net/http/httptest: they take what the real
// services take (a Slack incoming webhook or chat.postMessage with Block
// Kit; a Teams Workflows webhook with an Adaptive Card), answer as they
// answer (Slack 200 "ok" and {"ok":true}, Teams 202 Accepted), enforce
// Slack's one message a second per channel with a real 429 and
// Retry-After, record every message and can inject faults.
package notifytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is an injected answer: Status (500, 429…) with an optional
// Retry-After, for the next Times requests.
type Fault struct {
	Status     int
	RetryAfter string
	Times      int
}

type base struct {
	mu       sync.Mutex
	faults   []Fault
	requests int
	srv      *httptest.Server
}

// Fail makes the next f.Times requests fail as f says.
func (b *base) Fail(f Fault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults = append(b.faults, f)
}

// Requests counts the requests received, failed ones included.
func (b *base) Requests() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.requests
}

// fault returns the fault to answer with, if any (b.mu held).
func (b *base) fault() *Fault {
	b.requests++
	for len(b.faults) > 0 {
		f := &b.faults[0]
		if f.Times <= 0 {
			b.faults = b.faults[1:]
			continue
		}
		f.Times--
		out := *f
		return &out
	}
	return nil
}

func writeFault(w http.ResponseWriter, f *Fault, body string) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	w.WriteHeader(f.Status)
	io.WriteString(w, body)
}

// Close shuts the server down.
func (b *base) Close() { b.srv.Close() }

// SlackMessage is one message Slack accepted.
type SlackMessage struct {
	Channel string
	Text    string
	Blocks  []map[string]any
	At      time.Time
}

// Header is the text of the message's header block.
func (m SlackMessage) Header() string {
	for _, b := range m.Blocks {
		if b["type"] == "header" {
			if t, ok := b["text"].(map[string]any); ok {
				s, _ := t["text"].(string)
				return s
			}
		}
	}
	return ""
}

// Slack is a fake Slack: incoming webhooks at /services/<anything> (each
// path its own channel) and the Web API's chat.postMessage at
// /api/chat.postMessage (bot token Token).
type Slack struct {
	base
	// Token is the bot token chat.postMessage accepts.
	Token string
	// Channels are the channels chat.postMessage knows (any when empty).
	Channels []string
	// Now is the clock of the rate limit (time.Now).
	Now  func() time.Time
	msgs []SlackMessage
	last map[string]time.Time
}

// NewSlack starts a fake Slack.
func NewSlack() *Slack {
	s := &Slack{Token: "xoxb-fake-token", Now: time.Now, last: map[string]time.Time{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// WebhookURL is an incoming webhook URL posting to channel.
func (s *Slack) WebhookURL(channel string) string {
	return s.srv.URL + "/services/T000/B000/" + strings.TrimPrefix(channel, "#")
}

// APIURL is the Web API base for slack.OptionAPIURL.
func (s *Slack) APIURL() string { return s.srv.URL + "/api/" }

// Messages returns the accepted messages, oldest first.
func (s *Slack) Messages() []SlackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SlackMessage(nil), s.msgs...)
}

// accept records m unless its channel had a message less than a second
// ago (Slack's limit), which is answered 429 Retry-After: 1.
func (s *Slack) accept(w http.ResponseWriter, m SlackMessage) bool {
	now := s.Now()
	if last, ok := s.last[m.Channel]; ok && now.Sub(last) < time.Second {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, "rate_limited")
		return false
	}
	s.last[m.Channel] = now
	m.At = now
	s.msgs = append(s.msgs, m)
	return true
}

func (s *Slack) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method != http.MethodPost {
		http.Error(w, "method_not_allowed", http.StatusMethodNotAllowed)
		return
	}
	if f := s.fault(); f != nil {
		writeFault(w, f, "fault injected")
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/services/"):
		var body struct {
			Text   string           `json:"text"`
			Blocks []map[string]any `json:"blocks"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		if body.Text == "" && len(body.Blocks) == 0 {
			http.Error(w, "no_text", http.StatusBadRequest)
			return
		}
		if err := checkBlocks(body.Blocks); err != nil {
			http.Error(w, "invalid_blocks", http.StatusBadRequest)
			return
		}
		ch := "#" + r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		if s.accept(w, SlackMessage{Channel: ch, Text: body.Text, Blocks: body.Blocks}) {
			io.WriteString(w, "ok")
		}
	case r.URL.Path == "/api/chat.postMessage":
		if err := r.ParseForm(); err != nil {
			http.Error(w, "invalid_form_data", http.StatusBadRequest)
			return
		}
		tok := r.Form.Get("token")
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			tok = strings.TrimPrefix(h, "Bearer ")
		}
		reply := func(v map[string]any) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(v)
		}
		if tok != s.Token {
			reply(map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		ch := r.Form.Get("channel")
		if len(s.Channels) > 0 && !contains(s.Channels, ch) {
			reply(map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		var blocks []map[string]any
		if b := r.Form.Get("blocks"); b != "" {
			if err := json.Unmarshal([]byte(b), &blocks); err != nil || checkBlocks(blocks) != nil {
				reply(map[string]any{"ok": false, "error": "invalid_blocks"})
				return
			}
		}
		if r.Form.Get("text") == "" && len(blocks) == 0 {
			reply(map[string]any{"ok": false, "error": "no_text"})
			return
		}
		if s.accept(w, SlackMessage{Channel: ch, Text: r.Form.Get("text"), Blocks: blocks}) {
			reply(map[string]any{"ok": true, "channel": ch, "ts": strconv.FormatInt(s.Now().UnixMicro(), 10)})
		}
	default:
		http.NotFound(w, r)
	}
}

// checkBlocks enforces the Block Kit rules the sink must keep: known
// block types, a header of plain text up to 150 characters, at most 10
// fields per section, at most 50 blocks.
func checkBlocks(blocks []map[string]any) error {
	if len(blocks) > 50 {
		return fmt.Errorf("%d blocks", len(blocks))
	}
	for _, b := range blocks {
		switch b["type"] {
		case "header":
			t, _ := b["text"].(map[string]any)
			s, _ := t["text"].(string)
			if t["type"] != "plain_text" || len([]rune(s)) > 150 {
				return fmt.Errorf("bad header")
			}
		case "section":
			if f, ok := b["fields"].([]any); ok && len(f) > 10 {
				return fmt.Errorf("%d fields", len(f))
			}
		case "actions", "context", "divider":
		default:
			return fmt.Errorf("unknown block %v", b["type"])
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TeamsCard is one Adaptive Card a Teams workflow accepted.
type TeamsCard struct {
	Workflow string
	Card     map[string]any
}

// Title is the text of the card's first text block.
func (c TeamsCard) Title() string {
	body, _ := c.Card["body"].([]any)
	for _, el := range body {
		if m, ok := el.(map[string]any); ok && m["type"] == "TextBlock" {
			s, _ := m["text"].(string)
			return s
		}
	}
	return ""
}

// Teams is a fake Teams Workflows endpoint at /workflows/<id>.
type Teams struct {
	base
	cards []TeamsCard
}

// NewTeams starts a fake Teams.
// TeamsMaxMessage is the largest message Teams takes (about 28 KB).
const TeamsMaxMessage = 28 << 10

func NewTeams() *Teams {
	t := &Teams{}
	t.srv = httptest.NewServer(http.HandlerFunc(t.serve))
	return t
}

// WebhookURL is a workflow's webhook URL.
func (t *Teams) WebhookURL(workflow string) string {
	return t.srv.URL + "/workflows/" + workflow + "/triggers/manual/paths/invoke?sig=fake-signature"
}

// Cards returns the accepted cards, oldest first.
func (t *Teams) Cards() []TeamsCard {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]TeamsCard(nil), t.cards...)
}

func (t *Teams) serve(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/workflows/") {
		http.NotFound(w, r)
		return
	}
	if f := t.fault(); f != nil {
		writeFault(w, f, `{"error":{"code":"fault","message":"fault injected"}}`)
		return
	}
	var msg struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string         `json:"contentType"`
			Content     map[string]any `json:"content"`
		} `json:"attachments"`
	}
	body, _ := io.ReadAll(r.Body)
	if len(body) > TeamsMaxMessage {
		http.Error(w, `{"error":{"code":"RequestEntityTooLarge","message":"the message is larger than Teams takes"}}`, http.StatusRequestEntityTooLarge)
		return
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		http.Error(w, `{"error":{"code":"InvalidRequestContent"}}`, http.StatusBadRequest)
		return
	}
	if msg.Type != "message" || len(msg.Attachments) != 1 || msg.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" ||
		msg.Attachments[0].Content["type"] != "AdaptiveCard" {
		http.Error(w, `{"error":{"code":"InvalidRequestContent","message":"want one adaptive card attachment"}}`, http.StatusBadRequest)
		return
	}
	wf := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/workflows/"), "/", 2)[0]
	t.cards = append(t.cards, TeamsCard{Workflow: wf, Card: msg.Attachments[0].Content})
	w.WriteHeader(http.StatusAccepted)
}
