package githubcontract

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/tracksync/tracksync/adapters/github/internal/gqldir"
)

// GitHub's GraphQL API is not in the OpenAPI description. GitHub
// publishes its schema as SDL (docs.github.com's schema.docs.graphql;
// octokit/graphql-schema keeps a copy as schema.graphql). It is not among
// the contracts shared with the project, so it is looked for in a place
// of its own (GraphQLPath) and the GraphQL checks skip, saying where,
// when it is absent.

var gqlSchema struct {
	once   sync.Once
	schema *ast.Schema
	path   string
	err    error
}

// GraphQLPath is where GitHub's GraphQL schema (SDL) is looked for:
// $TRACKSYNC_GITHUB_GRAPHQL_SCHEMA, else schema.docs.graphql or
// schema.graphql beside the OpenAPI description (Path).
func GraphQLPath() string {
	if p := os.Getenv("TRACKSYNC_GITHUB_GRAPHQL_SCHEMA"); p != "" {
		return p
	}
	dir := filepath.Dir(Path())
	for _, name := range []string{"schema.docs.graphql", "schema.graphql"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join(dir, "schema.docs.graphql")
}

// loadGraphQL loads the schema once per binary; a nil schema with a nil
// error means the file is absent.
func loadGraphQL() (*ast.Schema, string, error) {
	gqlSchema.once.Do(func() {
		gqlSchema.path = GraphQLPath()
		b, err := os.ReadFile(gqlSchema.path)
		if os.IsNotExist(err) {
			return
		}
		if err != nil {
			gqlSchema.err = err
			return
		}
		gqlSchema.schema, err = parseSchema(gqlSchema.path, string(b))
		if err != nil {
			gqlSchema.err = fmt.Errorf("loading %s: %w", gqlSchema.path, err)
		}
	})
	return gqlSchema.schema, gqlSchema.path, gqlSchema.err
}

// parseSchema parses and validates an SDL schema. GitHub's published
// schema declares a few fields twice, word for word (e.g.
// EnterpriseOwnerInfo.repositoryDeployKeySetting), which the
// specification's validation refuses; a repeat identical to the first
// declaration is dropped, any other repeat is still an error.
func parseSchema(name, sdl string) (*ast.Schema, error) {
	doc, err := parser.ParseSchemas(validator.Prelude, &ast.Source{Name: name, Input: sdl})
	if err != nil {
		return nil, err
	}
	for _, def := range doc.Definitions {
		seen := map[string]*ast.FieldDefinition{}
		kept := def.Fields[:0]
		for _, f := range def.Fields {
			if prev, ok := seen[f.Name]; ok && prev.Type.String() == f.Type.String() && len(prev.Arguments) == len(f.Arguments) {
				continue
			}
			seen[f.Name] = f
			kept = append(kept, f)
		}
		def.Fields = kept
	}
	return validator.ValidateSchemaDocument(doc)
}

// GraphQLSchema returns GitHub's GraphQL schema; it skips t, saying where
// the schema was looked for, when the file is absent.
func GraphQLSchema(t testing.TB) *ast.Schema {
	t.Helper()
	s, path, err := loadGraphQL()
	if err != nil {
		t.Fatalf("GitHub GraphQL schema: %v", err)
	}
	if s == nil {
		t.Skipf("GitHub GraphQL schema not found at %s (set TRACKSYNC_GITHUB_GRAPHQL_SCHEMA to GitHub's published schema.docs.graphql, or octokit/graphql-schema's schema.graphql)", path)
	}
	return s
}

// CheckGraphQL checks one GraphQL exchange against the schema: the
// request's document is valid (every validation rule of the GraphQL
// specification) and its variables fit the operation's variable types;
// the response's data has exactly the fields the operation selects, each
// of its schema type (non-null fields present and not null, enums among
// their values, lists and objects as such), and its errors carry a
// message. It returns the problems found.
func CheckGraphQL(schema *ast.Schema, reqBody, respBody []byte) []string {
	var req struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	if err := json.Unmarshal(reqBody, &req); err != nil {
		return []string{"request: not a GraphQL request body: " + err.Error()}
	}
	doc, errs := gqlparser.LoadQueryWithRules(schema, req.Query, nil) // nil: every rule of the specification
	if len(errs) > 0 {
		var out []string
		for _, e := range errs {
			out = append(out, "request: "+e.Error())
		}
		return out
	}
	op := doc.Operations.ForName(req.OperationName)
	if op == nil {
		return []string{fmt.Sprintf("request: no operation %q in the document", req.OperationName)}
	}
	vars, err := validator.VariableValues(schema, op, req.Variables)
	if err != nil {
		return []string{"request variables: " + err.Error()}
	}

	var resp struct {
		Data   json.RawMessage   `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(respBody, &resp); err != nil {
		return []string{"response: not JSON: " + err.Error()}
	}
	var out []string
	for i, e := range resp.Errors {
		var ge struct {
			Message *string `json:"message"`
		}
		if json.Unmarshal(e, &ge) != nil || ge.Message == nil {
			out = append(out, fmt.Sprintf("response: errors[%d] has no message: %s", i, e))
		}
	}
	if len(resp.Data) == 0 || string(resp.Data) == "null" {
		if len(resp.Errors) == 0 {
			out = append(out, "response: neither data nor errors")
		}
		return out
	}
	var data any
	if err := json.Unmarshal(resp.Data, &data); err != nil {
		return append(out, "response: data: "+err.Error())
	}
	root := schema.Query
	if op.Operation == ast.Mutation {
		root = schema.Mutation
	}
	c := &respChecker{schema: schema, doc: doc, vars: vars}
	c.object(root, op.SelectionSet, data, "data")
	return append(out, c.problems...)
}

type respChecker struct {
	schema   *ast.Schema
	doc      *ast.QueryDocument
	vars     map[string]any
	problems []string
}

func (c *respChecker) fail(path, format string, args ...any) {
	c.problems = append(c.problems, "response: "+path+": "+fmt.Sprintf(format, args...))
}

// selected is a field the selection asks for; optional when it sits in a
// fragment on a type the answer's type could not be told to be.
type selected struct {
	field    *ast.Field
	optional bool
}

// object checks an object value against a selection on typ (an object,
// interface or union type).
func (c *respChecker) object(typ *ast.Definition, sel ast.SelectionSet, v any, path string) {
	obj, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "want an object (%s), got %T", typ.Name, v)
		return
	}
	concrete := typ
	if typ.IsAbstractType() {
		concrete = nil
		if tn, ok := obj["__typename"].(string); ok {
			if d := c.schema.Types[tn]; d != nil && c.possible(typ, d) {
				concrete = d
			} else {
				c.fail(path, "__typename %q is not a possible type of %s", tn, typ.Name)
				return
			}
		}
	}
	fields := map[string]selected{}
	c.collect(typ, concrete, sel, false, fields)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		s := fields[key]
		val, present := obj[key]
		p := path + "." + key
		if !present {
			if !s.optional {
				c.fail(p, "missing (the query selects it)")
			}
			continue
		}
		if s.field.Name == "__typename" {
			tn, ok := val.(string)
			if !ok || c.schema.Types[tn] == nil || (concrete != nil && tn != concrete.Name) {
				c.fail(p, "not the object's type name: %v", val)
			}
			continue
		}
		c.value(s.field.Definition.Type, s.field.SelectionSet, val, p)
	}
	for key := range obj {
		if _, ok := fields[key]; !ok {
			c.fail(path+"."+key, "not selected by the query")
		}
	}
}

// collect gathers the fields a selection asks of an object of type
// concrete (nil: an abstract static type whose concrete type the answer
// does not name; fields under its type conditions are optional).
func (c *respChecker) collect(static, concrete *ast.Definition, sel ast.SelectionSet, optional bool, into map[string]selected) {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if !gqldir.Included(s.Directives, c.vars) {
				continue
			}
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			if prev, ok := into[key]; ok && !prev.optional {
				continue
			}
			into[key] = selected{s, optional}
		case *ast.InlineFragment:
			if !gqldir.Included(s.Directives, c.vars) {
				continue
			}
			c.fragment(static, concrete, s.TypeCondition, s.SelectionSet, optional, into)
		case *ast.FragmentSpread:
			if !gqldir.Included(s.Directives, c.vars) {
				continue
			}
			if f := c.doc.Fragments.ForName(s.Name); f != nil {
				c.fragment(static, concrete, f.TypeCondition, f.SelectionSet, optional, into)
			}
		}
	}
}

func (c *respChecker) fragment(static, concrete *ast.Definition, cond string, sel ast.SelectionSet, optional bool, into map[string]selected) {
	if cond == "" {
		c.collect(static, concrete, sel, optional, into)
		return
	}
	condDef := c.schema.Types[cond]
	if condDef == nil {
		return
	}
	if concrete == nil {
		c.collect(static, nil, sel, optional || !c.possibleAll(static, condDef), into)
		return
	}
	if concrete.Name == cond || c.possible(condDef, concrete) {
		c.collect(static, concrete, sel, optional, into)
	}
}

// possible reports whether object type d is a possible type of abstract
// (or the same) type typ.
func (c *respChecker) possible(typ, d *ast.Definition) bool {
	if typ.Name == d.Name {
		return true
	}
	for _, p := range c.schema.GetPossibleTypes(typ) {
		if p.Name == d.Name {
			return true
		}
	}
	return false
}

// possibleAll reports whether every possible type of static is one of
// cond (a fragment that then always applies).
func (c *respChecker) possibleAll(static, cond *ast.Definition) bool {
	if static.Name == cond.Name {
		return true
	}
	for _, p := range c.schema.GetPossibleTypes(static) {
		if !c.possible(cond, p) {
			return false
		}
	}
	return len(c.schema.GetPossibleTypes(static)) > 0
}

// value checks a value against a schema type.
func (c *respChecker) value(t *ast.Type, sel ast.SelectionSet, v any, path string) {
	if v == nil {
		if t.NonNull {
			c.fail(path, "null for the non-null %s", t.String())
		}
		return
	}
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			c.fail(path, "want a list (%s), got %T", t.String(), v)
			return
		}
		for i, e := range list {
			c.value(t.Elem, sel, e, fmt.Sprintf("%s[%d]", path, i))
		}
		return
	}
	def := c.schema.Types[t.NamedType]
	if def == nil {
		c.fail(path, "type %s not in the schema", t.NamedType)
		return
	}
	switch def.Kind {
	case ast.Object, ast.Interface, ast.Union:
		c.object(def, sel, v, path)
	case ast.Enum:
		s, ok := v.(string)
		if !ok || def.EnumValues.ForName(s) == nil {
			c.fail(path, "%v is not a value of enum %s", v, def.Name)
		}
	case ast.Scalar:
		c.scalar(def.Name, v, path)
	default:
		c.fail(path, "output of kind %s", def.Kind)
	}
}

func (c *respChecker) scalar(name string, v any, path string) {
	switch name {
	case "Int":
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32 {
			c.fail(path, "%v is not an Int", v)
		}
	case "Float":
		if _, ok := v.(float64); !ok {
			c.fail(path, "%v is not a Float", v)
		}
	case "Boolean":
		if _, ok := v.(bool); !ok {
			c.fail(path, "%v is not a Boolean", v)
		}
	default:
		// String, ID and GitHub's own scalars (DateTime, Date, URI,
		// HTML, GitObjectID, ...) are serialised as strings.
		s, ok := v.(string)
		if !ok {
			c.fail(path, "%v is not a %s (a string)", v, name)
			return
		}
		if (name == "DateTime" || name == "Date") && !plausibleDate(name, s) {
			c.fail(path, "%q is not an ISO-8601 %s", s, name)
		}
	}
}

// plausibleDate checks the shape GitHub documents: Date is YYYY-MM-DD,
// DateTime an ISO-8601 instant.
func plausibleDate(name, s string) bool {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	if name == "Date" {
		return len(s) == 10
	}
	return strings.Contains(s, "T")
}
