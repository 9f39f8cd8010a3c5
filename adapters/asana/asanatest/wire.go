package asanatest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/tracksync/tracksync/mapping/markup"
)

type obj = map[string]any

// The rich-text elements Asana accepts in html_notes and html_text.
var richText = map[string]bool{
	"body": true, "strong": true, "em": true, "u": true, "s": true, "code": true, "a": true,
	"ul": true, "ol": true, "li": true, "blockquote": true, "pre": true, "h1": true, "h2": true,
	"hr": true, "img": true, "table": true, "tr": true, "td": true,
}

// checkRichText reports why s is not Asana rich text: a <body> root,
// well-formed XML, known elements only.
func checkRichText(s string) error {
	if !strings.HasPrefix(s, "<body>") || !strings.HasSuffix(s, "</body>") {
		return fmt.Errorf("XML is invalid: rich text must be wrapped in <body>")
	}
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("XML is invalid: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && !richText[se.Name.Local] {
			return fmt.Errorf("XML is invalid: element <%s> is not allowed", se.Name.Local)
		}
	}
}

// escapeText writes plain text as rich text.
func escapeText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return "<body>" + b.String() + "</body>"
}

// select applies opt_fields to a full record: gid always, every named
// field, nested paths into objects and arrays of objects. A named object
// without sub-fields comes compact (gid, resource_type, name).
func selectFields(full obj, fields []string, compact []string) obj {
	if len(fields) == 0 {
		fields = compact
	}
	out := obj{"gid": full["gid"]}
	sub := map[string][]string{}
	var order []string
	for _, f := range fields {
		head, rest, _ := strings.Cut(f, ".")
		if _, seen := sub[head]; !seen {
			order = append(order, head)
			sub[head] = nil
		}
		if rest != "" {
			sub[head] = append(sub[head], rest)
		}
	}
	for _, head := range order {
		v, ok := full[head]
		if !ok {
			continue
		}
		out[head] = selectValue(v, sub[head])
	}
	return out
}

func selectValue(v any, rest []string) any {
	switch x := v.(type) {
	case obj:
		if len(rest) == 0 {
			return compactOf(x)
		}
		return selectFields(x, rest, nil)
	case []obj:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = selectValue(e, rest)
		}
		return l
	}
	return v
}

// compactOf is an object's compact form.
func compactOf(o obj) any {
	if _, ok := o["gid"]; !ok {
		return o // a value object such as date_value
	}
	c := obj{}
	for _, k := range []string{"gid", "resource_type", "name", "resource_subtype"} {
		if v, ok := o[k]; ok {
			c[k] = v
		}
	}
	return c
}

// optFields reads opt_fields (comma-separated, possibly repeated).
func optFields(v []string) []string {
	var out []string
	for _, s := range v {
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

func (s *Server) userJSON(gid string) any {
	u := s.user(gid)
	if u == nil {
		return nil
	}
	return obj{"gid": u.GID, "resource_type": "user", "name": u.Name, "email": u.Email}
}

func (s *Server) workspaceJSON() obj {
	return obj{"gid": s.workspace, "resource_type": "workspace", "name": DefaultWorkspace}
}

func (s *Server) projectJSON(p *Project) obj {
	var owner, due, current any
	if p.Owner != "" {
		owner = s.userJSON(p.Owner)
	}
	if p.DueOn != "" {
		due = p.DueOn
	}
	if u := s.currentStatus(p.GID); u != nil {
		current = obj{"gid": u.GID, "resource_type": "status_update", "resource_subtype": "project_status_update", "title": u.Title}
	}
	html := p.HTMLNotes
	if html == "" {
		html = "<body></body>"
	}
	cfs := []obj{}
	for _, fg := range s.projectFields(p) {
		cfs = append(cfs, s.valueJSON(s.fields[fg], p.CustomValues[fg]))
	}
	return obj{"gid": p.GID, "resource_type": "project", "name": p.Name, "archived": p.Archived,
		"workspace": s.workspaceJSON(), "permalink_url": s.srv.URL + "/0/" + p.GID + "/list",
		"notes": markup.AsanaPlainText(html), "html_notes": html, "owner": owner, "due_on": due, "completed": p.Completed,
		"created_at": stamp(p.CreatedAt), "modified_at": stamp(p.ModifiedAt), "current_status_update": current,
		"custom_fields": cfs}
}

func (s *Server) sectionJSON(sec *Section) obj {
	return obj{"gid": sec.GID, "resource_type": "section", "name": sec.Name, "project": s.projectJSON(s.projects[sec.Project])}
}

func (s *Server) tagJSON(t *Tag) obj {
	return obj{"gid": t.GID, "resource_type": "tag", "name": t.Name, "workspace": s.workspaceJSON()}
}

func enumJSON(o EnumOption) obj {
	return obj{"gid": o.GID, "resource_type": "enum_option", "name": o.Name, "enabled": o.Enabled, "color": o.Color}
}

func (s *Server) fieldJSON(f *CustomField) obj {
	o := obj{"gid": f.GID, "resource_type": "custom_field", "name": f.Name, "type": string(f.Type),
		"resource_subtype": string(f.Type), "is_global_to_workspace": true}
	if f.Type == TypeEnum || f.Type == TypeMultiEnum {
		opts := make([]obj, len(f.Options))
		for i, e := range f.Options {
			opts[i] = enumJSON(e)
		}
		o["enum_options"] = opts
	}
	if f.Type == TypeNumber {
		o["precision"] = f.Precision
	}
	return o
}

func (f *CustomField) option(gid string) (EnumOption, bool) {
	for _, o := range f.Options {
		if o.GID == gid {
			return o, true
		}
	}
	return EnumOption{}, false
}

// valueJSON is one custom field with its value on a task.
func (s *Server) valueJSON(f *CustomField, v FieldValue) obj {
	o := s.fieldJSON(f)
	delete(o, "enum_options")
	display := ""
	switch f.Type {
	case TypeText:
		o["text_value"] = nil
		if v.HasValue {
			o["text_value"], display = v.Text, v.Text
		}
	case TypeNumber:
		o["number_value"] = nil
		if v.Number != nil {
			o["number_value"] = *v.Number
			display = strconv.FormatFloat(*v.Number, 'f', f.Precision, 64)
		}
	case TypeEnum:
		o["enum_value"] = nil
		if e, ok := f.option(v.Enum); ok {
			o["enum_value"], display = enumJSON(e), e.Name
		}
	case TypeMultiEnum:
		l := []obj{}
		var names []string
		for _, g := range v.Multi {
			if e, ok := f.option(g); ok {
				l = append(l, enumJSON(e))
				names = append(names, e.Name)
			}
		}
		o["multi_enum_values"], display = l, strings.Join(names, ", ")
	case TypeDate:
		o["date_value"] = nil
		if v.Date != "" {
			o["date_value"], display = obj{"date": v.Date, "date_time": nil}, v.Date
		}
	case TypePeople:
		l := []obj{}
		var names []string
		for _, g := range v.People {
			if u := s.user(g); u != nil {
				l = append(l, obj{"gid": u.GID, "resource_type": "user", "name": u.Name})
				names = append(names, u.Name)
			}
		}
		o["people_value"], display = l, strings.Join(names, ", ")
	}
	if display == "" {
		o["display_value"] = nil
	} else {
		o["display_value"] = display
	}
	return o
}

func (s *Server) taskJSON(t *Task) obj {
	var assignee any
	if t.Assignee != "" {
		assignee = s.userJSON(t.Assignee)
	}
	var due any
	if t.DueOn != "" {
		due = t.DueOn
	}
	var completedAt any
	if t.Completed {
		completedAt = stamp(t.CompletedAt)
	}
	var parent any
	if p := s.tasks[t.Parent]; p != nil {
		parent = obj{"gid": p.GID, "resource_type": "task", "name": p.Name, "resource_subtype": "default_task"}
	}
	var external any
	if t.ExternalGID != "" || t.ExternalData != "" {
		external = obj{"gid": t.ExternalGID, "data": t.ExternalData}
	}
	tags := []obj{}
	for _, g := range t.Tags {
		tags = append(tags, s.tagJSON(s.tags[g]))
	}
	projects := []obj{}
	memberships := []obj{}
	for _, m := range t.Memberships {
		p := s.projects[m.Project]
		projects = append(projects, s.projectJSON(p))
		mo := obj{"project": s.projectJSON(p)}
		if sec := s.sections[m.Section]; sec != nil {
			mo["section"] = s.sectionJSON(sec)
		}
		memberships = append(memberships, mo)
	}
	// custom_fields lists every field of the task's projects, set or not.
	cfs := []obj{}
	seen := map[string]bool{}
	for _, m := range t.Memberships {
		for _, fg := range s.projects[m.Project].Fields {
			if !seen[fg] {
				seen[fg] = true
				cfs = append(cfs, s.valueJSON(s.fields[fg], t.CustomValues[fg]))
			}
		}
	}
	subtasks := s.subtaskCounts()[t.GID]
	return obj{
		"gid": t.GID, "resource_type": "task", "resource_subtype": "default_task", "name": t.Name,
		"notes": markup.AsanaPlainText(t.HTMLNotes), "html_notes": t.HTMLNotes, "completed": t.Completed, "completed_at": completedAt,
		"assignee": assignee, "due_on": due, "due_at": nil, "start_on": nil, "tags": tags, "projects": projects,
		"memberships": memberships, "parent": parent, "custom_fields": cfs, "external": external,
		"created_at": stamp(t.CreatedAt), "modified_at": stamp(t.ModifiedAt), "num_subtasks": subtasks,
		"workspace": s.workspaceJSON(), "permalink_url": s.srv.URL + "/0/0/" + t.GID,
	}
}

func (s *Server) storyJSON(st *Story) obj {
	typ := "system"
	if st.Subtype == "comment_added" {
		typ = "comment"
	}
	html := st.HTMLText
	if html == "" {
		html = escapeText(st.Text)
	}
	t := s.tasks[st.Task]
	return obj{"gid": st.GID, "resource_type": "story", "resource_subtype": st.Subtype, "type": typ,
		"text": st.Text, "html_text": html, "created_at": stamp(st.CreatedAt), "created_by": s.userJSON(st.CreatedBy),
		"is_edited": st.Edited, "is_pinned": false,
		"target": obj{"gid": t.GID, "resource_type": "task", "name": t.Name}}
}

// errorBody is Asana's error shape.
func errorBody(msg string) []byte {
	b, _ := json.Marshal(obj{"errors": []obj{{"message": msg,
		"help": "For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors"}}})
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// subtaskCounts counts live subtasks by parent, recomputed after writes.
func (s *Server) subtaskCounts() map[string]int {
	if s.children == nil || s.childrenAt != s.writesSeen {
		s.children = map[string]int{}
		for _, g := range s.taskOrder {
			if c := s.tasks[g]; c.Parent != "" && !c.Deleted {
				s.children[c.Parent]++
			}
		}
		s.childrenAt = s.writesSeen
	}
	return s.children
}
