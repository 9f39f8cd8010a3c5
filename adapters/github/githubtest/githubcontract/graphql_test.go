package githubcontract

import (
	"strings"
	"testing"
)

// A schema in the shape of GitHub's (an interface, a union, an enum,
// custom scalars, a duplicated field as GitHub's published SDL has),
// written here so that the checker's own rules are tested without
// GitHub's file.
const miniSchema = `
scalar DateTime
schema { query: Query mutation: Mutation }
type Query {
  node(id: ID!): Node
  rateLimit: RateLimit
  items(first: Int!): [Item!]!
}
type Mutation { move(input: MoveInput!): MovePayload }
input MoveInput { itemId: ID! option: String! }
type MovePayload { item: Item }
interface Node { id: ID! }
type Item implements Node {
  id: ID!
  updatedAt: DateTime!
  state: State!
  title: String
  title: String
  value: Value
}
type Board implements Node { id: ID! name: String! }
enum State { OPEN CLOSED }
union Value = TextValue | NumberValue
type TextValue { text: String }
type NumberValue { number: Float }
type RateLimit { cost: Int! remaining: Int! }
`

func TestCheckGraphQL(t *testing.T) {
	schema, err := parseSchema("mini", miniSchema)
	if err != nil {
		t.Fatal(err)
	}
	const itemQuery = `query($n:Int!$v:Boolean!){items(first:$n){id,updatedAt,state,title,value @include(if:$v){__typename,... on TextValue{text},... on NumberValue{number}}},rateLimit{cost}}`
	cases := []struct {
		name, req, resp string
		want            string // a problem's text; "" for none
	}{
		{"fits",
			`{"query":"` + itemQuery + `","variables":{"n":2,"v":true}}`,
			`{"data":{"items":[{"id":"I_1","updatedAt":"2026-12-01T10:00:00Z","state":"OPEN","title":null,"value":{"__typename":"TextValue","text":"x"}},{"id":"I_2","updatedAt":"2026-12-01T10:00:00Z","state":"CLOSED","title":"t","value":null}],"rateLimit":{"cost":1}}}`,
			""},
		{"include false leaves the field out",
			`{"query":"` + itemQuery + `","variables":{"n":1,"v":false}}`,
			`{"data":{"items":[{"id":"I_1","updatedAt":"2026-12-01T10:00:00Z","state":"OPEN","title":null}],"rateLimit":{"cost":1}}}`,
			""},
		{"a field the type lacks",
			`{"query":"{items(first:1){id,titel}}"}`, `{"data":{"items":[]}}`,
			`Cannot query field "titel" on type "Item"`},
		{"a variable of the wrong type",
			`{"query":"query($n:Int!){items(first:$n){id}}","variables":{"n":"two"}}`, `{"data":{"items":[]}}`,
			"request variables"},
		{"a missing non-null variable",
			`{"query":"query($n:Int!){items(first:$n){id}}","variables":{}}`, `{"data":{"items":[]}}`,
			"must be defined"},
		{"a selected field missing from the answer",
			`{"query":"{items(first:1){id,state}}"}`, `{"data":{"items":[{"id":"I_1"}]}}`,
			"data.items[0].state: missing"},
		{"null for a non-null field",
			`{"query":"{items(first:1){id,state}}"}`, `{"data":{"items":[{"id":"I_1","state":null}]}}`,
			"null for the non-null State!"},
		{"an enum value the enum lacks",
			`{"query":"{items(first:1){state}}"}`, `{"data":{"items":[{"state":"DONE"}]}}`,
			"not a value of enum State"},
		{"a field not selected",
			`{"query":"{items(first:1){id}}"}`, `{"data":{"items":[{"id":"I_1","title":"t"}]}}`,
			"data.items[0].title: not selected"},
		{"an Int that is a string",
			`{"query":"{rateLimit{cost}}"}`, `{"data":{"rateLimit":{"cost":"1"}}}`,
			"is not an Int"},
		{"a DateTime that is not one",
			`{"query":"{items(first:1){updatedAt}}"}`, `{"data":{"items":[{"updatedAt":"yesterday"}]}}`,
			"not an ISO-8601 DateTime"},
		{"a __typename outside the union",
			`{"query":"{items(first:1){value{__typename}}}"}`, `{"data":{"items":[{"value":{"__typename":"Board"}}]}}`,
			"not a possible type of Value"},
		{"a list where an object belongs",
			`{"query":"{rateLimit{cost}}"}`, `{"data":{"rateLimit":[]}}`,
			"want an object"},
		{"an error without a message",
			`{"query":"{rateLimit{cost}}"}`, `{"data":null,"errors":[{"type":"RATE_LIMITED"}]}`,
			"has no message"},
		{"an error with a message",
			`{"query":"{rateLimit{cost}}"}`, `{"data":null,"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded"}]}`,
			""},
		{"a mutation",
			`{"query":"mutation($input:MoveInput!){move(input:$input){item{id}}}","variables":{"input":{"itemId":"I_1","option":"x"}}}`,
			`{"data":{"move":{"item":{"id":"I_1"}}}}`,
			""},
		{"a mutation input missing a member",
			`{"query":"mutation($input:MoveInput!){move(input:$input){item{id}}}","variables":{"input":{"itemId":"I_1"}}}`,
			`{"data":{"move":{"item":{"id":"I_1"}}}}`,
			"option"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			problems := CheckGraphQL(schema, []byte(c.req), []byte(c.resp))
			if c.want == "" {
				if len(problems) > 0 {
					t.Errorf("problems for a fitting exchange: %q", problems)
				}
				return
			}
			if !strings.Contains(strings.Join(problems, "\n"), c.want) {
				t.Errorf("problems %q, want one saying %q", problems, c.want)
			}
		})
	}
}

// TestParseSchemaRefusesConflictingRepeat: only a word-for-word repeat of
// a field is dropped.
func TestParseSchemaRefusesConflictingRepeat(t *testing.T) {
	_, err := parseSchema("bad", `type Query { a: Int a: String }`)
	if err == nil || !strings.Contains(err.Error(), "can only be defined once") {
		t.Errorf("a field declared twice with two types: %v", err)
	}
}
