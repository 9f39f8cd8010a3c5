package github

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

// issueType is an issue's type (Bug, Task, Epic, ...), where the
// organization has issue types; GitHub answers it as an object or null.
type issueType struct {
	ID     int64  `json:"id"`
	NodeID string `json:"node_id"`
	Name   string `json:"name"`
}

// typeName is the issue's type name, "" for none.
func (is *issue) typeName() string {
	if is.Type == nil {
		return ""
	}
	return is.Type.Name
}

// Issue types map to kinds: a type named Epic is an epic, every other
// type (Task, Bug, Feature, ...) and none is an issue. With
// Options.IssueTypes, creating an epic sets the repository owner's Epic
// type (as the owner spells it, read once per repository from GET
// /repos/{o}/{r}/issue-types).

// TypeEpic is the issue type read as an epic.
const TypeEpic = "Epic"

// kindOfType is the kind an issue of type name is.
func kindOfType(name string) adapters.Kind {
	if strings.EqualFold(name, TypeEpic) {
		return adapters.KindEpic
	}
	return adapters.KindIssue
}

// kinds are the kinds Create makes.
func (t *Tracker) kinds() []adapters.Kind {
	if t.opts.IssueTypes {
		return []adapters.Kind{adapters.KindIssue, adapters.KindEpic}
	}
	return []adapters.Kind{adapters.KindIssue}
}

// typeFor is the type name to create it in repo with, "" for none: its
// Type when the flow syncs types (an owner's type of that name, or a
// permanent error naming the owner's types), else the owner's Epic type
// for an epic when issue types are on.
func (t *Tracker) typeFor(ctx context.Context, repo string, it adapters.Item) (string, error) {
	if !t.opts.IssueTypes || it.Type == "" && it.Kind != adapters.KindEpic {
		return "", nil
	}
	want := cmp.Or(it.Type, TypeEpic)
	return t.ownerType(ctx, repo, want)
}

// ownerType is repo's owner's spelling of issue type name, read once per
// repository from GET /repos/{o}/{r}/issue-types.
func (t *Tracker) ownerType(ctx context.Context, repo, name string) (string, error) {
	t.mu.Lock()
	types, ok := t.types[repo]
	t.mu.Unlock()
	if !ok {
		var list []issueType
		if _, err := t.call(ctx, "listing the issue types of "+repo, http.MethodGet, repoPath(repo)+"/issue-types", nil, &list, nil); err != nil {
			return "", err
		}
		for _, it := range list {
			types = append(types, it.Name)
		}
		t.mu.Lock()
		t.types[repo] = types
		t.mu.Unlock()
	}
	for _, n := range types {
		if strings.EqualFold(n, name) {
			return n, nil
		}
	}
	return "", fmt.Errorf("github: %s has no issue type %q (it has %q): %w", repo, name, types, adapters.Permanent(adapters.ErrInvalid))
}
