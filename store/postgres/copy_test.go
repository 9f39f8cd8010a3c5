package postgres

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/sqlite"
)

// fill writes one or more of every copied kind into s, with gaps in the
// ids (a deleted link), keyless links, tombstones, NULs and bytes that
// are not UTF-8. It returns the highest link id handed out: a deleted
// link's.
func fill(t *testing.T, s store.Store) int64 {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var links []store.Link
	for i := range 6 {
		l := store.Link{Flow: "f1", Key: fmt.Sprintf("k%d", i),
			A: adapters.Ref{Tracker: "jira", Project: "ENG", ID: fmt.Sprint(100 + i), Key: fmt.Sprintf("ENG-%d", i), URL: "https://x/ENG"},
			B: adapters.Ref{Tracker: "github", Project: "a/b", ID: fmt.Sprint(i), Key: fmt.Sprintf("#%d", i)}}
		if i == 2 {
			l.Key = ""
		}
		if i == 4 {
			l.B.ID = store.TombstonePrefix + l.B.ID
		}
		got, err := s.CreateLink(ctx, l)
		must(err)
		links = append(links, got)
	}
	must(s.DeleteLink(ctx, links[1].ID))
	// The newest link deleted: its id must stay used in the copy.
	newest, err := s.CreateLink(ctx, store.Link{Flow: "f1", A: adapters.Ref{ID: "gone"}, B: adapters.Ref{ID: "gone"}})
	must(err)
	must(s.DeleteLink(ctx, newest.ID))
	for _, l := range links[2:] {
		must(s.PutBase(ctx, store.Base{LinkID: l.ID, A: map[string]string{"title": "Straße", "x": "\x00unknown"},
			B: map[string]string{"title": "a\xffb"}, AVersion: "3", BVersion: `W/"e"`, SyncedAt: time.Unix(1700000000, 123456789)}))
		must(s.PutCommentLink(ctx, store.CommentLink{LinkID: l.ID, AID: "9", BID: "1", BodyHash: "h"}))
		must(s.PutCommentLink(ctx, store.CommentLink{LinkID: l.ID, AID: "3", BID: "2"}))
	}
	must(s.PutBase(ctx, store.Base{LinkID: links[0].ID})) // nil maps
	must(s.PutCursor(ctx, "f1", store.SideA, "2026-01-01T00:00:00Z"))
	must(s.PutCursor(ctx, "f2", store.SideB, `{"etag":"x"}`))
	run, err := s.StartRun(ctx, "f1", false)
	must(err)
	lease, err := s.Lock(ctx, "flow:f1", "me", time.Hour)
	must(err)
	for i := range 3 {
		e := store.JournalEntry{RunID: run.ID, Flow: "f1", LinkID: links[i].ID, Op: "update", Side: store.SideB,
			Target: links[i].B, IdempotencyKey: fmt.Sprint("ik", i), LeaseName: lease.Name, LeaseToken: lease.Token,
			Before: map[string]string{"status": "open"}, After: map[string]string{"status": "closed"}}
		id, err := s.JournalIntent(ctx, e)
		must(err)
		switch i {
		case 1:
			must(s.JournalFinish(ctx, id, store.JournalDone, links[i].B, 0, "", lease))
		case 2:
			// A tracker's message cut in the middle of a character.
			must(s.JournalFinish(ctx, id, store.JournalFailed, adapters.Ref{}, 0, "HTTP 400: Ung\xc3", lease))
		}
	}
	cid, err := s.PutConflict(ctx, store.Conflict{Flow: "f1", LinkID: links[2].ID, Field: "title", Base: "\x00unknown", A: "x", B: "y"})
	must(err)
	must(s.ResolveConflict(ctx, cid, "value", "z"))
	_, err = s.PutConflict(ctx, store.Conflict{Flow: "f1", LinkID: links[3].ID, Field: "status", A: "Done", B: "open"})
	must(err)
	run.State, run.Counts, run.Error = store.RunConflicts, store.Counts{Created: 2, Conflicts: 1}, "1 held"
	must(s.FinishRun(ctx, run))
	_, err = s.StartRun(ctx, "f2", true)
	must(err)
	must(s.PutSnapshot(ctx, store.Snapshot{Initiative: "jira:1", Day: "2026-01-02", Total: 4, Done: 1, DoneByCount: 0.25, AtRisk: true}))
	must(s.PutSnapshot(ctx, store.Snapshot{Initiative: "jira:1", Day: "2026-01-01", Total: 4}))
	must(s.PutKV(ctx, "asana", "handshake_secret", "s3cr€t"))
	for range 3 {
		_, err := s.BumpGeneration(ctx, "flow:f1")
		must(err)
	}
	for i, kind := range []string{"run.finished", "conflict.held", "initiative.at_risk"} {
		_, err := s.PutEvent(ctx, store.Event{Kind: kind, DedupKey: fmt.Sprint("e", i), Payload: []byte{0, byte(i), 255}})
		must(err)
	}
	evs, err := s.ClaimEvents(ctx, "w", 2, time.Hour)
	must(err)
	must(s.AckEvent(ctx, evs[0].ID))
	must(s.RetryEvent(ctx, evs[1].ID, time.Now().Add(time.Hour), "HTTP 502"))
	return newest.ID
}

func TestCopyFromSQLite(t *testing.T) {
	src, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	high := fill(t, src)
	dst, _ := openTB(t, store.Options{})

	var progress bytes.Buffer
	res, err := store.Copy(ctx, src, dst, false, &progress)
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	want := map[string]int{"links": 5, "bases": 5, "comment_links": 8, "cursors": 2, "journal": 3, "conflicts": 2,
		"runs": 2, "snapshots": 2, "kv": 1, "generations": 1, "events": 3}
	if d := cmp.Diff(want, res.Counts); d != "" {
		t.Errorf("copied counts (-want +got):\n%s", d)
	}
	if !strings.Contains(progress.String(), "5 links") {
		t.Errorf("progress = %q", progress.String())
	}

	// What the engine reads is the same, through either driver.
	for _, read := range []struct {
		name string
		fn   func(store.Store) (any, error)
	}{
		{"links", func(s store.Store) (any, error) { return s.ListLinks(ctx, "") }},
		{"bases", func(s store.Store) (any, error) { return s.ListBases(ctx, "f1") }},
		{"pending journal", func(s store.Store) (any, error) { return s.PendingJournal(ctx, "") }},
		{"conflicts", func(s store.Store) (any, error) { return s.ListConflicts(ctx, "", "") }},
		{"runs", func(s store.Store) (any, error) { return s.ListRuns(ctx, "", 0) }},
		{"snapshots", func(s store.Store) (any, error) { return s.ListSnapshots(ctx, "", "") }},
		{"generation", func(s store.Store) (any, error) { return s.Generation(ctx, "flow:f1") }},
		{"cursor", func(s store.Store) (any, error) { return s.GetCursor(ctx, "f2", store.SideB) }},
	} {
		w, err1 := read.fn(src)
		g, err2 := read.fn(dst)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v / %v", read.name, err1, err2)
		}
		if d := cmp.Diff(w, g, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s differ after the copy (-sqlite +postgres):\n%s", read.name, d)
		}
	}
	// New ids come after the copied ones, and after the deleted newest
	// link's: a copied or deleted id never names a new row.
	l, err := dst.CreateLink(ctx, store.Link{Flow: "f1", A: adapters.Ref{ID: "new"}, B: adapters.Ref{ID: "new"}})
	if err != nil || l.ID <= high {
		t.Errorf("CreateLink after the copy = %d, %v; want an id past %d", l.ID, err, high)
	}

	// A second copy meets a non-empty target.
	_, err = store.Copy(ctx, src, dst, false, nil)
	if !errors.Is(err, store.ErrNotEmpty) || !strings.Contains(err.Error(), "links") || !strings.Contains(err.Error(), "--force") {
		t.Errorf("Copy into a non-empty store = %v, want ErrNotEmpty naming the tables and --force", err)
	}
	if n, _ := dst.CountLinks(ctx, "f1"); n != 5 {
		t.Errorf("the refused copy changed the target: %d live links, want 5", n)
	}
	// With replace the target becomes the source again (the extra link goes).
	res2, err := store.Copy(ctx, src, dst, true, nil)
	if err != nil || res2.Checksum != res.Checksum {
		t.Fatalf("Copy with replace = %+v, %v; want the first copy's checksum %s", res2, err, res.Checksum)
	}
	if _, err := dst.GetLink(ctx, l.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the replaced target still has link %d: %v", l.ID, err)
	}
	// The outbox carries on: the event never claimed is due, the acked
	// and the retried-later ones are not, and a delivered key still
	// de-duplicates.
	due, err := dst.ClaimEvents(ctx, "after-copy", 10, time.Hour)
	if err != nil || len(due) != 1 || due[0].Kind != "initiative.at_risk" || !bytes.Equal(due[0].Payload, []byte{0, 2, 255}) {
		t.Errorf("due events after the copy = %+v, %v; want the at-risk event alone", due, err)
	}
	if id, err := dst.PutEvent(ctx, store.Event{Kind: "run.finished", DedupKey: "e0"}); err != nil || id > 3 {
		t.Errorf("PutEvent with a delivered key after the copy = %d, %v; want the copied event's id", id, err)
	}
}

// TestCopyBackToSQLite: the copy goes the other way too (a way back, or a
// file backup of a PostgreSQL installation), with the same checksum.
func TestCopyBackToSQLite(t *testing.T) {
	src, _ := openTB(t, store.Options{})
	high := fill(t, src)
	dst, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "back.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	res, err := store.Copy(ctx, src, dst, false, nil)
	if err != nil {
		t.Fatalf("Copy to sqlite: %v", err)
	}
	if res.Counts["links"] != 5 || res.Counts["journal"] != 3 {
		t.Errorf("counts = %v", res.Counts)
	}
	l, err := dst.CreateLink(ctx, store.Link{Flow: "f1", A: adapters.Ref{ID: "new"}, B: adapters.Ref{ID: "new"}})
	if err != nil || l.ID <= high {
		t.Errorf("CreateLink after the copy = %d, %v; want an id past %d", l.ID, err, high)
	}
	if _, err := store.Copy(ctx, src, dst, false, nil); !errors.Is(err, store.ErrNotEmpty) {
		t.Errorf("second copy = %v, want ErrNotEmpty", err)
	}
	if res2, err := store.Copy(ctx, src, dst, true, nil); err != nil || res2.Checksum != res.Checksum {
		t.Errorf("copy with replace = %+v, %v", res2, err)
	}
}
