package flowtest

import (
	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
)

// The statuses the tests sync, and the maps between them.
var (
	// Workflow is Jira's default workflow, as a Jira-like tracker's
	// statuses.
	Workflow = []adapters.StatusDef{{Name: "To Do", Category: adapters.CategoryTodo}, {Name: "In Progress", Category: adapters.CategoryInProgress},
		{Name: "In Review", Category: adapters.CategoryInProgress}, {Name: "Done", Category: adapters.CategoryDone}}
	// Simple is a tracker with three statuses.
	Simple = []adapters.StatusDef{{Name: "open", Category: adapters.CategoryTodo}, {Name: "active", Category: adapters.CategoryInProgress}, {Name: "closed", Category: adapters.CategoryDone}}
	// SimpleMap maps Workflow (side a) onto Simple (side b), many to one.
	SimpleMap = []config.ValuePair{{A: "To Do", B: "open"}, {A: "In Progress", B: "active"}, {A: "In Review", B: "active"}, {A: "Done", B: "closed"}}
	// Board is a GitHub board's Status options for Workflow, named so a
	// flow compiles before the project is read (as project.categories
	// does).
	Board = []adapters.StatusDef{{Name: "Todo", Category: adapters.CategoryTodo}, {Name: "In Progress", Category: adapters.CategoryInProgress},
		{Name: "In Review", Category: adapters.CategoryInProgress}, {Name: "Done", Category: adapters.CategoryDone}}
	// BoardMap maps Workflow (side a) onto Board (side b).
	BoardMap = []config.ValuePair{{A: "To Do", B: "Todo"}, {A: "In Progress", B: "In Progress"}, {A: "In Review", B: "In Review"}, {A: "Done", B: "Done"}}
	// LabelMap maps Workflow (side a) onto GitHub's state and status
	// labels (side b): GitHub has only open and closed, so the two
	// in-progress statuses ride on labels.
	LabelMap = []config.ValuePair{
		{A: "To Do", B: "open"},
		{A: "In Progress", B: "open", BLabel: "status: in progress"},
		{A: "In Review", B: "open", BLabel: "status: in review"},
		{A: "Done", B: "closed"},
	}
)

// People are Ana, Bo and Cy as ana, bo and cy on a and gh-ana, gh-bo and
// gh-cy on b.
var People = Users([]string{"ana", "bo", "cy"}, []string{"gh-ana", "gh-bo", "gh-cy"})

// Names are the statuses' names.
func Names(defs []adapters.StatusDef) []string {
	out := make([]string, len(defs))
	for i, d := range defs {
		out[i] = d.Name
	}
	return out
}

// Fields are the fields the engine's tests sync between Workflow and
// Simple: everything both ways but the body (a to b).
func Fields() map[string]config.FieldConfig { return FieldsWith(SimpleMap, "priority") }

// FieldsWith are the fields the convergence tests sync: the body from a
// to b; title, labels, assignees, comments, the status through status
// and the fields more both ways.
func FieldsWith(status []config.ValuePair, more ...string) map[string]config.FieldConfig {
	fields := map[string]config.FieldConfig{
		"title":     {Direction: "both"},
		"body":      {Direction: "a-to-b"},
		"labels":    {Direction: "both"},
		"assignees": {Direction: "both"},
		"comments":  {Direction: "both"},
		"status":    {Direction: "both", Map: status},
	}
	for _, f := range more {
		fields[f] = config.FieldConfig{Direction: "both"}
	}
	return fields
}
