package mapping

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/sides"
)

// pair is one value map entry. v holds the values as the flow compares
// them (for status: composite with the label); plain and label split a
// status value back into the native status and its label.
type pair struct {
	v     [2]string
	plain [2]string
	label [2]string
}

// valueMap is a compiled value map of one field.
type valueMap struct {
	pairs []pair
	// defaults (status only) per side per category.
	defaults [2]map[adapters.StatusCategory]string
	// statusLabels (status only) per side, sorted.
	statusLabels [2][]string
}

func (m *valueMap) indexLabels() {
	for s := range 2 {
		var l []string
		for _, p := range m.pairs {
			if p.label[s] != "" {
				l = append(l, p.label[s])
			}
		}
		m.statusLabels[s] = adapters.NormalizeList(l)
	}
}

// lookup translates v from the other side into side to. When current is
// already paired with v it is kept, so a many-to-one map does not rewrite
// a value that already means the same.
func (m *valueMap) lookup(to sides.Side, v, current string) (string, bool) {
	t, f := side(to), side(to.Other())
	for _, p := range m.pairs {
		if p.v[f] == v && p.v[t] == current {
			return current, true
		}
	}
	for _, p := range m.pairs {
		if p.v[f] == v {
			return p.v[t], true
		}
	}
	return "", false
}

// composite is how a status that a map pairs with a label reads on that
// side: the status, then the label in brackets.
func composite(status, label string) string {
	if label == "" {
		return status
	}
	return status + " [" + label + "]"
}

// Rule returns the rule of field (ok=false if not synced).
func (f *Flow) Rule(field string) (Rule, bool) {
	r, ok := f.rules[field]
	return r, ok
}

// Writes reports whether field may be written to side to: it is synced and
// its direction allows values to flow toward to. "comments" is answered
// from the flow's comment direction.
func (f *Flow) Writes(field string, to sides.Side) bool {
	if field == FieldComments {
		return f.Comments.Allows(to)
	}
	r, ok := f.rules[field]
	return ok && r.Direction.Allows(to)
}

// StatusLabels returns the labels on side s that stand for a status (the
// a_label or b_label of status map entries), sorted. They are left out of
// label sync both ways: status sync owns them.
func (f *Flow) StatusLabels(s sides.Side) []string {
	return slices.Clone(f.status.statusLabels[side(s)])
}

// Translate converts canonical value v of field from the other side's
// vocabulary into side to's. current is side to's current value: when it
// already means the same as v (a many-to-one status map, the same people
// under other ids) it is returned unchanged so nothing is written.
// Warnings are non-fatal problems to report (an unknown user dropped, a
// status the map lacks), not errors.
func (f *Flow) Translate(field string, to sides.Side, v, current string) (out string, warnings []string) {
	switch field {
	case adapters.FieldStatus:
		return f.translateStatus(to, v, current)
	case adapters.FieldPriority:
		if v == "" {
			return "", nil
		}
		if out, ok := f.priority.lookup(to, v, current); ok {
			return out, nil
		}
		if len(f.priority.pairs) > 0 {
			warnings = append(warnings, fmt.Sprintf("priority %q of %s is not in %s.fields.priority.map: passed through as is", v, f.sides[side(to.Other())].Name, f.Path))
		}
		return v, warnings
	case adapters.FieldType:
		if v == "" {
			return current, nil // an item without a type leaves the other's alone
		}
		if out, ok := f.typ.lookup(to, v, current); ok {
			return out, nil
		}
		if len(f.typ.pairs) > 0 {
			warnings = append(warnings, fmt.Sprintf("type %q of %s is not in %s.fields.type.map: passed through as is", v, f.sides[side(to.Other())].Name, f.Path))
		}
		return v, warnings
	case adapters.FieldLabels:
		return f.translateLabels(to, v, current)
	case adapters.FieldAssignees:
		return f.translateAssignees(to, v, current)
	}
	// title, body, due, parent (tracker:id refs; the engine maps them) and
	// custom fields are the same value on both sides.
	return v, nil
}

// Equivalent reports whether side A's value a and side B's value b of field
// mean the same.
func (f *Flow) Equivalent(field, a, b string) bool {
	out, _ := f.Translate(field, sides.B, a, b)
	return out == b
}

func (f *Flow) translateStatus(to sides.Side, v, current string) (string, []string) {
	if v == "" {
		// Every item has a status; an empty one is nothing to write.
		return current, nil
	}
	st := &f.status
	if out, ok := st.lookup(to, v, current); ok {
		return out, nil
	}
	from := to.Other()
	cat := f.category(from, v)
	if d := st.defaults[side(to)][cat]; d != "" {
		return d, nil
	}
	if caps := f.sides[side(to)].Caps; caps != nil {
		if _, ok := caps.Category(v); ok {
			return v, nil // the target has a status of the same name
		}
		if current != "" && f.category(to, current) == cat {
			return current, nil
		}
		for _, s := range caps.Statuses {
			if s.Category == cat {
				return s.Name, nil
			}
		}
	}
	if len(st.pairs) == 0 && st.defaults[0] == nil && st.defaults[1] == nil {
		// No status map at all: both trackers share status names.
		return v, nil
	}
	return v, []string{fmt.Sprintf("status %q of %s is not in %s.fields.status.map and no default fits: passed through as is", v, f.sides[side(from)].Name, f.Path)}
}

// category is the category of status v on side s: from the tracker's
// workflow when known, else guessed from the name.
func (f *Flow) category(s sides.Side, v string) adapters.StatusCategory {
	plain := v
	for _, p := range f.status.pairs {
		if p.v[side(s)] == v {
			plain = p.plain[side(s)]
			break
		}
	}
	if caps := f.sides[side(s)].Caps; caps != nil {
		if c, ok := caps.Category(plain); ok {
			return c
		}
	}
	return GuessCategory(v)
}

// GuessCategory guesses a status category from its name, for trackers
// whose workflow is not known.
func GuessCategory(status string) adapters.StatusCategory {
	s := strings.ToLower(status)
	for _, w := range []string{"done", "closed", "resolved", "complete", "fixed", "shipped"} {
		if strings.Contains(s, w) {
			return adapters.CategoryDone
		}
	}
	for _, w := range []string{"in progress", "in_progress", "in-progress", "progress", "review", "doing", "active", "started", "testing"} {
		if strings.Contains(s, w) {
			return adapters.CategoryInProgress
		}
	}
	return adapters.CategoryTodo
}

func decodeOr(s string) ([]string, bool) {
	l, err := adapters.DecodeList(s)
	return l, err == nil
}

func (f *Flow) translateLabels(to sides.Side, v, current string) (string, []string) {
	in, ok := decodeOr(v)
	if !ok {
		return current, []string{fmt.Sprintf("labels of %s are not a list: left as they are", f.sides[side(to.Other())].Name)}
	}
	cur, _ := decodeOr(current)
	t, fr := side(to), side(to.Other())
	fromStatus, toStatus := f.status.statusLabels[fr], f.status.statusLabels[t]
	var out, warnings []string
	for _, l := range in {
		if slices.Contains(fromStatus, l) {
			continue
		}
		mapped, kept := "", false
		for _, c := range cur {
			for _, p := range f.labels.pairs {
				if p.v[fr] == l && p.v[t] == c {
					mapped, kept = c, true
				}
			}
		}
		if !kept {
			mapped = l // unmapped labels pass through
			for _, p := range f.labels.pairs {
				if p.v[fr] == l {
					mapped = p.v[t]
					break
				}
			}
		}
		if slices.Contains(toStatus, mapped) {
			continue
		}
		if caps := f.sides[t].Caps; caps != nil {
			if why := caps.LabelProblem(mapped); why != "" {
				warnings = append(warnings, fmt.Sprintf("label %q of %s cannot be a label on %s (%s): left out; map it to one that can in %s.fields.labels.map", l, f.sides[fr].Name, f.sides[t].Name, why, f.Path))
				continue
			}
		}
		out = append(out, mapped)
	}
	for _, c := range cur {
		if slices.Contains(toStatus, c) {
			out = append(out, c)
		}
	}
	return adapters.EncodeList(out), warnings
}

func (f *Flow) translateAssignees(to sides.Side, v, current string) (string, []string) {
	in, ok := decodeOr(v)
	from := to.Other()
	fromName, toName := f.sides[side(from)].Name, f.sides[side(to)].Name
	if !ok {
		return current, []string{fmt.Sprintf("assignees of %s are not a list: left as they are", fromName)}
	}
	cur, _ := decodeOr(current)
	var out, warnings []string
	for _, id := range in {
		p, ok := f.people.person(from, id)
		if !ok {
			warnings = append(warnings, fmt.Sprintf("unknown user %s on %s: add it to users", id, fromName))
			continue
		}
		kept := false
		for _, c := range cur {
			if q, ok := f.people.person(to, c); ok && q == p {
				out = append(out, c)
				kept = true
			}
		}
		if kept {
			continue
		}
		tid := f.people.ids[side(to)][p]
		if tid == "" {
			warnings = append(warnings, fmt.Sprintf("user %s has no id on %s: add one to users", f.people.names[p], toName))
			continue
		}
		out = append(out, tid)
	}
	// Ids on the target that no user entry names are left alone: tracksync
	// cannot tell whom they stand for, so it cannot know they should go.
	for _, c := range cur {
		if _, ok := f.people.person(to, c); !ok {
			out = append(out, c)
		}
	}
	return adapters.EncodeList(out), warnings
}

// userTable indexes the users by their id on each side of one flow.
type userTable struct {
	names []string
	ids   [2][]string       // person -> id on side
	by    [2]map[string]int // id -> person
	fold  [2]map[string]int // lower-cased id -> person, for case-insensitive logins
}

func newUserTable(users []config.User, a, b SideInfo) userTable {
	t := userTable{}
	for s, info := range [2]SideInfo{a, b} {
		t.ids[s] = make([]string, len(users))
		t.by[s] = map[string]int{}
		t.fold[s] = map[string]int{}
		for p, u := range users {
			id := UserID(u, info.Name, info.Kind)
			if id == "" {
				continue
			}
			t.ids[s][p] = id
			if _, dup := t.by[s][id]; !dup {
				t.by[s][id] = p
			}
			if _, dup := t.fold[s][strings.ToLower(id)]; !dup {
				t.fold[s][strings.ToLower(id)] = p
			}
		}
	}
	for _, u := range users {
		t.names = append(t.names, or(u.Name, u.Email))
	}
	return t
}

// UserID returns u's id on the tracker named name of kind kind: keyed by the
// tracker's name first, else by its kind.
func UserID(u config.User, name, kind string) string {
	if id, ok := u.IDs[name]; ok && name != "" {
		return id
	}
	if kind != "" {
		return u.IDs[kind]
	}
	return ""
}

func (t *userTable) person(s sides.Side, id string) (int, bool) {
	if len(t.by[side(s)]) == 0 {
		return 0, false
	}
	if p, ok := t.by[side(s)][id]; ok {
		return p, true
	}
	p, ok := t.fold[side(s)][strings.ToLower(id)]
	return p, ok
}
