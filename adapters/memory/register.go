package memory

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

func init() {
	adapters.Register(Spec())
}

// Spec is how the memory tracker joins a registry: kind "memory". Its
// options (fileOptions), all optional:
//
//	project:   key prefix, items are PROJECT-N (default MEM)
//	path:      JSON file keeping the items across runs, relative to the
//	           config file's folder (default: nothing kept)
//	statuses:  the workflow as "Name:category" pairs in order, comma
//	           separated: "To Do:todo, Doing:in_progress, Done:done"
//	           (default To Do, In Progress, In Review, Done)
//	fields:    the syncable fields, comma separated, "custom:Name" for a
//	           custom field (default all standard fields)
//	page_size: listing page size (default 50, at most 100)
//
// Tests that want an isolated registry register Spec() there.
func Spec() adapters.Spec {
	return adapters.Spec{
		Kind:         "memory",
		Help:         "an in-memory tracker for trying tracksync out, the demo and tests; with path, items persist in a JSON file",
		OptionStruct: defaultOptions,
		New:          newFromConfig,
		Validate:     validateConfig,
	}
}

// validateConfig checks, for `validate`, what New would refuse: a page
// size out of range (0 is the default) and a statuses list that does
// not parse.
func validateConfig(cfg adapters.Config) error {
	keyPath := "trackers." + cfg.Name
	var f fileOptions
	if err := cfg.Decode(&f); err != nil {
		return err
	}
	if f.PageSize < 0 || f.PageSize > MaxPageSize {
		return fmt.Errorf("%s.page_size: %d is outside 1..%d (0: the default)", keyPath, f.PageSize, MaxPageSize)
	}
	if s := f.Statuses; s != "" {
		if _, err := ParseStatuses(s); err != nil {
			return fmt.Errorf("%s.statuses: %w", keyPath, err)
		}
	}
	return nil
}

// fileOptions are a memory tracker's options as the config file holds
// them; the tags are the keys and their help (see adapters/options.go).
type fileOptions struct {
	Project  string `yaml:"project" help:"key prefix: items are PROJECT-N"`
	Path     string `yaml:"path" help:"JSON file keeping the items across runs, relative to the config file"`
	Statuses string `yaml:"statuses" help:"workflow in order as \"Name:category\" pairs, comma separated, e.g. \"To Do:todo, Doing:in_progress, Done:done\""`
	Fields   string `yaml:"fields" help:"syncable fields, comma separated, \"custom:Name\" for custom fields (default: all standard fields)"`
	PageSize int    `yaml:"page_size" help:"listing page size, at most 100"`
}

func defaultOptions() any { return &fileOptions{Project: "MEM", PageSize: 50} }

func newFromConfig(_ context.Context, cfg adapters.Config) (adapters.Tracker, error) {
	keyPath := "trackers." + cfg.Name
	var f fileOptions
	if err := cfg.Decode(&f); err != nil {
		return nil, err
	}
	opts := Options{
		Project:  f.Project,
		PageSize: f.PageSize,
	}
	if p := f.Path; p != "" {
		if !filepath.IsAbs(p) && cfg.BaseDir != "" {
			p = filepath.Join(cfg.BaseDir, p)
		}
		opts.Path = p
	}
	if s := f.Statuses; s != "" {
		st, err := ParseStatuses(s)
		if err != nil {
			return nil, fmt.Errorf("%s.statuses: %w", keyPath, err)
		}
		opts.Statuses = st
	}
	if s := f.Fields; s != "" {
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				opts.Fields = append(opts.Fields, f)
			}
		}
	}
	t, err := New(cfg.Name, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return t, nil
}

// ParseStatuses reads a workflow written as "Name:category" pairs, comma
// separated, in order: "To Do:todo, In Progress:in_progress, Done:done".
// The category follows the last colon, so names may contain colons.
func ParseStatuses(s string) ([]adapters.StatusDef, error) {
	var out []adapters.StatusDef
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		i := strings.LastIndex(pair, ":")
		if i < 0 {
			return nil, fmt.Errorf("status %q: want Name:category: %w", pair, adapters.ErrInvalid)
		}
		def := adapters.StatusDef{
			Name:     strings.TrimSpace(pair[:i]),
			Category: adapters.StatusCategory(strings.TrimSpace(pair[i+1:])),
		}
		if def.Name == "" || !def.Category.Valid() {
			return nil, fmt.Errorf("status %q: want a name and a category of todo, in_progress or done: %w", pair, adapters.ErrInvalid)
		}
		out = append(out, def)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no statuses in %q: %w", s, adapters.ErrInvalid)
	}
	return out, nil
}
