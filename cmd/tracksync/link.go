package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// parseItemArg reads "tracker:key" (jira:PLAT-7, github:acme/platform#12)
// and says which side of flow f the tracker is on.
func parseItemArg(f *tsync.Flow, arg string) (store.Side, adapters.Ref, error) {
	tr, key, ok := strings.Cut(arg, ":")
	if !ok || tr == "" || key == "" {
		return "", adapters.Ref{}, fmt.Errorf("%q: want tracker:key, like %s:%s", arg, f.A.Name(), "KEY-1")
	}
	switch tr {
	case f.A.Name():
		return store.SideA, adapters.Ref{Tracker: tr, Key: key}, nil
	case f.B.Name():
		return store.SideB, adapters.Ref{Tracker: tr, Key: key}, nil
	}
	return "", adapters.Ref{}, fmt.Errorf("%q: tracker %s is on neither side of flow %s (a: %s, b: %s)", arg, tr, f.Map.Name, f.A.Name(), f.B.Name())
}

func (a *app) linkCmd() *cobra.Command {
	var flow, file string
	var dry bool
	cmd := &cobra.Command{
		Use:   "link --flow F (A-ITEM B-ITEM | --file mapping.csv)",
		Short: "Link existing items by hand (tracker:key pairs, or a CSV of a_key,b_key lines)",
		Long: `Link two items that already exist, one on each side of a flow, so the flow
syncs them instead of copying either: tracksync link --flow platform
jira:PLAT-7 github:acme/platform#12. With --file, every a_key,b_key line of a
CSV is linked (keys of side a's and side b's tracker). The next run compares
each new pair like a pair matched on first contact: differences are settled
by the flow's conflict policy, or held under manual.`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if flow == "" {
				return usageErr("link needs --flow")
			}
			if (file == "") == (len(args) == 0) || (file == "" && len(args) != 2) {
				return usageErr("link needs two items (tracker:key tracker:key) or --file, not both")
			}
			ctx := cmd.Context()
			if err := a.prepare(ctx, flow, true); err != nil {
				return err
			}
			f := a.flows[flow]
			var pairs [][2]adapters.Ref
			var where []string
			if file == "" {
				var refs [2]adapters.Ref
				var seen [2]bool
				for _, arg := range args {
					s, r, err := parseItemArg(f, arg)
					if err != nil {
						return usageErr("%v", err)
					}
					i := 0
					if s == store.SideB {
						i = 1
					}
					if seen[i] {
						return usageErr("both items are on side %s of flow %s: link one item of each side", s, flow)
					}
					refs[i], seen[i] = r, true
				}
				pairs, where = append(pairs, refs), append(where, "")
			} else {
				rows, err := tsync.ReadMappingFile(file)
				if err != nil {
					return usageErr("--file: %v", err)
				}
				for _, r := range rows {
					pairs = append(pairs, [2]adapters.Ref{{Tracker: f.A.Name(), Key: r.A}, {Tracker: f.B.Name(), Key: r.B}})
					where = append(where, fmt.Sprintf("%s line %d: ", file, r.Line))
				}
			}
			var results []*tsync.LinkResult
			failed := 0
			for i, p := range pairs {
				res, err := a.eng.Link(ctx, f, p[0], p[1], dry)
				if err != nil {
					failed++
					fmt.Fprintf(a.stderr, "tracksync: %s%s\n", where[i], a.redact(err.Error()))
					continue
				}
				results = append(results, res)
				if a.output == "text" {
					verb := "linked"
					if dry {
						verb = "would link (dry run)"
					}
					line := fmt.Sprintf("%s%s %s with %s in flow %s", where[i], verb, res.Link.A, res.Link.B, flow)
					if res.Note != "" {
						line += " (" + res.Note + ")"
					}
					fmt.Fprintln(a.stdout, line)
				}
			}
			if a.output == "json" {
				if err := a.json(nonNil(results)); err != nil {
					return err
				}
			} else if len(pairs) > 1 {
				fmt.Fprintf(a.stdout, "%d linked, %d failed\n", len(results), failed)
			}
			if failed > 0 {
				return &exitError{code: exitFailed}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&flow, "flow", "", "the flow (required)")
	fl.StringVar(&file, "file", "", "a CSV of a_key,b_key lines to link")
	fl.BoolVar(&dry, "dry-run", false, "check and print, link nothing")
	return cmd
}

func (a *app) unlinkCmd() *cobra.Command {
	var flow string
	var dry bool
	cmd := &cobra.Command{
		Use:   "unlink --flow F ITEM",
		Short: "Forget a linked pair, keeping both items; the flow leaves both alone from then on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if flow == "" {
				return usageErr("unlink needs --flow")
			}
			ctx := cmd.Context()
			if err := a.prepare(ctx, flow, true); err != nil {
				return err
			}
			f := a.flows[flow]
			s, r, err := parseItemArg(f, args[0])
			if err != nil {
				return usageErr("%v", err)
			}
			res, err := a.eng.Unlink(ctx, f, s, r, dry)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.json(res)
			}
			verb := "unlinked"
			if dry {
				verb = "would unlink (dry run)"
			}
			fmt.Fprintf(a.stdout, "%s %s and %s in flow %s (link %d); both items are kept and left alone by the flow\n", verb, res.Link.A, res.Link.B, flow, res.Link.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&flow, "flow", "", "the flow (required)")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "check and print, unlink nothing")
	return cmd
}
