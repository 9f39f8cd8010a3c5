package mapping

import (
	"testing"

	"github.com/tracksync/tracksync/config"
)

func TestTrackerIdentity(t *testing.T) {
	same := [][2]config.Tracker{
		{{Kind: "jira", Options: map[string]any{"url": "https://Acme.atlassian.net/"}}, {Kind: "jira", Options: map[string]any{"url": "acme.atlassian.net"}}},
		{{Kind: "github"}, {Kind: "github", Options: map[string]any{"url": "https://api.github.com"}}},
	}
	for _, p := range same {
		if a, b := TrackerIdentity("x", p[0]), TrackerIdentity("y", p[1]); a != b {
			t.Errorf("%q and %q: one site, two identities", a, b)
		}
	}
	if TrackerIdentity("x", config.Tracker{Kind: "jira", Options: map[string]any{"url": "https://a.atlassian.net"}}) ==
		TrackerIdentity("x", config.Tracker{Kind: "jira", Options: map[string]any{"url": "https://b.atlassian.net"}}) {
		t.Error("two sites, one identity")
	}
}

func TestScopesDisjoint(t *testing.T) {
	for _, c := range []struct {
		kind, s1, s2 string
		want         bool
	}{
		{"jira", "project = PLAT", "project = OPS AND issuetype = Epic", true},
		{"jira", "project = PLAT", `project in (OPS, "PLAT")`, false},
		{"jira", "project = PLAT", "", false},
		{"jira", "project = PLAT OR labels = x", "project = OPS", false},
		{"jira", "project = PLAT AND issuetype = Epic", "project = PLAT AND issuetype = Story", false}, // cannot tell: refused
		{"github", "acme/platform label:epic", "acme/web", true},
		{"github", "acme/platform label:epic", "acme/platform label:bug", false},
		{"memory", "kind:epic", "kind:task label:x", true},
		{"memory", "label:a", "label:b", false},
	} {
		if got := scopesDisjoint(c.kind, c.s1, c.s2); got != c.want {
			t.Errorf("scopesDisjoint(%s, %q, %q) = %v", c.kind, c.s1, c.s2, got)
		}
	}
}
