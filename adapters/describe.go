package adapters

import (
	"context"
	"maps"
	"slices"
	"strings"
)

// Describer is implemented by trackers that can say what the live tracker
// has, for `tracksync trackers describe` (writing a mapping without
// guessing names). scope is a flow's scope on this tracker (a GitHub
// repository, a JQL query naming a project); "" means the tracker's own
// default (Jira's project option). Describe only reads. A part the
// credentials may not read (users, labels) is left empty and named in
// Notes rather than failing the whole description.
type Describer interface {
	Describe(ctx context.Context, scope string) (Description, error)
}

// Description is what a tracker has that a mapping may name.
type Description struct {
	// Scope is what was described ("PLAT", "acme/app", a file path).
	Scope string `json:"scope"`
	// Statuses in workflow order, with categories and transitions.
	Statuses []StatusDescription `json:"statuses"`
	// Fields are the fields items have, standard and custom.
	Fields     []FieldDescription `json:"fields"`
	IssueTypes []string           `json:"issue_types"`
	Labels     []string           `json:"labels"`
	// Users are those items may be assigned to (for the config's users:
	// table).
	Users []UserDescription `json:"users"`
	// Notes say what could not be read, and why.
	Notes []string `json:"notes,omitempty"`
}

// StatusDescription is one status and where it may go.
type StatusDescription struct {
	Name     string         `json:"name"`
	Category StatusCategory `json:"category"`
	// To lists the statuses one workflow transition reaches from this
	// one. Nil (printed as "any") means the tracker allows any move.
	To []string `json:"transitions_to"`
	// Any is set by NonNil when To is nil, so JSON says "any move" in so
	// many words rather than with a null.
	Any bool `json:"any_transition,omitempty"`
}

// FieldDescription is one field of the tracker's items.
type FieldDescription struct {
	ID     string `json:"id"`   // the tracker's own id (customfield_10016)
	Name   string `json:"name"` // its display name
	Type   string `json:"type"` // the tracker's type name (number, string, array, date)
	Custom bool   `json:"custom"`
	// Sync is the name a flow's fields: section uses for it ("title",
	// "custom:Story Points"); "" when tracksync does not sync it.
	Sync string `json:"sync,omitempty"`
}

// UserDescription is one assignable user.
type UserDescription struct {
	ID    string `json:"id"` // what assignees hold (a Jira accountId, a GitHub login)
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// NonNil returns d with every list non-nil, so JSON prints [] for none.
func (d Description) NonNil() Description {
	if d.Statuses == nil {
		d.Statuses = []StatusDescription{}
	}
	sts := make([]StatusDescription, len(d.Statuses))
	for i, s := range d.Statuses {
		if s.To == nil {
			s.To, s.Any = []string{}, true
		}
		sts[i] = s
	}
	d.Statuses = sts
	if d.Fields == nil {
		d.Fields = []FieldDescription{}
	}
	if d.IssueTypes == nil {
		d.IssueTypes = []string{}
	}
	if d.Labels == nil {
		d.Labels = []string{}
	}
	if d.Users == nil {
		d.Users = []UserDescription{}
	}
	return d
}

// StandardFieldDescriptions describes the standard fields a tracker
// supports (caps.Fields without the custom ones), named as flows name
// them.
func StandardFieldDescriptions(caps Capabilities, types map[string]string) []FieldDescription {
	var out []FieldDescription
	for _, f := range caps.Fields {
		if len(f) > len(CustomPrefix) && f[:len(CustomPrefix)] == CustomPrefix {
			continue
		}
		t := types[f]
		if t == "" {
			t = "string"
			if IsListField(f) {
				t = "array"
			}
		}
		out = append(out, FieldDescription{ID: f, Name: f, Type: t, Sync: f})
	}
	return out
}

// DescribeCapabilities describes what caps declares, for a tracker whose
// capabilities are all it has to say (memory, roadmap): its statuses (any
// may follow any other), its standard fields (typed by types, as
// StandardFieldDescriptions), its custom fields as strings and its kinds
// as issue types.
func DescribeCapabilities(scope string, caps Capabilities, types map[string]string) Description {
	d := Description{Scope: scope}
	for _, s := range caps.Statuses {
		d.Statuses = append(d.Statuses, StatusDescription{Name: s.Name, Category: s.Category})
	}
	d.Fields = StandardFieldDescriptions(caps, types)
	for _, f := range caps.Fields {
		if name, ok := strings.CutPrefix(f, CustomPrefix); ok {
			d.Fields = append(d.Fields, FieldDescription{ID: name, Name: name, Type: "string", Custom: true, Sync: f})
		}
	}
	for _, k := range caps.Kinds {
		d.IssueTypes = append(d.IssueTypes, string(k))
	}
	return d
}

// SetUsed sets d's labels and users to those items use, sorted and
// each once: for a tracker with no label or user directory of its own.
func (d *Description) SetUsed(items []Item) {
	labels, users := map[string]bool{}, map[string]bool{}
	for _, it := range items {
		for _, l := range it.Labels {
			labels[l] = true
		}
		for _, a := range it.Assignees {
			users[a] = true
		}
	}
	d.Labels = slices.Sorted(maps.Keys(labels))
	d.Users = nil
	for _, u := range slices.Sorted(maps.Keys(users)) {
		d.Users = append(d.Users, UserDescription{ID: u})
	}
}
