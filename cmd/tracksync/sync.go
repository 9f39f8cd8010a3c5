package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

func (a *app) syncCmd() *cobra.Command {
	var flow string
	var once, dry, force, full bool
	cmd := &cobra.Command{
		Use:   "sync --once",
		Short: "Run every flow (or one) once: recover, plan, apply",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !once {
				return usageErr("sync needs --once (continuous sync is `tracksync serve`)")
			}
			ctx := cmd.Context()
			a.progress = a.newProgress()
			defer a.progress.finish()
			if err := a.prepare(ctx, flow, true); err != nil {
				return err
			}
			type out struct {
				Flow    string      `json:"flow"`
				Run     store.Run   `json:"run"`
				Plan    *tsync.Plan `json:"plan,omitempty"`
				Error   string      `json:"error,omitempty"`
				Stopped bool        `json:"stopped_by_safety_valve,omitempty"`
			}
			results := []out{}
			code := exitOK
			for _, name := range a.order {
				res, err := a.eng.Sync(ctx, a.flows[name], tsync.RunOptions{DryRun: dry, Force: force, Full: full})
				o := out{Flow: name}
				if res != nil {
					o.Run = res.Run
					if dry {
						o.Plan = emptyOps(res.Plan)
					}
				}
				var verr *tsync.ValveError
				switch {
				case errors.As(err, &verr):
					o.Error, o.Stopped = err.Error(), true
					code = worst(code, exitValve)
				case err != nil:
					o.Error = err.Error()
					code = worst(code, failCode(err))
				case res.Run.State == store.RunConflicts:
					code = worst(code, exitConflicts)
				}
				results = append(results, o)
				if a.output == "text" {
					if dry && res != nil && res.Plan != nil {
						res.Plan.WriteText(a.stdout)
					}
					if res != nil {
						c := res.Run.Counts
						verb := "synced"
						switch {
						case err != nil && o.Stopped:
							verb = "stopped"
						case err != nil:
							verb = "failed"
						case dry:
							verb = "planned (dry run)"
						}
						fmt.Fprintf(a.stdout, "flow %s: run %d %s: %d created, %d updated, %d unchanged, %d archived, %d unlinked, %d comments, %d conflicts held, %d errors\n",
							name, res.Run.ID, verb, c.Created, c.Updated, c.Unchanged, c.Archived, c.Unlinked, c.Comments, c.Conflicts, c.Errors)
					}
					if err != nil {
						fmt.Fprintf(a.stderr, "tracksync: %s\n", a.redact(err.Error()))
					}
				}
				if ctx.Err() != nil {
					// Interrupted: the flows left would each fail at once.
					break
				}
			}
			if a.output == "json" {
				if err := a.json(results); err != nil {
					return err
				}
			}
			if code != exitOK {
				return &exitError{code: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&flow, "flow", "", "only this flow")
	f.BoolVar(&once, "once", false, "run once and exit")
	f.BoolVar(&dry, "dry-run", false, "plan and record the run, write nothing")
	f.BoolVar(&force, "force", false, "proceed past the safety valve")
	f.BoolVar(&full, "full", false, "full reconcile: compare every linked item, not only what changed")
	return cmd
}

// worst keeps the more important exit code: failure, then a temporary
// failure, then the valve, then held conflicts.
func worst(cur, next int) int {
	rank := map[int]int{exitOK: 0, exitConflicts: 1, exitValve: 2, exitTemporary: 3, exitFailed: 4}
	if rank[next] > rank[cur] {
		return next
	}
	return cur
}
