package asanatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/tracksync/tracksync/internal/contracttest"
)

const contractHost = "https://app.asana.com/api/1.0"

func contractRouter(t testing.TB) routers.Router {
	t.Helper()
	return contracttest.Router(t, "Asana", filepath.Join("asana", "asana_oas.yaml"), contractHost, relax)
}

// CheckContract validates every logged request and answer against the
// Asana contract and fails t for each violation (the same message once).
// It returns how many exchanges were checked by operation id.
func CheckContract(t testing.TB, log []Request) map[string]int {
	t.Helper()
	router := contractRouter(t)
	checked := map[string]int{}
	seen := map[string]bool{}
	report := func(r Request, what string, err error) {
		msg := r.Method + " " + r.Path + " (" + http.StatusText(r.Status) + "): " + what + ": " + firstLine(err.Error())
		if !seen[msg] {
			seen[msg] = true
			t.Errorf("contract: %s", msg)
		}
	}
	for _, r := range log {
		if r.Status == 0 {
			continue
		}
		u := contractHost + r.Path
		if r.Query != "" {
			u += "?" + r.Query
		}
		req, err := http.NewRequestWithContext(context.Background(), r.Method, u, bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		if r.ContentType != "" {
			req.Header.Set("Content-Type", r.ContentType)
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			report(r, "no operation in the contract", err)
			continue
		}
		checked[route.Operation.OperationID]++
		// kin-openapi lets query parameters the operation does not declare
		// through; Asana ignores or refuses them, so they are violations.
		declared := map[string]bool{}
		for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
			for _, pr := range ps {
				if pr.Value != nil && pr.Value.In == openapi3.ParameterInQuery {
					declared[pr.Value.Name] = true
				}
			}
		}
		for name := range req.URL.Query() {
			if !declared[name] {
				report(r, "request", fmt.Errorf("query parameter %q is not a parameter of %s", name, route.Operation.OperationID))
			}
		}
		opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			report(r, "request", err)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.Status,
			Header: r.RespHeader, Body: io.NopCloser(bytes.NewReader(r.RespBody)), Options: opts}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			report(r, "response", err)
		}
	}
	return checked
}

func firstLine(s string) string {
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// CheckedOps lists the operation ids of checked, sorted, for messages.
func CheckedOps(checked map[string]int) []string {
	out := make([]string, 0, len(checked))
	for k := range checked {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// relax adjusts the description where it contradicts the service, as
// the Jira contract check accepts Jira's real timestamps:
//   - no schema is marked nullable, yet Asana answers null for an unset
//     assignee, parent, due date or enum value, and takes null to clear
//     them (setParent's own description says "or null for no parent");
//   - custom_fields values are typed string although the description
//     beside it says "an enum GID, string, number, object, or array
//     (depending on the custom field type)".
//
// Every other check (types, required fields, enums, formats, unknown
// operations and parameters) stays.
func relax(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(r *openapi3.SchemaRef)
	walk = func(r *openapi3.SchemaRef) {
		if r == nil || r.Value == nil || seen[r.Value] {
			return
		}
		v := r.Value
		seen[v] = true
		v.Nullable = true
		if cf := v.Properties["custom_fields"]; cf != nil && cf.Value != nil && cf.Value.Type.Is("object") &&
			cf.Value.AdditionalProperties.Schema != nil {
			cf.Value.AdditionalProperties.Schema = openapi3.NewSchemaRef("", &openapi3.Schema{Nullable: true})
		}
		for _, p := range v.Properties {
			walk(p)
		}
		walk(v.Items)
		walk(v.AdditionalProperties.Schema)
		for _, l := range []openapi3.SchemaRefs{v.AllOf, v.OneOf, v.AnyOf} {
			for _, x := range l {
				walk(x)
			}
		}
	}
	for _, r := range doc.Components.Schemas {
		walk(r)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					walk(mt.Schema)
				}
			}
			for _, resp := range op.Responses.Map() {
				if resp.Value != nil {
					for _, mt := range resp.Value.Content {
						walk(mt.Schema)
					}
				}
			}
		}
	}
}

// checkDeliveredEvents checks each event of the webhook deliveries (a
// delivery's body is {"events": [...]}) against the contract's
// EventResponse and fails t for each violation; it returns how many
// events were checked (0, after skipping, when the contract is absent).
func checkDeliveredEvents(t testing.TB, ds []Delivery) int {
	t.Helper()
	doc := contracttest.Doc(t, "Asana", filepath.Join("asana", "asana_oas.yaml"), contractHost, relax)
	schema := doc.Components.Schemas["EventResponse"]
	if schema == nil || schema.Value == nil {
		t.Fatal("the Asana contract has no EventResponse schema")
	}
	n := 0
	for _, d := range ds {
		var body struct {
			Events []any `json:"events"`
		}
		if err := json.Unmarshal(d.Body, &body); err != nil || body.Events == nil {
			t.Errorf("delivery to webhook %s: body %s is not {\"events\": [...]}: %v", d.Webhook, d.Body, err)
			continue
		}
		for _, ev := range body.Events {
			n++
			if err := schema.Value.VisitJSON(ev, openapi3.MultiErrors()); err != nil {
				t.Errorf("webhook event %v: %s", ev, firstLine(err.Error()))
			}
		}
	}
	return n
}
