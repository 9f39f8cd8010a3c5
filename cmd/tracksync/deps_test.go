package main

import (
	"os/exec"
	"strings"
	"testing"
)

// forbiddenDeps are packages the release binary must not link: test
// support belongs in test-only code, and the sandbox's fakes (which the
// binary does link) must not drag it in.
var forbiddenDeps = []string{
	"testing",
	"github.com/getkin/kin-openapi/",
}

// TestBinaryLinksNoTestSupport lists the binary's packages and fails on
// testing or kin-openapi, which once came in through the GitHub fake's
// contract checker.
func TestBinaryLinksNoTestSupport(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go tool is not on PATH: %v", err)
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	if bad := forbidden(strings.Fields(string(out))); len(bad) > 0 {
		t.Errorf("the binary links test-only packages: %s\n(find the importer with: go list -deps -f '{{.ImportPath}}: {{.Imports}}' ./cmd/tracksync | grep <package>)", strings.Join(bad, ", "))
	}
}

func forbidden(pkgs []string) []string {
	var bad []string
	for _, p := range pkgs {
		for _, f := range forbiddenDeps {
			if p == f || (strings.HasSuffix(f, "/") && strings.HasPrefix(p, f)) || strings.HasPrefix(p, f+"/") {
				bad = append(bad, p)
				break
			}
		}
	}
	return bad
}

// TestForbiddenMatches: the matcher catches testing and its subpackages
// and kin-openapi's packages, and nothing that merely starts alike.
func TestForbiddenMatches(t *testing.T) {
	got := forbidden([]string{"testing", "testing/fstest", "testingx", "github.com/getkin/kin-openapi/openapi3", "github.com/getkin/kin-openapix", "net/http"})
	want := []string{"testing", "testing/fstest", "github.com/getkin/kin-openapi/openapi3"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("forbidden = %v, want %v", got, want)
	}
}
