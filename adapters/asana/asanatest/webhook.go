package asanatest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// webhook is one registered webhook.
type webhook struct {
	gid, resource, target, secret string
	active                        bool
	pending                       []obj
}

// Delivery is one webhook request the fake sent.
type Delivery struct {
	Webhook string
	Header  http.Header
	Body    []byte
	Status  int // the receiver's answer; 0 when it could not be reached
	Events  int // 0 for a heartbeat
}

// SetHookClient sets the client deliveries and handshakes go out with
// (default http.DefaultClient), for receivers inside the test process.
func (s *Server) SetHookClient(c *http.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookClient = c
}

func (s *Server) client() *http.Client {
	if s.hookClient != nil {
		return s.hookClient
	}
	return http.DefaultClient
}

// createWebhook registers a webhook as Asana does: it first POSTs an empty
// body with X-Hook-Secret to the target, which must answer 200 or 204 and
// echo the header; only then is the webhook created.
func (s *Server) createWebhook(r *http.Request, body []byte) answer {
	var in struct {
		Resource string `json:"resource"`
		Target   string `json:"target"`
	}
	if a, ok := decodeData(body, &in); !ok {
		return a
	}
	s.mu.Lock()
	switch {
	case in.Resource == "":
		s.mu.Unlock()
		return fail(http.StatusBadRequest, "resource: Missing input")
	case in.Target == "":
		s.mu.Unlock()
		return fail(http.StatusBadRequest, "target: Missing input")
	case s.projects[in.Resource] == nil && s.tasks[in.Resource] == nil:
		s.mu.Unlock()
		return notFound("resource", in.Resource)
	}
	secret := newToken()
	hc := s.client()
	s.mu.Unlock()

	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, in.Target, nil)
	if err != nil {
		return fail(http.StatusBadRequest, "target: %v", err)
	}
	req.Header.Set("X-Hook-Secret", secret)
	resp, err := hc.Do(req)
	if err != nil {
		return fail(http.StatusBadRequest, "The remote server did not respond with the handshake secret: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent) || resp.Header.Get("X-Hook-Secret") != secret {
		return fail(http.StatusBadRequest, "The remote server did not respond with the handshake secret (HTTP %d)", resp.StatusCode)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	h := &webhook{gid: s.gid(), resource: in.Resource, target: in.Target, secret: secret, active: true}
	s.hooks[h.gid] = h
	s.hookOrder = append(s.hookOrder, h.gid)
	return created(s.one(r, s.webhookJSON(h), []string{"resource_type", "active", "resource", "target"}))
}

func (s *Server) webhookJSON(h *webhook) obj {
	var res obj
	if p := s.projects[h.resource]; p != nil {
		res = obj{"gid": p.GID, "resource_type": "project", "name": p.Name}
	} else if t := s.tasks[h.resource]; t != nil {
		res = obj{"gid": t.GID, "resource_type": "task", "name": t.Name}
	}
	return obj{"gid": h.gid, "resource_type": "webhook", "active": h.active, "resource": res, "target": h.target}
}

func (s *Server) listWebhooks(r *http.Request, _ []byte) answer {
	if a, ok := s.checkWorkspace(r); !ok {
		return a
	}
	var recs []obj
	for _, g := range s.hookOrder {
		h := s.hooks[g]
		if res := r.URL.Query().Get("resource"); res == "" || res == h.resource {
			recs = append(recs, s.webhookJSON(h))
		}
	}
	return s.page(r, recs, []string{"resource_type", "active", "resource", "target"})
}

func (s *Server) deleteWebhook(r *http.Request, _ []byte) answer {
	h := s.hooks[r.PathValue("hook")]
	if h == nil {
		return notFound("webhook", r.PathValue("hook"))
	}
	delete(s.hooks, h.gid)
	for i, g := range s.hookOrder {
		if g == h.gid {
			s.hookOrder = append(s.hookOrder[:i], s.hookOrder[i+1:]...)
			break
		}
	}
	return data(obj{})
}

// queueHooks queues ev for every webhook on one of resources; Deliver
// sends them.
func (s *Server) queueHooks(resources []string, ev obj) {
	for _, g := range s.hookOrder {
		if h := s.hooks[g]; h.active && contains(resources, h.resource) {
			h.pending = append(h.pending, ev)
		}
	}
}

// Deliver sends each webhook's queued events in one signed request, as
// Asana batches them, and returns what was sent.
func (s *Server) Deliver(ctx context.Context) []Delivery {
	return s.send(ctx, false)
}

// Heartbeat sends every webhook a signed request with no events, as Asana
// does every 8 hours.
func (s *Server) Heartbeat(ctx context.Context) []Delivery {
	return s.send(ctx, true)
}

func (s *Server) send(ctx context.Context, heartbeat bool) []Delivery {
	type job struct {
		h      *webhook
		events []obj
	}
	s.mu.Lock()
	var jobs []job
	for _, g := range s.hookOrder {
		h := s.hooks[g]
		if heartbeat {
			jobs = append(jobs, job{h, []obj{}})
		} else if len(h.pending) > 0 {
			jobs = append(jobs, job{h, h.pending})
			h.pending = nil
		}
	}
	hc := s.client()
	s.mu.Unlock()
	var out []Delivery
	for _, j := range jobs {
		body, _ := json.Marshal(obj{"events": j.events})
		d := Delivery{Webhook: j.h.gid, Body: body, Events: len(j.events), Header: http.Header{}}
		d.Header.Set("Content-Type", "application/json")
		d.Header.Set("X-Hook-Signature", Sign(j.h.secret, body))
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.h.target, bytes.NewReader(body))
		if err == nil {
			req.Header = d.Header.Clone()
			if resp, err := hc.Do(req); err == nil {
				d.Status = resp.StatusCode
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		out = append(out, d)
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, out...)
	s.mu.Unlock()
	return out
}

// Deliveries returns every webhook request sent so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// WebhookSecret is the secret of webhook gid, as the handshake handed it.
func (s *Server) WebhookSecret(gid string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hooks[gid]
	if h == nil {
		return "", fmt.Errorf("asanatest: no webhook %s", gid)
	}
	return h.secret, nil
}

// Sign is X-Hook-Signature of body under secret: HMAC-SHA256, bare hex.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
