// Package storetest is the conformance suite every store.Store passes,
// like testing/fstest for file systems. An implementation runs it with
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openEmpty(t) })
//	}
//
// and the benchmarks in bench.go the same way. Beyond store.go's comments
// the suite pins down these behaviours, which the engine relies on:
//
//   - An error from an operation inside Tx (ErrExists from CreateLink,
//     ErrNotFound from PutBase) leaves the transaction usable: the engine
//     looks the existing link up and carries on. PostgreSQL needs a
//     savepoint around statements that can violate a constraint.
//   - Links may have an empty Key; several keyless links coexist in a
//     flow and FindLinkByKey(flow, "") finds none.
//   - UpdateLink, DeleteLink, JournalFinish, JournalSetState,
//     ResolveConflict and FinishRun return ErrNotFound for a missing ID;
//     PutBase and PutCommentLink do for a missing link.
//   - JournalFinish with linkID 0 keeps the entry's link. It may leave an
//     entry pending (an ambiguous create failure, with its error); DoneAt
//     is set only for other states. Unknown journal states fail, and
//     ResolveConflict accepts only "a", "b" and "value".
//   - FinishRun keeps a FinishedAt the caller set; a zero one is stamped.
//   - A conflict raised again while open keeps its ID and CreatedAt.
//   - ListCommentLinks returns pairs in the order they were first stored.
//   - Times come back in UTC; a zero time comes back zero. A nil field
//     map may come back empty and an empty one nil.
//   - Unlock by an owner that does not hold the lease is a no-op.
//   - A cancelled context makes operations fail with context.Canceled.
//   - Snapshot days are checked as real dates written YYYY-MM-DD (so text
//     order is date order): PutSnapshot, a non-empty since and every
//     before fail otherwise with adapters.ErrInvalid and write nothing,
//     leaving a Tx usable. ListSnapshots' since is inclusive,
//     DeleteSnapshots' before exclusive. PutSnapshot keeps a non-zero
//     UpdatedAt and stamps a zero one; a replace overwrites every figure.
//   - Field maps and conflict values come back byte for byte, NULs and
//     bytes that are not UTF-8 included (exact.go).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// Run runs the suite. open returns a new, empty store for one subtest and
// closes it when the test ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	// Data tests run twice: on the Store and inside one Tx, because the
	// engine does both and implementations often have two code paths.
	opsTests := []struct {
		name string
		fn   func(t *testing.T, o store.Ops)
	}{
		{"LinkCreateGet", testLinkCreateGet},
		{"LinkFind", testLinkFind},
		{"LinkDuplicate", testLinkDuplicate},
		{"LinkEmptyKey", testLinkEmptyKey},
		{"LinkList", testLinkList},
		{"LinkUpdate", testLinkUpdate},
		{"LinkDelete", testLinkDelete},
		{"LinkCount", testLinkCount},
		{"LinkDeleteConflicts", testLinkDeleteConflicts},
		{"BaseRoundTrip", testBaseRoundTrip},
		{"BaseReplace", testBaseReplace},
		{"BaseNotFound", testBaseNotFound},
		{"BaseList", testBaseList},
		{"CommentLinks", testCommentLinks},
		{"Cursors", testCursors},
		{"Journal", testJournal},
		{"JournalOrder", testJournalOrder},
		{"JournalErrors", testJournalErrors},
		{"Conflicts", testConflicts},
		{"ConflictErrors", testConflictErrors},
		{"Runs", testRuns},
		{"RunErrors", testRunErrors},
		{"ErrorKeepsTxUsable", testErrorKeepsTxUsable},
		{"SnapshotRoundTrip", testSnapshotRoundTrip},
		{"SnapshotReplace", testSnapshotReplace},
		{"SnapshotList", testSnapshotList},
		{"SnapshotInvalid", testSnapshotInvalid},
		{"SnapshotDelete", testSnapshotDelete},
		{"KV", testKV},
		{"EventDedup", testEventDedup},
		{"DateChanges", testDateChanges},
		{"StoredErrorsRedacted", testStoredErrorsRedacted},
		{"ExactValues", testExactValues},
	}
	for _, tc := range opsTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("Store", func(t *testing.T) { tc.fn(t, open(t)) })
			t.Run("Tx", func(t *testing.T) {
				s := open(t)
				err := s.Tx(context.Background(), func(tx store.Ops) error {
					tc.fn(t, tx)
					return nil
				})
				if err != nil {
					t.Fatalf("Tx: %v", err)
				}
			})
		})
	}

	storeTests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"TxCommit", testTxCommit},
		{"TxRollbackOnError", testTxRollbackOnError},
		{"TxRollbackOnPanic", testTxRollbackOnPanic},
		{"Lock", testLock},
		{"LockExpired", testLockExpired},
		{"ConcurrentLinks", testConcurrentLinks},
		{"ConcurrentJournal", testConcurrentJournal},
		{"ConcurrentTx", testConcurrentTx},
		{"ConcurrentSnapshots", testConcurrentSnapshots},
		{"SnapshotTxRollback", testSnapshotTxRollback},
		{"ContextCancelled", testContextCancelled},
		{"Ping", testPing},
		{"LeaseFencesJournal", testLeaseFencesJournal},
		{"LeaseFenceRollsBackTx", testLeaseFenceRollsBackTx},
		{"ExpiredLeases", testExpiredLeases},
		{"LockRace", testLockRace},
		{"LockTokensUnique", testLockTokensUnique},
		{"Generations", testGenerations},
		{"ConcurrentGenerations", testConcurrentGenerations},
		{"SeenDelivery", testSeenDelivery},
		{"SeenDeliveryRace", testSeenDeliveryRace},
		{"TakeTokens", testTakeTokens},
		{"TakeTokensAbove", testTakeTokensAbove},
		{"TakeTokensInvalid", testTakeTokensInvalid},
		{"ConcurrentTakeTokens", testConcurrentTakeTokens},
		{"Outbox", testOutbox},
		{"OutboxTx", testOutboxTx},
		{"OutboxErrors", testOutboxErrors},
		{"ConcurrentClaims", testConcurrentClaims},
	}
	for _, tc := range storeTests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// Helpers.

var ctx = context.Background()

// link returns an unsaved link numbered n: a Jira issue paired with a
// GitHub issue.
func link(flow string, n int) store.Link {
	return store.Link{
		Flow: flow,
		Key:  fmt.Sprintf("%s-link-%d", flow, n),
		A: adapters.Ref{Tracker: "jira", Project: "ENG", ID: fmt.Sprint(10000 + n),
			Key: fmt.Sprintf("ENG-%d", n), URL: fmt.Sprintf("https://example.atlassian.net/browse/ENG-%d", n)},
		B: adapters.Ref{Tracker: "github", Project: "acme/app", ID: fmt.Sprint(n),
			Key: fmt.Sprintf("#%d", n), URL: fmt.Sprintf("https://github.com/acme/app/issues/%d", n)},
	}
}

func mustCreate(t testing.TB, o store.Ops, l store.Link) store.Link {
	t.Helper()
	got, err := o.CreateLink(ctx, l)
	if err != nil {
		t.Fatalf("CreateLink(%s <-> %s in %s): %v", l.A, l.B, l.Flow, err)
	}
	return got
}

func mustPutBase(t testing.TB, o store.Ops, b store.Base) {
	t.Helper()
	if err := o.PutBase(ctx, b); err != nil {
		t.Fatalf("PutBase(link %d): %v", b.LinkID, err)
	}
}

// base returns a base for linkID with typical canonical fields.
func base(linkID int64, status string) store.Base {
	return store.Base{
		LinkID: linkID,
		A: map[string]string{"title": fmt.Sprintf("Item %d", linkID), "status": status,
			"assignee": "ana@example.com", "labels": "backend,q3"},
		B: map[string]string{"title": fmt.Sprintf("Item %d", linkID), "status": strings.ToLower(status),
			"assignees": "ana", "labels": "backend,q3"},
		AVersion: fmt.Sprintf("a-v%d", linkID),
		BVersion: fmt.Sprintf("\"etag-%d\"", linkID),
		SyncedAt: time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC),
	}
}

// cmpOpts: time.Time compares with Equal (cmp uses the method), nil and
// empty maps are alike.
var cmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

func diff(t testing.TB, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, append(opts, cmpOpts...)...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// checkTime requires a stamped time: set and in UTC.
func checkTime(t testing.TB, what string, tm time.Time) {
	t.Helper()
	if tm.IsZero() {
		t.Errorf("%s is zero, want it set", what)
	}
	if tm.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, tm.Location())
	}
}

// Links.

func testLinkCreateGet(t *testing.T, o store.Ops) {
	l, err := o.CreateLink(ctx, link("f1", 1))
	if err != nil {
		t.Fatalf("CreateLink: %v", err)
	}
	if l.ID <= 0 {
		t.Errorf("CreateLink gave ID %d, want > 0", l.ID)
	}
	checkTime(t, "CreatedAt", l.CreatedAt)
	checkTime(t, "UpdatedAt", l.UpdatedAt)
	want := link("f1", 1)
	want.ID, want.CreatedAt, want.UpdatedAt = l.ID, l.CreatedAt, l.UpdatedAt
	diff(t, "CreateLink result", want, l)

	got, err := o.GetLink(ctx, l.ID)
	if err != nil {
		t.Fatalf("GetLink(%d): %v", l.ID, err)
	}
	diff(t, "GetLink", l, got)

	l2 := mustCreate(t, o, link("f1", 2))
	if l2.ID == l.ID {
		t.Errorf("two links got the same ID %d", l.ID)
	}
	_, err = o.GetLink(ctx, l2.ID+100)
	wantErr(t, "GetLink of a missing ID", err, store.ErrNotFound)
}

func testLinkFind(t *testing.T, o store.Ops) {
	l1 := mustCreate(t, o, link("f1", 1))
	l2 := mustCreate(t, o, link("f1", 2))
	l3 := mustCreate(t, o, link("f2", 1)) // same refs, other flow

	tests := []struct {
		name string
		flow string
		side store.Side
		id   string
		want store.Link
		err  error
	}{
		{"side a", "f1", store.SideA, l1.A.ID, l1, nil},
		{"side b", "f1", store.SideB, l2.B.ID, l2, nil},
		{"other flow", "f2", store.SideA, l1.A.ID, l3, nil},
		{"side a id on side b", "f1", store.SideB, l1.A.ID, store.Link{}, store.ErrNotFound},
		{"side b id on side a", "f1", store.SideA, l1.B.ID, store.Link{}, store.ErrNotFound},
		{"unknown id", "f1", store.SideA, "nope", store.Link{}, store.ErrNotFound},
		{"unknown flow", "f9", store.SideA, l1.A.ID, store.Link{}, store.ErrNotFound},
		{"matches the id, not the key", "f1", store.SideA, l1.A.Key, store.Link{}, store.ErrNotFound},
	}
	for _, tc := range tests {
		got, err := o.FindLink(ctx, tc.flow, tc.side, tc.id)
		if tc.err != nil {
			wantErr(t, "FindLink "+tc.name, err, tc.err)
			continue
		}
		if err != nil {
			t.Errorf("FindLink %s: %v", tc.name, err)
			continue
		}
		diff(t, "FindLink "+tc.name, tc.want, got)
	}

	byKey := []struct {
		name      string
		flow, key string
		want      store.Link
		err       error
	}{
		{"found", "f1", l2.Key, l2, nil},
		{"other flow", "f2", l3.Key, l3, nil},
		{"key of another flow", "f2", l1.Key, store.Link{}, store.ErrNotFound},
		{"unknown key", "f1", "nope", store.Link{}, store.ErrNotFound},
	}
	for _, tc := range byKey {
		got, err := o.FindLinkByKey(ctx, tc.flow, tc.key)
		if tc.err != nil {
			wantErr(t, "FindLinkByKey "+tc.name, err, tc.err)
			continue
		}
		if err != nil {
			t.Errorf("FindLinkByKey %s: %v", tc.name, err)
			continue
		}
		diff(t, "FindLinkByKey "+tc.name, tc.want, got)
	}
}

func testLinkDuplicate(t *testing.T, o store.Ops) {
	orig := mustCreate(t, o, link("f1", 1))
	tests := []struct {
		name string
		l    store.Link
		err  error // nil: must succeed
	}{
		{"same side a item", func() store.Link { l := link("f1", 2); l.A = orig.A; return l }(), store.ErrExists},
		{"same side b item", func() store.Link { l := link("f1", 3); l.B = orig.B; return l }(), store.ErrExists},
		{"same key", func() store.Link { l := link("f1", 4); l.Key = orig.Key; return l }(), store.ErrExists},
		{"same refs in another flow", link("f2", 1), nil},
		{"side a id used on side b", func() store.Link { l := link("f1", 5); l.B.ID = orig.A.ID; return l }(), nil},
	}
	for _, tc := range tests {
		_, err := o.CreateLink(ctx, tc.l)
		if tc.err == nil {
			if err != nil {
				t.Errorf("CreateLink %s: %v", tc.name, err)
			}
			continue
		}
		wantErr(t, "CreateLink "+tc.name, err, tc.err)
	}
	got, err := o.ListLinks(ctx, "f1")
	if err != nil {
		t.Fatalf("ListLinks: %v", err)
	}
	if len(got) != 2 {
		t.Errorf("flow f1 has %d links after the duplicates, want 2 (the original and side-a-id-on-b)", len(got))
	}
}

func testLinkEmptyKey(t *testing.T, o store.Ops) {
	for n := 1; n <= 2; n++ {
		l := link("f1", n)
		l.Key = ""
		got := mustCreate(t, o, l)
		if got.Key != "" {
			t.Errorf("keyless link came back with key %q", got.Key)
		}
		back, err := o.GetLink(ctx, got.ID)
		if err != nil {
			t.Fatalf("GetLink: %v", err)
		}
		diff(t, "keyless link", got, back)
	}
	_, err := o.FindLinkByKey(ctx, "f1", "")
	wantErr(t, `FindLinkByKey(f1, "")`, err, store.ErrNotFound)
}

func testLinkList(t *testing.T, o store.Ops) {
	var f1, all []store.Link
	for n := 1; n <= 3; n++ {
		a := mustCreate(t, o, link("f1", n))
		b := mustCreate(t, o, link("f2", n))
		f1 = append(f1, a)
		all = append(all, a, b)
	}
	tests := []struct {
		flow string
		want []store.Link
	}{
		{"f1", f1},
		{"", all},
		{"unknown", nil},
	}
	for _, tc := range tests {
		got, err := o.ListLinks(ctx, tc.flow)
		if err != nil {
			t.Fatalf("ListLinks(%q): %v", tc.flow, err)
		}
		diff(t, fmt.Sprintf("ListLinks(%q)", tc.flow), tc.want, got)
	}
}

func testLinkUpdate(t *testing.T, o store.Ops) {
	l := mustCreate(t, o, link("f1", 1))
	other := mustCreate(t, o, link("f1", 2))

	moved := l
	moved.A.Key, moved.A.Project = "OPS-7", "OPS"
	moved.A.URL = "https://example.atlassian.net/browse/OPS-7"
	moved.B.URL = "https://github.com/acme/renamed/issues/1"
	if err := o.UpdateLink(ctx, moved); err != nil {
		t.Fatalf("UpdateLink: %v", err)
	}
	got, err := o.GetLink(ctx, l.ID)
	if err != nil {
		t.Fatalf("GetLink: %v", err)
	}
	// UpdatedAt is stamped by the store; checked below.
	diff(t, "updated link", moved, got, cmpopts.IgnoreFields(store.Link{}, "UpdatedAt"))
	if got.UpdatedAt.Before(l.UpdatedAt) {
		t.Errorf("UpdatedAt went back from %v to %v", l.UpdatedAt, got.UpdatedAt)
	}
	checkTime(t, "UpdatedAt", got.UpdatedAt)

	missing := moved
	missing.ID = other.ID + 100
	wantErr(t, "UpdateLink of a missing ID", o.UpdateLink(ctx, missing), store.ErrNotFound)

	clash := other
	clash.A = moved.A
	wantErr(t, "UpdateLink onto another link's item", o.UpdateLink(ctx, clash), store.ErrExists)
}

func testLinkDelete(t *testing.T, o store.Ops) {
	doomed := mustCreate(t, o, link("f1", 1))
	kept := mustCreate(t, o, link("f1", 2))
	for _, l := range []store.Link{doomed, kept} {
		mustPutBase(t, o, base(l.ID, "Open"))
		if err := o.PutCommentLink(ctx, store.CommentLink{LinkID: l.ID, AID: "c1", BID: "d1", BodyHash: "h"}); err != nil {
			t.Fatalf("PutCommentLink: %v", err)
		}
	}

	if err := o.DeleteLink(ctx, doomed.ID); err != nil {
		t.Fatalf("DeleteLink: %v", err)
	}
	_, err := o.GetLink(ctx, doomed.ID)
	wantErr(t, "GetLink after delete", err, store.ErrNotFound)
	_, err = o.FindLink(ctx, "f1", store.SideA, doomed.A.ID)
	wantErr(t, "FindLink after delete", err, store.ErrNotFound)
	_, err = o.GetBase(ctx, doomed.ID)
	wantErr(t, "GetBase after delete", err, store.ErrNotFound)
	cls, err := o.ListCommentLinks(ctx, doomed.ID)
	if err != nil {
		t.Fatalf("ListCommentLinks: %v", err)
	}
	if len(cls) != 0 {
		t.Errorf("deleted link still has comment links %v", cls)
	}
	bases, err := o.ListBases(ctx, "f1")
	if err != nil {
		t.Fatalf("ListBases: %v", err)
	}
	diff(t, "bases after delete", map[int64]store.Base{kept.ID: base(kept.ID, "Open")}, bases)
	cls, err = o.ListCommentLinks(ctx, kept.ID)
	if err != nil || len(cls) != 1 {
		t.Errorf("the other link's comment links: %v, %v; want one", cls, err)
	}

	wantErr(t, "DeleteLink again", o.DeleteLink(ctx, doomed.ID), store.ErrNotFound)
	// The same items can be linked again, under a new ID: an ID, once
	// deleted, must never name another pair.
	again := mustCreate(t, o, link("f1", 1))
	if again.ID == doomed.ID {
		t.Errorf("link ID %d was reused after delete", doomed.ID)
	}
}

func testLinkDeleteConflicts(t *testing.T, o store.Ops) {
	l := mustCreate(t, o, link("f1", 1))
	other := mustCreate(t, o, link("f1", 2))
	for _, id := range []int64{l.ID, other.ID} {
		if _, err := o.PutConflict(ctx, store.Conflict{Flow: "f1", LinkID: id, Field: "title", A: "x", B: "y"}); err != nil {
			t.Fatalf("PutConflict: %v", err)
		}
	}
	if err := o.DeleteLink(ctx, l.ID); err != nil {
		t.Fatalf("DeleteLink: %v", err)
	}
	cs, err := o.ListConflicts(ctx, "f1", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].LinkID != other.ID {
		t.Errorf("conflicts after deleting link %d: %+v; want only link %d's", l.ID, cs, other.ID)
	}
	// Deleting the newest link must not free its ID either.
	last := mustCreate(t, o, link("f1", 3))
	if err := o.DeleteLink(ctx, last.ID); err != nil {
		t.Fatal(err)
	}
	if next := mustCreate(t, o, link("f1", 4)); next.ID == last.ID {
		t.Errorf("link ID %d was reused after deleting the newest link", last.ID)
	}
}

// Bases.

func testBaseRoundTrip(t *testing.T, o store.Ops) {
	long := strings.Repeat("Lorem ipsum dolor sit amet, ünïcödé. ", 3000) // ~110 KB body
	many := map[string]string{}
	for i := range 200 {
		many[fmt.Sprintf("customfield_%05d", i)] = fmt.Sprint(i)
	}
	tests := []struct {
		name string
		b    store.Base
	}{
		{"typical", base(0, "In Progress")},
		{"empty maps", store.Base{A: map[string]string{}, B: map[string]string{}}},
		{"nil maps", store.Base{}},
		{"one side empty", store.Base{A: map[string]string{"status": "Done"}, B: map[string]string{}, AVersion: "3"}},
		{"unicode", store.Base{
			A: map[string]string{"title": "Überarbeitung der Straße 🚀", "状态": "进行中", "assignee": "José Ñúñez",
				"rtl": "مرحبا بالعالم", "combining": "e\u0301", "emoji": "👩‍💻🏳️‍🌈"},
			B: map[string]string{"title": "日本語のタイトル", "body": "Ελληνικά — ✓"},
		}},
		{"json specials", store.Base{
			A: map[string]string{`"quoted" key`: `va"lue`, `back\slash`: `C:\path\to`, "newline": "a\nb\r\nc\td",
				"control": "\x00\x01\x1f", "html": "<b>&amp;</b>", "separators": "\u2028\u2029", "slash": "a/b",
				"": "empty key", "empty": ""},
			B: map[string]string{"json": `{"a":"b","c":[1,2]}`, "commas": `","`},
		}},
		{"long body", store.Base{A: map[string]string{"body": long}, B: map[string]string{"body": long}}},
		{"many fields", store.Base{A: many, B: many}},
		{"zero synced at", store.Base{A: map[string]string{"x": "y"}, B: map[string]string{"x": "y"}}},
		{"synced at in another zone", store.Base{A: map[string]string{}, B: map[string]string{},
			SyncedAt: time.Date(2024, 12, 31, 23, 59, 59, 999999999, time.FixedZone("UTC+5:30", 5*3600+1800))}},
	}
	for i, tc := range tests {
		l := mustCreate(t, o, link("f1", i+1))
		tc.b.LinkID = l.ID
		mustPutBase(t, o, tc.b)
		got, err := o.GetBase(ctx, l.ID)
		if err != nil {
			t.Errorf("GetBase %s: %v", tc.name, err)
			continue
		}
		diff(t, "GetBase "+tc.name, tc.b, got)
		if !got.SyncedAt.IsZero() && got.SyncedAt.Location() != time.UTC {
			t.Errorf("GetBase %s: SyncedAt in %v, want UTC", tc.name, got.SyncedAt.Location())
		}
		listed, err := o.ListBases(ctx, "f1")
		if err != nil {
			t.Fatalf("ListBases: %v", err)
		}
		diff(t, "ListBases "+tc.name, tc.b, listed[l.ID])
	}
}

func testBaseReplace(t *testing.T, o store.Ops) {
	l := mustCreate(t, o, link("f1", 1))
	mustPutBase(t, o, base(l.ID, "Open"))
	second := store.Base{LinkID: l.ID, A: map[string]string{"status": "Done"}, B: map[string]string{"state": "closed"}}
	mustPutBase(t, o, second) // fewer fields, no versions, zero time: all replaced
	got, err := o.GetBase(ctx, l.ID)
	if err != nil {
		t.Fatalf("GetBase: %v", err)
	}
	diff(t, "replaced base", second, got)
}

func testBaseNotFound(t *testing.T, o store.Ops) {
	l := mustCreate(t, o, link("f1", 1))
	_, err := o.GetBase(ctx, l.ID)
	wantErr(t, "GetBase of a link without base", err, store.ErrNotFound)
	_, err = o.GetBase(ctx, l.ID+100)
	wantErr(t, "GetBase of a missing link", err, store.ErrNotFound)
	wantErr(t, "PutBase of a missing link", o.PutBase(ctx, base(l.ID+100, "Open")), store.ErrNotFound)
}

func testBaseList(t *testing.T, o store.Ops) {
	want := map[int64]store.Base{}
	for n := 1; n <= 5; n++ {
		l := mustCreate(t, o, link("f1", n))
		other := mustCreate(t, o, link("f2", n))
		mustPutBase(t, o, base(other.ID, "Other"))
		if n == 3 {
			continue // a link without a base is not listed
		}
		b := base(l.ID, fmt.Sprint("S", n))
		mustPutBase(t, o, b)
		want[l.ID] = b
	}
	got, err := o.ListBases(ctx, "f1")
	if err != nil {
		t.Fatalf("ListBases: %v", err)
	}
	diff(t, "ListBases(f1)", want, got)

	got, err = o.ListBases(ctx, "unknown")
	if err != nil {
		t.Fatalf("ListBases(unknown): %v", err)
	}
	if len(got) != 0 {
		t.Errorf("ListBases(unknown) = %v, want empty", got)
	}
}

// Comment links.

func testCommentLinks(t *testing.T, o store.Ops) {
	l := mustCreate(t, o, link("f1", 1))
	other := mustCreate(t, o, link("f1", 2))
	put := func(c store.CommentLink) {
		t.Helper()
		if err := o.PutCommentLink(ctx, c); err != nil {
			t.Fatalf("PutCommentLink(%+v): %v", c, err)
		}
	}
	put(store.CommentLink{LinkID: l.ID, AID: "300", BID: "9001", BodyHash: "h1"})
	put(store.CommentLink{LinkID: l.ID, AID: "100", BID: "9002", BodyHash: "h2"})
	put(store.CommentLink{LinkID: other.ID, AID: "300", BID: "9003", BodyHash: "h3"})
	put(store.CommentLink{LinkID: l.ID, AID: "300", BID: "9001", BodyHash: "h1-edited"}) // replaces

	tests := []struct {
		linkID int64
		want   []store.CommentLink
	}{
		{l.ID, []store.CommentLink{
			{LinkID: l.ID, AID: "300", BID: "9001", BodyHash: "h1-edited"},
			{LinkID: l.ID, AID: "100", BID: "9002", BodyHash: "h2"},
		}},
		{other.ID, []store.CommentLink{{LinkID: other.ID, AID: "300", BID: "9003", BodyHash: "h3"}}},
		{other.ID + 100, nil},
	}
	for _, tc := range tests {
		got, err := o.ListCommentLinks(ctx, tc.linkID)
		if err != nil {
			t.Fatalf("ListCommentLinks(%d): %v", tc.linkID, err)
		}
		diff(t, fmt.Sprintf("ListCommentLinks(%d)", tc.linkID), tc.want, got)
	}
	wantErr(t, "PutCommentLink of a missing link",
		o.PutCommentLink(ctx, store.CommentLink{LinkID: other.ID + 100, AID: "1", BID: "2"}), store.ErrNotFound)
}

// Cursors.

func testCursors(t *testing.T, o store.Ops) {
	get := func(flow string, s store.Side) string {
		t.Helper()
		c, err := o.GetCursor(ctx, flow, s)
		if err != nil {
			t.Fatalf("GetCursor(%s, %s): %v", flow, s, err)
		}
		return c
	}
	putC := func(flow string, s store.Side, c string) {
		t.Helper()
		if err := o.PutCursor(ctx, flow, s, c); err != nil {
			t.Fatalf("PutCursor(%s, %s): %v", flow, s, err)
		}
	}
	if c := get("f1", store.SideA); c != "" {
		t.Errorf("new cursor = %q, want empty", c)
	}
	putC("f1", store.SideA, "2025-01-01T00:00:00Z")
	putC("f1", store.SideB, `{"sync":"tök€n"}`)
	putC("f2", store.SideA, "other")
	putC("f1", store.SideA, "2025-02-01T00:00:00Z") // overwrites

	want := map[string]string{
		"f1/a": "2025-02-01T00:00:00Z",
		"f1/b": `{"sync":"tök€n"}`,
		"f2/a": "other",
		"f2/b": "",
	}
	got := map[string]string{}
	for _, f := range []string{"f1", "f2"} {
		for _, s := range []store.Side{store.SideA, store.SideB} {
			got[f+"/"+string(s)] = get(f, s)
		}
	}
	diff(t, "cursors", want, got)
}

// Journal.

func journalEntry(runID int64, flow string, n int) store.JournalEntry {
	return store.JournalEntry{
		RunID:          runID,
		Flow:           flow,
		Op:             "update",
		Side:           store.SideB,
		Target:         adapters.Ref{Tracker: "github", Project: "acme/app", ID: fmt.Sprint(n), Key: fmt.Sprintf("#%d", n)},
		IdempotencyKey: fmt.Sprintf("ts-%d", n),
		Before:         map[string]string{"status": "open", "title": "Olá"},
		After:          map[string]string{"status": "closed", "title": "Olá 👋"},
	}
}

func testJournal(t *testing.T, o store.Ops) {
	l := mustCreate(t, o, link("f1", 1))
	update := journalEntry(1, "f1", 1)
	update.LinkID = l.ID
	create := journalEntry(1, "f1", 2)
	create.Op, create.Side, create.Before = "create", store.SideA, nil
	failing := journalEntry(1, "f1", 3)
	otherFlow := journalEntry(2, "f2", 4)

	ids := map[string]int64{}
	for name, e := range map[string]store.JournalEntry{"update": update, "create": create, "failing": failing, "other": otherFlow} {
		e.State = store.JournalDone // ignored: intents are pending
		id, err := o.JournalIntent(ctx, e)
		if err != nil {
			t.Fatalf("JournalIntent(%s): %v", name, err)
		}
		ids[name] = id
	}
	pending, err := o.PendingJournal(ctx, "f1")
	if err != nil {
		t.Fatalf("PendingJournal: %v", err)
	}
	if len(pending) != 3 {
		t.Fatalf("PendingJournal(f1) has %d entries, want 3: %+v", len(pending), pending)
	}
	for _, e := range pending {
		checkTime(t, "journal CreatedAt", e.CreatedAt)
		if !e.DoneAt.IsZero() {
			t.Errorf("pending entry %d has DoneAt %v", e.ID, e.DoneAt)
		}
	}
	byID := map[int64]store.JournalEntry{}
	for _, e := range pending {
		byID[e.ID] = e
	}
	wantUpdate := update
	wantUpdate.ID, wantUpdate.State, wantUpdate.CreatedAt = ids["update"], store.JournalPending, byID[ids["update"]].CreatedAt
	diff(t, "pending update entry", wantUpdate, byID[ids["update"]])

	created := adapters.Ref{Tracker: "jira", Project: "ENG", ID: "10042", Key: "ENG-42", URL: "https://example.atlassian.net/browse/ENG-42"}
	if err := o.JournalFinish(ctx, ids["create"], store.JournalDone, created, l.ID, "", store.Lease{}); err != nil {
		t.Fatalf("JournalFinish(create): %v", err)
	}
	if err := o.JournalFinish(ctx, ids["update"], store.JournalDone, adapters.Ref{}, 0, "", store.Lease{}); err != nil {
		t.Fatalf("JournalFinish(update): %v", err)
	}
	if err := o.JournalFinish(ctx, ids["failing"], store.JournalFailed, adapters.Ref{}, 0, "HTTP 422: Validation Failed", store.Lease{}); err != nil {
		t.Fatalf("JournalFinish(failing): %v", err)
	}

	pending, err = o.PendingJournal(ctx, "f1")
	if err != nil {
		t.Fatalf("PendingJournal: %v", err)
	}
	if len(pending) != 0 {
		t.Errorf("PendingJournal(f1) after finishing = %+v, want none", pending)
	}
	pending, err = o.PendingJournal(ctx, "")
	if err != nil {
		t.Fatalf("PendingJournal(\"\"): %v", err)
	}
	if len(pending) != 1 || pending[0].ID != ids["other"] {
		t.Errorf("PendingJournal(\"\") = %+v, want only entry %d of f2", pending, ids["other"])
	}

	run1, err := o.RunJournal(ctx, 1)
	if err != nil {
		t.Fatalf("RunJournal: %v", err)
	}
	got := map[int64]store.JournalEntry{}
	for _, e := range run1 {
		if e.State != store.JournalPending {
			checkTime(t, fmt.Sprintf("DoneAt of entry %d", e.ID), e.DoneAt)
		}
		got[e.ID] = e
	}
	tests := []struct {
		name   string
		state  string
		result adapters.Ref
		linkID int64
		errMsg string
	}{
		{"create", store.JournalDone, created, l.ID, ""},
		{"update", store.JournalDone, adapters.Ref{}, l.ID, ""}, // link 0 kept the intent's link
		{"failing", store.JournalFailed, adapters.Ref{}, 0, "HTTP 422: Validation Failed"},
	}
	for _, tc := range tests {
		e := got[ids[tc.name]]
		diff(t, tc.name+" entry after finish",
			[]any{tc.state, tc.result, tc.linkID, tc.errMsg},
			[]any{e.State, e.Result, e.LinkID, e.Error})
	}

	if err := o.JournalSetState(ctx, ids["create"], store.JournalUndone); err != nil {
		t.Fatalf("JournalSetState: %v", err)
	}
	run1, err = o.RunJournal(ctx, 1)
	if err != nil {
		t.Fatalf("RunJournal: %v", err)
	}
	for _, e := range run1 {
		if e.ID == ids["create"] {
			if e.State != store.JournalUndone || e.Result != created {
				t.Errorf("after JournalSetState(undone): state %q result %v, want undone and the result kept", e.State, e.Result)
			}
		}
	}
}

func testJournalOrder(t *testing.T, o store.Ops) {
	want := map[int64][]int64{}
	for i := range 12 {
		run := int64(1 + i%3)
		id, err := o.JournalIntent(ctx, journalEntry(run, "f1", i))
		if err != nil {
			t.Fatalf("JournalIntent: %v", err)
		}
		want[run] = append(want[run], id)
	}
	for run, ids := range want {
		entries, err := o.RunJournal(ctx, run)
		if err != nil {
			t.Fatalf("RunJournal(%d): %v", run, err)
		}
		var got []int64
		for _, e := range entries {
			got = append(got, e.ID)
		}
		diff(t, fmt.Sprintf("RunJournal(%d) IDs", run), ids, got)
	}
	pending, err := o.PendingJournal(ctx, "f1")
	if err != nil {
		t.Fatalf("PendingJournal: %v", err)
	}
	for i := 1; i < len(pending); i++ {
		if pending[i-1].ID >= pending[i].ID {
			t.Errorf("PendingJournal not oldest first: %d before %d", pending[i-1].ID, pending[i].ID)
		}
	}
	entries, err := o.RunJournal(ctx, 99)
	if err != nil || len(entries) != 0 {
		t.Errorf("RunJournal of an unknown run = %v, %v; want none", entries, err)
	}
}

func testJournalErrors(t *testing.T, o store.Ops) {
	id, err := o.JournalIntent(ctx, journalEntry(1, "f1", 1))
	if err != nil {
		t.Fatalf("JournalIntent: %v", err)
	}
	wantErr(t, "JournalFinish of a missing entry",
		o.JournalFinish(ctx, id+100, store.JournalDone, adapters.Ref{}, 0, "", store.Lease{}), store.ErrNotFound)
	wantErr(t, "JournalSetState of a missing entry",
		o.JournalSetState(ctx, id+100, store.JournalUndone), store.ErrNotFound)
	if err := o.JournalFinish(ctx, id, "exploded", adapters.Ref{}, 0, "", store.Lease{}); err == nil {
		t.Errorf("JournalFinish with an unknown state succeeded, want an error")
	}
	if err := o.JournalSetState(ctx, id, "exploded"); err == nil {
		t.Errorf("JournalSetState with an unknown state succeeded, want an error")
	}

	// An ambiguous create failure stays pending, with its error.
	if err := o.JournalFinish(ctx, id, store.JournalPending, adapters.Ref{}, 0, "timeout after POST", store.Lease{}); err != nil {
		t.Fatalf("JournalFinish(pending): %v", err)
	}
	pending, err := o.PendingJournal(ctx, "f1")
	if err != nil {
		t.Fatalf("PendingJournal: %v", err)
	}
	if len(pending) != 1 || pending[0].Error != "timeout after POST" || !pending[0].DoneAt.IsZero() {
		t.Errorf("after JournalFinish(pending) = %+v, want one pending entry with the error and no DoneAt", pending)
	}
}

// Conflicts.

func testConflicts(t *testing.T, o store.Ops) {
	l := mustCreate(t, o, link("f1", 1))
	l2 := mustCreate(t, o, link("f2", 1))
	put := func(c store.Conflict) int64 {
		t.Helper()
		id, err := o.PutConflict(ctx, c)
		if err != nil {
			t.Fatalf("PutConflict(%+v): %v", c, err)
		}
		return id
	}
	first := store.Conflict{Flow: "f1", LinkID: l.ID, Field: "status", Base: "Open", A: "In Progress", B: "closed"}
	id := put(first)
	got, err := o.GetConflict(ctx, id)
	if err != nil {
		t.Fatalf("GetConflict: %v", err)
	}
	checkTime(t, "conflict CreatedAt", got.CreatedAt)
	want := first
	want.ID, want.State, want.CreatedAt = id, store.ConflictOpen, got.CreatedAt
	diff(t, "new conflict", want, got)

	again := first
	again.A, again.B = "Done", "wontfix"
	if id2 := put(again); id2 != id {
		t.Errorf("re-raising an open conflict gave ID %d, want the same ID %d", id2, id)
	}
	got, err = o.GetConflict(ctx, id)
	if err != nil {
		t.Fatalf("GetConflict: %v", err)
	}
	want.A, want.B = "Done", "wontfix"
	diff(t, "replaced conflict", want, got)

	titleID := put(store.Conflict{Flow: "f1", LinkID: l.ID, Field: "title", Base: "x", A: "y", B: "z"})
	otherID := put(store.Conflict{Flow: "f2", LinkID: l2.ID, Field: "status", Base: "x", A: "y", B: "z"})
	if titleID == id || otherID == id || otherID == titleID {
		t.Errorf("distinct conflicts share IDs: %d %d %d", id, titleID, otherID)
	}

	if err := o.ResolveConflict(ctx, id, "value", "Blocked"); err != nil {
		t.Fatalf("ResolveConflict: %v", err)
	}
	got, err = o.GetConflict(ctx, id)
	if err != nil {
		t.Fatalf("GetConflict: %v", err)
	}
	checkTime(t, "ResolvedAt", got.ResolvedAt)
	want.State, want.Resolution, want.Value, want.ResolvedAt = store.ConflictResolved, "value", "Blocked", got.ResolvedAt
	diff(t, "resolved conflict", want, got)

	// Once resolved, the same field conflicting again is a new conflict.
	reopened := put(first)
	if reopened == id {
		t.Errorf("a conflict after resolution reused the resolved conflict's ID %d", id)
	}

	ids := func(cs []store.Conflict) []int64 {
		var out []int64
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	lists := []struct {
		flow, state string
		want        []int64
	}{
		{"f1", "", []int64{id, titleID, reopened}},
		{"f1", store.ConflictOpen, []int64{titleID, reopened}},
		{"f1", store.ConflictResolved, []int64{id}},
		{"", store.ConflictOpen, []int64{titleID, otherID, reopened}},
		{"", "", []int64{id, titleID, otherID, reopened}},
		{"f3", "", nil},
	}
	for _, tc := range lists {
		cs, err := o.ListConflicts(ctx, tc.flow, tc.state)
		if err != nil {
			t.Fatalf("ListConflicts(%q, %q): %v", tc.flow, tc.state, err)
		}
		diff(t, fmt.Sprintf("ListConflicts(%q, %q)", tc.flow, tc.state), tc.want, ids(cs))
	}
}

func testConflictErrors(t *testing.T, o store.Ops) {
	_, err := o.GetConflict(ctx, 12345)
	wantErr(t, "GetConflict of a missing ID", err, store.ErrNotFound)
	wantErr(t, "ResolveConflict of a missing ID", o.ResolveConflict(ctx, 12345, "a", ""), store.ErrNotFound)
	l := mustCreate(t, o, link("f1", 1))
	id, err := o.PutConflict(ctx, store.Conflict{Flow: "f1", LinkID: l.ID, Field: "status"})
	if err != nil {
		t.Fatalf("PutConflict: %v", err)
	}
	if err := o.ResolveConflict(ctx, id, "both", ""); err == nil {
		t.Errorf("ResolveConflict with resolution \"both\" succeeded, want an error")
	}
}

// Runs.

func testRuns(t *testing.T, o store.Ops) {
	start := func(flow string, dry bool) store.Run {
		t.Helper()
		r, err := o.StartRun(ctx, flow, dry)
		if err != nil {
			t.Fatalf("StartRun(%s): %v", flow, err)
		}
		return r
	}
	r1 := start("f1", false)
	if r1.ID <= 0 || r1.State != store.RunRunning || r1.Flow != "f1" || r1.DryRun {
		t.Errorf("StartRun = %+v, want a running run of f1 with an ID", r1)
	}
	checkTime(t, "StartedAt", r1.StartedAt)
	got, err := o.GetRun(ctx, r1.ID)
	if err != nil {
		t.Fatalf("GetRun: %v", err)
	}
	diff(t, "started run", r1, got)

	r2 := start("f2", true)
	r3 := start("f1", false)

	done := r1
	done.State = store.RunConflicts
	done.Counts = store.Counts{Created: 1, Updated: 2, Unchanged: 3, Conflicts: 4, Archived: 5, Unlinked: 6, Comments: 7, Errors: 8}
	done.Error = "2 items failed: ENG-4 (HTTP 400)"
	if err := o.FinishRun(ctx, done); err != nil {
		t.Fatalf("FinishRun: %v", err)
	}
	got, err = o.GetRun(ctx, r1.ID)
	if err != nil {
		t.Fatalf("GetRun: %v", err)
	}
	checkTime(t, "FinishedAt", got.FinishedAt)
	done.FinishedAt = got.FinishedAt
	diff(t, "finished run", done, got)

	stopped := r2
	stopped.State, stopped.Error = store.RunStopped, "would archive 60% of items"
	stopped.FinishedAt = time.Date(2025, 5, 6, 7, 8, 9, 10, time.FixedZone("X", -3600))
	if err := o.FinishRun(ctx, stopped); err != nil {
		t.Fatalf("FinishRun: %v", err)
	}
	got2, err := o.GetRun(ctx, r2.ID)
	if err != nil {
		t.Fatalf("GetRun: %v", err)
	}
	diff(t, "dry run finished at a given time", stopped, got2)
	if got2.FinishedAt.Location() != time.UTC {
		t.Errorf("FinishedAt in %v, want UTC", got2.FinishedAt.Location())
	}

	ids := func(rs []store.Run) []int64 {
		var out []int64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	lists := []struct {
		flow  string
		limit int
		want  []int64
	}{
		{"", 0, []int64{r3.ID, r2.ID, r1.ID}},
		{"f1", 0, []int64{r3.ID, r1.ID}},
		{"f1", 1, []int64{r3.ID}},
		{"", 2, []int64{r3.ID, r2.ID}},
		{"f9", 0, nil},
	}
	for _, tc := range lists {
		rs, err := o.ListRuns(ctx, tc.flow, tc.limit)
		if err != nil {
			t.Fatalf("ListRuns(%q, %d): %v", tc.flow, tc.limit, err)
		}
		diff(t, fmt.Sprintf("ListRuns(%q, %d)", tc.flow, tc.limit), tc.want, ids(rs))
	}
	rs, err := o.ListRuns(ctx, "f1", 0)
	if err != nil {
		t.Fatalf("ListRuns: %v", err)
	}
	if len(rs) == 2 {
		diff(t, "listed finished run", done, rs[1])
	}
}

func testRunErrors(t *testing.T, o store.Ops) {
	_, err := o.GetRun(ctx, 12345)
	wantErr(t, "GetRun of a missing ID", err, store.ErrNotFound)
	wantErr(t, "FinishRun of a missing ID", o.FinishRun(ctx, store.Run{ID: 12345, State: store.RunOK}), store.ErrNotFound)
}

func testErrorKeepsTxUsable(t *testing.T, o store.Ops) {
	l := mustCreate(t, o, link("f1", 1))
	_, err := o.CreateLink(ctx, link("f1", 1))
	wantErr(t, "duplicate CreateLink", err, store.ErrExists)
	wantErr(t, "PutBase of a missing link", o.PutBase(ctx, base(l.ID+100, "x")), store.ErrNotFound)
	found, err := o.FindLink(ctx, "f1", store.SideA, l.A.ID)
	if err != nil {
		t.Fatalf("FindLink after ErrExists: %v", err)
	}
	diff(t, "link found after ErrExists", l, found)
	mustPutBase(t, o, base(l.ID, "Open"))
	l2 := mustCreate(t, o, link("f1", 2))
	clash := l2
	clash.A = l.A
	wantErr(t, "UpdateLink onto another link's item", o.UpdateLink(ctx, clash), store.ErrExists)
	wantErr(t, "PutCommentLink of a missing link",
		o.PutCommentLink(ctx, store.CommentLink{LinkID: l2.ID + 100, AID: "1", BID: "2"}), store.ErrNotFound)
	if got, err := o.GetLink(ctx, l2.ID); err != nil || got.A != l2.A {
		t.Errorf("link after the refused update = %+v, %v; want it unchanged", got, err)
	}
	mustCreate(t, o, link("f1", 3))
}

// Transactions.

// writeEverything makes one write of every kind, so rollback tests can
// check each one vanished.
func writeEverything(t *testing.T, o store.Ops) {
	t.Helper()
	l := mustCreate(t, o, link("f1", 1))
	mustPutBase(t, o, base(l.ID, "Open"))
	if err := o.PutCommentLink(ctx, store.CommentLink{LinkID: l.ID, AID: "1", BID: "2"}); err != nil {
		t.Fatalf("PutCommentLink: %v", err)
	}
	if err := o.PutCursor(ctx, "f1", store.SideA, "c"); err != nil {
		t.Fatalf("PutCursor: %v", err)
	}
	if _, err := o.JournalIntent(ctx, journalEntry(1, "f1", 1)); err != nil {
		t.Fatalf("JournalIntent: %v", err)
	}
	if _, err := o.PutConflict(ctx, store.Conflict{Flow: "f1", LinkID: l.ID, Field: "status"}); err != nil {
		t.Fatalf("PutConflict: %v", err)
	}
	if _, err := o.StartRun(ctx, "f1", false); err != nil {
		t.Fatalf("StartRun: %v", err)
	}
	mustPutSnapshot(t, o, snapshot("jira:1", "2025-03-04", 1))
	if err := o.PutKV(ctx, "github", "etag", `"abc"`); err != nil {
		t.Fatalf("PutKV: %v", err)
	}
}

// counts reports how many of each thing writeEverything writes exist.
func counts(t *testing.T, o store.Ops) map[string]int {
	t.Helper()
	out := map[string]int{"comment links": 0, "cursors": 0}
	links, err := o.ListLinks(ctx, "")
	if err != nil {
		t.Fatalf("ListLinks: %v", err)
	}
	out["links"] = len(links)
	bases, err := o.ListBases(ctx, "f1")
	if err != nil {
		t.Fatalf("ListBases: %v", err)
	}
	out["bases"] = len(bases)
	for _, l := range links {
		cls, err := o.ListCommentLinks(ctx, l.ID)
		if err != nil {
			t.Fatalf("ListCommentLinks: %v", err)
		}
		out["comment links"] += len(cls)
	}
	if c, err := o.GetCursor(ctx, "f1", store.SideA); err != nil {
		t.Fatalf("GetCursor: %v", err)
	} else if c != "" {
		out["cursors"] = 1
	}
	pending, err := o.PendingJournal(ctx, "")
	if err != nil {
		t.Fatalf("PendingJournal: %v", err)
	}
	out["journal"] = len(pending)
	cs, err := o.ListConflicts(ctx, "", "")
	if err != nil {
		t.Fatalf("ListConflicts: %v", err)
	}
	out["conflicts"] = len(cs)
	rs, err := o.ListRuns(ctx, "", 0)
	if err != nil {
		t.Fatalf("ListRuns: %v", err)
	}
	out["runs"] = len(rs)
	out["snapshots"] = len(mustListSnapshots(t, o, "", ""))
	if _, ok, err := o.GetKV(ctx, "github", "etag"); err != nil {
		t.Fatalf("GetKV: %v", err)
	} else if ok {
		out["kv"] = 1
	} else {
		out["kv"] = 0
	}
	return out
}

var (
	allOne  = map[string]int{"links": 1, "bases": 1, "comment links": 1, "cursors": 1, "journal": 1, "conflicts": 1, "runs": 1, "snapshots": 1, "kv": 1}
	allNone = map[string]int{"links": 0, "bases": 0, "comment links": 0, "cursors": 0, "journal": 0, "conflicts": 0, "runs": 0, "snapshots": 0, "kv": 0}
)

func testTxCommit(t *testing.T, s store.Store) {
	err := s.Tx(ctx, func(tx store.Ops) error {
		writeEverything(t, tx)
		diff(t, "inside the transaction", allOne, counts(t, tx))
		return nil
	})
	if err != nil {
		t.Fatalf("Tx: %v", err)
	}
	diff(t, "after commit", allOne, counts(t, s))
}

func testTxRollbackOnError(t *testing.T, s store.Store) {
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx store.Ops) error {
		writeEverything(t, tx)
		return fmt.Errorf("applying plan: %w", boom)
	})
	if !errors.Is(err, boom) {
		t.Errorf("Tx returned %v, want fn's error", err)
	}
	diff(t, "after rollback", allNone, counts(t, s))
	// The store is still usable.
	mustCreate(t, s, link("f1", 1))
}

func testTxRollbackOnPanic(t *testing.T, s store.Store) {
	func() {
		defer func() {
			if p := recover(); p != "kaboom" {
				t.Errorf("recovered %v, want the panic from fn to propagate", p)
			}
		}()
		_ = s.Tx(ctx, func(tx store.Ops) error {
			writeEverything(t, tx)
			panic("kaboom")
		})
	}()
	diff(t, "after panic", allNone, counts(t, s))
	mustCreate(t, s, link("f1", 1))
}

// Locks.

func testLock(t *testing.T, s store.Store) {
	const name = "flow:f1"
	first, err := s.Lock(ctx, name, "host-a:1", time.Hour)
	if err != nil {
		t.Fatalf("Lock by host-a: %v", err)
	}
	if first.Name != name || first.Owner != "host-a:1" || first.Token <= 0 || first.Expires.IsZero() {
		t.Errorf("Lock by host-a = %+v, want name %s, owner host-a:1, a positive token and an expiry", first, name)
	}
	_, err = s.Lock(ctx, name, "host-b:2", time.Hour)
	wantErr(t, "Lock by host-b", err, store.ErrLocked)
	var le *store.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Lock by host-b returned %T %v, want *store.LockedError", err, err)
	}
	if le.Name != name || le.Owner != "host-a:1" || le.Expires.IsZero() {
		t.Errorf("LockedError = %+v, want name %s, owner host-a:1 and an expiry", le, name)
	}

	renewed, err := s.Lock(ctx, name, "host-a:1", 2*time.Hour)
	if err != nil {
		t.Errorf("re-Lock by the owner (renew): %v", err)
	}
	if renewed.Token != first.Token || !renewed.Expires.After(first.Expires) {
		t.Errorf("renewal = %+v, want token %d kept and the expiry moved past %s", renewed, first.Token, first.Expires)
	}
	if _, err := s.Lock(ctx, "flow:f2", "host-b:2", time.Hour); err != nil {
		t.Errorf("Lock of another name: %v", err)
	}
	if err := s.Unlock(ctx, name, "host-b:2"); err != nil {
		t.Errorf("Unlock by a non-owner: %v, want no-op", err)
	}
	_, err = s.Lock(ctx, name, "host-b:2", time.Hour)
	wantErr(t, "Lock by host-b after its Unlock of a lease it did not hold", err, store.ErrLocked)

	if err := s.Unlock(ctx, name, "host-a:1"); err != nil {
		t.Fatalf("Unlock by the owner: %v", err)
	}
	next, err := s.Lock(ctx, name, "host-b:2", time.Hour)
	if err != nil {
		t.Errorf("Lock by host-b after release: %v", err)
	}
	// The token counter survives the release: a lock after an unlock is
	// a new acquisition.
	if next.Token <= first.Token {
		t.Errorf("token after release and re-lock = %d, want more than %d", next.Token, first.Token)
	}
	if err := s.Unlock(ctx, name, "host-b:2"); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	again, err := s.Lock(ctx, name, "host-b:2", time.Hour)
	if err != nil || again.Token <= next.Token {
		t.Errorf("the same owner re-locking after its Unlock = %+v, %v; want a token above %d", again, err, next.Token)
	}
	if err := s.Unlock(ctx, "never-locked", "host-a:1"); err != nil {
		t.Errorf("Unlock of a free name: %v", err)
	}
}

func testLockExpired(t *testing.T, s store.Store) {
	// A ttl in the past stands for a holder that died: no clock to fake,
	// no sleep.
	dead, err := s.Lock(ctx, "flow:f1", "dead:1", -time.Minute)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	alive, err := s.Lock(ctx, "flow:f1", "alive:2", time.Hour)
	if err != nil {
		t.Fatalf("Lock of an expired lease: %v", err)
	}
	if alive.Token <= dead.Token {
		t.Errorf("takeover token %d, want more than the expired holder's %d", alive.Token, dead.Token)
	}
	_, err = s.Lock(ctx, "flow:f1", "dead:1", time.Hour)
	var le *store.LockedError
	if !errors.As(err, &le) || le.Owner != "alive:2" {
		t.Errorf("old owner re-Lock = %v, want LockedError naming alive:2", err)
	}
	// The holder re-locking its own expired lease is a new acquisition
	// too: someone may have held it in between.
	lapsed, err := s.Lock(ctx, "flow:f2", "me:1", -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	back, err := s.Lock(ctx, "flow:f2", "me:1", time.Hour)
	if err != nil || back.Token <= lapsed.Token {
		t.Errorf("re-Lock of an own expired lease = %+v, %v; want a token above %d", back, err, lapsed.Token)
	}
}

// Concurrency.

const (
	workers   = 8
	perWorker = 25
)

// parallel runs fn(w) on workers goroutines and fails on any error.
func parallel(t *testing.T, fn func(w int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			if err := fn(w); err != nil {
				errs <- fmt.Errorf("worker %d: %w", w, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testConcurrentLinks(t *testing.T, s store.Store) {
	parallel(t, func(w int) error {
		for i := range perWorker {
			l, err := s.CreateLink(ctx, link("f1", w*perWorker+i))
			if err != nil {
				return err
			}
			if err := s.PutBase(ctx, base(l.ID, "Open")); err != nil {
				return err
			}
			if _, err := s.GetLink(ctx, l.ID); err != nil {
				return err
			}
		}
		return nil
	})
	links, err := s.ListLinks(ctx, "f1")
	if err != nil {
		t.Fatalf("ListLinks: %v", err)
	}
	seen := map[int64]bool{}
	for _, l := range links {
		seen[l.ID] = true
	}
	if len(links) != workers*perWorker || len(seen) != len(links) {
		t.Errorf("%d links with %d distinct IDs, want %d", len(links), len(seen), workers*perWorker)
	}
	bases, err := s.ListBases(ctx, "f1")
	if err != nil {
		t.Fatalf("ListBases: %v", err)
	}
	if len(bases) != workers*perWorker {
		t.Errorf("%d bases, want %d", len(bases), workers*perWorker)
	}
}

func testConcurrentJournal(t *testing.T, s store.Store) {
	parallel(t, func(w int) error {
		for i := range perWorker {
			id, err := s.JournalIntent(ctx, journalEntry(int64(w), "f1", i))
			if err != nil {
				return err
			}
			if i%2 == 0 {
				if err := s.JournalFinish(ctx, id, store.JournalDone, adapters.Ref{}, 0, "", store.Lease{}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	total := 0
	for w := range workers {
		entries, err := s.RunJournal(ctx, int64(w))
		if err != nil {
			t.Fatalf("RunJournal: %v", err)
		}
		total += len(entries)
	}
	if total != workers*perWorker {
		t.Errorf("%d journal entries, want %d", total, workers*perWorker)
	}
	pending, err := s.PendingJournal(ctx, "f1")
	if err != nil {
		t.Fatalf("PendingJournal: %v", err)
	}
	if want := workers * (perWorker / 2); len(pending) != want {
		t.Errorf("%d pending entries, want %d", len(pending), want)
	}
}

func testConcurrentTx(t *testing.T, s store.Store) {
	// Each worker's transaction reads, then writes; immediate transactions
	// (or row locks) must serialise them without deadlock or lost writes.
	parallel(t, func(w int) error {
		for i := range perWorker / 5 {
			err := s.Tx(ctx, func(tx store.Ops) error {
				c, err := tx.GetCursor(ctx, "shared", store.SideA)
				if err != nil {
					return err
				}
				n := 0
				if c != "" {
					if _, err := fmt.Sscan(c, &n); err != nil {
						return err
					}
				}
				l, err := tx.CreateLink(ctx, link("f1", w*perWorker+i))
				if err != nil {
					return err
				}
				if err := tx.PutBase(ctx, base(l.ID, "Open")); err != nil {
					return err
				}
				return tx.PutCursor(ctx, "shared", store.SideA, fmt.Sprint(n+1))
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	c, err := s.GetCursor(ctx, "shared", store.SideA)
	if err != nil {
		t.Fatalf("GetCursor: %v", err)
	}
	if want := fmt.Sprint(workers * (perWorker / 5)); c != want {
		t.Errorf("counter = %s after %s increments: a read-modify-write was lost", c, want)
	}
}

// Context.

func testContextCancelled(t *testing.T, s store.Store) {
	l := mustCreate(t, s, link("f1", 1))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	checks := []struct {
		name string
		err  error
	}{
		{"CreateLink", func() error { _, err := s.CreateLink(cctx, link("f1", 2)); return err }()},
		{"GetLink", func() error { _, err := s.GetLink(cctx, l.ID); return err }()},
		{"ListBases", func() error { _, err := s.ListBases(cctx, "f1"); return err }()},
		{"JournalIntent", func() error { _, err := s.JournalIntent(cctx, journalEntry(1, "f1", 1)); return err }()},
		{"Tx", s.Tx(cctx, func(tx store.Ops) error { _, err := tx.CreateLink(cctx, link("f1", 3)); return err })},
		{"Lock", func() error { _, err := s.Lock(cctx, "x", "me", time.Minute); return err }()},
		{"BumpGeneration", func() error { _, err := s.BumpGeneration(cctx, "flow:f1"); return err }()},
		{"SeenDelivery", func() error { _, err := s.SeenDelivery(cctx, "github", "d", time.Hour); return err }()},
		{"TakeTokens", func() error { _, err := s.TakeTokens(cctx, "github:app", 1, 1, 1, time.Now()); return err }()},
		{"PutKV", s.PutKV(cctx, "github", "etag", "x")},
		{"PutEvent", func() error { _, err := s.PutEvent(cctx, store.Event{Kind: "run.finished"}); return err }()},
		{"ClaimEvents", func() error { _, err := s.ClaimEvents(cctx, "w", 1, time.Minute); return err }()},
	}
	for _, c := range checks {
		wantErr(t, c.name+" with a cancelled context", c.err, context.Canceled)
	}
	for name, err := range cancelledSnapshotOps(cctx, s) {
		wantErr(t, name+" with a cancelled context", err, context.Canceled)
	}
	links, err := s.ListLinks(ctx, "f1")
	if err != nil {
		t.Fatalf("ListLinks: %v", err)
	}
	if len(links) != 1 {
		t.Errorf("%d links after cancelled creates, want 1", len(links))
	}
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testLinkCount(t *testing.T, o store.Ops) {
	for n := 1; n <= 4; n++ {
		mustCreate(t, o, link("f1", n))
	}
	mustCreate(t, o, link("f2", 9))
	// A tombstone (one side gone) is not a live link.
	l := link("f1", 5)
	l.B.ID = store.TombstonePrefix + l.B.ID
	tomb := mustCreate(t, o, l)
	if !tomb.Tombstone() {
		t.Fatalf("link with %q id is not a tombstone", l.B.ID)
	}
	for _, tc := range []struct {
		flow string
		want int
	}{{"f1", 4}, {"f2", 1}, {"none", 0}} {
		got, err := o.CountLinks(ctx, tc.flow)
		if err != nil {
			t.Fatalf("CountLinks(%q): %v", tc.flow, err)
		}
		if got != tc.want {
			t.Errorf("CountLinks(%q) = %d, want %d", tc.flow, got, tc.want)
		}
	}
}
