package asana

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

func init() {
	adapters.Register(Spec())
}

// fileOptions are an asana tracker's options as the config file holds
// them; the tags are the keys and their help (see adapters/options.go).
type fileOptions struct {
	URL  string `yaml:"url" help:"API base URL"`
	Auth struct {
		Token string `yaml:"token,secret,required" help:"a personal access token or an OAuth access token"`
	} `yaml:"auth"`
	Workspace string   `yaml:"workspace,required" help:"the workspace gid"`
	Projects  []string `yaml:"projects,commas" help:"project gids whose sections are statuses (scopes add theirs)"`
	Status    string   `yaml:"status" help:"where status lives: section, completed, or custom_field:<enum field name>"`
	Limits    struct {
		RequestsPerMinute int `yaml:"requests_per_minute" check:"positive"`
		ConcurrentWrites  int `yaml:"concurrent_writes" check:"positive"`
	} `yaml:"limits" help:"requests_per_minute (default 150; paid plans allow 1500), concurrent_writes (default 15)"`
	WebhookSecret string        `yaml:"webhook_secret,secret" help:"a webhook secret set by hand; handshakes keep theirs in the state store"`
	Handshakes    string        `yaml:"handshakes" enum:"tracksync,any" help:"which webhook handshakes to answer: those of webhooks tracksync creates (default), or any (webhooks created by hand)"`
	SafetyPoll    time.Duration `yaml:"safety_poll" help:"how often incremental listings also ask for tasks modified since the last"`
	Marker        string        `yaml:"marker" enum:"notes,external" help:"where a created task's idempotency key is kept: notes (any token) or also external (OAuth apps)"`
}

func defaultOptions() any {
	return &fileOptions{URL: DefaultURL, Status: StatusSection, Handshakes: "tracksync", SafetyPoll: 15 * time.Minute, Marker: "notes"}
}

// Spec is how the Asana tracker joins a registry: kind "asana". Options
// (fileOptions):
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
		Kind:         "asana",
		Help:         "Asana tasks; scope: '<project gid> [<project gid> ...] [section:<gid|name>] [tag:<gid|name>]', or 'portfolio:<gid>' (its projects, as initiatives.source only)",
		OptionStruct: defaultOptions,
		New:          newFromConfig,
		Validate: func(cfg adapters.Config) error {
			var f fileOptions
			if err := cfg.Decode(&f); err != nil {
				return err
			}
			return f.check("trackers." + cfg.Name)
		},
	}
}

// check checks what the options' types cannot: the status option, and
// that the workspace and projects are gids (a name, "Roadmap", would
// only fail later as a 404 from Asana, far from the key that holds it).
func (f *fileOptions) check(keyPath string) error {
	if !isGID(f.Workspace) {
		return fmt.Errorf("%s.workspace: %q is not a workspace gid (the number Asana's URLs and GET /workspaces give)", keyPath, f.Workspace)
	}
	for i, p := range f.Projects {
		if !isGID(p) {
			return fmt.Errorf("%s.projects[%d]: %q is not a project gid (the number in the project's URL: app.asana.com/0/<gid>/...)", keyPath, i, p)
		}
	}
	if st := f.Status; st != StatusSection && st != StatusCompleted && (!strings.HasPrefix(st, StatusFieldPrefix) || st == StatusFieldPrefix) {
		return fmt.Errorf("%s.status: %q: want section, completed or custom_field:<enum field name>", keyPath, st)
	}
	return nil
}

func newFromConfig(_ context.Context, cfg adapters.Config) (adapters.Tracker, error) {
	keyPath := "trackers." + cfg.Name
	var f fileOptions
	if err := cfg.Decode(&f); err != nil {
		return nil, err
	}
	if err := f.check(keyPath); err != nil {
		return nil, err
	}
	o := Options{
		URL: f.URL, Token: f.Auth.Token, Workspace: f.Workspace,
		Projects: f.Projects, Status: f.Status, WebhookSecret: f.WebhookSecret,
		SafetyPoll: f.SafetyPoll, External: f.Marker == "external", Logger: cfg.Logger,
		AnyHandshake:      f.Handshakes == "any",
		RequestsPerMinute: f.Limits.RequestsPerMinute, ConcurrentWrites: f.Limits.ConcurrentWrites,
	}
	t, err := New(cfg.Name, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return t, nil
}

// isGID reports whether s is an Asana gid: digits.
func isGID(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
