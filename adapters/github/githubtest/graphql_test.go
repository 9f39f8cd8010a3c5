package githubtest

import (
	"strings"
	"testing"
)

// TestGraphQL: the fake's GraphQL endpoint answers the adapter's
// operations, refuses others as GraphQL errors, reports its own point
// budget in the graphql resource's headers, answers RATE_LIMITED once it
// is spent, and a moved card changes no issue.
func TestGraphQL(t *testing.T) {
	s := New(t, Options{GraphQLLimit: 3})
	c := newClient(t, s, nil)
	is := s.CreateIssue(DefaultRepo, Issue{Title: "card"})
	s.AddProject("acme", 1, "Status", "Todo", "Done")
	if err := s.MoveCard("acme", 1, "acme/app#1", "Todo"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Issue(DefaultRepo, 1); !got.UpdatedAt.Equal(is.UpdatedAt) {
		t.Errorf("moving a card changed the issue's updated_at")
	}
	q := func(query string, vars map[string]any) answer {
		t.Helper()
		return c.do("POST", "/api/graphql", map[string]any{"query": query, "variables": vars})
	}
	a := q(`query($field:String!$name:String!$number:Int!$owner:String!){repository(owner: $owner, name: $name){issue(number: $number){id,projectItems(first: 50){nodes{id,updatedAt,project{id},fieldValueByName(name: $field){... on ProjectV2ItemFieldSingleSelectValue{optionId,name}}}}}},rateLimit{cost}}`,
		map[string]any{"owner": "acme", "name": "app", "number": 1, "field": "Status"})
	if a.status != 200 || a.header.Get("X-RateLimit-Resource") != "graphql" || a.header.Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("lookup: %d, headers %v", a.status, a.header)
	}
	var out struct {
		Data struct {
			Repository struct {
				Issue struct {
					ProjectItems struct {
						Nodes []struct {
							FieldValueByName struct{ Name string }
						}
					}
				}
			}
			RateLimit struct{ Cost int }
		}
	}
	a.json(t, &out)
	if n := out.Data.Repository.Issue.ProjectItems.Nodes; len(n) != 1 || n[0].FieldValueByName.Name != "Todo" || out.Data.RateLimit.Cost != 1 {
		t.Errorf("lookup answer: %s", a.body)
	}
	if a := q(`query{viewer{login}}`, nil); a.status != 200 || !strings.Contains(string(a.body), `"errors"`) {
		t.Errorf("an operation the fake does not know: %d %s", a.status, a.body)
	}
	q(`query{viewer{login}}`, nil)
	a = q(`query{viewer{login}}`, nil)
	if !strings.Contains(string(a.body), `"RATE_LIMITED"`) || a.header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("over the budget: %s %v", a.body, a.header)
	}
	if s.GraphQLPoints() != 3 {
		t.Errorf("%d points spent, want 3", s.GraphQLPoints())
	}
	// The REST quota is untouched by GraphQL.
	if a := c.do("GET", "/repos/acme/app", nil); a.header.Get("X-RateLimit-Resource") != "core" || a.header.Get("X-RateLimit-Used") != "1" {
		t.Errorf("REST after GraphQL: %v", a.header)
	}
}
