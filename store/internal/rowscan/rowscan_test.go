package rowscan

import (
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"
)

type fakeRows struct {
	vals    []int
	i       int
	scanErr error // returned by the Scan of the second row
	err     error // returned by Err
}

func (r *fakeRows) Next() bool { r.i++; return r.i <= len(r.vals) }
func (r *fakeRows) Scan(dest ...any) error {
	if r.i == 2 && r.scanErr != nil {
		return r.scanErr
	}
	*dest[0].(*int) = r.vals[r.i-1]
	return nil
}
func (r *fakeRows) Err() error { return r.err }

func TestCollect(t *testing.T) {
	scanInt := func(r Rows) func() (int, error) {
		return func() (int, error) { var v int; err := r.Scan(&v); return v, err }
	}
	r := &fakeRows{vals: []int{3, 1, 2}}
	if got, err := Collect(r, scanInt(r)); err != nil || !slices.Equal(got, []int{3, 1, 2}) {
		t.Errorf("Collect = %v, %v; want [3 1 2] in row order", got, err)
	}
	boom := errors.New("boom")
	r = &fakeRows{vals: []int{3, 1, 2}, scanErr: boom}
	if got, err := Collect(r, scanInt(r)); !errors.Is(err, boom) || got != nil {
		t.Errorf("Collect with a failing scan = %v, %v; want nil, boom", got, err)
	}
	r = &fakeRows{vals: []int{3}, err: boom}
	if got, err := Collect(r, scanInt(r)); !errors.Is(err, boom) || got != nil {
		t.Errorf("Collect with failing rows = %v, %v; want nil, boom", got, err)
	}
	r = &fakeRows{}
	if got, err := Collect(r, scanInt(r)); err != nil || len(got) != 0 {
		t.Errorf("Collect of no rows = %v, %v", got, err)
	}
}

// TestTime checks that both drivers' nullable times read alike.
func TestTime(t *testing.T) {
	n := int64(1_700_000_000_123_456_789)
	want := time.Unix(0, n).UTC()
	if got := Time(sql.NullInt64{Int64: n, Valid: true}); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("sql.NullInt64: %v, want %v", got, want)
	}
	if got := Time(&n); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("*int64: %v, want %v", got, want)
	}
	if got := Time(sql.NullInt64{}); !got.IsZero() {
		t.Errorf("NULL sql.NullInt64: %v, want the zero time", got)
	}
	if got := Time((*int64)(nil)); !got.IsZero() {
		t.Errorf("NULL *int64: %v, want the zero time", got)
	}
}
