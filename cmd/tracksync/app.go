package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/tracksync/tracksync/adapters"
	_ "github.com/tracksync/tracksync/adapters/asana"
	_ "github.com/tracksync/tracksync/adapters/github"
	_ "github.com/tracksync/tracksync/adapters/jira"
	_ "github.com/tracksync/tracksync/adapters/memory"
	_ "github.com/tracksync/tracksync/adapters/roadmap"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/store"
	// State store drivers register themselves, like database/sql drivers.
	_ "github.com/tracksync/tracksync/store/postgres"
	_ "github.com/tracksync/tracksync/store/sqlite"
	tsync "github.com/tracksync/tracksync/sync"
)

// app holds what the subcommands share: flags, the loaded config, the
// store and the opened flows.
type app struct {
	cfgPath, output, logLevel string
	stdout, stderr            io.Writer
	stdin                     io.Reader // set by tests; nil reads os.Stdin
	// readOnly is set by commands that only read the state (plan, links,
	// runs, conflicts list, rollup without --write, doctor): they never
	// create a state database, so a mistyped state.dsn is an error rather
	// than a fresh empty store that shows nothing.
	readOnly bool
	// needsState is set by commands that write but name something only
	// an existing state holds (undo RUN, conflicts resolve ID, migrate
	// --resume ID): like readOnly, they never create a state database.
	needsState bool
	// noEnv (validate --no-env) stands a placeholder in for every unset
	// ${VAR} and lists them in unsetVars, so a config repository's CI can
	// check a config without its secrets.
	noEnv     bool
	unsetVars []string
	// problems are what loadConfig found wrong, for validate -o json.
	problems []config.Problem
	// trackersOnly is set by migrate: a config with trackers and no flows
	// is a whole config for a one-off migration.
	trackersOnly bool
	// progress, set by sync, shows long runs' progress.
	progress *progressReporter

	log *slog.Logger
	cfg *config.Config
	// redactWith is cfg as setConfig published it, for redact.
	redactWith atomic.Pointer[config.Config]
	st         store.Store
	flows      map[string]*tsync.Flow
	order      []string
	eng        *tsync.Engine
}

// redact hides the config's secrets in s. Log handlers call it from any
// goroutine while serve may reload the config, so it reads the config
// setConfig published, not a.cfg.
func (a *app) redact(s string) string {
	cfg := a.redactWith.Load()
	if cfg == nil {
		return s
	}
	return cfg.Redact(s)
}

// setConfig makes cfg the app's config, for redaction too.
func (a *app) setConfig(cfg *config.Config) {
	a.cfg = cfg
	a.redactWith.Store(cfg)
}

func (a *app) close() {
	if a.st != nil {
		a.st.Close()
		a.st = nil
	}
}

func (a *app) configPath() string {
	if a.cfgPath != "" {
		return a.cfgPath
	}
	if p := os.Getenv("TRACKSYNC_CONFIG"); p != "" {
		return p
	}
	return "tracksync.yaml"
}

// loadConfig reads and fully validates the config; any problem is a usage
// error listing every problem with its key path.
func (a *app) loadConfig() error {
	path := a.configPath()
	var cfg *config.Config
	var err error
	if a.noEnv {
		cfg, err = a.loadNoEnv(path)
	} else {
		cfg, err = config.Load(path)
	}
	var probs config.Problems
	if errors.Is(err, fs.ErrNotExist) {
		return usageErr("%v (name the config with -c FILE or $TRACKSYNC_CONFIG; `tracksync init` writes a first one)", err)
	}
	if err != nil && !errors.As(err, &probs) {
		return &exitError{code: exitUsage, err: err}
	}
	if cfg == nil {
		return &exitError{code: exitUsage, err: err}
	}
	a.setConfig(cfg)
	all := mapping.Validate(cfg, adapters.Default)
	if a.trackersOnly && len(cfg.Trackers) > 0 {
		all = slices.DeleteFunc(all, func(p config.Problem) bool { return p == mapping.NothingToSync })
	}
	if !slices.ContainsFunc(all, func(p config.Problem) bool { return p.Path == "state.driver" }) {
		all = append(all, driverProblems(cfg)...)
	}
	if len(all) > 0 {
		a.problems = all
		return &exitError{code: exitUsage, err: fmt.Errorf("%s has %d problem(s):\n%s", path, len(all), formatProblems(cfg, all))}
	}
	a.setupLog()
	return nil
}

// loadNoEnv parses path with every unset ${VAR} standing for a
// placeholder, recording its name; TRACKSYNC_ overrides still come from
// the environment.
func (a *app) loadNoEnv(path string) (*config.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	overrides := map[string]bool{}
	for _, k := range config.EnvKeys() {
		overrides[config.EnvName(k)] = true
	}
	seen := map[string]bool{}
	env := func(name string) (string, bool) {
		v, ok := os.LookupEnv(name)
		if ok || overrides[name] {
			return v, ok
		}
		if !seen[name] {
			seen[name] = true
			a.unsetVars = append(a.unsetVars, name)
		}
		// URL-shaped, so that a webhook or tracker URL given as a
		// variable passes the URL checks; any string option takes it.
		return "https://unset.invalid/unset-" + name, true
	}
	return config.Parse(data, path, env)
}

func formatProblems(cfg *config.Config, ps []config.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		line := ""
		if cfg != nil {
			if n := cfg.Line(p.Path); n > 0 {
				line = fmt.Sprintf(" (line %d)", n)
			}
		}
		fmt.Fprintf(&b, "  %s%s: %s\n", p.Path, line, p.Msg)
	}
	return strings.TrimRight(b.String(), "\n")
}

func (a *app) setupLog() {
	level := a.logLevel
	if level == "" && a.cfg != nil {
		level = a.cfg.Log.Level
	}
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "info":
		lv = slog.LevelInfo
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: func(_ []string, at slog.Attr) slog.Attr {
		if at.Value.Kind() == slog.KindString {
			at.Value = slog.StringValue(a.redact(at.Value.String()))
		}
		return at
	}}
	var h slog.Handler = slog.NewTextHandler(a.stderr, opts)
	if a.cfg != nil && a.cfg.Log.Format == "json" {
		h = slog.NewJSONHandler(a.stderr, opts)
	}
	a.log = slog.New(h)
}

// driverProblems reports a state.driver this binary has no driver for,
// so that `validate` fails on it rather than every later command.
func driverProblems(cfg *config.Config) []config.Problem {
	driver := cfg.State.Driver
	if driver == "" {
		driver = config.DefaultDriver
	}
	if slices.Contains(store.Drivers(), driver) {
		return nil
	}
	err := &store.UnknownDriverError{Driver: driver, Known: store.Drivers()}
	return []config.Problem{{Path: "state.driver", Msg: err.Error()}}
}

// openStore opens the state store the config names, through the driver
// registry: cmd knows no concrete store. Relative sqlite paths were
// resolved against the config file's folder by config.Load.
func (a *app) openStore(ctx context.Context) error {
	driver := a.cfg.State.Driver
	if driver == "" {
		driver = config.DefaultDriver
	}
	if err := a.stateExists(); err != nil {
		return err
	}
	st, err := store.Open(ctx, driver, a.cfg.State.DSN, store.Options{Logger: a.log})
	if errors.Is(err, store.ErrUnknownDriver) {
		return usageErr("state.driver: %v", err)
	}
	if err != nil {
		return fmt.Errorf("opening state (state.dsn): %w", err)
	}
	a.st = st
	opts := tsync.Options{Logger: a.log, Events: a.cfg != nil && a.cfg.Notifications != nil}
	if a.progress != nil {
		opts.Progress = a.progress.report
	}
	a.eng = tsync.New(a.st, opts)
	return nil
}

// openFlows opens the trackers of the flows (only the named one when only
// is set) and compiles each flow against its trackers' capabilities.
func (a *app) openFlows(ctx context.Context, only string) error {
	if err := a.checkFlow(only); err != nil {
		return err
	}
	fs, probs, err := tsync.OpenFlows(ctx, a.cfg, adapters.Default, a.log, only)
	if err != nil {
		return openFlowsErr(err)
	}
	a.flows, a.order = fs.ByName, fs.Order
	if len(probs) > 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("%s does not fit its trackers:\n%s", a.cfg.Path, formatProblems(a.cfg, probs))}
	}
	return nil
}

// openFlowsErr is the exit error of a failed tsync.OpenFlows: a usage
// error (a tracker's options), or 5 when the tracker could not be
// reached (Jira reads its field list on opening), so a scheduler retries.
func openFlowsErr(err error) error {
	if adapters.IsTemporary(err) {
		return &exitError{code: exitTemporary, err: err}
	}
	return &exitError{code: exitUsage, err: err}
}

// checkFlow makes an unknown --flow a usage error naming the known ones
// ("" is every flow).
func (a *app) checkFlow(only string) error {
	if only == "" {
		return nil
	}
	for _, f := range a.cfg.Flows {
		if f.Name == only {
			return nil
		}
	}
	return usageErr("--flow %q: no such flow in %s (flows: %s)", only, a.cfg.Path, strings.Join(a.flowNames(), ", "))
}

// stateExists refuses, for a read-only command, a state database that is
// not there yet.
func (a *app) stateExists() error {
	dsn := a.cfg.State.DSN
	if !a.readOnly && !a.needsState || dsn == "" || dsn == ":memory:" || (a.cfg.State.Driver != "" && a.cfg.State.Driver != "sqlite") {
		return nil
	}
	if _, err := os.Stat(dsn); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			what := "only reads the state a sync writes"
			if !a.readOnly {
				what = "names what only the state a sync writes holds"
			}
			return usageErr("state.dsn: %s does not exist; this command %s (a mistyped path? `tracksync sync --once --dry-run` plans a first run and creates it)", dsn, what)
		}
		return usageErr("state.dsn: %v", err)
	}
	return nil
}

// stateNotYet is doctor's view of a state database not created yet: fine
// when its folder exists (the first sync creates it), an error naming
// state.dsn when not. ("", nil) means the file is there.
func (a *app) stateNotYet() (string, error) {
	dsn := a.cfg.State.DSN
	if a.cfg.State.Driver != "" && a.cfg.State.Driver != "sqlite" || dsn == "" || dsn == ":memory:" {
		return "", nil
	}
	if _, err := os.Stat(dsn); err == nil || !errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	dir := filepath.Dir(dsn)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("state.dsn: folder %s does not exist (a mistyped path?)", dir)
	}
	return fmt.Sprintf("state.dsn %s not created yet; the first sync creates it", dsn), nil
}

func (a *app) flowNames() []string {
	var out []string
	for _, f := range a.cfg.Flows {
		out = append(out, f.Name)
	}
	sort.Strings(out)
	return out
}

// prepare loads config, opens the store and (when withFlows) the flows.
func (a *app) prepare(ctx context.Context, flow string, withFlows bool) error {
	if err := a.loadConfig(); err != nil {
		return err
	}
	if err := a.checkFlow(flow); err != nil {
		return err
	}
	if err := a.openStore(ctx); err != nil {
		return err
	}
	if withFlows {
		return a.openFlows(ctx, flow)
	}
	return nil
}

// prepareReadOnly is prepare for a command that only reads the state
// (plan, check, explain, links, runs, conflicts list): it marks the app
// read-only before opening the store, so a mistyped state.dsn is an
// error rather than a fresh empty database.
func (a *app) prepareReadOnly(ctx context.Context, flow string, withFlows bool) error {
	a.readOnly = true
	return a.prepare(ctx, flow, withFlows)
}

// nonNil makes an empty list print as [] in JSON, not null: scripts
// iterate over what -o json prints.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// emptyOps makes a plan with nothing to do print "ops": [] in JSON.
func emptyOps(p *tsync.Plan) *tsync.Plan {
	if p != nil && p.Ops == nil {
		p.Ops = []tsync.Op{}
	}
	return p
}

func (a *app) json(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
