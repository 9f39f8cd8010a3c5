package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that no input panics or hangs Parse, and that no problem
// message carries a value that came from the environment.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("../config.example.yaml"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"state: {dsn: '${A}'}\nserver: {token: '${B:-x}'}",
		"log: {level: '${SECRET}'}\nflows:\n  - {name: x, a: {tracker: p}, b: {tracker: q}, fields: {status: {map: [{a: '${S}', b: y}]}}}",
		"a: &a [1, 2]\nb: &b [*a, *a]\nc: [*b, *b]\ninitiatives: {x: *b}",
		"flows:\n  - <<: [{name: x}, {name: y}]\n    fields: {title: both, 'custom:X': {a: '${Q}'}}",
		"trackers:\n  j: {kind: '${K}', token: '${T}', opts: [1, {a: b}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var used []string
		env := func(name string) (string, bool) {
			if strings.HasPrefix(name, "U") || strings.HasPrefix(name, EnvPrefix+"_") {
				return "", false
			}
			v := "sekrit-" + name + "-zz"
			used = append(used, v)
			return v, true
		}
		start := time.Now()
		c, err := Parse(data, "fuzz.yaml", env)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Parse took %v", d)
		}
		var se *SyntaxError
		if errors.As(err, &se) {
			if c != nil {
				t.Fatal("a syntax error came with a config")
			}
			return
		}
		if c == nil {
			t.Fatalf("no config and no syntax error: %v", err)
		}
		var ps Problems
		if err != nil && !errors.As(err, &ps) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		for _, p := range ps {
			for _, s := range used {
				if strings.Contains(p.Msg, s) {
					t.Fatalf("problem %q leaks %q", p, s)
				}
			}
		}
		for _, s := range used {
			if strings.Contains(c.Redact("x "+s+" y"), s) {
				t.Fatalf("Redact leaves %q", s)
			}
		}
	})
}
