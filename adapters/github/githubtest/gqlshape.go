package githubtest

import (
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/tracksync/tracksync/adapters/github/internal/gqldir"
)

// GitHub validates a GraphQL document against its schema before running
// it: a field the type does not have is refused with an undefinedField
// error and nothing is done. The fake has no schema, but it knows the
// fields it answers: it builds an answer with every field it has for the
// operation and then cuts it to the query's selection (aliases, inline
// fragments and @include/@skip honoured). A field selected directly that
// the answer does not have is refused the way GitHub refuses it; a field
// under an inline fragment on an object whose type the fake does not name
// is left out (the fragment may be on another type). A mutation's
// selection is checked on its payload's shape before anything is written.

// parseQuery parses a GraphQL document (syntax only) and returns its one
// operation.
func parseQuery(q string) (*ast.OperationDefinition, obj) {
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		return nil, obj{"errors": []obj{{"message": "Parse error: " + err.Error()}}}
	}
	if len(doc.Operations) != 1 {
		return nil, obj{"errors": []obj{{"message": fmt.Sprintf("githubtest: a document with %d operations", len(doc.Operations))}}}
	}
	return doc.Operations[0], nil
}

// mutationPayloads are the payload shapes of the mutations the fake
// answers, keyed by root field; a mutation's selection is cut against its
// shape before the fake writes anything.
var mutationPayloads = map[string]obj{
	"addProjectV2ItemById":          {"__typename": "AddProjectV2ItemByIdPayload", "item": obj{"__typename": "ProjectV2Item", "id": ""}},
	"updateProjectV2ItemFieldValue": {"__typename": "UpdateProjectV2ItemFieldValuePayload", "projectV2Item": obj{"__typename": "ProjectV2Item", "id": ""}},
	"clearProjectV2ItemFieldValue":  {"__typename": "ClearProjectV2ItemFieldValuePayload", "projectV2Item": obj{"__typename": "ProjectV2Item", "id": ""}},
	"rateLimit":                     {"__typename": "RateLimit", "cost": 1},
}

// checkMutation cuts a mutation's selection against its payload shapes:
// the GraphQL error body for a field the payload does not have, or nil.
func checkMutation(op *ast.OperationDefinition, vars map[string]any) obj {
	data := obj{}
	for root, payload := range mutationPayloads {
		data[root] = payload
	}
	_, e := cut(data, op.SelectionSet, vars, "mutation", "Mutation")
	return e
}

// cut returns v with only what sel selects, or GitHub's error body for a
// selected field v does not have. typ names v's type where known (for the
// message); path is the field path so far.
func cut(v any, sel ast.SelectionSet, vars map[string]any, path, typ string) (any, obj) {
	switch x := v.(type) {
	case []obj:
		return cutList(x, sel, vars, path, typ)
	case []any:
		return cutList(x, sel, vars, path, typ)
	case obj:
		out := obj{}
		if err := cutObject(x, sel, vars, path, typ, false, out); err != nil {
			return nil, err
		}
		return out, nil
	}
	if len(sel) > 0 && v != nil {
		return nil, undefinedField(path, typ, "a selection on a leaf")
	}
	return v, nil
}

// cutList cuts each element of a list.
func cutList[T any](x []T, sel ast.SelectionSet, vars map[string]any, path, typ string) (any, obj) {
	out := make([]any, 0, len(x))
	for i, e := range x {
		c, err := cut(e, sel, vars, fmt.Sprintf("%s.%d", path, i), typ)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// cutObject copies the fields of x that sel selects into out.
func cutObject(x obj, sel ast.SelectionSet, vars map[string]any, path, typ string, lenient bool, out obj) obj {
	if tn, ok := x["__typename"].(string); ok {
		typ = tn
	}
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if !gqldir.Included(s.Directives, vars) {
				continue
			}
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			val, ok := x[s.Name]
			if !ok {
				if lenient {
					continue
				}
				return undefinedField(path, typ, s.Name)
			}
			c, err := cut(val, s.SelectionSet, vars, path+"."+key, "")
			if err != nil {
				return err
			}
			out[key] = c
		case *ast.InlineFragment:
			if !gqldir.Included(s.Directives, vars) {
				continue
			}
			tn, named := x["__typename"].(string)
			switch {
			case s.TypeCondition == "" || (named && tn == s.TypeCondition):
				if err := cutObject(x, s.SelectionSet, vars, path, typ, lenient, out); err != nil {
					return err
				}
			case !named || implements(tn, s.TypeCondition):
				// The type is not named, or the condition is an
				// interface: take what the object has.
				if err := cutObject(x, s.SelectionSet, vars, path, typ, true, out); err != nil {
					return err
				}
			}
		case *ast.FragmentSpread:
			return obj{"errors": []obj{{"message": "githubtest: named fragments are not answered (" + s.Name + ")"}}}
		}
	}
	return nil
}

// interfaces are the interfaces of GitHub's schema whose fragments the
// fake's objects answer, with the object types that implement them.
var interfaces = map[string][]string{
	"ProjectV2FieldCommon":          {"ProjectV2Field", "ProjectV2IterationField", "ProjectV2SingleSelectField"},
	"ProjectV2ItemFieldValueCommon": {"ProjectV2ItemFieldDateValue", "ProjectV2ItemFieldIterationValue", "ProjectV2ItemFieldNumberValue", "ProjectV2ItemFieldSingleSelectValue", "ProjectV2ItemFieldTextValue"},
	"ProjectV2Owner":                {"Organization", "User", "Issue", "PullRequest"},
}

func implements(typ, iface string) bool {
	for _, t := range interfaces[iface] {
		if t == typ {
			return true
		}
	}
	return false
}

// undefinedField is GitHub's answer to a field a type does not have.
func undefinedField(path, typ, field string) obj {
	if typ == "" {
		typ = "(the type at " + path + ")"
	}
	return obj{"errors": []obj{{
		"path":       strings.Split(path, "."),
		"extensions": obj{"code": "undefinedField", "typeName": typ, "fieldName": field},
		"message":    fmt.Sprintf("Field '%s' doesn't exist on type '%s'", field, typ),
	}}}
}
