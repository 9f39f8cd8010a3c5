package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/check"
	"github.com/tracksync/tracksync/store/internal/sqlops"
)

// querier is what *pgxpool.Pool and pgx.Tx have in common, so one ops
// type serves both the Store and its transactions.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// ops implements store.Ops over a querier: sqlops.Ops the statements
// that read and write alike on every driver, this package the rest.
type ops struct {
	sqlops.Ops[*int64, []byte]
	q querier
	s *Store
}

var _ store.Ops = (*ops)(nil)

// ts converts a time to its column value: unix nanoseconds, NULL for zero.
func ts(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
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

// Links.

func (o *ops) CreateLink(ctx context.Context, l store.Link) (store.Link, error) {
	if err := check.NewLink(l); err != nil {
		return store.Link{}, err
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

func (o *ops) CountLinks(ctx context.Context, flow string) (int, error) {
	var n int
	err := o.q.QueryRow(ctx, `SELECT count(*) FROM links WHERE flow = $1
		AND NOT starts_with(a_id, $2) AND NOT starts_with(b_id, $2)`, flow, store.TombstonePrefix).Scan(&n)
	if err != nil {
		return 0, o.s.wrap(err, "counting links of flow %q", flow)
	}
	return n, nil
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
		b.LinkID, o.Fields(b.A), o.Fields(b.B), b.AVersion, b.BVersion, ts(b.SyncedAt))
	if err != nil {
		return o.s.wrap(err, "storing base of link %d", b.LinkID)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("storing base of link %d: %w", b.LinkID, check.NotFound("link", b.LinkID))
	}
	return nil
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

func (o *ops) JournalIntent(ctx context.Context, e store.JournalEntry) (int64, error) {
	// INSERT ... SELECT ... WHERE: the lease check and the insert are one
	// statement. An entry without a lease is not fenced.
	return o.Intent(ctx, e, func() (int64, bool, error) {
		var id int64
		err := o.q.QueryRow(ctx, `INSERT INTO journal (run_id, flow, link_id, op, side,
			target_tracker, target_project, target_id, target_key, target_url,
			idempotency_key, before_fields, after_fields, state, created_at, lease_name, lease_token)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17
			WHERE $16 = '' OR `+leaseHeld(16, 17, 18)+` RETURNING id`,
			e.RunID, e.Flow, e.LinkID, e.Op, string(e.Side),
			e.Target.Tracker, e.Target.Project, e.Target.ID, e.Target.Key, e.Target.URL,
			e.IdempotencyKey, o.Fields(e.Before), o.Fields(e.After),
			store.JournalPending, o.s.now().UnixNano(), e.LeaseName, e.LeaseToken, o.s.nowArg()).Scan(&id)
		return returned(id, err)
	})
}

func (o *ops) JournalFinish(ctx context.Context, id int64, state string, result adapters.Ref, linkID int64, errMsg string, lease store.Lease) error {
	return o.Finish(ctx, id, state, errMsg, lease, func(errText string) (int64, error) {
		// DoneAt stays unset while the entry is pending. linkID 0 keeps
		// the entry's link.
		var doneAt *int64
		if state != store.JournalPending {
			doneAt = ts(o.s.now())
		}
		tag, err := o.q.Exec(ctx, `UPDATE journal SET state = $1,
			result_tracker = $2, result_project = $3, result_id = $4, result_key = $5, result_url = $6,
			link_id = CASE WHEN $7::bigint = 0 THEN link_id ELSE $7::bigint END, error = $8, done_at = $9
			WHERE id = $10 AND ($11 = '' OR `+leaseHeld(11, 12, 13)+`)`,
			state, result.Tracker, result.Project, result.ID, result.Key, result.URL,
			linkID, errText, doneAt, id, lease.Name, lease.Token, o.s.nowArg())
		return tag.RowsAffected(), err
	})
}

// returned is what sqlops' Intent and AddEvent want of a fenced or
// deduplicated INSERT ... RETURNING id: the id, or false when no row came
// back.
func returned(id int64, err error) (int64, bool, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}
