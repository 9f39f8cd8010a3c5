package jira

import "testing"

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`a " OR project = X`, `"a \" OR project = X"`},
		{`back\slash`, `"back\\slash"`},
		{`\"`, `"\\\""`},
		{"new\nline\ttab", `"new\nline\ttab"`},
		{"", `""`},
	}
	for _, tc := range tests {
		if got := quote(tc.in); got != tc.want {
			t.Errorf("quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestListJQL(t *testing.T) {
	tr := &Tracker{o: Options{Project: "PLAT"}}
	tests := []struct {
		scope string
		since int64
		want  string
	}{
		{"", 0, `(project = "PLAT") AND updated >= 0 ORDER BY updated ASC, key ASC`},
		{"project = OPS", 1700000000000, `(project = OPS) AND updated >= 1700000000000 ORDER BY updated ASC, key ASC`},
		{"project = A OR project = B ORDER BY key DESC", 5, `(project = A OR project = B) AND updated >= 5 ORDER BY updated ASC, key ASC`},
		{`summary ~ "order by" AND project = A`, 5, `(summary ~ "order by" AND project = A) AND updated >= 5 ORDER BY updated ASC, key ASC`},
		{`summary ~ "x\" order by" order   by created`, 5, `(summary ~ "x\" order by") AND updated >= 5 ORDER BY updated ASC, key ASC`},
		{`labels = ordered`, 5, `(labels = ordered) AND updated >= 5 ORDER BY updated ASC, key ASC`},
	}
	for _, tc := range tests {
		if got := tr.listJQL(tc.scope, tc.since); got != tc.want {
			t.Errorf("listJQL(%q, %d) =\n  %s\nwant\n  %s", tc.scope, tc.since, got, tc.want)
		}
	}
}
