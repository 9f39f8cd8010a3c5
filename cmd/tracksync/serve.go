package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/daemon"
	"github.com/tracksync/tracksync/initiatives"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/sandbox"
	tsync "github.com/tracksync/tracksync/sync"
)

func (a *app) serveCmd() *cobra.Command {
	var listen, dir string
	var sandboxMode bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run every flow on its schedule and on webhooks, with health and metrics endpoints",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var sb *sandbox.Sandbox
			if sandboxMode {
				var err error
				if sb, err = sandbox.Start(ctx, dir); err != nil {
					return err
				}
				defer sb.Close()
				a.cfgPath = sb.Config
			}
			if err := a.prepare(ctx, "", false); err != nil {
				return err
			}
			st := a.st
			// Replicas on one store share each tracker credential's
			// rate budget: the trackers opened from here on pace their
			// requests through the store.
			adapters.SetSharedRates(st)
			defer adapters.SetSharedRates(nil)
			fs, probs, err := tsync.OpenFlows(ctx, a.cfg, adapters.Default, a.log, "")
			if err != nil {
				return openFlowsErr(err)
			}
			if len(probs) > 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("%s does not fit its trackers:\n%s", a.cfg.Path, formatProblems(a.cfg, probs))}
			}
			if listen == "" {
				listen = a.cfg.Server.Listen
			}
			bi := readBuildInfo()
			dc := daemon.Config{Store: st, Flows: fs, Logger: a.log, Listen: listen, Token: a.cfg.Server.Token, Version: bi.Version, Commit: bi.Commit,
				PublicURL: a.cfg.Server.PublicURL}
			if s := a.cfg.Server.CheckSchedule; s != "off" && s != "" {
				if sched, err := mapping.ParseSchedule(s); err == nil {
					now := time.Now()
					dc.CheckEvery = sched.Next(now).Sub(now)
				}
			}
			if a.cfg.Initiatives != nil {
				svc, err := initiatives.Open(ctx, a.cfg, adapters.Default, a.log, st, fs.Trackers)
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				dc.Rollups = svc
				if sched, err := mapping.ParseSchedule(a.cfg.Initiatives.Rollup.Schedule); err == nil {
					now := time.Now()
					dc.RollupEvery = sched.Next(now).Sub(now)
				}
			}
			if dc.Notify, err = daemon.NotifyFrom(a.cfg.Notifications); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			d, err := daemon.New(ctx, dc)
			if err != nil {
				return err
			}
			if err := d.Listen(); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			fmt.Fprintf(a.stdout, "tracksync serving %d flow(s) on http://%s (webhooks: POST /webhooks/<tracker>; /healthz, /readyz, /metrics)\n", len(fs.Order), d.Addr())
			if sb != nil {
				// The fakes ping the daemon when their webhooks are set:
				// connect once Run serves (the bound listener queues them).
				go sb.Connect(d.Addr())
				if dc.PublicURL == "" {
					// The Asana fake's webhooks are registered by
					// tracksync, as a user's would be with server.public_url.
					go func() {
						if err := d.RegisterWebhooks(ctx, "http://"+d.Addr()); err != nil {
							a.log.Warn("sandbox: registering webhooks", "error", err)
						}
					}()
				}
				printSandbox(a, sb, d.Addr())
			}
			go a.watchConfig(ctx, d)
			return d.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "host:port to listen on (default server.listen, else 127.0.0.1:8080)")
	cmd.Flags().BoolVar(&sandboxMode, "sandbox", false, "start in-process Jira and GitHub fakes, seeded, with a ready config, and serve them")
	cmd.Flags().StringVar(&dir, "dir", "", "with --sandbox: folder for its config and state (default: a new temp folder)")
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
	n, err := daemon.NotifyFrom(cfg.Notifications)
	if err != nil {
		return err
	}
	if err := d.Reload(fs); err != nil {
		return err
	}
	d.ReloadNotify(n)
	a.setConfig(cfg)
	return nil
}

func printSandbox(a *app, sb *sandbox.Sandbox, addr string) {
	// The credentials here are the fakes' own, printed so that the curl
	// lines work as they stand; through the redacting writer they came
	// out as [REDACTED]. Everything else serve prints is still redacted.
	w := a.stdout
	if u, ok := w.(interface{ Unwrap() io.Writer }); ok {
		w = u.Unwrap()
	}
	fmt.Fprintf(w, `
sandbox in %[1]s
  config:      %[2]s   (try: tracksync -c %[2]s links | runs | conflicts list | plan)
  Jira fake:   %[3]s   (project %[4]s; basic auth bot@example.com / api-token)
  GitHub fake: %[5]s   (repo %[6]s; token %[7]s)
  Asana fake:  %[9]s   (token %[10]s; projects %[11]q %[12]s and %[13]q %[14]s)
  daemon:      http://%[8]s   (/ , /healthz, /readyz, /metrics)

The fakes send signed webhooks to the daemon (Asana's registered by it, with
the handshake), so an edit shows on the other side within a second. Make one
in GitHub with curl:

  curl -s -X PATCH -H 'Authorization: Bearer %[7]s' -H 'Content-Type: application/json' \
    -d '{"title":"Renamed from curl"}' %[5]s/repos/%[6]s/issues/1

or in Jira:

  curl -s -X PUT -u bot@example.com:api-token -H 'Content-Type: application/json' \
    -d '{"fields":{"summary":"Renamed in Jira"}}' %[3]s/rest/api/3/issue/%[4]s-1

Stop with Ctrl-C.
`, sb.Dir, sb.Config, sb.Jira.URL, sandbox.JiraProject, strings.TrimSuffix(sb.GitHub.URL, "/"), sandbox.Repo, sandbox.GitHubToken, addr,
		sb.Asana.URL, sandbox.AsanaToken, sandbox.AsanaBoard, sb.BoardGID, sandbox.AsanaLaunch, sb.LaunchGID)
}
