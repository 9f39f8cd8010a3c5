package github

import (
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/github/githubtest/githubcontract"
)

// TestGraphQLTrafficFitsGitHubSchema: every GraphQL operation the adapter
// sends for a project board (the board and field lookups, an issue's
// items, the board listing with field values, adding an item, setting
// and clearing each kind of field, describe) is valid against GitHub's
// published GraphQL schema, and the fake's answers have the schema's
// shape. It skips where the schema is absent (see GraphQLPath); the
// fixture's checker also checks every other project test's traffic.
func TestGraphQLTrafficFitsGitHubSchema(t *testing.T) {
	githubcontract.GraphQLSchema(t)
	f := newFieldBoard(t)
	if f.checker == nil {
		t.Skip("GitHub's OpenAPI description is absent, so the fixture checks no traffic")
	}
	ctx := t.Context()
	res, err := f.tr.Create(ctx, adapters.Item{Title: "card", Status: "In Progress", Priority: "P1"}, adapters.CreateOptions{IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ref := res.Item.Ref
	for _, c := range fieldKinds {
		cur, want := f.withField(t, ref, c.sync, c.read)
		if _, err := f.tr.Update(ctx, ref, adapters.Patch{Fields: []string{c.sync}, Item: want, IfVersion: cur.Version}); err != nil {
			t.Fatalf("setting %s: %v", c.field, err)
		}
		if _, err := f.tr.Update(ctx, ref, adapters.Patch{Fields: []string{c.sync}, Item: cur}); err != nil {
			t.Fatalf("clearing %s: %v", c.field, err)
		}
	}
	_, cursor := listAll(t, f.tr, githubtest.DefaultRepo, "")
	f.fake.Advance(time.Minute)
	if err := f.fake.MoveCard("acme", 1, ref.ID, "Done"); err != nil {
		t.Fatal(err)
	}
	if items, _ := listAll(t, f.tr, githubtest.DefaultRepo, cursor); len(items) != 1 || items[0].Status != "Done" {
		t.Errorf("after a card move: %+v", items)
	}
	if _, err := f.tr.Describe(ctx, githubtest.DefaultRepo); err != nil {
		t.Fatal(err)
	}

	sent := 0
	for _, r := range f.fake.Requests() {
		if strings.HasSuffix(r.Path, "/graphql") {
			sent++
		}
	}
	checked, violations, _ := f.checker.Result()
	if got := f.checker.GraphQLChecked(); got != sent || sent < 10 {
		t.Errorf("%d GraphQL exchanges checked of %d sent (want all, and at least 10)", got, sent)
	}
	for _, v := range violations {
		t.Errorf("GraphQL contract: %s", v.Err)
	}
	t.Logf("%d GraphQL exchanges and %d REST exchanges checked", sent, checked)
}
