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
	scopeMu sync.RWMutex
	// scopeChecks are, per adapter kind, the checks of a scope that need
	// no tracker, each for the uses it cares about.
	scopeChecks = map[string][]func(scope string, use ScopeUse) error{}
)

// ScopeUse is what a scope is read for: some scopes only make sense for
// one use (an Asana portfolio lists projects, which can be initiatives but
// not items a flow syncs).
type ScopeUse int

// The uses of a scope, each with its config key path in validate's words.
const (
	UseFlow        ScopeUse = iota // flows[i].a.scope, flows[i].b.scope
	UseInitiatives                 // initiatives.source.scope
	UseChildren                    // initiatives.children[i].scope
)

// RegisterScopeSyntax registers, for adapter kind, a check of a flow
// scope's syntax that needs no tracker (GitHub's qualifiers), so that
// `validate` catches a mistyped scope without credentials. Adapters call
// it from init().
func RegisterScopeSyntax(kind string, check func(scope string) error) {
	RegisterScopeUse(kind, func(scope string, use ScopeUse) error {
		if use != UseFlow {
			return nil
		}
		return check(scope)
	})
}

// RegisterScopeUse registers, for adapter kind, a check of a scope for a
// use that needs no tracker: its syntax, and whether that use can read
// it. Adapters call it from init(); validate reports its error at the
// scope's key path.
func RegisterScopeUse(kind string, check func(scope string, use ScopeUse) error) {
	scopeMu.Lock()
	defer scopeMu.Unlock()
	scopeChecks[kind] = append(scopeChecks[kind], check)
}

// CheckScope runs kind's registered checks of scope for use: the first
// error, nil when all pass or the kind registered none.
func CheckScope(kind, scope string, use ScopeUse) error {
	scopeMu.RLock()
	checks := scopeChecks[kind]
	scopeMu.RUnlock()
	for _, check := range checks {
		if err := check(scope, use); err != nil {
			return err
		}
	}
	return nil
}
