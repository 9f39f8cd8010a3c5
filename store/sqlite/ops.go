package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/check"
	"github.com/tracksync/tracksync/store/internal/sqlops"
)

// querier is what *sql.DB and *sql.Tx have in common, so one ops type
// serves both the Store and its transactions.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ops implements store.Ops over a querier: sqlops.Ops the statements
// that read and write alike on every driver, this package the rest.
type ops struct {
	sqlops.Ops[sql.NullInt64, string]
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

// nullString stores "" as NULL, for columns where NULLs must not collide
// in a UNIQUE index.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Links.

func (o *ops) CreateLink(ctx context.Context, l store.Link) (store.Link, error) {
	if err := check.NewLink(l); err != nil {
		return store.Link{}, err
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

func (o *ops) CountLinks(ctx context.Context, flow string) (int, error) {
	var n int
	err := o.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM links WHERE flow = ? AND substr(a_id, 1, ?) <> ? AND substr(b_id, 1, ?) <> ?`,
		flow, len(store.TombstonePrefix), store.TombstonePrefix, len(store.TombstonePrefix), store.TombstonePrefix).Scan(&n)
	if err != nil {
		return 0, o.s.wrap(err, "counting links of flow %q", flow)
	}
	return n, nil
}

// Bases.

func (o *ops) PutBase(ctx context.Context, b store.Base) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO bases (link_id, a_fields, b_fields, a_version, b_version, synced_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (link_id) DO UPDATE SET a_fields = excluded.a_fields, b_fields = excluded.b_fields,
			a_version = excluded.a_version, b_version = excluded.b_version, synced_at = excluded.synced_at`,
		b.LinkID, o.Fields(b.A), o.Fields(b.B), b.AVersion, b.BVersion, ts(b.SyncedAt))
	if err != nil {
		// A foreign-key failure (ErrNotFound) means the link is missing.
		return o.s.wrap(err, "storing base of link %d", b.LinkID)
	}
	return nil
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

// Journal.

// leaseHeld is the condition, on a lease name and token (and the store's
// now), that the lease is still held with that token. It is part of the
// statement it fences, so no other writer can slip in between the check
// and the write.
const leaseHeld = `EXISTS (SELECT 1 FROM locks WHERE name = ? AND token = ? AND owner <> '' AND expires_at > ?)`

func (o *ops) JournalIntent(ctx context.Context, e store.JournalEntry) (int64, error) {
	// INSERT ... SELECT ... WHERE: the lease check and the insert are one
	// statement. An entry without a lease is not fenced.
	return o.Intent(ctx, e, func() (int64, bool, error) {
		now := o.s.now().UnixNano()
		res, err := o.q.ExecContext(ctx, `INSERT INTO journal (run_id, flow, link_id, op, side,
			target_tracker, target_project, target_id, target_key, target_url,
			idempotency_key, before_fields, after_fields, state, created_at, lease_name, lease_token)
			SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
			WHERE ? = '' OR `+leaseHeld,
			e.RunID, e.Flow, e.LinkID, e.Op, string(e.Side),
			e.Target.Tracker, e.Target.Project, e.Target.ID, e.Target.Key, e.Target.URL,
			e.IdempotencyKey, o.Fields(e.Before), o.Fields(e.After),
			store.JournalPending, now, e.LeaseName, e.LeaseToken,
			e.LeaseName, e.LeaseName, e.LeaseToken, now)
		return inserted(res, err)
	})
}

func (o *ops) JournalFinish(ctx context.Context, id int64, state string, result adapters.Ref, linkID int64, errMsg string, lease store.Lease) error {
	return o.Finish(ctx, id, state, errMsg, lease, func(errText string) (int64, error) {
		// DoneAt stays unset while the entry is pending. linkID 0 keeps
		// the entry's link: an update knew its link at intent time and
		// the engine need not repeat it.
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
			linkID, linkID, errText, doneAt, id,
			lease.Name, lease.Name, lease.Token, now)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	})
}

// inserted is what sqlops' Intent and AddEvent want of a fenced or
// deduplicated INSERT: the new row's id, or false when it wrote none.
func inserted(res sql.Result, err error) (int64, bool, error) {
	if err != nil {
		return 0, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return 0, false, err
	}
	id, err := res.LastInsertId()
	return id, err == nil, err
}
