package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/internal/redact"
	"github.com/tracksync/tracksync/store"
)

// Exit codes, documented in README.md.
const (
	exitOK        = 0 // done
	exitFailed    = 1 // a run failed
	exitUsage     = 2 // bad usage or config
	exitValve     = 3 // stopped by the safety valve
	exitConflicts = 4 // finished with conflicts held
	exitTemporary = 5 // a temporary failure (network, 5xx, rate limit): try again later
)

// failCode is the exit code of a failed run: 5 when trying again later
// can fix it (adapters.IsTemporary, or another process running the flow
// holds its lock), else 1.
func failCode(err error) int {
	if adapters.IsTemporary(err) || errors.Is(err, store.ErrLocked) {
		return exitTemporary
	}
	return exitFailed
}

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

// testStdin, when a test sets it, is what prompts read (init), as if
// from a terminal.
var testStdin io.Reader

// run is the whole CLI, testable through its buffers.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// Every byte the CLI prints (results, JSON, log lines, errors) passes
	// through the process-wide redaction set, which config fills with each
	// secret it expands and their encoded forms.
	stdout, stderr = redact.Global.Writer(stdout), redact.Global.Writer(stderr)
	a := &app{stdout: stdout, stderr: stderr, stdin: testStdin}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	defer a.close()
	if err == nil {
		return exitOK
	}
	code := failCode(err)
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	} else if isUsage(err) {
		code = exitUsage
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(stderr, "tracksync: "+a.redact(msg))
	}
	if ctx.Err() != nil && cmd != nil {
		// Ctrl-C or SIGTERM: the errors above end in "context canceled";
		// say what happened and how the work gets finished.
		again := "running it again"
		if cmd.Name() == "sync" {
			again = "the next `tracksync sync --once` (or serve)"
		}
		fmt.Fprintf(stderr, "tracksync: interrupted: %s stopped; what it wrote is journaled (see `tracksync runs`), and %s recovers and finishes it\n", cmd.CommandPath(), again)
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
		Short:         "Sync a product roadmap with Jira, GitHub and Asana, both ways",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch a.output {
			case "text", "json":
			default:
				return usageErr("--output must be text or json, not %q", a.output)
			}
			switch strings.ToLower(a.logLevel) {
			case "", "debug", "info", "warn", "error":
			default:
				return usageErr("--log-level must be debug, info, warn or error, not %q", a.logLevel)
			}
			return nil
		},
	}
	f := root.PersistentFlags()
	f.StringVarP(&a.cfgPath, "config", "c", "", "config file (default $TRACKSYNC_CONFIG or tracksync.yaml)")
	f.StringVarP(&a.output, "output", "o", "text", "output format: text or json")
	f.StringVar(&a.logLevel, "log-level", "", "log level: debug, info, warn, error (default: the config's log.level, info unless set)")
	b := readBuildInfo()
	root.Version = b.Version
	root.SetVersionTemplate(b.String())
	root.AddCommand(a.validateCmd(), a.planCmd(), a.syncCmd(), a.linksCmd(), a.linkCmd(), a.unlinkCmd(), a.rollupCmd(), a.conflictsCmd(), a.runsCmd(), a.undoCmd(), a.versionCmd(), a.demoCmd(), a.serveCmd(), a.doctorCmd(),
		a.migrateCmd(), a.trackersCmd(), a.initCmd(), a.checkCmd(), a.explainCmd(), a.notifyCmd(), a.storeCmd())
	a.addCompletions(root)
	// A command that only groups others (conflicts, trackers, store,
	// notify, completion) shows its help when called alone; cobra also
	// showed it, with exit 0, for a mistyped subcommand, so a script's
	// `tracksync conflicts lsit` looked like success. (The completion
	// command's scripts go to the writer set before it is made.)
	root.SetOut(a.stdout)
	root.InitDefaultCompletionCmd()
	var groups func(c *cobra.Command)
	groups = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.HasSubCommands() && !sub.Runnable() {
				sub.Args = cobra.NoArgs
				sub.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
			}
			groups(sub)
		}
	}
	groups(root)
	// Likewise `help bogus`: cobra printed "Unknown help topic" and exited 0.
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		if c.Name() != "help" || c.Run == nil {
			continue
		}
		help := c.Run
		c.Run = nil
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if t, _, err := root.Find(args); t == nil || err != nil {
				return usageErr("help %s: no such command (see `tracksync help`)", strings.Join(args, " "))
			}
			help(cmd, args)
			return nil
		}
	}
	return root
}
