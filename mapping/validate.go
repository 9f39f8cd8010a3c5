package mapping

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
)

// Validate checks a whole configuration and returns every problem in one
// pass, sorted by key path: the problems Parse found, every tracker's
// options against its kind's spec in reg (adapters.Default when nil), the
// users, every flow and the initiatives section (compiled with its trackers' kinds; no Caps, since
// nothing is contacted). It also marks reg's secret options on c, so that
// c.Redact covers them; no message carries a secret.
func Validate(c *config.Config, reg *adapters.Registry) []config.Problem {
	if reg == nil {
		reg = adapters.Default
	}
	c.MarkSecretOptions(reg)
	v := &validator{c: c, reg: reg, problems: slices.Clone([]config.Problem(c.Problems()))}
	v.trackers()
	v.users()
	v.flows()
	v.loops()
	v.initiatives()
	v.notifications()
	if s := c.Server.CheckSchedule; s != "" && s != "off" {
		if _, err := ParseSchedule(s); err != nil {
			v.problem("server.check_schedule", "%q: want '@every <duration>', a descriptor (@hourly) or a 5-field cron expression, or off: %v", s, err)
		}
	}
	if len(c.Flows) == 0 && c.Initiatives == nil {
		// An empty or mistyped file would otherwise validate and serve
		// would run, doing nothing, with every check green.
		v.problems = append(v.problems, NothingToSync)
	}

	// Parse and Validate may both see one thing (a missing kind); say it once.
	seen := map[config.Problem]bool{}
	out := v.problems[:0]
	for _, p := range v.problems {
		p.Msg = c.Redact(p.Msg)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	config.SortProblems(out)
	return out
}

// NothingToSync is the problem of a config with no flows and no
// initiatives; tracksync migrate, which needs only trackers, accepts it.
var NothingToSync = config.Problem{Path: "flows", Msg: "the config has no flows and no initiatives: nothing to sync (see config.example.yaml)"}

type validator struct {
	c        *config.Config
	reg      *adapters.Registry
	problems []config.Problem
}

func (v *validator) problem(path, format string, args ...any) {
	v.problems = append(v.problems, config.Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) has(path string) bool {
	return slices.ContainsFunc(v.problems, func(p config.Problem) bool { return p.Path == path })
}

func (v *validator) trackerNames() []string {
	names := make([]string, 0, len(v.c.Trackers))
	for n := range v.c.Trackers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (v *validator) trackers() {
	for _, name := range v.trackerNames() {
		t := v.c.Trackers[name]
		p := "trackers." + name
		if !config.ValidName(name) {
			v.problem(p, "tracker names use letters, digits, '.', '_' and '-', starting with a letter or digit (refs are written tracker:id)")
		}
		if t.Kind == "" {
			if !v.has(p + ".kind") {
				v.problem(p+".kind", "required (the adapter: %s)", strings.Join(v.reg.Kinds(), ", "))
			}
			continue
		}
		errs := v.reg.Check(t.Kind, p, t.Options)
		for _, e := range errs {
			v.problem(e.Path, "%s", e.Msg)
		}
	}
}

func (v *validator) users() {
	kinds := v.reg.Kinds()
	names := v.trackerNames()
	type claim struct {
		user int
		key  string
	}
	claims := map[string]map[string]claim{} // tracker -> id -> first user claiming it
	for i, u := range v.c.Users {
		up := fmt.Sprintf("users[%d]", i)
		if u.Name == "" && u.Email == "" {
			v.problem(up+".name", "required: who this is (name or email)")
		}
		keys := make([]string, 0, len(u.IDs))
		for k := range u.IDs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, ok := v.c.Trackers[k]; !ok && !slices.Contains(kinds, k) {
				v.problem(up+"."+k, "not a tracker name (%s) nor a tracker kind (%s)", strings.Join(names, ", "), strings.Join(kinds, ", "))
			}
			if u.IDs[k] == "" {
				v.problem(up+"."+k, "empty id")
			}
		}
		reported := map[string]bool{}
		for _, name := range names {
			t := v.c.Trackers[name]
			id := UserID(u, name, t.Kind)
			if id == "" {
				continue
			}
			key := name
			if _, byName := u.IDs[name]; !byName {
				key = t.Kind
			}
			if claims[name] == nil {
				claims[name] = map[string]claim{}
			}
			prev, dup := claims[name][id]
			if !dup {
				claims[name][id] = claim{i, key}
				continue
			}
			if prev.user != i && !reported[key] {
				reported[key] = true
				other := v.c.Users[prev.user]
				v.problem(up+"."+key, "id %q on tracker %s is also users[%d]'s (%s): one id, one person", id, name, prev.user, or(other.Name, other.Email))
			}
		}
	}
}

func (v *validator) flows() {
	names := v.trackerNames()
	seen := map[string]int{}
	for i, f := range v.c.Flows {
		p := fmt.Sprintf("flows[%d]", i)
		if f.Name != "" {
			if j, dup := seen[f.Name]; dup {
				v.problem(p+".name", "%q is also flows[%d]'s name: flow names must be unique", f.Name, j)
			} else {
				seen[f.Name] = i
			}
		}
		var infos [2]SideInfo
		for s, fs := range []config.FlowSide{f.A, f.B} {
			infos[s].Name = fs.Tracker
			if fs.Tracker == "" {
				continue
			}
			t, ok := v.c.Trackers[fs.Tracker]
			if !ok {
				v.problem(p+"."+[]string{"a", "b"}[s]+".tracker", "unknown tracker %q (configured: %s)", fs.Tracker, strings.Join(names, ", "))
				continue
			}
			infos[s].Kind = t.Kind
			if err := adapters.CheckScope(t.Kind, fs.Scope, adapters.UseFlow); err != nil {
				v.problem(p+"."+[]string{"a", "b"}[s]+".scope", "%v", err)
			}
		}
		_, ps := Compile(f, p, v.c.Users, infos[0], infos[1])
		v.problems = append(v.problems, ps...)
	}
}

// notifications cross-checks the sinks' rules against the flows: a rule
// naming a flow the config lacks would match none of its events, silently.
// (Initiative keys live in the trackers; only the flows are known here.)
func (v *validator) notifications() {
	nc := v.c.Notifications
	if nc == nil {
		return
	}
	var names []string
	for _, f := range v.c.Flows {
		if f.Name != "" {
			names = append(names, f.Name)
		}
	}
	sort.Strings(names)
	for i, s := range nc.Sinks {
		for j, r := range s.Rules {
			for k, f := range r.Flows {
				if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, f) }) {
					v.problem(fmt.Sprintf("notifications.sinks[%d].rules[%d].flows[%d]", i, j, k), "unknown flow %q (configured: %s)", f, strings.Join(names, ", "))
				}
			}
		}
	}
}

// initiatives cross-checks the initiatives section against the trackers:
// Parse checked what it can see alone.
func (v *validator) initiatives() {
	in := v.c.Initiatives
	if in == nil {
		return
	}
	const p = "initiatives"
	names := strings.Join(v.trackerNames(), ", ")
	// kind returns the kind of the tracker named at path, reporting an
	// unknown name; "" when unknown or unnamed.
	kind := func(path, name string) string {
		if name == "" {
			return ""
		}
		t, ok := v.c.Trackers[name]
		if !ok {
			v.problem(path, "unknown tracker %q (configured: %s)", name, names)
			return ""
		}
		return t.Kind
	}

	sourceKind := kind(p+".source.tracker", in.Source.Tracker)
	if sourceKind != "" {
		if err := adapters.CheckScope(sourceKind, in.Source.Scope, adapters.UseInitiatives); err != nil {
			v.problem(p+".source.scope", "%v", err)
		}
	}
	for i, ch := range in.Children {
		cp := fmt.Sprintf("%s.children[%d]", p, i)
		k := kind(cp+".tracker", ch.Tracker)
		if k == "" {
			continue
		}
		if err := adapters.CheckScope(k, ch.Scope, adapters.UseChildren); err != nil {
			v.problem(cp+".scope", "%v", err)
		}
		if ch.Link == "tasklist" && k != "github" {
			v.problem(cp+".link", "tasklist needs a github tracker; %s is a %s tracker", ch.Tracker, k)
		}
		if ch.Create != nil && k == "roadmap" {
			v.problem(cp+".create", "a roadmap tracker holds initiatives, not delivery items: nothing to create in %s", ch.Tracker)
		}
	}

	rp := p + ".rollup"
	for _, name := range slices.Sorted(maps.Keys(in.Rollup.Estimate)) {
		kind(rp+".estimate."+name, name)
	}
	if w := in.Rollup.WriteBack; w.Field != "" && sourceKind == "roadmap" {
		v.problem(rp+".write_back.field", "a roadmap source keeps progress in its file's progress key; field is for a Jira initiative")
	}
	if s := in.Rollup.Schedule; s != "" {
		if _, err := ParseSchedule(s); err != nil {
			v.problem(rp+".schedule", "%q is not '@every <duration>', a descriptor like @hourly, or a 5-field cron expression: %v", s, err)
		}
	}
}
