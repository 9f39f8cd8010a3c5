package mapping

import (
	"os"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/sides"
)

// FuzzValidate runs Parse, Validate and every compiled flow's Translate on
// arbitrary files: nothing may panic, and no problem may carry a value
// that came from the environment.
func FuzzValidate(f *testing.F) {
	for _, p := range []string{"../config.example.yaml", "testdata/broken.yaml"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data, "open")
		}
	}
	f.Add([]byte(testFlow), "In Progress")
	reg := testRegistry(f)
	f.Fuzz(func(t *testing.T, data []byte, value string) {
		var used []string
		env := func(name string) (string, bool) {
			if strings.HasPrefix(name, "U") || strings.HasPrefix(name, config.EnvPrefix+"_") {
				return "", false
			}
			v := "sekrit-" + name + "-zz"
			used = append(used, v)
			return v, true
		}
		c, _ := config.Parse(data, "fuzz.yaml", env)
		if c == nil {
			return
		}
		for _, p := range Validate(c, reg) {
			for _, s := range used {
				if strings.Contains(p.Error(), s) {
					t.Fatalf("problem %q leaks %q", p, s)
				}
			}
		}
		for _, cf := range c.Flows {
			fl, _ := Compile(cf, "flows", c.Users, SideInfo{Name: cf.A.Tracker, Caps: capsA}, SideInfo{Name: cf.B.Tracker, Caps: capsB})
			if fl == nil {
				continue
			}
			for _, r := range fl.Rules {
				for _, to := range []sides.Side{sides.A, sides.B} {
					fl.Translate(r.Field, to, value, "")
					fl.Translate(r.Field, to, `["`+value+`"]`, value)
				}
			}
		}
	})
}
