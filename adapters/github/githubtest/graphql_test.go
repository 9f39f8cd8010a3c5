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

// TestGraphQLSelection: the fake answers only what a query selects
// (aliases, @include), and refuses a field its answer does not have as
// GitHub refuses a field a type lacks (undefinedField), before a mutation
// writes anything and without charging points.
func TestGraphQLSelection(t *testing.T) {
	s := New(t, Options{})
	c := newClient(t, s, nil)
	s.CreateIssue(DefaultRepo, Issue{Title: "card"})
	s.AddProject("acme", 1, "Status", "Todo", "Done")
	if err := s.MoveCard("acme", 1, "acme/app#1", "Todo"); err != nil {
		t.Fatal(err)
	}
	q := func(query string, vars map[string]any) answer {
		t.Helper()
		return c.do("POST", "/api/graphql", map[string]any{"query": query, "variables": vars})
	}
	lookup := map[string]any{"owner": "acme", "name": "app", "number": 1, "field": "Status", "v": false}
	a := q(`query($field:String!$name:String!$number:Int!$owner:String!$v:Boolean!){repository(owner: $owner, name: $name){issue(number: $number){projectItems(first: 50){nodes{itemId: id,fieldValueByName(name: $field){... on ProjectV2ItemFieldSingleSelectValue{name}},fieldValues(first: 100) @include(if: $v){nodes{__typename}}}}}}}`, lookup)
	var out struct {
		Data struct {
			Repository struct {
				Issue map[string]map[string][]map[string]any
			}
		}
	}
	a.json(t, &out)
	nodes := out.Data.Repository.Issue["projectItems"]["nodes"]
	if len(nodes) != 1 || len(nodes[0]) != 2 || nodes[0]["itemId"] == nil || nodes[0]["fieldValueByName"] == nil {
		t.Errorf("the answer holds other than the selection (alias itemId, the value, no fieldValues under @include false): %s", a.body)
	}
	if strings.Contains(string(a.body), "rateLimit") || strings.Contains(string(a.body), "updatedAt") {
		t.Errorf("fields not selected answered: %s", a.body)
	}

	points := s.GraphQLPoints()
	a = q(`query($field:String!$name:String!$number:Int!$owner:String!){repository(owner: $owner, name: $name){issue(number: $number){projectItems(first: 50){nodes{id,updatdAt}}}}}`, lookup)
	if a.status != 200 || !strings.Contains(string(a.body), `"undefinedField"`) || !strings.Contains(string(a.body), `Field 'updatdAt' doesn't exist`) || strings.Contains(string(a.body), `"data":{`) {
		t.Errorf("a misspelt field: %d %s", a.status, a.body)
	}
	// The payload's field is projectV2Item, not projectV2item.
	var itemID string
	for _, n := range nodes {
		itemID, _ = n["itemId"].(string)
	}
	a = q(`query($owner:String!$number:Int!$field:String!){repositoryOwner(login: $owner){... on ProjectV2Owner{projectV2(number: $number){id,field(name: $field){... on ProjectV2SingleSelectField{id,options{id,name}}}}}}}`, map[string]any{"owner": "acme", "number": 1, "field": "Status"})
	var board struct {
		Data struct {
			RepositoryOwner struct {
				ProjectV2 struct {
					ID    string
					Field struct {
						ID      string
						Options []struct{ ID, Name string }
					}
				}
			}
		}
	}
	a.json(t, &board)
	p := board.Data.RepositoryOwner.ProjectV2
	if p.ID == "" || len(p.Field.Options) != 2 {
		t.Fatalf("board lookup: %s", a.body)
	}
	input := map[string]any{"input": map[string]any{"projectId": p.ID, "itemId": itemID, "fieldId": p.Field.ID, "value": map[string]any{"singleSelectOptionId": p.Field.Options[1].ID}}}
	a = q(`mutation($input:UpdateProjectV2ItemFieldValueInput!){updateProjectV2ItemFieldValue(input: $input){projectV2item{id}}}`, input)
	if !strings.Contains(string(a.body), `Field 'projectV2item' doesn't exist on type 'UpdateProjectV2ItemFieldValuePayload'`) {
		t.Errorf("a misspelt payload field: %s", a.body)
	}
	if st, _ := s.CardStatus("acme", 1, "acme/app#1"); st != "Todo" {
		t.Errorf("a refused mutation moved the card to %q", st)
	}
	if got := s.GraphQLPoints() - points; got != 1 {
		t.Errorf("%d points charged for the board lookup and two refused operations, want 1", got)
	}
	a = q(`mutation($input:UpdateProjectV2ItemFieldValueInput!){updateProjectV2ItemFieldValue(input: $input){projectV2Item{id}}}`, input)
	if st, _ := s.CardStatus("acme", 1, "acme/app#1"); st != "Done" || !strings.Contains(string(a.body), `"projectV2Item":{"id":"`+itemID+`"}`) {
		t.Errorf("the mutation: card %q, answer %s", st, a.body)
	}
}
