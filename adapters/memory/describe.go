package memory

import (
	"context"

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
	d := adapters.DescribeCapabilities(t.opts.Project, t.Capabilities(), nil)
	d.SetUsed(t.Items())
	return d, nil
}
