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
				if a.output == "json" {
					// Scripts read the verdict from stdout, also when
					// the config is wrong; the text goes to stderr.
					if jerr := a.json(a.problemsJSON(err)); jerr != nil {
						return jerr
					}
				}
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

// problemJSON is one config problem as validate -o json prints it.
type problemJSON struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// problemsJSON is validate's -o json answer for a config that failed to
// load: every problem with its key path and line, or, when the file
// could not be read or parsed at all, that error.
func (a *app) problemsJSON(err error) map[string]any {
	probs := []problemJSON{}
	for _, p := range a.problems {
		line := 0
		if a.cfg != nil {
			line = a.cfg.Line(p.Path)
		}
		probs = append(probs, problemJSON{Path: p.Path, Line: line, Message: p.Msg})
	}
	if len(probs) == 0 {
		probs = append(probs, problemJSON{Message: a.redact(err.Error())})
	}
	return map[string]any{"ok": false, "config": a.configPath(), "problems": probs}
}
