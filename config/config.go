// Package config loads tracksync's one YAML configuration file into plain
// Go values: the state store, the server, logging, trackers, users, flows
// and initiatives.
//
// The file is parsed node by node (not through viper's case-folding key
// store) so that tracker names, custom field names like "custom:Story
// Points" and file order survive, every key keeps its line number, and a
// typo in a key is a Problem instead of being silently ignored. The nodes
// are decoded into the types below by their yaml struct tags (see tags.go),
// which are the one list of the keys each section knows. Secrets are
// written as ${VAR} or ${VAR:-default}; they are expanded after parsing, one
// string value at a time, so a secret containing YAML syntax cannot change
// the file's structure. Every expanded value and every tracker option marked
// Secret is remembered so Redact can scrub it from logs and messages.
// A few settings (see EnvKeys) can also be set as TRACKSYNC_ environment
// variables, which win over the file.
//
// Parse checks structure and types only. Cross-cutting checks (tracker
// options against their adapter's spec, users, flow rules) live in
// mapping.Validate, which also repeats Parse's problems so that `tracksync
// validate` reports everything in one list.
package config

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Defaults applied by Parse when a key is absent.
const (
	DefaultDriver         = "sqlite"
	DefaultDSN            = "tracksync.db"
	DefaultListen         = "127.0.0.1:8080"
	DefaultLogLevel       = "info"
	DefaultLogFormat      = "text"
	DefaultDirection      = "both"
	DefaultSchedule       = "@every 5m"
	DefaultConflict       = "newest"
	DefaultOnDelete       = "unlink"
	DefaultMaxChangeShare = 0.25
	// DefaultMaxCreateShare: a run may create at most half as many items
	// as the flow already links (beyond CreateFloor).
	DefaultMaxCreateShare = 0.5
	// DefaultFirstContactLimit: a flow's first run stops for a plan review
	// when both sides hold more unlinked items than this.
	DefaultFirstContactLimit = 10
)

// CreateFloor is the absolute floor of the create valve: a run creating at
// most this many items is never stopped by it, so the first run of a small
// flow goes through.
const CreateFloor = 25

// Match rules, in their default order: how a flow finds an item's
// counterpart on first contact before it copies anything.
const (
	MatchKey       = "key"       // a tracksync key on the item, or a link another flow keeps
	MatchReference = "reference" // a key or URL of the other item in the title or body
	MatchFile      = "file"      // the flow's match_file (CSV a_key,b_key)
	MatchTitle     = "title"     // the same normalized title, unique on both sides
)

// MatchRules lists every match rule in the default order.
var MatchRules = []string{MatchKey, MatchReference, MatchFile, MatchTitle}

// Problem is one thing wrong with the configuration, named by its key path
// (flows[0].fields.status.map[2].a). Msg never contains a secret.
type Problem struct {
	Path string
	Msg  string
}

func (p Problem) Error() string { return p.Path + ": " + p.Msg }

// Problems is every problem found, as one error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// SortProblems sorts ps by path, comparing list indexes as numbers so that
// flows[2] comes before flows[10], then by message.
func SortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := ComparePaths(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Msg, b.Msg)
	})
}

// ComparePaths orders key paths naturally: runs of digits compare as numbers.
func ComparePaths(a, b string) int {
	for a != "" && b != "" {
		ra, rb := leadingRun(a), leadingRun(b)
		da, db := isDigits(ra), isDigits(rb)
		var c int
		if da && db {
			na, _ := strconv.ParseUint(ra, 10, 64)
			nb, _ := strconv.ParseUint(rb, 10, 64)
			c = cmp.Compare(na, nb)
			if c == 0 {
				c = cmp.Compare(len(ra), len(rb))
			}
		} else {
			c = strings.Compare(ra, rb)
		}
		if c != 0 {
			return c
		}
		a, b = a[len(ra):], b[len(rb):]
	}
	return cmp.Compare(len(a), len(b))
}

// leadingRun returns the leading run of s that is all digits or all
// non-digits.
func leadingRun(s string) string {
	digit := s[0] >= '0' && s[0] <= '9'
	for i := 1; i < len(s); i++ {
		if (s[i] >= '0' && s[i] <= '9') != digit {
			return s[:i]
		}
	}
	return s
}

func isDigits(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// SyntaxError is a YAML file that could not be parsed at all.
type SyntaxError struct {
	File string // the config file, "config" when parsed from memory
	Line int    // 0 when the parser did not say
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// State says where tracksync keeps its state.
type State struct {
	Driver string `yaml:"driver,env"` // "sqlite" (default) or "postgres"
	// DSN is a file path for sqlite (relative paths are resolved against
	// the config file's folder by Parse) or a postgres:// URL.
	DSN string `yaml:"dsn,env"`
}

// Server configures `tracksync serve`.
type Server struct {
	Listen string `yaml:"listen,env"` // host:port
	// PublicURL is where the trackers reach serve (https://tracksync.acme.com),
	// when it differs from Listen; serve registers the webhooks of trackers
	// that register their own (Asana) at <PublicURL>/webhooks/<tracker>.
	PublicURL string `yaml:"public_url,env"`
	Token     string `yaml:"token,env"` // optional bearer token; always a secret
	// CheckSchedule is when serve runs the drift check (tracksync check)
	// over every flow: '@every 6h' (default), a cron expression, or "off".
	CheckSchedule string `yaml:"check_schedule"`
}

// DefaultCheckSchedule is server.check_schedule's default.
const DefaultCheckSchedule = "@every 6h"

// Log configures logging.
type Log struct {
	Level  string `yaml:"level,env"`  // debug | info | warn | error
	Format string `yaml:"format,env"` // text | json
}

// Tracker is one configured tracker.
type Tracker struct {
	Name string `yaml:",key"` // the key under trackers:
	Kind string `yaml:"kind"` // the adapter kind: jira, github, roadmap, memory, ...
	// Options holds every key but kind, as written (nested maps kept);
	// adapters.Registry.Check decodes them into the kind's option struct.
	Options map[string]any `yaml:",rest"`
}

// User is one person's identities across trackers.
type User struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
	// IDs maps a tracker name, or a tracker kind (for every tracker of that
	// kind not named explicitly), to the person's native user id there.
	IDs map[string]string `yaml:",rest"`
}

// FlowSide is one side of a flow.
type FlowSide struct {
	Tracker string `yaml:"tracker"` // a key of Config.Trackers
	Scope   string `yaml:"scope"`   // tracker-specific query; "" for everything
}

// Flow is one flow as written; mapping.Compile checks and compiles it.
type Flow struct {
	Name      string   `yaml:"name"`
	A         FlowSide `yaml:"a"`
	B         FlowSide `yaml:"b"`
	Direction string   `yaml:"direction"` // both | a-to-b | b-to-a
	Schedule  string   `yaml:"schedule"`  // '@every 5m' or a cron expression
	Conflict  string   `yaml:"conflict"`  // newest | a-wins | b-wins | manual
	OnDelete  string   `yaml:"on_delete"` // unlink | close | ignore
	// MaxChangeShare is the safety valve: a run that would close, delete or
	// reassign more than this share of the flow's items stops. In (0, 1].
	MaxChangeShare float64 `yaml:"max_change_share" check:"change_share"`
	// MaxCreateShare is the create valve: a run that would create more than
	// CreateFloor items and more than this share of the flow's linked
	// items stops. More than 0; Parse fills DefaultMaxCreateShare.
	MaxCreateShare float64 `yaml:"max_create_share" check:"create_share"`
	// FirstContactLimit: the first run of a flow (no links yet) stops for a
	// plan review when both sides hold more unlinked items than this
	// (0: always when both sides hold any). Parse fills the default.
	FirstContactLimit *int `yaml:"first_contact_limit" check:"first_contact"`
	// Match lists the match rules tried on first contact, in order (see
	// MatchRules); Parse fills all of them when absent; empty matches
	// nothing (every unlinked item is copied).
	Match []string `yaml:"match,present" check:"match"`
	// MatchFile is a CSV of a_key,b_key pairs (rule "file"), resolved
	// against the config file's folder.
	MatchFile string `yaml:"match_file" check:"config_path"`
	// Create counterparts for new items in scope; nil means the default, true.
	Create *bool `yaml:"create"`
	// Fields by field name (title, body, status, assignees, labels,
	// priority, due, parent, comments, "custom:Story Points"). nil when the
	// file has no fields key (mapping then syncs title, body and status);
	// empty when it has one with nothing in it.
	Fields map[string]FieldConfig `yaml:"fields" order:"Order"`
	Order  []string               // Fields' keys in file order
}

// FieldConfig is one field rule. A bare scalar (`title: both`) sets only
// Direction.
type FieldConfig struct {
	Direction string      `yaml:"direction,scalar"` // both | a-to-b | b-to-a | none; "" follows the flow
	Owner     string      `yaml:"owner"`            // "a" | "b": that side wins conflicts on this field
	Map       []ValuePair `yaml:"map" null:"empty map entry (want {a: ..., b: ...})"`
	// Default (status only) maps side ("a", "b") to category (todo,
	// in_progress, done) to the status used for values the map lacks.
	Default map[string]map[string]string `yaml:"default"`
	// A and B (custom fields only) are the field's display names on each
	// side when they differ from the name after "custom:".
	A string `yaml:"a"`
	B string `yaml:"b"`
}

// ValuePair maps one value on side A to one on side B. ALabel and BLabel
// (status only) are labels that, together with the status, stand for it.
type ValuePair struct {
	A      string `yaml:"a"`
	B      string `yaml:"b"`
	ALabel string `yaml:"a_label"`
	BLabel string `yaml:"b_label"`
}

// Config is a loaded configuration file.
type Config struct {
	Path     string             `yaml:"-"`
	State    State              `yaml:"state,strict"`
	Server   Server             `yaml:"server,strict"`
	Log      Log                `yaml:"log,strict"`
	Trackers map[string]Tracker `yaml:"trackers,present,omitbroken" null:"want a mapping with at least a kind"`
	// Users and Flows leave out items that are not mappings.
	Users       []User       `yaml:"users,omitbroken" null:"empty user"`
	Flows       []Flow       `yaml:"flows,omitbroken" null:"empty flow"`
	Initiatives *Initiatives `yaml:"initiatives"` // nil when the file has no initiatives key
	// Notifications is nil when the file has no notifications key.
	Notifications *Notifications `yaml:"notifications"`

	lines    map[string]int
	problems Problems
	secrets  *secretSet
}

// Load reads and parses the config file at path, taking ${VAR} values and
// TRACKSYNC_ overrides from the process environment. A file that is not
// YAML gives a *SyntaxError naming the file and line. Other problems give
// Problems together with the best-effort Config, so a caller may go on to
// mapping.Validate and report everything at once.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return parse(data, path, os.LookupEnv, viperOverrides())
}

// Parse is Load on bytes, with env standing in for the environment (both
// for ${VAR} and for TRACKSYNC_ overrides); nil env means an empty one.
func Parse(data []byte, path string, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	return parse(data, path, env, func(key string) (string, bool) {
		v, ok := env(EnvName(key))
		return v, ok && v != ""
	})
}

// BaseDir is the folder of the config file, against which relative paths
// in it are resolved.
func (c *Config) BaseDir() string {
	if c.Path == "" {
		return "."
	}
	return filepath.Dir(c.Path)
}

// Line returns the line of the file where key path was written, or 0.
func (c *Config) Line(path string) int { return c.lines[path] }

// Problems returns the problems Parse found (also returned as its error).
func (c *Config) Problems() Problems { return slices.Clone(c.problems) }

// ValidName reports whether s may name a tracker or a flow: ASCII letters
// and digits, then also '.', '_' or '-'. Tracker names appear in refs
// ("tracker:id", so never a colon), CLI arguments and metric labels.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || (i > 0 && strings.ContainsRune("._-", r)))
		if !ok {
			return false
		}
	}
	return true
}

// errProblems returns ps as an error, or nil when empty.
func errProblems(ps Problems) error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

var _ error = Problems(nil)
