package jiratest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// call sends one authenticated JSON request and returns status and body.
func call(t *testing.T, s *Server, method, path string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, s.URL+path, r)
	if s.flavor == DataCenter {
		req.Header.Set("Authorization", "Bearer pat-token")
	} else {
		req.SetBasicAuth("bot@example.com", "api-token")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out, resp.Header
}

func adf(text string) map[string]any {
	return map[string]any{"type": "doc", "version": 1, "content": []any{map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": text}}}}}
}

func create(t *testing.T, s *Server, project, summary string, extra map[string]any) string {
	t.Helper()
	fields := map[string]any{"project": map[string]string{"key": project}, "issuetype": map[string]string{"name": "Story"}, "summary": summary}
	for k, v := range extra {
		fields[k] = v
	}
	st, out, _ := call(t, s, "POST", "/rest/api/"+s.apiVersion()+"/issue", map[string]any{"fields": fields})
	if st != http.StatusCreated {
		t.Fatalf("create %q: HTTP %d %v", summary, st, out)
	}
	return out["key"].(string)
}

func TestJQL(t *testing.T) {
	s := New(t, Options{IndexedProperties: []string{"tracksync"}})
	create(t, s, "PLAT", "one", map[string]any{"labels": []string{"bug"}})
	s.Advance(time.Minute)
	create(t, s, "PLAT", `two " OR project = OPS`, map[string]any{"labels": []string{"ux", "bug"}})
	create(t, s, "OPS", "three", nil)
	s.mu.Lock()
	s.issues[10001].Properties["tracksync"] = json.RawMessage(`{"key":"f:a:1"}`)
	s.issues[10003].Properties["tracksync"] = json.RawMessage(`{"key":"say \"hi\""}`)
	mid := s.issues[10002].Updated.UnixMilli()
	s.mu.Unlock()
	tests := []struct {
		jql  string
		want []string // keys in order; nil with wantErr
		err  string
	}{
		{`project = PLAT`, []string{"PLAT-1", "PLAT-2"}, ""},
		{`project = "PLAT" AND labels = ux`, []string{"PLAT-2"}, ""},
		{`project in (PLAT, OPS) ORDER BY key DESC`, []string{"OPS-1", "PLAT-2", "PLAT-1"}, ""},
		{`project = PLAT OR project = OPS ORDER BY updated ASC`, []string{"PLAT-1", "PLAT-2", "OPS-1"}, ""},
		{`updated >= ` + strconv.FormatInt(mid, 10), []string{"PLAT-2", "OPS-1"}, ""},
		{`(project = PLAT AND updated < ` + strconv.FormatInt(mid, 10) + `) OR project = OPS`, []string{"PLAT-1", "OPS-1"}, ""},
		{`issue.property[tracksync].key = "f:a:1"`, []string{"PLAT-1"}, ""},
		{`issue.property[tracksync].key = "say \"hi\""`, []string{"OPS-1"}, ""},
		// An escaped quote stays inside the string: no injection.
		{`summary ~ "\" OR project = OPS"`, []string{"PLAT-2"}, ""},
		{`issue.property[tracksync].key = "x\" OR project = OPS OR key = \"y"`, nil, ""},
		{`statusCategory = "To Do" AND NOT labels = bug`, []string{"OPS-1"}, ""},
		{`labels is EMPTY`, []string{"OPS-1"}, ""},
		{`project = PLAT AND labels not in (ux)`, []string{"PLAT-1"}, ""},
		{`nosuchfield = 1`, nil, "Field 'nosuchfield' does not exist"},
		{`project = "PLAT`, nil, "has not been completed"},
		{`project = PLAT AND`, nil, "expecting"},
	}
	for _, tc := range tests {
		s.mu.Lock()
		got, err := s.search(tc.jql)
		s.mu.Unlock()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one containing %q", tc.jql, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.jql, err)
			continue
		}
		var keys []string
		for _, it := range got {
			keys = append(keys, it.Key)
		}
		if diff := cmp.Diff(tc.want, keys); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.jql, diff)
		}
	}
}

// The contract's page size: search/jql returns up to 5,000 issues a page
// when only id or key is asked for, and (the fake's reading of "fewer
// items per page where a large number of fields are requested") 100 with
// any other field.
func TestSearchJQLPageSize(t *testing.T) {
	s := New(t, Options{})
	for b := range 101 { // 5,050 issues, 50 a bulk create
		var ups []any
		for i := range 50 {
			ups = append(ups, map[string]any{"fields": map[string]any{"project": map[string]string{"key": "PLAT"}, "issuetype": map[string]string{"name": "Story"}, "summary": fmt.Sprintf("issue %d", b*50+i)}})
		}
		if st, out, _ := call(t, s, "POST", "/rest/api/3/issue/bulk", map[string]any{"issueUpdates": ups}); st != http.StatusCreated {
			t.Fatalf("bulk create: HTTP %d %v", st, out)
		}
	}
	for _, c := range []struct {
		fields []string
		max    int
		want   int
	}{
		{nil, 6000, 5000}, // the default is id
		{[]string{"id"}, 6000, 5000},
		{[]string{"key"}, 6000, 5000},
		{[]string{"id", "key"}, 5050, 5000},
		{[]string{"updated"}, 5000, 100},
		{[]string{"id", "updated"}, 5000, 100},
		{[]string{"*all"}, 5000, 100},
		{[]string{"id"}, 0, 50}, // the default page
	} {
		body := map[string]any{"jql": "project = PLAT ORDER BY key ASC"}
		if c.fields != nil {
			body["fields"] = c.fields
		}
		if c.max != 0 {
			body["maxResults"] = c.max
		}
		st, out, _ := call(t, s, "POST", "/rest/api/3/search/jql", body)
		if st != 200 {
			t.Fatalf("%v: HTTP %d %v", c.fields, st, out)
		}
		if got := len(out["issues"].([]any)); got != c.want || out["nextPageToken"] == nil {
			t.Errorf("fields %v, maxResults %d: %d issues (next page %v), want %d and a next page", c.fields, c.max, got, out["nextPageToken"], c.want)
		}
	}
}

func TestSearchJQLPaging(t *testing.T) {
	s := New(t, Options{})
	for i := range 5 {
		create(t, s, "PLAT", "issue "+strconv.Itoa(i), nil)
	}
	var ids []string
	token := ""
	for page := 0; page < 10; page++ {
		body := map[string]any{"jql": "project = PLAT ORDER BY key ASC", "maxResults": 2}
		if token != "" {
			body["nextPageToken"] = token
		}
		st, out, _ := call(t, s, "POST", "/rest/api/3/search/jql", body)
		if st != 200 {
			t.Fatalf("HTTP %d %v", st, out)
		}
		for _, is := range out["issues"].([]any) {
			m := is.(map[string]any)
			if _, has := m["fields"]; has {
				t.Errorf("search/jql without fields returned fields: %v", m)
			}
			ids = append(ids, m["id"].(string))
		}
		next, _ := out["nextPageToken"].(string)
		if next == "" {
			if out["isLast"] != true {
				t.Errorf("last page without isLast")
			}
			break
		}
		token = next
	}
	if diff := cmp.Diff([]string{"10001", "10002", "10003", "10004", "10005"}, ids); diff != "" {
		t.Errorf("ids over pages (-want +got):\n%s", diff)
	}
	if st, out, _ := call(t, s, "POST", "/rest/api/3/search/jql", map[string]any{"jql": "ORDER BY key"}); st != 400 {
		t.Errorf("unbounded JQL: HTTP %d %v, want 400", st, out)
	}
	if st, _, _ := call(t, s, "POST", "/rest/api/3/search/jql", map[string]any{"jql": "project = PLAT", "nextPageToken": token + "x"}); st != 400 {
		t.Errorf("a forged token: HTTP %d, want 400", st)
	}
	for _, p := range []string{"/rest/api/3/search?jql=project=PLAT", "/rest/api/2/search?jql=project=PLAT"} {
		if st, out, _ := call(t, s, "GET", p, nil); st != http.StatusGone || len(out["errorMessages"].([]any)) == 0 {
			t.Errorf("GET %s: HTTP %d %v, want 410 with errorMessages", p, st, out)
		}
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = strconv.Itoa(10001 + i%5)
	}
	if st, _, _ := call(t, s, "POST", "/rest/api/3/issue/bulkfetch", map[string]any{"issueIdsOrKeys": many}); st != 400 {
		t.Errorf("bulkfetch of 101: HTTP %d, want 400", st)
	}
}

func TestDataCenterSearchAndEpicLink(t *testing.T) {
	s := New(t, Options{Flavor: DataCenter})
	epic := map[string]any{"project": map[string]string{"key": "PLAT"}, "issuetype": map[string]string{"name": "Epic"}, "summary": "epic", "description": "h1. Wiki"}
	// Jira Software on Data Center requires an epic's Epic Name.
	st, out, _ := call(t, s, "POST", "/rest/api/2/issue", map[string]any{"fields": epic})
	if errs, _ := out["errors"].(map[string]any); st != 400 || errs[EpicNameField] != "Epic Name is required." {
		t.Fatalf("an epic without its Epic Name: HTTP %d %v", st, out)
	}
	epic[EpicNameField] = "epic"
	st, out, _ = call(t, s, "POST", "/rest/api/2/issue", map[string]any{"fields": epic})
	if st != 201 {
		t.Fatalf("HTTP %d %v", st, out)
	}
	create(t, s, "PLAT", "story", map[string]any{EpicLinkField: "PLAT-1"})
	st, out, _ = call(t, s, "GET", "/rest/api/2/search?jql=project%20%3D%20PLAT&startAt=1&maxResults=1&fields=summary,"+EpicLinkField, nil)
	if st != 200 || out["total"].(float64) != 2 || len(out["issues"].([]any)) != 1 {
		t.Fatalf("HTTP %d %v", st, out)
	}
	f := out["issues"].([]any)[0].(map[string]any)["fields"].(map[string]any)
	if f[EpicLinkField] != "PLAT-1" || f["summary"] != "story" {
		t.Errorf("fields %v", f)
	}
	if st, _, _ := call(t, s, "POST", "/rest/api/3/search/jql", map[string]any{"jql": "project = PLAT"}); st != 404 {
		t.Errorf("v3 on Data Center: HTTP %d, want 404", st)
	}
}

func TestEnforcedRules(t *testing.T) {
	s := New(t, Options{})
	key := create(t, s, "PLAT", "ok", nil)
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		field  string // expected key in errors, "" for errorMessages
	}{
		{"summary required", "POST", "/rest/api/3/issue", map[string]any{"fields": map[string]any{"project": map[string]string{"key": "PLAT"}, "issuetype": map[string]string{"name": "Story"}}}, 400, "summary"},
		{"summary too long", "PUT", "/rest/api/3/issue/" + key, map[string]any{"fields": map[string]any{"summary": strings.Repeat("x", 256)}}, 400, "summary"},
		{"description not ADF", "PUT", "/rest/api/3/issue/" + key, map[string]any{"fields": map[string]any{"description": "plain"}}, 400, "description"},
		{"description too long", "PUT", "/rest/api/3/issue/" + key, map[string]any{"fields": map[string]any{"description": adf(strings.Repeat("x", 33000))}}, 400, "description"},
		{"textarea not ADF", "PUT", "/rest/api/3/issue/" + key, map[string]any{"fields": map[string]any{ReviewerNotesField: "plain"}}, 400, ReviewerNotesField},
		{"textfield given ADF", "PUT", "/rest/api/3/issue/" + key, map[string]any{"fields": map[string]any{TeamField: adf("Core")}}, 400, TeamField},
		{"status is not a field", "PUT", "/rest/api/3/issue/" + key, map[string]any{"fields": map[string]any{"status": map[string]string{"name": "Done"}}}, 400, "status"},
		{"unknown user", "PUT", "/rest/api/3/issue/" + key, map[string]any{"fields": map[string]any{"assignee": map[string]string{"accountId": "nobody"}}}, 400, "assignee"},
		{"label with a space", "PUT", "/rest/api/3/issue/" + key, map[string]any{"fields": map[string]any{"labels": []string{"a b"}}}, 400, "labels"},
		{"missing issue", "GET", "/rest/api/3/issue/PLAT-999", nil, 404, ""},
		{"transition not from here", "POST", "/rest/api/3/issue/" + key + "/transitions", map[string]any{"transition": map[string]string{"id": "31"}}, 400, ""},
		{"transition screen", "POST", "/rest/api/3/issue/" + key + "/transitions", map[string]any{"transition": map[string]string{"id": "11"}, "fields": map[string]any{"resolution": map[string]string{"name": "Done"}}}, 400, "resolution"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, out, _ := call(t, s, tc.method, tc.path, tc.body)
			if st != tc.status {
				t.Fatalf("HTTP %d %v, want %d", st, out, tc.status)
			}
			msgs, _ := out["errorMessages"].([]any)
			errs, _ := out["errors"].(map[string]any)
			if tc.field != "" && errs[tc.field] == nil {
				t.Errorf("errors %v lack %q", errs, tc.field)
			}
			if tc.field == "" && len(msgs) == 0 {
				t.Errorf("no errorMessages in %v", out)
			}
		})
	}
	// The Done transition requires a resolution.
	call(t, s, "POST", "/rest/api/3/issue/"+key+"/transitions", map[string]any{"transition": map[string]string{"id": "11"}})
	st, out, _ := call(t, s, "POST", "/rest/api/3/issue/"+key+"/transitions", map[string]any{"transition": map[string]string{"id": "31"}})
	if st != 400 || out["errors"].(map[string]any)["resolution"] == nil {
		t.Errorf("Done without a resolution: HTTP %d %v", st, out)
	}
}

func TestRateLimitAndAuth(t *testing.T) {
	s := New(t, Options{})
	s.InjectRateLimit(1500*time.Millisecond, "jira-burst-based")
	st, out, h := call(t, s, "GET", "/rest/api/3/myself", nil)
	if st != 429 || h.Get("Retry-After") != "2" || h.Get("RateLimit-Reason") != "jira-burst-based" || len(out["errorMessages"].([]any)) == 0 {
		t.Errorf("rate limited: HTTP %d, Retry-After %q, reason %q, %v", st, h.Get("Retry-After"), h.Get("RateLimit-Reason"), out)
	}
	if st, _, _ := call(t, s, "GET", "/rest/api/3/myself", nil); st != 200 {
		t.Errorf("after the limit: HTTP %d", st)
	}
	resp, err := http.Get(s.URL + "/rest/api/3/myself")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("no credentials: HTTP %d, want 401", resp.StatusCode)
	}
}

func TestEditIssueHookAndWebhook(t *testing.T) {
	s := New(t, Options{WebhookSecret: "sh"})
	key := create(t, s, "PLAT", "before", nil)
	before, _ := s.Issue(key)
	s.Advance(time.Minute)
	if err := s.EditIssue(key, "", func(is *Issue) { is.Summary = "after"; is.Status = "Done" }); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Issue(key)
	if !after.Updated.After(before.Updated) || after.Resolution != "Done" || len(after.Changelog) != 1 || after.Changelog[0].Author != DefaultUsers[1].AccountID {
		t.Errorf("after the edit: %+v", after)
	}
	ds := s.Deliveries()
	last := ds[len(ds)-1]
	if last.Header.Get("X-Hub-Signature") != Sign("sh", last.Body) || last.Header.Get("X-Atlassian-Webhook-Identifier") == "" {
		t.Errorf("delivery headers %v", last.Header)
	}
	var p map[string]any
	if err := json.Unmarshal(last.Body, &p); err != nil || p["webhookEvent"] != "jira:issue_updated" || p["changelog"] == nil {
		t.Errorf("payload %s (%v)", last.Body, err)
	}
}

func TestBulkCreate(t *testing.T) {
	s := New(t, Options{})
	ok := map[string]any{"fields": map[string]any{"project": map[string]string{"key": "PLAT"}, "issuetype": map[string]string{"name": "Task"}, "summary": "a"}}
	bad := map[string]any{"fields": map[string]any{"project": map[string]string{"key": "PLAT"}, "issuetype": map[string]string{"name": "Task"}}}
	st, out, _ := call(t, s, "POST", "/rest/api/3/issue/bulk", map[string]any{"issueUpdates": []any{ok, bad, ok}})
	if st != 201 || len(out["issues"].([]any)) != 2 || len(out["errors"].([]any)) != 1 {
		t.Fatalf("HTTP %d %v", st, out)
	}
	if e := out["errors"].([]any)[0].(map[string]any); e["failedElementNumber"].(float64) != 1 {
		t.Errorf("error %v", e)
	}
	many := make([]any, 51)
	for i := range many {
		many[i] = ok
	}
	if st, _, _ := call(t, s, "POST", "/rest/api/3/issue/bulk", map[string]any{"issueUpdates": many}); st != 400 {
		t.Errorf("51 creates: HTTP %d, want 400", st)
	}
}

// TestOptionScreenField: a select-list field on a transition screen takes
// an option by id or value; {"name": ...} is refused, as Jira does.
func TestOptionScreenField(t *testing.T) {
	tests := []struct {
		name   string
		value  any
		status int
		want   string // stored option value on success
	}{
		{"by name is refused", map[string]string{"name": "Major"}, 400, ""},
		{"unknown id", map[string]string{"id": "999"}, 400, ""},
		{"by id", map[string]string{"id": "10101"}, 204, "Major"},
		{"by value", map[string]string{"value": "Critical"}, 204, "Critical"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t, Options{})
			s.SetRequired("Start progress", SeverityField)
			key := create(t, s, "PLAT", "sev", nil)
			st, out, _ := call(t, s, "POST", "/rest/api/3/issue/"+key+"/transitions", map[string]any{
				"transition": map[string]string{"id": "11"}, "fields": map[string]any{SeverityField: tc.value}})
			if st != tc.status {
				t.Fatalf("HTTP %d %v, want %d", st, out, tc.status)
			}
			it, _ := s.Issue(key)
			if tc.status != 204 {
				if errs, _ := out["errors"].(map[string]any); errs[SeverityField] == nil {
					t.Errorf("errors %v do not name %s", out, SeverityField)
				}
				if it.Status != "To Do" {
					t.Errorf("a refused transition moved the issue to %q", it.Status)
				}
				return
			}
			var got struct {
				Value string `json:"value"`
			}
			_ = json.Unmarshal(it.Custom[SeverityField], &got)
			if it.Status != "In Progress" || got.Value != tc.want {
				t.Errorf("status %q severity %q, want In Progress, %q", it.Status, got.Value, tc.want)
			}
		})
	}
}

// TestPropertyIndexAndCreator: property clauses see only indexed keys;
// creator, currentUser() and relative dates find an account's recent
// issues.
func TestPropertyIndexAndCreator(t *testing.T) {
	for _, indexed := range []bool{false, true} {
		var idx []string
		if indexed {
			idx = []string{"tracksync"}
		}
		s := New(t, Options{IndexedProperties: idx})
		old := create(t, s, "PLAT", "old", nil)
		s.Advance(time.Hour)
		recent := create(t, s, "PLAT", "recent", nil)
		s.mu.Lock()
		for _, it := range s.issues {
			it.Properties["tracksync"] = json.RawMessage(`{"key":"k-` + it.Key + `"}`)
		}
		s.mu.Unlock()
		s.Advance(5 * time.Minute)
		var wantProp []string
		if indexed {
			wantProp = []string{old}
		}
		tests := []struct {
			jql  string
			want []string
		}{
			{`issue.property[tracksync].key = "k-` + old + `"`, wantProp},
			{`project = PLAT AND creator = currentUser() AND created >= -15m ORDER BY created DESC`, []string{recent}},
			{`project = PLAT AND creator = currentUser() AND created >= -2h ORDER BY created DESC`, []string{recent, old}},
			{`creator = ana`, nil},
		}
		for _, tc := range tests {
			st, out, _ := call(t, s, "POST", "/rest/api/3/search/jql", map[string]any{"jql": tc.jql, "fields": []string{"key"}})
			if st != 200 {
				t.Fatalf("indexed %v: %s: HTTP %d %v", indexed, tc.jql, st, out)
			}
			var got []string
			for _, is := range out["issues"].([]any) {
				got = append(got, is.(map[string]any)["key"].(string))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("indexed %v: %s (-want +got):\n%s", indexed, tc.jql, diff)
			}
		}
	}
}

// TestTextFields: a multi-line text (textarea) custom field takes and
// returns an Atlassian Document on Cloud and a string on Data Center, a
// single-line one a string on both, and /field says which is which.
func TestTextFields(t *testing.T) {
	for _, flavor := range []Flavor{Cloud, DataCenter} {
		t.Run(string(flavor), func(t *testing.T) {
			s := New(t, Options{Flavor: flavor})
			api := "/rest/api/" + s.apiVersion()
			req, _ := http.NewRequest("GET", s.URL+"/rest/api/2/field", nil)
			if flavor == DataCenter {
				req.Header.Set("Authorization", "Bearer pat-token")
			} else {
				req.SetBasicAuth("bot@example.com", "api-token")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var fields []struct {
				ID     string         `json:"id"`
				Schema map[string]any `json:"schema"`
			}
			err = json.NewDecoder(resp.Body).Decode(&fields)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			schema := map[string]map[string]any{}
			for _, f := range fields {
				schema[f.ID] = f.Schema
			}
			want := map[string]any{"type": "string", "custom": KindTextArea, "customId": float64(10030)}
			if diff := cmp.Diff(want, schema[ReviewerNotesField]); diff != "" {
				t.Errorf("Reviewer Notes schema (-want +got):\n%s", diff)
			}
			if schema[TeamField]["custom"] != KindTextField {
				t.Errorf("Team schema %v", schema[TeamField])
			}

			notes, wrong := any("line one\nline two"), any(adf("line one"))
			if flavor == Cloud {
				notes, wrong = adf("line one"), "line one"
			}
			key := create(t, s, "PLAT", "notes", map[string]any{ReviewerNotesField: notes, TeamField: "Core"})
			st, out, _ := call(t, s, "GET", api+"/issue/"+key, nil)
			if st != 200 {
				t.Fatalf("GET: HTTP %d %v", st, out)
			}
			got := out["fields"].(map[string]any)
			b, _ := json.Marshal(notes)
			var sent any
			_ = json.Unmarshal(b, &sent)
			if diff := cmp.Diff(sent, got[ReviewerNotesField]); diff != "" {
				t.Errorf("Reviewer Notes read back (-want +got):\n%s", diff)
			}
			if got[TeamField] != "Core" {
				t.Errorf("Team read back %v", got[TeamField])
			}
			st, out, _ = call(t, s, "PUT", api+"/issue/"+key, map[string]any{"fields": map[string]any{ReviewerNotesField: wrong}})
			errs, _ := out["errors"].(map[string]any)
			if st != 400 || errs[ReviewerNotesField] == nil {
				t.Errorf("Reviewer Notes given %v: HTTP %d %v", wrong, st, out)
			}
			if flavor == Cloud && !strings.Contains(fmt.Sprint(errs[ReviewerNotesField]), "Atlassian Document") {
				t.Errorf("Cloud's refusal %q does not ask for an Atlassian Document", errs[ReviewerNotesField])
			}
			// Clearing works on both.
			if st, out, _ := call(t, s, "PUT", api+"/issue/"+key, map[string]any{"fields": map[string]any{ReviewerNotesField: nil}}); st != 204 {
				t.Errorf("clearing: HTTP %d %v", st, out)
			}
			if is, _ := s.Issue(key); is.Custom[ReviewerNotesField] != nil {
				t.Errorf("cleared notes stored as %s", is.Custom[ReviewerNotesField])
			}
		})
	}
}
