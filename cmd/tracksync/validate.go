package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) validateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the config file and report every problem with its key path",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.loadConfig(); err != nil {
				return err
			}
			if a.output == "json" {
				return a.json(map[string]any{"ok": true, "config": a.cfg.Path, "trackers": len(a.cfg.Trackers), "flows": len(a.cfg.Flows)})
			}
			fmt.Fprintf(a.stdout, "%s is valid: %d tracker(s), %d flow(s), %d user(s)\n", a.cfg.Path, len(a.cfg.Trackers), len(a.cfg.Flows), len(a.cfg.Users))
			return nil
		},
	}
}
