package sqlops

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/internal/redact"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/check"
	"github.com/tracksync/tracksync/store/internal/fieldmap"
	"github.com/tracksync/tracksync/store/internal/rowscan"
)

// Fields is the argument for a field map (fieldmap.Encode), the same
// bytes on every driver.
func (o Ops[N, B]) Fields(m map[string]string) any { return o.d.Bytes(fieldmap.Encode(m)) }

// ErrorText is the argument for an error message to keep (a run's, a
// journal entry's): redacted, and storable as TEXT.
func (o Ops[N, B]) ErrorText(msg string) string { return o.d.Text(redact.Global.String(msg)) }

// Links.

// ScanLink reads the LinkCols of one row.
func ScanLink[N rowscan.Nullable](sc rowscan.Scanner) (store.Link, error) {
	var l store.Link
	var created, updated N
	err := sc.Scan(&l.ID, &l.Flow, &l.Key,
		&l.A.Tracker, &l.A.Project, &l.A.ID, &l.A.Key, &l.A.URL,
		&l.B.Tracker, &l.B.Project, &l.B.ID, &l.B.Key, &l.B.URL,
		&created, &updated)
	l.CreatedAt, l.UpdatedAt = rowscan.Time(created), rowscan.Time(updated)
	return l, err
}

func (o Ops[N, B]) UpdateLink(ctx context.Context, l store.Link) error {
	if err := check.LinkUpdate(l); err != nil {
		return err
	}
	// Flow and Key stay: the key is the link's identity for its whole life.
	n, err := o.db.ExecGuarded(ctx, o.q.UpdateLink,
		l.A.Tracker, l.A.Project, l.A.ID, l.A.Key, l.A.URL,
		l.B.Tracker, l.B.Project, l.B.ID, l.B.Key, l.B.URL,
		o.d.Now().UnixNano(), l.ID)
	if err != nil {
		return o.d.Wrap(err, "updating link %d (%s <-> %s)", l.ID, l.A, l.B)
	}
	return check.Affected(n, "link", l.ID)
}

func (o Ops[N, B]) getLink(ctx context.Context, what string, query string, args ...any) (store.Link, error) {
	l, err := ScanLink[N](o.db.QueryRow(ctx, query, args...))
	if o.d.NoRows(err) {
		return store.Link{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return store.Link{}, o.d.Wrap(err, "reading %s", what)
	}
	return l, nil
}

func (o Ops[N, B]) GetLink(ctx context.Context, id int64) (store.Link, error) {
	return o.getLink(ctx, fmt.Sprintf("link %d", id), o.q.GetLink, id)
}

func (o Ops[N, B]) FindLink(ctx context.Context, flow string, s store.Side, id string) (store.Link, error) {
	if err := check.Side(s); err != nil {
		return store.Link{}, fmt.Errorf("finding link of flow %s: %w", flow, err)
	}
	query := o.q.FindLinkA
	if s == store.SideB {
		query = o.q.FindLinkB
	}
	return o.getLink(ctx, fmt.Sprintf("link of flow %s with side %s id %s", flow, s, id), query, flow, id)
}

func (o Ops[N, B]) FindLinkByKey(ctx context.Context, flow, key string) (store.Link, error) {
	return o.getLink(ctx, fmt.Sprintf("link of flow %s with key %s", flow, key), o.q.FindLinkByKey, flow, key)
}

func (o Ops[N, B]) ListLinks(ctx context.Context, flow string) ([]store.Link, error) {
	query, args := o.q.ListLinks, []any(nil)
	if flow != "" {
		query, args = o.q.ListFlowLinks, []any{flow}
	}
	return list(ctx, o.d, o.db, fmt.Sprintf("links of flow %q", flow), ScanLink[N], query, args...)
}

func (o Ops[N, B]) DeleteLink(ctx context.Context, id int64) error {
	// Bases and comment links go with it: ON DELETE CASCADE. Conflicts
	// name the link without a foreign key (they outlive nothing else), so
	// they are removed here: a conflict about a pair that no longer exists
	// can only mislead.
	if _, err := o.db.Exec(ctx, o.q.DeleteLinkConflicts, id); err != nil {
		return o.d.Wrap(err, "deleting conflicts of link %d", id)
	}
	n, err := o.db.Exec(ctx, o.q.DeleteLink, id)
	if err != nil {
		return o.d.Wrap(err, "deleting link %d", id)
	}
	return check.Affected(n, "link", id)
}

// Bases.

// BaseScanner reads base rows (BaseCols) into destinations it reuses:
// declared per row, they escape to the heap through Scan's ...any, five
// allocations a row that a 100,000-row ListBases notices. F is how the
// driver reads a field map's bytes.
type BaseScanner[N rowscan.Nullable, F ~string | ~[]byte] struct {
	linkID int64
	af, bf F
	av, bv string
	synced N
	dest   []any
	reset  func(af, bf *F)
	// fieldsBuf backs the decoded field maps' strings (fieldmap.DecodeBuf).
	fieldsBuf []string
}

// NewBaseScanner returns a BaseScanner; reset, if set, readies the
// field maps' destinations before each row.
func NewBaseScanner[N rowscan.Nullable, F ~string | ~[]byte](reset func(af, bf *F)) *BaseScanner[N, F] {
	bs := &BaseScanner[N, F]{reset: reset}
	bs.dest = []any{&bs.linkID, &bs.af, &bs.bf, &bs.av, &bs.bv, &bs.synced}
	return bs
}

// Scan reads one row.
func (bs *BaseScanner[N, F]) Scan(sc rowscan.Scanner) (store.Base, error) {
	if bs.reset != nil {
		bs.reset(&bs.af, &bs.bf)
	}
	if err := sc.Scan(bs.dest...); err != nil {
		return store.Base{}, err
	}
	b := store.Base{LinkID: bs.linkID, AVersion: bs.av, BVersion: bs.bv, SyncedAt: rowscan.Time(bs.synced)}
	var err error
	if b.A, bs.fieldsBuf, err = fieldmap.DecodeBuf(string(bs.af), bs.fieldsBuf); err != nil {
		return b, fmt.Errorf("side a of base of link %d: %w", b.LinkID, err)
	}
	if b.B, bs.fieldsBuf, err = fieldmap.DecodeBuf(string(bs.bf), bs.fieldsBuf); err != nil {
		return b, fmt.Errorf("side b of base of link %d: %w", b.LinkID, err)
	}
	return b, nil
}

func (o Ops[N, B]) GetBase(ctx context.Context, linkID int64) (store.Base, error) {
	b, err := o.d.ScanBases()(o.db.QueryRow(ctx, o.q.GetBase, linkID))
	if o.d.NoRows(err) {
		return store.Base{}, check.NotFound("base of link", linkID)
	}
	if err != nil {
		return store.Base{}, o.d.Wrap(err, "reading base of link %d", linkID)
	}
	return b, nil
}

func (o Ops[N, B]) ListBases(ctx context.Context, flow string) (map[int64]store.Base, error) {
	var n int
	if o.q.CountFlowLinks != "" {
		if err := o.db.QueryRow(ctx, o.q.CountFlowLinks, flow).Scan(&n); err != nil {
			return nil, o.d.Wrap(err, "counting bases of flow %s", flow)
		}
	}
	rows, err := o.db.Query(ctx, o.q.ListBases, flow)
	if err != nil {
		return nil, o.d.Wrap(err, "listing bases of flow %s", flow)
	}
	defer rows.Close()
	out := make(map[int64]store.Base, n)
	scan := o.d.ScanBases()
	for rows.Next() {
		b, err := scan(rows)
		if err != nil {
			return nil, o.d.Wrap(err, "listing bases of flow %s", flow)
		}
		out[b.LinkID] = b
	}
	if err := rows.Err(); err != nil {
		return nil, o.d.Wrap(err, "listing bases of flow %s", flow)
	}
	return out, nil
}

// Comment links.

// ScanCommentLink reads link_id, a_id, b_id, body_hash.
func ScanCommentLink(sc rowscan.Scanner) (store.CommentLink, error) {
	var c store.CommentLink
	err := sc.Scan(&c.LinkID, &c.AID, &c.BID, &c.BodyHash)
	return c, err
}

func (o Ops[N, B]) ListCommentLinks(ctx context.Context, linkID int64) ([]store.CommentLink, error) {
	return list(ctx, o.d, o.db, fmt.Sprintf("comment links of link %d", linkID), ScanCommentLink, o.q.ListCommentLinks, linkID)
}

// Cursors.

func (o Ops[N, B]) GetCursor(ctx context.Context, flow string, s store.Side) (string, error) {
	if err := check.Side(s); err != nil {
		return "", fmt.Errorf("reading cursor of flow %s: %w", flow, err)
	}
	var c string
	err := o.db.QueryRow(ctx, o.q.GetCursor, flow, string(s)).Scan(&c)
	if o.d.NoRows(err) {
		return "", nil
	}
	if err != nil {
		return "", o.d.Wrap(err, "reading cursor of flow %s side %s", flow, s)
	}
	return c, nil
}

func (o Ops[N, B]) PutCursor(ctx context.Context, flow string, s store.Side, cursor string) error {
	if err := check.Side(s); err != nil {
		return fmt.Errorf("storing cursor of flow %s: %w", flow, err)
	}
	if _, err := o.db.Exec(ctx, o.q.PutCursor, flow, string(s), cursor); err != nil {
		return o.d.Wrap(err, "storing cursor of flow %s side %s", flow, s)
	}
	return nil
}

// Journal.

// LeaseLost describes why the lease name/token no longer holds, for the
// error of a fenced write (only on that failure path: one more read).
func (o Ops[N, B]) LeaseLost(ctx context.Context, name string, token int64) error {
	var owner string
	var expires, cur int64
	err := o.db.QueryRow(ctx, o.q.LeaseOf, name).Scan(&owner, &expires, &cur)
	switch {
	case err != nil:
		return fmt.Errorf("lease %s (token %d) is not held: %w", name, token, store.ErrLeaseLost)
	case cur != token && owner != "":
		return fmt.Errorf("lease %s (token %d) was taken over by %s (token %d): %w", name, token, owner, cur, store.ErrLeaseLost)
	case cur != token:
		return fmt.Errorf("lease %s (token %d) was taken and released since (token %d): %w", name, token, cur, store.ErrLeaseLost)
	case owner == "":
		return fmt.Errorf("lease %s (token %d) was released: %w", name, token, store.ErrLeaseLost)
	default:
		return fmt.Errorf("lease %s (token %d) expired at %s: %w", name, token,
			time.Unix(0, expires).UTC().Format(time.RFC3339Nano), store.ErrLeaseLost)
	}
}

// Intent is JournalIntent around insert, the driver's INSERT of e that
// writes nothing when e's lease is no longer held: it checks e, and
// makes of insert's outcome the entry's id, the lost lease (inserted
// false) or the wrapped error.
func (o Ops[N, B]) Intent(ctx context.Context, e store.JournalEntry, insert func() (id int64, inserted bool, err error)) (int64, error) {
	if err := check.Intent(e); err != nil {
		return 0, err
	}
	id, inserted, err := insert()
	if err != nil {
		return 0, o.d.Wrap(err, "journaling %s of %s in flow %s", e.Op, e.Target, e.Flow)
	}
	if !inserted {
		return 0, fmt.Errorf("journaling %s of %s in flow %s: %w", e.Op, e.Target, e.Flow, o.LeaseLost(ctx, e.LeaseName, e.LeaseToken))
	}
	return id, nil
}

// Finish is JournalFinish around update, the driver's UPDATE of entry id
// (given the error text to store) that changes nothing when lease is set
// and no longer held: it checks state, and makes of the rows update
// changed the verdict. None changed means the entry is missing
// (ErrNotFound) or, when it exists and lease fenced the write, that the
// lease was lost.
func (o Ops[N, B]) Finish(ctx context.Context, id int64, state, errMsg string, lease store.Lease, update func(errText string) (int64, error)) error {
	if err := check.Finish(id, state); err != nil {
		return err
	}
	n, err := update(o.ErrorText(errMsg))
	if err != nil {
		return o.d.Wrap(err, "finishing journal entry %d as %s", id, state)
	}
	if n > 0 {
		return nil
	}
	if lease.Name != "" {
		var one int
		err := o.db.QueryRow(ctx, o.q.JournalExists, id).Scan(&one)
		if err == nil {
			return fmt.Errorf("finishing journal entry %d as %s: %w", id, state, o.LeaseLost(ctx, lease.Name, lease.Token))
		}
		if !o.d.NoRows(err) {
			return o.d.Wrap(err, "finishing journal entry %d as %s", id, state)
		}
	}
	return check.NotFound("journal entry", id)
}

func (o Ops[N, B]) JournalSetState(ctx context.Context, id int64, state string) error {
	if !check.JournalState(state) {
		return fmt.Errorf("setting journal entry %d: unknown state %q", id, state)
	}
	n, err := o.db.Exec(ctx, o.q.JournalSetState, state, id)
	if err != nil {
		return o.d.Wrap(err, "setting journal entry %d to state %s", id, state)
	}
	return check.Affected(n, "journal entry", id)
}

func (o Ops[N, B]) JournalHasKey(ctx context.Context, key string) (bool, error) {
	var ok bool
	if err := o.db.QueryRow(ctx, o.q.JournalHasKey, key).Scan(&ok); err != nil {
		return false, fmt.Errorf("looking up key %s in the journal: %w", key, err)
	}
	return ok, nil
}

// ScanJournalEntry reads the JournalCols of one row.
func ScanJournalEntry[N rowscan.Nullable, B rowscan.Bytes](sc rowscan.Scanner) (store.JournalEntry, error) {
	var e store.JournalEntry
	var side string
	var before, after B
	var created, done N
	if err := sc.Scan(&e.ID, &e.RunID, &e.Flow, &e.LinkID, &e.Op, &side,
		&e.Target.Tracker, &e.Target.Project, &e.Target.ID, &e.Target.Key, &e.Target.URL,
		&e.IdempotencyKey, &e.LeaseName, &e.LeaseToken, &before, &after,
		&e.Result.Tracker, &e.Result.Project, &e.Result.ID, &e.Result.Key, &e.Result.URL,
		&e.State, &e.Error, &created, &done); err != nil {
		return e, err
	}
	e.Side = store.Side(side)
	e.CreatedAt, e.DoneAt = rowscan.Time(created), rowscan.Time(done)
	var err error
	if e.Before, err = fieldmap.Decode(string(before)); err != nil {
		return e, fmt.Errorf("entry %d before: %w", e.ID, err)
	}
	if e.After, err = fieldmap.Decode(string(after)); err != nil {
		return e, fmt.Errorf("entry %d after: %w", e.ID, err)
	}
	return e, nil
}

// ListJournal lists the entries query selects (JournalCols); what names
// them in errors.
func (o Ops[N, B]) ListJournal(ctx context.Context, what, query string, args ...any) ([]store.JournalEntry, error) {
	return list(ctx, o.d, o.db, what, ScanJournalEntry[N, B], query, args...)
}

func (o Ops[N, B]) PendingJournal(ctx context.Context, flow string) ([]store.JournalEntry, error) {
	if flow == "" {
		return o.ListJournal(ctx, "pending journal entries", o.q.PendingJournal, store.JournalPending)
	}
	return o.ListJournal(ctx, "pending journal entries of flow "+flow, o.q.PendingFlowJournal, store.JournalPending, flow)
}

func (o Ops[N, B]) RunJournal(ctx context.Context, runID int64) ([]store.JournalEntry, error) {
	return o.ListJournal(ctx, fmt.Sprintf("journal of run %d", runID), o.q.RunJournal, runID)
}

// Conflicts.

func (o Ops[N, B]) PutConflict(ctx context.Context, c store.Conflict) (int64, error) {
	// The partial unique index on open conflicts is the upsert target, so
	// a conflict that is raised again keeps its ID and its creation time.
	var id int64
	err := o.db.QueryRow(ctx, o.q.PutConflict, c.Flow, c.LinkID, c.Field, o.d.Bytes(c.Base), o.d.Bytes(c.A), o.d.Bytes(c.B),
		store.ConflictOpen, o.d.Now().UnixNano()).Scan(&id)
	if err != nil {
		return 0, o.d.Wrap(err, "storing conflict on field %s of link %d", c.Field, c.LinkID)
	}
	return id, nil
}

// ScanConflict reads the ConflictCols of one row.
func ScanConflict[N rowscan.Nullable, B rowscan.Bytes](sc rowscan.Scanner) (store.Conflict, error) {
	var c store.Conflict
	var base, a, b, value B
	var created, resolved N
	err := sc.Scan(&c.ID, &c.Flow, &c.LinkID, &c.Field, &base, &a, &b, &c.State,
		&c.Resolution, &value, &created, &resolved)
	c.Base, c.A, c.B, c.Value = string(base), string(a), string(b), string(value)
	c.CreatedAt, c.ResolvedAt = rowscan.Time(created), rowscan.Time(resolved)
	return c, err
}

func (o Ops[N, B]) GetConflict(ctx context.Context, id int64) (store.Conflict, error) {
	c, err := ScanConflict[N, B](o.db.QueryRow(ctx, o.q.GetConflict, id))
	if o.d.NoRows(err) {
		return store.Conflict{}, check.NotFound("conflict", id)
	}
	if err != nil {
		return store.Conflict{}, o.d.Wrap(err, "reading conflict %d", id)
	}
	return c, nil
}

// where appends to query a WHERE of each column = (or the op given
// after it) its value, for the values that are set.
func (o Ops[N, B]) where(query string, conds ...string) (string, []any) {
	var where []string
	var args []any
	for i := 0; i < len(conds); i += 2 {
		if conds[i+1] != "" {
			args = append(args, conds[i+1])
			where = append(where, conds[i]+" "+o.d.Param(len(args)))
		}
	}
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	return query, args
}

func (o Ops[N, B]) ListConflicts(ctx context.Context, flow, state string) ([]store.Conflict, error) {
	query, args := o.where(o.q.ListConflicts, "flow =", flow, "state =", state)
	return list(ctx, o.d, o.db, fmt.Sprintf("conflicts of flow %q", flow), ScanConflict[N, B], query+` ORDER BY id`, args...)
}

func (o Ops[N, B]) ResolveConflict(ctx context.Context, id int64, resolution, value string) error {
	switch resolution {
	case "a", "b", "value":
	default:
		return fmt.Errorf("resolving conflict %d: resolution %q is not a, b or value", id, resolution)
	}
	n, err := o.db.Exec(ctx, o.q.ResolveConflict, store.ConflictResolved, resolution, o.d.Bytes(value), o.d.Now().UnixNano(), id)
	if err != nil {
		return o.d.Wrap(err, "resolving conflict %d", id)
	}
	return check.Affected(n, "conflict", id)
}

// Runs.

func (o Ops[N, B]) StartRun(ctx context.Context, flow string, dryRun bool) (store.Run, error) {
	r := store.Run{Flow: flow, State: store.RunRunning, DryRun: dryRun, StartedAt: o.d.Now()}
	if err := o.db.QueryRow(ctx, o.q.StartRun, r.Flow, r.State, r.DryRun, r.StartedAt.UnixNano()).Scan(&r.ID); err != nil {
		return store.Run{}, o.d.Wrap(err, "starting run of flow %s", flow)
	}
	return r, nil
}

func (o Ops[N, B]) FinishRun(ctx context.Context, r store.Run) error {
	counts, err := json.Marshal(r.Counts)
	if err != nil {
		return fmt.Errorf("finishing run %d: encoding counts: %w", r.ID, err)
	}
	// The engine may stamp FinishedAt with its own clock; else it is now.
	finished := r.FinishedAt
	if finished.IsZero() {
		finished = o.d.Now()
	}
	n, err := o.db.Exec(ctx, o.q.FinishRun, r.State, finished.UnixNano(), string(counts), o.ErrorText(r.Error), r.ID)
	if err != nil {
		return o.d.Wrap(err, "finishing run %d as %s", r.ID, r.State)
	}
	return check.Affected(n, "run", r.ID)
}

// ScanRun reads the RunCols of one row.
func ScanRun[N rowscan.Nullable](sc rowscan.Scanner) (store.Run, error) {
	var r store.Run
	var started, finished N
	var counts string
	if err := sc.Scan(&r.ID, &r.Flow, &r.State, &r.DryRun, &started, &finished, &counts, &r.Error); err != nil {
		return r, err
	}
	r.StartedAt, r.FinishedAt = rowscan.Time(started), rowscan.Time(finished)
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return r, fmt.Errorf("decoding counts of run %d: %w", r.ID, err)
	}
	return r, nil
}

func (o Ops[N, B]) GetRun(ctx context.Context, id int64) (store.Run, error) {
	r, err := ScanRun[N](o.db.QueryRow(ctx, o.q.GetRun, id))
	if o.d.NoRows(err) {
		return store.Run{}, check.NotFound("run", id)
	}
	if err != nil {
		return store.Run{}, o.d.Wrap(err, "reading run %d", id)
	}
	return r, nil
}

func (o Ops[N, B]) ListRuns(ctx context.Context, flow string, limit int) ([]store.Run, error) {
	query, args := o.q.ListRuns, []any{o.d.Limit(limit)}
	if flow != "" {
		query, args = o.q.ListFlowRuns, []any{flow, o.d.Limit(limit)}
	}
	return list(ctx, o.d, o.db, fmt.Sprintf("runs of flow %q", flow), ScanRun[N], query, args...)
}

// Snapshots.

func (o Ops[N, B]) PutSnapshot(ctx context.Context, s store.Snapshot) error {
	if err := check.Snapshot(s); err != nil {
		return fmt.Errorf("storing snapshot of initiative %s on %s: %w", s.Initiative, s.Day, err)
	}
	// Like FinishRun: the caller's time is kept (a backfill knows when the
	// figures were taken); a zero one means now.
	updated := s.UpdatedAt
	if updated.IsZero() {
		updated = o.d.Now()
	}
	if _, err := o.db.Exec(ctx, o.q.PutSnapshot, s.Initiative, s.Day, s.Total, s.Done, s.InProgress, s.Todo,
		s.DoneByCount, s.DoneByEstimate, s.AtRisk, updated.UnixNano()); err != nil {
		return o.d.Wrap(err, "storing snapshot of initiative %s on %s", s.Initiative, s.Day)
	}
	return nil
}

// ScanSnapshot reads the SnapshotCols of one row.
func ScanSnapshot[N rowscan.Nullable](sc rowscan.Scanner) (store.Snapshot, error) {
	var s store.Snapshot
	var updated N
	err := sc.Scan(&s.Initiative, &s.Day, &s.Total, &s.Done, &s.InProgress, &s.Todo,
		&s.DoneByCount, &s.DoneByEstimate, &s.AtRisk, &updated)
	s.UpdatedAt = rowscan.Time(updated)
	return s, err
}

func (o Ops[N, B]) ListSnapshots(ctx context.Context, initiative, since string) ([]store.Snapshot, error) {
	what := "snapshots of initiative " + initiative
	if initiative == "" {
		what = "snapshots of every initiative"
	}
	if since != "" {
		what += " since " + since
		if err := check.Day(since); err != nil {
			return nil, fmt.Errorf("listing %s: %w", what, err)
		}
	}
	query, args := o.where(o.q.ListSnapshots, "initiative =", initiative, "day >=", since)
	return list(ctx, o.d, o.db, what, ScanSnapshot[N], query+o.q.SnapshotOrder, args...)
}

func (o Ops[N, B]) DeleteSnapshots(ctx context.Context, before string) (int64, error) {
	// "" is refused rather than read as "nothing" or "everything": a
	// retention job with a missing cut-off must not guess.
	if err := check.Day(before); err != nil {
		return 0, fmt.Errorf("deleting snapshots before %q: %w", before, err)
	}
	n, err := o.db.Exec(ctx, o.q.DeleteSnapshots, before)
	if err != nil {
		return 0, o.d.Wrap(err, "deleting snapshots before %s", before)
	}
	return n, nil
}

// Target-date history.

func (o Ops[N, B]) PutDateChange(ctx context.Context, c store.DateChange) error {
	if c.Initiative == "" {
		return fmt.Errorf("recording a target date change: initiative is empty: %w", adapters.ErrInvalid)
	}
	for _, d := range []string{c.From, c.To} {
		if err := check.OptionalDay(d); err != nil {
			return fmt.Errorf("recording the target date change of initiative %s: %w", c.Initiative, err)
		}
	}
	at := c.At
	if at.IsZero() {
		at = o.d.Now()
	}
	if _, err := o.db.Exec(ctx, o.q.PutDateChange, c.Initiative, at.UnixNano(), c.From, c.To); err != nil {
		return o.d.Wrap(err, "recording the target date change of initiative %s", c.Initiative)
	}
	return nil
}

func scanDateChange(sc rowscan.Scanner) (store.DateChange, error) {
	var c store.DateChange
	var at int64
	err := sc.Scan(&c.Initiative, &at, &c.From, &c.To)
	c.At = time.Unix(0, at).UTC()
	return c, err
}

func (o Ops[N, B]) ListDateChanges(ctx context.Context, initiative string) ([]store.DateChange, error) {
	query, args := o.where(o.q.ListDateChanges, "initiative =", initiative)
	return list(ctx, o.d, o.db, fmt.Sprintf("target date changes of %q", initiative), scanDateChange, query+` ORDER BY at, id`, args...)
}

// Key-value space.

func (o Ops[N, B]) GetKV(ctx context.Context, scope, key string) (string, bool, error) {
	var v string
	err := o.db.QueryRow(ctx, o.q.GetKV, scope, key).Scan(&v)
	if o.d.NoRows(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, o.d.Wrap(err, "reading %s in key-value scope %s", key, scope)
	}
	return v, true, nil
}

func (o Ops[N, B]) PutKV(ctx context.Context, scope, key, value string) error {
	if err := check.KV(scope, key); err != nil {
		return fmt.Errorf("storing key-value pair: %w", err)
	}
	if _, err := o.db.Exec(ctx, o.q.PutKV, scope, key, value); err != nil {
		return o.d.Wrap(err, "storing %s in key-value scope %s", key, scope)
	}
	return nil
}

func (o Ops[N, B]) DeleteKV(ctx context.Context, scope, key string) error {
	if _, err := o.db.Exec(ctx, o.q.DeleteKV, scope, key); err != nil {
		return o.d.Wrap(err, "deleting %s from key-value scope %s", key, scope)
	}
	return nil
}

// Outbox.

// AddEvent is PutEvent around insert, the driver's INSERT of e that
// writes nothing when e's dedup key is taken: it checks e, and makes of
// insert's outcome the new event's id, or the id of the event that took
// the key (added before), or the wrapped error.
func (o Ops[N, B]) AddEvent(ctx context.Context, e store.Event, insert func() (id int64, inserted bool, err error)) (int64, error) {
	if err := check.Event(e); err != nil {
		return 0, err
	}
	id, inserted, err := insert()
	if err != nil {
		return 0, o.d.Wrap(err, "adding %s event %q to the outbox", e.Kind, e.DedupKey)
	}
	if inserted {
		return id, nil
	}
	if err := o.db.QueryRow(ctx, o.q.EventByKey, e.DedupKey).Scan(&id); err != nil {
		return 0, o.d.Wrap(err, "finding outbox event with key %q", e.DedupKey)
	}
	return id, nil
}

// ScanEvent reads the EventCols of one row.
func ScanEvent(sc rowscan.Scanner) (store.Event, error) {
	var e store.Event
	var created, next int64
	err := sc.Scan(&e.ID, &e.Kind, &e.DedupKey, &e.Payload, &created, &e.Attempts, &next, &e.LastError)
	e.CreatedAt, e.NextAttempt = time.Unix(0, created).UTC(), time.Unix(0, next).UTC()
	return e, err
}

// Claim is ClaimEvents: it runs the driver's claim
// (Queries.ClaimEvents) with the arguments args makes once the call is
// checked, and returns the claimed events by id.
func (o Ops[N, B]) Claim(ctx context.Context, worker string, limit int, lease time.Duration, args func() []any) ([]store.Event, error) {
	if worker == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("claiming outbox events: worker %q, limit %d and lease %s must be set and positive: %w",
			worker, limit, lease, adapters.ErrInvalid)
	}
	rows, err := o.db.Query(ctx, o.q.ClaimEvents, args()...)
	if err != nil {
		return nil, o.d.Wrap(err, "claiming outbox events for %s", worker)
	}
	defer rows.Close()
	out, err := rowscan.Collect(rows, func() (store.Event, error) { return ScanEvent(rows) })
	if err != nil {
		return nil, o.d.Wrap(err, "claiming outbox events for %s", worker)
	}
	// RETURNING has no order of its own.
	slices.SortFunc(out, func(a, b store.Event) int { return int(a.ID - b.ID) })
	return out, nil
}

func (o Ops[N, B]) AckEvent(ctx context.Context, id int64) error {
	n, err := o.db.Exec(ctx, o.q.AckEvent, o.d.ExpiryNow(), id)
	if err != nil {
		return o.d.Wrap(err, "acknowledging outbox event %d", id)
	}
	return check.Affected(n, "outbox event", id)
}

func (o Ops[N, B]) RetryEvent(ctx context.Context, id int64, next time.Time, errMsg string) error {
	// A delivered event stays delivered: a late retry from a worker whose
	// claim ran out must not bring it back.
	n, err := o.db.Exec(ctx, o.q.RetryEvent, next.UnixNano(), o.d.Text(errMsg), id)
	if err != nil {
		return o.d.Wrap(err, "scheduling retry of outbox event %d", id)
	}
	return check.Affected(n, "outbox event", id)
}

// Leases.

// Unlock releases owner's lease. Releasing a lease owner does not hold
// (it expired and someone else took it) is a no-op, so a late deferred
// Unlock never frees another owner's lease. The row stays, with its
// token, so that tokens only grow.
func (o Ops[N, B]) Unlock(ctx context.Context, name, owner string) error {
	if _, err := o.db.Exec(ctx, o.q.Unlock, name, owner); err != nil {
		return o.d.Wrap(err, "releasing lock %s", name)
	}
	return nil
}

// ScanLease reads name, owner, token and expires_at (unix ns).
func ScanLease(sc rowscan.Scanner) (store.Lease, error) {
	var l store.Lease
	var expires int64
	err := sc.Scan(&l.Name, &l.Owner, &l.Token, &expires)
	l.Expires = time.Unix(0, expires).UTC()
	return l, err
}

func (o Ops[N, B]) ExpiredLeases(ctx context.Context, prefix string) ([]store.Lease, error) {
	return list(ctx, o.d, o.db, "expired leases", ScanLease, o.q.ExpiredLeases, o.d.ExpiryNow(), len(prefix), prefix)
}

// Generations.

func (o Ops[N, B]) BumpGeneration(ctx context.Context, name string) (int64, error) {
	if name == "" {
		return 0, fmt.Errorf("bumping generation: name is empty: %w", adapters.ErrInvalid)
	}
	var g int64
	if err := o.db.QueryRow(ctx, o.q.BumpGeneration, name).Scan(&g); err != nil {
		return 0, o.d.Wrap(err, "bumping generation of %s", name)
	}
	return g, nil
}

func (o Ops[N, B]) Generation(ctx context.Context, name string) (int64, error) {
	var g int64
	err := o.db.QueryRow(ctx, o.q.Generation, name).Scan(&g)
	if o.d.NoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, o.d.Wrap(err, "reading generation of %s", name)
	}
	return g, nil
}

// Rate budgets.

func (o Ops[N, B]) TakeTokens(ctx context.Context, bucket string, n, ratePerSec, burst float64, now time.Time) (time.Duration, error) {
	return o.takeTokens(ctx, bucket, n, ratePerSec, burst, 0, false, now)
}

// TakeTokensAbove takes n tokens only when floor are left after them (see
// store.Store).
func (o Ops[N, B]) TakeTokensAbove(ctx context.Context, bucket string, n, ratePerSec, burst, floor float64, now time.Time) (time.Duration, error) {
	return o.takeTokens(ctx, bucket, n, ratePerSec, burst, floor, true, now)
}

// takeTokens is TakeTokens, and TakeTokensAbove when above.
func (o Ops[N, B]) takeTokens(ctx context.Context, bucket string, n, ratePerSec, burst, floor float64, above bool, now time.Time) (time.Duration, error) {
	if err := check.TokenArgs(bucket, n, ratePerSec, burst, floor, above); err != nil {
		return 0, err
	}
	var wait time.Duration
	err := o.d.Bucket(ctx, bucket, burst, now, func(tokens float64, last int64) (float64, int64) {
		tokens, last, wait = check.Take(tokens, last, n, ratePerSec, burst, floor, above, now)
		return tokens, last
	})
	if err != nil {
		return 0, o.d.Wrap(err, "taking tokens from rate bucket %s", bucket)
	}
	return wait, nil
}
