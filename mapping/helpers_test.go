package mapping

import (
	"context"
	"errors"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

// testRegistry registers stand-in specs for the adapter kinds the example
// config uses. jira and github are not written yet; roadmap and memory are
// stubbed too so this package's tests do not depend on them.
func testRegistry(t testing.TB) *adapters.Registry {
	t.Helper()
	reg := adapters.NewRegistry()
	notHere := func(context.Context, adapters.Config) (adapters.Tracker, error) {
		return nil, errors.New("stub spec: not constructible")
	}
	specs := []adapters.Spec{
		{Kind: "jira", New: notHere, Options: []adapters.Option{
			{Name: "url", Type: adapters.TypeString, Required: true},
			{Name: "deployment", Type: adapters.TypeString, Default: "cloud", Enum: []string{"cloud", "datacenter"}},
			{Name: "auth.email", Type: adapters.TypeString},
			{Name: "auth.token", Type: adapters.TypeString, Secret: true},
			{Name: "auth.pat", Type: adapters.TypeString, Secret: true},
			{Name: "webhook_secret", Type: adapters.TypeString, Secret: true},
			{Name: "limits", Type: adapters.TypeMap},
			{Name: "timeout", Type: adapters.TypeDuration, Default: "30s"},
			{Name: "project", Type: adapters.TypeString},
			{Name: "custom_fields", Type: adapters.TypeList},
			{Name: "back_links", Type: adapters.TypeBool, Default: true},
		}},
		{Kind: "github", New: notHere, Options: []adapters.Option{
			{Name: "url", Type: adapters.TypeString, Default: "https://api.github.com"},
			{Name: "auth.token", Type: adapters.TypeString, Secret: true},
			{Name: "auth.app_id", Type: adapters.TypeInt},
			{Name: "auth.installation_id", Type: adapters.TypeInt},
			{Name: "auth.private_key_file", Type: adapters.TypeString},
			{Name: "webhook_secret", Type: adapters.TypeString, Secret: true},
			{Name: "limits", Type: adapters.TypeMap},
		}},
		{Kind: "roadmap", New: notHere, Options: []adapters.Option{
			{Name: "path", Type: adapters.TypeString, Required: true},
		}},
		{Kind: "memory", New: notHere, Options: []adapters.Option{
			{Name: "project", Type: adapters.TypeString, Default: "MEM"},
			{Name: "path", Type: adapters.TypeString},
		}},
		{Kind: "asana", New: notHere, Options: []adapters.Option{
			{Name: "url", Type: adapters.TypeString},
			{Name: "auth.token", Type: adapters.TypeString, Required: true, Secret: true},
			{Name: "workspace", Type: adapters.TypeString, Required: true},
			{Name: "projects", Type: adapters.TypeList},
			{Name: "status", Type: adapters.TypeString},
			{Name: "limits", Type: adapters.TypeMap},
			{Name: "webhook_secret", Type: adapters.TypeString, Secret: true},
			{Name: "handshakes", Type: adapters.TypeString},
			{Name: "safety_poll", Type: adapters.TypeDuration},
			{Name: "marker", Type: adapters.TypeString},
		}},
	}
	for _, s := range specs {
		if err := reg.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}
