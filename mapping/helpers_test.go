package mapping

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// testRegistry registers stand-in specs for the adapter kinds the example
// config uses, so that this package's tests do not depend on the adapters:
// their option structs hold the options the example and testdata use.
func testRegistry(t testing.TB) *adapters.Registry {
	t.Helper()
	reg := adapters.NewRegistry()
	notHere := func(context.Context, adapters.Config) (adapters.Tracker, error) {
		return nil, errors.New("stub spec: not constructible")
	}
	type auth struct {
		Email string `yaml:"email"`
		Token string `yaml:"token,secret"`
		PAT   string `yaml:"pat,secret"`
	}
	type jira struct {
		URL           string            `yaml:"url,required"`
		Deployment    string            `yaml:"deployment" enum:"cloud,datacenter"`
		Auth          auth              `yaml:"auth"`
		WebhookSecret string            `yaml:"webhook_secret,secret"`
		Limits        map[string]any    `yaml:"limits"`
		Timeout       time.Duration     `yaml:"timeout"`
		Project       string            `yaml:"project"`
		CustomFields  []string          `yaml:"custom_fields,commas"`
		BackLinks     bool              `yaml:"back_links"`
		Transitions   map[string]string `yaml:"transition_defaults"`
	}
	type github struct {
		URL  string `yaml:"url"`
		Auth struct {
			Token          string `yaml:"token,secret"`
			AppID          int    `yaml:"app_id"`
			InstallationID int    `yaml:"installation_id"`
			PrivateKeyFile string `yaml:"private_key_file"`
		} `yaml:"auth"`
		WebhookSecret string         `yaml:"webhook_secret,secret"`
		Limits        map[string]any `yaml:"limits"`
	}
	type roadmap struct {
		Path string `yaml:"path,required"`
	}
	type memory struct {
		Project string `yaml:"project"`
		Path    string `yaml:"path"`
	}
	type asana struct {
		URL  string `yaml:"url"`
		Auth struct {
			Token string `yaml:"token,secret,required"`
		} `yaml:"auth"`
		Workspace     string         `yaml:"workspace,required"`
		Projects      []string       `yaml:"projects,commas"`
		Status        string         `yaml:"status"`
		Limits        map[string]any `yaml:"limits"`
		WebhookSecret string         `yaml:"webhook_secret,secret"`
		Handshakes    string         `yaml:"handshakes"`
		SafetyPoll    time.Duration  `yaml:"safety_poll"`
		Marker        string         `yaml:"marker"`
	}
	specs := []adapters.Spec{
		{Kind: "jira", New: notHere, OptionStruct: func() any { return &jira{Deployment: "cloud", Timeout: 30 * time.Second, BackLinks: true} }},
		{Kind: "github", New: notHere, OptionStruct: func() any { return &github{URL: "https://api.github.com"} }},
		{Kind: "roadmap", New: notHere, OptionStruct: func() any { return &roadmap{} }},
		{Kind: "memory", New: notHere, OptionStruct: func() any { return &memory{Project: "MEM"} }},
		{Kind: "asana", New: notHere, OptionStruct: func() any { return &asana{} }},
	}
	for _, s := range specs {
		if err := reg.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}
