package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmptyConfigRefused: an empty (or all-comments) config used to pass
// validate, and serve then ran with nothing to do and every check green.
func TestEmptyConfigRefused(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"empty.yaml": "", "comments.yaml": "# nothing here yet\n"} {
		cfg := filepath.Join(dir, name)
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []string{"validate", "serve"} {
			code, out, errs := runCLI(t, "-c", cfg, cmd, "--listen", "127.0.0.1:0")
			if cmd == "validate" {
				code, out, errs = runCLI(t, "-c", cfg, cmd)
			}
			if code != exitUsage || !strings.Contains(errs, "flows: the config has no flows and no initiatives") {
				t.Errorf("%s %s: exit %d\n%s%s", cmd, name, code, out, errs)
			}
		}
	}
}
