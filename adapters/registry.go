package adapters

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
)

// OptionType is the type of one adapter option.
type OptionType string

// Option types.
const (
	TypeString   OptionType = "string"
	TypeInt      OptionType = "int"
	TypeBool     OptionType = "bool"
	TypeDuration OptionType = "duration"
	TypeMap      OptionType = "map"  // a nested mapping, passed through as is
	TypeList     OptionType = "list" // a list of strings (or one comma-separated string)
)

// Option describes one config key of an adapter, as its option struct's
// tags declare it (OptionsOf): for help, `tracksync trackers` and secret
// redaction.
type Option struct {
	Name     string // key under trackers.<name>; dots for nesting: "auth.token"
	Type     OptionType
	Default  any
	Required bool
	Secret   bool // never logged, printed or put into an error
	Enum     []string
	Help     string
}

// Spec is what an adapter registers: its kind, its options and a
// constructor.
type Spec struct {
	Kind string // "jira", "github", "roadmap", "memory"
	Help string
	// OptionStruct returns a pointer to a new option struct holding the
	// defaults (see options.go): the tracker's options are decoded into
	// it and New takes it with Config.Decode. nil: the kind has no
	// options.
	OptionStruct func() any
	// Options lists the options, for help and secrets: Register derives
	// it from OptionStruct's tags.
	Options []Option
	// New builds a tracker from decoded options (defaults filled in).
	New func(ctx context.Context, cfg Config) (Tracker, error)
	// Validate, when set, checks what the option types cannot (nested
	// maps, options that go together) without any I/O, so `validate`
	// reports it before a tracker is opened. Its error starts with the
	// key path ("trackers.<name>.project.number: ..."). It reads the
	// options as New does (Config.Decode).
	Validate func(cfg Config) error
}

// Config is what a constructor receives.
type Config struct {
	Name   string // the configured tracker name
	Logger *slog.Logger
	// BaseDir resolves relative paths in options (the config file's folder).
	BaseDir string

	decoded any // the option struct, for Decode
}

// Registry maps adapter kinds to specs. Tests make their own with
// NewRegistry; adapters join the default one from init() via Register.
type Registry struct {
	mu    sync.RWMutex
	specs map[string]Spec
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{specs: map[string]Spec{}} }

// Default is the registry adapters join in init().
var Default = NewRegistry()

// Register adds spec to the default registry; it panics on a duplicate or
// malformed spec, as database/sql.Register does, because that is a
// programming error.
func Register(spec Spec) {
	if err := Default.Register(spec); err != nil {
		panic(err)
	}
}

// Register adds spec to r.
func (r *Registry) Register(spec Spec) error {
	if spec.Kind == "" || spec.New == nil {
		return fmt.Errorf("adapters: spec needs a kind and a constructor")
	}
	if len(spec.Options) > 0 {
		return fmt.Errorf("adapters: kind %q: options are declared by OptionStruct, not listed", spec.Kind)
	}
	if spec.OptionStruct == nil {
		spec.OptionStruct = func() any { return &struct{}{} }
	}
	spec.Options = OptionsOf(spec.OptionStruct())
	seen := map[string]bool{}
	for _, o := range spec.Options {
		if o.Name == "" || seen[o.Name] {
			return fmt.Errorf("adapters: kind %q: option %q is empty or repeated", spec.Kind, o.Name)
		}
		seen[o.Name] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.specs[spec.Kind]; dup {
		return fmt.Errorf("adapters: kind %q registered twice", spec.Kind)
	}
	r.specs[spec.Kind] = spec
	return nil
}

// Lookup returns the spec of kind.
func (r *Registry) Lookup(kind string) (Spec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.specs[kind]
	return s, ok
}

// Kinds lists the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.specs))
	for k := range r.specs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// OptionError is one problem with one option, named by its config key path.
type OptionError struct {
	Path string // trackers.acme-jira.auth.token
	Msg  string
}

func (e OptionError) Error() string { return e.Path + ": " + e.Msg }

// Check decodes raw option values for kind into its option struct,
// reporting every problem (not just the first) by key path under keyPath
// ("trackers.acme-jira"), then runs the spec's Validate. No message
// carries a secret.
func (r *Registry) Check(kind, keyPath string, raw map[string]any) []OptionError {
	_, errs := r.check(kind, keyPath, raw)
	return errs
}

// check validates raw and returns the Config New is given (without
// Logger and BaseDir).
func (r *Registry) check(kind, keyPath string, raw map[string]any) (Config, []OptionError) {
	spec, ok := r.Lookup(kind)
	if !ok {
		return Config{}, []OptionError{{Path: keyPath + ".kind", Msg: fmt.Sprintf("unknown tracker kind %q (known: %s)", kind, strings.Join(r.Kinds(), ", "))}}
	}
	cfg := Config{Name: strings.TrimPrefix(keyPath, "trackers.")}
	var errs []OptionError
	cfg.decoded, errs = decodeOptions(spec, raw, keyPath)
	if spec.Validate != nil && len(errs) == 0 {
		if err := spec.Validate(cfg); err != nil {
			path, msg, ok := strings.Cut(err.Error(), ": ")
			if !ok || !strings.HasPrefix(path, keyPath) {
				path, msg = keyPath, err.Error()
			}
			errs = append(errs, OptionError{Path: path, Msg: msg})
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
	return cfg, errs
}

// Open checks raw options and builds the tracker.
func (r *Registry) Open(ctx context.Context, name, kind string, raw map[string]any, logger *slog.Logger, baseDir string) (Tracker, error) {
	cfg, errs := r.check(kind, "trackers."+name, raw)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	spec, _ := r.Lookup(kind)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger, cfg.BaseDir = logger.With("tracker", name), baseDir
	return spec.New(ctx, cfg)
}

// Secrets returns the option names of kind marked Secret.
func (r *Registry) Secrets(kind string) []string {
	spec, _ := r.Lookup(kind)
	var out []string
	for _, o := range spec.Options {
		if o.Secret {
			out = append(out, o.Name)
		}
	}
	return out
}
