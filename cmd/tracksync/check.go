package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	tsync "github.com/tracksync/tracksync/sync"
)

// exitDrift is check's exit code when linked pairs disagree.
const exitDrift = exitFailed

func (a *app) checkCmd() *cobra.Command {
	var flow string
	cmd := &cobra.Command{
		Use:   "check [--flow F]",
		Short: "Drift report: compare every linked pair field by field, writing nothing; exit 0 when all agree",
		Long: `Reads both sides of every linked pair and compares them field by field
through the flow's mapping, writing nothing (like rclone check). It lists
the differences no pending change explains: what the next run would write
is pending, not drift. Drift is an edit the listing cursor went past, a
pair that disagrees through the current mapping although neither side
changed since the last sync, or a counterpart that is gone.

Exit code 0 when every pair agrees, 1 when there is drift (a
` + "`sync --once --full`" + ` compares every pair and settles what it can).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := a.prepareReadOnly(ctx, flow, true); err != nil {
				return err
			}
			reps := []*tsync.CheckReport{}
			drift := 0
			for _, name := range a.order {
				rep, err := a.eng.Check(ctx, a.flows[name])
				if err != nil {
					return err
				}
				reps = append(reps, rep)
				drift += len(rep.Drift)
			}
			if a.output == "json" {
				if err := a.json(reps); err != nil {
					return err
				}
			} else {
				for _, rep := range reps {
					fmt.Fprintf(a.stdout, "flow %s: %d linked, %d compared, %d pending for the next run, %d drifted\n", rep.Flow, rep.Linked, rep.Compared, rep.Pending, len(rep.Drift))
					if len(rep.Drift) == 0 {
						continue
					}
					w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "  LINK\tA\tB\tFIELD\tA VALUE\tB VALUE\tWHY")
					for _, d := range rep.Drift {
						field := d.Field
						if field == "" {
							field = "-"
						}
						fmt.Fprintf(w, "  %d\t%s\t%s\t%s\t%q\t%q\t%s\n", d.LinkID, d.A, d.B, field, d.AValue, d.BValue, d.Reason)
					}
					w.Flush()
				}
			}
			if drift > 0 {
				return &exitError{code: exitDrift, err: fmt.Errorf("%d difference(s) no pending change explains", drift)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&flow, "flow", "", "only this flow")
	return cmd
}
