package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/initiatives"
)

func (a *app) linksCmd() *cobra.Command {
	var flow string
	cmd := &cobra.Command{
		Use:   "links",
		Short: "List the linked item pairs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			// Items fan-out made for initiatives are linked under flow
			// initiatives:<tracker>, which the config does not list.
			only := flow
			if strings.HasPrefix(flow, initiatives.FanoutFlow("")) {
				only = ""
			}
			if err := a.prepareReadOnly(ctx, only, false); err != nil {
				return err
			}
			if only != flow {
				if _, ok := a.cfg.Trackers[strings.TrimPrefix(flow, initiatives.FanoutFlow(""))]; !ok {
					return usageErr("--flow %q: no such tracker in %s (trackers: %s)", flow, a.cfg.Path, strings.Join(slices.Sorted(maps.Keys(a.cfg.Trackers)), ", "))
				}
			}
			ls, err := a.st.ListLinks(ctx, flow)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.json(nonNil(ls))
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tFLOW\tA\tB\tSTATE")
			for _, l := range ls {
				state := "linked"
				switch {
				case strings.HasPrefix(l.Key, "unlinked:"):
					state = "unlinked by hand (both kept, left alone)"
				case strings.HasPrefix(l.A.ID, "deleted:") || strings.HasPrefix(l.B.ID, "deleted:"):
					state = "unlinked (one side deleted or out of scope)"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", l.ID, l.Flow, l.A, l.B, state)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&flow, "flow", "", "only this flow")
	return cmd
}
