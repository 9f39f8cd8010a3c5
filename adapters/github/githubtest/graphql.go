package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// A minimal GraphQL endpoint (POST /graphql, /api/graphql on Enterprise
// Server) for Projects (v2) with a single-select status field and other
// fields (see projfields.go), answering exactly the operations
// tracksync's adapter sends (recognised by their root fields; anything
// else is a GraphQL error):
//
//   - repositoryOwner(login) { ... on ProjectV2Owner { projectV2(number)
//     { id field(name) { ... on ProjectV2SingleSelectField { id name
//     options { id name } } } fields(first) { nodes { ... on
//     ProjectV2FieldCommon { id name dataType } ... on
//     ProjectV2SingleSelectField { options { id name } } ... on
//     ProjectV2IterationField { configuration { iterations { id title }
//     completedIterations { id title } } } } } } } } (field and fields
//     each when asked)
//   - repository(owner, name) { issue(number) { id projectItems(first)
//     { nodes { id updatedAt project { id } fieldValueByName(name)
//     { ... on ProjectV2ItemFieldSingleSelectValue { optionId name } }
//     fieldValues(first) { nodes { ... } } } } } }
//   - node(id) { ... on ProjectV2 { items(first, after) { pageInfo
//     { hasNextPage endCursor } nodes { id updatedAt content { ... on
//     Issue { id number repository { nameWithOwner } } }
//     fieldValueByName(name) { ... } fieldValues(first) { nodes { ... } } } } } }
//   - addProjectV2ItemById(input) { item { id } },
//     updateProjectV2ItemFieldValue(input) { projectV2Item { id } } (input
//     value: exactly one of date, number, text, singleSelectOptionId,
//     iterationId, the one the field's type takes) and
//     clearProjectV2ItemFieldValue(input) { projectV2Item { id } }
//
// each with rateLimit { cost }; fieldValues nodes carry __typename,
// field { ... on ProjectV2FieldCommon { name } } and their type's members.
// GitHub's GraphQL limit is its own budget of points (Options.GraphQLLimit
// an hour, default 5000), reported in X-RateLimit-* headers with
// X-RateLimit-Resource: graphql; a query costs what GitHub's formula says
// (queryCost: the requests its connections need, over 100, at least 1), a
// mutation 1; a budget without room for the cost answers 200 with an
// error of type RATE_LIMITED. Moving a card or editing a field changes no
// issue and sends no issues webhook.

// Project is a Projects (v2) board with a single-select status field
// (Field) and other fields (AddProjectField).
type Project struct {
	Owner   string
	Number  int
	Field   string
	Options []string
	id      int64
	fieldID int64
	fields  []*ProjectField
	items   []*projectItem
}

type projectItem struct {
	id      int64
	issue   string            // "owner/repo#n"
	option  string            // "" for none
	values  map[string]string // other fields' values by field name
	updated time.Time
}

func optionID(name string) string {
	var h uint32 = 2166136261
	for _, c := range []byte(name) {
		h = (h ^ uint32(c)) * 16777619
	}
	return fmt.Sprintf("%08x", h)
}

// AddProject makes project number of owner with a single-select field
// and its options.
func (s *Server) AddProject(owner string, number int, field string, options ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects = append(s.projects, &Project{Owner: owner, Number: number, Field: field, Options: options, id: s.id(), fieldID: s.id()})
}

func (s *Server) project(owner string, number int) *Project {
	for _, p := range s.projects {
		if strings.EqualFold(p.Owner, owner) && p.Number == number {
			return p
		}
	}
	return nil
}

func (p *Project) item(issue string) *projectItem {
	for _, it := range p.items {
		if it.issue == issue {
			return it
		}
	}
	return nil
}

// MoveCard sets the field of issue ("owner/repo#n") in project number of
// owner to option ("" clears it) as a person moving a card would, adding
// the issue to the project when missing. The issue does not change.
func (s *Server) MoveCard(owner string, number int, issue, option string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(owner, number)
	if p == nil || s.byKey(issue) == nil {
		return fmt.Errorf("githubtest: no project %s/%d or no issue %s", owner, number, issue)
	}
	it := p.item(issue)
	if it == nil {
		it = &projectItem{id: s.id(), issue: issue}
		p.items = append(p.items, it)
	}
	it.option, it.updated = option, s.now()
	return nil
}

// CardStatus is the option issue has in project number of owner, and
// whether the issue is in the project.
func (s *Server) CardStatus(owner string, number int, issue string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.project(owner, number); p != nil {
		if it := p.item(issue); it != nil {
			return it.option, true
		}
	}
	return "", false
}

// GraphQLPoints is how many GraphQL points have been spent.
func (s *Server) GraphQLPoints() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gqlTotal
}

func gqlError(typ, msg string) obj {
	e := obj{"message": msg}
	if typ != "" {
		e["type"] = typ
	}
	return obj{"data": nil, "errors": []obj{e}}
}

// graphql answers one GraphQL request.
func (s *Server) graphql(req *http.Request, body []byte) response {
	now := s.now()
	if s.gqlReset.IsZero() || !now.Before(s.gqlReset) {
		s.gqlUsed, s.gqlReset = 0, now.Add(time.Hour).Truncate(time.Second)
	}
	limit := s.opts.GraphQLLimit
	header := func() http.Header {
		return http.Header{
			"X-Ratelimit-Limit": {strconv.Itoa(limit)}, "X-Ratelimit-Remaining": {strconv.Itoa(max(0, limit-s.gqlUsed))},
			"X-Ratelimit-Used": {strconv.Itoa(s.gqlUsed)}, "X-Ratelimit-Reset": {strconv.FormatInt(s.gqlReset.Unix(), 10)},
			"X-Ratelimit-Resource": {"graphql"},
		}
	}
	if req.Method != http.MethodPost {
		return notFound()
	}
	cost := 1
	var in struct {
		Query     string
		Variables map[string]any
	}
	perr := json.Unmarshal(body, &in)
	if perr == nil && in.Query != "" {
		cost = queryCost(in.Query)
	}
	if s.gqlUsed+cost > limit {
		r := reply(http.StatusOK, gqlError("RATE_LIMITED", "API rate limit already exceeded for user ID 1."))
		r.header, r.gql = header(), "query" // nothing was done
		return r
	}
	if perr != nil || in.Query == "" {
		r := reply(http.StatusBadRequest, obj{"message": "Problems parsing JSON", "documentation_url": "https://docs.github.com/graphql"})
		r.header, r.gql = header(), "query"
		return r
	}
	op, perr2 := parseQuery(in.Query)
	if perr2 == nil && op.Operation == ast.Mutation {
		perr2 = checkMutation(op, in.Variables)
	}
	if perr2 != nil {
		// Refused before it runs: nothing done, nothing charged.
		r := reply(http.StatusOK, perr2)
		r.header, r.gql = header(), "query"
		return r
	}
	s.gqlUsed += cost
	s.gqlTotal += cost
	data, err := s.gqlOperation(in.Query, in.Variables)
	var r response
	if err == nil {
		data["rateLimit"] = obj{"cost": cost}
		var out any
		if out, err = cut(data, op.SelectionSet, in.Variables, string(op.Operation), "Query"); err == nil {
			r = reply(http.StatusOK, obj{"data": out})
		} else {
			s.gqlUsed -= cost
			s.gqlTotal -= cost
		}
	}
	if err != nil {
		r = reply(http.StatusOK, err)
	}
	r.header = header()
	r.gql = "query"
	if op.Operation == ast.Mutation {
		r.gql = "mutation"
	}
	return r
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

func (s *Server) projectByNode(id string) *Project {
	for _, p := range s.projects {
		if nodeID("ProjectV2", p.id) == id {
			return p
		}
	}
	return nil
}

// valueJSON is an item's fieldValueByName: null when unset.
func valueJSON(it *projectItem) any {
	if it == nil || it.option == "" {
		return nil
	}
	return obj{"optionId": optionID(it.option), "name": it.option}
}

// gqlOperation runs the one operation a query holds; the error is a
// GraphQL error body.
func (s *Server) gqlOperation(q string, vars map[string]any) (obj, obj) {
	switch {
	case strings.Contains(q, "repositoryOwner(login:"):
		p := s.project(str(vars["owner"]), int(vars["number"].(float64)))
		if p == nil {
			return nil, gqlError("NOT_FOUND", fmt.Sprintf("Could not resolve to a ProjectV2 with the number %v.", vars["number"]))
		}
		pr := obj{"id": nodeID("ProjectV2", p.id)}
		if strings.Contains(q, "field(name:") {
			var field any // no field of that name
			if strings.EqualFold(p.Field, str(vars["field"])) {
				opts := []obj{}
				for _, o := range p.Options {
					opts = append(opts, obj{"id": optionID(o), "name": o})
				}
				field = obj{"id": nodeID("ProjectV2SingleSelectField", p.fieldID), "name": p.Field, "options": opts}
			}
			pr["field"] = field
		}
		if strings.Contains(q, "fields(first:") {
			pr["fields"] = s.fieldsJSON(p, q)
		}
		return obj{"repositoryOwner": obj{"projectV2": pr}}, nil
	case strings.Contains(q, "repository(owner:") && strings.Contains(q, "projectItems("):
		key := str(vars["owner"]) + "/" + str(vars["name"]) + "#" + str(vars["number"])
		is := s.byKey(key)
		if is == nil || is.Deleted || is.PullRequest {
			return nil, gqlError("NOT_FOUND", "Could not resolve to an issue or pull request with the number of "+str(vars["number"])+".")
		}
		nodes := []obj{}
		for _, p := range s.projects {
			if it := p.item(key); it != nil {
				var v any
				if strings.EqualFold(p.Field, str(vars["field"])) {
					v = valueJSON(it)
				}
				n := obj{"id": nodeID("ProjectV2Item", it.id), "updatedAt": ts(it.updated), "project": obj{"id": nodeID("ProjectV2", p.id)}, "fieldValueByName": v}
				if selected(q, "fieldValues(first:", vars) {
					n["fieldValues"] = s.fieldValuesJSON(p, it)
				}
				nodes = append(nodes, n)
			}
		}
		return obj{"repository": obj{"issue": obj{"id": nodeID("Issue", is.ID), "projectItems": obj{"nodes": nodes}}}}, nil
	case strings.Contains(q, "node(id:") && strings.Contains(q, "items(first:"):
		p := s.projectByNode(str(vars["project"]))
		if p == nil {
			return nil, gqlError("NOT_FOUND", "Could not resolve to a node with the global id of '"+str(vars["project"])+"'")
		}
		start := 0
		if a := str(vars["after"]); a != "" {
			start, _ = strconv.Atoi(a)
		}
		const first = 100
		nodes := []obj{}
		end := min(len(p.items), start+first)
		for _, it := range p.items[min(start, end):end] {
			content := obj{}
			if is := s.byKey(it.issue); is != nil && !is.Deleted {
				content = obj{"id": nodeID("Issue", is.ID), "number": is.Number, "repository": obj{"nameWithOwner": is.Repo}}
			}
			var v any
			if strings.EqualFold(p.Field, str(vars["field"])) {
				v = valueJSON(it)
			}
			n := obj{"id": nodeID("ProjectV2Item", it.id), "updatedAt": ts(it.updated), "content": content, "fieldValueByName": v}
			if selected(q, "fieldValues(first:", vars) {
				n["fieldValues"] = s.fieldValuesJSON(p, it)
			}
			nodes = append(nodes, n)
		}
		page := obj{"hasNextPage": end < len(p.items), "endCursor": strconv.Itoa(end)}
		return obj{"node": obj{"items": obj{"pageInfo": page, "nodes": nodes}}}, nil
	case strings.Contains(q, "addProjectV2ItemById("):
		in, _ := vars["input"].(map[string]any)
		p := s.projectByNode(str(in["projectId"]))
		var is *Issue
		for _, r := range s.repos {
			for _, x := range r.issues {
				if nodeID("Issue", x.ID) == str(in["contentId"]) {
					is = x
				}
			}
		}
		if p == nil || is == nil {
			return nil, gqlError("NOT_FOUND", "Could not resolve to a node with the global id given.")
		}
		it := p.item(issueKey(is))
		if it == nil {
			it = &projectItem{id: s.id(), issue: issueKey(is), updated: s.now()}
			p.items = append(p.items, it)
		}
		return obj{"addProjectV2ItemById": obj{"item": obj{"id": nodeID("ProjectV2Item", it.id)}}}, nil
	case strings.Contains(q, "updateProjectV2ItemFieldValue("), strings.Contains(q, "clearProjectV2ItemFieldValue("):
		clear := strings.Contains(q, "clearProjectV2ItemFieldValue(")
		in, _ := vars["input"].(map[string]any)
		p := s.projectByNode(str(in["projectId"]))
		if p == nil {
			return nil, gqlError("NOT_FOUND", "Could not resolve to a node with the global id of '"+str(in["projectId"])+"'")
		}
		var it *projectItem
		for _, x := range p.items {
			if nodeID("ProjectV2Item", x.id) == str(in["itemId"]) {
				it = x
			}
		}
		if it == nil {
			return nil, gqlError("NOT_FOUND", "Could not resolve to a node with the global id of '"+str(in["itemId"])+"'")
		}
		val, _ := in["value"].(map[string]any)
		if !clear && val == nil {
			return nil, gqlError("", "Variable $input of type UpdateProjectV2ItemFieldValueInput! was provided invalid value for value (Expected value to not be null)")
		}
		if e := s.writeField(p, it, str(in["fieldId"]), val, clear); e != nil {
			return nil, e
		}
		root := "updateProjectV2ItemFieldValue"
		if clear {
			root = "clearProjectV2ItemFieldValue"
		}
		return obj{root: obj{"projectV2Item": obj{"id": nodeID("ProjectV2Item", it.id)}}}, nil
	}
	return nil, gqlError("", "githubtest: this GraphQL operation is not one the fake answers: "+q)
}
