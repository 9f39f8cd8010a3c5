package githubtest

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A project's fields besides its status field, as GitHub's GraphQL schema
// has them: ProjectV2Field (DATE, NUMBER, TEXT), ProjectV2SingleSelectField
// and ProjectV2IterationField, listed by ProjectV2.fields; an item's values
// are ProjectV2ItemFieldDateValue { date }, ...NumberValue { number },
// ...TextValue { text }, ...SingleSelectValue { name optionId } and
// ...IterationValue { title iterationId }, listed by
// ProjectV2Item.fieldValues, each with field { ... on ProjectV2FieldCommon
// { name } } through the ProjectV2ItemFieldValueCommon interface. Every
// project also has GitHub's built-in Title field (TITLE, its value a text
// value holding the issue's title) and Repository field (its value a
// ProjectV2ItemFieldRepositoryValue), which the fake lists too.

// The field types (GitHub's ProjectV2FieldType) the fake holds values of.
const (
	FieldDate         = "DATE"
	FieldNumber       = "NUMBER"
	FieldText         = "TEXT"
	FieldSingleSelect = "SINGLE_SELECT"
	FieldIteration    = "ITERATION"
)

// ProjectField is one field of a project besides its status field.
type ProjectField struct {
	Name string
	// Type is FieldDate, FieldNumber, FieldText, FieldSingleSelect or
	// FieldIteration.
	Type string
	// Options are a single-select field's options.
	Options []string
	// Iterations are an iteration field's iterations, by title; those
	// Completed are listed as completedIterations.
	Iterations []Iteration
	id         int64
}

// Iteration is one iteration of an iteration field.
type Iteration struct {
	Title     string
	StartDate string // YYYY-MM-DD
	Duration  int    // days
	Completed bool
}

// FieldWrite is one field value the GraphQL API was asked to write
// (updateProjectV2ItemFieldValue) or clear (clearProjectV2ItemFieldValue).
type FieldWrite struct {
	Issue string // "owner/repo#n"
	Field string // the field's name
	// Kind is the ProjectV2FieldValue member sent (date, number, text,
	// singleSelectOptionId, iterationId), or "clear".
	Kind  string
	Value string // as sent (an option's or iteration's id for those)
}

func (f *ProjectField) nodeKind() string {
	switch f.Type {
	case FieldSingleSelect:
		return "ProjectV2SingleSelectField"
	case FieldIteration:
		return "ProjectV2IterationField"
	}
	return "ProjectV2Field"
}

// iterationID is an iteration's id: GitHub's are short hex strings too.
func iterationID(title string) string { return optionID("iteration\x00" + title) }

// AddProjectField adds field f to project number of owner.
func (s *Server) AddProjectField(owner string, number int, f ProjectField) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(owner, number)
	if p == nil {
		return fmt.Errorf("githubtest: no project %s/%d", owner, number)
	}
	switch f.Type {
	case FieldDate, FieldNumber, FieldText, FieldSingleSelect, FieldIteration:
	default:
		return fmt.Errorf("githubtest: field type %q is not one the fake holds", f.Type)
	}
	if strings.EqualFold(f.Name, p.Field) || strings.EqualFold(f.Name, "Title") || p.fieldNamed(f.Name) != nil {
		return fmt.Errorf("githubtest: project %s/%d already has a field %q", owner, number, f.Name)
	}
	f.Options, f.Iterations = slices.Clone(f.Options), slices.Clone(f.Iterations)
	f.id = s.id()
	p.fields = append(p.fields, &f)
	return nil
}

func (p *Project) fieldNamed(name string) *ProjectField {
	for _, f := range p.fields {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

// canonical checks value against f's type and returns it as the fake
// stores it: a date as YYYY-MM-DD, a number as Go formats a float64, an
// option or iteration by its name or title.
func (f *ProjectField) canonical(value string) (string, error) {
	switch f.Type {
	case FieldDate:
		d, err := parseDate(value)
		if err != nil {
			return "", err
		}
		return d, nil
	case FieldNumber:
		n, err := strconv.ParseFloat(value, 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return "", fmt.Errorf("%q is not a number", value)
		}
		return strconv.FormatFloat(n, 'f', -1, 64), nil
	case FieldSingleSelect:
		if !slices.Contains(f.Options, value) {
			return "", fmt.Errorf("%q is not an option of %q", value, f.Name)
		}
	case FieldIteration:
		if !slices.ContainsFunc(f.Iterations, func(it Iteration) bool { return it.Title == value }) {
			return "", fmt.Errorf("%q is not an iteration of %q", value, f.Name)
		}
	}
	return value, nil
}

// parseDate reads GitHub's Date scalar: an ISO 8601 date, or a timestamp
// whose date part is taken.
func parseDate(v string) (string, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.Format(time.DateOnly), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.Format(time.DateOnly), nil
	}
	return "", fmt.Errorf("%q is not an ISO 8601 date", v)
}

// SetCardField sets field of issue ("owner/repo#n") in project number of
// owner to value ("" clears it) as a person editing the board would,
// adding the issue to the project when missing. Values are as the
// adapter reads them: YYYY-MM-DD, a number, the text, an option's name,
// an iteration's title. The issue does not change.
func (s *Server) SetCardField(owner string, number int, issue, field, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.project(owner, number)
	if p == nil || s.byKey(issue) == nil {
		return fmt.Errorf("githubtest: no project %s/%d or no issue %s", owner, number, issue)
	}
	f := p.fieldNamed(field)
	if f == nil {
		return fmt.Errorf("githubtest: project %s/%d has no field %q", owner, number, field)
	}
	if value != "" {
		v, err := f.canonical(value)
		if err != nil {
			return fmt.Errorf("githubtest: %w", err)
		}
		value = v
	}
	it := p.item(issue)
	if it == nil {
		it = &projectItem{id: s.id(), issue: issue}
		p.items = append(p.items, it)
	}
	it.set(f.Name, value)
	it.updated = s.now()
	return nil
}

func (it *projectItem) set(field, value string) {
	if value == "" {
		delete(it.values, field)
		return
	}
	if it.values == nil {
		it.values = map[string]string{}
	}
	it.values[field] = value
}

// CardField is the value issue has in field of project number of owner
// ("" for none), and whether the issue is in the project.
func (s *Server) CardField(owner string, number int, issue, field string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.project(owner, number); p != nil {
		if it := p.item(issue); it != nil {
			return it.values[field], true
		}
	}
	return "", false
}

// FieldWrites are the field values written through GraphQL since the
// fake started (status writes included), oldest first.
func (s *Server) FieldWrites() []FieldWrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.fieldWrites)
}

// fieldsJSON is ProjectV2.fields: Title, the status field, then the
// others, each with what the adapter selects.
func (s *Server) fieldsJSON(p *Project, q string) obj {
	nodes := []obj{
		{"id": nodeID("ProjectV2Field", p.id*1000), "name": "Title", "dataType": "TITLE"},
	}
	opts := []obj{}
	for _, o := range p.Options {
		opts = append(opts, obj{"id": optionID(o), "name": o})
	}
	nodes = append(nodes, obj{"id": nodeID("ProjectV2SingleSelectField", p.fieldID), "name": p.Field, "dataType": FieldSingleSelect, "options": opts})
	for _, f := range p.fields {
		n := obj{"id": nodeID(f.nodeKind(), f.id), "name": f.Name, "dataType": f.Type}
		switch f.Type {
		case FieldSingleSelect:
			opts := []obj{}
			for _, o := range f.Options {
				opts = append(opts, obj{"id": optionID(o), "name": o})
			}
			n["options"] = opts
		case FieldIteration:
			open, done := []obj{}, []obj{}
			for _, it := range f.Iterations {
				o := obj{"id": iterationID(it.Title), "title": it.Title}
				if strings.Contains(q, "startDate") {
					o["startDate"], o["duration"] = it.StartDate, it.Duration
				}
				if it.Completed {
					done = append(done, o)
				} else {
					open = append(open, o)
				}
			}
			n["configuration"] = obj{"iterations": open, "completedIterations": done}
		}
		nodes = append(nodes, n)
	}
	return obj{"nodes": nodes}
}

// fieldValuesJSON is ProjectV2Item.fieldValues: the title, the repository,
// the status when set and every other value the item holds.
func (s *Server) fieldValuesJSON(p *Project, it *projectItem) obj {
	field := func(name string) obj { return obj{"name": name} }
	nodes := []obj{}
	if is := s.byKey(it.issue); is != nil {
		nodes = append(nodes, obj{"__typename": "ProjectV2ItemFieldTextValue", "field": field("Title"), "text": is.Title})
	}
	nodes = append(nodes, obj{"__typename": "ProjectV2ItemFieldRepositoryValue"})
	if it.option != "" {
		nodes = append(nodes, obj{"__typename": "ProjectV2ItemFieldSingleSelectValue", "field": field(p.Field), "name": it.option, "optionId": optionID(it.option)})
	}
	for _, f := range p.fields {
		v, ok := it.values[f.Name]
		if !ok {
			continue
		}
		n := obj{"field": field(f.Name)}
		switch f.Type {
		case FieldDate:
			n["__typename"], n["date"] = "ProjectV2ItemFieldDateValue", v
		case FieldNumber:
			x, _ := strconv.ParseFloat(v, 64)
			n["__typename"], n["number"] = "ProjectV2ItemFieldNumberValue", x
		case FieldText:
			n["__typename"], n["text"] = "ProjectV2ItemFieldTextValue", v
		case FieldSingleSelect:
			n["__typename"], n["name"], n["optionId"] = "ProjectV2ItemFieldSingleSelectValue", v, optionID(v)
		case FieldIteration:
			n["__typename"], n["title"], n["iterationId"] = "ProjectV2ItemFieldIterationValue", v, iterationID(v)
		}
		nodes = append(nodes, n)
	}
	return obj{"nodes": nodes}
}

// writeField applies updateProjectV2ItemFieldValue's value (exactly one
// member, the one the field's type takes) to it, or clears the field when
// value is nil; the error is a GraphQL error body.
func (s *Server) writeField(p *Project, it *projectItem, fieldID string, value map[string]any, clear bool) obj {
	w := FieldWrite{Issue: it.issue, Kind: "clear"}
	if fieldID == nodeID("ProjectV2SingleSelectField", p.fieldID) {
		w.Field = p.Field
		if clear {
			it.option = ""
		} else {
			want := str(value["singleSelectOptionId"])
			if len(value) != 1 || want == "" {
				return gqlError("", "The field of type single_select takes a singleSelectOptionId")
			}
			i := slices.IndexFunc(p.Options, func(o string) bool { return optionID(o) == want })
			if i < 0 {
				return gqlError("", "The single select option Id does not belong to the field")
			}
			w.Kind, w.Value, it.option = "singleSelectOptionId", want, p.Options[i]
		}
		it.updated = s.now()
		s.fieldWrites = append(s.fieldWrites, w)
		return nil
	}
	var f *ProjectField
	for _, x := range p.fields {
		if nodeID(x.nodeKind(), x.id) == fieldID {
			f = x
		}
	}
	if f == nil {
		return gqlError("NOT_FOUND", "Could not resolve to a node with the global id of '"+fieldID+"'")
	}
	w.Field = f.Name
	if clear {
		it.set(f.Name, "")
		it.updated = s.now()
		s.fieldWrites = append(s.fieldWrites, w)
		return nil
	}
	kind := map[string]string{FieldDate: "date", FieldNumber: "number", FieldText: "text", FieldSingleSelect: "singleSelectOptionId", FieldIteration: "iterationId"}[f.Type]
	raw, ok := value[kind]
	if len(value) != 1 || !ok || raw == nil {
		return gqlError("", fmt.Sprintf("The field %q of type %s takes a value of kind %s", f.Name, strings.ToLower(f.Type), kind))
	}
	var v string
	switch f.Type {
	case FieldNumber:
		x, isNum := raw.(float64)
		if !isNum {
			return gqlError("", fmt.Sprintf("Variable $input of type UpdateProjectV2ItemFieldValueInput! was provided invalid value for value.number (Could not coerce value %v to Float)", raw))
		}
		v = strconv.FormatFloat(x, 'f', -1, 64)
	case FieldSingleSelect:
		i := slices.IndexFunc(f.Options, func(o string) bool { return optionID(o) == str(raw) })
		if i < 0 {
			return gqlError("", "The single select option Id does not belong to the field")
		}
		v = f.Options[i]
	case FieldIteration:
		i := slices.IndexFunc(f.Iterations, func(x Iteration) bool { return iterationID(x.Title) == str(raw) })
		if i < 0 {
			return gqlError("", "The iteration Id does not belong to the field")
		}
		v = f.Iterations[i].Title
	default:
		txt, isStr := raw.(string)
		if !isStr {
			return gqlError("", fmt.Sprintf("Variable $input of type UpdateProjectV2ItemFieldValueInput! was provided invalid value for value.%s", kind))
		}
		v = txt
		if f.Type == FieldDate {
			d, err := parseDate(txt)
			if err != nil {
				return gqlError("", "Variable $input of type UpdateProjectV2ItemFieldValueInput! was provided invalid value for value.date ("+err.Error()+")")
			}
			v = d
		}
	}
	w.Kind, w.Value = kind, str(raw)
	it.set(f.Name, v)
	it.updated = s.now()
	s.fieldWrites = append(s.fieldWrites, w)
	return nil
}

// selected says whether the query selects the field starting with
// prefix: it is there, without an @include(if: $v) or @skip(if: $v)
// directive that leaves it out.
func selected(q, prefix string, vars map[string]any) bool {
	i := strings.Index(q, prefix)
	if i < 0 {
		return false
	}
	rest := q[i:]
	end := strings.IndexByte(rest, ')')
	if end < 0 {
		return true
	}
	rest = strings.TrimSpace(rest[end+1:])
	for _, d := range []struct {
		name string
		keep bool
	}{{"@include(if:", true}, {"@skip(if:", false}} {
		if !strings.HasPrefix(rest, d.name) {
			continue
		}
		arg := strings.TrimSpace(rest[len(d.name):])
		arg = strings.TrimSpace(arg[:max(0, strings.IndexByte(arg, ')'))])
		on := arg == "true"
		if v, ok := strings.CutPrefix(arg, "$"); ok {
			on, _ = vars[v].(bool)
		}
		return on == d.keep
	}
	return true
}

// queryCost is what GitHub charges a query: the requests needed to fill
// each connection (one per enclosing node, assuming every first: is
// reached), divided by 100 and rounded, at least 1. A mutation costs 1.
func queryCost(q string) int {
	q = strings.TrimSpace(q)
	if strings.HasPrefix(q, "mutation") {
		return 1
	}
	// Skip the operation's variable declarations.
	if strings.HasPrefix(q, "query") {
		if i := strings.IndexByte(q, '{'); i >= 0 {
			q = q[i:]
		}
	}
	requests := 0
	stack := []int{1}
	pending := 0 // a connection's first: seen, its selection not opened yet
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '(':
			end := strings.IndexByte(q[i:], ')')
			if end < 0 {
				return 1
			}
			args := q[i+1 : i+end]
			if n, ok := firstArg(args); ok {
				pending = n
			}
			i += end
		case '{':
			m := stack[len(stack)-1]
			if pending > 0 {
				requests += m
				m *= pending
				pending = 0
			}
			stack = append(stack, m)
		case '}':
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	return max(1, int(math.Round(float64(requests)/100)))
}

// firstArg is the first: or last: argument's value in a field's
// arguments (100, the most, when it is a variable).
func firstArg(args string) (int, bool) {
	for _, a := range strings.Split(args, ",") {
		k, v, ok := strings.Cut(a, ":")
		if !ok {
			continue
		}
		if k = strings.TrimSpace(k); k != "first" && k != "last" {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n, true
		}
		return 100, true
	}
	return 0, false
}
