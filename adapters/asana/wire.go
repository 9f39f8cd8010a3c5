package asana

import (
	"encoding/json"
	"time"
)

// The Asana wire types: only the fields the adapter reads or writes. No
// maintained Go SDK covers the Events API, webhooks and /batch (the
// official asana-go is archived, community ones cover tasks only), so the
// client is these few types over the shared rest layer.

// compact is Asana's compact record of anything.
type compact struct {
	GID          string `json:"gid"`
	Name         string `json:"name,omitempty"`
	ResourceType string `json:"resource_type,omitempty"`
}

type membership struct {
	Project *compact `json:"project"`
	Section *compact `json:"section"`
}

type enumOption struct {
	GID     string `json:"gid"`
	Name    string `json:"name"`
	Enabled *bool  `json:"enabled,omitempty"`
}

type dateValue struct {
	Date string `json:"date"`
}

// customValue is a custom field with its value on a task.
type customValue struct {
	GID             string       `json:"gid"`
	Name            string       `json:"name"`
	Type            string       `json:"type"`
	ResourceSubtype string       `json:"resource_subtype"`
	EnumValue       *enumOption  `json:"enum_value"`
	MultiEnumValues []enumOption `json:"multi_enum_values"`
	NumberValue     *float64     `json:"number_value"`
	TextValue       *string      `json:"text_value"`
	DateValue       *dateValue   `json:"date_value"`
	PeopleValue     []compact    `json:"people_value"`
}

// kind is the field's type: resource_subtype, or the older type.
func (c customValue) kind() string {
	if c.ResourceSubtype != "" {
		return c.ResourceSubtype
	}
	return c.Type
}

// customField is a workspace custom field.
type customField struct {
	GID             string       `json:"gid"`
	Name            string       `json:"name"`
	Type            string       `json:"type"`
	ResourceSubtype string       `json:"resource_subtype"`
	EnumOptions     []enumOption `json:"enum_options"`
	Precision       int          `json:"precision"`
}

func (c customField) kind() string {
	if c.ResourceSubtype != "" {
		return c.ResourceSubtype
	}
	return c.Type
}

type external struct {
	GID  string `json:"gid"`
	Data string `json:"data,omitempty"`
}

// task is a task as the adapter reads it (taskFields names them).
type task struct {
	GID          string        `json:"gid"`
	Name         string        `json:"name"`
	HTMLNotes    string        `json:"html_notes"`
	Completed    bool          `json:"completed"`
	Assignee     *compact      `json:"assignee"`
	DueOn        *string       `json:"due_on"`
	Tags         []compact     `json:"tags"`
	Memberships  []membership  `json:"memberships"`
	Parent       *compact      `json:"parent"`
	CustomFields []customValue `json:"custom_fields"`
	External     *external     `json:"external"`
	CreatedAt    time.Time     `json:"created_at"`
	ModifiedAt   time.Time     `json:"modified_at"`
	PermalinkURL string        `json:"permalink_url"`
}

// taskFields is opt_fields for a task: exactly what toItem reads.
const taskFields = "name,html_notes,completed,assignee,due_on,tags.name,memberships.project,memberships.section.name," +
	"parent,custom_fields.name,custom_fields.resource_subtype,custom_fields.type,custom_fields.enum_value.name," +
	"custom_fields.multi_enum_values.name,custom_fields.number_value,custom_fields.text_value,custom_fields.date_value," +
	"custom_fields.people_value,external,modified_at,created_at,permalink_url"

// markerFields is opt_fields for finding idempotency markers.
const markerFields = "html_notes,external,modified_at"

// taskWrite is the body of POST and PUT /tasks.
type taskWrite struct {
	Name         *string                    `json:"name,omitempty"`
	HTMLNotes    *string                    `json:"html_notes,omitempty"`
	Completed    *bool                      `json:"completed,omitempty"`
	Assignee     json.RawMessage            `json:"assignee,omitempty"`
	DueOn        json.RawMessage            `json:"due_on,omitempty"`
	Projects     []string                   `json:"projects,omitempty"`
	Tags         []string                   `json:"tags,omitempty"`
	Parent       *string                    `json:"parent,omitempty"`
	Workspace    string                     `json:"workspace,omitempty"`
	CustomFields map[string]json.RawMessage `json:"custom_fields,omitempty"`
	External     *external                  `json:"external,omitempty"`
}

type story struct {
	GID             string    `json:"gid"`
	ResourceSubtype string    `json:"resource_subtype"`
	HTMLText        string    `json:"html_text"`
	CreatedAt       time.Time `json:"created_at"`
	CreatedBy       *compact  `json:"created_by"`
	IsEdited        bool      `json:"is_edited"`
}

const storyFields = "resource_subtype,html_text,created_at,created_by,is_edited"

type user struct {
	GID   string `json:"gid"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type section struct {
	GID  string `json:"gid"`
	Name string `json:"name"`
}

// event is one Events API or webhook event.
type event struct {
	Action   string `json:"action"`
	Resource struct {
		GID             string `json:"gid"`
		ResourceType    string `json:"resource_type"`
		ResourceSubtype string `json:"resource_subtype"`
	} `json:"resource"`
	Parent    *compact  `json:"parent"`
	CreatedAt time.Time `json:"created_at"`
}

type eventsPage struct {
	Data    []event `json:"data"`
	Sync    string  `json:"sync"`
	HasMore bool    `json:"has_more"`
}

// page is one page of a listing.
type page[T any] struct {
	Data     []T `json:"data"`
	NextPage *struct {
		Offset string `json:"offset"`
	} `json:"next_page"`
}

// one is a single-record answer.
type one[T any] struct {
	Data T `json:"data"`
}

// errorBody is Asana's error shape; a 412 from /events carries sync.
type errorBody struct {
	Errors []struct {
		Message string `json:"message"`
		Help    string `json:"help"`
	} `json:"errors"`
	Sync string `json:"sync"`
}

type batchAction struct {
	RelativePath string         `json:"relative_path"`
	Method       string         `json:"method"`
	Data         map[string]any `json:"data,omitempty"`
	Options      *batchOptions  `json:"options,omitempty"`
}

type batchOptions struct {
	Fields []string `json:"fields,omitempty"`
}

type batchResult struct {
	StatusCode int             `json:"status_code"`
	Body       json.RawMessage `json:"body"`
}
