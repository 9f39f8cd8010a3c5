package mapping

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/tracksync/tracksync/config"
)

// TrackerIdentity names the tracker instance behind a configured tracker,
// independently of the name the config gives it: its kind and the site it
// talks to (jira@acme.atlassian.net, github@api.github.com). Two tracker
// names on the same site have the same identity, so idempotency keys made
// from it survive renaming a tracker or a flow, and validate can tell that
// two flow sides are the same tracker. Kinds without a site (memory,
// roadmap) are identified by their project or file, else by name.
func TrackerIdentity(name string, t config.Tracker) string {
	opt := func(k string) string {
		v, _ := t.Options[k].(string)
		return strings.TrimSpace(v)
	}
	site := ""
	switch t.Kind {
	case "jira":
		site = siteOf(opt("url"))
	case "github":
		site = siteOf(opt("url"))
		if site == "" {
			site = "api.github.com"
		}
	case "memory":
		if p := opt("path"); p != "" {
			site = "file:" + p
		} else if p := opt("project"); p != "" {
			site = "project:" + p
		}
	default:
		for _, k := range []string{"url", "path", "file", "project"} {
			if v := opt(k); v != "" {
				site = k + ":" + v
				break
			}
		}
	}
	if site == "" {
		site = "name:" + name
	}
	return t.Kind + "@" + site
}

// siteOf reduces a base URL to host[:port][/path], lower-cased, without a
// trailing slash: https://Acme.atlassian.net/ and acme.atlassian.net are one site.
func siteOf(raw string) string {
	if raw == "" {
		return ""
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return strings.ToLower(strings.TrimRight(raw, "/"))
	}
	return strings.ToLower(u.Host) + strings.TrimRight(u.Path, "/")
}

var (
	jqlProjectEq = regexp.MustCompile(`(?i)\bproject\s*=\s*"?([A-Za-z0-9_]+)"?`)
	jqlProjectIn = regexp.MustCompile(`(?i)\bproject\s+in\s*\(([^)]*)\)`)
	ghRepo       = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
)

// scopeParts reads what can tell two scopes of one tracker apart: the Jira
// projects of a JQL query, the GitHub repositories, the memory tracker's
// kinds. nil means the scope does not say (it may hold anything).
func scopeParts(kind, scope string) []string {
	var out []string
	switch kind {
	case "jira":
		if strings.Contains(strings.ToLower(scope), " or ") {
			return nil // a disjunction may reach beyond the projects named
		}
		for _, m := range jqlProjectEq.FindAllStringSubmatch(scope, -1) {
			out = append(out, strings.ToUpper(m[1]))
		}
		for _, m := range jqlProjectIn.FindAllStringSubmatch(scope, -1) {
			for _, p := range strings.Split(m[1], ",") {
				if p = strings.ToUpper(strings.Trim(strings.TrimSpace(p), `"'`)); p != "" {
					out = append(out, p)
				}
			}
		}
	case "github":
		for _, term := range strings.Fields(scope) {
			if ghRepo.MatchString(term) {
				out = append(out, strings.ToLower(term))
			}
		}
	case "memory":
		for _, term := range strings.Fields(scope) {
			if k, ok := strings.CutPrefix(term, "kind:"); ok {
				out = append(out, k)
			}
		}
	}
	return out
}

// scopesDisjoint reports whether two scopes of one tracker can be shown to
// hold no item in common. When in doubt it says no.
func scopesDisjoint(kind, s1, s2 string) bool {
	p1, p2 := scopeParts(kind, s1), scopeParts(kind, s2)
	if len(p1) == 0 || len(p2) == 0 {
		return false
	}
	for _, p := range p1 {
		if slices.Contains(p2, p) {
			return false
		}
	}
	return true
}

// sameScope reports whether two scopes are written the same (whitespace
// and case aside), or either is everything.
func sameScope(s1, s2 string) bool {
	n1 := strings.ToLower(strings.Join(strings.Fields(s1), " "))
	n2 := strings.ToLower(strings.Join(strings.Fields(s2), " "))
	return n1 == "" || n2 == "" || n1 == n2
}

// loops refuses flows that would copy their own copies: a flow whose two
// sides are one tracker with scopes that can hold the same item (each run
// would copy its copies again), and two flows that would both copy the same
// items into the same tracker.
func (v *validator) loops() {
	type dirn struct {
		flow     int
		from, to string // tracker identities
		scope    string // the source side's scope
		kind     string
		fromSide string
	}
	var copies []dirn
	for i, f := range v.c.Flows {
		p := fmt.Sprintf("flows[%d]", i)
		ta, okA := v.c.Trackers[f.A.Tracker]
		tb, okB := v.c.Trackers[f.B.Tracker]
		if !okA || !okB || ta.Kind == "" || tb.Kind == "" {
			continue
		}
		ia, ib := TrackerIdentity(f.A.Tracker, ta), TrackerIdentity(f.B.Tracker, tb)
		if ia == ib && !scopesDisjoint(ta.Kind, f.A.Scope, f.B.Scope) {
			v.problem(p+".b", "flow %s: sides a (%s, scope %q) and b (%s, scope %q) are the same tracker (%s) with scopes that can hold the same item: every run would copy its own copies again. Give the sides scopes that cannot overlap (different projects or repositories)",
				f.Name, f.A.Tracker, f.A.Scope, f.B.Tracker, f.B.Scope, ia)
			continue
		}
		if f.Create != nil && !*f.Create {
			continue
		}
		dir := or(f.Direction, config.DefaultDirection)
		if dir == "both" || dir == "a-to-b" {
			copies = append(copies, dirn{flow: i, from: ia, to: ib, scope: f.A.Scope, kind: ta.Kind, fromSide: "a"})
		}
		if dir == "both" || dir == "b-to-a" {
			copies = append(copies, dirn{flow: i, from: ib, to: ia, scope: f.B.Scope, kind: tb.Kind, fromSide: "b"})
		}
	}
	reported := map[[2]int]bool{}
	for x := range copies {
		for y := x + 1; y < len(copies); y++ {
			c1, c2 := copies[x], copies[y]
			if c1.flow == c2.flow || c1.from != c2.from || c1.to != c2.to || reported[[2]int{c1.flow, c2.flow}] {
				continue
			}
			if !sameScope(c1.scope, c2.scope) {
				continue
			}
			reported[[2]int{c1.flow, c2.flow}] = true
			f1, f2 := v.c.Flows[c1.flow], v.c.Flows[c2.flow]
			v.problem(fmt.Sprintf("flows[%d].%s.scope", c2.flow, c2.fromSide),
				"flows %s and %s would both copy the items of %s (scopes %q and %q) into %s: the same item would be copied twice. Give them scopes that do not overlap, set create: false on one, or remove the older flow",
				f1.Name, f2.Name, c1.from, c1.scope, c2.scope, c1.to)
		}
	}
}
