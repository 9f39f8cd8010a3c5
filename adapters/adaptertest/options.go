package adaptertest

import (
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

// OptionProblems checks tracker options for a tracker of kind in reg
// under keyPath (trackers.<name>). cases maps the start of the one
// problem expected to the options, as a config file holds them, that must
// give it: exactly one problem, holding none of secrets.
func OptionProblems(t *testing.T, reg *adapters.Registry, kind, keyPath string, cases map[string]map[string]any, secrets ...string) {
	t.Helper()
	for want, raw := range cases {
		errs := reg.Check(kind, keyPath, raw)
		if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), want) {
			t.Errorf("%v: got %v, want %q", raw, errs, want)
		}
		for _, err := range errs {
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("%v: the secret %q in %v", raw, s, err)
				}
			}
		}
	}
}

// NewRegistry is a registry holding only spec.
func NewRegistry(t *testing.T, spec adapters.Spec) *adapters.Registry {
	t.Helper()
	reg := adapters.NewRegistry()
	if err := reg.Register(spec); err != nil {
		t.Fatal(err)
	}
	return reg
}
