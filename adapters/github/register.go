package github

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/tracksync/tracksync/adapters"
)

func init() {
	adapters.Register(Spec())
}

// Spec is how the GitHub tracker joins a registry: kind "github". Options:
//
//	url:                    API base (default https://api.github.com); a
//	                        GitHub Enterprise Server host or API URL
//	auth.token:             a personal access token (secret), or instead
//	auth.app_id,
//	auth.installation_id,
//	auth.private_key_file:  a GitHub App installation (the key file is
//	                        relative to the config file's folder)
//	webhook_secret:         verifies X-Hub-Signature-256 (secret)
//	limits:                 content_per_minute (default 80) and
//	                        content_per_hour (default 500): the pace of
//	                        content-creating requests
//	issue_types:            true when the owners have issue types: an
//	                        issue of type Epic is an epic, and epics are
//	                        created with that type
//
// Scopes are "owner/repo [owner/repo2 ...] [label:x] [state:open|all]".
func Spec() adapters.Spec {
	return adapters.Spec{
		Kind: "github",
		Help: "GitHub issues on github.com or GitHub Enterprise Server; scope: 'owner/repo [owner/repo2 ...] [label:x] [state:open|all]'",
		Options: []adapters.Option{
			{Name: "url", Type: adapters.TypeString, Default: DefaultURL, Help: "API base URL: https://api.github.com or a GitHub Enterprise Server URL"},
			{Name: "auth.token", Type: adapters.TypeString, Secret: true, Help: "a personal access token (fine-grained or classic)"},
			{Name: "auth.app_id", Type: adapters.TypeInt, Help: "GitHub App id (with installation_id and private_key_file, instead of a token)"},
			{Name: "auth.installation_id", Type: adapters.TypeInt, Help: "GitHub App installation id"},
			{Name: "auth.private_key_file", Type: adapters.TypeString, Help: "GitHub App private key (PEM), relative to the config file"},
			{Name: "webhook_secret", Type: adapters.TypeString, Secret: true, Help: "the secret webhooks are signed with"},
			{Name: "limits", Type: adapters.TypeMap, Help: "content_per_minute (default 80), content_per_hour (default 500)"},
			{Name: "issue_types", Type: adapters.TypeBool, Help: "the owners have issue types: type Epic is an epic, and epics are created with it"},
		},
		New: newFromConfig,
	}
}

func newFromConfig(_ context.Context, cfg adapters.Config) (adapters.Tracker, error) {
	keyPath := "trackers." + cfg.Name
	opts := Options{
		URL:           cfg.String("url"),
		Token:         cfg.String("auth.token"),
		WebhookSecret: cfg.String("webhook_secret"),
		Logger:        cfg.Logger,
		IssueTypes:    cfg.Bool("issue_types"),
	}
	if m, ok := cfg.Options["limits"].(map[string]any); ok {
		for k, v := range m {
			n, err := strconv.Atoi(fmt.Sprint(v))
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("%s.limits.%s: want a positive whole number", keyPath, k)
			}
			switch k {
			case "content_per_minute":
				opts.ContentPerMinute = n
			case "content_per_hour":
				opts.ContentPerHour = n
			default:
				return nil, fmt.Errorf("%s.limits.%s: unknown limit (known: content_per_minute, content_per_hour)", keyPath, k)
			}
		}
	}
	appID, instID, keyFile := cfg.Int("auth.app_id"), cfg.Int("auth.installation_id"), cfg.String("auth.private_key_file")
	switch {
	case appID != 0 || instID != 0 || keyFile != "":
		if appID == 0 || instID == 0 || keyFile == "" {
			return nil, fmt.Errorf("%s.auth: a GitHub App needs app_id, installation_id and private_key_file", keyPath)
		}
		if opts.Token != "" {
			return nil, fmt.Errorf("%s.auth: give either token or a GitHub App, not both", keyPath)
		}
		if !filepath.IsAbs(keyFile) && cfg.BaseDir != "" {
			keyFile = filepath.Join(cfg.BaseDir, keyFile)
		}
		key, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("%s.auth.private_key_file: %w", keyPath, err)
		}
		opts.App = &AppAuth{AppID: int64(appID), InstallationID: int64(instID), PrivateKey: key}
	case opts.Token == "":
		return nil, fmt.Errorf("%s.auth: give token, or app_id, installation_id and private_key_file", keyPath)
	}
	t, err := New(cfg.Name, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return t, nil
}
