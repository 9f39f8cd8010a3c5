package memory

import "github.com/tracksync/tracksync/adapters"

func init() {
	adapters.RegisterScopeSyntax("memory", func(scope string) error {
		_, err := parseScope(scope)
		return err
	})
}
