package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/daemon"
	"github.com/tracksync/tracksync/store/sqlite"
	tsync "github.com/tracksync/tracksync/sync"
)

func (a *app) serveCmd() *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run every flow on its schedule and on webhooks, with health and metrics endpoints",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := a.prepare(ctx, "", false); err != nil {
				return err
			}
			st, ok := a.st.(*sqlite.Store)
			if !ok {
				return usageErr("state.driver: serve needs the sqlite state store in this build")
			}
			fs, probs, err := tsync.OpenFlows(ctx, a.cfg, adapters.Default, a.log, "")
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if len(probs) > 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("%s does not fit its trackers:\n%s", a.cfg.Path, formatProblems(a.cfg, probs))}
			}
			if listen == "" {
				listen = a.cfg.Server.Listen
			}
			d, err := daemon.New(ctx, daemon.Config{Store: st, Flows: fs, Logger: a.log, Listen: listen, Token: a.cfg.Server.Token})
			if err != nil {
				return err
			}
			if err := d.Listen(); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			fmt.Fprintf(a.stdout, "tracksync serving %d flow(s) on http://%s (webhooks: POST /webhooks/<tracker>; /healthz, /readyz, /metrics)\n", len(fs.Order), d.Addr())
			return d.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "host:port to listen on (default server.listen, else 127.0.0.1:8080)")
	return cmd
}
