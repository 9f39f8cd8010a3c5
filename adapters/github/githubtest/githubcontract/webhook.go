package githubcontract

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tracksync/tracksync/internal/contracttest"
)

// WebhookSchemaName is the schema GitHub's description gives the payload
// of an event and action (webhook-issues-opened,
// webhook-sub-issues-parent-issue-added, webhook-ping).
func WebhookSchemaName(event, action string) string {
	name := "webhook-" + strings.ReplaceAll(event, "_", "-")
	if action != "" {
		name += "-" + strings.ReplaceAll(action, "_", "-")
	}
	return name
}

// CheckWebhook checks a delivery's payload against the schema GitHub's
// description gives its event and action; it returns the problems found
// and skips t when the description is absent.
func CheckWebhook(t testing.TB, event, action string, body []byte) []string {
	t.Helper()
	doc := contracttest.Doc(t, "GitHub", filepath.Join("github", "api.github.com.json"), "https://api.github.com", nil)
	name := WebhookSchemaName(event, action)
	ref := doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return []string{name + ": no such schema in GitHub's description"}
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return []string{name + ": payload not JSON: " + err.Error()}
	}
	if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		var out []string
		if me, ok := err.(openapi3.MultiError); ok {
			for _, e := range me {
				out = append(out, name+": "+e.Error())
			}
			return out
		}
		return []string{name + ": " + err.Error()}
	}
	return nil
}
