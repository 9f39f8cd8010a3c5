package config

import (
	"cmp"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/tracksync/tracksync/adapters"
)

// Redacted replaces secret values in text passed through Redact.
const Redacted = "[REDACTED]"

// secretSet is shared by copies of a Config, so it is held by pointer and
// guards itself.
type secretSet struct {
	mu   sync.RWMutex
	vals map[string]struct{}
	rep  *strings.Replacer // nil when stale
}

func newSecretSet() *secretSet { return &secretSet{vals: map[string]struct{}{}} }

// add remembers v and the escaped forms it takes inside URLs, which is how
// a secret most often turns up in an error (net/http prints URLs).
func (s *secretSet) add(v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
		if _, ok := s.vals[f]; !ok {
			s.vals[f] = struct{}{}
			s.rep = nil
		}
	}
}

// list returns the secrets longest first, so that a secret containing
// another is replaced whole.
func (s *secretSet) list() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.vals))
	for v := range s.vals {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return out
}

func (s *secretSet) redact(text string) string {
	if text == "" {
		return text
	}
	s.mu.RLock()
	rep := s.rep
	s.mu.RUnlock()
	if rep == nil {
		l := s.list()
		if len(l) == 0 {
			return text
		}
		pairs := make([]string, 0, 2*len(l))
		for _, v := range l {
			pairs = append(pairs, v, Redacted)
		}
		rep = strings.NewReplacer(pairs...)
		s.mu.Lock()
		s.rep = rep
		s.mu.Unlock()
	}
	return rep.Replace(text)
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
	return c.secrets.redact(s)
}

// Secrets returns the secret values, longest first, for log handlers that
// redact on their own.
func (c *Config) Secrets() []string {
	if c == nil || c.secrets == nil {
		return nil
	}
	return c.secrets.list()
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

func secretKey(k string) bool {
	switch k {
	case "token", "pat", "password", "passwd", "secret", "api_key", "apikey", "private_key", "client_secret", "webhook_secret":
		return true
	}
	return strings.HasSuffix(k, "_token") || strings.HasSuffix(k, "_secret") || strings.HasSuffix(k, "_password")
}

// flattenLeaves maps dotted lower-case paths (as adapters.Registry.Check
// flattens them) to leaf values; list elements share their list's path.
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
