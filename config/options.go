package config

import (
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/internal/redact"
)

// Adapters declare their options as tagged structs (see adapters/options.go);
// this package's decoder reads them, so that a tracker's options are
// checked like the rest of the file: key paths, unknown keys with
// suggestions, the same types and tag options.
func init() { adapters.RegisterOptionDecoder(DecodeOptions) }

// DecodeOptions decodes a tracker's options as Tracker.Options holds them
// (${VAR} already expanded: strings are taken as they are) into the
// tagged struct into points at, the defaults already in it. Problems are
// named by key path under keyPath; Config.Line finds their line in the
// file the options came from. No message carries a secret's value; the
// values reach redaction through Config.MarkSecretOptions, not here.
func DecodeOptions(raw map[string]any, keyPath string, into any) []adapters.OptionError {
	if raw == nil {
		raw = map[string]any{}
	}
	var n yaml.Node
	if err := n.Encode(raw); err != nil {
		return []adapters.OptionError{{Path: keyPath, Msg: "cannot read the options: " + err.Error()}}
	}
	// Secrets reach redaction through Config.MarkSecretOptions, which
	// knows them from the same tags; messages here never quote a secret.
	c := &Config{lines: map[string]int{}, secrets: &secretSet{own: redact.New(), local: true}}
	d := &decoder{c: c, overrides: map[string]string{}, budget: nodeBudget, literal: true}
	v := reflect.ValueOf(into)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		panic("config: DecodeOptions needs a pointer to a struct, not " + v.Type().String())
	}
	d.decodeStruct(&n, keyPath, v.Elem(), nil)
	SortProblems(d.problems)
	out := make([]adapters.OptionError, len(d.problems))
	for i, p := range d.problems {
		out[i] = adapters.OptionError{Path: p.Path, Msg: p.Msg}
	}
	return out
}
