package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) runsCmd() *cobra.Command {
	var flow string
	var limit int
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "Show the run history, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usageErr("--limit %d: want a number of runs, 0 for all", limit)
			}
			ctx := cmd.Context()
			if err := a.prepareReadOnly(ctx, flow, false); err != nil {
				return err
			}
			runs, err := a.st.ListRuns(ctx, flow, limit)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.json(nonNil(runs))
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "RUN\tFLOW\tSTARTED\tTOOK\tSTATE\tCREATED\tUPDATED\tCONFLICTS\tERRORS\tERROR")
			for _, r := range runs {
				took := "-"
				if !r.FinishedAt.IsZero() {
					took = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
				}
				state := r.State
				if r.DryRun {
					state += " (dry run)"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.Flow, r.StartedAt.Local().Format(time.DateTime), took, state,
					r.Counts.Created, r.Counts.Updated, r.Counts.Conflicts, r.Counts.Errors, a.redact(r.Error))
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&flow, "flow", "", "only this flow")
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many runs (0: all)")
	cmd.AddCommand(a.runsShowCmd())
	return cmd
}
