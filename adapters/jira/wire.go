package jira

import (
	"encoding/json"
	"strconv"
	"time"
)

// Wire types: only what the adapter reads, in the shapes of Jira's REST
// API (v3 on Cloud, v2 on Data Center; they differ in bodies and users).

type wireIssue struct {
	ID         string                     `json:"id"`
	Key        string                     `json:"key"`
	Fields     map[string]json.RawMessage `json:"fields"`
	Properties map[string]json.RawMessage `json:"properties"`
}

type wireStatus struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	StatusCategory struct {
		Key string `json:"key"`
	} `json:"statusCategory"`
}

type wireUser struct {
	AccountID   string `json:"accountId"`
	Name        string `json:"name"`
	Key         string `json:"key"`
	DisplayName string `json:"displayName"`
}

type wireType struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Subtask        bool   `json:"subtask"`
	HierarchyLevel int    `json:"hierarchyLevel"`
}

type wireRef struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Fields struct {
		IssueType wireType `json:"issuetype"`
	} `json:"fields"`
}

type wireNamed struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Value string `json:"value"`
	Key   string `json:"key"`
}

type wireProperty struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

type wireComment struct {
	ID         string          `json:"id"`
	Author     *wireUser       `json:"author"`
	Body       json.RawMessage `json:"body"`
	Created    string          `json:"created"`
	Updated    string          `json:"updated"`
	Properties []wireProperty  `json:"properties"`
	// Visibility restricts the comment to a group or role; JSDPublic
	// false marks a Service Management internal note.
	Visibility *struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"visibility"`
	JSDPublic *bool `json:"jsdPublic"`
}

// restricted says whether only some of those who see the issue may read
// the comment (a group or role, an internal note): such a comment is
// never copied to another tracker, whose readers may be anyone.
func (w wireComment) restricted() bool {
	return (w.Visibility != nil && w.Visibility.Type != "") || (w.JSDPublic != nil && !*w.JSDPublic)
}

type wireComments struct {
	StartAt    int           `json:"startAt"`
	MaxResults int           `json:"maxResults"`
	Total      int           `json:"total"`
	Comments   []wireComment `json:"comments"`
}

type wireTransition struct {
	ID     string                   `json:"id"`
	Name   string                   `json:"name"`
	To     wireStatus               `json:"to"`
	Fields map[string]wireFieldMeta `json:"fields"`
}

type wireFieldMeta struct {
	Required      bool        `json:"required"`
	Name          string      `json:"name"`
	Schema        wireSchema  `json:"schema"`
	AllowedValues []wireNamed `json:"allowedValues"`
}

type wireField struct {
	ID     string     `json:"id"`
	Name   string     `json:"name"`
	Custom bool       `json:"custom"`
	Schema wireSchema `json:"schema"`
}

// wireSchema is a field's type: Type is the JSON kind (a multi-line and a
// single-line text field are both "string"), Custom a custom field's type
// key, which tells them apart.
type wireSchema struct {
	Type   string `json:"type"`
	Custom string `json:"custom"`
}

// textareaType is the type key of a multi-line text custom field, whose
// value is an Atlassian Document on Cloud's v3 API (a single-line textfield
// stays a string).
const textareaType = "com.atlassian.jira.plugin.system.customfieldtypes:textarea"

// kind is how the adapter writes and reads the field's values: its schema
// type, or "textarea" for a multi-line text field.
func (s wireSchema) kind() string {
	if s.Custom == textareaType {
		return "textarea"
	}
	return s.Type
}

// marker is the value of the tracksync entity property.
type marker struct {
	Key string `json:"key"`
}

// jiraTime is Jira's timestamp layout.
const jiraTime = "2006-01-02T15:04:05.000-0700"

func parseTime(s string) time.Time {
	t, err := time.Parse(jiraTime, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t
}

func (w wireIssue) str(field string) string {
	var s string
	if raw, ok := w.Fields[field]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

func (w wireIssue) decode(field string, v any) bool {
	raw, ok := w.Fields[field]
	if !ok || string(raw) == "null" {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}

func (w wireIssue) updated() time.Time { return parseTime(w.str("updated")) }

// version is the issue's updated stamp in epoch milliseconds: Jira has no
// revision number, and updated moves on every write with millisecond
// precision.
func (w wireIssue) version() string { return strconv.FormatInt(w.updated().UnixMilli(), 10) }

func (w wireIssue) status() wireStatus {
	var s wireStatus
	w.decode("status", &s)
	return s
}

func (w wireIssue) issueType() wireType {
	var t wireType
	w.decode("issuetype", &t)
	return t
}

func (w wireIssue) project() string {
	var p wireNamed
	w.decode("project", &p)
	return p.Key
}
