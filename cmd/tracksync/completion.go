package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/store"
)

// Shell completion (cobra's `tracksync completion bash|zsh|fish|powershell`)
// of flow names, run ids and conflict ids, read from the config and the
// state store the -c flag names. Completion never creates a state store
// and stays silent when the config or the store cannot be read.

// addCompletions registers the completion functions on every command of
// the tree that takes --flow.
func (a *app) addCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flags().Lookup("flow") != nil {
			c.RegisterFlagCompletionFunc("flow", a.completeFlows)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func (a *app) completeFlows(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if err := a.loadConfig(); err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, f := range a.cfg.Flows {
		out = append(out, f.Name)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completionStore opens the state read-only, for a completion function.
func (a *app) completionStore(cmd *cobra.Command) bool {
	a.readOnly = true
	if err := a.loadConfig(); err != nil {
		return false
	}
	return a.openStore(cmd.Context()) == nil
}

// completeRuns offers run ids, newest first, described by flow and state.
func (a *app) completeRuns(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 || !a.completionStore(cmd) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer a.close()
	runs, err := a.st.ListRuns(cmd.Context(), "", 50)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, r := range runs {
		out = append(out, fmt.Sprintf("%d\t%s %s %s", r.ID, r.Flow, r.State, r.StartedAt.Local().Format("2006-01-02 15:04")))
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}

// completeConflicts offers the ids of open conflicts.
func (a *app) completeConflicts(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 || !a.completionStore(cmd) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer a.close()
	cs, err := a.st.ListConflicts(cmd.Context(), "", store.ConflictOpen)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, c := range cs {
		out = append(out, strconv.FormatInt(c.ID, 10)+"\t"+c.Flow+" "+c.Field)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
