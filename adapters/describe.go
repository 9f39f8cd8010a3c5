package adapters

import "context"

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
