package main

import (
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/tracksync/tracksync/store"
)

func (a *app) conflictsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conflicts",
		Short: "List or resolve conflicts held for a person",
	}
	var flow string
	var all bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List held conflicts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := a.prepareReadOnly(ctx, flow, false); err != nil {
				return err
			}
			state := store.ConflictOpen
			if all {
				state = ""
			}
			cs, err := a.st.ListConflicts(ctx, flow, state)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.json(nonNil(cs))
			}
			if len(cs) == 0 {
				fmt.Fprintln(a.stdout, "no conflicts held")
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tFLOW\tITEM\tFIELD\tA\tB\tBASE\tSTATE")
			for _, c := range cs {
				item := strconv.FormatInt(c.LinkID, 10)
				if l, err := a.st.GetLink(ctx, c.LinkID); err == nil {
					item = l.A.String() + " <> " + l.B.String()
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%q\t%q\t%q\t%s\n", c.ID, c.Flow, item, c.Field, c.A, c.B, c.Base, c.State)
			}
			return w.Flush()
		},
	}
	list.Flags().StringVar(&flow, "flow", "", "only this flow")
	list.Flags().BoolVar(&all, "all", false, "include resolved conflicts")

	var take, value string
	resolve := &cobra.Command{
		Use:               "resolve ID --take a|b|value [--value V]",
		Short:             "Settle a held conflict: keep side a's value, side b's, or a given value",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeConflicts,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErr("conflict ID must be a number, not %q", args[0])
			}
			switch take {
			case "a", "b":
			case "value":
				if !cmd.Flags().Changed("value") {
					return usageErr("--take value needs --value")
				}
			default:
				return usageErr("--take must be a, b or value")
			}
			ctx := cmd.Context()
			a.needsState = true
			if err := a.prepare(ctx, "", false); err != nil {
				return err
			}
			c, err := a.st.GetConflict(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				// The store's error names the conflict already.
				return usageErr("%v (see `tracksync conflicts list --all`)", err)
			}
			if err != nil {
				return err
			}
			if err := a.openFlows(ctx, c.Flow); err != nil {
				return err
			}
			run, err := a.eng.Resolve(ctx, a.flows[c.Flow], id, take, value)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.json(run)
			}
			fmt.Fprintf(a.stdout, "conflict %d resolved (%s) in run %d: %d side(s) updated\n", id, take, run.ID, run.Counts.Updated)
			return nil
		},
	}
	resolve.Flags().StringVar(&take, "take", "", "a, b or value")
	resolve.Flags().StringVar(&value, "value", "", "the value to write to both sides, in side A's vocabulary (with --take value)")
	cmd.AddCommand(list, resolve)
	return cmd
}
