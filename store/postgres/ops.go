package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/internal/redact"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/check"
	"github.com/tracksync/tracksync/store/internal/fieldmap"
	"github.com/tracksync/tracksync/store/internal/rowscan"
)

// querier is what *pgxpool.Pool and pgx.Tx have in common, so one ops
// type serves both the Store and its transactions.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// ops implements store.Ops over a querier.
type ops struct {
	q    querier
	s    *Store
	inTx bool
}

var _ store.Ops = (*ops)(nil)

// guarded runs one statement that may violate a constraint (UpdateLink
// onto another link's item: ErrExists). In a transaction PostgreSQL
// aborts the whole transaction on any error, where the engine expects to
// carry on, so the statement runs inside a savepoint, sent with it in one
// round trip, and a failure rolls back to it. The frequent writes avoid
// the error instead (ON CONFLICT, an EXISTS check), and so the savepoint.
func (o *ops) guarded(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if !o.inTx {
		return o.q.Exec(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(`SAVEPOINT tracksync_stmt`)
	b.Queue(sql, args...)
	b.Queue(`RELEASE SAVEPOINT tracksync_stmt`)
	br := o.q.SendBatch(ctx, b)
	var tag pgconn.CommandTag
	var stmtErr error
	_, err := br.Exec() // SAVEPOINT
	if err == nil {
		if tag, stmtErr = br.Exec(); stmtErr != nil {
			err = stmtErr
		} else {
			_, err = br.Exec() // RELEASE
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if stmtErr != nil {
		bg := context.WithoutCancel(ctx)
		if _, rerr := o.q.Exec(bg, `ROLLBACK TO SAVEPOINT tracksync_stmt`); rerr != nil {
			return tag, errors.Join(err, fmt.Errorf("rolling back to the statement's savepoint: %w", rerr))
		}
		if _, rerr := o.q.Exec(bg, `RELEASE SAVEPOINT tracksync_stmt`); rerr != nil {
			return tag, errors.Join(err, fmt.Errorf("releasing the statement's savepoint: %w", rerr))
		}
	}
	return tag, err
}

// ts converts a time to its column value: unix nanoseconds, NULL for zero.
func ts(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// fromTS is the inverse of ts; times come back in UTC.
func fromTS(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// nullString stores "" as NULL, for columns where NULLs must not collide
// in a UNIQUE index.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// text makes s storable in a TEXT column, which takes neither NUL nor
// bytes that are not UTF-8 (an error message cut in the middle of a
// character): those become U+FFFD. Values that must come back byte for
// byte are bytea columns instead. (store.Copy's checksum compares error
// messages repaired the same way.)
func text(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// checkAffected turns "no row changed" into ErrNotFound.
func checkAffected(tag pgconn.CommandTag, what string, id any) error {
	if tag.RowsAffected() == 0 {
		return check.NotFound(what, id)
	}
	return nil
}

// Links.

const linkCols = `id, flow, COALESCE(key, ''), a_tracker, a_project, a_id, a_key, a_url,
	b_tracker, b_project, b_id, b_key, b_url, created_at, updated_at`

func scanLink(row pgx.Row) (store.Link, error) {
	var l store.Link
	var created, updated *int64
	err := row.Scan(&l.ID, &l.Flow, &l.Key,
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
	// ON CONFLICT DO NOTHING (any unique constraint): a duplicate is no
	// error, so a transaction needs no savepoint around the insert, and
	// one that loses a race with a concurrent insert of the same item
	// waits for it and then finds it.
	err := o.q.QueryRow(ctx, `INSERT INTO links (flow, key,
		a_tracker, a_project, a_id, a_key, a_url, b_tracker, b_project, b_id, b_key, b_url,
		created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT DO NOTHING RETURNING id`,
		l.Flow, nullString(l.Key),
		l.A.Tracker, l.A.Project, l.A.ID, l.A.Key, l.A.URL,
		l.B.Tracker, l.B.Project, l.B.ID, l.B.Key, l.B.URL,
		now.UnixNano(), now.UnixNano()).Scan(&l.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Link{}, fmt.Errorf("creating link %s <-> %s in flow %s: the flow already links item %s, item %s or key %q: %w",
			l.A, l.B, l.Flow, l.A.ID, l.B.ID, l.Key, store.ErrExists)
	}
	if err != nil {
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
	tag, err := o.guarded(ctx, `UPDATE links SET
		a_tracker = $1, a_project = $2, a_id = $3, a_key = $4, a_url = $5,
		b_tracker = $6, b_project = $7, b_id = $8, b_key = $9, b_url = $10,
		updated_at = $11 WHERE id = $12`,
		l.A.Tracker, l.A.Project, l.A.ID, l.A.Key, l.A.URL,
		l.B.Tracker, l.B.Project, l.B.ID, l.B.Key, l.B.URL,
		o.s.now().UnixNano(), l.ID)
	if err != nil {
		return o.s.wrap(err, "updating link %d (%s <-> %s)", l.ID, l.A, l.B)
	}
	return checkAffected(tag, "link", l.ID)
}

func (o *ops) getLink(ctx context.Context, what string, query string, args ...any) (store.Link, error) {
	l, err := scanLink(o.q.QueryRow(ctx, query, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Link{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return store.Link{}, o.s.wrap(err, "reading %s", what)
	}
	return l, nil
}

func (o *ops) GetLink(ctx context.Context, id int64) (store.Link, error) {
	return o.getLink(ctx, fmt.Sprintf("link %d", id),
		`SELECT `+linkCols+` FROM links WHERE id = $1`, id)
}

func (o *ops) FindLink(ctx context.Context, flow string, s store.Side, id string) (store.Link, error) {
	if err := check.Side(s); err != nil {
		return store.Link{}, fmt.Errorf("finding link of flow %s: %w", flow, err)
	}
	// s is "a" or "b", so the column name is safe to build; ORDER BY makes
	// the answer stable if two trackers on one side share an id.
	return o.getLink(ctx, fmt.Sprintf("link of flow %s with side %s id %s", flow, s, id),
		`SELECT `+linkCols+` FROM links WHERE flow = $1 AND `+string(s)+`_id = $2 ORDER BY id LIMIT 1`, flow, id)
}

func (o *ops) FindLinkByKey(ctx context.Context, flow, key string) (store.Link, error) {
	return o.getLink(ctx, fmt.Sprintf("link of flow %s with key %s", flow, key),
		`SELECT `+linkCols+` FROM links WHERE flow = $1 AND key = $2`, flow, key)
}

func (o *ops) ListLinks(ctx context.Context, flow string) ([]store.Link, error) {
	query, args := `SELECT `+linkCols+` FROM links ORDER BY id`, []any(nil)
	if flow != "" {
		query, args = `SELECT `+linkCols+` FROM links WHERE flow = $1 ORDER BY id`, []any{flow}
	}
	rows, err := o.q.Query(ctx, query, args...)
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
	err := o.q.QueryRow(ctx, `SELECT count(*) FROM links WHERE flow = $1
		AND NOT starts_with(a_id, $2) AND NOT starts_with(b_id, $2)`, flow, store.TombstonePrefix).Scan(&n)
	if err != nil {
		return 0, o.s.wrap(err, "counting links of flow %q", flow)
	}
	return n, nil
}

func (o *ops) DeleteLink(ctx context.Context, id int64) error {
	// Bases and comment links go with it: ON DELETE CASCADE. Conflicts
	// name the link without a foreign key, so they are removed here.
	if _, err := o.q.Exec(ctx, `DELETE FROM conflicts WHERE link_id = $1`, id); err != nil {
		return o.s.wrap(err, "deleting conflicts of link %d", id)
	}
	tag, err := o.q.Exec(ctx, `DELETE FROM links WHERE id = $1`, id)
	if err != nil {
		return o.s.wrap(err, "deleting link %d", id)
	}
	return checkAffected(tag, "link", id)
}

// Bases.

func (o *ops) PutBase(ctx context.Context, b store.Base) error {
	// The link's existence is checked in the statement rather than left to
	// the foreign key, so a missing link is no error that would abort a
	// transaction (and no savepoint is needed: a thousand subtransactions
	// in one transaction slow every session's snapshots). A link deleted
	// concurrently still trips the foreign key: ErrNotFound outside a Tx,
	// a serialization failure (retried) inside one.
	tag, err := o.q.Exec(ctx, `INSERT INTO bases (link_id, a_fields, b_fields, a_version, b_version, synced_at)
		SELECT $1::bigint, $2::bytea, $3::bytea, $4::text, $5::text, $6::bigint
		WHERE EXISTS (SELECT 1 FROM links WHERE id = $1::bigint)
		ON CONFLICT (link_id) DO UPDATE SET a_fields = excluded.a_fields, b_fields = excluded.b_fields,
			a_version = excluded.a_version, b_version = excluded.b_version, synced_at = excluded.synced_at`,
		b.LinkID, []byte(fieldmap.Encode(b.A)), []byte(fieldmap.Encode(b.B)), b.AVersion, b.BVersion, ts(b.SyncedAt))
	if err != nil {
		return o.s.wrap(err, "storing base of link %d", b.LinkID)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("storing base of link %d: %w", b.LinkID, check.NotFound("link", b.LinkID))
	}
	return nil
}

const baseCols = `link_id, a_fields, b_fields, a_version, b_version, synced_at`

// baseScanner scans base rows into destinations it reuses across rows;
// the field maps' bytes land in buffers kept from row to row, so each is
// copied once, into the string the decoder then slices.
type baseScanner struct {
	linkID    int64
	af, bf    pgtype.PreallocBytes
	av, bv    string
	synced    *int64
	dest      []any
	fieldsBuf []string
}

func newBaseScanner() *baseScanner {
	bs := &baseScanner{}
	bs.dest = []any{&bs.linkID, &bs.af, &bs.bf, &bs.av, &bs.bv, &bs.synced}
	return bs
}

func (bs *baseScanner) scan(row pgx.Row) (store.Base, error) {
	bs.af, bs.bf = bs.af[:cap(bs.af)], bs.bf[:cap(bs.bf)]
	if err := row.Scan(bs.dest...); err != nil {
		return store.Base{}, err
	}
	b := store.Base{LinkID: bs.linkID, AVersion: bs.av, BVersion: bs.bv, SyncedAt: fromTS(bs.synced)}
	var err error
	if b.A, bs.fieldsBuf, err = fieldmap.DecodeBuf(string(bs.af), bs.fieldsBuf); err != nil {
		return b, fmt.Errorf("side a of base of link %d: %w", b.LinkID, err)
	}
	if b.B, bs.fieldsBuf, err = fieldmap.DecodeBuf(string(bs.bf), bs.fieldsBuf); err != nil {
		return b, fmt.Errorf("side b of base of link %d: %w", b.LinkID, err)
	}
	return b, nil
}

func (o *ops) GetBase(ctx context.Context, linkID int64) (store.Base, error) {
	b, err := newBaseScanner().scan(o.q.QueryRow(ctx, `SELECT `+baseCols+` FROM bases WHERE link_id = $1`, linkID))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Base{}, check.NotFound("base of link", linkID)
	}
	if err != nil {
		return store.Base{}, o.s.wrap(err, "reading base of link %d", linkID)
	}
	return b, nil
}

func (o *ops) ListBases(ctx context.Context, flow string) (map[int64]store.Base, error) {
	rows, err := o.q.Query(ctx, `SELECT b.link_id, b.a_fields, b.b_fields, b.a_version, b.b_version, b.synced_at
		FROM links l JOIN bases b ON b.link_id = l.id WHERE l.flow = $1`, flow)
	if err != nil {
		return nil, o.s.wrap(err, "listing bases of flow %s", flow)
	}
	defer rows.Close()
	out := map[int64]store.Base{}
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
	// As PutBase: the link is checked in the statement.
	tag, err := o.q.Exec(ctx, `INSERT INTO comment_links (link_id, a_id, b_id, body_hash)
		SELECT $1::bigint, $2::text, $3::text, $4::text WHERE EXISTS (SELECT 1 FROM links WHERE id = $1::bigint)
		ON CONFLICT (link_id, a_id) DO UPDATE SET b_id = excluded.b_id, body_hash = excluded.body_hash`,
		c.LinkID, c.AID, c.BID, c.BodyHash)
	if err != nil {
		return o.s.wrap(err, "storing comment link %s <-> %s of link %d", c.AID, c.BID, c.LinkID)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("storing comment link %s <-> %s: %w", c.AID, c.BID, check.NotFound("link", c.LinkID))
	}
	return nil
}

func (o *ops) ListCommentLinks(ctx context.Context, linkID int64) ([]store.CommentLink, error) {
	rows, err := o.q.Query(ctx, `SELECT link_id, a_id, b_id, body_hash FROM comment_links
		WHERE link_id = $1 ORDER BY id`, linkID)
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
	err := o.q.QueryRow(ctx, `SELECT cursor FROM cursors WHERE flow = $1 AND side = $2`, flow, string(s)).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
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
	_, err := o.q.Exec(ctx, `INSERT INTO cursors (flow, side, cursor) VALUES ($1, $2, $3)
		ON CONFLICT (flow, side) DO UPDATE SET cursor = excluded.cursor`, flow, string(s), cursor)
	if err != nil {
		return o.s.wrap(err, "storing cursor of flow %s side %s", flow, s)
	}
	return nil
}

// Journal.

// leaseHeld is the condition that lease $name is still held with token
// $token at now. FOR SHARE locks the lease row for the rest of the
// writing transaction: a takeover (an UPDATE of that row) waits until
// the fenced write committed, and a write that waited for a takeover
// re-reads the row and sees the new token. The check cannot be slipped
// past as with a plain read at READ COMMITTED.
func leaseHeld(name, token, now int) string {
	return fmt.Sprintf(`EXISTS (SELECT 1 FROM locks WHERE name = $%d AND token = $%d AND owner <> '' AND expires_at > %s FOR SHARE)`,
		name, token, nowSQL(now))
}

// leaseLost describes why the lease name/token no longer holds, for the
// error of a fenced write (only on that failure path: one more read).
func (o *ops) leaseLost(ctx context.Context, name string, token int64) error {
	var owner string
	var expires, cur int64
	err := o.q.QueryRow(ctx, `SELECT owner, expires_at, token FROM locks WHERE name = $1`, name).Scan(&owner, &expires, &cur)
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
	// INSERT ... SELECT ... WHERE: the lease check and the insert are one
	// statement. An entry without a lease is not fenced.
	var id int64
	err := o.q.QueryRow(ctx, `INSERT INTO journal (run_id, flow, link_id, op, side,
		target_tracker, target_project, target_id, target_key, target_url,
		idempotency_key, before_fields, after_fields, state, created_at, lease_name, lease_token)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17
		WHERE $16 = '' OR `+leaseHeld(16, 17, 18)+` RETURNING id`,
		e.RunID, e.Flow, e.LinkID, e.Op, string(e.Side),
		e.Target.Tracker, e.Target.Project, e.Target.ID, e.Target.Key, e.Target.URL,
		e.IdempotencyKey, []byte(fieldmap.Encode(e.Before)), []byte(fieldmap.Encode(e.After)),
		store.JournalPending, o.s.now().UnixNano(), e.LeaseName, e.LeaseToken, o.s.nowArg()).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("journaling %s of %s in flow %s: %w", e.Op, e.Target, e.Flow, o.leaseLost(ctx, e.LeaseName, e.LeaseToken))
	}
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
	// entry's link.
	var doneAt *int64
	if state != store.JournalPending {
		doneAt = ts(o.s.now())
	}
	tag, err := o.q.Exec(ctx, `UPDATE journal SET state = $1,
		result_tracker = $2, result_project = $3, result_id = $4, result_key = $5, result_url = $6,
		link_id = CASE WHEN $7::bigint = 0 THEN link_id ELSE $7::bigint END, error = $8, done_at = $9
		WHERE id = $10 AND ($11 = '' OR `+leaseHeld(11, 12, 13)+`)`,
		state, result.Tracker, result.Project, result.ID, result.Key, result.URL,
		linkID, text(redact.Global.String(errMsg)), doneAt, id, lease.Name, lease.Token, o.s.nowArg())
	if err != nil {
		return o.s.wrap(err, "finishing journal entry %d as %s", id, state)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	if lease.Name != "" {
		var one int
		err := o.q.QueryRow(ctx, `SELECT 1 FROM journal WHERE id = $1`, id).Scan(&one)
		if err == nil {
			return fmt.Errorf("finishing journal entry %d as %s: %w", id, state, o.leaseLost(ctx, lease.Name, lease.Token))
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return o.s.wrap(err, "finishing journal entry %d as %s", id, state)
		}
	}
	return check.NotFound("journal entry", id)
}

func (o *ops) JournalSetState(ctx context.Context, id int64, state string) error {
	if !check.JournalState(state) {
		return fmt.Errorf("setting journal entry %d: unknown state %q", id, state)
	}
	tag, err := o.q.Exec(ctx, `UPDATE journal SET state = $1 WHERE id = $2`, state, id)
	if err != nil {
		return o.s.wrap(err, "setting journal entry %d to state %s", id, state)
	}
	return checkAffected(tag, "journal entry", id)
}

const journalCols = `id, run_id, flow, link_id, op, side,
	target_tracker, target_project, target_id, target_key, target_url,
	idempotency_key, lease_name, lease_token, before_fields, after_fields,
	result_tracker, result_project, result_id, result_key, result_url,
	state, error, created_at, done_at`

func (o *ops) listJournal(ctx context.Context, what, query string, args ...any) ([]store.JournalEntry, error) {
	rows, err := o.q.Query(ctx, query, args...)
	if err != nil {
		return nil, o.s.wrap(err, "listing %s", what)
	}
	defer rows.Close()
	var out []store.JournalEntry
	for rows.Next() {
		var e store.JournalEntry
		var side string
		var before, after []byte
		var created, done *int64
		if err := rows.Scan(&e.ID, &e.RunID, &e.Flow, &e.LinkID, &e.Op, &side,
			&e.Target.Tracker, &e.Target.Project, &e.Target.ID, &e.Target.Key, &e.Target.URL,
			&e.IdempotencyKey, &e.LeaseName, &e.LeaseToken, &before, &after,
			&e.Result.Tracker, &e.Result.Project, &e.Result.ID, &e.Result.Key, &e.Result.URL,
			&e.State, &e.Error, &created, &done); err != nil {
			return nil, o.s.wrap(err, "listing %s", what)
		}
		e.Side = store.Side(side)
		e.CreatedAt, e.DoneAt = fromTS(created), fromTS(done)
		if e.Before, err = fieldmap.Decode(string(before)); err != nil {
			return nil, fmt.Errorf("listing %s: entry %d before: %w", what, e.ID, err)
		}
		if e.After, err = fieldmap.Decode(string(after)); err != nil {
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
			`SELECT `+journalCols+` FROM journal WHERE state = $1 ORDER BY id`, store.JournalPending)
	}
	return o.listJournal(ctx, "pending journal entries of flow "+flow,
		`SELECT `+journalCols+` FROM journal WHERE state = $1 AND flow = $2 ORDER BY id`, store.JournalPending, flow)
}

func (o *ops) JournalHasKey(ctx context.Context, key string) (bool, error) {
	var ok bool
	if err := o.q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM journal WHERE idempotency_key = $1)`, key).Scan(&ok); err != nil {
		return false, fmt.Errorf("looking up key %s in the journal: %w", key, err)
	}
	return ok, nil
}

func (o *ops) RunJournal(ctx context.Context, runID int64) ([]store.JournalEntry, error) {
	return o.listJournal(ctx, fmt.Sprintf("journal of run %d", runID),
		`SELECT `+journalCols+` FROM journal WHERE run_id = $1 ORDER BY id`, runID)
}

// Conflicts.

func (o *ops) PutConflict(ctx context.Context, c store.Conflict) (int64, error) {
	// The partial unique index on open conflicts is the upsert target, so
	// a conflict that is raised again keeps its ID and its creation time.
	var id int64
	err := o.q.QueryRow(ctx, `INSERT INTO conflicts (flow, link_id, field, base, a_value, b_value, state, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (link_id, field) WHERE state = 'open' DO UPDATE SET
			flow = excluded.flow, base = excluded.base, a_value = excluded.a_value, b_value = excluded.b_value
		RETURNING id`,
		c.Flow, c.LinkID, c.Field, []byte(c.Base), []byte(c.A), []byte(c.B), store.ConflictOpen, o.s.now().UnixNano()).Scan(&id)
	if err != nil {
		return 0, o.s.wrap(err, "storing conflict on field %s of link %d", c.Field, c.LinkID)
	}
	return id, nil
}

const conflictCols = `id, flow, link_id, field, base, a_value, b_value, state, resolution, value, created_at, resolved_at`

func scanConflict(row pgx.Row) (store.Conflict, error) {
	var c store.Conflict
	var base, a, b, value []byte
	var created, resolved *int64
	err := row.Scan(&c.ID, &c.Flow, &c.LinkID, &c.Field, &base, &a, &b, &c.State,
		&c.Resolution, &value, &created, &resolved)
	c.Base, c.A, c.B, c.Value = string(base), string(a), string(b), string(value)
	c.CreatedAt, c.ResolvedAt = fromTS(created), fromTS(resolved)
	return c, err
}

func (o *ops) GetConflict(ctx context.Context, id int64) (store.Conflict, error) {
	c, err := scanConflict(o.q.QueryRow(ctx, `SELECT `+conflictCols+` FROM conflicts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
		args = append(args, flow)
		where = append(where, fmt.Sprintf("flow = $%d", len(args)))
	}
	if state != "" {
		args = append(args, state)
		where = append(where, fmt.Sprintf("state = $%d", len(args)))
	}
	query := `SELECT ` + conflictCols + ` FROM conflicts`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := o.q.Query(ctx, query+` ORDER BY id`, args...)
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
	tag, err := o.q.Exec(ctx, `UPDATE conflicts SET state = $1, resolution = $2, value = $3, resolved_at = $4
		WHERE id = $5`, store.ConflictResolved, resolution, []byte(value), o.s.now().UnixNano(), id)
	if err != nil {
		return o.s.wrap(err, "resolving conflict %d", id)
	}
	return checkAffected(tag, "conflict", id)
}

// Runs.

func (o *ops) StartRun(ctx context.Context, flow string, dryRun bool) (store.Run, error) {
	r := store.Run{Flow: flow, State: store.RunRunning, DryRun: dryRun, StartedAt: o.s.now()}
	err := o.q.QueryRow(ctx, `INSERT INTO runs (flow, state, dry_run, started_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		r.Flow, r.State, r.DryRun, r.StartedAt.UnixNano()).Scan(&r.ID)
	if err != nil {
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
	tag, err := o.q.Exec(ctx, `UPDATE runs SET state = $1, finished_at = $2, counts = $3, error = $4 WHERE id = $5`,
		r.State, finished.UnixNano(), string(counts), text(redact.Global.String(r.Error)), r.ID)
	if err != nil {
		return o.s.wrap(err, "finishing run %d as %s", r.ID, r.State)
	}
	return checkAffected(tag, "run", r.ID)
}

const runCols = `id, flow, state, dry_run, started_at, finished_at, counts, error`

func scanRun(row pgx.Row) (store.Run, error) {
	var r store.Run
	var started, finished *int64
	var counts string
	if err := row.Scan(&r.ID, &r.Flow, &r.State, &r.DryRun, &started, &finished, &counts, &r.Error); err != nil {
		return r, err
	}
	r.StartedAt, r.FinishedAt = fromTS(started), fromTS(finished)
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return r, fmt.Errorf("decoding counts of run %d: %w", r.ID, err)
	}
	return r, nil
}

func (o *ops) GetRun(ctx context.Context, id int64) (store.Run, error) {
	r, err := scanRun(o.q.QueryRow(ctx, `SELECT `+runCols+` FROM runs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Run{}, check.NotFound("run", id)
	}
	if err != nil {
		return store.Run{}, o.s.wrap(err, "reading run %d", id)
	}
	return r, nil
}

func (o *ops) ListRuns(ctx context.Context, flow string, limit int) ([]store.Run, error) {
	var lim *int // NULL: no limit
	if limit > 0 {
		lim = &limit
	}
	query, args := `SELECT `+runCols+` FROM runs ORDER BY id DESC LIMIT $1`, []any{lim}
	if flow != "" {
		query, args = `SELECT `+runCols+` FROM runs WHERE flow = $1 ORDER BY id DESC LIMIT $2`, []any{flow, lim}
	}
	rows, err := o.q.Query(ctx, query, args...)
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
	updated := s.UpdatedAt
	if updated.IsZero() {
		updated = o.s.now()
	}
	_, err := o.q.Exec(ctx, `INSERT INTO snapshots (initiative, day, total, done, in_progress, todo,
		done_by_count, done_by_estimate, at_risk, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
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
		args = append(args, initiative)
		where = append(where, fmt.Sprintf("initiative = $%d", len(args)))
	}
	if since != "" {
		args = append(args, since)
		where = append(where, fmt.Sprintf("day >= $%d", len(args)))
	}
	query := `SELECT ` + snapshotCols + ` FROM snapshots`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	// COLLATE "C": byte order, the order SQLite gives, whatever the
	// database's collation.
	rows, err := o.q.Query(ctx, query+` ORDER BY day COLLATE "C", initiative COLLATE "C"`, args...)
	if err != nil {
		return nil, o.s.wrap(err, "listing %s", what)
	}
	defer rows.Close()
	var out []store.Snapshot
	for rows.Next() {
		var s store.Snapshot
		var updated *int64
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
	if err := check.Day(before); err != nil {
		return 0, fmt.Errorf("deleting snapshots before %q: %w", before, err)
	}
	tag, err := o.q.Exec(ctx, `DELETE FROM snapshots WHERE day < $1`, before)
	if err != nil {
		return 0, o.s.wrap(err, "deleting snapshots before %s", before)
	}
	return tag.RowsAffected(), nil
}

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
	if _, err := o.q.Exec(ctx, `INSERT INTO target_dates (initiative, at, from_day, to_day) VALUES ($1, $2, $3, $4)`,
		c.Initiative, at.UnixNano(), c.From, c.To); err != nil {
		return o.s.wrap(err, "recording the target date change of initiative %s", c.Initiative)
	}
	return nil
}

func (o *ops) ListDateChanges(ctx context.Context, initiative string) ([]store.DateChange, error) {
	query, args := `SELECT initiative, at, from_day, to_day FROM target_dates`, []any{}
	if initiative != "" {
		query, args = query+` WHERE initiative = $1`, append(args, initiative)
	}
	rows, err := o.q.Query(ctx, query+` ORDER BY at, id`, args...)
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
