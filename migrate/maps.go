package migrate

import (
	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
)

// DefaultFlow is the flow config a migration maps by when given neither a
// map file nor a flow: from side a (tracker from) to side b (tracker to),
// every standard field both trackers hold, and comments. Compile it with
// mapping.Compile against both trackers' capabilities, so statuses of the
// same category find each other.
func DefaultFlow(from, to string, fromCaps, toCaps adapters.Capabilities) config.Flow {
	f := config.Flow{Name: "migrate", A: config.FlowSide{Tracker: from}, B: config.FlowSide{Tracker: to}, Direction: "a-to-b", Fields: map[string]config.FieldConfig{}}
	for _, name := range adapters.StandardFields {
		if has(fromCaps, name) && has(toCaps, name) {
			f.Fields[name] = config.FieldConfig{}
			f.Order = append(f.Order, name)
		}
	}
	f.Fields["comments"] = config.FieldConfig{}
	f.Order = append(f.Order, "comments")
	return f
}

func has(c adapters.Capabilities, field string) bool {
	return len(c.Fields) == 0 || c.HasField(field)
}
