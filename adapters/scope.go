package adapters

import (
	"context"
	"sync"
)

// ScopeChecker is implemented by trackers that can ask the live tracker
// whether a flow's scope query is valid (Jira parses JQL), for doctor:
// an invalid scope then fails at once, not at the first sync. It
// returns an error wrapping ErrInvalid with the tracker's own message
// when the scope is wrong.
type ScopeChecker interface {
	CheckScope(ctx context.Context, scope string) error
}

var (
	syntaxMu sync.RWMutex
	syntax   = map[string]func(scope string) error{}
)

// RegisterScopeSyntax registers, for adapter kind, a check of a scope's
// syntax that needs no tracker (GitHub's qualifiers), so that `validate`
// catches a mistyped scope without credentials. Adapters call it from
// init().
func RegisterScopeSyntax(kind string, check func(scope string) error) {
	syntaxMu.Lock()
	defer syntaxMu.Unlock()
	syntax[kind] = check
}

// CheckScopeSyntax checks scope with kind's registered syntax check; nil
// when it is fine or the kind registered none.
func CheckScopeSyntax(kind, scope string) error {
	syntaxMu.RLock()
	check := syntax[kind]
	syntaxMu.RUnlock()
	if check == nil {
		return nil
	}
	return check(scope)
}
