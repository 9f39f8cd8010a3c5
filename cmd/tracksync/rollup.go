package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/initiatives"
	"github.com/tracksync/tracksync/rollup"
)

func (a *app) rollupCmd() *cobra.Command {
	var only, format string
	var write bool
	var days int
	cmd := &cobra.Command{
		Use:   "rollup",
		Short: "Show each initiative's progress over its child tree",
		Long: `Reads the initiatives and their children from the trackers the config's
initiatives section names and prints each initiative's roll-up: items by
status category, percent done (by count or estimate), target date and
at-risk reasons, with its direct children.

Read-only unless --write: with it, rollup also creates missing delivery
items (fan-out) and writes progress back where the config says, as the
daemon does. A snapshot of today's figures is stored either way, for the
dashboard's burn-up sparklines. When a write (or the snapshot) fails, the
roll-ups are printed all the same, then the failure, with exit code 1 (5
when trying again later can fix it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			switch format {
			case "table", "json", "markdown", "html":
			default:
				return usageErr("--format %q: want table, json, markdown or html", format)
			}
			if days < 0 {
				return usageErr("--days %d: want 0 or more days of history", days)
			}
			if a.output == "json" && !cmd.Flags().Changed("format") {
				format = "json"
			}
			a.readOnly = !write
			if err := a.prepare(ctx, "", false); err != nil {
				return err
			}
			if a.cfg.Initiatives == nil {
				return usageErr("%s has no initiatives section (see the README: Initiatives and roll-ups)", a.cfg.Path)
			}
			svc, err := initiatives.Open(ctx, a.cfg, adapters.Default, a.log, a.st, nil)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			svc.SetReadOnly(!write)
			res, loadErr := svc.Load(ctx)
			if loadErr != nil && !svc.Initialised() {
				return loadErr
			}
			// Read, but a write-back, fan-out or snapshot failed: the
			// roll-ups are still shown, then the failure (loadErr).
			if only != "" {
				if _, ok := svc.Initiative(only); !ok {
					var keys []string
					for _, r := range svc.Rollups() {
						keys = append(keys, r.Initiative.Key)
					}
					slices.Sort(keys)
					return usageErr("--initiative %q: no such initiative (known: %s)", only, strings.Join(keys, ", "))
				}
			}
			rep, err := svc.Report(ctx, days, only)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				err = rollup.WriteJSON(a.stdout, rep)
			case "markdown":
				err = rollup.WriteMarkdown(a.stdout, rep)
			case "html":
				err = rollup.WriteHTML(a.stdout, rep, rollup.HTMLOptions{})
			default:
				err = rollup.WriteTable(a.stdout, rep)
			}
			if err != nil {
				return err
			}
			if write && format == "table" {
				fmt.Fprintf(a.stdout, "\ncreated %d delivery item(s), made %d write-back write(s)\n", len(res.Created), res.Written)
			}
			return loadErr
		},
	}
	cmd.Flags().StringVar(&only, "initiative", "", "only this initiative (its key, e.g. INIT-1)")
	cmd.Flags().StringVar(&format, "format", "table", "table, json, markdown or html")
	cmd.Flags().BoolVar(&write, "write", false, "also create missing delivery items and write progress back")
	cmd.Flags().IntVar(&days, "days", 90, "days of history for the sparklines (html, json)")
	return cmd
}
