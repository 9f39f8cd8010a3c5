package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/adapters"
)

// optionInfo is one adapter option as `trackers describe` shows it: the
// spec from the registry and whether the config sets it (a secret's
// value is never shown).
type optionInfo struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Default  any      `json:"default,omitempty"`
	Required bool     `json:"required"`
	Secret   bool     `json:"secret"`
	Enum     []string `json:"enum,omitempty"`
	Help     string   `json:"help"`
	Set      bool     `json:"set"`
	Value    any      `json:"value,omitempty"` // not for secrets
}

type trackerDescription struct {
	Tracker string                 `json:"tracker"`
	Kind    string                 `json:"kind"`
	Options []optionInfo           `json:"options"`
	Live    []adapters.Description `json:"live"`
	Notes   []string               `json:"notes,omitempty"`
}

func (a *app) trackersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trackers",
		Short: "Look at the configured trackers",
	}
	var scope string
	describe := &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a tracker's options and what the live tracker has: statuses and transitions, fields, issue types, labels, users",
		Long: `Prints the adapter's options (type, default, required, secret, and whether
the config sets them) and what the live tracker has, for writing a mapping:
statuses with their categories and the statuses a workflow transition
reaches from each, fields (custom ones with their ids and types, and the
name a flow's fields: section uses), issue types, labels, and the users
items may be assigned to (for the users: table).

The scope described is --scope, else each scope the config's flows use on
this tracker, else the tracker's own default (Jira's project option).`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTrackers,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := a.loadConfig(); err != nil {
				return err
			}
			name := args[0]
			tc, ok := a.cfg.Trackers[name]
			if !ok {
				return usageErr("tracker %q: not in %s (trackers: %s)", name, a.cfg.Path, strings.Join(a.trackerNames(), ", "))
			}
			spec, ok := adapters.Default.Lookup(tc.Kind)
			if !ok {
				return usageErr("trackers.%s.kind: %q is not a known kind (%s)", name, tc.Kind, strings.Join(adapters.Default.Kinds(), ", "))
			}
			out := trackerDescription{Tracker: name, Kind: tc.Kind, Options: []optionInfo{}, Live: []adapters.Description{}}
			for _, o := range spec.Options {
				v, set := lookupOption(tc.Options, o.Name)
				oi := optionInfo{Name: o.Name, Type: string(o.Type), Default: o.Default, Required: o.Required, Secret: o.Secret, Enum: o.Enum, Help: o.Help, Set: set}
				if set && !o.Secret {
					oi.Value = v
				}
				if d, ok := o.Default.(fmt.Stringer); ok {
					oi.Default = d.String() // durations as 30s, not nanoseconds
				}
				out.Options = append(out.Options, oi)
			}
			tr, err := adapters.Default.Open(ctx, name, tc.Kind, tc.Options, a.log, a.cfg.BaseDir())
			if err != nil {
				return fmt.Errorf("opening tracker %s: %w", name, err)
			}
			desc, ok := tr.(adapters.Describer)
			if !ok {
				out.Notes = append(out.Notes, "the "+tc.Kind+" adapter cannot describe the live tracker")
			} else {
				scopes := []string{scope}
				if scope == "" {
					scopes = a.scopesOf(name)
				}
				for _, s := range scopes {
					d, err := desc.Describe(ctx, s)
					if err != nil {
						return err
					}
					out.Live = append(out.Live, d.NonNil())
				}
			}
			if a.output == "json" {
				return a.json(out)
			}
			return writeDescription(a, out)
		},
	}
	describe.Flags().StringVar(&scope, "scope", "", "the scope to describe (a JQL query naming a project, owner/repo); default: the flows' scopes on this tracker")
	cmd.AddCommand(describe)
	return cmd
}

// scopesOf lists the distinct scopes the flows use on tracker name, or
// [""] when none names one.
func (a *app) scopesOf(name string) []string {
	var out []string
	for _, f := range a.cfg.Flows {
		for _, side := range []struct{ tracker, scope string }{{f.A.Tracker, f.A.Scope}, {f.B.Tracker, f.B.Scope}} {
			if side.tracker == name && side.scope != "" && !slices.Contains(out, side.scope) {
				out = append(out, side.scope)
			}
		}
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

func (a *app) trackerNames() []string {
	var out []string
	for n := range a.cfg.Trackers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (a *app) completeTrackers(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 || a.loadConfig() != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return a.trackerNames(), cobra.ShellCompDirectiveNoFileComp
}

// lookupOption finds a dotted option name ("auth.token") in the options
// as written (nested maps).
func lookupOption(opts map[string]any, name string) (any, bool) {
	var cur any = opts
	for _, part := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func writeDescription(a *app, d trackerDescription) error {
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "tracker %s (kind %s)\n\nOPTION\tTYPE\tDEFAULT\tREQUIRED\tSECRET\tSET\tHELP\n", d.Tracker, d.Kind)
	for _, o := range d.Options {
		def := ""
		if o.Default != nil {
			def = fmt.Sprint(o.Default)
		}
		set := "no"
		if o.Set {
			set = "yes"
			if o.Value != nil {
				set = fmt.Sprint(o.Value)
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.Name, o.Type, def, yesNo(o.Required), yesNo(o.Secret), set, o.Help)
	}
	w.Flush()
	for _, n := range d.Notes {
		fmt.Fprintf(a.stdout, "\nnote: %s\n", n)
	}
	for _, l := range d.Live {
		fmt.Fprintf(a.stdout, "\n== %s ==\n\n", l.Scope)
		w = tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "STATUS\tCATEGORY\tTRANSITIONS TO")
		for _, s := range l.Statuses {
			to := "any"
			if !s.Any && s.To != nil {
				to = strings.Join(s.To, ", ")
				if to == "" {
					to = "-"
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", s.Name, s.Category, to)
		}
		w.Flush()
		fmt.Fprintln(a.stdout)
		w = tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "FIELD\tID\tTYPE\tSYNC AS")
		for _, f := range l.Fields {
			sync := f.Sync
			if sync == "" {
				sync = "-"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", f.Name, f.ID, f.Type, sync)
		}
		w.Flush()
		fmt.Fprintf(a.stdout, "\nissue types: %s\nlabels: %s\n", orNone(l.IssueTypes), orNone(l.Labels))
		fmt.Fprintln(a.stdout, "users:")
		for _, u := range l.Users {
			line := "  " + u.ID
			if u.Name != "" {
				line += "  " + u.Name
			}
			if u.Email != "" {
				line += "  <" + u.Email + ">"
			}
			fmt.Fprintln(a.stdout, line)
		}
		for _, n := range l.Notes {
			fmt.Fprintf(a.stdout, "note: %s\n", n)
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "(none)"
	}
	return strings.Join(l, ", ")
}
