package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/notify"
)

func (a *app) notifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Notifications: send a sample to a sink",
	}
	test := &cobra.Command{
		Use:   "test SINK",
		Short: "Send a sample message to a sink of the notifications section",
		Long: `Sends a sample message to the named sink at once (not through the
outbox), so you can see that its webhook URL or token works and where the
message lands. Exits non-zero with the receiver's answer when it fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.loadConfig(); err != nil {
				return err
			}
			targets, render, err := notify.FromConfig(a.cfg.Notifications, nil)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			var names []string
			for _, t := range targets {
				if t.Sink.Name() != args[0] {
					names = append(names, t.Sink.Name())
					continue
				}
				if err := notify.Test(cmd.Context(), t, render); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "sent a sample message to %s\n", args[0])
				return nil
			}
			if len(names) == 0 {
				return usageErr("%s has no notifications sinks (see config.example.yaml: notifications)", a.cfg.Path)
			}
			slices.Sort(names)
			return usageErr("no sink %q (known: %s)", args[0], strings.Join(names, ", "))
		},
	}
	cmd.AddCommand(test)
	return cmd
}
