package jiratest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// The endpoints `tracksync trackers describe` and `doctor` read: the
// workflow with its transitions, the site's labels, the users issues of a
// project may be assigned to, and the JQL parser. Cloud only, as in Jira
// (Data Center has other endpoints for these).

func (s *Server) page(r *request, defMax int) (start, max int) {
	q := r.URL.Query()
	start, _ = strconv.Atoi(q.Get("startAt"))
	max, err := strconv.Atoi(q.Get("maxResults"))
	if err != nil || max <= 0 {
		max = defMax
	}
	return max0(start), max
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

func window[T any](all []T, start, max int) ([]T, bool) {
	if start > len(all) {
		start = len(all)
	}
	end := min(start+max, len(all))
	return all[start:end], end >= len(all)
}

// workflowSearch answers GET /rest/api/3/workflow/search: the one
// workflow every project uses, its statuses and (with expand=transitions)
// its transitions, from and to as status ids.
func (s *Server) workflowSearch(r *request) (reply, error) {
	id := map[string]string{}
	var sts []any
	for _, st := range s.statuses {
		id[st.Name] = st.ID
		sts = append(sts, map[string]any{"id": st.ID, "name": st.Name})
	}
	wf := map[string]any{
		"id":          map[string]any{"name": "Software Simplified Workflow", "entityId": "6f3c2e7a-0000-4000-8000-000000000001"},
		"description": "The workflow of every project on this site.",
		"isDefault":   true,
		"statuses":    sts,
	}
	if slices.Contains(splitComma(r.URL.Query().Get("expand")), "transitions") {
		var ts []any
		for _, t := range s.transitions {
			from := []string{}
			typ := "global"
			for _, f := range t.From {
				from = append(from, id[f])
				typ = "directed"
			}
			ts = append(ts, map[string]any{"id": t.ID, "name": t.Name, "description": "", "from": from, "to": id[t.To], "type": typ})
		}
		wf["transitions"] = ts
	}
	start, max := s.page(r, 50)
	vals, last := window([]any{wf}, start, max)
	return reply{200, map[string]any{"startAt": start, "maxResults": max, "total": 1, "isLast": last, "values": vals}}, nil
}

// labels answers GET /rest/api/3/label: every label any issue has.
func (s *Server) labels(r *request) (reply, error) {
	var all []string
	for _, is := range s.issues {
		for _, l := range is.Labels {
			if !slices.Contains(all, l) {
				all = append(all, l)
			}
		}
	}
	slices.Sort(all)
	start, max := s.page(r, 1000)
	vals, last := window(all, start, max)
	return reply{200, map[string]any{"startAt": start, "maxResults": max, "total": len(all), "isLast": last, "values": nonNilStrings(vals)}}, nil
}

// assignableUsers answers GET /rest/api/3/user/assignable/search?project=.
func (s *Server) assignableUsers(r *request) (reply, error) {
	key := r.URL.Query().Get("project")
	if key == "" && r.URL.Query().Get("issueKey") == "" && r.URL.Query().Get("issueId") == "" {
		return reply{}, errMsg(http.StatusBadRequest, "One of 'issueKey', 'issueId' or 'project' must be specified.")
	}
	if key != "" && !slices.Contains(s.projects, key) {
		return reply{}, errMsg(http.StatusNotFound, "No project could be found with key '"+key+"'.")
	}
	var all []any
	for _, u := range s.users {
		all = append(all, s.userJSON(u.id(s.flavor)))
	}
	start, max := s.page(r, 50)
	vals, _ := window(all, start, max)
	if vals == nil {
		vals = []any{}
	}
	return reply{200, vals}, nil
}

// jqlParse answers POST /rest/api/3/jql/parse: each query with the errors
// the fake's JQL parser finds in it (the structure is left out).
func (s *Server) jqlParse(r *request) (reply, error) {
	var in struct {
		Queries []string `json:"queries"`
	}
	if err := json.Unmarshal(r.body, &in); err != nil || len(in.Queries) == 0 {
		return reply{}, errMsg(http.StatusBadRequest, "The request body must list the queries to parse.")
	}
	var out []any
	for _, q := range in.Queries {
		pq := map[string]any{"query": q}
		if _, err := parseJQL(q, s); err != nil {
			msg := err.Error()
			if he, ok := err.(*httpError); ok && len(he.body.ErrorMessages) > 0 {
				msg = he.body.ErrorMessages[0]
			}
			pq["errors"] = []string{msg}
		}
		out = append(out, pq)
	}
	return reply{200, map[string]any{"queries": out}}, nil
}

func nonNilStrings(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
