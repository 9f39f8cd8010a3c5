package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/check"
)

// Coordination between processes (store.Coordinator) and the outbox,
// where this driver differs from PostgreSQL beyond its SQL text (the rest
// is sqlops.Ops running queries). Each Coordinator method is one
// statement or one immediate transaction: SQLite serialises writers, so a
// read-modify-write inside BEGIN IMMEDIATE is atomic across every process
// on the file.

// Outbox: adding (Ops).

func (o *ops) PutEvent(ctx context.Context, e store.Event) (int64, error) {
	// No row written: the key is taken, this event was added before.
	return o.AddEvent(ctx, e, func() (int64, bool, error) {
		now := o.s.now()
		next := e.NextAttempt
		if next.IsZero() {
			next = now
		}
		res, err := o.q.ExecContext(ctx, `INSERT INTO events (kind, dedup_key, payload, created_at, next_attempt)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING`,
			e.Kind, nullString(e.DedupKey), e.Payload, now.UnixNano(), next.UnixNano())
		return inserted(res, err)
	})
}

// Outbox: delivering (Store).

// ClaimEvents claims in one statement (see queries).
func (s *Store) ClaimEvents(ctx context.Context, worker string, limit int, lease time.Duration) ([]store.Event, error) {
	return s.Claim(ctx, worker, limit, lease, func() []any {
		now := s.now()
		return []any{worker, now.Add(lease).UnixNano(), now.UnixNano(), now.UnixNano(), limit}
	})
}

// Webhook delivery ids.

// SeenDelivery inserts the id, or takes over its expired row, in one
// upsert: the row count says whether this call was the first. The
// clean-up shares its transaction, so a first sighting costs one commit.
func (s *Store) SeenDelivery(ctx context.Context, tracker, id string, keep time.Duration) (bool, error) {
	if err := check.Delivery(tracker, id); err != nil {
		return false, err
	}
	now := s.now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, s.wrap(err, "recording webhook delivery %s of %s", id, tracker)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `INSERT INTO deliveries (tracker, id, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (tracker, id) DO UPDATE SET expires_at = excluded.expires_at WHERE deliveries.expires_at <= ?`,
		tracker, id, now.Add(keep).UnixNano(), now.UnixNano())
	if err != nil {
		return false, s.wrap(err, "recording webhook delivery %s of %s", id, tracker)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.wrap(err, "recording webhook delivery %s of %s", id, tracker)
	}
	if n == 0 {
		return false, nil // a repeat: nothing written, nothing to commit
	}
	// Forget what has expired. Only on a first sighting: that is when the
	// table grows, and a burst of repeats then costs no write at all.
	if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE expires_at <= ?`, now.UnixNano()); err != nil {
		return false, s.wrap(err, "forgetting expired webhook deliveries")
	}
	if err := tx.Commit(); err != nil {
		return false, s.wrap(err, "recording webhook delivery %s of %s", id, tracker)
	}
	return true, nil
}

// ForgetDelivery deletes the id's row (store.Store).
func (s *Store) ForgetDelivery(ctx context.Context, tracker, id string) error {
	if err := check.Delivery(tracker, id); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM deliveries WHERE tracker = ? AND id = ?`, tracker, id); err != nil {
		return s.wrap(err, "forgetting webhook delivery %s of %s", id, tracker)
	}
	return nil
}

// Rate budgets.

// bucket is sqlops.Dialect.Bucket: one immediate transaction.
func (s *Store) bucket(ctx context.Context, bucket string, burst float64, now time.Time, update func(float64, int64) (float64, int64)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var tokens float64
	var last int64
	err = tx.QueryRowContext(ctx, `SELECT tokens, updated_at FROM rate_buckets WHERE bucket = ?`, bucket).Scan(&tokens, &last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		tokens, last = burst, now.UnixNano()
	case err != nil:
		return err
	}
	tokens, last = update(tokens, last)
	if _, err := tx.ExecContext(ctx, `INSERT INTO rate_buckets (bucket, tokens, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (bucket) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
		bucket, tokens, last); err != nil {
		return err
	}
	return tx.Commit()
}
