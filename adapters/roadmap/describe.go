package roadmap

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

var _ adapters.Describer = (*Tracker)(nil)

// Describe lists the file's statuses (any may follow any other), the
// fields an initiative has, and the labels and owners the file uses.
func (t *Tracker) Describe(ctx context.Context, scope string) (adapters.Description, error) {
	caps := t.Capabilities()
	d := adapters.Description{Scope: t.path}
	for _, s := range caps.Statuses {
		d.Statuses = append(d.Statuses, adapters.StatusDescription{Name: s.Name, Category: s.Category})
	}
	d.Fields = adapters.StandardFieldDescriptions(caps, map[string]string{adapters.FieldDue: "date"})
	for _, f := range caps.Fields {
		if name, ok := strings.CutPrefix(f, adapters.CustomPrefix); ok {
			d.Fields = append(d.Fields, adapters.FieldDescription{ID: name, Name: name, Type: "string", Custom: true, Sync: f})
		}
	}
	for _, k := range caps.Kinds {
		d.IssueTypes = append(d.IssueTypes, string(k))
	}
	labels, users := map[string]bool{}, map[string]bool{}
	req := adapters.ListRequest{}
	for {
		page, err := t.List(ctx, req)
		if err != nil {
			return adapters.Description{}, err
		}
		for _, it := range page.Items {
			for _, l := range it.Labels {
				labels[l] = true
			}
			for _, a := range it.Assignees {
				users[a] = true
			}
		}
		if page.NextPageToken == "" {
			break
		}
		req.PageToken = page.NextPageToken
	}
	d.Labels = slices.Sorted(maps.Keys(labels))
	for _, u := range slices.Sorted(maps.Keys(users)) {
		d.Users = append(d.Users, adapters.UserDescription{ID: u})
	}
	return d, nil
}
