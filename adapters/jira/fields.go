package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/mapping/markup"
)

// Fields: how an item's fields are written into an issue's (custom fields
// by their schema type, the parent as Cloud's parent or Data Center's epic
// link) and how custom field values read back.

// customValue is the text of custom field id's value. A multi-line text
// (textarea) field reads like a description: Markdown from Cloud's
// Atlassian Document or Data Center's wiki markup, so what writeBody wrote
// reads back the same.
func (t *Tracker) customValue(id string, raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if t.ctype[id] == "textarea" {
		return t.readBody(raw)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n wireNamed
	if json.Unmarshal(raw, &n) == nil && (n.Value != "" || n.Name != "") {
		if n.Value != "" {
			return n.Value
		}
		return n.Name
	}
	// A document in a field the adapter did not know as a textarea (a
	// plugin's rich-text type) is still text, not its JSON.
	var doc markup.Node
	if !t.dc && json.Unmarshal(raw, &doc) == nil && doc.Type == "doc" {
		return markup.ADFToMarkdown(&doc, t.markupOptions())
	}
	return strings.TrimSpace(string(raw))
}

// writeFields translates the named fields of it into Jira's field JSON.
// creating allows what only a create may set (a sub-task's parent on DC).
func (t *Tracker) writeFields(ctx context.Context, it adapters.Item, names []string, creating bool) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range names {
		switch f {
		case adapters.FieldTitle:
			out["summary"] = it.Title
		case adapters.FieldBody:
			out["description"] = t.writeBody(it.Body)
		case adapters.FieldStatus:
			// Written through transitions.
		case adapters.FieldAssignees:
			as := adapters.NormalizeList(it.Assignees)
			switch {
			case len(as) == 0:
				out["assignee"] = nil
			case t.dc:
				out["assignee"] = map[string]string{"name": as[0]}
			default:
				out["assignee"] = map[string]string{"accountId": as[0]}
			}
			if len(as) > 1 {
				t.o.Logger.Warn("jira holds one assignee; writing the first", "tracker", t.name, "assignees", as)
			}
		case adapters.FieldLabels:
			ls := adapters.NormalizeList(it.Labels)
			for _, l := range ls {
				if strings.ContainsAny(l, " \t\n") {
					return nil, adapters.Permanent(fmt.Errorf("jira labels cannot contain spaces: %q: %w", l, adapters.ErrInvalid))
				}
			}
			if ls == nil {
				ls = []string{}
			}
			out["labels"] = ls
		case adapters.FieldPriority:
			if it.Priority == "" {
				out["priority"] = nil
			} else {
				out["priority"] = map[string]string{"name": it.Priority}
			}
		case adapters.FieldType:
			// Set by createBody when creating; an item without a type
			// leaves the alone. Jira changes a type only within
			// its hierarchy level (a story to a bug, not to an epic) and
			// says so in its answer otherwise.
			if !creating && it.Type != "" {
				out["issuetype"] = map[string]string{"name": it.Type}
			}
		case adapters.FieldDue:
			if it.Due == "" {
				out["duedate"] = nil
			} else {
				out["duedate"] = it.Due
			}
		case adapters.FieldParent:
			if err := t.writeParent(ctx, it, creating, out); err != nil {
				return nil, err
			}
		default:
			name, ok := strings.CutPrefix(f, adapters.CustomPrefix)
			id, known := t.custom[name]
			if !ok || !known {
				return nil, fmt.Errorf("jira tracker %s: field %q: %w", t.name, f, adapters.ErrUnsupported)
			}
			v, err := t.customJSON(id, it.Fields[name])
			if err != nil {
				return nil, fmt.Errorf("custom field %q: %w", name, err)
			}
			out[id] = v
		}
	}
	return out, nil
}

// customJSON is a custom field's value as its schema type wants it: text
// as is, numbers as numbers, select lists as {"value": ...}, multi-line
// text as a description is written (an Atlassian Document on Cloud, which
// refuses a string there; wiki markup on Data Center).
func (t *Tracker) customJSON(id, v string) (any, error) {
	if v == "" {
		return nil, nil
	}
	switch t.ctype[id] {
	case "textarea":
		return t.writeBody(v), nil
	case "number":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, adapters.Permanent(fmt.Errorf("%q is not a number: %w", v, adapters.ErrInvalid))
		}
		return f, nil
	case "option":
		return map[string]string{"value": v}, nil
	}
	return v, nil
}

func (t *Tracker) writeParent(ctx context.Context, it adapters.Item, creating bool, out map[string]any) error {
	p := it.Parent
	if p != nil && p.IsZero() {
		p = nil
	}
	if !t.dc {
		switch {
		case p == nil:
			out["parent"] = nil
		case p.ID != "":
			out["parent"] = map[string]string{"id": p.ID}
		default:
			out["parent"] = map[string]string{"key": p.Key}
		}
		return nil
	}
	if it.Kind == adapters.KindTask {
		if !creating {
			return adapters.Permanent(fmt.Errorf("jira data center cannot move a sub-task to another parent: %w", adapters.ErrUnsupported))
		}
		if p != nil {
			out["parent"] = map[string]string{"id": p.ID}
		}
		return nil
	}
	if p == nil {
		out[t.epicLink] = nil
		return nil
	}
	if it.Kind == adapters.KindEpic || it.Kind == adapters.KindInitiative {
		return adapters.Permanent(fmt.Errorf("jira data center links only issues to epics (Epic Link), not a %s to a parent: %w", it.Kind, adapters.ErrUnsupported))
	}
	key, err := t.keyOf(ctx, *p)
	if err != nil {
		return fmt.Errorf("resolving the parent %s: %w", p, err)
	}
	out[t.epicLink] = key
	return nil
}
