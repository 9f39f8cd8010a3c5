package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func ptr[T any](v T) *T { return &v }

// defaultsConfig is what an empty file gives, with the sections tests fill.
func defaultsConfig() Config {
	return Config{
		State:  State{Driver: "sqlite", DSN: "tracksync.db"},
		Server: Server{Listen: "127.0.0.1:8080", CheckSchedule: DefaultCheckSchedule},
		Log:    Log{Level: "info", Format: "text"},
	}
}

func defaultFlow(f Flow) Flow {
	if f.Direction == "" {
		f.Direction = "both"
	}
	if f.Schedule == "" {
		f.Schedule = "@every 5m"
	}
	if f.Conflict == "" {
		f.Conflict = "newest"
	}
	if f.OnDelete == "" {
		f.OnDelete = "unlink"
	}
	if f.MaxChangeShare == 0 {
		f.MaxChangeShare = 0.25
	}
	if f.MaxCreateShare == 0 {
		f.MaxCreateShare = DefaultMaxCreateShare
	}
	if f.FirstContactLimit == nil {
		n := DefaultFirstContactLimit
		f.FirstContactLimit = &n
	}
	if f.Match == nil {
		f.Match = MatchRules
	}
	return f
}

var ignoreUnexported = cmpopts.IgnoreUnexported(Config{})

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		path string
		// want is compared when set; problems always.
		want     func(c *Config)
		problems []string
	}{
		{
			name: "empty file gives defaults",
			yaml: "",
			want: func(c *Config) {},
		},
		{
			name: "field forms: scalar and mapping",
			yaml: `
trackers:
  j: {kind: jira, url: https://x.example, auth: {email: a@b.c}, limits: {rps: 5}}
flows:
  - name: f
    a: {tracker: j, scope: 'project = P'}
    b: {tracker: g}
    direction: a-to-b
    schedule: '@hourly'
    conflict: manual
    on_delete: close
    max_change_share: 0.5
    create: false
    fields:
      title: both
      status:
        direction: both
        owner: a
        map:
          - {a: To Do, b: open}
          - {a: In Progress, b: open, b_label: 'status: wip'}
        default:
          b: {done: closed}
      'custom:Story Points': {a: Story Points, b: Estimate}
      body:
`,
			want: func(c *Config) {
				c.Trackers = map[string]Tracker{"j": {Name: "j", Kind: "jira", Options: map[string]any{
					"url": "https://x.example", "auth": map[string]any{"email": "a@b.c"}, "limits": map[string]any{"rps": 5},
				}}}
				c.Flows = []Flow{{
					Name: "f", A: FlowSide{"j", "project = P"}, B: FlowSide{Tracker: "g"},
					Direction: "a-to-b", Schedule: "@hourly", Conflict: "manual", OnDelete: "close",
					MaxChangeShare: 0.5, Create: ptr(false),
					MaxCreateShare: DefaultMaxCreateShare, FirstContactLimit: ptr(DefaultFirstContactLimit), Match: MatchRules,
					Fields: map[string]FieldConfig{
						"title": {Direction: "both"},
						"status": {Direction: "both", Owner: "a",
							Map:     []ValuePair{{A: "To Do", B: "open"}, {A: "In Progress", B: "open", BLabel: "status: wip"}},
							Default: map[string]map[string]string{"b": {"done": "closed"}}},
						"custom:Story Points": {A: "Story Points", B: "Estimate"},
						"body":                {},
					},
					Order: []string{"title", "status", "custom:Story Points", "body"},
				}}
			},
		},
		{
			name: "flow defaults; empty fields kept apart from no fields",
			yaml: "flows:\n  - {name: x, a: {tracker: p}, b: {tracker: q}}\n  - {name: y, a: {tracker: p}, b: {tracker: q}, fields: {}}\n",
			want: func(c *Config) {
				c.Flows = []Flow{
					defaultFlow(Flow{Name: "x", A: FlowSide{Tracker: "p"}, B: FlowSide{Tracker: "q"}}),
					defaultFlow(Flow{Name: "y", A: FlowSide{Tracker: "p"}, B: FlowSide{Tracker: "q"}, Fields: map[string]FieldConfig{}}),
				}
			},
		},
		{
			name: "env expansion: set, default, nested default, empty, literal",
			yaml: `
server: {token: '${TOK}', listen: '${HOST:-0.0.0.0}:${PORT:-${ALT_PORT:-9090}}'}
state: {driver: postgres, dsn: 'postgres://u:${PGPASS}@db/x?a=$${literal}&cost=$5'}
log: {level: '${EMPTY}debug'}
`,
			env: map[string]string{"TOK": "s3cret-token", "PGPASS": "pg-pass", "EMPTY": ""},
			want: func(c *Config) {
				c.Server = Server{Listen: "0.0.0.0:9090", Token: "s3cret-token", CheckSchedule: DefaultCheckSchedule}
				c.State = State{Driver: "postgres", DSN: "postgres://u:pg-pass@db/x?a=${literal}&cost=$5"}
				c.Log.Level = "debug"
			},
		},
		{
			name: "expansion happens after parsing: YAML syntax in a value stays a value",
			yaml: "trackers:\n  j:\n    kind: jira\n    token: ${TOK}\n",
			env:  map[string]string{"TOK": "x\nkind: github\n- [oops"},
			want: func(c *Config) {
				c.Trackers = map[string]Tracker{"j": {Name: "j", Kind: "jira", Options: map[string]any{"token": "x\nkind: github\n- [oops"}}}
			},
		},
		{
			name: "unset variable is a problem naming key and variable",
			yaml: "server: {token: '${NOPE}'}\ntrackers:\n  j: {kind: jira, auth: {token: 'Bearer ${JIRA_TOKEN}'}}\n",
			problems: []string{
				"server.token: environment variable NOPE is not set (set it, or give a default with ${NOPE:-default})",
				"trackers.j.auth.token: environment variable JIRA_TOKEN is not set (set it, or give a default with ${JIRA_TOKEN:-default})",
			},
		},
		{
			name: "malformed references",
			yaml: "log: {level: '${1BAD}', format: 'x ${OPEN'}\n",
			problems: []string{
				`log.format: unterminated ${ (write ${NAME} or ${NAME:-default}, or $${ for a literal ${)`,
				"log.level: a ${...} reference must name an environment variable (letters, digits and _, not starting with a digit)",
			},
		},
		{
			name: "TRACKSYNC_ variables override the file, even a broken value",
			yaml: "state: {dsn: '${MISSING}'}\nlog: {level: debug}\n",
			env:  map[string]string{"TRACKSYNC_STATE_DSN": "/var/lib/ts.db", "TRACKSYNC_LOG_FORMAT": "json", "TRACKSYNC_SERVER_LISTEN": ""},
			want: func(c *Config) {
				c.State.DSN = "/var/lib/ts.db"
				c.Log = Log{Level: "debug", Format: "json"}
			},
		},
		{
			name:     "bad override names its variable",
			yaml:     "",
			env:      map[string]string{"TRACKSYNC_LOG_LEVEL": "loud"},
			problems: []string{`log.level: "loud" is not one of debug, info, warn, error (from TRACKSYNC_LOG_LEVEL)`},
		},
		{
			name: "sqlite dsn is relative to the config file",
			yaml: "state: {dsn: 'file:data/ts.db?_busy_timeout=5000'}\n",
			path: "/etc/tracksync/tracksync.yaml",
			want: func(c *Config) {
				c.Path = "/etc/tracksync/tracksync.yaml"
				c.State.DSN = "file:/etc/tracksync/data/ts.db?_busy_timeout=5000"
			},
		},
		{
			name: "anchors and merge keys",
			yaml: `
common: &common
  direction: a-to-b
  schedule: '@daily'
flows:
  - <<: *common
    name: x
    a: {tracker: p}
    b: {tracker: q}
    schedule: '@hourly'
`,
			problems: []string{"common: unknown key (known: state, server, log, trackers, users, flows, initiatives, notifications)"},
			want: func(c *Config) {
				c.Flows = []Flow{defaultFlow(Flow{Name: "x", A: FlowSide{Tracker: "p"}, B: FlowSide{Tracker: "q"}, Direction: "a-to-b", Schedule: "@hourly"})}
			},
		},
		{
			name: "users: ids by tracker name or kind",
			yaml: "users:\n  - {name: Ana, email: a@x, jira: 5b10, acme-gh: analima}\n",
			want: func(c *Config) {
				c.Users = []User{{Name: "Ana", Email: "a@x", IDs: map[string]string{"jira": "5b10", "acme-gh": "analima"}}}
			},
		},
		{
			name: "initiatives decoded typed, with defaults",
			yaml: "initiatives:\n  source: {tracker: plan}\n  children: [{tracker: gh, link: label}]\n",
			want: func(c *Config) {
				c.Initiatives = &Initiatives{
					Source:   InitiativeSource{Tracker: "plan"},
					Status:   "pm",
					Children: []ChildRule{{Tracker: "gh", Link: "label", Label: "initiative:{key}"}},
					Rollup:   RollupConfig{Weight: "count", Schedule: "@every 5m", AtRisk: AtRiskConfig{BlockedLabels: []string{"blocked"}}},
				}
			},
		},
		{
			name: "typos and wrong shapes at every level",
			yaml: `
stat: {}
state: {drver: sqlite}
server: {listen: nowhere, tokn: x, public_url: tracksync.acme.com}
log: {level: loud, format: xml}
trackers:
  j: {url: x}
  k:
  l: [1]
users:
  - {name: [a]}
  -
flows:
  - name: f
    direciton: both
    a: {tracker: j, scop: x}
    b: j
    max_change_share: 0
    create: maybe
    fields:
      status: {map: [{a: x, B: y}], dirction: both}
      labels: [a]
  - x
initiatives: [1]
`,
			problems: []string{
				"flows[0].a.scop: unknown key (did you mean scope?)",
				"flows[0].b: want a mapping (key: value lines), got a single value",
				"flows[0].create: want true or false",
				"flows[0].direciton: unknown key (did you mean direction?)",
				"flows[0].fields.labels: want a mapping (key: value lines), got a list",
				"flows[0].fields.status.dirction: unknown key (did you mean direction?)",
				"flows[0].fields.status.map[0].B: unknown key (did you mean b?)",
				"flows[0].max_change_share: must be more than 0 and at most 1 (0.25 is a quarter of the flow's items)",
				"flows[1]: want a mapping (key: value lines), got a single value",
				"initiatives: want a mapping (key: value lines), got a list",
				`log.format: "xml" is not one of text, json`,
				`log.level: "loud" is not one of debug, info, warn, error`,
				"server.listen: want host:port, like 127.0.0.1:8080",
				`server.public_url: want the http(s) URL the trackers reach tracksync serve at, like https://tracksync.acme.com, not "tracksync.acme.com"`,
				"server.tokn: unknown key (did you mean token?)",
				"stat: unknown key (did you mean state?)",
				"state.drver: unknown key (did you mean driver?)",
				"trackers.j.kind: required (the adapter: jira, github, asana, roadmap, memory)",
				"trackers.k: want a mapping with at least a kind",
				"trackers.l: want a mapping (key: value lines), got a list",
				"users[0].name: want a single value, got a list",
				"users[1]: empty user",
			},
		},
		{
			name: "adoption keys",
			path: "/etc/ts/tracksync.yaml",
			yaml: `flows:
  - name: f
    a: {tracker: j}
    b: {tracker: g}
    max_create_share: 2
    first_contact_limit: 0
    match: [file, title]
    match_file: map.csv
`,
			want: func(c *Config) {
				c.Path = "/etc/ts/tracksync.yaml"
				c.State.DSN = "/etc/ts/tracksync.db"
				c.Flows = []Flow{defaultFlow(Flow{Name: "f", A: FlowSide{Tracker: "j"}, B: FlowSide{Tracker: "g"},
					MaxCreateShare: 2, FirstContactLimit: ptr(0), Match: []string{"file", "title"}, MatchFile: "/etc/ts/map.csv"})}
			},
		},
		{
			name: "adoption keys: wrong values",
			yaml: `flows:
  - name: f
    a: {tracker: j}
    b: {tracker: g}
    max_create_share: 0
    first_contact_limit: 1.5
    match: [title, guess]
`,
			problems: []string{
				"flows[0].first_contact_limit: must be a whole number, 0 or more (how many unlinked items both sides may hold before a flow's first run stops for a plan review)",
				`flows[0].match[1]: "guess" is not a match rule (key, reference, file, title)`,
				"flows[0].max_create_share: must be more than 0 (0.5: a run may create at most half as many items as the flow links; 1: as many)",
			},
		},
		{
			name:     "repeated keys",
			yaml:     "log:\n  level: info\n  level: debug\n",
			problems: []string{"log.level: repeated at line 3 (first at line 2)"},
		},
		{
			name:     "postgres needs a dsn",
			yaml:     "state: {driver: postgres}\n",
			problems: []string{"state.dsn: required with the postgres driver (postgres://user@host/db)"},
		},
		{
			name:     "top level must be a mapping",
			yaml:     "- a\n- b\n",
			problems: []string{"(top level): want a mapping (key: value lines), got a list"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), tt.path, envOf(tt.env))
			var got []string
			var ps Problems
			if errors.As(err, &ps) {
				for _, p := range ps {
					got = append(got, p.Error())
				}
			} else if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.problems, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if c == nil {
				t.Fatal("Parse returned no config")
			}
			if tt.want == nil {
				return
			}
			want := defaultsConfig()
			tt.want(&want)
			if diff := cmp.Diff(&want, c, ignoreUnexported, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSyntaxError(t *testing.T) {
	tests := []struct {
		yaml string
		want string
	}{
		{"a: b\n  c: d\n", "cfg.yaml:2: mapping values are not allowed in this context"},
		{"a: [1, 2\n", "cfg.yaml:1: did not find expected ',' or ']'"},
		{"a: 1\n---\nb: 2\n", "cfg.yaml:2: a second YAML document (---): a config file holds one"},
		{"a: *nope\n", "cfg.yaml: unknown anchor 'nope' referenced"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.yaml), "cfg.yaml", nil)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", tt.yaml, err)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %q, want %q", tt.yaml, err, tt.want)
		}
	}
}

func TestLine(t *testing.T) {
	c, err := Parse([]byte("log:\n  level: info\nflows:\n  - name: x\n    fields:\n      title: both\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"log.level": 2, "flows[0].name": 4, "flows[0].fields.title": 6, "nope": 0} {
		if got := c.Line(path); got != want {
			t.Errorf("Line(%s) = %d, want %d", path, got, want)
		}
	}
}

// TestLoad goes through the process environment and viper, the path Parse's
// tests do not take, for every overridable key.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tracksync.yaml")
	if err := os.WriteFile(path, []byte("state: {dsn: file.db}\nserver: {token: '${TS_TEST_TOKEN}'}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TS_TEST_TOKEN", "from-env-token")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "file.db"); c.State.DSN != want {
		t.Errorf("DSN = %q, want %q (relative to the file)", c.State.DSN, want)
	}
	if c.Server.Token != "from-env-token" {
		t.Errorf("token = %q", c.Server.Token)
	}

	values := map[string]string{
		"state.driver": "postgres", "state.dsn": "postgres://u@h/db",
		"server.listen": ":9999", "server.token": "override-token",
		"server.public_url": "https://ts.acme.com",
		"log.level":         "warn", "log.format": "json",
	}
	if len(values) != len(EnvKeys()) {
		t.Fatalf("test covers %d keys, EnvKeys has %d", len(values), len(EnvKeys()))
	}
	for k, v := range values {
		t.Setenv(EnvName(k), v)
	}
	c, err = Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		"state.driver": c.State.Driver, "state.dsn": c.State.DSN,
		"server.listen": c.Server.Listen, "server.token": c.Server.Token,
		"server.public_url": c.Server.PublicURL,
		"log.level":         c.Log.Level, "log.format": c.Log.Format,
	}
	if diff := cmp.Diff(values, got); diff != "" {
		t.Errorf("overrides (-want +got):\n%s", diff)
	}
	if got := c.Redact("t=override-token"); got != "t=[REDACTED]" {
		t.Errorf("overridden token not redacted: %q", got)
	}

	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
}

func TestEnvName(t *testing.T) {
	for k, want := range map[string]string{"state.dsn": "TRACKSYNC_STATE_DSN", "server.listen": "TRACKSYNC_SERVER_LISTEN"} {
		if got := EnvName(k); got != want {
			t.Errorf("EnvName(%s) = %s, want %s", k, got, want)
		}
	}
}

func TestExpand(t *testing.T) {
	env := envOf(map[string]string{"A": "alpha", "E": "", "B": "b$b"})
	tests := []struct {
		in, want string
		secrets  []string
		problems int
	}{
		{"plain", "plain", nil, 0},
		{"$5 and $$ and $", "$5 and $$ and $", nil, 0},
		{"${A}", "alpha", []string{"alpha"}, 0},
		{"x${A}y${B}", "xalphayb$b", []string{"alpha", "b$b"}, 0},
		{"${E}", "", nil, 0},
		{"${E:-dflt}", "dflt", nil, 0},
		{"${U:-${A}}", "alpha", []string{"alpha"}, 0},
		{"${U:-a}b}", "ab}", nil, 0},
		{"$${A}", "${A}", nil, 0},
		{"${U}", "", nil, 1},
		{"${", "", nil, 1},
		{"${}", "", nil, 1},
		{"${A B}", "", nil, 1},
	}
	for _, tt := range tests {
		got, secrets, problems := expand(tt.in, env)
		if got != tt.want || len(problems) != tt.problems || !cmp.Equal(secrets, tt.secrets, cmpopts.EquateEmpty()) {
			t.Errorf("expand(%q) = %q, %q, %q; want %q, %q, %d problems", tt.in, got, secrets, problems, tt.want, tt.secrets, tt.problems)
		}
	}
}

func TestComparePaths(t *testing.T) {
	ps := []Problem{{Path: "flows[10].name"}, {Path: "flows[2].name"}, {Path: "flows[2]"}, {Path: "trackers.a"}, {Path: "flows[2].a.tracker"}}
	SortProblems(ps)
	var got []string
	for _, p := range ps {
		got = append(got, p.Path)
	}
	want := []string{"flows[2]", "flows[2].a.tracker", "flows[2].name", "flows[10].name", "trackers.a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestRedact(t *testing.T) {
	env := envOf(map[string]string{
		"GH_TOKEN":   "ghp_secretvalue",
		"PGPASS":     "p@ss w/ord",
		"LEVEL":      "secret-level",
		"PRIV":       "priv-key-data",
		"TRACKSYNC_": "unused",
	})
	yaml := `
state: {driver: postgres, dsn: 'postgres://u:${PGPASS}@db/x'}
server: {token: literal-server-token, listen: 'x'}
log: {level: '${LEVEL}'}
trackers:
  g:
    kind: github
    auth: {token: '${GH_TOKEN}', private_key: '${PRIV}', password: literal-pw}
    webhook_secret: literal-hook
`
	c, err := Parse([]byte(yaml), "", env)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want problems, got %v", err)
	}
	secrets := []string{"ghp_secretvalue", "p@ss w/ord", "secret-level", "priv-key-data", "literal-server-token", "literal-pw", "literal-hook"}
	text := strings.Join(secrets, " | ") + " url: https://x/?t=" + "p%40ss+w%2Ford"
	red := c.Redact(text)
	for _, s := range append(secrets, "p%40ss+w%2Ford") {
		if strings.Contains(red, s) {
			t.Errorf("Redact left %q in %q", s, red)
		}
	}
	if err.Error() == "" || strings.Contains(err.Error(), "secret-level") {
		t.Errorf("problem leaks a secret: %v", err)
	}
	for _, p := range ps {
		for _, s := range secrets {
			if strings.Contains(p.Msg, s) {
				t.Errorf("problem %q contains secret %q", p, s)
			}
		}
	}
	if !strings.Contains(err.Error(), `log.level: "[REDACTED]" is not one of`) {
		t.Errorf("want the redacted level problem, got:\n%v", err)
	}
	if got := c.Redact("nothing here"); got != "nothing here" {
		t.Errorf("Redact changed clean text: %q", got)
	}
	if got := len(c.Secrets()); got < len(secrets) {
		t.Errorf("Secrets() has %d values, want at least %d", got, len(secrets))
	}
}

func TestDSNPassword(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u:pw@h/db":                   "pw",
		"postgres://u@h/db?password=qpw&x=1":     "qpw",
		"host=h user=u password='a b' dbname=db": "a b",
		"host=h password=kv dbname=db":           "kv",
		"tracksync.db":                           "",
	} {
		if got := dsnPassword(dsn); got != want {
			t.Errorf("dsnPassword(%q) = %q, want %q", dsn, got, want)
		}
	}
}
