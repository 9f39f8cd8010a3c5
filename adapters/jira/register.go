package jira

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

func init() {
	adapters.Register(Spec())
}

// fileOptions are a jira tracker's options as the config file holds them;
// the tags are the keys and their help (see adapters/options.go).
type fileOptions struct {
	URL        string `yaml:"url,required" help:"the site (Cloud, https://acme.atlassian.net) or base URL (Data Center)"`
	Deployment string `yaml:"deployment" enum:"cloud,datacenter" help:"cloud or datacenter"`
	Auth       struct {
		Email string `yaml:"email" help:"Cloud: the account the API token belongs to; Data Center basic auth: the username"`
		Token string `yaml:"token,secret" help:"Cloud: an API token; Data Center basic auth: the password"`
		PAT   string `yaml:"pat,secret" help:"Data Center: a personal access token"`
	} `yaml:"auth"`
	WebhookSecret string `yaml:"webhook_secret,secret" help:"the Jira webhook's secret; deliveries without a matching X-Hub-Signature are refused"`
	Limits        struct {
		RequestsPerSecond float64 `yaml:"requests_per_second" check:"not_negative"`
	} `yaml:"limits" help:"pacing below Jira's own limits: requests_per_second"`
	Timeout      time.Duration `yaml:"timeout" help:"per HTTP request"`
	Project      string        `yaml:"project" help:"the project key new issues go to"`
	CustomFields []string      `yaml:"custom_fields,commas" help:"custom fields to read and write as custom:<name>, by display name (Story Points)"`
	BackLinks    bool          `yaml:"back_links" help:"add a remote link to the counterpart on each issue tracksync creates (one request per created issue; false saves it)"`
	// TransitionDefaults fill the fields a workflow transition's screen
	// requires, by field name or id (resolution: Done unless set).
	TransitionDefaults map[string]string `yaml:"transition_defaults" help:"values for the fields a transition's screen requires, by field name or id (resolution: Done unless set)"`
}

func defaultOptions() any {
	return &fileOptions{Deployment: Cloud, Timeout: 30 * time.Second, BackLinks: true}
}

// Spec is how the Jira adapter joins a registry: kind "jira".
func Spec() adapters.Spec {
	return adapters.Spec{
		Kind:         "jira",
		Help:         "Jira Cloud (REST v3) or Jira Data Center / Server (REST v2)",
		OptionStruct: defaultOptions,
		New:          newFromConfig,
	}
}

func newFromConfig(ctx context.Context, cfg adapters.Config) (adapters.Tracker, error) {
	keyPath := "trackers." + cfg.Name
	var f fileOptions
	if err := cfg.Decode(&f); err != nil {
		return nil, err
	}
	o := Options{
		URL:               f.URL,
		Deployment:        f.Deployment,
		Email:             f.Auth.Email,
		Token:             f.Auth.Token,
		PAT:               f.Auth.PAT,
		WebhookSecret:     f.WebhookSecret,
		Project:           f.Project,
		CustomFields:      f.CustomFields,
		Timeout:           f.Timeout,
		RequestsPerSecond: f.Limits.RequestsPerSecond,
		NoBackLinks:       !f.BackLinks,
		Logger:            cfg.Logger,
	}
	if len(f.TransitionDefaults) > 0 {
		o.TransitionDefaults = map[string]string{"resolution": "Done"}
		maps.Copy(o.TransitionDefaults, f.TransitionDefaults)
	}
	if o.Deployment == Cloud && o.PAT != "" {
		return nil, fmt.Errorf("%s.auth.pat: Jira Cloud takes auth.email and auth.token, not a personal access token", keyPath)
	}
	t, err := New(ctx, cfg.Name, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return t, nil
}
