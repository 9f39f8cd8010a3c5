package jira

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

var _ adapters.ScopeChecker = (*Tracker)(nil)

// CheckScope asks Jira to parse and validate the JQL (POST
// /rest/api/3/jql/parse, strict): an unknown field, project or
// function is an error carrying Jira's message. Data Center has no
// parse endpoint; there the scope is checked by searching it for one
// issue.
func (t *Tracker) CheckScope(ctx context.Context, scope string) error {
	if strings.TrimSpace(scope) == "" {
		return nil
	}
	if t.dc {
		if _, err := t.searchAll(ctx, scope, 1); err != nil {
			return fmt.Errorf("jira %s: scope %q: %w", t.name, scope, err)
		}
		return nil
	}
	var out struct {
		Queries []struct {
			Query  string   `json:"query"`
			Errors []string `json:"errors"`
		} `json:"queries"`
	}
	body := map[string]any{"queries": []string{scope}}
	if err := t.c.do(ctx, http.MethodPost, "/rest/api/3/jql/parse?validation=strict", body, &out); err != nil {
		return fmt.Errorf("jira %s: checking scope %q: %w", t.name, scope, err)
	}
	for _, q := range out.Queries {
		if len(q.Errors) > 0 {
			return fmt.Errorf("jira %s: scope %q: %s: %w", t.name, scope, strings.Join(q.Errors, "; "), adapters.ErrInvalid)
		}
	}
	return nil
}
