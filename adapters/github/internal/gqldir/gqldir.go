// Package gqldir evaluates GraphQL's @include and @skip directives, for
// the GitHub fake (which answers only what a query selects) and the
// contract checker (which reads those answers against the selection).
package gqldir

import "github.com/vektah/gqlparser/v2/ast"

// Included reports whether a selection with directives dirs is part of
// the answer, given the request's variables.
func Included(dirs ast.DirectiveList, vars map[string]any) bool {
	for _, d := range dirs {
		if d.Name != "include" && d.Name != "skip" {
			continue
		}
		arg := d.Arguments.ForName("if")
		if arg == nil {
			continue
		}
		v, _ := arg.Value.Value(vars)
		b, _ := v.(bool)
		if (d.Name == "include") != b {
			return false
		}
	}
	return true
}
