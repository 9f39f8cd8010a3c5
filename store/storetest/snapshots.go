package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// Snapshots.

// snapshot returns a snapshot of initiative on day with figures derived
// from n, so two snapshots with different n differ in every field.
func snapshot(initiative, day string, n int) store.Snapshot {
	return store.Snapshot{
		Initiative:     initiative,
		Day:            day,
		Total:          10 + n,
		Done:           n,
		InProgress:     n % 3,
		Todo:           10 - n%3,
		DoneByCount:    float64(n) / float64(10+n),
		DoneByEstimate: float64(n) / 7,
		AtRisk:         n%2 == 1,
		UpdatedAt:      time.Date(2025, 3, 4, 23, 59, 0, 123456789+n, time.UTC),
	}
}

func mustPutSnapshot(t testing.TB, o store.Ops, s store.Snapshot) {
	t.Helper()
	if err := o.PutSnapshot(ctx, s); err != nil {
		t.Fatalf("PutSnapshot(%s on %s): %v", s.Initiative, s.Day, err)
	}
}

func mustListSnapshots(t testing.TB, o store.Ops, initiative, since string) []store.Snapshot {
	t.Helper()
	got, err := o.ListSnapshots(ctx, initiative, since)
	if err != nil {
		t.Fatalf("ListSnapshots(%q, %q): %v", initiative, since, err)
	}
	return got
}

func testSnapshotRoundTrip(t *testing.T, o store.Ops) {
	want := snapshot("jira:10001", "2025-03-04", 3)
	// A time in another zone comes back as the same instant in UTC.
	want.UpdatedAt = time.Date(2025, 3, 5, 1, 2, 3, 456, time.FixedZone("CET", 3600))
	mustPutSnapshot(t, o, want)
	got := mustListSnapshots(t, o, "", "")
	if len(got) != 1 {
		t.Fatalf("ListSnapshots returned %d snapshots, want 1: %+v", len(got), got)
	}
	diff(t, "snapshot", want, got[0])
	checkTime(t, "UpdatedAt", got[0].UpdatedAt)

	// Zero figures and a zero UpdatedAt: the figures stay zero, the time
	// is stamped by the store's clock, the one that stamps runs.
	r, err := o.StartRun(ctx, "f1", false)
	if err != nil {
		t.Fatalf("StartRun: %v", err)
	}
	mustPutSnapshot(t, o, store.Snapshot{Initiative: "github:42", Day: "2025-03-04"})
	got = mustListSnapshots(t, o, "github:42", "")
	if len(got) != 1 {
		t.Fatalf("ListSnapshots(github:42) returned %d snapshots, want 1", len(got))
	}
	checkTime(t, "stamped UpdatedAt", got[0].UpdatedAt)
	if got[0].UpdatedAt.Before(r.StartedAt) || got[0].UpdatedAt.Sub(r.StartedAt) > time.Hour {
		t.Errorf("stamped UpdatedAt %v, want the store's now (a run started just before at %v)", got[0].UpdatedAt, r.StartedAt)
	}
	got[0].UpdatedAt = time.Time{}
	diff(t, "zero snapshot", store.Snapshot{Initiative: "github:42", Day: "2025-03-04"}, got[0])
}

func testSnapshotReplace(t *testing.T, o store.Ops) {
	mustPutSnapshot(t, o, snapshot("jira:10001", "2025-03-04", 1))
	mustPutSnapshot(t, o, snapshot("jira:10001", "2025-03-05", 2))
	later := snapshot("jira:10001", "2025-03-04", 4)
	mustPutSnapshot(t, o, later)
	diff(t, "snapshots after a second put on the same day",
		[]store.Snapshot{later, snapshot("jira:10001", "2025-03-05", 2)},
		mustListSnapshots(t, o, "jira:10001", ""))

	// Replacing with AtRisk false and zero counts really clears them.
	cleared := store.Snapshot{Initiative: "jira:10001", Day: "2025-03-04", UpdatedAt: later.UpdatedAt.Add(time.Hour)}
	mustPutSnapshot(t, o, cleared)
	got := mustListSnapshots(t, o, "jira:10001", "2025-03-04")
	if len(got) == 0 {
		t.Fatalf("no snapshots after replacing with zero figures")
	}
	diff(t, "snapshot replaced by zero figures", cleared, got[0])
}

// putSnapshotGrid stores three initiatives over four days, in an order
// that is neither day nor initiative order, and returns them sorted as
// ListSnapshots must return them.
func putSnapshotGrid(t *testing.T, o store.Ops) []store.Snapshot {
	t.Helper()
	days := []string{"2025-03-10", "2025-02-28", "2025-03-01", "2024-12-31"}
	inits := []string{"jira:20", "github:7", "jira:100"}
	n := 0
	for _, d := range days {
		for _, i := range inits {
			n++
			mustPutSnapshot(t, o, snapshot(i, d, n))
		}
	}
	var want []store.Snapshot
	n = 0
	byKey := map[[2]string]store.Snapshot{}
	for _, d := range days {
		for _, i := range inits {
			n++
			byKey[[2]string{i, d}] = snapshot(i, d, n)
		}
	}
	// Text order: "github:7" < "jira:100" < "jira:20".
	for _, d := range []string{"2024-12-31", "2025-02-28", "2025-03-01", "2025-03-10"} {
		for _, i := range []string{"github:7", "jira:100", "jira:20"} {
			want = append(want, byKey[[2]string{i, d}])
		}
	}
	return want
}

// filterSnapshots is the reference for ListSnapshots' filters.
func filterSnapshots(all []store.Snapshot, initiative, since string) []store.Snapshot {
	var out []store.Snapshot
	for _, s := range all {
		if (initiative == "" || s.Initiative == initiative) && (since == "" || s.Day >= since) {
			out = append(out, s)
		}
	}
	return out
}

func testSnapshotList(t *testing.T, o store.Ops) {
	if got := mustListSnapshots(t, o, "", ""); len(got) != 0 {
		t.Errorf("empty store lists %d snapshots", len(got))
	}
	all := putSnapshotGrid(t, o)
	tests := []struct {
		initiative, since string
		wantLen           int
	}{
		{"", "", 12},
		{"", "2025-03-01", 6},         // since is inclusive
		{"", "2025-03-02", 3},         // a day with no snapshots
		{"", "2025-01-01", 9},         // across a year boundary
		{"", "2026-01-01", 0},         // after everything
		{"jira:20", "", 4},            // initiative only
		{"jira:2", "", 0},             // no prefix match
		{"github:7", "2025-02-28", 3}, // both filters
		{"jira:100", "2025-03-10", 1}, // the last day alone
		{"jira:999", "", 0},           // unknown initiative
		{"jira:100", "2000-01-01", 4}, // since before everything
		{"", "2024-12-31", 12},        // since the first day
		{"github:7", "2025-03-11", 0}, // since after its last day
	}
	for _, tc := range tests {
		what := fmt.Sprintf("ListSnapshots(%q, %q)", tc.initiative, tc.since)
		got := mustListSnapshots(t, o, tc.initiative, tc.since)
		want := filterSnapshots(all, tc.initiative, tc.since)
		if len(want) != tc.wantLen {
			t.Fatalf("%s: the test's reference gives %d snapshots, the table says %d", what, len(want), tc.wantLen)
		}
		diff(t, what, want, got)
	}
}

func testSnapshotInvalid(t *testing.T, o store.Ops) {
	mustPutSnapshot(t, o, snapshot("jira:1", "2025-03-04", 1))
	before := mustListSnapshots(t, o, "", "")

	bad := []struct {
		name string
		s    store.Snapshot
	}{
		{"empty day", snapshot("jira:1", "", 2)},
		{"unpadded month", snapshot("jira:1", "2025-3-04", 2)},
		{"unpadded day", snapshot("jira:1", "2025-03-4", 2)},
		{"no dashes", snapshot("jira:1", "20250304", 2)},
		{"slashes", snapshot("jira:1", "2025/03/04", 2)},
		{"a timestamp", snapshot("jira:1", "2025-03-04T00:00:00Z", 2)},
		{"trailing space", snapshot("jira:1", "2025-03-04 ", 2)},
		{"no such date", snapshot("jira:1", "2025-02-30", 2)},
		{"month 13", snapshot("jira:1", "2025-13-01", 2)},
		{"five-digit year", snapshot("jira:1", "12025-03-04", 2)},
		{"empty initiative", snapshot("", "2025-03-04", 2)},
		{"NaN done by count", func() store.Snapshot {
			s := snapshot("jira:1", "2025-03-05", 2)
			s.DoneByCount = math.NaN()
			return s
		}()},
		{"infinite done by estimate", func() store.Snapshot {
			s := snapshot("jira:1", "2025-03-05", 2)
			s.DoneByEstimate = math.Inf(1)
			return s
		}()},
	}
	for _, tc := range bad {
		err := o.PutSnapshot(ctx, tc.s)
		wantErr(t, "PutSnapshot with "+tc.name, err, adapters.ErrInvalid)
		// The error names the snapshot, so a log line can be acted on.
		if err != nil && tc.s.Initiative != "" && !strings.Contains(err.Error(), tc.s.Initiative) {
			t.Errorf("PutSnapshot with %s: error %q does not name initiative %s", tc.name, err, tc.s.Initiative)
		}
	}
	// Nothing was written, and (inside a Tx) the transaction still works.
	diff(t, "snapshots after rejected puts", before, mustListSnapshots(t, o, "", ""))

	for _, since := range []string{"2025-3-04", "yesterday", "2025-02-29"} {
		_, err := o.ListSnapshots(ctx, "", since)
		wantErr(t, fmt.Sprintf("ListSnapshots since %q", since), err, adapters.ErrInvalid)
	}
	for _, before := range []string{"", "2025-3-04", "2025-04-31"} {
		n, err := o.DeleteSnapshots(ctx, before)
		wantErr(t, fmt.Sprintf("DeleteSnapshots before %q", before), err, adapters.ErrInvalid)
		if n != 0 {
			t.Errorf("DeleteSnapshots before %q reported %d deleted", before, n)
		}
	}
	diff(t, "snapshots after rejected deletes", before, mustListSnapshots(t, o, "", ""))
	mustPutSnapshot(t, o, snapshot("jira:1", "2025-03-05", 3))
	if got := mustListSnapshots(t, o, "", ""); len(got) != 2 {
		t.Errorf("%d snapshots after a valid put following rejected ones, want 2", len(got))
	}
}

func testSnapshotDelete(t *testing.T, o store.Ops) {
	n, err := o.DeleteSnapshots(ctx, "2025-03-01")
	if err != nil || n != 0 {
		t.Errorf("DeleteSnapshots on an empty store = %d, %v; want 0, nil", n, err)
	}
	all := putSnapshotGrid(t, o)

	// before is exclusive: the day itself stays.
	n, err = o.DeleteSnapshots(ctx, "2025-03-01")
	if err != nil {
		t.Fatalf("DeleteSnapshots(2025-03-01): %v", err)
	}
	if n != 6 {
		t.Errorf("DeleteSnapshots(2025-03-01) = %d, want 6 (two days of three initiatives)", n)
	}
	diff(t, "snapshots left after retention", filterSnapshots(all, "", "2025-03-01"), mustListSnapshots(t, o, "", ""))

	n, err = o.DeleteSnapshots(ctx, "2025-03-01")
	if err != nil || n != 0 {
		t.Errorf("second DeleteSnapshots(2025-03-01) = %d, %v; want 0, nil", n, err)
	}
	n, err = o.DeleteSnapshots(ctx, "2099-01-01")
	if err != nil || n != 6 {
		t.Errorf("DeleteSnapshots(2099-01-01) = %d, %v; want 6, nil", n, err)
	}
	if got := mustListSnapshots(t, o, "", ""); len(got) != 0 {
		t.Errorf("%d snapshots left after deleting everything", len(got))
	}
}

// testSnapshotTxRollback: a rolled-back Tx leaves no new snapshot, keeps
// the one it replaced and undoes its deletes.
func testSnapshotTxRollback(t *testing.T, s store.Store) {
	kept := snapshot("jira:1", "2025-03-04", 1)
	old := snapshot("jira:1", "2025-01-01", 2)
	mustPutSnapshot(t, s, kept)
	mustPutSnapshot(t, s, old)
	want := mustListSnapshots(t, s, "", "")

	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx store.Ops) error {
		mustPutSnapshot(t, tx, snapshot("jira:1", "2025-03-04", 7)) // replace
		mustPutSnapshot(t, tx, snapshot("jira:2", "2025-03-04", 8)) // new
		if n, err := tx.DeleteSnapshots(ctx, "2025-02-01"); err != nil || n != 1 {
			t.Errorf("DeleteSnapshots inside Tx = %d, %v; want 1, nil", n, err)
		}
		if got := mustListSnapshots(t, tx, "", ""); len(got) != 2 {
			t.Errorf("inside the Tx: %d snapshots, want 2", len(got))
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v, want fn's error", err)
	}
	diff(t, "snapshots after rollback", want, mustListSnapshots(t, s, "", ""))

	// A committed Tx lands.
	replaced := snapshot("jira:1", "2025-03-04", 9)
	if err := s.Tx(ctx, func(tx store.Ops) error { return tx.PutSnapshot(ctx, replaced) }); err != nil {
		t.Fatalf("Tx: %v", err)
	}
	diff(t, "snapshots after commit", []store.Snapshot{old, replaced}, mustListSnapshots(t, s, "", ""))
}

// testConcurrentSnapshots: puts of the same initiative and day from many
// goroutines leave exactly one snapshot, one of theirs.
func testConcurrentSnapshots(t *testing.T, s store.Store) {
	parallel(t, func(w int) error {
		for i := range 5 {
			if err := s.PutSnapshot(ctx, snapshot("jira:1", "2025-03-04", w*10+i)); err != nil {
				return err
			}
			if err := s.PutSnapshot(ctx, snapshot(fmt.Sprintf("jira:w%d", w), "2025-03-04", i)); err != nil {
				return err
			}
		}
		return nil
	})
	got := mustListSnapshots(t, s, "jira:1", "")
	if len(got) != 1 {
		t.Fatalf("%d snapshots of jira:1 after concurrent puts, want 1", len(got))
	}
	// snapshot's Done is its n: the survivor must be exactly one of the puts.
	if n := got[0].Done; n%10 >= 5 || n/10 >= workers || n < 0 {
		t.Errorf("surviving snapshot %+v is not one that was put", got[0])
	} else {
		diff(t, "surviving snapshot of jira:1", snapshot("jira:1", "2025-03-04", n), got[0])
	}
	// Each worker's own initiative holds its last put.
	for w := range workers {
		init := fmt.Sprintf("jira:w%d", w)
		diff(t, "snapshots of "+init, []store.Snapshot{snapshot(init, "2025-03-04", 4)}, mustListSnapshots(t, s, init, ""))
	}
}

// cancelledSnapshotOps are the snapshot calls testContextCancelled checks.
func cancelledSnapshotOps(cctx context.Context, s store.Store) map[string]error {
	_, lerr := s.ListSnapshots(cctx, "", "")
	_, derr := s.DeleteSnapshots(cctx, "2025-01-01")
	return map[string]error{
		"PutSnapshot":     s.PutSnapshot(cctx, snapshot("jira:1", "2025-03-04", 1)),
		"ListSnapshots":   lerr,
		"DeleteSnapshots": derr,
	}
}
