package jiratest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	maxSummary     = 255
	maxDescription = 32767
)

type entityProperty struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

type issueBody struct {
	Fields     map[string]json.RawMessage `json:"fields"`
	Update     map[string]json.RawMessage `json:"update"`
	Properties []entityProperty           `json:"properties"`
	Transition *struct {
		ID string `json:"id"`
	} `json:"transition"`
}

// named reads {"key"|"id"|"name"|"accountId": ...} style references.
type named struct {
	ID        string `json:"id"`
	Key       string `json:"key"`
	Name      string `json:"name"`
	AccountID string `json:"accountId"`
	None      bool   `json:"none"`
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// textOf is a stored text value as the changelog shows it: a string
// unquoted, a document as its JSON.
func textOf(raw json.RawMessage) string {
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str
	}
	return string(raw)
}

// isADF says whether raw is an Atlassian Document (a version 1 doc).
func isADF(raw json.RawMessage) bool {
	var doc struct {
		Type    string `json:"type"`
		Version int    `json:"version"`
	}
	return json.Unmarshal(raw, &doc) == nil && doc.Type == "doc" && doc.Version == 1
}

func (s *Server) createIssue(r *request) (reply, error) {
	var b issueBody
	if err := r.decode(&b); err != nil {
		return reply{}, err
	}
	var pref, tref named
	if raw, ok := b.Fields["project"]; !ok || json.Unmarshal(raw, &pref) != nil {
		return reply{}, errField("project", "Specify a valid project ID or key")
	}
	project := pref.Key
	if pref.ID != "" {
		if n, err := strconv.Atoi(pref.ID); err == nil && n-10000 >= 0 && n-10000 < len(s.projects) {
			project = s.projects[n-10000]
		}
	}
	if !slices.Contains(s.projects, project) {
		return reply{}, errField("project", "Specify a valid project ID or key")
	}
	if raw, ok := b.Fields["issuetype"]; !ok || json.Unmarshal(raw, &tref) != nil {
		return reply{}, errField("issuetype", "Specify an issue type")
	}
	typ, found := typeByRef(tref)
	if !found {
		return reply{}, errField("issuetype", "Specify a valid issue type")
	}
	if _, ok := b.Fields["summary"]; !ok {
		return reply{}, errField("summary", "You must specify a summary of the issue.")
	}
	now := s.stamp()
	it := &Issue{ID: s.nextID + 1, Project: project, Type: typ.Name, Status: s.statuses[0].Name,
		Reporter: r.user.id(s.flavor), Creator: r.user.id(s.flavor), Created: now, Updated: now, Properties: map[string]json.RawMessage{}}
	fields := b.Fields
	delete(fields, "project")
	delete(fields, "issuetype")
	if _, err := s.applyFields(it, fields, true); err != nil {
		return reply{}, err
	}
	if typ.Subtask && it.Parent == 0 {
		return reply{}, errField("parent", "Sub-tasks must be created with a parent issue.")
	}
	if s.flavor == DataCenter && typ.Name == "Epic" && textOf(it.Custom[EpicNameField]) == "" {
		// Jira Software on Data Center: the Epic Name is required.
		return reply{}, errField(EpicNameField, "Epic Name is required.")
	}
	for _, p := range b.Properties {
		if p.Key == "" || len(p.Key) > 255 {
			return reply{}, errField("properties", "The property key must not be empty or longer than 255 characters.")
		}
		it.Properties[p.Key] = slices.Clone(p.Value)
	}
	s.nextID++
	s.nextNum[project]++
	it.Key = fmt.Sprintf("%s-%d", project, s.nextNum[project])
	s.issues[it.ID] = it
	s.byKey[it.Key] = it
	s.webhook(r, "jira:issue_created", it, nil, nil)
	return reply{http.StatusCreated, map[string]any{"id": strconv.Itoa(it.ID), "key": it.Key, "self": s.URL + "/rest/api/" + r.version + "/issue/" + strconv.Itoa(it.ID)}}, nil
}

// createIssues is POST /issue/bulk: up to 50 creates, each succeeding or
// failing on its own.
func (s *Server) createIssues(r *request) (reply, error) {
	var b struct {
		IssueUpdates []json.RawMessage `json:"issueUpdates"`
	}
	if err := r.decode(&b); err != nil {
		return reply{}, err
	}
	if len(b.IssueUpdates) > 50 {
		return reply{}, errMsg(http.StatusBadRequest, "The number of issues to create exceeds the maximum of 50.")
	}
	issues, errs := []any{}, []any{}
	for i, u := range b.IssueUpdates {
		sub := *r
		sub.body = u
		rep, err := s.createIssue(&sub)
		r.pending = append(r.pending, sub.pending[len(r.pending):]...)
		if err != nil {
			he, _ := err.(*httpError)
			if he == nil {
				he = errMsg(http.StatusInternalServerError, err.Error())
			}
			errs = append(errs, map[string]any{"status": he.status, "failedElementNumber": i, "elementErrors": he.body})
			continue
		}
		issues = append(issues, rep.body)
	}
	status := http.StatusCreated
	if len(issues) == 0 && len(errs) > 0 {
		status = http.StatusBadRequest
	}
	return reply{status, map[string]any{"issues": issues, "errors": errs}}, nil
}

func (s *Server) editIssue(r *request) (reply, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return reply{}, err
	}
	var b issueBody
	if err := r.decode(&b); err != nil {
		return reply{}, err
	}
	if len(b.Update) > 0 {
		return reply{}, errMsg(http.StatusBadRequest, "the fake supports edits through fields only")
	}
	next := it.clone()
	changes, err := s.applyFields(&next, b.Fields, false)
	if err != nil {
		return reply{}, err
	}
	for _, p := range b.Properties {
		next.Properties[p.Key] = slices.Clone(p.Value)
	}
	if len(changes) > 0 {
		next.Updated = s.stamp()
		next.Changelog = append(next.Changelog, s.change(r.user.id(s.flavor), next.Updated, changes))
	}
	*it = next
	if len(changes) > 0 {
		s.webhook(r, "jira:issue_updated", it, changes, nil)
	}
	// Cloud answers with the issue, as Get issue does, when asked.
	if q := r.URL.Query(); s.flavor == Cloud && q.Get("returnIssue") == "true" {
		return reply{http.StatusOK, s.issueJSON(it, parseFields(nil, "*all"), nil, q.Get("expand"))}, nil
	}
	return reply{http.StatusNoContent, nil}, nil
}

// typeByRef is the issue type a request names, by id or else by name.
func typeByRef(ref named) (IssueType, bool) {
	for _, t := range DefaultIssueTypes {
		if (ref.ID != "" && t.ID == ref.ID) || (ref.ID == "" && t.Name == ref.Name) {
			return t, true
		}
	}
	return IssueType{}, false
}

func (s *Server) change(author string, at time.Time, items []ChangeItem) Change {
	s.nextChange++
	return Change{ID: s.nextChange, Author: author, Created: at, Items: items}
}

// applyFields writes fields into it, enforcing Jira's rules, and returns
// the changelog items of what changed.
func (s *Server) applyFields(it *Issue, fields map[string]json.RawMessage, creating bool) ([]ChangeItem, error) {
	var changes []ChangeItem
	note := func(f, from, to string) {
		if from != to {
			changes = append(changes, ChangeItem{Field: f, FromString: from, ToString: to})
		}
	}
	typ, _ := s.issueType(it.Type)
	for id := range fields {
		if slices.Contains(s.opts.OffScreen, id) {
			return nil, errField(id, fmt.Sprintf("Field '%s' cannot be set. It is not on the appropriate screen, or unknown.", id))
		}
	}
	for id, raw := range fields {
		switch id {
		case "summary":
			var v string
			if json.Unmarshal(raw, &v) != nil || strings.TrimSpace(v) == "" {
				return nil, errField("summary", "You must specify a summary of the issue.")
			}
			if len([]rune(v)) > maxSummary {
				return nil, errField("summary", "Summary must be less than 255 characters.")
			}
			if strings.ContainsAny(v, "\n\r") {
				return nil, errField("summary", "The summary is invalid because it contains newline characters.")
			}
			note("summary", it.Summary, v)
			it.Summary = v
		case "description":
			var v json.RawMessage
			if !isNull(raw) {
				if s.flavor == Cloud {
					if !isADF(raw) {
						return nil, errField("description", "Operation value must be an Atlassian Document (see the Atlassian Document Format)")
					}
				} else {
					var str string
					if json.Unmarshal(raw, &str) != nil {
						return nil, errField("description", "Operation value must be a string")
					}
				}
				if len(raw) > maxDescription {
					return nil, errField("description", "The entered text is too long. It exceeds the allowed limit of 32,767 characters.")
				}
				v = slices.Clone(raw)
			}
			note("description", string(it.Description), string(v))
			it.Description = v
		case "assignee":
			var v string
			if !isNull(raw) {
				var n named
				if json.Unmarshal(raw, &n) != nil {
					return nil, errField("assignee", "Could not read the assignee.")
				}
				v = n.AccountID
				if s.flavor == DataCenter {
					v = n.Name
				}
				if _, ok := s.userByID(v); !ok {
					return nil, errField("assignee", fmt.Sprintf("User '%s' does not exist.", v))
				}
			}
			note("assignee", it.Assignee, v)
			it.Assignee = v
		case "labels":
			var v []string
			if !isNull(raw) && json.Unmarshal(raw, &v) != nil {
				return nil, errField("labels", "The labels must be a list of strings.")
			}
			for _, l := range v {
				if strings.ContainsAny(l, " \t\n") || l == "" || len(l) > 255 {
					return nil, errField("labels", fmt.Sprintf("The label '%s' contains spaces which is invalid.", l))
				}
			}
			v = slices.Compact(slices.Sorted(slices.Values(v)))
			note("labels", strings.Join(it.Labels, " "), strings.Join(v, " "))
			it.Labels = v
		case "priority":
			var v string
			if !isNull(raw) {
				var n named
				if json.Unmarshal(raw, &n) != nil {
					return nil, errField("priority", "The priority selected is invalid.")
				}
				v = n.Name
				if n.ID != "" {
					if i, err := strconv.Atoi(n.ID); err == nil && i >= 1 && i <= len(Priorities) {
						v = Priorities[i-1]
					}
				}
				if !slices.Contains(Priorities, v) {
					return nil, errField("priority", "The priority selected is invalid.")
				}
			}
			note("priority", it.Priority, v)
			it.Priority = v
		case "issuetype":
			// An edit may change the type within its hierarchy level (a
			// story to a bug); to another level (an epic, a sub-task) Jira
			// wants the Move operation and refuses the edit.
			var ref named
			if json.Unmarshal(raw, &ref) != nil {
				return nil, errField("issuetype", "Specify a valid issue type")
			}
			to, found := typeByRef(ref)
			if !found {
				return nil, errField("issuetype", "Specify a valid issue type")
			}
			if to.Hierarchy != typ.Hierarchy || to.Subtask != typ.Subtask {
				return nil, errField("issuetype", fmt.Sprintf("The issue type selected is invalid. %s issues cannot become %s issues by an edit: move the issue.", typ.Name, to.Name))
			}
			note("issuetype", it.Type, to.Name)
			it.Type = to.Name
		case "duedate":
			var v string
			if !isNull(raw) {
				if json.Unmarshal(raw, &v) != nil {
					return nil, errField("duedate", "Error parsing date string.")
				}
				if _, err := time.Parse("2006-01-02", v); err != nil {
					return nil, errField("duedate", "Error parsing date string: "+v)
				}
			}
			note("duedate", it.Due, v)
			it.Due = v
		case "parent", EpicLinkField:
			if id == EpicLinkField && s.flavor != DataCenter || id == "parent" && s.flavor == DataCenter && !(creating && typ.Subtask) {
				return nil, errField(id, fmt.Sprintf("Field '%s' cannot be set. It is not on the appropriate screen, or unknown.", id))
			}
			pid := 0
			if !isNull(raw) {
				var ref string
				if id == EpicLinkField {
					if json.Unmarshal(raw, &ref) != nil {
						return nil, errField(id, "Epic Link must be an issue key.")
					}
				} else {
					var n named
					if json.Unmarshal(raw, &n) != nil {
						return nil, errField(id, "Could not find the parent issue.")
					}
					if n.None {
						ref = ""
					} else if ref = n.ID; ref == "" {
						ref = n.Key
					}
				}
				if ref != "" {
					p := s.lookup(ref)
					if p == nil {
						return nil, errField(id, fmt.Sprintf("Could not find issue by id or key: %s", ref))
					}
					pt, _ := s.issueType(p.Type)
					want := typ.Hierarchy + 1
					if typ.Subtask {
						want = 0
					}
					if pt.Hierarchy != want || p.Project != it.Project && typ.Subtask || p.ID == it.ID {
						return nil, errField(id, fmt.Sprintf("Issue %s cannot be the parent of a %s.", p.Key, typ.Name))
					}
					pid = p.ID
				}
			}
			if pid == 0 && typ.Subtask && !creating {
				return nil, errField(id, "A sub-task must have a parent.")
			}
			note("parent", s.keyOf(it.Parent), s.keyOf(pid))
			it.Parent = pid
		case ReviewerNotesField:
			// A multi-line text (textarea) field: an Atlassian Document on
			// Cloud's v3, a wiki-markup string on Data Center, like the
			// description.
			if it.Custom == nil {
				it.Custom = map[string]json.RawMessage{}
			}
			var v json.RawMessage
			if !isNull(raw) {
				if s.flavor == Cloud {
					if !isADF(raw) {
						return nil, errField(id, "Operation value must be an Atlassian Document (see the Atlassian Document Format)")
					}
				} else {
					var str string
					if json.Unmarshal(raw, &str) != nil {
						return nil, errField(id, "Operation value must be a string")
					}
					if str == "" {
						raw = nil
					}
				}
				if len(raw) > maxDescription {
					return nil, errField(id, "The entered text is too long. It exceeds the allowed limit of 32,767 characters.")
				}
				v = slices.Clone(raw)
			}
			note(id, textOf(it.Custom[id]), textOf(v))
			if len(v) == 0 {
				delete(it.Custom, id)
			} else {
				it.Custom[id] = v
			}
		case EpicNameField:
			if s.flavor != DataCenter {
				return nil, errField(id, fmt.Sprintf("Field '%s' cannot be set. It is not on the appropriate screen, or unknown.", id))
			}
			var v string
			if !isNull(raw) && json.Unmarshal(raw, &v) != nil {
				return nil, errField(id, "Operation value must be a string")
			}
			if len([]rune(v)) > maxSummary {
				return nil, errField(id, "The entered text is too long.")
			}
			if it.Custom == nil {
				it.Custom = map[string]json.RawMessage{}
			}
			if v == "" {
				delete(it.Custom, id)
			} else {
				it.Custom[id] = jsonBytes(v)
			}
		case TeamField:
			// A single-line text (textfield) field: a string on both
			// flavours; Cloud refuses an Atlassian Document for it.
			var v string
			if !isNull(raw) && json.Unmarshal(raw, &v) != nil {
				return nil, errField(id, "Operation value must be a string")
			}
			if len(v) > maxSummary {
				return nil, errField(id, "The entered text is too long.")
			}
			if it.Custom == nil {
				it.Custom = map[string]json.RawMessage{}
			}
			old := ""
			if o, ok := it.Custom[id]; ok {
				_ = json.Unmarshal(o, &old)
			}
			note(id, old, v)
			if v == "" {
				delete(it.Custom, id)
			} else {
				it.Custom[id] = jsonBytes(v)
			}
		case SeverityField:
			// A select list takes an option by id or value; Jira refuses
			// {"name": ...} for it (unlike resolution or priority).
			if it.Custom == nil {
				it.Custom = map[string]json.RawMessage{}
			}
			old := ""
			if o, ok := it.Custom[id]; ok {
				var ov struct {
					Value string `json:"value"`
				}
				_ = json.Unmarshal(o, &ov)
				old = ov.Value
			}
			if isNull(raw) {
				note(id, old, "")
				delete(it.Custom, id)
				continue
			}
			var ref struct {
				ID    string `json:"id"`
				Value string `json:"value"`
			}
			if json.Unmarshal(raw, &ref) != nil || (ref.ID == "" && ref.Value == "") {
				return nil, errField(id, "Could not find valid 'id' or 'value' in the Parent Option object.")
			}
			i := slices.IndexFunc(SeverityOptions, func(o Option) bool { return (ref.ID != "" && o.ID == ref.ID) || (ref.ID == "" && o.Value == ref.Value) })
			if i < 0 {
				return nil, errField(id, fmt.Sprintf("Option id '%s' is not valid", cmp.Or(ref.ID, ref.Value)))
			}
			o := SeverityOptions[i]
			note(id, old, o.Value)
			it.Custom[id] = jsonBytes(map[string]string{"self": s.URL + "/rest/api/2/customFieldOption/" + o.ID, "id": o.ID, "value": o.Value})
		default:
			return nil, errField(id, fmt.Sprintf("Field '%s' cannot be set. It is not on the appropriate screen, or unknown.", id))
		}
	}
	return changes, nil
}

func (s *Server) keyOf(id int) string {
	if it := s.issues[id]; it != nil {
		return it.Key
	}
	return ""
}

func (s *Server) deleteIssue(r *request) (reply, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return reply{}, err
	}
	var subs []*Issue
	for _, x := range s.issues {
		if t, _ := s.issueType(x.Type); x.Parent == it.ID && t.Subtask {
			subs = append(subs, x)
		}
	}
	if len(subs) > 0 && r.URL.Query().Get("deleteSubtasks") != "true" {
		return reply{}, errMsg(http.StatusBadRequest, "The issue has subtasks; set deleteSubtasks to delete them as well.")
	}
	for _, x := range append(subs, it) {
		delete(s.issues, x.ID)
		s.webhook(r, "jira:issue_deleted", x, nil, nil)
	}
	for _, x := range s.issues {
		if x.Parent == it.ID {
			x.Parent = 0
		}
	}
	return reply{http.StatusNoContent, nil}, nil
}

func (s *Server) available(it *Issue) []Transition {
	var out []Transition
	for _, t := range s.transitions {
		if len(t.From) == 0 || slices.Contains(t.From, it.Status) {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) fieldName(id string) string {
	if f, ok := s.field(id); ok {
		return f.Name
	}
	return id
}

func (s *Server) field(id string) (Field, bool) {
	for _, f := range s.fieldList() {
		if f.ID == id {
			return f, true
		}
	}
	return Field{}, false
}

func (s *Server) listTransitions(r *request) (reply, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return reply{}, err
	}
	withFields := strings.Contains(r.URL.Query().Get("expand"), "transitions.fields")
	var out []any
	for _, t := range s.available(it) {
		st, _ := s.statusByName(t.To)
		tj := map[string]any{"id": t.ID, "name": t.Name, "to": s.statusJSON(st), "hasScreen": len(t.Required) > 0,
			"isGlobal": len(t.From) == 0, "isInitial": false, "isConditional": false, "isAvailable": true}
		if withFields {
			fs := map[string]any{}
			for _, f := range t.Required {
				meta := map[string]any{"required": true, "name": s.fieldName(f), "key": f, "operations": []string{"set"}, "schema": map[string]any{"type": "string"}}
				if fd, ok := s.field(f); ok && fd.Kind != "" {
					meta["schema"] = fd.schemaJSON()
				}
				if f == "resolution" {
					var vals []any
					for i, v := range Resolutions {
						vals = append(vals, map[string]any{"id": strconv.Itoa(i + 1), "name": v})
					}
					meta["allowedValues"] = vals
					meta["schema"] = map[string]any{"type": "resolution", "system": "resolution"}
				}
				if f == SeverityField {
					var vals []any
					for _, o := range SeverityOptions {
						vals = append(vals, map[string]any{"self": s.URL + "/rest/api/2/customFieldOption/" + o.ID, "id": o.ID, "value": o.Value})
					}
					meta["allowedValues"] = vals
				}
				fs[f] = meta
			}
			tj["fields"] = fs
		}
		out = append(out, tj)
	}
	return reply{200, map[string]any{"expand": "transitions", "transitions": nonNilAny(out)}}, nil
}

func (s *Server) doTransition(r *request) (reply, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return reply{}, err
	}
	var b issueBody
	if err := r.decode(&b); err != nil {
		return reply{}, err
	}
	if b.Transition == nil || b.Transition.ID == "" {
		return reply{}, errMsg(http.StatusBadRequest, "Missing 'transition' identifier")
	}
	var tr *Transition
	for _, t := range s.available(it) {
		if t.ID == b.Transition.ID {
			tr = &t
		}
	}
	if tr == nil {
		return reply{}, errMsg(http.StatusBadRequest, fmt.Sprintf("Transition id '%s' is not valid for this issue.", b.Transition.ID))
	}
	resolution := ""
	custom := map[string]json.RawMessage{}
	for _, f := range tr.Required {
		raw, ok := b.Fields[f]
		if !ok || isNull(raw) {
			return reply{}, errField(f, s.fieldName(f)+" is required.")
		}
	}
	for f, raw := range b.Fields {
		if !slices.Contains(tr.Required, f) {
			return reply{}, errField(f, fmt.Sprintf("Field '%s' cannot be set. It is not on the appropriate screen, or unknown.", f))
		}
		if f == "resolution" {
			// By name or by id, as Jira takes it.
			var n named
			if json.Unmarshal(raw, &n) != nil {
				return reply{}, errField("resolution", "The resolution is invalid.")
			}
			if i, err := strconv.Atoi(n.ID); err == nil && n.Name == "" && i >= 1 && i <= len(Resolutions) {
				n.Name = Resolutions[i-1]
			}
			if !slices.Contains(Resolutions, n.Name) {
				return reply{}, errField("resolution", "The resolution is invalid.")
			}
			resolution = n.Name
			continue
		}
		custom[f] = raw
	}
	// The screen's fields are checked before anything changes: a refused
	// transition leaves the issue as it was.
	if len(custom) > 0 {
		trial := it.clone()
		if _, err := s.applyFields(&trial, cloneRaw(custom), false); err != nil {
			return reply{}, err
		}
	}
	to, _ := s.statusByName(tr.To)
	changes := []ChangeItem{{Field: "status", FromString: it.Status, ToString: to.Name}}
	it.Status = to.Name
	if to.Category == "done" {
		if resolution == "" {
			resolution = Resolutions[0]
		}
		changes = append(changes, ChangeItem{Field: "resolution", FromString: it.Resolution, ToString: resolution})
		it.Resolution = resolution
	} else if it.Resolution != "" {
		changes = append(changes, ChangeItem{Field: "resolution", FromString: it.Resolution})
		it.Resolution = ""
	}
	if len(custom) > 0 {
		more, err := s.applyFields(it, custom, false)
		if err != nil {
			return reply{}, err
		}
		changes = append(changes, more...)
	}
	it.Updated = s.stamp()
	it.Changelog = append(it.Changelog, s.change(r.user.id(s.flavor), it.Updated, changes))
	s.webhook(r, "jira:issue_updated", it, changes, nil)
	return reply{http.StatusNoContent, nil}, nil
}

func (s *Server) commentJSON(it *Issue, c *Comment, props bool) map[string]any {
	out := map[string]any{
		"id": strconv.Itoa(c.ID), "self": fmt.Sprintf("%s/rest/api/%s/issue/%d/comment/%d", s.URL, s.apiVersion(), it.ID, c.ID),
		"author": s.userJSON(c.Author), "updateAuthor": s.userJSON(c.Author), "body": json.RawMessage(c.Body),
		"created": c.Created.Format(jiraTime), "updated": c.Updated.Format(jiraTime), "jsdPublic": !c.Internal,
	}
	if c.Restricted != "" {
		out["visibility"] = map[string]any{"type": "role", "value": c.Restricted, "identifier": c.Restricted}
	}
	if props {
		var ps []any
		for k, v := range c.Property {
			ps = append(ps, map[string]any{"key": k, "value": json.RawMessage(v)})
		}
		out["properties"] = nonNilAny(ps)
	}
	return out
}

func (s *Server) checkBody(raw json.RawMessage) error {
	if isNull(raw) {
		return errField("comment", "Comment body can not be empty!")
	}
	if s.flavor == Cloud {
		var doc struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(raw, &doc) != nil || doc.Type != "doc" {
			return errField("comment", "Comment body must be an Atlassian Document.")
		}
	} else {
		var str string
		if json.Unmarshal(raw, &str) != nil || strings.TrimSpace(str) == "" {
			return errField("comment", "Comment body can not be empty!")
		}
	}
	if len(raw) > maxDescription {
		return errField("comment", "The entered text is too long. It exceeds the allowed limit of 32,767 characters.")
	}
	return nil
}

func (s *Server) listComments(r *request) (reply, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return reply{}, err
	}
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("startAt"))
	size := 5000
	if m := q.Get("maxResults"); m != "" {
		size, _ = strconv.Atoi(m)
	}
	size = max(0, min(size, 5000))
	// This endpoint expands only renderedBody: expand=properties is
	// ignored, as on Jira; properties come from POST /comment/list.
	var cs []any
	for i, c := range it.Comments {
		if i >= start && i < start+size {
			cs = append(cs, s.commentJSON(it, c, false))
		}
	}
	return reply{200, map[string]any{"startAt": start, "maxResults": size, "total": len(it.Comments), "comments": nonNilAny(cs)}}, nil
}

func (s *Server) addComment(r *request) (reply, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return reply{}, err
	}
	var b struct {
		Body       json.RawMessage  `json:"body"`
		Properties []entityProperty `json:"properties"`
	}
	if err := r.decode(&b); err != nil {
		return reply{}, err
	}
	if err := s.checkBody(b.Body); err != nil {
		return reply{}, err
	}
	now := s.stamp()
	s.nextComment++
	c := &Comment{ID: s.nextComment, Author: r.user.id(s.flavor), Body: slices.Clone(b.Body), Created: now, Updated: now}
	for _, p := range b.Properties {
		if c.Property == nil {
			c.Property = map[string]json.RawMessage{}
		}
		c.Property[p.Key] = slices.Clone(p.Value)
	}
	it.Comments = append(it.Comments, c)
	it.Updated = now
	s.webhook(r, "comment_created", it, nil, c)
	return reply{http.StatusCreated, s.commentJSON(it, c, false)}, nil
}

// commentsByID is POST /comment/list: the comments with the given ids
// (at most 1000; unknown ids are left out), with expand=properties.
func (s *Server) commentsByID(r *request) (reply, error) {
	var b struct {
		IDs []int64 `json:"ids"`
	}
	if err := r.decode(&b); err != nil {
		return reply{}, err
	}
	if b.IDs == nil {
		return reply{}, errField("ids", "The list of comment IDs is required.")
	}
	if len(b.IDs) > 1000 {
		return reply{}, errMsg(http.StatusBadRequest, "The number of comment IDs must not exceed 1000.")
	}
	want := map[int64]bool{}
	for _, id := range b.IDs {
		want[id] = true
	}
	props := strings.Contains(r.URL.Query().Get("expand"), "properties")
	var ids []int
	for id := range s.issues {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var vs []any
	for _, id := range ids {
		it := s.issues[id]
		for _, c := range it.Comments {
			if want[int64(c.ID)] {
				vs = append(vs, s.commentJSON(it, c, props))
			}
		}
	}
	return reply{200, map[string]any{"startAt": 0, "maxResults": 1000, "total": len(vs), "isLast": true, "values": nonNilAny(vs)}}, nil
}

func (s *Server) findComment(r *request) (*Issue, *Comment, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return nil, nil, err
	}
	for _, c := range it.Comments {
		if strconv.Itoa(c.ID) == r.args[1] {
			return it, c, nil
		}
	}
	return nil, nil, errMsg(http.StatusNotFound, "Can not find a comment for the id: "+r.args[1]+".")
}

func (s *Server) getComment(r *request) (reply, error) {
	it, c, err := s.findComment(r)
	if err != nil {
		return reply{}, err
	}
	return reply{200, s.commentJSON(it, c, strings.Contains(r.URL.Query().Get("expand"), "properties"))}, nil
}

func (s *Server) editComment(r *request) (reply, error) {
	it, c, err := s.findComment(r)
	if err != nil {
		return reply{}, err
	}
	var b struct {
		Body json.RawMessage `json:"body"`
	}
	if err := r.decode(&b); err != nil {
		return reply{}, err
	}
	if err := s.checkBody(b.Body); err != nil {
		return reply{}, err
	}
	now := s.stamp()
	c.Body = slices.Clone(b.Body)
	c.Updated = now
	it.Updated = now
	s.webhook(r, "comment_updated", it, nil, c)
	return reply{200, s.commentJSON(it, c, false)}, nil
}

func (s *Server) listProperties(r *request) (reply, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return reply{}, err
	}
	var keys []any
	for _, k := range slices.Sorted(mapKeys(it.Properties)) {
		keys = append(keys, map[string]any{"key": k, "self": fmt.Sprintf("%s/rest/api/%s/issue/%d/properties/%s", s.URL, r.version, it.ID, k)})
	}
	return reply{200, map[string]any{"keys": nonNilAny(keys)}}, nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (s *Server) getProperty(r *request) (reply, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return reply{}, err
	}
	v, ok := it.Properties[r.args[1]]
	if !ok {
		return reply{}, errMsg(http.StatusNotFound, "The property with key '"+r.args[1]+"' does not exist.")
	}
	return reply{200, map[string]any{"key": r.args[1], "value": json.RawMessage(v)}}, nil
}

func (s *Server) setProperty(r *request) (reply, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return reply{}, err
	}
	var v json.RawMessage
	if err := r.decode(&v); err != nil {
		return reply{}, err
	}
	if len(v) > 32768 {
		return reply{}, errMsg(http.StatusBadRequest, "The property value is too long: at most 32768 bytes.")
	}
	_, existed := it.Properties[r.args[1]]
	it.Properties[r.args[1]] = slices.Clone(v)
	if existed {
		return reply{http.StatusOK, nil}, nil
	}
	return reply{http.StatusCreated, nil}, nil
}

func (s *Server) deleteProperty(r *request) (reply, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return reply{}, err
	}
	if _, ok := it.Properties[r.args[1]]; !ok {
		return reply{}, errMsg(http.StatusNotFound, "The property with key '"+r.args[1]+"' does not exist.")
	}
	delete(it.Properties, r.args[1])
	return reply{http.StatusNoContent, nil}, nil
}

func (s *Server) listRemoteLinks(r *request) (reply, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return reply{}, err
	}
	var out []any
	for _, l := range it.RemoteLinks {
		out = append(out, map[string]any{"id": l.ID, "globalId": l.GlobalID, "self": fmt.Sprintf("%s/rest/api/%s/issue/%d/remotelink/%d", s.URL, r.version, it.ID, l.ID),
			"object": map[string]any{"url": l.URL, "title": l.Title}})
	}
	return reply{200, nonNilAny(out)}, nil
}

func (s *Server) addRemoteLink(r *request) (reply, error) {
	it, err := s.mustIssue(r.args[0])
	if err != nil {
		return reply{}, err
	}
	var b struct {
		GlobalID string `json:"globalId"`
		Object   struct {
			URL   string `json:"url"`
			Title string `json:"title"`
		} `json:"object"`
	}
	if err := r.decode(&b); err != nil {
		return reply{}, err
	}
	if b.Object.URL == "" || b.Object.Title == "" {
		return reply{}, errField("object", "The remote link needs a url and a title.")
	}
	for i, l := range it.RemoteLinks {
		if b.GlobalID != "" && l.GlobalID == b.GlobalID {
			it.RemoteLinks[i].URL, it.RemoteLinks[i].Title = b.Object.URL, b.Object.Title
			return reply{http.StatusOK, map[string]any{"id": l.ID, "self": fmt.Sprintf("%s/rest/api/%s/issue/%d/remotelink/%d", s.URL, r.version, it.ID, l.ID)}}, nil
		}
	}
	s.nextLink++
	it.RemoteLinks = append(it.RemoteLinks, RemoteLink{ID: s.nextLink, GlobalID: b.GlobalID, URL: b.Object.URL, Title: b.Object.Title})
	return reply{http.StatusCreated, map[string]any{"id": s.nextLink, "self": fmt.Sprintf("%s/rest/api/%s/issue/%d/remotelink/%d", s.URL, r.version, it.ID, s.nextLink)}}, nil
}
