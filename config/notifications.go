package config

import (
	"net/url"
	"strings"
	"time"
)

// Notifications is the notifications section: where tracksync tells
// people what changed (Slack, Teams, a signed webhook) and what about.
type Notifications struct {
	// DashboardURL is the dashboard's public address, linked from every
	// message ("" for no link).
	DashboardURL string `yaml:"dashboard_url" check:"http_url"`
	// StaleAfter is how long a flow may go without a successful run
	// before a flow.stale event (0: never).
	StaleAfter time.Duration `yaml:"stale_after"`
	// Digest is the weekly digest's day and hour (UTC); Weekday "" for
	// no digest.
	Digest DigestSchedule `yaml:"digest"`
	Sinks  []NotifySink   `yaml:"sinks"`
}

// DigestSchedule is when the weekly digest goes out.
type DigestSchedule struct {
	Weekday string `yaml:"weekday" check:"weekday"` // monday … sunday
	Hour    int    `yaml:"hour" check:"hour"`       // 0..23, UTC
}

// NotifySink is one destination: kind slack (webhook_url, or token and
// channel), teams (webhook_url of a Workflows webhook) or webhook (url and
// an HMAC secret). Its URLs, token and secret are secrets.
type NotifySink struct {
	Name       string `yaml:"name"`
	Kind       string `yaml:"kind"`
	WebhookURL string `yaml:"webhook_url,secret"`
	Token      string `yaml:"token,secret"`
	Channel    string `yaml:"channel"`
	APIURL     string `yaml:"api_url"` // Slack Web API base, for a proxy or a fake
	URL        string `yaml:"url,secret"`
	Secret     string `yaml:"secret,secret"`
	// Rate is messages a second (default 1 for Slack and Teams, 10 for
	// webhooks).
	Rate  float64      `yaml:"rate" check:"rate"`
	Rules []NotifyRule `yaml:"rules"`
}

// NotifyRule picks events for a sink; empty lists match everything.
type NotifyRule struct {
	Events      []string `yaml:"events" check:"events"`
	Initiatives []string `yaml:"initiatives"`
	Flows       []string `yaml:"flows"`
}

// NotificationEvents are the event names a rule may list (the notify
// package's kinds).
var NotificationEvents = []string{
	"initiative.at_risk", "initiative.on_track", "initiative.date_moved", "conflict.held",
	"run.failed", "flow.stale", "run.valve_stopped", "digest.weekly",
}

var weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// check checks each sink's settings against its kind, and that sink names
// are unique.
func (nt *Notifications) check(d *decoder, path string) {
	names := map[string]string{}
	for i, s := range nt.Sinks {
		ip := index(join(path, "sinks"), i)
		s.validate(d, ip)
		if s.Name != "" {
			if prev, ok := names[s.Name]; ok {
				d.problem(join(ip, "name"), "sink name %q repeated (first at %s)", s.Name, prev)
			}
			names[s.Name] = ip
		}
	}
}

// validate is not the check hook: Notifications.check runs it on every
// sink, a null one too.
func (s *NotifySink) validate(d *decoder, path string) {
	if s.Name == "" {
		d.problem(join(path, "name"), "missing (each sink needs a name, for rules, logs and `tracksync notify test`)")
	}
	need := func(key, v string) {
		if v == "" {
			d.problem(join(path, key), "missing (needed by a %s sink)", s.Kind)
		} else if strings.HasSuffix(key, "url") && !httpURL(v) {
			d.problem(join(path, key), "want an http(s) URL")
		}
	}
	switch s.Kind {
	case "slack":
		switch {
		case s.WebhookURL != "" && s.Token != "":
			d.problem(join(path, "token"), "a slack sink takes webhook_url or token (with channel), not both")
		case s.Token != "":
			need("channel", s.Channel)
		default:
			need("webhook_url", s.WebhookURL)
		}
	case "teams":
		need("webhook_url", s.WebhookURL)
	case "webhook":
		need("url", s.URL)
		if s.Secret == "" {
			d.problem(join(path, "secret"), "missing (the HMAC key receivers check deliveries with)")
		} else if n := len([]rune(s.Secret)); n < minHookSecret {
			// Short keys are guessable, and a secret is masked wherever
			// its letters appear in output: "s" garbled every message.
			d.problem(join(path, "secret"), "too short (%d characters): an HMAC key needs at least %d random ones", n, minHookSecret)
		}
	case "":
		d.problem(join(path, "kind"), "missing (slack, teams or webhook)")
	default:
		d.problem(join(path, "kind"), "unknown sink kind %q (slack, teams or webhook)", s.Kind)
	}
}

// minHookSecret is the shortest HMAC key a webhook sink takes.
const minHookSecret = 16

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
