package roadmap

import (
	"context"

	"github.com/tracksync/tracksync/adapters"
)

var _ adapters.Describer = (*Tracker)(nil)

// Describe lists the file's statuses (any may follow any other), the
// fields an initiative has, and the labels and owners the file uses.
func (t *Tracker) Describe(ctx context.Context, scope string) (adapters.Description, error) {
	d := adapters.DescribeCapabilities(t.path, t.Capabilities(), map[string]string{adapters.FieldDue: "date"})
	var items []adapters.Item
	req := adapters.ListRequest{}
	for {
		page, err := t.List(ctx, req)
		if err != nil {
			return adapters.Description{}, err
		}
		items = append(items, page.Items...)
		if page.NextPageToken == "" {
			break
		}
		req.PageToken = page.NextPageToken
	}
	d.SetUsed(items)
	return d, nil
}
