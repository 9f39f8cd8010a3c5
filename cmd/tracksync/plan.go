package main

import (
	"github.com/spf13/cobra"
	tsync "github.com/tracksync/tracksync/sync"
)

func (a *app) planCmd() *cobra.Command {
	var flow string
	var full bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Print exactly what a sync run would do, writing nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := a.prepareReadOnly(ctx, flow, true); err != nil {
				return err
			}
			plans := []*tsync.Plan{}
			for _, name := range a.order {
				p, err := a.eng.Plan(ctx, a.flows[name], tsync.RunOptions{Full: full})
				if err != nil {
					return err
				}
				plans = append(plans, emptyOps(p))
			}
			if a.output == "json" {
				return a.json(plans)
			}
			for _, p := range plans {
				if err := p.WriteText(a.stdout); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&flow, "flow", "", "only this flow")
	cmd.Flags().BoolVar(&full, "full", false, "full reconcile: compare every linked item, not only what changed")
	return cmd
}
