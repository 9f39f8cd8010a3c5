// Package memory is tracksync's reference tracker: every item lives in
// memory (optionally mirrored to a JSON file), and its behaviour is the
// contract in package adapters, spelled out as simply as possible. Engine
// tests, the model-based convergence test, the demo and the conformance
// suite's own tests run against it.
//
// Beyond adapters.Tracker it implements every optional capability except
// webhooks, and it exposes hooks for tests and the sandbox: outside edits
// (Edit, Seed), call counts, fault injection before or after a write
// (SetHook) and rate limits (InjectRateLimit).
//
// Listing uses one change sequence number per tracker: every write takes the
// next number, a cursor is the last number a listing covered, and a listing
// returns the items whose latest change is numbered above it. That gives
// "exactly what changed, nothing twice" without any clock.
package memory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// Compile-time checks of the capabilities the memory tracker offers.
var (
	_ adapters.Tracker     = (*Tracker)(nil)
	_ adapters.Commenter   = (*Tracker)(nil)
	_ adapters.Deleter     = (*Tracker)(nil)
	_ adapters.Archiver    = (*Tracker)(nil)
	_ adapters.BulkCreator = (*Tracker)(nil)
	_ adapters.Checker     = (*Tracker)(nil)
)

// MaxPageSize is the largest page a listing returns.
const MaxPageSize = 100

// DefaultStatuses is the workflow a tracker gets when Options.Statuses is
// empty: a Jira-like board with two in-progress columns, so status maps
// that fold several statuses into one category get exercised.
var DefaultStatuses = []adapters.StatusDef{
	{Name: "To Do", Category: adapters.CategoryTodo},
	{Name: "In Progress", Category: adapters.CategoryInProgress},
	{Name: "In Review", Category: adapters.CategoryInProgress},
	{Name: "Done", Category: adapters.CategoryDone},
}

// Options configure a memory tracker. The zero value is usable.
type Options struct {
	// Statuses is the workflow, in order, with categories; default
	// DefaultStatuses. New items start in the first.
	Statuses []adapters.StatusDef
	// Fields are the syncable fields; default adapters.StandardFields
	// (parent included). Add adapters.CustomPrefix+name for custom fields.
	Fields []string
	// Kinds the tracker can create; default all four.
	Kinds []adapters.Kind
	// Clock stamps UpdatedAt and comment times; default time.Now.
	Clock func() time.Time
	// PageSize is the page size of a listing that asks for none; default
	// 50, at most MaxPageSize.
	PageSize int
	// Project prefixes keys (Project-N); default "MEM".
	Project string
	// Path, when set, is a JSON file holding the tracker's state: loaded by
	// New when it exists and rewritten atomically (mode 0600) after every
	// write, so successive CLI runs see the same items. It is not meant for
	// several processes at once: the last writer wins.
	Path string
}

// Counts are the API calls a tracker has served, by kind, for tests that
// assert how much work a sync did. A call counts once it is made with a live
// context, whether it then succeeds, is rate limited or fails.
type Counts struct {
	Gets          int // Get
	Lists         int // List, one per page
	Creates       int // Create, and one per item in CreateMany
	Updates       int // Update, including ones that changed nothing
	CommentReads  int // Comments
	CommentWrites int // AddComment and EditComment
	Deletes       int // Delete
	Archives      int // Archive
}

// Writes is the number of calls that changed, or tried to change, state.
func (c Counts) Writes() int {
	return c.Creates + c.Updates + c.CommentWrites + c.Deletes + c.Archives
}

// Tracker is the in-memory tracker. It is safe for concurrent use.
type Tracker struct {
	name string
	opts Options
	caps adapters.Capabilities

	mu         sync.Mutex
	st         *state
	counts     Counts
	hook       Hook
	limitN     int
	limitAfter time.Duration
}

// New returns a memory tracker called name (its Ref.Tracker). With
// opts.Path set it loads the items stored there, if the file exists.
func New(name string, opts Options) (*Tracker, error) {
	if name == "" {
		return nil, fmt.Errorf("memory tracker: a name is required")
	}
	if opts.Project == "" {
		opts.Project = "MEM"
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	switch {
	case opts.PageSize == 0:
		opts.PageSize = 50
	case opts.PageSize < 0 || opts.PageSize > MaxPageSize:
		return nil, fmt.Errorf("memory tracker %s: page size %d is outside 1..%d", name, opts.PageSize, MaxPageSize)
	}
	if len(opts.Statuses) == 0 {
		opts.Statuses = DefaultStatuses
	}
	opts.Statuses = slices.Clone(opts.Statuses)
	seen := map[string]bool{}
	for _, s := range opts.Statuses {
		if s.Name == "" || !s.Category.Valid() || seen[s.Name] {
			return nil, fmt.Errorf("memory tracker %s: status %q with category %q: %w (names must be unique and non-empty; categories todo, in_progress or done)",
				name, s.Name, s.Category, adapters.ErrInvalid)
		}
		seen[s.Name] = true
	}
	if len(opts.Fields) == 0 {
		opts.Fields = adapters.StandardFields
	}
	opts.Fields = slices.Clone(opts.Fields)
	for _, f := range opts.Fields {
		if !adapters.IsKnownField(f) {
			return nil, fmt.Errorf("memory tracker %s: field %q: %w (want one of %s or %sname)",
				name, f, adapters.ErrInvalid, strings.Join(adapters.StandardFields, ", "), adapters.CustomPrefix)
		}
	}
	if len(opts.Kinds) == 0 {
		opts.Kinds = []adapters.Kind{adapters.KindInitiative, adapters.KindEpic, adapters.KindIssue, adapters.KindTask}
	}
	opts.Kinds = slices.Clone(opts.Kinds)
	for _, k := range opts.Kinds {
		if !k.Valid() {
			return nil, fmt.Errorf("memory tracker %s: kind %q: %w", name, k, adapters.ErrInvalid)
		}
	}
	t := &Tracker{
		name: name,
		opts: opts,
		caps: adapters.Capabilities{
			Fields:      opts.Fields,
			Statuses:    opts.Statuses,
			Kinds:       opts.Kinds,
			MaxPageSize: MaxPageSize,
		},
		st: newState(),
	}
	if opts.Path != "" {
		st, err := loadState(opts.Path)
		if err != nil {
			return nil, fmt.Errorf("memory tracker %s: %w", name, err)
		}
		if st != nil {
			t.st = st
		}
	}
	return t, nil
}

// Name implements adapters.Tracker.
func (t *Tracker) Name() string { return t.name }

// Capabilities implements adapters.Tracker. The slices are copies.
func (t *Tracker) Capabilities() adapters.Capabilities {
	c := t.caps
	c.Fields = slices.Clone(c.Fields)
	c.Statuses = slices.Clone(c.Statuses)
	c.Kinds = slices.Clone(c.Kinds)
	return c
}

// Get implements adapters.Tracker.
func (t *Tracker) Get(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	what := "getting " + t.refString(ref)
	if err := t.begin(ctx, func(c *Counts) { c.Gets++ }); err != nil {
		return adapters.Item{}, t.fail(what, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	rec, err := t.lookup(ref)
	if err != nil {
		return adapters.Item{}, t.fail(what, err)
	}
	return rec.Item.Clone(), nil
}

// List implements adapters.Tracker. Scope is "" for everything, or
// space-separated terms that must all match: label:NAME, kind:KIND. The
// page token and cursor are change sequence numbers; the last page's cursor
// is the newest change at the time the first page was read, so a change
// made while paging is returned by the next listing rather than lost.
func (t *Tracker) List(ctx context.Context, req adapters.ListRequest) (adapters.ListPage, error) {
	what := fmt.Sprintf("listing scope %q", req.Scope)
	if err := t.begin(ctx, func(c *Counts) { c.Lists++ }); err != nil {
		return adapters.ListPage{}, t.fail(what, err)
	}
	match, err := parseScope(req.Scope)
	if err != nil {
		return adapters.ListPage{}, t.fail(what, err)
	}
	size := req.PageSize
	if size <= 0 {
		size = t.opts.PageSize
	}
	size = min(size, MaxPageSize)

	t.mu.Lock()
	defer t.mu.Unlock()
	var after, upto int64
	if req.PageToken != "" {
		after, upto, err = parsePageToken(req.PageToken)
		if err != nil {
			return adapters.ListPage{}, t.fail(what, err)
		}
	} else {
		after, err = parseCursor(req.Cursor)
		if err != nil {
			return adapters.ListPage{}, t.fail(what, err)
		}
		upto = t.st.Seq
		// A cursor from the future means the state was reset (its file
		// removed) since the cursor was issued; listing everything is the
		// only answer that loses nothing.
		if after > upto {
			after = 0
		}
	}
	changes := t.st.changesBetween(after, upto, match, size+1)
	var page adapters.ListPage
	for i, ch := range changes {
		if i == size {
			page.NextPageToken = pageToken(changes[i-1].seq, upto)
			return page, nil
		}
		if ch.rec != nil {
			it := ch.rec.Item.Clone()
			it.Comments = nil
			page.Items = append(page.Items, it)
		} else {
			page.Deleted = append(page.Deleted, ch.tomb.Ref)
		}
	}
	page.Cursor = strconv.FormatInt(upto, 10)
	return page, nil
}

// Create implements adapters.Tracker. The item's Comments and SyncKey are
// ignored (add comments with AddComment; the sync key is
// opts.IdempotencyKey); fields the tracker does not support are dropped.
func (t *Tracker) Create(ctx context.Context, it adapters.Item, opts adapters.CreateOptions) (adapters.CreateResult, error) {
	what := fmt.Sprintf("creating item %q", it.Title)
	if err := t.begin(ctx, func(c *Counts) { c.Creates++ }); err != nil {
		return adapters.CreateResult{}, t.fail(what, err)
	}
	res, err := t.create(it, opts)
	if err != nil {
		return adapters.CreateResult{}, t.fail(what, err)
	}
	return res, nil
}

// create runs one create, hooks included, after begin has admitted the call.
func (t *Tracker) create(it adapters.Item, opts adapters.CreateOptions) (adapters.CreateResult, error) {
	if err := t.callHook(OpCreate, adapters.Ref{Tracker: t.name, Project: t.opts.Project}, Before); err != nil {
		return adapters.CreateResult{}, err
	}
	t.mu.Lock()
	res, err := t.createLocked(it, opts.IdempotencyKey)
	t.mu.Unlock()
	if err != nil {
		return adapters.CreateResult{}, err
	}
	if err := t.callHook(OpCreate, res.Item.Ref, After); err != nil {
		return adapters.CreateResult{}, err
	}
	return res, nil
}

func (t *Tracker) createLocked(it adapters.Item, key string) (adapters.CreateResult, error) {
	if key != "" {
		if id, ok := t.st.Idempotency[key]; ok {
			// The key's item may have been deleted since; then a create is
			// what the caller wants, and the key moves to the new item.
			if rec, ok := t.st.Items[id]; ok {
				return adapters.CreateResult{Item: rec.Item.Clone(), Existed: true}, nil
			}
		}
	}
	it = it.Clone()
	it.Comments = nil
	if err := t.normalize(&it, ""); err != nil {
		return adapters.CreateResult{}, err
	}
	// The key is stored on the item, as adapters store it in an entity
	// property or a hidden marker, so Get and List read it back.
	it.SyncKey = key
	rec := t.insert(it)
	if key != "" {
		t.st.Idempotency[key] = rec.Item.Ref.ID
	}
	if err := t.save(); err != nil {
		return adapters.CreateResult{}, err
	}
	return adapters.CreateResult{Item: rec.Item.Clone()}, nil
}

// CreateMany implements adapters.BulkCreator: one call, each item created
// as Create would (hooks run per item). On an error it returns the results
// made so far and an error naming the failed request.
func (t *Tracker) CreateMany(ctx context.Context, reqs []adapters.CreateRequest) ([]adapters.CreateResult, error) {
	what := fmt.Sprintf("creating %d items", len(reqs))
	if err := t.begin(ctx, func(c *Counts) { c.Creates += len(reqs) }); err != nil {
		return nil, t.fail(what, err)
	}
	out := make([]adapters.CreateResult, 0, len(reqs))
	for i, r := range reqs {
		res, err := t.create(r.Item, r.Options)
		if err != nil {
			return out, t.fail(fmt.Sprintf("%s: request %d (%q)", what, i, r.Item.Title), err)
		}
		out = append(out, res)
	}
	return out, nil
}

// Update implements adapters.Tracker. Writing values the item already has
// changes nothing: no new version, no change in listings.
func (t *Tracker) Update(ctx context.Context, ref adapters.Ref, p adapters.Patch) (adapters.Item, error) {
	what := fmt.Sprintf("updating %s fields %s", t.refString(ref), strings.Join(p.Fields, ","))
	if err := t.begin(ctx, func(c *Counts) { c.Updates++ }); err != nil {
		return adapters.Item{}, t.fail(what, err)
	}
	return t.write(what, OpUpdate, ref, func(rec *record) (bool, error) {
		if p.IfVersion != "" && p.IfVersion != rec.Item.Version {
			return false, fmt.Errorf("expected version %s, item is at %s: %w", p.IfVersion, rec.Item.Version, adapters.ErrConflict)
		}
		next := rec.Item.Clone()
		for _, f := range p.Fields {
			if !t.caps.HasField(f) {
				return false, fmt.Errorf("field %q (supported: %s): %w", f, strings.Join(t.caps.Fields, ", "), adapters.ErrUnsupported)
			}
			if err := adapters.SetFieldValue(&next, f, adapters.FieldValue(p.Item, f)); err != nil {
				return false, fmt.Errorf("%w: %w", adapters.ErrInvalid, err)
			}
		}
		if err := t.normalize(&next, rec.Item.Ref.ID); err != nil {
			return false, err
		}
		if sameFields(rec.Item, next) {
			return false, nil
		}
		t.bump(rec, next)
		return true, nil
	})
}

// Archive implements adapters.Archiver: the item moves to the first
// done-category status of the workflow.
func (t *Tracker) Archive(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	what := "archiving " + t.refString(ref)
	if err := t.begin(ctx, func(c *Counts) { c.Archives++ }); err != nil {
		return adapters.Item{}, t.fail(what, err)
	}
	return t.write(what, OpArchive, ref, func(rec *record) (bool, error) {
		if rec.Item.StatusCategory == adapters.CategoryDone {
			return false, nil
		}
		i := slices.IndexFunc(t.caps.Statuses, func(s adapters.StatusDef) bool { return s.Category == adapters.CategoryDone })
		if i < 0 {
			return false, fmt.Errorf("the workflow has no done status: %w", adapters.ErrUnsupported)
		}
		next := rec.Item.Clone()
		next.Status = t.caps.Statuses[i].Name
		next.StatusCategory = adapters.CategoryDone
		t.bump(rec, next)
		return true, nil
	})
}

// Delete implements adapters.Deleter. Listings since an earlier cursor
// report the item in ListPage.Deleted. Its children lose their parent (a
// change to each of them).
func (t *Tracker) Delete(ctx context.Context, ref adapters.Ref) error {
	what := "deleting " + t.refString(ref)
	if err := t.begin(ctx, func(c *Counts) { c.Deletes++ }); err != nil {
		return t.fail(what, err)
	}
	if err := t.callHook(OpDelete, t.hookRef(ref), Before); err != nil {
		return t.fail(what, err)
	}
	t.mu.Lock()
	rec, err := t.lookup(ref)
	if err == nil {
		t.st.remove(rec)
		t.orphan(rec.Item.Ref.ID)
		err = t.save()
	}
	t.mu.Unlock()
	if err != nil {
		return t.fail(what, err)
	}
	if err := t.callHook(OpDelete, rec.Item.Ref, After); err != nil {
		return t.fail(what, err)
	}
	return nil
}

// Comments implements adapters.Commenter.
func (t *Tracker) Comments(ctx context.Context, ref adapters.Ref) ([]adapters.Comment, error) {
	what := "reading comments of " + t.refString(ref)
	if err := t.begin(ctx, func(c *Counts) { c.CommentReads++ }); err != nil {
		return nil, t.fail(what, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	rec, err := t.lookup(ref)
	if err != nil {
		return nil, t.fail(what, err)
	}
	return slices.Clone(rec.Item.Comments), nil
}

// AddComment implements adapters.Commenter. A comment does not change the
// item's Version (that describes its fields), but like Jira and GitHub it
// moves UpdatedAt and brings the item back in listings.
func (t *Tracker) AddComment(ctx context.Context, ref adapters.Ref, c adapters.Comment, idempotencyKey string) (adapters.Comment, error) {
	what := "commenting on " + t.refString(ref)
	if err := t.begin(ctx, func(c *Counts) { c.CommentWrites++ }); err != nil {
		return adapters.Comment{}, t.fail(what, err)
	}
	var out adapters.Comment
	_, err := t.write(what, OpCommentAdd, ref, func(rec *record) (bool, error) {
		ckey := commentKey(rec.Item.Ref.ID, idempotencyKey)
		if idempotencyKey != "" {
			if id, ok := t.st.CommentIdempotency[ckey]; ok {
				if i := commentIndex(rec.Item.Comments, id); i >= 0 {
					out = rec.Item.Comments[i]
					return false, nil
				}
			}
		}
		if strings.TrimSpace(c.Body) == "" {
			return false, fmt.Errorf("a comment needs a body: %w", adapters.ErrInvalid)
		}
		now := t.now()
		out = adapters.Comment{ID: t.st.nextCommentID(), Author: c.Author, Body: c.Body, CreatedAt: now, UpdatedAt: now, SyncKey: idempotencyKey}
		rec.Item.Comments = append(rec.Item.Comments, out)
		rec.Item.UpdatedAt = now
		if idempotencyKey != "" {
			t.st.CommentIdempotency[ckey] = out.ID
		}
		t.st.touch(rec)
		return true, nil
	})
	if err != nil {
		return adapters.Comment{}, err
	}
	return out, nil
}

// EditComment implements adapters.Commenter. Like AddComment it leaves the
// item's Version alone but brings the item back in listings.
func (t *Tracker) EditComment(ctx context.Context, ref adapters.Ref, c adapters.Comment) (adapters.Comment, error) {
	what := fmt.Sprintf("editing comment %s of %s", c.ID, t.refString(ref))
	if err := t.begin(ctx, func(c *Counts) { c.CommentWrites++ }); err != nil {
		return adapters.Comment{}, t.fail(what, err)
	}
	var out adapters.Comment
	_, err := t.write(what, OpCommentEdit, ref, func(rec *record) (bool, error) {
		i := commentIndex(rec.Item.Comments, c.ID)
		if i < 0 {
			return false, fmt.Errorf("comment %s: %w", c.ID, adapters.ErrNotFound)
		}
		if strings.TrimSpace(c.Body) == "" {
			return false, fmt.Errorf("a comment needs a body: %w", adapters.ErrInvalid)
		}
		cur := &rec.Item.Comments[i]
		if cur.Body == c.Body {
			out = *cur
			return false, nil
		}
		cur.Body = c.Body
		cur.UpdatedAt = t.now()
		rec.Item.UpdatedAt = cur.UpdatedAt
		out = *cur
		t.st.touch(rec)
		return true, nil
	})
	if err != nil {
		return adapters.Comment{}, err
	}
	return out, nil
}

// Check implements adapters.Checker: the tracker is healthy unless a rate
// limit was injected or the folder of its state file is missing.
func (t *Tracker) Check(ctx context.Context) error {
	if err := t.begin(ctx, nil); err != nil {
		return t.fail("checking", err)
	}
	if t.opts.Path == "" {
		return nil
	}
	dir := filepath.Dir(t.opts.Path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return t.fail("checking", fmt.Errorf("the folder %s of state file %s is missing", dir, t.opts.Path))
	}
	return nil
}

// write runs one write to an existing item: hooks around it, apply under
// the lock, save when apply reports a change. apply may also fail, in which
// case nothing is saved; it must not have changed rec then.
func (t *Tracker) write(what, op string, ref adapters.Ref, apply func(*record) (bool, error)) (adapters.Item, error) {
	if err := t.callHook(op, t.hookRef(ref), Before); err != nil {
		return adapters.Item{}, t.fail(what, err)
	}
	t.mu.Lock()
	rec, err := t.lookup(ref)
	var changed bool
	if err == nil {
		changed, err = apply(rec)
	}
	if err == nil && changed {
		err = t.save()
	}
	var out adapters.Item
	if err == nil {
		out = rec.Item.Clone()
	}
	t.mu.Unlock()
	if err != nil {
		return adapters.Item{}, t.fail(what, err)
	}
	if err := t.callHook(op, out.Ref, After); err != nil {
		return adapters.Item{}, t.fail(what, err)
	}
	return out, nil
}

// begin admits one API call: a done context refuses it, otherwise it is
// counted and may be answered by an injected rate limit.
func (t *Tracker) begin(ctx context.Context, count func(*Counts)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if count != nil {
		count(&t.counts)
	}
	if t.limitN > 0 {
		t.limitN--
		return &adapters.RateLimitError{RetryAfter: t.limitAfter, Scope: "global", Message: "injected by the test"}
	}
	return nil
}

func (t *Tracker) fail(what string, err error) error {
	return fmt.Errorf("memory tracker %s: %s: %w", t.name, what, err)
}

func (t *Tracker) now() time.Time {
	// Round(0) drops the monotonic reading so times compare equal after a
	// JSON round trip.
	return t.opts.Clock().UTC().Round(0)
}

func (t *Tracker) refString(ref adapters.Ref) string {
	if ref.Key != "" {
		return ref.Key
	}
	if ref.ID != "" {
		return t.opts.Project + "-" + ref.ID
	}
	return "(empty ref)"
}

// hookRef is the ref a Before hook sees: the caller's, with this tracker's
// name filled in.
func (t *Tracker) hookRef(ref adapters.Ref) adapters.Ref {
	if ref.Tracker == "" {
		ref.Tracker = t.name
	}
	return ref
}

// lookup finds a live item; the caller holds t.mu.
func (t *Tracker) lookup(ref adapters.Ref) (*record, error) {
	if ref.Tracker != "" && ref.Tracker != t.name {
		return nil, fmt.Errorf("ref %s names tracker %q, this is %q: %w", ref, ref.Tracker, t.name, adapters.ErrInvalid)
	}
	id := ref.ID
	if id == "" {
		n, ok := strings.CutPrefix(ref.Key, t.opts.Project+"-")
		if !ok {
			return nil, fmt.Errorf("key %q is not %s-N: %w", ref.Key, t.opts.Project, adapters.ErrNotFound)
		}
		id = n
	}
	rec, ok := t.st.Items[id]
	if !ok {
		return nil, adapters.ErrNotFound
	}
	return rec, nil
}

// insert stores a normalized new item with the next ID; the caller holds
// t.mu and saves.
func (t *Tracker) insert(it adapters.Item) *record {
	t.st.NextID++
	id := strconv.Itoa(t.st.NextID)
	key := t.opts.Project + "-" + id
	it.Ref = adapters.Ref{Tracker: t.name, Project: t.opts.Project, ID: id, Key: key, URL: "mem://" + t.name + "/" + key}
	it.Version = "1"
	it.UpdatedAt = t.now()
	rec := &record{Item: it, Rev: 1}
	t.st.Items[id] = rec
	t.st.touch(rec)
	return rec
}

// bump makes next the item's new state as one change: a new version,
// updated-at and change number. The caller holds t.mu.
func (t *Tracker) bump(rec *record, next adapters.Item) {
	rec.Rev++
	next.Ref = rec.Item.Ref
	next.Version = strconv.Itoa(rec.Rev)
	next.UpdatedAt = t.now()
	rec.Item = next
	t.st.touch(rec)
}

// orphan clears the parent of the children of a deleted item, as trackers
// do (an epic's issues lose their epic), so that each child is a change in
// listings and a later write to it does not trip over a missing parent.
// The caller holds t.mu.
func (t *Tracker) orphan(parentID string) {
	for _, rec := range t.st.sortedRecords() {
		if rec.Item.Parent != nil && rec.Item.Parent.ID == parentID {
			next := rec.Item.Clone()
			next.Parent = nil
			t.bump(rec, next)
		}
	}
}

// normalize checks it and brings it to stored form: default kind and
// status, the status category, sorted lists, a full parent ref, and no
// values in fields the tracker does not support. selfID is the item's own
// ID ("" when new), to refuse parent cycles. The caller holds t.mu.
func (t *Tracker) normalize(it *adapters.Item, selfID string) error {
	if it.Kind == "" {
		it.Kind = t.defaultKind()
	}
	if !slices.Contains(t.caps.Kinds, it.Kind) {
		return fmt.Errorf("kind %q (this tracker makes %s): %w", it.Kind, joinKinds(t.caps.Kinds), adapters.ErrInvalid)
	}
	if strings.TrimSpace(it.Title) == "" {
		return fmt.Errorf("a title is required: %w", adapters.ErrInvalid)
	}
	for _, f := range adapters.StandardFields {
		if f != adapters.FieldTitle && f != adapters.FieldStatus && !t.caps.HasField(f) {
			_ = adapters.SetFieldValue(it, f, "")
		}
	}
	if !t.caps.HasField(adapters.FieldStatus) && selfID == "" {
		it.Status = ""
	}
	if it.Status == "" {
		it.Status = t.caps.Statuses[0].Name
	}
	cat, ok := t.caps.Category(it.Status)
	if !ok {
		return fmt.Errorf("status %q is not in the workflow (allowed: %s): %w", it.Status, t.statusNames(), adapters.ErrInvalid)
	}
	it.StatusCategory = cat
	it.Assignees = adapters.NormalizeList(it.Assignees)
	it.Labels = adapters.NormalizeList(it.Labels)
	if it.Due != "" {
		if _, err := time.Parse(time.DateOnly, it.Due); err != nil {
			return fmt.Errorf("due date %q is not YYYY-MM-DD: %w", it.Due, adapters.ErrInvalid)
		}
	}
	for k, v := range it.Fields {
		if v == "" || !t.caps.HasField(adapters.CustomPrefix+k) {
			delete(it.Fields, k)
		}
	}
	if len(it.Fields) == 0 {
		it.Fields = nil
	}
	return t.normalizeParent(it, selfID)
}

func (t *Tracker) normalizeParent(it *adapters.Item, selfID string) error {
	if it.Parent == nil || it.Parent.IsZero() {
		it.Parent = nil
		return nil
	}
	p := *it.Parent
	if p.Tracker == "" {
		p.Tracker = t.name
	}
	rec, err := t.lookup(p)
	if err != nil {
		return fmt.Errorf("parent %s: %w: %w", p, adapters.ErrInvalid, err)
	}
	for r := rec; r != nil; {
		if r.Item.Ref.ID == selfID {
			return fmt.Errorf("parent %s would make a cycle: %w", rec.Item.Ref, adapters.ErrInvalid)
		}
		if r.Item.Parent == nil {
			break
		}
		r = t.st.Items[r.Item.Parent.ID]
	}
	ref := rec.Item.Ref
	it.Parent = &ref
	return nil
}

func (t *Tracker) defaultKind() adapters.Kind {
	if slices.Contains(t.caps.Kinds, adapters.KindIssue) {
		return adapters.KindIssue
	}
	return t.caps.Kinds[0]
}

func (t *Tracker) statusNames() string {
	names := make([]string, len(t.caps.Statuses))
	for i, s := range t.caps.Statuses {
		names[i] = strconv.Quote(s.Name)
	}
	return strings.Join(names, ", ")
}

func joinKinds(ks []adapters.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// sameFields reports whether a and b agree on everything Update can write.
func sameFields(a, b adapters.Item) bool {
	for _, f := range adapters.StandardFields {
		if adapters.FieldValue(a, f) != adapters.FieldValue(b, f) {
			return false
		}
	}
	if len(a.Fields) != len(b.Fields) {
		return false
	}
	for k, v := range a.Fields {
		if w, ok := b.Fields[k]; !ok || v != w {
			return false
		}
	}
	return true
}

func commentKey(itemID, key string) string { return itemID + "\x00" + key }

func commentIndex(cs []adapters.Comment, id string) int {
	return slices.IndexFunc(cs, func(c adapters.Comment) bool { return c.ID == id })
}

// scopeFilter reports whether an item (its kind and labels) is in scope.
type scopeFilter func(kind adapters.Kind, labels []string) bool

// parseScope reads "label:X kind:K ..." (all terms must match).
func parseScope(scope string) (scopeFilter, error) {
	var labels []string
	var kinds []adapters.Kind
	for _, term := range strings.Fields(scope) {
		k, v, _ := strings.Cut(term, ":")
		switch {
		case k == "label" && v != "":
			labels = append(labels, v)
		case k == "kind" && adapters.Kind(v).Valid():
			kinds = append(kinds, adapters.Kind(v))
		default:
			return nil, fmt.Errorf("scope term %q (want label:NAME or kind:initiative|epic|issue|task): %w", term, adapters.ErrInvalid)
		}
	}
	return func(kind adapters.Kind, have []string) bool {
		for _, k := range kinds {
			if k != kind {
				return false
			}
		}
		for _, l := range labels {
			if !slices.Contains(have, l) {
				return false
			}
		}
		return true
	}, nil
}

func parseCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("cursor %q was not issued by a memory tracker: %w", c, adapters.ErrInvalid)
	}
	return n, nil
}

// pageToken encodes where the next page starts (after change number
// after) and where the listing ends (upto, fixed when it began).
func pageToken(after, upto int64) string {
	return "p" + strconv.FormatInt(after, 10) + "-" + strconv.FormatInt(upto, 10)
}

func parsePageToken(tok string) (after, upto int64, err error) {
	a, u, ok := strings.Cut(strings.TrimPrefix(tok, "p"), "-")
	if ok && strings.HasPrefix(tok, "p") {
		var errA, errU error
		after, errA = strconv.ParseInt(a, 10, 64)
		upto, errU = strconv.ParseInt(u, 10, 64)
		if errA == nil && errU == nil && 0 <= after && after <= upto {
			return after, upto, nil
		}
	}
	return 0, 0, fmt.Errorf("page token %q was not issued by a memory tracker: %w", tok, adapters.ErrInvalid)
}
