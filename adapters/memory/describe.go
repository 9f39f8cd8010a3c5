package memory

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

var _ adapters.Describer = (*Tracker)(nil)

// Describe lists the configured workflow (any status may follow any
// other), the fields, the kinds, and the labels and assignees the stored
// items use (a memory tracker has no user directory).
func (t *Tracker) Describe(ctx context.Context, scope string) (adapters.Description, error) {
	if err := ctx.Err(); err != nil {
		return adapters.Description{}, err
	}
	caps := t.Capabilities()
	d := adapters.Description{Scope: t.opts.Project}
	for _, s := range caps.Statuses {
		d.Statuses = append(d.Statuses, adapters.StatusDescription{Name: s.Name, Category: s.Category})
	}
	d.Fields = adapters.StandardFieldDescriptions(caps, nil)
	for _, f := range caps.Fields {
		if name, ok := strings.CutPrefix(f, adapters.CustomPrefix); ok {
			d.Fields = append(d.Fields, adapters.FieldDescription{ID: name, Name: name, Type: "string", Custom: true, Sync: f})
		}
	}
	for _, k := range caps.Kinds {
		d.IssueTypes = append(d.IssueTypes, string(k))
	}
	users := map[string]bool{}
	for _, it := range t.Items() {
		for _, l := range it.Labels {
			if !slices.Contains(d.Labels, l) {
				d.Labels = append(d.Labels, l)
			}
		}
		for _, a := range it.Assignees {
			users[a] = true
		}
	}
	slices.Sort(d.Labels)
	for _, u := range slices.Sorted(maps.Keys(users)) {
		d.Users = append(d.Users, adapters.UserDescription{ID: u})
	}
	return d, nil
}
