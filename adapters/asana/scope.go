package asana

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

// scope is a parsed scope: "<project gid> [<project gid> ...]
// [section:<gid or name>] [tag:<gid or name>]" (tasks), or
// "portfolio:<gid>" (the portfolio's projects, as initiatives).
type scope struct {
	projects  []string
	section   string // a section gid or name, within the projects
	tag       string // a tag gid or name
	portfolio string // a portfolio gid: its projects are the items
}

// portfolioPrefix starts a portfolio scope.
const portfolioPrefix = "portfolio:"

func parseScope(s string) (scope, error) {
	var sc scope
	for _, f := range strings.Fields(s) {
		switch {
		case strings.HasPrefix(f, portfolioPrefix):
			g := strings.TrimPrefix(f, portfolioPrefix)
			if g == "" || strings.Trim(g, "0123456789") != "" {
				return scope{}, adapters.Permanent(fmt.Errorf("asana scope %q: %q: want portfolio:<portfolio gid>: %w", s, f, adapters.ErrInvalid))
			}
			if sc.portfolio != "" && sc.portfolio != g {
				return scope{}, adapters.Permanent(fmt.Errorf("asana scope %q names two portfolios: one scope lists one portfolio: %w", s, adapters.ErrInvalid))
			}
			sc.portfolio = g
		case strings.HasPrefix(f, "section:"):
			sc.section = strings.TrimPrefix(f, "section:")
		case strings.HasPrefix(f, "tag:"):
			sc.tag = strings.TrimPrefix(f, "tag:")
		case strings.Trim(f, "0123456789") == "" && f != "":
			if !slices.Contains(sc.projects, f) {
				sc.projects = append(sc.projects, f)
			}
		default:
			return scope{}, adapters.Permanent(fmt.Errorf("asana scope %q: %q is neither a project gid nor section:/tag:/portfolio: (want '<project gid> [section:<gid|name>] [tag:<gid|name>]' or 'portfolio:<gid>'): %w", s, f, adapters.ErrInvalid))
		}
	}
	if sc.portfolio != "" {
		if len(sc.projects) > 0 || sc.section != "" || sc.tag != "" {
			return scope{}, adapters.Permanent(fmt.Errorf("asana scope %q: a portfolio scope lists the portfolio's projects and takes nothing else (no project gids, section: or tag:): %w", s, adapters.ErrInvalid))
		}
		return sc, nil
	}
	if len(sc.projects) == 0 {
		return scope{}, adapters.Permanent(fmt.Errorf("asana scope %q names no project gid: %w", s, adapters.ErrInvalid))
	}
	return sc, nil
}

// checkScopeUse is the asana kind's scope check for validate: the syntax,
// and a portfolio scope only where projects can be items, the
// initiatives' source. A flow syncs tasks (it would create tasks in a
// portfolio and edit projects as if they were tasks), and a child rule
// could link nothing to a project (projects carry no tags or parent).
func checkScopeUse(s string, use adapters.ScopeUse) error {
	sc, err := parseScope(s)
	if err != nil {
		return err
	}
	if sc.portfolio != "" && use != adapters.UseInitiatives {
		return fmt.Errorf("asana scope %q lists a portfolio's projects, which only initiatives.source.scope can read (projects are initiatives, not tasks to sync or children): name project gids here: %w", s, adapters.ErrInvalid)
	}
	return nil
}

func init() {
	adapters.RegisterScopeUse("asana", checkScopeUse)
}

// holds reports whether task tk is in the scope.
func (sc scope) holds(tk task) bool {
	in := false
	for _, m := range tk.Memberships {
		if m.Project == nil || !slices.Contains(sc.projects, m.Project.GID) {
			continue
		}
		if sc.section == "" || (m.Section != nil && (m.Section.GID == sc.section || m.Section.Name == sc.section)) {
			in = true
		}
	}
	if !in {
		return false
	}
	if sc.tag == "" {
		return true
	}
	return slices.ContainsFunc(tk.Tags, func(c compact) bool { return c.GID == sc.tag || c.Name == sc.tag })
}
