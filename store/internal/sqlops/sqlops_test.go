package sqlops

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWhere checks the WHERE both drivers' filtered listings build, in
// each placeholder style.
func TestWhere(t *testing.T) {
	qmark := &Dialect{Param: func(int) string { return "?" }}
	dollar := &Dialect{Param: func(n int) string { return fmt.Sprintf("$%d", n) }}
	for _, tc := range []struct {
		name      string
		d         *Dialect
		conds     []string
		wantQuery string
		wantArgs  []any
	}{
		{"none set", qmark, []string{"flow =", "", "state =", ""}, "SELECT x", nil},
		{"first", dollar, []string{"flow =", "f", "state =", ""}, "SELECT x WHERE flow = $1", []any{"f"}},
		{"second numbered first", dollar, []string{"flow =", "", "day >=", "2026-01-01"}, "SELECT x WHERE day >= $1", []any{"2026-01-01"}},
		{"both", dollar, []string{"flow =", "f", "state =", "open"}, "SELECT x WHERE flow = $1 AND state = $2", []any{"f", "open"}},
		{"both, question marks", qmark, []string{"flow =", "f", "state =", "open"}, "SELECT x WHERE flow = ? AND state = ?", []any{"f", "open"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := New[sql.NullInt64, string](nil, nil, tc.d)
			q, args := o.where("SELECT x", tc.conds...)
			if q != tc.wantQuery {
				t.Errorf("query %q, want %q", q, tc.wantQuery)
			}
			if diff := cmp.Diff(tc.wantArgs, args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}
