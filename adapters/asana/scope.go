package asana

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

// scope is a parsed flow scope: "<project gid> [<project gid> ...]
// [section:<gid or name>] [tag:<gid or name>]".
type scope struct {
	projects []string
	section  string // a section gid or name, within the projects
	tag      string // a tag gid or name
}

func parseScope(s string) (scope, error) {
	var sc scope
	for _, f := range strings.Fields(s) {
		switch {
		case strings.HasPrefix(f, "section:"):
			sc.section = strings.TrimPrefix(f, "section:")
		case strings.HasPrefix(f, "tag:"):
			sc.tag = strings.TrimPrefix(f, "tag:")
		case strings.Trim(f, "0123456789") == "" && f != "":
			if !slices.Contains(sc.projects, f) {
				sc.projects = append(sc.projects, f)
			}
		default:
			return scope{}, adapters.Permanent(fmt.Errorf("asana scope %q: %q is neither a project gid nor section:/tag: (want '<project gid> [section:<gid|name>] [tag:<gid|name>]'): %w", s, f, adapters.ErrInvalid))
		}
	}
	if len(sc.projects) == 0 {
		return scope{}, adapters.Permanent(fmt.Errorf("asana scope %q names no project gid: %w", s, adapters.ErrInvalid))
	}
	return sc, nil
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
