package githubtest

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestQueryCost: GitHub's formula, the requests each connection needs
// (one per node of the enclosing connections) over 100, rounded, at
// least 1.
func TestQueryCost(t *testing.T) {
	for _, c := range []struct {
		q    string
		want int
	}{
		{`query{viewer{login}}`, 1},
		{`mutation($input:AddProjectV2ItemByIdInput!){addProjectV2ItemById(input: $input){item{id}}}`, 1},
		// The board's items with their values: 1 + 100 requests.
		{`query($after:String$field:String!$project:ID!){node(id: $project){... on ProjectV2{items(first: 100, after: $after){pageInfo{hasNextPage,endCursor},nodes{id,fieldValueByName(name: $field){... on ProjectV2ItemFieldSingleSelectValue{optionId,name}},fieldValues(first: 50){nodes{__typename}}}}}},rateLimit{cost}}`, 1},
		// 1 + 100 + 100*50 requests.
		{`query{node(id: "x"){... on ProjectV2{items(first: 100){nodes{fieldValues(first: 50){nodes{... on ProjectV2ItemFieldLabelValue{labels(first: 50){nodes{name}}}}}}}}}}`, 51},
		// 1 + 50 requests.
		{`query{viewer{repositories(first: 50){nodes{issues(first: 10){nodes{title}}}}}}`, 1},
		// 1 + 100 + 100*100 requests.
		{`query{viewer{repositories(first: 100){nodes{issues(first: 100){nodes{labels(first: 10){nodes{name}}}}}}}}`, 101},
		// first: a variable counts as 100: 1 + 100 requests.
		{`query($n:Int!){viewer{repositories(first: $n){nodes{issues(first: $n){nodes{title}}}}}}`, 1},
	} {
		if got := queryCost(c.q); got != c.want {
			t.Errorf("cost %d, want %d: %s", got, c.want, c.q)
		}
	}
}

// TestProjectFieldValues: a project's fields and an item's values in
// GitHub's shapes; updateProjectV2ItemFieldValue takes exactly the value
// member its field's type takes, clearProjectV2ItemFieldValue removes a
// value, and a person's edit changes no issue.
func TestProjectFieldValues(t *testing.T) {
	s := New(t, Options{})
	c := newClient(t, s, nil)
	is := s.CreateIssue(DefaultRepo, Issue{Title: "card"})
	s.AddProject("acme", 1, "Status", "Todo", "Done")
	for _, f := range []ProjectField{
		{Name: "Target date", Type: FieldDate},
		{Name: "Estimate", Type: FieldNumber},
		{Name: "Size", Type: FieldSingleSelect, Options: []string{"S", "L"}},
		{Name: "Iteration", Type: FieldIteration, Iterations: []Iteration{{Title: "It 1", Completed: true}, {Title: "It 2"}}},
	} {
		if err := s.AddProjectField("acme", 1, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddProjectField("acme", 1, ProjectField{Name: "estimate", Type: FieldText}); err == nil {
		t.Errorf("a second field named estimate was added")
	}
	if err := s.SetCardField("acme", 1, "acme/app#1", "Estimate", "x"); err == nil {
		t.Errorf("a number field took x")
	}
	if err := s.SetCardField("acme", 1, "acme/app#1", "Estimate", "3.50"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCardField("acme", 1, "acme/app#1", "Iteration", "It 1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Issue(DefaultRepo, 1); !got.UpdatedAt.Equal(is.UpdatedAt) {
		t.Errorf("editing a field changed the issue's updated_at")
	}
	if v, on := s.CardField("acme", 1, "acme/app#1", "Estimate"); v != "3.5" || !on {
		t.Errorf("Estimate %q (on the board %v), want 3.5", v, on)
	}
	gql := func(query string, vars map[string]any) string {
		t.Helper()
		a := c.do("POST", "/graphql", map[string]any{"query": query, "variables": vars})
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		return string(a.body)
	}
	var meta struct {
		Data struct {
			RepositoryOwner struct {
				ProjectV2 struct {
					ID     string
					Fields struct {
						Nodes []struct {
							ID, Name, DataType string
							Options            []struct{ ID, Name string }
							Configuration      struct {
								Iterations, CompletedIterations []struct{ ID, Title string }
							}
						}
					}
				}
			}
		}
	}
	body := gql(`query($number:Int!$owner:String!){repositoryOwner(login: $owner){... on ProjectV2Owner{projectV2(number: $number){id,fields(first: 50){nodes{... on ProjectV2FieldCommon{id,name,dataType},... on ProjectV2SingleSelectField{options{id,name}},... on ProjectV2IterationField{configuration{iterations{id,title},completedIterations{id,title}}}}}}}}}`,
		map[string]any{"owner": "acme", "number": 1})
	if err := json.Unmarshal([]byte(body), &meta); err != nil {
		t.Fatal(err)
	}
	pr := meta.Data.RepositoryOwner.ProjectV2
	byName := map[string]int{}
	var names []string
	for i, n := range pr.Fields.Nodes {
		byName[n.Name] = i
		names = append(names, n.Name+":"+n.DataType)
	}
	if got := strings.Join(names, ","); got != "Title:TITLE,Status:SINGLE_SELECT,Target date:DATE,Estimate:NUMBER,Size:SINGLE_SELECT,Iteration:ITERATION" {
		t.Fatalf("fields %s", got)
	}
	it := pr.Fields.Nodes[byName["Iteration"]].Configuration
	if len(it.Iterations) != 1 || it.Iterations[0].Title != "It 2" || len(it.CompletedIterations) != 1 {
		t.Errorf("iterations %+v", it)
	}
	items := func() string {
		return gql(`query($project:ID!){node(id: $project){... on ProjectV2{items(first: 100){pageInfo{hasNextPage,endCursor},nodes{id,fieldValues(first: 50){nodes{__typename,... on ProjectV2ItemFieldValueCommon{field{... on ProjectV2FieldCommon{name}}},... on ProjectV2ItemFieldDateValue{date},... on ProjectV2ItemFieldNumberValue{number},... on ProjectV2ItemFieldTextValue{text},... on ProjectV2ItemFieldSingleSelectValue{name,optionId},... on ProjectV2ItemFieldIterationValue{title,iterationId}}}}}}}}`,
			map[string]any{"project": pr.ID})
	}
	got := items()
	// @include(if: false) leaves the values out.
	without := gql(`query($project:ID!$values:Boolean!){node(id: $project){... on ProjectV2{items(first: 100){nodes{id,fieldValues(first: 50) @include(if: $values){nodes{__typename}}}}}}}`,
		map[string]any{"project": pr.ID, "values": false})
	if strings.Contains(without, "fieldValues") {
		t.Errorf("@include(if: false) still answered the values: %s", without)
	}
	for _, want := range []string{`"__typename":"ProjectV2ItemFieldNumberValue","field":{"name":"Estimate"},"number":3.5`, `"__typename":"ProjectV2ItemFieldIterationValue","field":{"name":"Iteration"},"iterationId":"` + iterationID("It 1") + `","title":"It 1"`,
		`"__typename":"ProjectV2ItemFieldTextValue","field":{"name":"Title"},"text":"card"`, `{"__typename":"ProjectV2ItemFieldRepositoryValue"}`} {
		if !strings.Contains(got, want) {
			t.Errorf("item values lack %s: %s", want, got)
		}
	}
	var ids struct {
		Data struct {
			Node struct {
				Items struct{ Nodes []struct{ ID string } }
			}
		}
	}
	_ = json.Unmarshal([]byte(got), &ids)
	item := ids.Data.Node.Items.Nodes[0].ID
	fid := func(name string) string { return pr.Fields.Nodes[byName[name]].ID }
	update := func(field string, value map[string]any) string {
		return gql(`mutation($input:UpdateProjectV2ItemFieldValueInput!){updateProjectV2ItemFieldValue(input: $input){projectV2Item{id}}}`,
			map[string]any{"input": map[string]any{"projectId": pr.ID, "itemId": item, "fieldId": fid(field), "value": value}})
	}
	for _, c := range []struct {
		field string
		value map[string]any
		ok    bool
		want  string // the stored value after
	}{
		{"Target date", map[string]any{"date": "2026-12-01"}, true, "2026-12-01"},
		{"Target date", map[string]any{"date": "2026-12-02T00:00:00Z"}, true, "2026-12-02"},
		{"Target date", map[string]any{"text": "2026-12-03"}, false, "2026-12-02"},
		{"Target date", map[string]any{"date": "tomorrow"}, false, "2026-12-02"},
		{"Estimate", map[string]any{"number": 8}, true, "8"},
		{"Estimate", map[string]any{"number": "9"}, false, "8"},
		{"Estimate", map[string]any{"number": 9, "text": "9"}, false, "8"},
		{"Size", map[string]any{"singleSelectOptionId": optionID("L")}, true, "L"},
		{"Size", map[string]any{"singleSelectOptionId": optionID("Todo")}, false, "L"},
		{"Iteration", map[string]any{"iterationId": iterationID("It 2")}, true, "It 2"},
		{"Iteration", map[string]any{"singleSelectOptionId": iterationID("It 1")}, false, "It 2"},
	} {
		body := update(c.field, c.value)
		if ok := !strings.Contains(body, `"errors"`); ok != c.ok {
			t.Errorf("%s = %v: %s", c.field, c.value, body)
		}
		if v, _ := s.CardField("acme", 1, "acme/app#1", c.field); v != c.want {
			t.Errorf("after %s = %v: %q, want %q", c.field, c.value, v, c.want)
		}
	}
	body = gql(`mutation($input:ClearProjectV2ItemFieldValueInput!){clearProjectV2ItemFieldValue(input: $input){projectV2Item{id}}}`,
		map[string]any{"input": map[string]any{"projectId": pr.ID, "itemId": item, "fieldId": fid("Estimate")}})
	if v, _ := s.CardField("acme", 1, "acme/app#1", "Estimate"); v != "" || strings.Contains(body, `"errors"`) {
		t.Errorf("after clearing Estimate: %q %s", v, body)
	}
	if strings.Contains(items(), `"Estimate"`) {
		t.Errorf("a cleared value is still listed")
	}
	w := s.FieldWrites()
	if len(w) != 6 || w[0].Kind != "date" || w[0].Value != "2026-12-01" || w[5].Kind != "clear" || w[5].Field != "Estimate" {
		t.Errorf("field writes %+v", w)
	}
}
