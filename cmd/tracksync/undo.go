package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/store"
)

// loadRun parses arg as a run number, prepares the config and store, and
// reads that run.
func (a *app) loadRun(ctx context.Context, arg string) (store.Run, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return store.Run{}, usageErr("RUN must be a run number (see `tracksync runs`), not %q", arg)
	}
	a.needsState = true
	if err := a.prepare(ctx, "", false); err != nil {
		return store.Run{}, err
	}
	r, err := a.st.GetRun(ctx, id)
	if err != nil {
		// The store's error names the run already.
		return store.Run{}, usageErr("%v (see `tracksync runs`)", err)
	}
	return r, nil
}

func (a *app) undoCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "undo RUN",
		Short:             "Revert the field writes of one run, skipping fields changed since",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeRuns,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			r, err := a.loadRun(ctx, args[0])
			if err != nil {
				return err
			}
			id := r.ID
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
