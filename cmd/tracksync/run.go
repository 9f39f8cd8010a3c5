package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, documented in README.md.
const (
	exitOK        = 0 // done
	exitFailed    = 1 // a run failed
	exitUsage     = 2 // bad usage or config
	exitValve     = 3 // stopped by the safety valve
	exitConflicts = 4 // finished with conflicts held
)

// exitError carries an exit code with the error to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// run is the whole CLI, testable through its buffers.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	defer a.close()
	if err == nil {
		return exitOK
	}
	code := exitFailed
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	} else if isUsage(err) {
		code = exitUsage
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(stderr, "tracksync: "+a.redact(msg))
	}
	return code
}

// isUsage recognises cobra's own usage errors (unknown flag or command).
func isUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "tracksync",
		Short:         "Sync a product roadmap with Jira and GitHub, both ways",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch a.output {
			case "text", "json":
			default:
				return usageErr("--output must be text or json, not %q", a.output)
			}
			return nil
		},
	}
	f := root.PersistentFlags()
	f.StringVarP(&a.cfgPath, "config", "c", "", "config file (default $TRACKSYNC_CONFIG or tracksync.yaml)")
	f.StringVarP(&a.output, "output", "o", "text", "output format: text or json")
	f.StringVar(&a.logLevel, "log-level", "", "log level: debug, info, warn, error (default from config, else warn)")
	root.AddCommand(a.validateCmd(), a.planCmd(), a.syncCmd(), a.linksCmd(), a.rollupCmd(), a.conflictsCmd(), a.runsCmd(), a.undoCmd(), a.versionCmd(), a.demoCmd(), a.serveCmd(), a.doctorCmd(), a.storeCmd())
	return root
}
