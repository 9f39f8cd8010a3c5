package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/internal/redact"
)

// Redacted replaces secret values in text passed through Redact.
const Redacted = redact.Mask

// secretSet is shared by copies of a Config, so it is held by pointer. It
// keeps the config's own secrets (Redact answers for this config alone) and
// mirrors each into redact.Global, the process-wide set that outputs which
// cannot reach a config (stored errors, HTTP answers) redact through.
type secretSet struct {
	own   *redact.Set
	local bool // not mirrored into redact.Global (DecodeOptions)
}

func newSecretSet() *secretSet { return &secretSet{own: redact.New()} }

// add remembers v with the escaped and encoded forms it takes in URLs,
// JSON and base64 (see package redact).
func (s *secretSet) add(v string) {
	s.own.Add(v)
	if !s.local {
		redact.Global.Add(v)
	}
}

// addBasic remembers the HTTP Basic form of user and secret.
func (s *secretSet) addBasic(user, secret string) {
	s.own.AddBasic(user, secret)
	if !s.local {
		redact.Global.AddBasic(user, secret)
	}
}

// Redact replaces every secret value in s with [REDACTED]: values expanded
// from ${VAR}, the server token, a password in the state DSN, and tracker
// options that are secret by their adapter's spec (for the kinds registered
// in adapters.Default when the file was parsed, or passed to
// MarkSecretOptions) or by their name (token, password, ...).
func (c *Config) Redact(s string) string {
	if c == nil || c.secrets == nil {
		return s
	}
	return c.secrets.own.String(s)
}

// Secrets returns the secret values, longest first, for log handlers that
// redact on their own.
func (c *Config) Secrets() []string {
	if c == nil || c.secrets == nil {
		return nil
	}
	return c.secrets.own.List()
}

// MarkSecretOptions treats as secret the tracker options that reg's specs
// mark Secret. Parse already does this with adapters.Default; call it when
// adapters are registered elsewhere (tests with their own registry).
func (c *Config) MarkSecretOptions(reg *adapters.Registry) {
	if reg == nil {
		return
	}
	if c.secrets == nil {
		c.secrets = newSecretSet()
	}
	for _, t := range c.Trackers {
		names := reg.Secrets(t.Kind)
		if len(names) == 0 {
			continue
		}
		for path, v := range flattenLeaves("", t.Options) {
			for _, n := range names {
				if path == n || strings.HasPrefix(path, n+".") {
					c.secrets.add(scalarText(v))
				}
			}
		}
	}
}

// markSecretsByName treats tracker options whose own key looks like a
// credential as secret even when no adapter spec says so (an unknown kind,
// a typo'd option): a value that reaches a Problem must not leak.
func (c *Config) markSecretsByName() {
	for _, t := range c.Trackers {
		for path, v := range flattenLeaves("", t.Options) {
			leaf := path[strings.LastIndexByte(path, '.')+1:]
			if secretKey(leaf) {
				c.secrets.add(scalarText(v))
			}
		}
	}
}

// markBasicAuth records the HTTP Basic form (base64 of "user:secret") of
// every tracker whose auth names a user and a secret, as Jira's
// email-and-API-token does: a tracker echoing its Authorization header in
// an error page must not leak the credentials in encoded form either.
func (c *Config) markBasicAuth() {
	for _, t := range c.Trackers {
		leaves := flattenLeaves("", t.Options)
		for _, u := range []string{"auth.email", "auth.username", "auth.user"} {
			user := scalarText(leaves[u])
			if user == "" {
				continue
			}
			for _, p := range []string{"auth.token", "auth.password", "auth.pat"} {
				if sec := scalarText(leaves[p]); sec != "" {
					c.secrets.addBasic(user, sec)
				}
			}
		}
	}
}

func secretKey(k string) bool {
	switch k {
	case "token", "pat", "password", "passwd", "secret", "api_key", "apikey", "private_key", "client_secret", "webhook_secret":
		return true
	}
	return strings.HasSuffix(k, "_token") || strings.HasSuffix(k, "_secret") || strings.HasSuffix(k, "_password")
}

// flattenLeaves maps dotted lower-case paths (as adapters.Option names
// them) to leaf values; list elements share their list's path.
func flattenLeaves(prefix string, v any) map[string]any {
	out := map[string]any{}
	var walk func(string, any)
	walk = func(p string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				key := strings.ToLower(k)
				if p != "" {
					key = p + "." + key
				}
				walk(key, sub)
			}
		case []any:
			for i, sub := range x {
				// Keep every element: suffix the index so keys stay unique.
				walk(fmt.Sprintf("%s.%d", p, i), sub)
			}
		default:
			if p != "" {
				out[p] = v
			}
		}
	}
	walk(prefix, v)
	return out
}

func scalarText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}

var dsnPasswordKV = regexp.MustCompile(`(?i)\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// dsnPassword finds a password in a postgres URL or key=value DSN.
func dsnPassword(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if u.User != nil {
			if p, ok := u.User.Password(); ok && p != "" {
				return p
			}
		}
		return u.Query().Get("password")
	}
	if m := dsnPasswordKV.FindStringSubmatch(dsn); m != nil {
		return strings.Trim(m[1], "'")
	}
	return ""
}
