package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/adapters"
	tsync "github.com/tracksync/tracksync/sync"
)

// check is one doctor line.
type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func (a *app) doctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check the config, the state store and every tracker (credentials, project, fields and statuses the flows name); one line per check",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a.readOnly = true
			var checks []check
			add := func(name string, err error, ok string) {
				c := check{Name: name, OK: err == nil, Detail: ok}
				if err != nil {
					c.Detail = a.redact(err.Error())
				}
				checks = append(checks, c)
			}
			err := a.loadConfig()
			add("config "+a.configPath(), err, fmt.Sprintf("valid: %d tracker(s), %d flow(s)", lenTrackers(a), lenFlows(a)))
			if err == nil {
				if msg, err := a.stateNotYet(); msg != "" || err != nil {
					add("state store", err, msg)
				} else {
					err = a.openStore(ctx)
					if err == nil {
						err = a.st.Ping(ctx)
					}
					add("state store", err, "reachable")
				}
				fs, probs, err := tsync.OpenFlows(ctx, a.cfg, adapters.Default, a.log, "")
				if err != nil {
					add("trackers", err, "")
				} else {
					names := make([]string, 0, len(fs.Trackers))
					for n := range fs.Trackers {
						names = append(names, n)
					}
					sort.Strings(names)
					for _, n := range names {
						t := fs.Trackers[n]
						c, ok := t.(adapters.Checker)
						if !ok {
							add("tracker "+n, nil, "opened (no health check for this kind)")
							continue
						}
						cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
						err := c.Check(cctx)
						cancel()
						add("tracker "+n, err, "credentials, permissions and project ok")
					}
					for _, p := range probs {
						add("flow field "+p.Path, fmt.Errorf("%s", p.Msg), "")
					}
					for _, name := range fs.Order {
						add("flow "+name, nil, "fields and statuses exist on both trackers")
					}
				}
			}
			failed := 0
			for _, c := range checks {
				if !c.OK {
					failed++
				}
			}
			if a.output == "json" {
				if err := a.json(checks); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					mark := "ok  "
					if !c.OK {
						mark = "FAIL"
					}
					fmt.Fprintf(a.stdout, "%s  %s: %s\n", mark, c.Name, c.Detail)
				}
			}
			if failed > 0 {
				return &exitError{code: exitFailed, err: fmt.Errorf("%d of %d checks failed", failed, len(checks))}
			}
			return nil
		},
	}
}

func lenTrackers(a *app) int {
	if a.cfg == nil {
		return 0
	}
	return len(a.cfg.Trackers)
}

func lenFlows(a *app) int {
	if a.cfg == nil {
		return 0
	}
	return len(a.cfg.Flows)
}
