package jira

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

func init() {
	adapters.Register(Spec())
}

// Spec is how the Jira adapter joins a registry: kind "jira".
func Spec() adapters.Spec {
	return adapters.Spec{
		Kind: "jira",
		Help: "Jira Cloud (REST v3) or Jira Data Center / Server (REST v2)",
		Options: []adapters.Option{
			{Name: "url", Type: adapters.TypeString, Required: true, Help: "the site (Cloud, https://acme.atlassian.net) or base URL (Data Center)"},
			{Name: "deployment", Type: adapters.TypeString, Default: Cloud, Enum: []string{Cloud, DataCenter}, Help: "cloud or datacenter"},
			{Name: "auth.email", Type: adapters.TypeString, Help: "Cloud: the account the API token belongs to; Data Center basic auth: the username"},
			{Name: "auth.token", Type: adapters.TypeString, Secret: true, Help: "Cloud: an API token; Data Center basic auth: the password"},
			{Name: "auth.pat", Type: adapters.TypeString, Secret: true, Help: "Data Center: a personal access token"},
			{Name: "webhook_secret", Type: adapters.TypeString, Secret: true, Help: "the Jira webhook's secret; deliveries without a matching X-Hub-Signature are refused"},
			{Name: "limits", Type: adapters.TypeMap, Help: "pacing below Jira's own limits: requests_per_second"},
			{Name: "timeout", Type: adapters.TypeDuration, Default: 30 * time.Second, Help: "per HTTP request"},
			{Name: "project", Type: adapters.TypeString, Help: "the project key new issues go to"},
			{Name: "custom_fields", Type: adapters.TypeList, Help: "custom fields to read and write as custom:<name>, by display name (Story Points)"},
			{Name: "back_links", Type: adapters.TypeBool, Default: true, Help: "add a remote link to the counterpart on each issue tracksync creates (one request per created issue; false saves it)"},
		},
		New: newFromConfig,
	}
}

func newFromConfig(ctx context.Context, cfg adapters.Config) (adapters.Tracker, error) {
	keyPath := "trackers." + cfg.Name
	o := Options{
		URL:           cfg.String("url"),
		Deployment:    cfg.String("deployment"),
		Email:         cfg.String("auth.email"),
		Token:         cfg.String("auth.token"),
		PAT:           cfg.String("auth.pat"),
		WebhookSecret: cfg.String("webhook_secret"),
		Project:       cfg.String("project"),
		CustomFields:  cfg.List("custom_fields"),
		Timeout:       cfg.Duration("timeout"),
		NoBackLinks:   !cfg.Bool("back_links"),
		Logger:        cfg.Logger,
	}
	if o.Deployment == Cloud && o.PAT != "" {
		return nil, fmt.Errorf("%s.auth.pat: Jira Cloud takes auth.email and auth.token, not a personal access token", keyPath)
	}
	if limits, ok := cfg.Options["limits"].(map[string]any); ok {
		for k, v := range limits {
			switch k {
			case "requests_per_second":
				f, err := number(v)
				if err != nil || f < 0 {
					return nil, fmt.Errorf("%s.limits.requests_per_second: want a positive number, got %v", keyPath, v)
				}
				o.RequestsPerSecond = f
			default:
				return nil, fmt.Errorf("%s.limits.%s: unknown limit (known: requests_per_second)", keyPath, k)
			}
		}
	}
	t, err := New(ctx, cfg.Name, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return t, nil
}

func number(v any) (float64, error) {
	switch x := v.(type) {
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case string:
		return strconv.ParseFloat(x, 64)
	}
	return 0, fmt.Errorf("not a number: %v", v)
}
