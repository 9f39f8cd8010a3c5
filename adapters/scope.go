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

var uses = map[string]func(scope string, use ScopeUse) error{}

// RegisterScopeUse registers, for adapter kind, a check of a scope for a
// use that needs no tracker: its syntax, and whether that use can read
// it. Adapters call it from init(); validate reports its error at the
// scope's key path.
func RegisterScopeUse(kind string, check func(scope string, use ScopeUse) error) {
	syntaxMu.Lock()
	defer syntaxMu.Unlock()
	uses[kind] = check
}

// CheckScopeUse checks scope for use with kind's registered use check;
// nil when it is fine or the kind registered none. validate runs it
// after CheckScopeSyntax on flow scopes, and alone on the initiatives'.
func CheckScopeUse(kind, scope string, use ScopeUse) error {
	syntaxMu.RLock()
	check := uses[kind]
	syntaxMu.RUnlock()
	if check == nil {
		return nil
	}
	return check(scope, use)
}
