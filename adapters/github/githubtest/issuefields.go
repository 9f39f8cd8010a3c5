package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Issue fields, as organizations define them (GET /orgs/{org}/issue-fields)
// and issues carry them: an issue of an owner with fields has
// issue_field_values in its JSON (a single-select's value is its option's
// id, with the option beside it), and POST
// /repos/{o}/{r}/issues/{n}/issue-field-values sets some (by field id; a
// single select by option name), answering with all of the issue's
// values. Setting a value moves the issue's updated_at, as any edit.

// IssueField is an organization's issue field.
type IssueField struct {
	ID       int64
	Org      string
	Name     string
	DataType string   // text, date, single_select, multi_select, number
	Options  []string // single and multi select
}

// optionID is the id of the field's option named name, 0 for none.
func (f *IssueField) optionID(name string) int64 {
	for i, o := range f.Options {
		if strings.EqualFold(o, name) {
			return f.ID*100 + int64(i) + 1
		}
	}
	return 0
}

// AddIssueField defines an issue field for the organization org.
func (s *Server) AddIssueField(org, name, dataType string, options ...string) IssueField {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	f := &IssueField{ID: 7000 + s.nextID, Org: org, Name: name, DataType: dataType, Options: options}
	s.issueFields = append(s.issueFields, f)
	return *f
}

// orgField is org's field id, nil for none.
func (s *Server) orgField(org string, id int64) *IssueField {
	for _, f := range s.issueFields {
		if f.ID == id && strings.EqualFold(f.Org, org) {
			return f
		}
	}
	return nil
}

// orgFields are org's fields.
func (s *Server) orgFields(org string) []*IssueField {
	var out []*IssueField
	for _, f := range s.issueFields {
		if strings.EqualFold(f.Org, org) {
			out = append(out, f)
		}
	}
	return out
}

// SetIssueFieldValue sets an issue's value of its owner's field named
// field as a person would in the UI ("" clears it).
func (s *Server) SetIssueFieldValue(repoName string, number int, field, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issue(repoName, number)
	if is == nil {
		return fmt.Errorf("githubtest: no issue %s#%d", repoName, number)
	}
	owner, _, _ := strings.Cut(repoName, "/")
	for _, f := range s.orgFields(owner) {
		if strings.EqualFold(f.Name, field) {
			if value != "" && f.DataType == "single_select" && f.optionID(value) == 0 {
				return fmt.Errorf("githubtest: field %s has no option %q", field, value)
			}
			setFieldValue(is, f, value)
			is.UpdatedAt = s.now()
			return nil
		}
	}
	return fmt.Errorf("githubtest: %s has no issue field %q", owner, field)
}

// IssueFieldValue is an issue's value of the field named field ("" for
// none).
func (s *Server) IssueFieldValue(repoName string, number int, field string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issue(repoName, number)
	if is == nil {
		return ""
	}
	owner, _, _ := strings.Cut(repoName, "/")
	for _, f := range s.orgFields(owner) {
		if strings.EqualFold(f.Name, field) {
			return is.FieldValues[f.ID]
		}
	}
	return ""
}

func setFieldValue(is *Issue, f *IssueField, value string) {
	if value == "" {
		delete(is.FieldValues, f.ID)
		return
	}
	if is.FieldValues == nil {
		is.FieldValues = map[int64]string{}
	}
	if i := f.optionID(value); i != 0 {
		value = f.Options[i-f.ID*100-1] // spelt as defined
	}
	is.FieldValues[f.ID] = value
}

func issueFieldJSON(f *IssueField) obj {
	out := obj{"id": f.ID, "node_id": nodeID("IssueField", f.ID), "name": f.Name, "description": nil, "data_type": f.DataType,
		"visibility": "organization_members_only", "created_at": "2026-01-05T10:00:00Z", "updated_at": "2026-01-05T10:00:00Z"}
	if f.DataType == "single_select" || f.DataType == "multi_select" {
		opts := []obj{}
		for i, o := range f.Options {
			opts = append(opts, obj{"id": f.ID*100 + int64(i) + 1, "name": o, "description": nil, "color": "gray", "priority": i + 1})
		}
		out["options"] = opts
	}
	return out
}

// issueFieldValuesJSON are an issue's values, in field order.
func (s *Server) issueFieldValuesJSON(owner string, is *Issue) []obj {
	out := []obj{}
	for _, f := range s.orgFields(owner) {
		v, ok := is.FieldValues[f.ID]
		if !ok {
			continue
		}
		val := obj{"issue_field_id": f.ID, "issue_field_name": f.Name, "node_id": nodeID("IssueFieldValue", f.ID*1_000_000+is.ID), "data_type": f.DataType}
		switch f.DataType {
		case "single_select":
			id := f.optionID(v)
			val["value"] = id
			val["single_select_option"] = obj{"id": id, "name": v, "color": "gray"}
		case "number":
			n, _ := strconv.ParseFloat(v, 64)
			val["value"] = n
		default:
			val["value"] = v
		}
		out = append(out, val)
	}
	return out
}

// issueFieldsJSON adds issue_field_values to an issue's JSON where its
// owner has issue fields.
func (s *Server) issueFieldsJSON(r *repo, is *Issue, out obj) {
	if is.PullRequest || len(s.orgFields(r.owner)) == 0 {
		return
	}
	out["issue_field_values"] = s.issueFieldValuesJSON(r.owner, is)
}

// listIssueFields answers GET /orgs/{org}/issue-fields.
func (s *Server) listIssueFields(org string) response {
	known := false
	for _, r := range s.repos {
		known = known || strings.EqualFold(r.owner, org)
	}
	if !known {
		return notFound()
	}
	all := []obj{}
	for _, f := range s.orgFields(org) {
		all = append(all, issueFieldJSON(f))
	}
	return reply(http.StatusOK, all)
}

// addIssueFieldValues answers POST .../issues/{n}/issue-field-values.
func (s *Server) addIssueFieldValues(r *repo, is *Issue, body []byte) response {
	var in struct {
		Values *[]struct {
			FieldID *int64          `json:"field_id"`
			Value   json.RawMessage `json:"value"`
		} `json:"issue_field_values"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Values == nil {
		return invalid("IssueFieldValue", "issue_field_values", "missing_field", nil)
	}
	if len(*in.Values) > 25 {
		return invalid("IssueFieldValue", "issue_field_values", "invalid", len(*in.Values))
	}
	type set struct {
		f *IssueField
		v string
	}
	var sets []set
	for _, v := range *in.Values {
		if v.FieldID == nil || len(v.Value) == 0 {
			return invalid("IssueFieldValue", "field_id", "missing_field", nil)
		}
		f := s.orgField(r.owner, *v.FieldID)
		if f == nil {
			return invalid("IssueFieldValue", "field_id", "invalid", *v.FieldID)
		}
		var str string
		var num float64
		switch {
		case f.DataType == "number" && json.Unmarshal(v.Value, &num) == nil:
			str = strconv.FormatFloat(num, 'f', -1, 64)
		case f.DataType != "number" && f.DataType != "multi_select" && json.Unmarshal(v.Value, &str) == nil:
		default:
			return invalid("IssueFieldValue", "value", "invalid", string(v.Value))
		}
		switch f.DataType {
		case "single_select":
			if f.optionID(str) == 0 {
				return invalid("IssueFieldValue", "value", "invalid", str)
			}
		case "date":
			if _, err := time.Parse(time.DateOnly, str); err != nil {
				return invalid("IssueFieldValue", "value", "invalid", str)
			}
		}
		sets = append(sets, set{f, str})
	}
	for _, x := range sets {
		setFieldValue(is, x.f, x.v)
	}
	is.UpdatedAt = s.now()
	return reply(http.StatusOK, s.issueFieldValuesJSON(r.owner, is))
}
