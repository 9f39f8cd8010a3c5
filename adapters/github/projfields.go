package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shurcooL/githubv4"

	"github.com/tracksync/tracksync/adapters"
)

// Other fields of the status project: date, number, text, single-select
// and iteration fields named in ProjectOptions.Fields are custom fields
// (custom:<field name>), DueField is the item's due date and
// PriorityField its priority. Their ids, options and iterations are read
// with the project's (meta) and cached; an item's values come in the same
// queries that read its status (fieldValues beside fieldValueByName), so
// they cost no extra point: GitHub charges a query the requests its
// connections need over 100, and 100 items with their values are 101
// requests (one for the items, one per item's values), 1 point. A changed
// value is written as one updateProjectV2ItemFieldValue
// (clearProjectV2ItemFieldValue for none) per field. Values are read and
// written as strings: a date as YYYY-MM-DD, a number as Go formats a
// float64 (5, 2.5), an option by name, an iteration by title, text as it
// is. Editing a field on the board, like moving a card, changes no issue:
// the listing's snapshot of the board holds a hash of the values too.

// projFieldKinds are the field types (GitHub's ProjectV2FieldType) whose
// values can be synced.
var projFieldKinds = []string{"DATE", "NUMBER", "TEXT", "SINGLE_SELECT", "ITERATION"}

// projField is one synced field of the project.
type projField struct {
	id, name string
	kind     string       // GitHub's dataType: DATE, NUMBER, ...
	options  []projOption // a single-select's options, an iteration field's iterations (name: title)
}

// fieldNode is one of ProjectV2.fields.
type fieldNode struct {
	Common struct {
		ID       string
		Name     string
		DataType string
	} `graphql:"... on ProjectV2FieldCommon"`
	Select struct {
		Options []struct{ ID, Name string }
	} `graphql:"... on ProjectV2SingleSelectField"`
	Iteration struct {
		Configuration struct {
			Iterations          []struct{ ID, Title string }
			CompletedIterations []struct{ ID, Title string }
		}
	} `graphql:"... on ProjectV2IterationField"`
}

// fieldValueNode is one of ProjectV2Item.fieldValues. Values of fields
// tracksync does not read (labels, assignees, repository) come with only
// their __typename.
type fieldValueNode struct {
	Typename string `graphql:"__typename"`
	Common   struct {
		Field struct {
			Common struct{ Name string } `graphql:"... on ProjectV2FieldCommon"`
		}
	} `graphql:"... on ProjectV2ItemFieldValueCommon"`
	Date struct {
		Date string
	} `graphql:"... on ProjectV2ItemFieldDateValue"`
	Number struct {
		Number float64
	} `graphql:"... on ProjectV2ItemFieldNumberValue"`
	Text struct {
		Text string
	} `graphql:"... on ProjectV2ItemFieldTextValue"`
	Select struct {
		Name     string
		OptionID string
	} `graphql:"... on ProjectV2ItemFieldSingleSelectValue"`
	Iteration struct {
		Title       string
		IterationID string
	} `graphql:"... on ProjectV2ItemFieldIterationValue"`
}

// fieldValues is ProjectV2Item.fieldValues: one page of 100 holds every
// value (a project has at most 50 custom fields besides GitHub's own),
// and its size does not change the cost: each item's list is one request
// whatever its first:.
type fieldValues struct {
	Nodes []fieldValueNode
}

// syncedFields are the fields read and written besides the status, in
// order: Fields, then DueField and PriorityField.
func (o *ProjectOptions) syncedFields() []string {
	out := slices.Clone(o.Fields)
	for _, f := range []string{o.DueField, o.PriorityField} {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// describeFields are the project's fields for Describe: Sync names the
// synced ones as flows map them.
func (p *project) describeFields() []adapters.FieldDescription {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []adapters.FieldDescription
	for _, f := range p.all {
		fd := adapters.FieldDescription{ID: f.id, Name: f.name, Type: strings.ToLower(f.kind), Custom: true}
		switch {
		case f.id == p.fieldID:
			fd.Sync = adapters.FieldStatus
		case f.name == p.opts.DueField:
			fd.Sync = adapters.FieldDue
		case f.name == p.opts.PriorityField:
			fd.Sync = adapters.FieldPriority
		case slices.Contains(p.opts.Fields, f.name):
			fd.Sync = adapters.CustomPrefix + f.name
		}
		out = append(out, fd)
	}
	return out
}

// readsValues says the item queries read the items' field values: only
// when a field besides the status is synced (@include(if: $values)), so a
// status-only board's answers stay as small as they were.
func (p *project) readsValues() bool { return len(p.opts.syncedFields()) > 0 }

// fieldCaps are the adapters field names the project adds.
func (p *project) fieldCaps() []string {
	var out []string
	if p.opts.PriorityField != "" {
		out = append(out, adapters.FieldPriority)
	}
	if p.opts.DueField != "" {
		out = append(out, adapters.FieldDue)
	}
	for _, f := range p.opts.Fields {
		out = append(out, adapters.CustomPrefix+f)
	}
	return out
}

// projectFieldOf is the project field that adapters field f is written
// to, or "" when f is not one.
func (p *project) projectFieldOf(f string) string {
	switch f {
	case adapters.FieldDue:
		return p.opts.DueField
	case adapters.FieldPriority:
		return p.opts.PriorityField
	}
	if name, ok := strings.CutPrefix(f, adapters.CustomPrefix); ok && slices.Contains(p.opts.Fields, name) {
		return name
	}
	return ""
}

// wanted are the values it holds for the synced project fields named
// (by adapters field name) in fields.
func (p *project) wanted(it adapters.Item, fields []string) map[string]string {
	out := map[string]string{}
	for _, f := range fields {
		name := p.projectFieldOf(f)
		if name == "" {
			continue
		}
		switch f {
		case adapters.FieldDue:
			out[name] = it.Due
		case adapters.FieldPriority:
			out[name] = it.Priority
		default:
			out[name] = it.Fields[name]
		}
	}
	return out
}

// resolveFields checks the synced fields against the project's fields
// and returns them by name; what = "project owner/n".
func (p *project) resolveFields(nodes []fieldNode, what string) (map[string]projField, error) {
	var names []string
	for _, n := range nodes {
		names = append(names, n.Common.Name)
	}
	find := func(name string) (fieldNode, bool) {
		for _, n := range nodes {
			if n.Common.Name == name {
				return n, true
			}
		}
		for _, n := range nodes {
			if strings.EqualFold(n.Common.Name, name) {
				return n, true
			}
		}
		return fieldNode{}, false
	}
	out := map[string]projField{}
	for _, name := range p.opts.syncedFields() {
		key, want := "project.fields", projFieldKinds
		switch name {
		case p.opts.DueField:
			key, want = "project.due_field", []string{"DATE"}
		case p.opts.PriorityField:
			key, want = "project.priority_field", []string{"SINGLE_SELECT"}
		}
		n, ok := find(name)
		if !ok {
			return nil, fmt.Errorf("github: %s has no field %q (%s; its fields: %s): %w",
				what, name, key, strings.Join(names, ", "), adapters.Permanent(adapters.ErrInvalid))
		}
		if !slices.Contains(want, n.Common.DataType) {
			return nil, fmt.Errorf("github: field %q of %s is of type %s; %s takes %s: %w",
				name, what, n.Common.DataType, key, strings.Join(want, ", "), adapters.Permanent(adapters.ErrInvalid))
		}
		f := projField{id: n.Common.ID, name: name, kind: n.Common.DataType}
		for _, o := range n.Select.Options {
			f.options = append(f.options, projOption{id: o.ID, name: o.Name})
		}
		c := n.Iteration.Configuration
		for _, it := range append(slices.Clone(c.Iterations), c.CompletedIterations...) {
			f.options = append(f.options, projOption{id: it.ID, name: it.Title})
		}
		out[name] = f
	}
	return out, nil
}

// valuesOf are the synced fields' values among an item's field values.
func (p *project) valuesOf(fv fieldValues) map[string]string {
	synced := p.opts.syncedFields()
	if len(synced) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, n := range fv.Nodes {
		name := n.Common.Field.Common.Name
		if i := slices.IndexFunc(synced, func(s string) bool { return strings.EqualFold(s, name) }); i >= 0 {
			name = synced[i]
		} else {
			continue
		}
		var v string
		switch n.Typename {
		case "ProjectV2ItemFieldDateValue":
			v = n.Date.Date
			if len(v) > len(time.DateOnly) {
				v = v[:len(time.DateOnly)]
			}
		case "ProjectV2ItemFieldNumberValue":
			v = strconv.FormatFloat(n.Number.Number, 'f', -1, 64)
		case "ProjectV2ItemFieldTextValue":
			v = n.Text.Text
		case "ProjectV2ItemFieldSingleSelectValue":
			v = n.Select.Name
		case "ProjectV2ItemFieldIterationValue":
			v = n.Iteration.Title
		default:
			continue
		}
		if v != "" {
			out[name] = v
		}
	}
	return out
}

// sig is what an issue's listing snapshot holds for its card: the option
// alone when no other field is synced (as cursors always held), else the
// option and a hash of the values, so editing any synced field lists the
// issue again.
func (p *project) sig(e projEntry) string {
	if len(p.opts.syncedFields()) == 0 {
		return e.option
	}
	return e.option + "\x1f" + valuesHash(e.values)
}

func valuesHash(v map[string]string) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(v)) {
		fmt.Fprintf(h, "%s\x00%s\x00", k, v[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// applyFields sets it's synced fields from entry e's values.
func (p *project) applyFields(it *adapters.Item, e projEntry) {
	if f := p.opts.DueField; f != "" {
		it.Due = e.values[f]
	}
	if f := p.opts.PriorityField; f != "" {
		it.Priority = e.values[f]
	}
	for _, f := range p.opts.Fields {
		if v := e.values[f]; v != "" {
			if it.Fields == nil {
				it.Fields = map[string]string{}
			}
			it.Fields[f] = v
		}
	}
}

// fieldValue is value as field f takes it: the ProjectV2FieldValue
// member to send, and the value as it will read back (a number or a date
// in its canonical form).
func (f projField) fieldValue(value string) (projFieldValue, string, error) {
	var v projFieldValue
	switch f.kind {
	case "DATE":
		d, err := time.Parse(time.DateOnly, strings.TrimSpace(value))
		if err != nil {
			return v, "", fmt.Errorf("%q is not a date (YYYY-MM-DD)", value)
		}
		value = d.Format(time.DateOnly)
		v.Date = githubv4.NewString(githubv4.String(value))
	case "NUMBER":
		n, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return v, "", fmt.Errorf("%q is not a number", value)
		}
		value = strconv.FormatFloat(n, 'f', -1, 64)
		v.Number = githubv4.NewFloat(githubv4.Float(n))
	case "TEXT":
		v.Text = githubv4.NewString(githubv4.String(value))
	case "SINGLE_SELECT", "ITERATION":
		var names []string
		for _, o := range f.options {
			if o.name == value {
				if f.kind == "ITERATION" {
					v.IterationID = githubv4.NewString(githubv4.String(o.id))
				} else {
					v.SingleSelectOptionID = githubv4.NewString(githubv4.String(o.id))
				}
				return v, value, nil
			}
			names = append(names, o.name)
		}
		what := "an option"
		if f.kind == "ITERATION" {
			what = "an iteration"
		}
		return v, "", fmt.Errorf("%q is not %s of the field (%q)", value, what, names)
	default:
		return v, "", fmt.Errorf("fields of type %s cannot be written", f.kind)
	}
	return v, value, nil
}

// projFieldValue is GitHub's ProjectV2FieldValue input with the date as
// the ISO 8601 date GitHub's Date scalar is, where githubv4.Date would
// send a timestamp.
type projFieldValue struct {
	Text                 *githubv4.String `json:"text,omitempty"`
	Number               *githubv4.Float  `json:"number,omitempty"`
	Date                 *githubv4.String `json:"date,omitempty"`
	SingleSelectOptionID *githubv4.String `json:"singleSelectOptionId,omitempty"`
	IterationID          *githubv4.String `json:"iterationId,omitempty"`
}

// setFields writes want (field name -> value, "" for none) to issue n of
// repo's card: one mutation per value that differs from the cached entry
// e, adding the issue to the project first when it is not there. It
// returns whether anything was written.
func (t *Tracker) setFields(ctx context.Context, repo string, n int, e projEntry, want map[string]string) (bool, error) {
	id := issueID(repo, n)
	p := t.proj
	p.mu.Lock()
	pid, fields := p.id, p.fields
	p.mu.Unlock()
	what := fmt.Sprintf("project %s/%d", p.opts.Owner, p.opts.Number)
	type write struct {
		f     projField
		value string
		in    projFieldValue
	}
	var writes []write
	for _, name := range slices.Sorted(maps.Keys(want)) {
		f, ok := fields[name]
		if !ok {
			return false, fmt.Errorf("github: %s: field %q is not read: %w", what, name, adapters.ErrUnsupported)
		}
		w := write{f: f, value: want[name]}
		if w.value != "" {
			in, v, err := f.fieldValue(w.value)
			if err != nil {
				return false, fmt.Errorf("github: %s field %q of %s: %w", what, name, id, adapters.Permanent(fmt.Errorf("%w: %w", err, adapters.ErrInvalid)))
			}
			w.in, w.value = in, v
		}
		if w.value == e.values[name] {
			continue
		}
		writes = append(writes, w)
	}
	if len(writes) == 0 {
		return false, nil
	}
	if e.item == "" {
		if slices.IndexFunc(writes, func(w write) bool { return w.value != "" }) < 0 {
			return false, nil // only clearing, and off the board there is nothing to clear
		}
		item, err := t.addToProject(ctx, id, pid, e.issue)
		if err != nil {
			return false, err
		}
		e.item = item
	}
	values := maps.Clone(e.values)
	if values == nil {
		values = map[string]string{}
	}
	for _, w := range writes {
		op := fmt.Sprintf("setting field %q of %s to %q", w.f.name, id, w.value)
		if w.value == "" {
			var m struct {
				ClearProjectV2ItemFieldValue struct {
					ProjectV2Item struct{ ID string } `graphql:"projectV2Item"`
				} `graphql:"clearProjectV2ItemFieldValue(input: $input)"`
			}
			in := githubv4.ClearProjectV2ItemFieldValueInput{ProjectID: githubv4.ID(pid), ItemID: githubv4.ID(e.item), FieldID: githubv4.ID(w.f.id)}
			if err := t.mutate(ctx, fmt.Sprintf("clearing field %q of %s", w.f.name, id), &m, in); err != nil {
				return true, err
			}
			delete(values, w.f.name)
		} else {
			// Named as GitHub's input type: githubv4 declares $input
			// with the Go type's name.
			type UpdateProjectV2ItemFieldValueInput struct {
				ProjectID githubv4.ID    `json:"projectId"`
				ItemID    githubv4.ID    `json:"itemId"`
				FieldID   githubv4.ID    `json:"fieldId"`
				Value     projFieldValue `json:"value"`
			}
			var m struct {
				UpdateProjectV2ItemFieldValue struct {
					ProjectV2Item struct{ ID string } `graphql:"projectV2Item"`
				} `graphql:"updateProjectV2ItemFieldValue(input: $input)"`
			}
			in := UpdateProjectV2ItemFieldValueInput{ProjectID: githubv4.ID(pid), ItemID: githubv4.ID(e.item), FieldID: githubv4.ID(w.f.id), Value: w.in}
			if err := t.mutate(ctx, op, &m, in); err != nil {
				return true, err
			}
			values[w.f.name] = w.value
		}
		p.mu.Lock()
		p.points++ // a mutation costs one point
		e.values, e.updated = maps.Clone(values), t.now()
		p.entries[id] = e
		p.mu.Unlock()
	}
	return true, nil
}
