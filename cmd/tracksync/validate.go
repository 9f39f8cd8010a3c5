package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) validateCmd() *cobra.Command {
	var noEnv bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the config file and report every problem with its key path",
		Long: `Checks the config file against every adapter's option spec and every
flow's rules (scopes whose syntax can be checked without the tracker
included) and lists every problem with its key path and line. It does not
talk to the trackers: doctor does.

With --no-env, environment variables the file names but the environment
lacks are notes, not errors, so a config repository's CI can check a
config without its secrets.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a.noEnv = noEnv
			if err := a.loadConfig(); err != nil {
				return err
			}
			notes := []string{}
			for _, v := range a.unsetVars {
				notes = append(notes, fmt.Sprintf("environment variable %s is not set (--no-env: checked with a placeholder)", v))
			}
			if a.output == "json" {
				return a.json(map[string]any{"ok": true, "config": a.cfg.Path, "trackers": len(a.cfg.Trackers), "flows": len(a.cfg.Flows), "notes": notes})
			}
			fmt.Fprintf(a.stdout, "%s is valid: %d tracker(s), %d flow(s), %d user(s)\n", a.cfg.Path, len(a.cfg.Trackers), len(a.cfg.Flows), len(a.cfg.Users))
			for _, n := range notes {
				fmt.Fprintln(a.stdout, "note: "+n)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noEnv, "no-env", false, "report unset environment variables as notes, not errors (CI without secrets)")
	return cmd
}
