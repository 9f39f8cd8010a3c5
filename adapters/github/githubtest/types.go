package githubtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// Issue types, as organizations have them: Options.IssueTypes names the
// types every owner has (none: the owner has no issue types, and issues
// carry no type key). An issue's type is set on create and update by
// name (a string, or {"value": name}); null clears it; a name the owner
// does not have is refused 422. GET /repos/{o}/{r}/issue-types lists
// them.

// issueTypeID is a stable id for a type name.
func (s *Server) issueTypeID(name string) int64 {
	for i, n := range s.opts.IssueTypes {
		if strings.EqualFold(n, name) {
			return int64(400 + i)
		}
	}
	return 0
}

func (s *Server) issueTypeJSON(name string) obj {
	id := s.issueTypeID(name)
	return obj{"id": id, "node_id": nodeID("IssueType", id), "name": name, "description": nil,
		"color": "gray", "is_enabled": true}
}

// typeOf reads the type key of an issue write: set reports whether it
// was given, name is "" for null.
func typeOf(raw json.RawMessage) (name string, set, ok bool) {
	if len(raw) == 0 {
		return "", false, true
	}
	if bytes.Equal(raw, []byte("null")) {
		return "", true, true
	}
	if json.Unmarshal(raw, &name) == nil {
		return name, true, true
	}
	var o struct{ Value *string }
	if json.Unmarshal(raw, &o) == nil {
		if o.Value == nil {
			return "", true, true
		}
		return *o.Value, true, true
	}
	return "", false, false
}

// applyType writes the type key of an issue write into is.
func (s *Server) applyType(is *Issue, raw json.RawMessage) (response, bool) {
	name, set, ok := typeOf(raw)
	if !ok {
		return invalid("Issue", "type", "invalid", nil), false
	}
	if !set {
		return response{}, true
	}
	if name == "" {
		is.Type = ""
		return response{}, true
	}
	for _, n := range s.opts.IssueTypes {
		if strings.EqualFold(n, name) {
			is.Type = n
			return response{}, true
		}
	}
	return invalid("Issue", "type", "invalid", name), false
}

// typeJSON adds the type key to an issue's JSON where the owner has
// issue types.
func (s *Server) typeJSON(is *Issue, out obj) {
	if len(s.opts.IssueTypes) == 0 || is.PullRequest {
		return
	}
	if is.Type == "" {
		out["type"] = nil
		return
	}
	out["type"] = s.issueTypeJSON(is.Type)
}

// listIssueTypes answers GET /repos/{o}/{r}/issue-types.
func (s *Server) listIssueTypes() response {
	all := []obj{}
	for _, n := range s.opts.IssueTypes {
		all = append(all, s.issueTypeJSON(n))
	}
	return reply(http.StatusOK, all)
}
