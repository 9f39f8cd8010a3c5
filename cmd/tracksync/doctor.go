package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/mapping"
)

// check is one doctor line.
type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func (a *app) doctorCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the config, the state store and every tracker (credentials, project, scopes, fields and statuses the flows name); one line per check",
		Long: `Prints one line per check: the config, the state store, each tracker
(opening it: custom fields and statuses read; then credentials,
permissions and project), each flow's scopes (Jira parses the JQL) and
each flow's fields and statuses against its trackers. Every tracker is
checked even when another fails; each check gives up after --timeout and
says what it was waiting for. Exit code 1 when any check fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout <= 0 {
				return usageErr("--timeout must be more than 0, not %s", timeout)
			}
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
			// timed runs fn with the check timeout; a check that runs out
			// of time says what it was waiting for.
			timed := func(what string, fn func(ctx context.Context) error) error {
				cctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				err := fn(cctx)
				if err != nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
					return fmt.Errorf("no answer within %s while %s", timeout, what)
				}
				return err
			}
			err := a.loadConfig()
			add("config "+a.configPath(), err, fmt.Sprintf("valid: %d tracker(s), %d flow(s)", lenTrackers(a), lenFlows(a)))
			if err == nil {
				a.doctorTrackers(add, timed)
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
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long each check may take")
	return cmd
}

func (a *app) doctorTrackers(add func(string, error, string), timed func(string, func(context.Context) error) error) {
	if msg, err := a.stateNotYet(); msg != "" || err != nil {
		add("state store", err, msg)
	} else {
		err := timed("opening the state store ("+a.cfg.State.DSN+")", func(ctx context.Context) error {
			if err := a.openStore(ctx); err != nil {
				return err
			}
			return a.st.Ping(ctx)
		})
		add("state store", err, "reachable")
	}
	names := make([]string, 0, len(a.cfg.Trackers))
	for n := range a.cfg.Trackers {
		names = append(names, n)
	}
	sort.Strings(names)
	open := map[string]adapters.Tracker{}
	for _, n := range names {
		tc := a.cfg.Trackers[n]
		var t adapters.Tracker
		err := timed(fmt.Sprintf("waiting for %s tracker %s to open (it reads its fields and statuses)", tc.Kind, n), func(ctx context.Context) error {
			var err error
			t, err = adapters.Default.Open(ctx, n, tc.Kind, tc.Options, a.log, a.cfg.BaseDir())
			return err
		})
		if err != nil {
			add("tracker "+n, fmt.Errorf("opening: %w", err), "")
			continue
		}
		open[n] = t
		c, ok := t.(adapters.Checker)
		if !ok {
			add("tracker "+n, nil, "opened (no health check for this kind)")
			continue
		}
		err = timed(fmt.Sprintf("waiting for %s tracker %s to answer the health check (credentials, permissions, project)", tc.Kind, n), c.Check)
		add("tracker "+n, err, "credentials, permissions and project ok")
	}
	for i, fc := range a.cfg.Flows {
		name := "flow " + fc.Name
		ta, okA := open[fc.A.Tracker]
		tb, okB := open[fc.B.Tracker]
		if !okA || !okB {
			missing := fc.A.Tracker
			if okA {
				missing = fc.B.Tracker
			}
			add(name, fmt.Errorf("not checked: tracker %s did not open", missing), "")
			continue
		}
		for _, side := range []struct {
			key, scope string
			t          adapters.Tracker
		}{{"a", fc.A.Scope, ta}, {"b", fc.B.Scope, tb}} {
			sc, ok := side.t.(adapters.ScopeChecker)
			if !ok || side.scope == "" {
				continue
			}
			path := fmt.Sprintf("flows[%d].%s.scope", i, side.key)
			err := timed(fmt.Sprintf("waiting for %s to check scope %q", side.t.Name(), side.scope), func(ctx context.Context) error {
				return sc.CheckScope(ctx, side.scope)
			})
			add(name+" "+path, err, fmt.Sprintf("%q is valid on %s", side.scope, side.t.Name()))
		}
		ca, cb := ta.Capabilities(), tb.Capabilities()
		_, probs := mapping.Compile(fc, fmt.Sprintf("flows[%d]", i), a.cfg.Users,
			mapping.SideInfo{Name: fc.A.Tracker, Kind: a.cfg.Trackers[fc.A.Tracker].Kind, Caps: &ca},
			mapping.SideInfo{Name: fc.B.Tracker, Kind: a.cfg.Trackers[fc.B.Tracker].Kind, Caps: &cb})
		for _, p := range probs {
			add(name+" "+p.Path, errors.New(p.Msg), "")
		}
		if len(probs) == 0 {
			add(name, nil, "fields and statuses exist on both trackers")
		}
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
