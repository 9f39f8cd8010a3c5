package adapters

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Kind is what an item stands for in the roadmap hierarchy.
type Kind string

// The kinds tracksync knows.
const (
	KindInitiative Kind = "initiative"
	KindEpic       Kind = "epic"
	KindIssue      Kind = "issue"
	KindTask       Kind = "task"
)

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindInitiative, KindEpic, KindIssue, KindTask:
		return true
	}
	return false
}

// StatusCategory is the tracker-neutral meaning of a native status.
type StatusCategory string

// The three categories every tracker's statuses fall into.
const (
	CategoryTodo       StatusCategory = "todo"
	CategoryInProgress StatusCategory = "in_progress"
	CategoryDone       StatusCategory = "done"
)

// Valid reports whether c is one of the three categories.
func (c StatusCategory) Valid() bool {
	switch c {
	case CategoryTodo, CategoryInProgress, CategoryDone:
		return true
	}
	return false
}

// Ref names one item in one tracker. Tracker is the configured tracker name
// (not its kind); ID is the tracker's stable identifier; Key is the
// human-facing one (PLAT-12, acme/platform#45) and may equal ID.
type Ref struct {
	Tracker string `json:"tracker"`
	Project string `json:"project,omitempty"`
	ID      string `json:"id"`
	Key     string `json:"key,omitempty"`
	URL     string `json:"url,omitempty"`
}

// IsZero reports whether r names nothing.
func (r Ref) IsZero() bool { return r.ID == "" && r.Key == "" }

// String is the short form used in logs and messages: tracker:key.
func (r Ref) String() string {
	k := r.Key
	if k == "" {
		k = r.ID
	}
	return r.Tracker + ":" + k
}

// Comment is one comment on an item. Body is canonical Markdown.
type Comment struct {
	ID        string    `json:"id"`
	Author    string    `json:"author,omitempty"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// SyncKey is the idempotency key tracksync gave AddComment when it made
	// this comment as a copy, read back (comment property, hidden marker);
	// "" for comments people wrote. It lets the engine recognise its own
	// copy and never copy it back.
	SyncKey string `json:"sync_key,omitempty"`
}

// Item is the canonical form of one tracker object. Adapters translate to and
// from it; the engine only ever sees Items.
type Item struct {
	Ref            Ref            `json:"ref"`
	Kind           Kind           `json:"kind"`
	Title          string         `json:"title"`
	Body           string         `json:"body,omitempty"` // canonical Markdown
	Status         string         `json:"status"`         // the tracker's native status name
	StatusCategory StatusCategory `json:"status_category"`
	Assignees      []string       `json:"assignees,omitempty"` // tracker-native user ids
	Labels         []string       `json:"labels,omitempty"`
	Priority       string         `json:"priority,omitempty"`
	// Type is the tracker's own issue type (Jira's issuetype, a GitHub
	// issue type), "" where the tracker has none; FieldType syncs it.
	Type      string            `json:"type,omitempty"`
	Due       string            `json:"due,omitempty"` // YYYY-MM-DD, "" for none
	Parent    *Ref              `json:"parent,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"` // custom fields by display name
	Comments  []Comment         `json:"comments,omitempty"`
	UpdatedAt time.Time         `json:"updated_at"`
	Version   string            `json:"version,omitempty"` // ETag, changelog id, revision
	// SyncKey is the idempotency key tracksync stored on the item when it
	// created it (entity property, hidden body marker, external data), read
	// back by Get and List; "" for items people made. It lets the engine
	// recognise its own copy after a crash instead of copying it back.
	SyncKey string `json:"sync_key,omitempty"`
	// AllComments says Comments holds every comment of the item: set by
	// Get, and by a listing that knows the item has none (GitHub's
	// comments count), so the engine need not read them again.
	AllComments bool `json:"-"`
}

// Clone returns a deep copy, so callers may mutate slices and maps freely.
func (it Item) Clone() Item {
	c := it
	c.Assignees = slices.Clone(it.Assignees)
	c.Labels = slices.Clone(it.Labels)
	c.Comments = slices.Clone(it.Comments)
	if it.Parent != nil {
		p := *it.Parent
		c.Parent = &p
	}
	if it.Fields != nil {
		c.Fields = make(map[string]string, len(it.Fields))
		for k, v := range it.Fields {
			c.Fields[k] = v
		}
	}
	return c
}

// Field names as used in flow config, patches and base snapshots. Custom
// fields are named CustomPrefix + their display name.
const (
	FieldTitle     = "title"
	FieldBody      = "body"
	FieldStatus    = "status"
	FieldAssignees = "assignees"
	FieldLabels    = "labels"
	FieldPriority  = "priority"
	FieldDue       = "due"
	FieldParent    = "parent"
	// FieldType is the issue type (Item.Type). It is not in
	// StandardFields: a flow syncs it only when it names it (types differ
	// between trackers, so it usually takes a map), and migrations copy it
	// only by a map.
	FieldType    = "type"
	CustomPrefix = "custom:"
)

// StandardFields lists the built-in syncable fields in a stable order.
var StandardFields = []string{FieldTitle, FieldBody, FieldStatus, FieldAssignees, FieldLabels, FieldPriority, FieldDue, FieldParent}

// IsListField reports whether a field holds a set of values (compared
// order-insensitively).
func IsListField(name string) bool { return name == FieldAssignees || name == FieldLabels }

// IsKnownField reports whether name is a standard field or a custom one.
func IsKnownField(name string) bool {
	if strings.HasPrefix(name, CustomPrefix) {
		return len(name) > len(CustomPrefix)
	}
	return slices.Contains(StandardFields, name) || name == FieldType
}

// FieldValue returns the canonical string form of one field of it: scalars
// as they are, sets as a sorted, de-duplicated JSON array, the parent as its
// tracker:id. Two items agree on a field exactly when these strings are equal.
func FieldValue(it Item, name string) string {
	switch name {
	case FieldTitle:
		return it.Title
	case FieldBody:
		return it.Body
	case FieldStatus:
		return it.Status
	case FieldAssignees:
		return EncodeList(it.Assignees)
	case FieldLabels:
		return EncodeList(it.Labels)
	case FieldPriority:
		return it.Priority
	case FieldDue:
		return it.Due
	case FieldType:
		return it.Type
	case FieldParent:
		if it.Parent == nil || it.Parent.IsZero() {
			return ""
		}
		return it.Parent.Tracker + ":" + it.Parent.ID
	}
	if c, ok := strings.CutPrefix(name, CustomPrefix); ok {
		return it.Fields[c]
	}
	return ""
}

// SetFieldValue is the inverse of FieldValue: it stores the canonical value v
// into field name of it.
func SetFieldValue(it *Item, name, v string) error {
	switch name {
	case FieldTitle:
		it.Title = v
	case FieldBody:
		it.Body = v
	case FieldStatus:
		it.Status = v
	case FieldAssignees, FieldLabels:
		l, err := DecodeList(v)
		if err != nil {
			return fmt.Errorf("field %s: %w", name, err)
		}
		if name == FieldAssignees {
			it.Assignees = l
		} else {
			it.Labels = l
		}
	case FieldPriority:
		it.Priority = v
	case FieldDue:
		it.Due = v
	case FieldType:
		it.Type = v
	case FieldParent:
		if v == "" {
			it.Parent = nil
			return nil
		}
		tr, id, ok := strings.Cut(v, ":")
		if !ok {
			return fmt.Errorf("field parent: %q is not tracker:id", v)
		}
		it.Parent = &Ref{Tracker: tr, ID: id}
	default:
		c, ok := strings.CutPrefix(name, CustomPrefix)
		if !ok || c == "" {
			return fmt.Errorf("unknown field %q", name)
		}
		if it.Fields == nil {
			it.Fields = map[string]string{}
		}
		if v == "" {
			delete(it.Fields, c)
		} else {
			it.Fields[c] = v
		}
	}
	return nil
}

// EncodeList is the canonical form of a set of strings: sorted, without
// duplicates or empty strings, as a JSON array; "" for the empty set.
func EncodeList(l []string) string {
	n := NormalizeList(l)
	if len(n) == 0 {
		return ""
	}
	b, _ := json.Marshal(n)
	return string(b)
}

// DecodeList reads what EncodeList wrote.
func DecodeList(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("%q is not a list: %w", s, err)
	}
	return NormalizeList(l), nil
}

// NormalizeList sorts l, drops empty strings and duplicates, and returns nil
// for an empty result.
func NormalizeList(l []string) []string {
	out := make([]string, 0, len(l))
	for _, s := range l {
		if s != "" {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil
	}
	return out
}
