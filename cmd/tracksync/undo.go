package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func (a *app) undoCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "undo RUN",
		Short:             "Revert the field writes of one run, skipping fields changed since",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeRuns,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErr("RUN must be a run number (see `tracksync runs`), not %q", args[0])
			}
			ctx := cmd.Context()
			if err := a.prepare(ctx, "", false); err != nil {
				return err
			}
			r, err := a.st.GetRun(ctx, id)
			if err != nil {
				// The store's error names the run already.
				return usageErr("%v (see `tracksync runs`)", err)
			}
			if err := a.openFlows(ctx, r.Flow); err != nil {
				return err
			}
			rep, err := a.eng.Undo(ctx, a.flows, id)
			if rep != nil {
				rep.Reverted, rep.Skipped = nonNil(rep.Reverted), nonNil(rep.Skipped)
			}
			if a.output == "json" && rep != nil {
				if jerr := a.json(rep); jerr != nil {
					return jerr
				}
			} else if rep != nil {
				for _, s := range rep.Reverted {
					fmt.Fprintln(a.stdout, "reverted "+s)
				}
				for _, s := range rep.Skipped {
					fmt.Fprintln(a.stdout, "skipped  "+s)
				}
				fmt.Fprintf(a.stdout, "undo of run %d recorded as run %d: %d reverted, %d skipped\n", id, rep.Run.ID, len(rep.Reverted), len(rep.Skipped))
			}
			return err
		},
	}
}
