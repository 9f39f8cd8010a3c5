package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/daemon"
	"github.com/tracksync/tracksync/mapping"
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
			go a.watchConfig(ctx, d)
			return d.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "host:port to listen on (default server.listen, else 127.0.0.1:8080)")
	return cmd
}

// reloadPoll is how often serve looks at the config file for changes
// (nanoseconds; atomic so tests may shorten it).
var reloadPoll atomic.Int64

func init() { reloadPoll.Store(int64(2 * time.Second)) }

// watchConfig reloads the config on SIGHUP and when the file changes. A
// new config is used only if it is valid and fits its trackers; otherwise
// the old one stays and the log says why.
func (a *app) watchConfig(ctx context.Context, d *daemon.Daemon) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	path := a.configPath()
	stamp := func() string {
		fi, err := os.Stat(path)
		if err != nil {
			return ""
		}
		return fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
	}
	last := stamp()
	tick := time.NewTicker(time.Duration(reloadPoll.Load()))
	defer tick.Stop()
	for {
		why := ""
		select {
		case <-ctx.Done():
			return
		case <-hup:
			why = "SIGHUP"
		case <-tick.C:
			if s := stamp(); s != last {
				last, why = s, "the config file changed"
			}
		}
		if why == "" {
			continue
		}
		if err := a.reload(ctx, d); err != nil {
			a.log.Error("config reload failed; keeping the old config", "trigger", why, "err", a.redact(err.Error()))
			continue
		}
		a.log.Warn("config reloaded", "trigger", why)
	}
}

func (a *app) reload(ctx context.Context, d *daemon.Daemon) error {
	path := a.configPath()
	cfg, err := config.Load(path)
	if err != nil {
		var probs config.Problems
		if !errors.As(err, &probs) || cfg == nil {
			return err
		}
	}
	if all := mapping.Validate(cfg, adapters.Default); len(all) > 0 {
		return fmt.Errorf("%s has %d problem(s):\n%s", path, len(all), formatProblems(cfg, all))
	}
	fs, probs, err := tsync.OpenFlows(ctx, cfg, adapters.Default, a.log, "")
	if err != nil {
		return err
	}
	if len(probs) > 0 {
		return fmt.Errorf("%s does not fit its trackers:\n%s", path, formatProblems(cfg, probs))
	}
	if cfg.State != a.cfg.State {
		a.log.Warn("state settings changed in the config; they take effect on restart")
	}
	if err := d.Reload(fs); err != nil {
		return err
	}
	a.cfg = cfg
	return nil
}
