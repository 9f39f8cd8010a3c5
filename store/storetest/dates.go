package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// testDateChanges: changes round-trip, oldest first, per initiative or
// all; invalid ones are refused with nothing written.
func testDateChanges(t *testing.T, o store.Ops) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	in := []store.DateChange{
		{Initiative: "plan:INIT-1", At: t0, From: "", To: "2026-12-01"},
		{Initiative: "plan:INIT-2", At: t0.Add(time.Hour), From: "", To: "2027-01-10"},
		{Initiative: "plan:INIT-1", At: t0.Add(24 * time.Hour), From: "2026-12-01", To: "2026-12-15"},
		{Initiative: "plan:INIT-1", At: t0.Add(48 * time.Hour), From: "2026-12-15", To: ""},
	}
	for _, c := range in {
		if err := o.PutDateChange(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := o.ListDateChanges(ctx, "plan:INIT-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.DateChange{in[0], in[2], in[3]}, got); diff != "" {
		t.Errorf("INIT-1 (-want +got):\n%s", diff)
	}
	all, err := o.ListDateChanges(ctx, "")
	if err != nil || len(all) != 4 || all[1] != in[1] {
		t.Errorf("all: %+v %v", all, err)
	}
	for _, bad := range []store.DateChange{{Initiative: "", To: "2026-12-01"}, {Initiative: "x", To: "12/01/2026"}, {Initiative: "x", From: "soon"}} {
		if err := o.PutDateChange(ctx, bad); !errors.Is(err, adapters.ErrInvalid) {
			t.Errorf("PutDateChange(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	if all, _ := o.ListDateChanges(ctx, ""); len(all) != 4 {
		t.Errorf("invalid changes were written: %+v", all)
	}
}
