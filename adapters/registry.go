package adapters

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
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

// Option declares one config key of an adapter as data: the config loader,
// `validate`, the docs and secret redaction are all driven from it.
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
	// it and New takes it with Config.Decode. Register then derives
	// Options from its tags.
	OptionStruct func() any
	// Options lists the options, for help and secrets; derived from
	// OptionStruct when that is set. A spec without OptionStruct has its
	// options checked and converted by name (Config.String, ...).
	Options []Option
	// New builds a tracker from validated options (defaults filled in).
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
	Name    string         // the configured tracker name
	Options map[string]any // validated values keyed by Option.Name, defaults filled (specs without OptionStruct)
	Logger  *slog.Logger
	// BaseDir resolves relative paths in options (the config file's folder).
	BaseDir string

	decoded any // the option struct, for Decode
}

// String returns option name as a string ("" when unset).
func (c Config) String(name string) string {
	v, _ := c.Options[name].(string)
	return v
}

// List returns option name as a list of strings (TypeList).
func (c Config) List(name string) []string {
	v, _ := c.Options[name].([]string)
	return v
}

// Int returns option name as an int.
func (c Config) Int(name string) int {
	v, _ := c.Options[name].(int)
	return v
}

// Bool returns option name as a bool.
func (c Config) Bool(name string) bool {
	v, _ := c.Options[name].(bool)
	return v
}

// Duration returns option name as a duration.
func (c Config) Duration(name string) time.Duration {
	v, _ := c.Options[name].(time.Duration)
	return v
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
	if spec.OptionStruct != nil {
		if len(spec.Options) > 0 {
			return fmt.Errorf("adapters: kind %q: give OptionStruct or Options, not both", spec.Kind)
		}
		spec.Options = OptionsOf(spec.OptionStruct())
	}
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

// Check validates raw option values for kind against its spec, filling
// defaults. keyPath prefixes reported paths (e.g. "trackers.acme-jira").
// Every problem is reported, not just the first. Secret values never appear
// in a message.
func (r *Registry) Check(kind, keyPath string, raw map[string]any) (map[string]any, []OptionError) {
	cfg, errs := r.check(kind, keyPath, raw)
	return cfg.Options, errs
}

// check validates raw and returns the Config New is given (without
// Logger and BaseDir).
func (r *Registry) check(kind, keyPath string, raw map[string]any) (Config, []OptionError) {
	spec, ok := r.Lookup(kind)
	if !ok {
		return Config{}, []OptionError{{Path: keyPath + ".kind", Msg: fmt.Sprintf("unknown tracker kind %q (known: %s)", kind, strings.Join(r.Kinds(), ", "))}}
	}
	name := strings.TrimPrefix(keyPath, "trackers.")
	if spec.OptionStruct != nil {
		cfg := Config{Name: name}
		var errs []OptionError
		cfg.decoded, errs = decodeOptions(spec, raw, keyPath)
		return cfg, r.validate(spec, cfg, keyPath, errs)
	}
	var errs []OptionError
	out := map[string]any{}
	known := map[string]Option{}
	for _, o := range spec.Options {
		known[o.Name] = o
	}
	flat := map[string]any{}
	flatten("", raw, known, flat)
	for k := range flat {
		if k == "kind" {
			continue
		}
		if _, ok := known[k]; !ok {
			errs = append(errs, OptionError{Path: keyPath + "." + k, Msg: fmt.Sprintf("unknown option for a %s tracker", kind)})
		}
	}
	for _, o := range spec.Options {
		path := keyPath + "." + o.Name
		v, present := flat[o.Name]
		if !present || v == nil || v == "" {
			if o.Required {
				errs = append(errs, OptionError{Path: path, Msg: "required" + helpSuffix(o)})
				continue
			}
			if o.Default != nil {
				out[o.Name] = o.Default
			}
			continue
		}
		cv, err := convert(o, v)
		if err != nil {
			msg := err.Error()
			if o.Secret {
				msg = "has the wrong type (value hidden: it is a secret)"
			}
			errs = append(errs, OptionError{Path: path, Msg: msg})
			continue
		}
		out[o.Name] = cv
	}
	cfg := Config{Name: name, Options: out}
	return cfg, r.validate(spec, cfg, keyPath, errs)
}

// validate runs spec.Validate when the options decoded without problems,
// and sorts the problems.
func (r *Registry) validate(spec Spec, cfg Config, keyPath string, errs []OptionError) []OptionError {
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
	return errs
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

func helpSuffix(o Option) string {
	if o.Help == "" {
		return ""
	}
	return " (" + o.Help + ")"
}

// flatten turns nested maps into dotted keys, stopping at keys that are
// declared options (so a TypeMap option keeps its map).
func flatten(prefix string, m map[string]any, known map[string]Option, out map[string]any) {
	for k, v := range m {
		key := strings.ToLower(k)
		if prefix != "" {
			key = prefix + "." + key
		}
		if _, isOpt := known[key]; !isOpt {
			if sub, ok := asMap(v); ok {
				flatten(key, sub, known, out)
				continue
			}
		}
		out[key] = v
	}
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

func convert(o Option, v any) (any, error) {
	switch o.Type {
	case TypeString, "":
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case int, int64, float64, bool:
			s = fmt.Sprint(x)
		default:
			return nil, fmt.Errorf("want a string, got %T", v)
		}
		if len(o.Enum) > 0 {
			for _, e := range o.Enum {
				if e == s {
					return s, nil
				}
			}
			return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(o.Enum, ", "))
		}
		return s, nil
	case TypeInt:
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			return int(x), nil
		case float64:
			if x == float64(int(x)) {
				return int(x), nil
			}
		case string:
			if n, err := strconv.Atoi(x); err == nil {
				return n, nil
			}
		}
		return nil, fmt.Errorf("want a whole number, got %v", v)
	case TypeBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, fmt.Errorf("want true or false, got %v", v)
	case TypeDuration:
		switch x := v.(type) {
		case time.Duration:
			return x, nil
		case string:
			d, err := time.ParseDuration(x)
			if err != nil {
				return nil, fmt.Errorf("want a duration like 30s or 5m, got %q", x)
			}
			return d, nil
		}
		return nil, fmt.Errorf("want a duration like 30s or 5m, got %v", v)
	case TypeMap:
		if m, ok := asMap(v); ok {
			return m, nil
		}
		return nil, fmt.Errorf("want a mapping, got %T", v)
	case TypeList:
		var out []string
		switch x := v.(type) {
		case string:
			for _, p := range strings.Split(x, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
		case []any:
			for i, e := range x {
				s, ok := e.(string)
				if !ok || strings.TrimSpace(s) == "" {
					return nil, fmt.Errorf("item %d: want a non-empty string, got %v", i, e)
				}
				out = append(out, strings.TrimSpace(s))
			}
		case []string:
			out = x
		default:
			return nil, fmt.Errorf("want a list of strings, got %T", v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown option type %q", o.Type)
}
