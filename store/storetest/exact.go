package storetest

import (
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// Values the engine keeps come back byte for byte, including a NUL (the
// engine marks a base value it could not know with "\x00unknown") and
// bytes that are not UTF-8 (a tracker's text cut mid-character). A
// server database's TEXT type takes neither, so a driver must store
// these values so that it can (PostgreSQL: bytea).
var exactValues = map[string]string{
	"unknown":  "\x00unknown",
	"nul":      "a\x00b",
	"not utf8": "a\xffb\xc3",
	"mixed":    "Straße \x00 \xe2\x82",
}

func testExactValues(t *testing.T, o store.Ops) {
	l := mustCreate(t, o, link("f1", 1))
	b := store.Base{LinkID: l.ID, A: exactValues, B: map[string]string{"\x00k\xff": "v"}}
	mustPutBase(t, o, b)
	got, err := o.GetBase(ctx, l.ID)
	if err != nil {
		t.Fatalf("GetBase: %v", err)
	}
	diff(t, "base with NULs and bytes that are not UTF-8", b, got)

	c := store.Conflict{Flow: "f1", LinkID: l.ID, Field: "title",
		Base: exactValues["unknown"], A: exactValues["not utf8"], B: exactValues["mixed"]}
	id, err := o.PutConflict(ctx, c)
	if err != nil {
		t.Fatalf("PutConflict: %v", err)
	}
	if err := o.ResolveConflict(ctx, id, "value", exactValues["nul"]); err != nil {
		t.Fatalf("ResolveConflict: %v", err)
	}
	gc, err := o.GetConflict(ctx, id)
	if err != nil {
		t.Fatalf("GetConflict: %v", err)
	}
	diff(t, "conflict values", []string{c.Base, c.A, c.B, exactValues["nul"]}, []string{gc.Base, gc.A, gc.B, gc.Value})

	e := journalEntry(1, "f1", 1)
	e.Before, e.After = exactValues, map[string]string{"title": exactValues["mixed"]}
	jid, err := o.JournalIntent(ctx, e)
	if err != nil {
		t.Fatalf("JournalIntent: %v", err)
	}
	// An error message cut mid-character must not lose the record of the
	// failure; its text may be repaired.
	if err := o.JournalFinish(ctx, jid, store.JournalFailed, adapters.Ref{}, 0, "HTTP 400: \xe2\x82", store.Lease{}); err != nil {
		t.Fatalf("JournalFinish with an error that is not UTF-8: %v", err)
	}
	entries, err := o.RunJournal(ctx, 1)
	if err != nil || len(entries) != 1 {
		t.Fatalf("RunJournal = %v, %v", entries, err)
	}
	diff(t, "journal field maps", []map[string]string{e.Before, e.After}, []map[string]string{entries[0].Before, entries[0].After})
	if entries[0].State != store.JournalFailed || len(entries[0].Error) < len("HTTP 400: ") {
		t.Errorf("journal entry = %q, %q; want failed with its error", entries[0].State, entries[0].Error)
	}
}
