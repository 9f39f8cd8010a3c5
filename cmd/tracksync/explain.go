package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

func (a *app) explainCmd() *cobra.Command {
	var flow string
	cmd := &cobra.Command{
		Use:   "explain ITEM",
		Short: "Say what the next run would do with one item, and why (ITEM: a key, id or URL on any tracker)",
		Long: `Finds ITEM (PLAT-12, acme/app#7, a browser URL, or tracker:key) on the
trackers of the flows and prints, for each flow that sees it: whether it is
linked and to what, each synced field's base and both sides' current
values, what the next run would write, and why anything is not written:
the flow's or the field's direction, a field's owner, the conflict policy,
the scope, a status the map lacks, a user the users table lacks, or a write
the tracker refused in a recent run (with the tracker's message). It plans
a full run, reading every item in scope, and writes nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := a.prepareReadOnly(ctx, flow, true); err != nil {
				return err
			}
			out := []*tsync.Explanation{}
			for _, name := range a.order {
				f := a.flows[name]
				for _, side := range []store.Side{store.SideA, store.SideB} {
					tr := f.A
					if side == store.SideB {
						tr = f.B
					}
					it, ok, err := findItem(ctx, tr, args[0])
					if err != nil {
						return err
					}
					if !ok {
						continue
					}
					x, err := a.eng.Explain(ctx, f, side, it)
					if err != nil {
						return err
					}
					out = append(out, x)
				}
			}
			if len(out) == 0 {
				return usageErr("%s: no tracker of the flows (%s) has this item", args[0], strings.Join(a.order, ", "))
			}
			if a.output == "json" {
				return a.json(out)
			}
			for _, x := range out {
				writeExplanation(a, x)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&flow, "flow", "", "only this flow")
	return cmd
}

var (
	githubURL = regexp.MustCompile(`^/([^/]+)/([^/]+)/(?:issues|pull)/(\d+)`)
	jiraKey   = regexp.MustCompile(`[A-Z][A-Z0-9_]+-\d+`)
)

// findItem reads item s on tr, trying it as written (a key or an id), as
// tracker:key when the prefix names tr, and as a URL.
func findItem(ctx context.Context, tr adapters.Tracker, s string) (adapters.Item, bool, error) {
	var refs []adapters.Ref
	if name, rest, ok := strings.Cut(s, ":"); ok && name == tr.Name() {
		s = rest
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		if m := githubURL.FindStringSubmatch(u.Path); m != nil {
			refs = append(refs, adapters.Ref{ID: m[1] + "/" + m[2] + "#" + m[3]})
		}
		if k := jiraKey.FindString(u.Path + "?" + u.RawQuery); k != "" {
			refs = append(refs, adapters.Ref{Key: k})
		}
	} else {
		refs = append(refs, adapters.Ref{Key: s}, adapters.Ref{ID: s})
	}
	for _, r := range refs {
		r.Tracker = tr.Name()
		it, err := tr.Get(ctx, r)
		switch {
		case err == nil:
			return it, true, nil
		case errors.Is(err, adapters.ErrNotFound), errors.Is(err, adapters.ErrInvalid), errors.Is(err, adapters.ErrUnsupported):
		default:
			var api *adapters.APIError
			if errors.As(err, &api) && api.Status == 400 {
				continue // not this tracker's kind of key
			}
			return adapters.Item{}, false, fmt.Errorf("looking for %s on %s: %w", s, tr.Name(), err)
		}
	}
	return adapters.Item{}, false, nil
}

func writeExplanation(a *app, x *tsync.Explanation) {
	fmt.Fprintf(a.stdout, "flow %s, side %s: %s", x.Flow, x.Side, x.Item)
	if x.Linked {
		fmt.Fprintf(a.stdout, " linked to %s (link %d)", x.Counterpart, x.LinkID)
	} else {
		fmt.Fprint(a.stdout, " not linked")
	}
	fmt.Fprintln(a.stdout)
	for _, n := range x.Next {
		fmt.Fprintln(a.stdout, "  next run: "+n)
	}
	for _, r := range x.Reasons {
		fmt.Fprintln(a.stdout, "  why: "+a.redact(r))
	}
	if len(x.Fields) > 0 {
		w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "  FIELD\tDIRECTION\tBASE A\tA\tBASE B\tB\tNEXT\tWHY")
		for _, f := range x.Fields {
			dir := f.Direction
			if f.Owner != "" {
				dir += " (owner " + f.Owner + ")"
			}
			fmt.Fprintf(w, "  %s\t%s\t%q\t%q\t%q\t%q\t%s\t%s\n", f.Field, dir, short(f.BaseA), short(f.A), short(f.BaseB), short(f.B), f.Next, f.Why)
		}
		w.Flush()
	}
	fmt.Fprintln(a.stdout)
}

func short(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:39]) + "…"
	}
	return s
}
