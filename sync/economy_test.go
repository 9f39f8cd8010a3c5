package sync_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// The run after one that wrote lists the items it wrote (they changed
// since the cursor); they are at the versions it recorded, so their
// counterparts are not read again. (Comments are off: a memory item's
// Version does not cover them, so with comments on the engine reads them
// once more; Jira's and GitHub's do, see e2e's TestRequestBudget.)
func TestOwnWritesNotReadAgain(t *testing.T) {
	fields := defaultFields()
	delete(fields, "comments")
	e := newEnv(t, envOpts{fields: fields})
	seedBoth(e)
	e.sync(tsync.RunOptions{})
	e.clock.Advance(time.Minute)
	e.a.ResetCounts()
	e.b.ResetCounts()
	e.sync(tsync.RunOptions{})
	for name, tr := range map[string]*memory.Tracker{"a": e.a, "b": e.b} {
		c := tr.Counts()
		if c.Gets != 0 || c.CommentReads != 0 || c.Writes() != 0 {
			t.Errorf("side %s after a run that only wrote: %+v, want listings only", name, c)
		}
	}
	// A person's edit is still seen and copied.
	l := e.links()[0]
	e.clock.Advance(time.Minute)
	e.a.Edit(l.A, func(x *adapters.Item) { x.Title = "renamed" })
	e.sync(tsync.RunOptions{})
	if b, _ := e.b.Get(e.ctx, l.B); b.Title != "renamed" {
		t.Errorf("b's title %q after an edit on a, want renamed", b.Title)
	}
}

// bulkCounter counts CreateMany calls.
type bulkCounter struct {
	*memory.Tracker
	calls, items int
}

func (b *bulkCounter) CreateMany(ctx context.Context, reqs []adapters.CreateRequest) ([]adapters.CreateResult, error) {
	b.calls++
	b.items += len(reqs)
	return b.Tracker.CreateMany(ctx, reqs)
}

// Creates to a BulkCreator go through CreateMany, each still journaled,
// linked and settled on its own; one the tracker refuses is reported and
// the others are linked.
func TestCreatesGoThroughCreateMany(t *testing.T) {
	e := newEnv(t, envOpts{})
	for i := range 5 {
		e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Status: "To Do"})
	}
	bc := &bulkCounter{Tracker: e.b}
	e.flow.B = bc
	e.b.SetHook(func(op string, ref adapters.Ref, ph memory.Phase) error {
		if op == memory.OpCreate && ph == memory.Before && e.b.Counts().Creates > 0 && len(e.b.Items()) == 3 {
			return adapters.Permanent(errors.New("400 refused"))
		}
		return nil
	})
	res, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{})
	var we *tsync.WriteErrors
	if !errors.As(err, &we) || len(we.Errs) != 2 {
		t.Fatalf("err %v, want the refused create and the one after it (memory stops at the first failure) reported", err)
	}
	if bc.calls != 1 || bc.items != 5 {
		t.Errorf("CreateMany called %d times for %d items, want once for 5", bc.calls, bc.items)
	}
	if res.Run.Counts.Created != 3 || len(e.links()) != 3 {
		t.Errorf("created %d, %d links; want 3 and 3", res.Run.Counts.Created, len(e.links()))
	}
	pend, _ := e.st.PendingJournal(e.ctx, "f")
	if len(pend) != 2 {
		t.Errorf("%d creates pending, want 2: a refusal naming no request of the batch leaves both not made for recovery", len(pend))
	}
	e.b.SetHook(nil)
	e.clock.Advance(time.Minute)
	e.sync(tsync.RunOptions{Full: true})
	if n := len(e.b.Items()); n != 5 || len(e.links()) != 5 {
		t.Errorf("after the refusal lifted: %d items, %d links; want 5 and 5", n, len(e.links()))
	}
}

// A batch of creates whose run loses its lease between journaling the
// intents and the CreateMany call makes no call: the new holder's
// recovery owns the journaled creates, and nothing is duplicated.
func TestLostLeaseStopsBatch(t *testing.T) {
	const items, ttl = 6, 2 * time.Minute
	e := newEnv(t, envOpts{})
	for i := range items {
		e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Status: "To Do"})
	}
	bc := &bulkCounter{Tracker: e.b}
	e.flow.B = bc
	taken := false
	a := tsync.New(e.st, tsync.Options{Clock: e.clock.Now, Owner: "replica-a:1", LockTTL: ttl,
		Crash: func(p tsync.CrashPoint, op *tsync.Op) error {
			if p == tsync.CrashBeforeCall && op.Kind == tsync.OpCreate && !taken {
				taken = true
				e.clock.Advance(ttl + time.Minute)
				b := tsync.New(e.st, tsync.Options{Clock: e.clock.Now, Owner: "replica-b:2", LockTTL: ttl})
				if _, err := b.Sync(e.ctx, e.flow, tsync.RunOptions{}); err != nil {
					t.Errorf("the takeover run: %v", err)
				}
			}
			return nil
		}})
	_, err := a.Sync(e.ctx, e.flow, tsync.RunOptions{})
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("run A = %v, want it stopped for its lost lease", err)
	}
	if bc.calls != 1 || bc.items != items {
		t.Errorf("CreateMany called %d times for %d items, want once for %d: A had lost its lease and makes none; the takeover's recovery re-issues A's journaled creates together", bc.calls, bc.items, items)
	}
	copies := map[string]int{}
	for _, it := range e.b.Items() {
		copies[it.Title]++
	}
	for i := range items {
		if n := copies[fmt.Sprintf("item %d", i)]; n != 1 {
			t.Errorf("item %d has %d copies, want 1", i, n)
		}
	}
}

// picky is a BulkCreator that refuses some requests of a batch by index
// (adapters.CreateErrors) and makes the others, as Jira's bulk create
// answers a batch some of whose issues it refused.
type picky struct {
	*memory.Tracker
	refuse func(adapters.CreateRequest) bool
}

func (p *picky) CreateMany(ctx context.Context, reqs []adapters.CreateRequest) ([]adapters.CreateResult, error) {
	out := make([]adapters.CreateResult, len(reqs))
	fails := adapters.CreateErrors{}
	for i, r := range reqs {
		if p.refuse(r) {
			fails[i] = adapters.Permanent(fmt.Errorf("%q refused: %w", r.Item.Title, adapters.ErrInvalid))
			continue
		}
		res, err := p.Tracker.CreateMany(ctx, []adapters.CreateRequest{r})
		if err != nil {
			return out, err
		}
		out[i] = res[0]
	}
	if len(fails) > 0 {
		return out, fails
	}
	return out, nil
}

// TestCreateManyRefusesSome: a batch answered with the refusal of some of
// its requests (adapters.CreateErrors, by index) links the ones made and
// reports each refused one with its own reason, whatever its place in the
// batch.
func TestCreateManyRefusesSome(t *testing.T) {
	e := newEnv(t, envOpts{})
	for i := range 6 {
		e.a.Seed(adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Status: "To Do"})
	}
	e.flow.B = &picky{Tracker: e.b, refuse: func(r adapters.CreateRequest) bool { return r.Item.Title == "item 4" }}
	res, err := e.eng.Sync(e.ctx, e.flow, tsync.RunOptions{})
	var we *tsync.WriteErrors
	if !errors.As(err, &we) || len(we.Errs) != 1 || !strings.Contains(we.Errs[0].Error(), `"item 4" refused`) {
		t.Fatalf("err %v, want the one refused create reported with its reason", err)
	}
	if res.Run.Counts.Created != 5 || len(e.links()) != 5 || len(e.b.Items()) != 5 {
		t.Errorf("created %d, %d links, %d items; want 5, 5 and 5", res.Run.Counts.Created, len(e.links()), len(e.b.Items()))
	}
}
