// Package jiratest is an in-process Jira for tests: an httptest server that
// keeps state (projects, issue types, a workflow with transitions and a
// transition screen with a required field, users, issues with changelog,
// comments, entity properties, remote links) and speaks either the Cloud
// REST v3 contract (ADF bodies, /rest/api/3/search/jql with nextPageToken,
// /issue/bulkfetch, the removed /search answering 410 Gone) or the Data
// Center REST v2 one (wiki bodies, /rest/api/2/search with startAt, an
// "Epic Link" custom field).
//
// It enforces what the real one enforces where an adapter could get it
// wrong (required fields, field lengths, transitions only from their source
// statuses, page-size caps, bounded JQL), answers errors in Jira's
// {errorMessages, errors} shape, rate limits with real headers, injects
// faults (5xx, a connection dropped after the write happened), logs every
// request, and signs webhook deliveries with X-Hub-Signature.
//
// Test hooks work at the Go level: EditIssue is a person editing an issue
// (bumping updated and the changelog), Advance moves the fake's clock.
package jiratest

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Flavor picks the API the fake speaks.
type Flavor string

// The two flavours.
const (
	Cloud      Flavor = "cloud"
	DataCenter Flavor = "datacenter"
)

// Status is one workflow status.
type Status struct {
	ID       string
	Name     string
	Category string // new | indeterminate | done (Jira's statusCategory keys)
}

// Transition is one workflow transition.
type Transition struct {
	ID   string
	Name string
	// From lists the status names it starts from; empty means any status
	// (a global transition).
	From []string
	To   string
	// Required are the field ids its screen requires ("resolution",
	// "customfield_10030").
	Required []string
}

// IssueType is one issue type.
type IssueType struct {
	ID        string
	Name      string
	Subtask   bool
	Hierarchy int // 2 initiative, 1 epic, 0 standard, -1 sub-task
}

// User is one account.
type User struct {
	AccountID   string // Cloud id
	Name        string // Data Center username (also its key)
	DisplayName string
	Email       string
}

// id is the user's id in flavour f.
func (u User) id(f Flavor) string {
	if f == DataCenter {
		return u.Name
	}
	return u.AccountID
}

// Field is one field as /field lists it.
type Field struct {
	ID     string
	Name   string
	Custom bool
	Type   string // schema type: string, array, user, ...
	// Kind is a custom field's schema.custom, the field type's key
	// (com.atlassian.jira.plugin.system.customfieldtypes:textarea, ...).
	Kind string
}

// schemaJSON is the field's schema as /field and transition screens show
// it: a custom field also names its type key and numeric id.
func (f Field) schemaJSON() map[string]any {
	m := map[string]any{"type": f.Type}
	if f.Kind != "" {
		m["custom"] = f.Kind
		if n, err := strconv.ParseInt(strings.TrimPrefix(f.ID, "customfield_"), 10, 64); err == nil {
			m["customId"] = n
		}
	}
	return m
}

// Custom field type keys (schema.custom) of the fake's custom fields.
const (
	KindTextField = "com.atlassian.jira.plugin.system.customfieldtypes:textfield"
	KindTextArea  = "com.atlassian.jira.plugin.system.customfieldtypes:textarea"
	KindSelect    = "com.atlassian.jira.plugin.system.customfieldtypes:select"
	KindEpicLink  = "com.pyxis.greenhopper.jira:gh-epic-link"
	KindEpicName  = "com.pyxis.greenhopper.jira:gh-epic-label"
)

// Comment is one stored comment.
type Comment struct {
	ID       int
	Author   string // user id in the server's flavour
	Body     json.RawMessage
	Created  time.Time
	Updated  time.Time
	Property map[string]json.RawMessage
	// Restricted is the role the comment is visible to ("" for everyone
	// who sees the issue); Internal marks a Service Management internal
	// note (jsdPublic false).
	Restricted string
	Internal   bool
}

// RemoteLink is one stored remote link.
type RemoteLink struct {
	ID       int
	GlobalID string
	URL      string
	Title    string
}

// Change is one changelog entry.
type Change struct {
	ID      int
	Author  string
	Created time.Time
	Items   []ChangeItem
}

// ChangeItem is one field changed in a Change.
type ChangeItem struct {
	Field      string
	FromString string
	ToString   string
}

// Issue is one stored issue. Tests read copies through Server.Issue and
// change them through Server.EditIssue.
type Issue struct {
	ID          int
	Key         string
	Project     string
	Type        string // issue type name
	Summary     string
	Description json.RawMessage // ADF object (Cloud) or JSON string (DC); nil for none
	Status      string
	Resolution  string
	Assignee    string // user id in the server's flavour
	Reporter    string
	Creator     string // user id of the account that created it; never changes
	Labels      []string
	Priority    string
	Due         string
	Parent      int // issue id of the parent (epic, initiative or sub-task parent); 0 none
	Custom      map[string]json.RawMessage
	Created     time.Time
	Updated     time.Time
	Comments    []*Comment
	Properties  map[string]json.RawMessage
	RemoteLinks []RemoteLink
	Changelog   []Change
}

func (it *Issue) clone() Issue {
	c := *it
	c.Labels = slices.Clone(it.Labels)
	c.Custom = cloneRaw(it.Custom)
	c.Properties = cloneRaw(it.Properties)
	c.RemoteLinks = slices.Clone(it.RemoteLinks)
	c.Changelog = slices.Clone(it.Changelog)
	c.Comments = nil
	for _, cm := range it.Comments {
		x := *cm
		x.Property = cloneRaw(cm.Property)
		c.Comments = append(c.Comments, &x)
	}
	return c
}

func cloneRaw(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

// DefaultStatuses is the workflow's statuses in order.
var DefaultStatuses = []Status{
	{ID: "10000", Name: "To Do", Category: "new"},
	{ID: "3", Name: "In Progress", Category: "indeterminate"},
	{ID: "10001", Name: "In Review", Category: "indeterminate"},
	{ID: "10002", Name: "Done", Category: "done"},
}

// DefaultTransitions is the workflow: Done is reachable only from In
// Progress or In Review (so To Do → Done takes two hops), and the Done
// transition's screen requires a resolution.
func DefaultTransitions() []Transition {
	return []Transition{
		{ID: "11", Name: "Start progress", From: []string{"To Do"}, To: "In Progress"},
		{ID: "21", Name: "Submit for review", From: []string{"In Progress"}, To: "In Review"},
		{ID: "31", Name: "Done", From: []string{"In Progress", "In Review"}, To: "Done", Required: []string{"resolution"}},
		{ID: "51", Name: "Stop progress", From: []string{"In Progress", "In Review"}, To: "To Do"},
		{ID: "61", Name: "Reopen", From: []string{"Done"}, To: "To Do"},
		{ID: "71", Name: "Back to progress", From: []string{"In Review"}, To: "In Progress"},
	}
}

// DefaultIssueTypes are the issue types every project has.
var DefaultIssueTypes = []IssueType{
	{ID: "10100", Name: "Initiative", Hierarchy: 2},
	{ID: "10000", Name: "Epic", Hierarchy: 1},
	{ID: "10001", Name: "Story", Hierarchy: 0},
	{ID: "10002", Name: "Task", Hierarchy: 0},
	{ID: "10004", Name: "Bug", Hierarchy: 0},
	{ID: "10003", Name: "Sub-task", Subtask: true, Hierarchy: -1},
}

// DefaultUsers are the accounts the fake knows; the first is the one the
// API credentials belong to (the sync bot).
var DefaultUsers = []User{
	{AccountID: "5b10ac8d82e05b22cc7d4e00", Name: "tracksync-bot", DisplayName: "tracksync bot", Email: "bot@example.com"},
	{AccountID: "5b10ac8d82e05b22cc7d4ef5", Name: "ana", DisplayName: "Ana Lima", Email: "ana@example.com"},
	{AccountID: "5b10ac8d82e05b22cc7d4ef6", Name: "bo", DisplayName: "Bo Chen", Email: "bo@example.com"},
	{AccountID: "5b10ac8d82e05b22cc7d4ef7", Name: "cy", DisplayName: "Cy Park", Email: "cy@example.com"},
}

// Priorities are Jira's default priorities.
var Priorities = []string{"Highest", "High", "Medium", "Low", "Lowest"}

// Resolutions are the resolutions the Done screen offers.
var Resolutions = []string{"Done", "Won't Do", "Duplicate"}

// Custom field ids the fake defines.
const (
	EpicLinkField      = "customfield_10014" // Data Center only
	EpicNameField      = "customfield_10011" // Data Center only: required to create an epic
	TeamField          = "customfield_10020" // single-line text (textfield)
	ReviewerNotesField = "customfield_10030" // multi-line text (textarea): ADF on Cloud
	SeverityField      = "customfield_10040" // a select list (option type)
)

// SeverityOptions are the Severity select list's options, by option id.
var SeverityOptions = []Option{{ID: "10100", Value: "Minor"}, {ID: "10101", Value: "Major"}, {ID: "10102", Value: "Critical"}}

// Option is one option of a select-list custom field.
type Option struct {
	ID    string
	Value string
}

func (s *Server) fieldList() []Field {
	fs := []Field{
		{ID: "summary", Name: "Summary", Type: "string"},
		{ID: "description", Name: "Description", Type: "string"},
		{ID: "status", Name: "Status", Type: "status"},
		{ID: "issuetype", Name: "Issue Type", Type: "issuetype"},
		{ID: "project", Name: "Project", Type: "project"},
		{ID: "assignee", Name: "Assignee", Type: "user"},
		{ID: "reporter", Name: "Reporter", Type: "user"},
		{ID: "labels", Name: "Labels", Type: "array"},
		{ID: "priority", Name: "Priority", Type: "priority"},
		{ID: "duedate", Name: "Due date", Type: "date"},
		{ID: "parent", Name: "Parent", Type: "issuelink"},
		{ID: "resolution", Name: "Resolution", Type: "resolution"},
		{ID: "comment", Name: "Comment", Type: "comments-page"},
		{ID: "created", Name: "Created", Type: "datetime"},
		{ID: "updated", Name: "Updated", Type: "datetime"},
		{ID: TeamField, Name: "Team", Custom: true, Type: "string", Kind: KindTextField},
		{ID: ReviewerNotesField, Name: "Reviewer Notes", Custom: true, Type: "string", Kind: KindTextArea},
		{ID: SeverityField, Name: "Severity", Custom: true, Type: "option", Kind: KindSelect},
	}
	if s.flavor == DataCenter {
		fs = append(fs, Field{ID: EpicLinkField, Name: "Epic Link", Custom: true, Type: "any", Kind: KindEpicLink},
			Field{ID: EpicNameField, Name: "Epic Name", Custom: true, Type: "string", Kind: KindEpicName})
	}
	return fs
}

func (s *Server) statusByName(name string) (Status, bool) {
	for _, st := range s.statuses {
		if st.Name == name {
			return st, true
		}
	}
	return Status{}, false
}

func (s *Server) issueType(name string) (IssueType, bool) {
	for _, t := range DefaultIssueTypes {
		if t.Name == name {
			return t, true
		}
	}
	return IssueType{}, false
}

func (s *Server) userByID(id string) (User, bool) {
	for _, u := range s.users {
		if u.id(s.flavor) == id {
			return u, true
		}
	}
	return User{}, false
}

// lookup finds a live issue by id or key.
func (s *Server) lookup(idOrKey string) *Issue {
	if n, err := strconv.Atoi(idOrKey); err == nil {
		return s.issues[n]
	}
	// By key through the index; an issue removed from issues since is
	// gone.
	if it := s.byKey[idOrKey]; it != nil && s.issues[it.ID] == it {
		return it
	}
	return nil
}

// stamp is the time of a write: the clock's now, but strictly after the
// previous write so updated orders writes (Jira's updated has millisecond
// precision; two writes in one millisecond would be indistinguishable).
func (s *Server) stamp() time.Time {
	t := s.now.Truncate(time.Millisecond)
	if !t.After(s.lastStamp) {
		t = s.lastStamp.Add(time.Millisecond)
	}
	s.lastStamp = t
	return t
}

// jiraTime is Jira's timestamp format.
const jiraTime = "2006-01-02T15:04:05.000-0700"
