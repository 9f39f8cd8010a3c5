package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/store"
)

func (a *app) runsShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "show RUN",
		Short:             "Show what one run did, item by item: created, updated (fields old -> new), linked, unlinked, skipped or failed, and why",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeRuns,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a.readOnly = true
			r, err := a.loadRun(ctx, args[0])
			if err != nil {
				return err
			}
			id := r.ID
			items := []store.RunItem{}
			if rs, ok := a.st.(store.RunItemStore); ok {
				if items, err = rs.ListRunItems(ctx, id); err != nil {
					return err
				}
			}
			if a.output == "json" {
				return a.json(map[string]any{"run": r, "items": items})
			}
			took := "-"
			if !r.FinishedAt.IsZero() {
				took = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
			}
			c := r.Counts
			fmt.Fprintf(a.stdout, "run %d of flow %s: %s, started %s, took %s\n  %d created, %d updated, %d unchanged, %d archived, %d unlinked, %d comments, %d conflicts, %d errors\n",
				r.ID, r.Flow, r.State, r.StartedAt.Local().Format(time.DateTime), took, c.Created, c.Updated, c.Unchanged, c.Archived, c.Unlinked, c.Comments, c.Conflicts, c.Errors)
			if r.Error != "" {
				fmt.Fprintln(a.stdout, "  error: "+a.redact(r.Error))
			}
			if len(items) == 0 {
				fmt.Fprintln(a.stdout, "  no item was written")
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "\n  ACTION\tITEM\tFROM\tFIELDS\tWHY")
			for _, it := range items {
				var fs []string
				for _, f := range it.Fields {
					fs = append(fs, fmt.Sprintf("%s: %q -> %q", f.Field, short(f.From), short(f.To)))
				}
				fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", it.Action, it.Item, it.Source, strings.Join(fs, "; "), a.redact(it.Reason))
			}
			return w.Flush()
		},
	}
}
