package config

import (
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Notifications is the notifications section: where tracksync tells
// people what changed (Slack, Teams, a signed webhook) and what about.
type Notifications struct {
	// DashboardURL is the dashboard's public address, linked from every
	// message ("" for no link).
	DashboardURL string
	// StaleAfter is how long a flow may go without a successful run
	// before a flow.stale event (0: never).
	StaleAfter time.Duration
	// Digest is the weekly digest's day and hour (UTC); Weekday "" for
	// no digest.
	Digest DigestSchedule
	Sinks  []NotifySink
}

// DigestSchedule is when the weekly digest goes out.
type DigestSchedule struct {
	Weekday string // monday … sunday
	Hour    int    // 0..23, UTC
}

// NotifySink is one destination: kind slack (webhook_url, or token and
// channel), teams (webhook_url of a Workflows webhook) or webhook (url and
// an HMAC secret). Its URLs, token and secret are secrets.
type NotifySink struct {
	Name       string
	Kind       string
	WebhookURL string
	Token      string
	Channel    string
	APIURL     string // Slack Web API base, for a proxy or a fake
	URL        string
	Secret     string
	// Rate is messages a second (default 1 for Slack and Teams, 10 for
	// webhooks).
	Rate  float64
	Rules []NotifyRule
}

// NotifyRule picks events for a sink; empty lists match everything.
type NotifyRule struct {
	Events      []string
	Initiatives []string
	Flows       []string
}

// NotificationEvents are the event names a rule may list (the notify
// package's kinds).
var NotificationEvents = []string{
	"initiative.at_risk", "initiative.on_track", "initiative.date_moved", "conflict.held",
	"run.failed", "flow.stale", "run.valve_stopped", "digest.weekly",
}

const notificationsPath = "notifications"

var (
	notificationsKeys = []string{"dashboard_url", "stale_after", "digest", "sinks"}
	notifySinkKeys    = []string{"name", "kind", "webhook_url", "token", "channel", "api_url", "url", "secret", "rate", "rules"}
	notifyRuleKeys    = []string{"events", "initiatives", "flows"}
	digestKeys        = []string{"weekday", "hour"}
	weekdays          = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
)

// notifications decodes the notifications section (its own file, so that
// sections added in parallel do not touch the same lines of decode.go).
func (d *decoder) notifications(n *yaml.Node) {
	entries, present := d.mapping(n, notificationsPath)
	if !present {
		return
	}
	nt := &Notifications{}
	d.c.Notifications = nt
	for _, e := range entries {
		p := join(notificationsPath, e.key)
		switch e.key {
		case "dashboard_url":
			if s, ok := d.str(e.val, p); ok {
				if !httpURL(s) {
					d.problem(p, "want an http(s) URL")
				}
				nt.DashboardURL = s
			}
		case "stale_after":
			if s, ok := d.str(e.val, p); ok {
				dur, err := time.ParseDuration(s)
				if err != nil || dur < 0 {
					d.problem(p, "want a duration such as 6h or 90m")
					continue
				}
				nt.StaleAfter = dur
			}
		case "digest":
			sub, _ := d.mapping(e.val, p)
			for _, se := range sub {
				sp := join(p, se.key)
				switch se.key {
				case "weekday":
					if s, ok := d.str(se.val, sp); ok {
						s = strings.ToLower(s)
						if !slices.Contains(weekdays, s) {
							d.problem(sp, "want a day of the week (monday … sunday)")
							continue
						}
						nt.Digest.Weekday = s
					}
				case "hour":
					if f, ok := d.number(se.val, sp); ok {
						if f != math.Trunc(f) || f < 0 || f > 23 {
							d.problem(sp, "want a whole hour 0..23 (UTC)")
							continue
						}
						nt.Digest.Hour = int(f)
					}
				default:
					d.unknown(p, se.key, digestKeys)
				}
			}
		case "sinks":
			items, _ := d.sequence(e.val, p)
			names := map[string]string{}
			for i, item := range items {
				ip := index(p, i)
				s := d.notifySink(item, ip)
				if s.Name != "" {
					if prev, ok := names[s.Name]; ok {
						d.problem(join(ip, "name"), "sink name %q repeated (first at %s)", s.Name, prev)
					}
					names[s.Name] = ip
				}
				nt.Sinks = append(nt.Sinks, s)
			}
		default:
			d.unknown(notificationsPath, e.key, notificationsKeys)
		}
	}
}

func (d *decoder) notifySink(n *yaml.Node, path string) NotifySink {
	var s NotifySink
	entries, _ := d.mapping(n, path)
	secret := func(e entry, p string, dst *string) {
		if v, ok := d.str(e.val, p); ok {
			d.c.secrets.add(v)
			// A webhook URL's credential is its path (Slack) or a query
			// value (Teams' sig): each is secret on its own too, for
			// errors that print a part of the URL.
			if u, err := url.Parse(v); err == nil && u.Host != "" {
				if strings.Count(u.Path, "/") >= 3 && len(u.Path) >= 20 { // not a plain /hook
					d.c.secrets.add(u.Path)
				}
				if last := u.Path[strings.LastIndex(u.Path, "/")+1:]; len(last) >= 12 {
					d.c.secrets.add(last)
				}
				for _, vs := range u.Query() {
					for _, q := range vs {
						if len(q) >= 8 {
							d.c.secrets.add(q)
						}
					}
				}
			}
			*dst = v
		}
	}
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "name":
			s.Name, _ = d.str(e.val, p)
		case "kind":
			s.Kind, _ = d.str(e.val, p)
		case "webhook_url":
			secret(e, p, &s.WebhookURL)
		case "token":
			secret(e, p, &s.Token)
		case "url":
			secret(e, p, &s.URL)
		case "secret":
			secret(e, p, &s.Secret)
		case "channel":
			s.Channel, _ = d.str(e.val, p)
		case "api_url":
			s.APIURL, _ = d.str(e.val, p)
		case "rate":
			if f, ok := d.number(e.val, p); ok {
				if f <= 0 {
					d.problem(p, "want messages a second, more than 0")
					continue
				}
				s.Rate = f
			}
		case "rules":
			items, _ := d.sequence(e.val, p)
			for i, item := range items {
				s.Rules = append(s.Rules, d.notifyRule(item, index(p, i)))
			}
		default:
			d.unknown(path, e.key, notifySinkKeys)
		}
	}
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
		}
	case "":
		d.problem(join(path, "kind"), "missing (slack, teams or webhook)")
	default:
		d.problem(join(path, "kind"), "unknown sink kind %q (slack, teams or webhook)", s.Kind)
	}
	return s
}

func (d *decoder) notifyRule(n *yaml.Node, path string) NotifyRule {
	var r NotifyRule
	entries, _ := d.mapping(n, path)
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "events":
			r.Events = d.strs(e.val, p)
			for i, ev := range r.Events {
				if !slices.Contains(NotificationEvents, ev) {
					d.problem(index(p, i), "unknown event %q (known: %s)", ev, strings.Join(NotificationEvents, ", "))
				}
			}
		case "initiatives":
			r.Initiatives = d.strs(e.val, p)
		case "flows":
			r.Flows = d.strs(e.val, p)
		default:
			d.unknown(path, e.key, notifyRuleKeys)
		}
	}
	return r
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
