package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/internal/redact"
	"github.com/tracksync/tracksync/store"
)

// testStoredErrorsRedacted: a run's error and a journal entry's error are
// what trackers said, and a tracker may echo a credential in them. Every
// driver stores them through redact.Global, the process-wide set config
// fills: the secret never reaches the database.
func testStoredErrorsRedacted(t *testing.T, o store.Ops) {
	ctx := context.Background()
	const secret = "storetest-echoed-SECRET-91"
	redact.Global.Add(secret)
	r, err := o.StartRun(ctx, "f1", false)
	if err != nil {
		t.Fatal(err)
	}
	r.State, r.Error = store.RunFailed, "HTTP 401: bad token "+secret
	if err := o.FinishRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := o.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got.Error, secret) || !strings.Contains(got.Error, redact.Mask) {
		t.Errorf("stored run error %q", got.Error)
	}
	id, err := o.JournalIntent(ctx, journalEntry(r.ID, "f1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.JournalFinish(ctx, id, store.JournalFailed, adapters.Ref{}, 0, "HTTP 401: "+secret, store.Lease{}); err != nil {
		t.Fatal(err)
	}
	js, err := o.RunJournal(ctx, r.ID)
	if err != nil || len(js) != 1 {
		t.Fatalf("journal: %v %v", js, err)
	}
	if strings.Contains(js[0].Error, secret) || !strings.Contains(js[0].Error, redact.Mask) {
		t.Errorf("stored journal error %q", js[0].Error)
	}
}
