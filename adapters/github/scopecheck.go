package github

import "github.com/tracksync/tracksync/adapters"

// A flow scope's syntax (owner/repo, label:, state:) is checked by
// `validate` without a token.
func init() {
	adapters.RegisterScopeSyntax("github", func(scope string) error {
		_, err := parseScope(scope)
		return err
	})
}
