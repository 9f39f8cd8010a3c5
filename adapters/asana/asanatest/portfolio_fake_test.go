package asanatest

import (
	"testing"
)

// TestPortfolioRules: the fake's portfolio and status update routes keep
// Asana's rules (fields of the portfolio only on its projects, a valid
// status type, text required, no editing a status update, the current
// status update following deletes), and every answer, errors included,
// fits the contract.
func TestPortfolioRules(t *testing.T) {
	s := New(t, Options{})
	// Requests the contract itself refuses are answered as Asana does, but
	// left out of the contract check.
	refused := map[int]bool{}
	refuse := func(f func()) {
		from := len(s.Requests())
		f()
		for i := from; i < len(s.Requests()); i++ {
			refused[i] = true
		}
	}
	p := s.AddProject("Self-serve revenue")
	other := s.AddProject("Not in the portfolio")
	pf := s.AddPortfolio("FY27", p)
	progress := s.AddCustomField(CustomField{Name: "Progress", Type: TypeNumber}, pf)
	health := s.AddCustomField(CustomField{Name: "Health", Type: TypeEnum, Options: []EnumOption{{Name: "On track"}, {Name: "At risk"}}}, pf)

	items := mustCall(t, s, 200, "GET", "/portfolios/"+pf+"/items?limit=1&opt_fields=name,custom_fields.name,custom_fields.number_value", nil)
	if l, _ := items["data"].([]any); len(l) != 1 {
		t.Fatalf("items: %v", items)
	}
	mustCall(t, s, 404, "GET", "/portfolios/42/items", nil)
	mustCall(t, s, 200, "GET", "/portfolios/"+pf, nil)

	put := mustCall(t, s, 200, "PUT", "/projects/"+p+"?opt_fields=custom_fields.name,custom_fields.number_value,custom_fields.enum_value.name,modified_at",
		map[string]any{"custom_fields": map[string]any{progress.GID: 40, health.GID: health.Options[1].GID}})
	if cfs, _ := dataOf(put)["custom_fields"].([]any); len(cfs) != 2 {
		t.Errorf("project's custom fields after PUT: %v", put)
	}
	_, out, _ := call(t, s, "PUT", "/projects/"+other, map[string]any{"custom_fields": map[string]any{progress.GID: 1}})
	if msg := errMsg(out); msg == "" {
		t.Errorf("a portfolio's field written on a project outside it: %v", out)
	}
	mustCall(t, s, 400, "PUT", "/projects/"+p, map[string]any{"custom_fields": map[string]any{health.GID: "no-such-option"}})

	refuse(func() {
		mustCall(t, s, 400, "POST", "/status_updates", map[string]any{"parent": p, "text": "x", "status_type": "green"})
		mustCall(t, s, 400, "POST", "/status_updates", map[string]any{"parent": p, "status_type": "on_track"})
		mustCall(t, s, 400, "POST", "/status_updates", map[string]any{"text": "x", "status_type": "on_track"})
	})
	first := dataOf(mustCall(t, s, 201, "POST", "/status_updates", map[string]any{"parent": p, "text": "first", "status_type": "on_track"}))["gid"].(string)
	second := dataOf(mustCall(t, s, 201, "POST", "/status_updates?opt_fields=text,status_type", map[string]any{"parent": p, "title": "t", "text": "second", "status_type": "at_risk"}))["gid"].(string)
	refuse(func() { mustCall(t, s, 404, "PUT", "/status_updates/"+second, map[string]any{"text": "edited"}) })
	cur := func() string {
		d := dataOf(mustCall(t, s, 200, "GET", "/projects/"+p+"?opt_fields=current_status_update,current_status_update.title", nil))
		c, _ := d["current_status_update"].(map[string]any)
		g, _ := c["gid"].(string)
		return g
	}
	if g := cur(); g != second {
		t.Errorf("current status update %q, want the newest %q", g, second)
	}
	mustCall(t, s, 200, "DELETE", "/status_updates/"+second, nil)
	if g := cur(); g != first {
		t.Errorf("current status update %q after deleting the newest, want %q", g, first)
	}
	mustCall(t, s, 404, "GET", "/status_updates/"+second, nil)
	mustCall(t, s, 200, "GET", "/status_updates/"+first+"?opt_fields=text,status_type,created_by.name", nil)
	mustCall(t, s, 200, "GET", "/status_updates?parent="+p+"&limit=10&opt_fields=text,status_type,created_at", nil)
	refuse(func() { mustCall(t, s, 400, "GET", "/status_updates", nil) })

	var valid []Request
	for i, r := range s.Requests() {
		if !refused[i] {
			valid = append(valid, r)
		}
	}
	checked := CheckContract(t, valid)
	for _, op := range []string{"getItemsForPortfolio", "getPortfolio", "updateProject", "createStatusForObject", "getStatus", "getStatusesForObject", "deleteStatus", "getProject"} {
		if checked[op] == 0 {
			t.Errorf("%s unchecked: %v", op, CheckedOps(checked))
		}
	}
}
