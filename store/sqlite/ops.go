package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/internal/redact"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/check"
	"github.com/tracksync/tracksync/store/internal/rowscan"
)

// querier is what *sql.DB and *sql.Tx have in common, so one ops type
// serves both the Store and its transactions.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ops implements store.Ops over a querier.
type ops struct {
	q querier
	s *Store
}

var _ store.Ops = (*ops)(nil)

// ts converts a time to its column value: unix nanoseconds, NULL for zero.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// fromTS is the inverse of ts; times come back in UTC.
func fromTS(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// nullString stores "" as NULL, for columns where NULLs must not collide
// in a UNIQUE index.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// checkAffected turns "no row changed" into ErrNotFound.
func (o *ops) checkAffected(res sql.Result, what string, id any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return o.s.wrap(err, "updating %s %v", what, id)
	}
	if n == 0 {
		return check.NotFound(what, id)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

// Links.

const linkCols = `id, flow, COALESCE(key, ''), a_tracker, a_project, a_id, a_key, a_url,
	b_tracker, b_project, b_id, b_key, b_url, created_at, updated_at`

func scanLink(sc scanner) (store.Link, error) {
	var l store.Link
	var created, updated sql.NullInt64
	err := sc.Scan(&l.ID, &l.Flow, &l.Key,
		&l.A.Tracker, &l.A.Project, &l.A.ID, &l.A.Key, &l.A.URL,
		&l.B.Tracker, &l.B.Project, &l.B.ID, &l.B.Key, &l.B.URL,
		&created, &updated)
	l.CreatedAt, l.UpdatedAt = fromTS(created), fromTS(updated)
	return l, err
}

func (o *ops) CreateLink(ctx context.Context, l store.Link) (store.Link, error) {
	if l.Flow == "" || l.A.ID == "" || l.B.ID == "" {
		return store.Link{}, fmt.Errorf("creating link %s <-> %s in flow %q: flow and both item ids are required", l.A, l.B, l.Flow)
	}
	now := o.s.now()
	res, err := o.q.ExecContext(ctx, `INSERT INTO links (flow, key,
		a_tracker, a_project, a_id, a_key, a_url, b_tracker, b_project, b_id, b_key, b_url,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		l.Flow, nullString(l.Key),
		l.A.Tracker, l.A.Project, l.A.ID, l.A.Key, l.A.URL,
		l.B.Tracker, l.B.Project, l.B.ID, l.B.Key, l.B.URL,
		now.UnixNano(), now.UnixNano())
	if err != nil {
		return store.Link{}, o.s.wrap(err, "creating link %s <-> %s in flow %s", l.A, l.B, l.Flow)
	}
	if l.ID, err = res.LastInsertId(); err != nil {
		return store.Link{}, o.s.wrap(err, "creating link %s <-> %s in flow %s", l.A, l.B, l.Flow)
	}
	l.CreatedAt, l.UpdatedAt = now, now
	return l, nil
}

func (o *ops) UpdateLink(ctx context.Context, l store.Link) error {
	if l.A.ID == "" || l.B.ID == "" {
		return fmt.Errorf("updating link %d: both item ids are required", l.ID)
	}
	// Flow and Key stay: the key is the link's identity for its whole life.
	res, err := o.q.ExecContext(ctx, `UPDATE links SET
		a_tracker = ?, a_project = ?, a_id = ?, a_key = ?, a_url = ?,
		b_tracker = ?, b_project = ?, b_id = ?, b_key = ?, b_url = ?,
		updated_at = ? WHERE id = ?`,
		l.A.Tracker, l.A.Project, l.A.ID, l.A.Key, l.A.URL,
		l.B.Tracker, l.B.Project, l.B.ID, l.B.Key, l.B.URL,
		o.s.now().UnixNano(), l.ID)
	if err != nil {
		return o.s.wrap(err, "updating link %d (%s <-> %s)", l.ID, l.A, l.B)
	}
	return o.checkAffected(res, "link", l.ID)
}

func (o *ops) getLink(ctx context.Context, what string, query string, args ...any) (store.Link, error) {
	l, err := scanLink(o.q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Link{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return store.Link{}, o.s.wrap(err, "reading %s", what)
	}
	return l, nil
}

func (o *ops) GetLink(ctx context.Context, id int64) (store.Link, error) {
	return o.getLink(ctx, fmt.Sprintf("link %d", id),
		`SELECT `+linkCols+` FROM links WHERE id = ?`, id)
}

func (o *ops) FindLink(ctx context.Context, flow string, s store.Side, id string) (store.Link, error) {
	if err := check.Side(s); err != nil {
		return store.Link{}, fmt.Errorf("finding link of flow %s: %w", flow, err)
	}
	// s is "a" or "b", so the column name is safe to build; ORDER BY makes
	// the answer stable if two trackers on one side share an id.
	return o.getLink(ctx, fmt.Sprintf("link of flow %s with side %s id %s", flow, s, id),
		`SELECT `+linkCols+` FROM links WHERE flow = ? AND `+string(s)+`_id = ? ORDER BY id LIMIT 1`, flow, id)
}

func (o *ops) FindLinkByKey(ctx context.Context, flow, key string) (store.Link, error) {
	return o.getLink(ctx, fmt.Sprintf("link of flow %s with key %s", flow, key),
		`SELECT `+linkCols+` FROM links WHERE flow = ? AND key = ?`, flow, key)
}

func (o *ops) ListLinks(ctx context.Context, flow string) ([]store.Link, error) {
	query, args := `SELECT `+linkCols+` FROM links ORDER BY id`, []any(nil)
	if flow != "" {
		query, args = `SELECT `+linkCols+` FROM links WHERE flow = ? ORDER BY id`, []any{flow}
	}
	rows, err := o.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, o.s.wrap(err, "listing links of flow %q", flow)
	}
	defer rows.Close()
	out, err := rowscan.Collect(rows, func() (store.Link, error) { return scanLink(rows) })
	if err != nil {
		return nil, o.s.wrap(err, "listing links of flow %q", flow)
	}
	return out, nil
}

func (o *ops) CountLinks(ctx context.Context, flow string) (int, error) {
	var n int
	err := o.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM links WHERE flow = ? AND substr(a_id, 1, ?) <> ? AND substr(b_id, 1, ?) <> ?`,
		flow, len(store.TombstonePrefix), store.TombstonePrefix, len(store.TombstonePrefix), store.TombstonePrefix).Scan(&n)
	if err != nil {
		return 0, o.s.wrap(err, "counting links of flow %q", flow)
	}
	return n, nil
}

func (o *ops) DeleteLink(ctx context.Context, id int64) error {
	// Bases and comment links go with it: ON DELETE CASCADE. Conflicts
	// name the link without a foreign key (they outlive nothing else), so
	// they are removed here: a conflict about a pair that no longer exists
	// can only mislead.
	if _, err := o.q.ExecContext(ctx, `DELETE FROM conflicts WHERE link_id = ?`, id); err != nil {
		return o.s.wrap(err, "deleting conflicts of link %d", id)
	}
	res, err := o.q.ExecContext(ctx, `DELETE FROM links WHERE id = ?`, id)
	if err != nil {
		return o.s.wrap(err, "deleting link %d", id)
	}
	return o.checkAffected(res, "link", id)
}

// Bases.

func (o *ops) PutBase(ctx context.Context, b store.Base) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO bases (link_id, a_fields, b_fields, a_version, b_version, synced_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (link_id) DO UPDATE SET a_fields = excluded.a_fields, b_fields = excluded.b_fields,
			a_version = excluded.a_version, b_version = excluded.b_version, synced_at = excluded.synced_at`,
		b.LinkID, encodeFields(b.A), encodeFields(b.B), b.AVersion, b.BVersion, ts(b.SyncedAt))
	if err != nil {
		// A foreign-key failure (ErrNotFound) means the link is missing.
		return o.s.wrap(err, "storing base of link %d", b.LinkID)
	}
	return nil
}

const baseCols = `link_id, a_fields, b_fields, a_version, b_version, synced_at`

// baseScanner scans base rows into destinations it reuses: declared per
// row, they escape to the heap through Scan's ...any, five allocations a
// row that a 100,000-row ListBases notices.
type baseScanner struct {
	linkID    int64
	af, bf    string
	av, bv    string
	synced    sql.NullInt64
	dest      []any
	fieldsBuf []string
}

func newBaseScanner() *baseScanner {
	bs := &baseScanner{}
	bs.dest = []any{&bs.linkID, &bs.af, &bs.bf, &bs.av, &bs.bv, &bs.synced}
	return bs
}

func (bs *baseScanner) scan(sc scanner) (store.Base, error) {
	if err := sc.Scan(bs.dest...); err != nil {
		return store.Base{}, err
	}
	b := store.Base{LinkID: bs.linkID, AVersion: bs.av, BVersion: bs.bv, SyncedAt: fromTS(bs.synced)}
	var err error
	if b.A, bs.fieldsBuf, err = decodeFieldsBuf(bs.af, bs.fieldsBuf); err != nil {
		return b, fmt.Errorf("side a of base of link %d: %w", b.LinkID, err)
	}
	if b.B, bs.fieldsBuf, err = decodeFieldsBuf(bs.bf, bs.fieldsBuf); err != nil {
		return b, fmt.Errorf("side b of base of link %d: %w", b.LinkID, err)
	}
	return b, nil
}

func (o *ops) GetBase(ctx context.Context, linkID int64) (store.Base, error) {
	b, err := newBaseScanner().scan(o.q.QueryRowContext(ctx, `SELECT `+baseCols+` FROM bases WHERE link_id = ?`, linkID))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Base{}, check.NotFound("base of link", linkID)
	}
	if err != nil {
		return store.Base{}, o.s.wrap(err, "reading base of link %d", linkID)
	}
	return b, nil
}

func (o *ops) ListBases(ctx context.Context, flow string) (map[int64]store.Base, error) {
	// The flow's link count (an upper bound, read from the index alone)
	// sizes the map up front: growing a 100,000-entry map step by step
	// costs more than the count.
	var n int
	if err := o.q.QueryRowContext(ctx, `SELECT count(*) FROM links WHERE flow = ?`, flow).Scan(&n); err != nil {
		return nil, o.s.wrap(err, "counting bases of flow %s", flow)
	}
	rows, err := o.q.QueryContext(ctx, `SELECT b.link_id, b.a_fields, b.b_fields, b.a_version, b.b_version, b.synced_at
		FROM links l JOIN bases b ON b.link_id = l.id WHERE l.flow = ?`, flow)
	if err != nil {
		return nil, o.s.wrap(err, "listing bases of flow %s", flow)
	}
	defer rows.Close()
	out := make(map[int64]store.Base, n)
	bs := newBaseScanner()
	for rows.Next() {
		b, err := bs.scan(rows)
		if err != nil {
			return nil, o.s.wrap(err, "listing bases of flow %s", flow)
		}
		out[b.LinkID] = b
	}
	if err := rows.Err(); err != nil {
		return nil, o.s.wrap(err, "listing bases of flow %s", flow)
	}
	return out, nil
}

// Comment links.

func (o *ops) PutCommentLink(ctx context.Context, c store.CommentLink) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO comment_links (link_id, a_id, b_id, body_hash) VALUES (?, ?, ?, ?)
		ON CONFLICT (link_id, a_id) DO UPDATE SET b_id = excluded.b_id, body_hash = excluded.body_hash`,
		c.LinkID, c.AID, c.BID, c.BodyHash)
	if err != nil {
		return o.s.wrap(err, "storing comment link %s <-> %s of link %d", c.AID, c.BID, c.LinkID)
	}
	return nil
}

func (o *ops) ListCommentLinks(ctx context.Context, linkID int64) ([]store.CommentLink, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT link_id, a_id, b_id, body_hash FROM comment_links
		WHERE link_id = ? ORDER BY id`, linkID)
	if err != nil {
		return nil, o.s.wrap(err, "listing comment links of link %d", linkID)
	}
	defer rows.Close()
	out, err := rowscan.Collect(rows, func() (store.CommentLink, error) {
		var c store.CommentLink
		err := rows.Scan(&c.LinkID, &c.AID, &c.BID, &c.BodyHash)
		return c, err
	})
	if err != nil {
		return nil, o.s.wrap(err, "listing comment links of link %d", linkID)
	}
	return out, nil
}

// Cursors.

func (o *ops) GetCursor(ctx context.Context, flow string, s store.Side) (string, error) {
	if err := check.Side(s); err != nil {
		return "", fmt.Errorf("reading cursor of flow %s: %w", flow, err)
	}
	var c string
	err := o.q.QueryRowContext(ctx, `SELECT cursor FROM cursors WHERE flow = ? AND side = ?`, flow, string(s)).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", o.s.wrap(err, "reading cursor of flow %s side %s", flow, s)
	}
	return c, nil
}

func (o *ops) PutCursor(ctx context.Context, flow string, s store.Side, cursor string) error {
	if err := check.Side(s); err != nil {
		return fmt.Errorf("storing cursor of flow %s: %w", flow, err)
	}
	_, err := o.q.ExecContext(ctx, `INSERT INTO cursors (flow, side, cursor) VALUES (?, ?, ?)
		ON CONFLICT (flow, side) DO UPDATE SET cursor = excluded.cursor`, flow, string(s), cursor)
	if err != nil {
		return o.s.wrap(err, "storing cursor of flow %s side %s", flow, s)
	}
	return nil
}

// Journal.

// leaseHeld is the condition, on a lease name and token (and the store's
// now), that the lease is still held with that token. It is part of the
// statement it fences, so no other writer can slip in between the check
// and the write.
const leaseHeld = `EXISTS (SELECT 1 FROM locks WHERE name = ? AND token = ? AND owner <> '' AND expires_at > ?)`

// leaseLost describes why the lease name/token no longer holds, for the
// error of a fenced write (only on that failure path: one more read).
func (o *ops) leaseLost(ctx context.Context, name string, token int64) error {
	var owner string
	var expires, cur int64
	err := o.q.QueryRowContext(ctx, `SELECT owner, expires_at, token FROM locks WHERE name = ?`, name).Scan(&owner, &expires, &cur)
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

func (o *ops) JournalIntent(ctx context.Context, e store.JournalEntry) (int64, error) {
	if err := check.Side(e.Side); err != nil {
		return 0, fmt.Errorf("journaling %s of %s in flow %s: %w", e.Op, e.Target, e.Flow, err)
	}
	now := o.s.now().UnixNano()
	// INSERT ... SELECT ... WHERE: the lease check and the insert are one
	// statement. An entry without a lease is not fenced.
	res, err := o.q.ExecContext(ctx, `INSERT INTO journal (run_id, flow, link_id, op, side,
		target_tracker, target_project, target_id, target_key, target_url,
		idempotency_key, before_fields, after_fields, state, created_at, lease_name, lease_token)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
		WHERE ? = '' OR `+leaseHeld,
		e.RunID, e.Flow, e.LinkID, e.Op, string(e.Side),
		e.Target.Tracker, e.Target.Project, e.Target.ID, e.Target.Key, e.Target.URL,
		e.IdempotencyKey, encodeFields(e.Before), encodeFields(e.After),
		store.JournalPending, now, e.LeaseName, e.LeaseToken,
		e.LeaseName, e.LeaseName, e.LeaseToken, now)
	if err != nil {
		return 0, o.s.wrap(err, "journaling %s of %s in flow %s", e.Op, e.Target, e.Flow)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, o.s.wrap(err, "journaling %s of %s in flow %s", e.Op, e.Target, e.Flow)
	}
	if n == 0 {
		return 0, fmt.Errorf("journaling %s of %s in flow %s: %w", e.Op, e.Target, e.Flow, o.leaseLost(ctx, e.LeaseName, e.LeaseToken))
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, o.s.wrap(err, "journaling %s of %s in flow %s", e.Op, e.Target, e.Flow)
	}
	return id, nil
}

func (o *ops) JournalFinish(ctx context.Context, id int64, state string, result adapters.Ref, linkID int64, errMsg string, lease store.Lease) error {
	// Pending is allowed: after an ambiguous failure of a create the
	// engine keeps the entry pending, with the error, for recovery.
	if !check.JournalState(state) {
		return fmt.Errorf("finishing journal entry %d: unknown state %q", id, state)
	}
	// DoneAt stays unset while the entry is pending. linkID 0 keeps the
	// entry's link: an update knew its link at intent time and the engine
	// need not repeat it.
	now := o.s.now().UnixNano()
	var doneAt any
	if state != store.JournalPending {
		doneAt = now
	}
	res, err := o.q.ExecContext(ctx, `UPDATE journal SET state = ?,
		result_tracker = ?, result_project = ?, result_id = ?, result_key = ?, result_url = ?,
		link_id = CASE WHEN ? = 0 THEN link_id ELSE ? END, error = ?, done_at = ?
		WHERE id = ? AND (? = '' OR `+leaseHeld+`)`,
		state, result.Tracker, result.Project, result.ID, result.Key, result.URL,
		linkID, linkID, redact.Global.String(errMsg), doneAt, id,
		lease.Name, lease.Name, lease.Token, now)
	if err != nil {
		return o.s.wrap(err, "finishing journal entry %d as %s", id, state)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return o.s.wrap(err, "finishing journal entry %d as %s", id, state)
	}
	if n > 0 {
		return nil
	}
	if lease.Name != "" {
		var one int
		err := o.q.QueryRowContext(ctx, `SELECT 1 FROM journal WHERE id = ?`, id).Scan(&one)
		if err == nil {
			return fmt.Errorf("finishing journal entry %d as %s: %w", id, state, o.leaseLost(ctx, lease.Name, lease.Token))
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return o.s.wrap(err, "finishing journal entry %d as %s", id, state)
		}
	}
	return check.NotFound("journal entry", id)
}

func (o *ops) JournalSetState(ctx context.Context, id int64, state string) error {
	if !check.JournalState(state) {
		return fmt.Errorf("setting journal entry %d: unknown state %q", id, state)
	}
	res, err := o.q.ExecContext(ctx, `UPDATE journal SET state = ? WHERE id = ?`, state, id)
	if err != nil {
		return o.s.wrap(err, "setting journal entry %d to state %s", id, state)
	}
	return o.checkAffected(res, "journal entry", id)
}

const journalCols = `id, run_id, flow, link_id, op, side,
	target_tracker, target_project, target_id, target_key, target_url,
	idempotency_key, lease_name, lease_token, before_fields, after_fields,
	result_tracker, result_project, result_id, result_key, result_url,
	state, error, created_at, done_at`

func (o *ops) listJournal(ctx context.Context, what, query string, args ...any) ([]store.JournalEntry, error) {
	rows, err := o.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, o.s.wrap(err, "listing %s", what)
	}
	defer rows.Close()
	var out []store.JournalEntry
	for rows.Next() {
		var e store.JournalEntry
		var side, before, after string
		var created, done sql.NullInt64
		if err := rows.Scan(&e.ID, &e.RunID, &e.Flow, &e.LinkID, &e.Op, &side,
			&e.Target.Tracker, &e.Target.Project, &e.Target.ID, &e.Target.Key, &e.Target.URL,
			&e.IdempotencyKey, &e.LeaseName, &e.LeaseToken, &before, &after,
			&e.Result.Tracker, &e.Result.Project, &e.Result.ID, &e.Result.Key, &e.Result.URL,
			&e.State, &e.Error, &created, &done); err != nil {
			return nil, o.s.wrap(err, "listing %s", what)
		}
		e.Side = store.Side(side)
		e.CreatedAt, e.DoneAt = fromTS(created), fromTS(done)
		if e.Before, err = decodeFields(before); err != nil {
			return nil, fmt.Errorf("listing %s: entry %d before: %w", what, e.ID, err)
		}
		if e.After, err = decodeFields(after); err != nil {
			return nil, fmt.Errorf("listing %s: entry %d after: %w", what, e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, o.s.wrap(err, "listing %s", what)
	}
	return out, nil
}

func (o *ops) PendingJournal(ctx context.Context, flow string) ([]store.JournalEntry, error) {
	if flow == "" {
		return o.listJournal(ctx, "pending journal entries",
			`SELECT `+journalCols+` FROM journal WHERE state = ? ORDER BY id`, store.JournalPending)
	}
	return o.listJournal(ctx, "pending journal entries of flow "+flow,
		`SELECT `+journalCols+` FROM journal WHERE state = ? AND flow = ? ORDER BY id`, store.JournalPending, flow)
}

func (o *ops) JournalHasKey(ctx context.Context, key string) (bool, error) {
	var n int
	if err := o.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM journal WHERE idempotency_key = ? LIMIT 1)`, key).Scan(&n); err != nil {
		return false, fmt.Errorf("looking up key %s in the journal: %w", key, err)
	}
	return n > 0, nil
}

func (o *ops) RunJournal(ctx context.Context, runID int64) ([]store.JournalEntry, error) {
	return o.listJournal(ctx, fmt.Sprintf("journal of run %d", runID),
		`SELECT `+journalCols+` FROM journal WHERE run_id = ? ORDER BY id`, runID)
}

// Conflicts.

func (o *ops) PutConflict(ctx context.Context, c store.Conflict) (int64, error) {
	// The partial unique index on open conflicts is the upsert target, so
	// a conflict that is raised again keeps its ID and its creation time.
	var id int64
	err := o.q.QueryRowContext(ctx, `INSERT INTO conflicts (flow, link_id, field, base, a_value, b_value, state, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (link_id, field) WHERE state = 'open' DO UPDATE SET
			flow = excluded.flow, base = excluded.base, a_value = excluded.a_value, b_value = excluded.b_value
		RETURNING id`,
		c.Flow, c.LinkID, c.Field, c.Base, c.A, c.B, store.ConflictOpen, o.s.now().UnixNano()).Scan(&id)
	if err != nil {
		return 0, o.s.wrap(err, "storing conflict on field %s of link %d", c.Field, c.LinkID)
	}
	return id, nil
}

const conflictCols = `id, flow, link_id, field, base, a_value, b_value, state, resolution, value, created_at, resolved_at`

func scanConflict(sc scanner) (store.Conflict, error) {
	var c store.Conflict
	var created, resolved sql.NullInt64
	err := sc.Scan(&c.ID, &c.Flow, &c.LinkID, &c.Field, &c.Base, &c.A, &c.B, &c.State,
		&c.Resolution, &c.Value, &created, &resolved)
	c.CreatedAt, c.ResolvedAt = fromTS(created), fromTS(resolved)
	return c, err
}

func (o *ops) GetConflict(ctx context.Context, id int64) (store.Conflict, error) {
	c, err := scanConflict(o.q.QueryRowContext(ctx, `SELECT `+conflictCols+` FROM conflicts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Conflict{}, check.NotFound("conflict", id)
	}
	if err != nil {
		return store.Conflict{}, o.s.wrap(err, "reading conflict %d", id)
	}
	return c, nil
}

func (o *ops) ListConflicts(ctx context.Context, flow, state string) ([]store.Conflict, error) {
	var where []string
	var args []any
	if flow != "" {
		where, args = append(where, "flow = ?"), append(args, flow)
	}
	if state != "" {
		where, args = append(where, "state = ?"), append(args, state)
	}
	query := `SELECT ` + conflictCols + ` FROM conflicts`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := o.q.QueryContext(ctx, query+` ORDER BY id`, args...)
	if err != nil {
		return nil, o.s.wrap(err, "listing conflicts of flow %q", flow)
	}
	defer rows.Close()
	out, err := rowscan.Collect(rows, func() (store.Conflict, error) { return scanConflict(rows) })
	if err != nil {
		return nil, o.s.wrap(err, "listing conflicts of flow %q", flow)
	}
	return out, nil
}

func (o *ops) ResolveConflict(ctx context.Context, id int64, resolution, value string) error {
	switch resolution {
	case "a", "b", "value":
	default:
		return fmt.Errorf("resolving conflict %d: resolution %q is not a, b or value", id, resolution)
	}
	res, err := o.q.ExecContext(ctx, `UPDATE conflicts SET state = ?, resolution = ?, value = ?, resolved_at = ?
		WHERE id = ?`, store.ConflictResolved, resolution, value, o.s.now().UnixNano(), id)
	if err != nil {
		return o.s.wrap(err, "resolving conflict %d", id)
	}
	return o.checkAffected(res, "conflict", id)
}

// Runs.

func (o *ops) StartRun(ctx context.Context, flow string, dryRun bool) (store.Run, error) {
	r := store.Run{Flow: flow, State: store.RunRunning, DryRun: dryRun, StartedAt: o.s.now()}
	res, err := o.q.ExecContext(ctx, `INSERT INTO runs (flow, state, dry_run, started_at) VALUES (?, ?, ?, ?)`,
		r.Flow, r.State, r.DryRun, r.StartedAt.UnixNano())
	if err != nil {
		return store.Run{}, o.s.wrap(err, "starting run of flow %s", flow)
	}
	if r.ID, err = res.LastInsertId(); err != nil {
		return store.Run{}, o.s.wrap(err, "starting run of flow %s", flow)
	}
	return r, nil
}

func (o *ops) FinishRun(ctx context.Context, r store.Run) error {
	counts, err := json.Marshal(r.Counts)
	if err != nil {
		return fmt.Errorf("finishing run %d: encoding counts: %w", r.ID, err)
	}
	// The engine may stamp FinishedAt with its own clock; else it is now.
	finished := r.FinishedAt
	if finished.IsZero() {
		finished = o.s.now()
	}
	res, err := o.q.ExecContext(ctx, `UPDATE runs SET state = ?, finished_at = ?, counts = ?, error = ? WHERE id = ?`,
		r.State, finished.UnixNano(), string(counts), redact.Global.String(r.Error), r.ID)
	if err != nil {
		return o.s.wrap(err, "finishing run %d as %s", r.ID, r.State)
	}
	return o.checkAffected(res, "run", r.ID)
}

const runCols = `id, flow, state, dry_run, started_at, finished_at, counts, error`

func scanRun(sc scanner) (store.Run, error) {
	var r store.Run
	var started, finished sql.NullInt64
	var counts string
	if err := sc.Scan(&r.ID, &r.Flow, &r.State, &r.DryRun, &started, &finished, &counts, &r.Error); err != nil {
		return r, err
	}
	r.StartedAt, r.FinishedAt = fromTS(started), fromTS(finished)
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return r, fmt.Errorf("decoding counts of run %d: %w", r.ID, err)
	}
	return r, nil
}

func (o *ops) GetRun(ctx context.Context, id int64) (store.Run, error) {
	r, err := scanRun(o.q.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Run{}, check.NotFound("run", id)
	}
	if err != nil {
		return store.Run{}, o.s.wrap(err, "reading run %d", id)
	}
	return r, nil
}

func (o *ops) ListRuns(ctx context.Context, flow string, limit int) ([]store.Run, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	query, args := `SELECT `+runCols+` FROM runs ORDER BY id DESC LIMIT ?`, []any{limit}
	if flow != "" {
		query, args = `SELECT `+runCols+` FROM runs WHERE flow = ? ORDER BY id DESC LIMIT ?`, []any{flow, limit}
	}
	rows, err := o.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, o.s.wrap(err, "listing runs of flow %q", flow)
	}
	defer rows.Close()
	out, err := rowscan.Collect(rows, func() (store.Run, error) { return scanRun(rows) })
	if err != nil {
		return nil, o.s.wrap(err, "listing runs of flow %q", flow)
	}
	return out, nil
}

// Snapshots.

func (o *ops) PutSnapshot(ctx context.Context, s store.Snapshot) error {
	if err := check.Snapshot(s); err != nil {
		return fmt.Errorf("storing snapshot of initiative %s on %s: %w", s.Initiative, s.Day, err)
	}
	// Like FinishRun: the caller's time is kept (a backfill knows when the
	// figures were taken); a zero one means now.
	updated := s.UpdatedAt
	if updated.IsZero() {
		updated = o.s.now()
	}
	_, err := o.q.ExecContext(ctx, `INSERT INTO snapshots (initiative, day, total, done, in_progress, todo,
		done_by_count, done_by_estimate, at_risk, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (initiative, day) DO UPDATE SET total = excluded.total, done = excluded.done,
			in_progress = excluded.in_progress, todo = excluded.todo,
			done_by_count = excluded.done_by_count, done_by_estimate = excluded.done_by_estimate,
			at_risk = excluded.at_risk, updated_at = excluded.updated_at`,
		s.Initiative, s.Day, s.Total, s.Done, s.InProgress, s.Todo,
		s.DoneByCount, s.DoneByEstimate, s.AtRisk, updated.UnixNano())
	if err != nil {
		return o.s.wrap(err, "storing snapshot of initiative %s on %s", s.Initiative, s.Day)
	}
	return nil
}

const snapshotCols = `initiative, day, total, done, in_progress, todo,
	done_by_count, done_by_estimate, at_risk, updated_at`

func (o *ops) ListSnapshots(ctx context.Context, initiative, since string) ([]store.Snapshot, error) {
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
	var where []string
	var args []any
	if initiative != "" {
		where, args = append(where, "initiative = ?"), append(args, initiative)
	}
	if since != "" {
		where, args = append(where, "day >= ?"), append(args, since)
	}
	query := `SELECT ` + snapshotCols + ` FROM snapshots`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := o.q.QueryContext(ctx, query+` ORDER BY day, initiative`, args...)
	if err != nil {
		return nil, o.s.wrap(err, "listing %s", what)
	}
	defer rows.Close()
	var out []store.Snapshot
	for rows.Next() {
		var s store.Snapshot
		var updated sql.NullInt64
		if err := rows.Scan(&s.Initiative, &s.Day, &s.Total, &s.Done, &s.InProgress, &s.Todo,
			&s.DoneByCount, &s.DoneByEstimate, &s.AtRisk, &updated); err != nil {
			return nil, o.s.wrap(err, "listing %s", what)
		}
		s.UpdatedAt = fromTS(updated)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, o.s.wrap(err, "listing %s", what)
	}
	return out, nil
}

func (o *ops) DeleteSnapshots(ctx context.Context, before string) (int64, error) {
	// "" is refused rather than read as "nothing" or "everything": a
	// retention job with a missing cut-off must not guess.
	if err := check.Day(before); err != nil {
		return 0, fmt.Errorf("deleting snapshots before %q: %w", before, err)
	}
	res, err := o.q.ExecContext(ctx, `DELETE FROM snapshots WHERE day < ?`, before)
	if err != nil {
		return 0, o.s.wrap(err, "deleting snapshots before %s", before)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, o.s.wrap(err, "deleting snapshots before %s", before)
	}
	return n, nil
}

// Target-date history.

func (o *ops) PutDateChange(ctx context.Context, c store.DateChange) error {
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
		at = o.s.now()
	}
	if _, err := o.q.ExecContext(ctx, `INSERT INTO target_dates (initiative, at, from_day, to_day) VALUES (?, ?, ?, ?)`,
		c.Initiative, at.UnixNano(), c.From, c.To); err != nil {
		return o.s.wrap(err, "recording the target date change of initiative %s", c.Initiative)
	}
	return nil
}

func (o *ops) ListDateChanges(ctx context.Context, initiative string) ([]store.DateChange, error) {
	query, args := `SELECT initiative, at, from_day, to_day FROM target_dates`, []any{}
	if initiative != "" {
		query, args = query+` WHERE initiative = ?`, append(args, initiative)
	}
	rows, err := o.q.QueryContext(ctx, query+` ORDER BY at, id`, args...)
	if err != nil {
		return nil, o.s.wrap(err, "listing target date changes of %q", initiative)
	}
	defer rows.Close()
	var out []store.DateChange
	for rows.Next() {
		var c store.DateChange
		var at int64
		if err := rows.Scan(&c.Initiative, &at, &c.From, &c.To); err != nil {
			return nil, o.s.wrap(err, "listing target date changes of %q", initiative)
		}
		c.At = time.Unix(0, at).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, o.s.wrap(err, "listing target date changes of %q", initiative)
	}
	return out, nil
}
