package asana_test

import (
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/mapping"
)

// TestValidatePortfolioScope: validate takes a portfolio scope as the
// initiatives' source and refuses it, naming the key path, on a flow side
// and a child rule.
func TestValidatePortfolioScope(t *testing.T) {
	reg := adapters.NewRegistry()
	if err := reg.Register(asana.Spec()); err != nil {
		t.Fatal(err)
	}
	const trackers = `trackers:
  pm: {kind: asana, workspace: '1', auth: {token: x}, status: 'custom_field:Health'}
  board: {kind: asana, workspace: '1', auth: {token: x}}
`
	tests := []struct {
		name, yaml string
		want       []string // key paths with a problem
	}{
		{"portfolio as the initiatives' source", `initiatives:
  source: {tracker: pm, scope: 'portfolio:123'}
  children: [{tracker: board, link: label, scope: '456'}]
`, nil},
		{"portfolio on a flow side", `flows:
  - {name: f, a: {tracker: pm, scope: 'portfolio:123'}, b: {tracker: board, scope: '456'}}
`, []string{"flows[0].a.scope"}},
		{"portfolio as a child scope", `initiatives:
  source: {tracker: pm, scope: '789'}
  children: [{tracker: board, link: label, scope: 'portfolio:123'}]
`, []string{"initiatives.children[0].scope"}},
		{"portfolio with a project", `initiatives:
  source: {tracker: pm, scope: 'portfolio:123 456'}
`, []string{"initiatives.source.scope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := config.Parse([]byte(trackers+tt.yaml), "", nil)
			if c == nil {
				t.Fatal("Parse returned no config")
			}
			var got []string
			for _, p := range mapping.Validate(c, reg) {
				if strings.Contains(p.Error(), "scope") {
					got = append(got, p.Error())
				}
			}
			t.Log(got)
			if len(got) != len(tt.want) {
				t.Fatalf("scope problems %q, want ones at %q", got, tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w+": ") || !strings.Contains(got[i], "portfolio") {
					t.Errorf("problem %q, want one at %s about the portfolio", got[i], w)
				}
			}
		})
	}
}
