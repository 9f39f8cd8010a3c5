package asanatest

import (
	"encoding/json"
	"net/http"
)

// getEvents serves the Events API: without a sync token, or with one that
// is unknown or older than SyncTTL, 412 with a fresh token in the body
// (positioned now: earlier events are not replayed); with a valid token,
// the events on the resource since it, at most 100, has_more when more
// wait, and the next token.
func (s *Server) getEvents(r *http.Request, _ []byte) answer {
	q := r.URL.Query()
	res := q.Get("resource")
	if res == "" {
		return fail(http.StatusBadRequest, "resource: Missing input")
	}
	if s.projects[res] == nil && s.tasks[res] == nil {
		return notFound("resource", res)
	}
	tok, known := s.tokens[q.Get("sync")]
	if !known || tok.resource != res || s.now.Sub(tok.issued) > s.opts.SyncTTL {
		fresh := s.issueToken(res, s.seq)
		msg := "Sync token invalid or too old. If you are attempting to keep resources in sync, you must fetch the full dataset for this query now and use the new sync token for the next sync."
		b, _ := json.Marshal(obj{"errors": []obj{{"message": msg}}, "sync": fresh})
		return answer{http.StatusPreconditionFailed, json.RawMessage(b)}
	}
	var out []obj
	last := tok.seq
	more := false
	for _, ev := range s.events {
		if ev.seq <= tok.seq || !contains(ev.resources, res) {
			continue
		}
		if len(out) == maxEventsPerAnswer {
			more = true
			break
		}
		out = append(out, ev.json)
		last = ev.seq
	}
	if !more {
		last = max(last, s.seq)
	}
	if out == nil {
		out = []obj{}
	}
	return answer{http.StatusOK, obj{"data": out, "sync": s.issueToken(res, last), "has_more": more}}
}

func (s *Server) issueToken(resource string, seq int) string {
	t := newToken()
	s.tokens[t] = syncToken{resource: resource, seq: seq, issued: s.now}
	return t
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// LoseEvents drops every event recorded so far without moving sync tokens,
// as when Asana fails to record some (events are delivered at most
// once): only a modified_since poll finds those changes.
func (s *Server) LoseEvents() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = nil
}
