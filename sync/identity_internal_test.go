package sync

import (
	"slices"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

func TestItemKeyRoundTrip(t *testing.T) {
	for _, c := range []struct{ from, id, to string }{
		{"jira@acme.atlassian.net", "10012", "github@api.github.com"},
		{"github@api.github.com", "acme/platform#12", "jira@jira.acme.com/jira"},
		{"memory@name:x|y", "50%|1", "memory@name:z"},
	} {
		k := itemKey(c.from, c.id, c.to)
		got, ok := parseKey(k)
		if !ok || got.from != c.from || got.id != c.id || got.to != c.to || got.flow != "" {
			t.Errorf("parseKey(%q) = %+v, %v; want %+v", k, got, ok, c)
		}
	}
	// The first format is still read, ids with slashes included.
	got, ok := parseKey("platform/b/acme/platform#12")
	if !ok || got.flow != "platform" || got.side != store.SideB || got.id != "acme/platform#12" {
		t.Errorf("first format: %+v %v", got, ok)
	}
	for _, bad := range []string{"", "ts2|a|b", "ts2||1|b", "flow/c/1", "flow/a/", "noslash"} {
		if _, ok := parseKey(bad); ok {
			t.Errorf("parseKey(%q) accepted", bad)
		}
	}
}

func TestReferences(t *testing.T) {
	it := adapters.Item{
		Title: "PLAT-7: checkout",
		Body:  "Mirrors https://github.com/Acme/Platform/issues/12 and see acme/web#3.\nJira: https://acme.atlassian.net/browse/OPS-42",
	}
	got := references(it)
	for _, want := range []string{"PLAT-7", "Acme/Platform#12", "acme/web#3", "OPS-42", "https://acme.atlassian.net/browse/OPS-42"} {
		if !slices.Contains(got, want) {
			t.Errorf("references %v lack %q", got, want)
		}
	}
}

func TestNormTitle(t *testing.T) {
	if normTitle("  Fix   Login. ") != normTitle("fix login") || normTitle("Fix login") == normTitle("Fix logout") {
		t.Fatal("normTitle")
	}
}
