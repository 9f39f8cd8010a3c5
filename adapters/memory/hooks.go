package memory

import (
	"fmt"
	"slices"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// This file holds what tests and the sandbox use to play the people and the
// faults around a tracker. None of it counts as an API call.

// The write operations a Hook sees.
const (
	OpCreate      = "create"
	OpUpdate      = "update"
	OpCommentAdd  = "comment_add"
	OpCommentEdit = "comment_edit"
	OpDelete      = "delete"
	OpArchive     = "archive"
)

// Phase says when a Hook runs: before a write is applied, or after.
type Phase int

// The two phases.
const (
	Before Phase = iota
	After
)

func (p Phase) String() string {
	if p == Before {
		return "before"
	}
	return "after"
}

// Hook observes or breaks writes, for tests and the sandbox. It runs
// around every write call (op is one of the Op constants; CreateMany runs it
// per item) without the tracker's lock held, so it may call the tracker,
// for example to Edit the item in between like a person racing the sync.
//
// An error from the Before call aborts the write: nothing is applied and
// the caller gets the error. An error from the After call is returned
// after the write was applied, like a timeout that hits between the
// tracker doing the work and the caller hearing about it. For a create,
// the Before call's ref names only the tracker and project.
type Hook func(op string, ref adapters.Ref, phase Phase) error

// SetHook installs h; nil removes it.
func (t *Tracker) SetHook(h Hook) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hook = h
}

func (t *Tracker) callHook(op string, ref adapters.Ref, phase Phase) error {
	t.mu.Lock()
	h := t.hook
	t.mu.Unlock()
	if h == nil {
		return nil
	}
	if err := h(op, ref, phase); err != nil {
		return fmt.Errorf("%s hook %s %s: %w", phase, op, ref, err)
	}
	return nil
}

// InjectRateLimit makes the next n API calls (of any kind, reads included)
// fail with an *adapters.RateLimitError carrying retryAfter. n <= 0 clears
// a pending injection.
func (t *Tracker) InjectRateLimit(n int, retryAfter time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.limitN = max(n, 0)
	t.limitAfter = retryAfter
}

// Counts returns the API calls served since New or the last ResetCounts.
func (t *Tracker) Counts() Counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts
}

// Writes is Counts().Writes().
func (t *Tracker) Writes() int { return t.Counts().Writes() }

// ResetCounts sets every count back to zero.
func (t *Tracker) ResetCounts() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts = Counts{}
}

// Edit changes an item as a person would in the tracker's UI: mutate gets
// a copy of the item (comments included) and may change any field, its
// kind or its comments (a comment with no ID is a new one). The item always
// gets a new version, updated-at and change number, even if mutate changed
// nothing, the way a person saving a form does. Its ref, version,
// updated-at and sync key are not a person's to change and are restored
// after mutate. Edit is not an API call: it is not counted, hooked or rate
// limited.
func (t *Tracker) Edit(ref adapters.Ref, mutate func(*adapters.Item)) (adapters.Item, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	what := "outside edit of " + t.refString(ref)
	rec, err := t.lookup(ref)
	if err != nil {
		return adapters.Item{}, t.fail(what, err)
	}
	next := rec.Item.Clone()
	mutate(&next)
	next.Ref = rec.Item.Ref
	next.SyncKey = rec.Item.SyncKey
	if err := t.normalize(&next, rec.Item.Ref.ID); err != nil {
		return adapters.Item{}, t.fail(what, err)
	}
	next.Comments = t.stampComments(rec.Item.Comments, next.Comments)
	t.bump(rec, next)
	if err := t.save(); err != nil {
		return adapters.Item{}, t.fail(what, err)
	}
	return rec.Item.Clone(), nil
}

// Seed adds items as if people had made them in the tracker, in order, and
// returns them as stored. Each gets the next ID like any create (Ref,
// Version and UpdatedAt are ignored); a Parent may name an item seeded
// earlier. Comments are kept, with IDs and times filled in where missing.
// A SyncKey is kept and works as an idempotency key, so a test can seed
// "tracksync's copy from a run that crashed before its bookkeeping".
// Seed is for tests and the sandbox: an item the tracker would refuse (an
// unknown status or kind, no title) is a bug in the caller, so Seed panics.
func (t *Tracker) Seed(items ...adapters.Item) []adapters.Item {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]adapters.Item, 0, len(items))
	for _, it := range items {
		it = it.Clone()
		comments := it.Comments
		it.Comments = nil
		if err := t.normalize(&it, ""); err != nil {
			panic(fmt.Sprintf("memory tracker %s: seeding %q: %v", t.name, it.Title, err))
		}
		it.Comments = t.stampComments(nil, comments)
		rec := t.insert(it)
		if it.SyncKey != "" {
			t.st.Idempotency[it.SyncKey] = rec.Item.Ref.ID
		}
		out = append(out, rec.Item.Clone())
	}
	if err := t.save(); err != nil {
		panic(fmt.Sprintf("memory tracker %s: seeding: %v", t.name, err))
	}
	return out
}

// stampComments fills in what a tracker sets on comments: IDs and times for
// new ones, a new UpdatedAt for ones whose body changed. The caller holds
// t.mu.
func (t *Tracker) stampComments(old, next []adapters.Comment) []adapters.Comment {
	now := t.now()
	next = slices.Clone(next)
	for i := range next {
		c := &next[i]
		if c.ID == "" {
			c.ID = t.st.nextCommentID()
			if c.CreatedAt.IsZero() {
				c.CreatedAt = now
			}
			c.UpdatedAt = now
			continue
		}
		if j := commentIndex(old, c.ID); j >= 0 && old[j].Body != c.Body {
			c.UpdatedAt = now
		}
	}
	return next
}

// Items returns every live item, comments included, ordered by ID.
func (t *Tracker) Items() []adapters.Item {
	t.mu.Lock()
	defer t.mu.Unlock()
	recs := t.st.sortedRecords()
	out := make([]adapters.Item, len(recs))
	for i, r := range recs {
		out[i] = r.Item.Clone()
	}
	return out
}
