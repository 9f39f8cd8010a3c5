package asana

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

func init() {
	adapters.Register(Spec())
}

// Spec is how the Asana tracker joins a registry: kind "asana". Options:
//
//	url:            API base (default https://app.asana.com/api/1.0)
//	auth.token:     a personal access token or OAuth access token (secret)
//	workspace:      the workspace gid
//	projects:       project gids whose sections are statuses before a
//	                scope names them
//	status:         section (default), completed, or custom_field:<name>
//	                (an enum field)
//	limits:         requests_per_minute (default 150; 1500 on paid plans),
//	                concurrent_writes (default 15)
//	webhook_secret: a webhook secret set by hand (secret); handshakes
//	                keep theirs in the state store
//	handshakes:     tracksync (default: only for webhooks it creates) or
//	                any (webhooks created by hand)
//	safety_poll:    how often listings also ask modified_since (15m)
//	marker:         notes (default) or external (OAuth apps): where the
//	                idempotency key of a created task is kept
//
// Scopes are "<project gid> [<project gid> ...] [section:<gid|name>] [tag:<gid|name>]",
// or, for initiatives.source.scope only, "portfolio:<gid>" (the
// portfolio's projects are the initiatives; see portfolio.go).
func Spec() adapters.Spec {
	return adapters.Spec{
		Kind: "asana",
		Help: "Asana tasks; scope: '<project gid> [<project gid> ...] [section:<gid|name>] [tag:<gid|name>]', or 'portfolio:<gid>' (its projects, as initiatives.source only)",
		Options: []adapters.Option{
			{Name: "url", Type: adapters.TypeString, Default: DefaultURL, Help: "API base URL"},
			{Name: "auth.token", Type: adapters.TypeString, Required: true, Secret: true, Help: "a personal access token or an OAuth access token"},
			{Name: "workspace", Type: adapters.TypeString, Required: true, Help: "the workspace gid"},
			{Name: "projects", Type: adapters.TypeList, Help: "project gids whose sections are statuses (scopes add theirs)"},
			{Name: "status", Type: adapters.TypeString, Default: StatusSection, Help: "where status lives: section, completed, or custom_field:<enum field name>"},
			{Name: "limits", Type: adapters.TypeMap, Help: "requests_per_minute (default 150; paid plans allow 1500), concurrent_writes (default 15)"},
			{Name: "webhook_secret", Type: adapters.TypeString, Secret: true, Help: "a webhook secret set by hand; handshakes keep theirs in the state store"},
			{Name: "handshakes", Type: adapters.TypeString, Default: "tracksync", Enum: []string{"tracksync", "any"}, Help: "which webhook handshakes to answer: those of webhooks tracksync creates (default), or any (webhooks created by hand)"},
			{Name: "safety_poll", Type: adapters.TypeDuration, Default: 15 * time.Minute, Help: "how often incremental listings also ask for tasks modified since the last"},
			{Name: "marker", Type: adapters.TypeString, Default: "notes", Enum: []string{"notes", "external"}, Help: "where a created task's idempotency key is kept: notes (any token) or also external (OAuth apps)"},
		},
		New: newFromConfig,
	}
}

func newFromConfig(_ context.Context, cfg adapters.Config) (adapters.Tracker, error) {
	keyPath := "trackers." + cfg.Name
	o := Options{
		URL: cfg.String("url"), Token: cfg.String("auth.token"), Workspace: cfg.String("workspace"),
		Projects: cfg.List("projects"), Status: cfg.String("status"), WebhookSecret: cfg.String("webhook_secret"),
		SafetyPoll: cfg.Duration("safety_poll"), External: cfg.String("marker") == "external", Logger: cfg.Logger,
		AnyHandshake: cfg.String("handshakes") == "any",
	}
	if st := o.Status; st != StatusSection && st != StatusCompleted && (!strings.HasPrefix(st, StatusFieldPrefix) || st == StatusFieldPrefix) {
		return nil, fmt.Errorf("%s.status: %q: want section, completed or custom_field:<enum field name>", keyPath, st)
	}
	if m, ok := cfg.Options["limits"].(map[string]any); ok {
		for k, v := range m {
			n, err := strconv.Atoi(fmt.Sprint(v))
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("%s.limits.%s: want a positive whole number", keyPath, k)
			}
			switch k {
			case "requests_per_minute":
				o.RequestsPerMinute = n
			case "concurrent_writes":
				o.ConcurrentWrites = n
			default:
				return nil, fmt.Errorf("%s.limits.%s: unknown limit (known: requests_per_minute, concurrent_writes)", keyPath, k)
			}
		}
	}
	t, err := New(cfg.Name, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return t, nil
}
