package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/check"
	"github.com/tracksync/tracksync/store/internal/rowscan"
)

// Coordination between processes (store.Coordinator), the outbox and the
// key-value space. Each Coordinator method is one statement or one
// immediate transaction: SQLite serialises writers, so a read-modify-write
// inside BEGIN IMMEDIATE is atomic across every process on the file.

// Key-value space (Ops).

func (o *ops) GetKV(ctx context.Context, scope, key string) (string, bool, error) {
	var v string
	err := o.q.QueryRowContext(ctx, `SELECT value FROM kv WHERE scope = ? AND key = ?`, scope, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, o.s.wrap(err, "reading %s in key-value scope %s", key, scope)
	}
	return v, true, nil
}

func (o *ops) PutKV(ctx context.Context, scope, key, value string) error {
	if err := check.KV(scope, key); err != nil {
		return fmt.Errorf("storing key-value pair: %w", err)
	}
	_, err := o.q.ExecContext(ctx, `INSERT INTO kv (scope, key, value) VALUES (?, ?, ?)
		ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value`, scope, key, value)
	if err != nil {
		return o.s.wrap(err, "storing %s in key-value scope %s", key, scope)
	}
	return nil
}

func (o *ops) DeleteKV(ctx context.Context, scope, key string) error {
	if _, err := o.q.ExecContext(ctx, `DELETE FROM kv WHERE scope = ? AND key = ?`, scope, key); err != nil {
		return o.s.wrap(err, "deleting %s from key-value scope %s", key, scope)
	}
	return nil
}

// Outbox: adding (Ops).

func (o *ops) PutEvent(ctx context.Context, e store.Event) (int64, error) {
	if e.Kind == "" {
		return 0, fmt.Errorf("adding event to the outbox: kind is empty: %w", adapters.ErrInvalid)
	}
	now := o.s.now()
	next := e.NextAttempt
	if next.IsZero() {
		next = now
	}
	res, err := o.q.ExecContext(ctx, `INSERT INTO events (kind, dedup_key, payload, created_at, next_attempt)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING`,
		e.Kind, nullString(e.DedupKey), e.Payload, now.UnixNano(), next.UnixNano())
	if err != nil {
		return 0, o.s.wrap(err, "adding %s event %q to the outbox", e.Kind, e.DedupKey)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, o.s.wrap(err, "adding %s event %q to the outbox", e.Kind, e.DedupKey)
	}
	if n == 0 {
		// The key is taken: this event was added before.
		var id int64
		if err := o.q.QueryRowContext(ctx, `SELECT id FROM events WHERE dedup_key = ?`, e.DedupKey).Scan(&id); err != nil {
			return 0, o.s.wrap(err, "finding outbox event with key %q", e.DedupKey)
		}
		return id, nil
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, o.s.wrap(err, "adding %s event %q to the outbox", e.Kind, e.DedupKey)
	}
	return id, nil
}

// Outbox: delivering (Store).

// ClaimEvents claims in one UPDATE ... RETURNING, so the choice of rows
// and the claim cannot be split by another writer.
func (s *Store) ClaimEvents(ctx context.Context, worker string, limit int, lease time.Duration) ([]store.Event, error) {
	if worker == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("claiming outbox events: worker %q, limit %d and lease %s must be set and positive: %w",
			worker, limit, lease, adapters.ErrInvalid)
	}
	now := s.now()
	rows, err := s.db.QueryContext(ctx, `UPDATE events SET claimed_by = ?, claim_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM events
			WHERE delivered_at IS NULL AND next_attempt <= ? AND claim_until <= ?
			ORDER BY id LIMIT ?)
		RETURNING id, kind, COALESCE(dedup_key, ''), payload, created_at, attempts, next_attempt, last_error`,
		worker, now.Add(lease).UnixNano(), now.UnixNano(), now.UnixNano(), limit)
	if err != nil {
		return nil, s.wrap(err, "claiming outbox events for %s", worker)
	}
	defer rows.Close()
	out, err := rowscan.Collect(rows, func() (store.Event, error) {
		var e store.Event
		var created, next int64
		err := rows.Scan(&e.ID, &e.Kind, &e.DedupKey, &e.Payload, &created, &e.Attempts, &next, &e.LastError)
		e.CreatedAt, e.NextAttempt = time.Unix(0, created).UTC(), time.Unix(0, next).UTC()
		return e, err
	})
	if err != nil {
		return nil, s.wrap(err, "claiming outbox events for %s", worker)
	}
	// RETURNING has no order of its own.
	slices.SortFunc(out, func(a, b store.Event) int { return int(a.ID - b.ID) })
	return out, nil
}

func (s *Store) AckEvent(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE events SET delivered_at = COALESCE(delivered_at, ?), claimed_by = '', claim_until = 0
		WHERE id = ?`, s.now().UnixNano(), id)
	if err != nil {
		return s.wrap(err, "acknowledging outbox event %d", id)
	}
	return s.ops.checkAffected(res, "outbox event", id)
}

func (s *Store) RetryEvent(ctx context.Context, id int64, next time.Time, errMsg string) error {
	// A delivered event stays delivered: a late retry from a worker whose
	// claim ran out must not bring it back.
	res, err := s.db.ExecContext(ctx, `UPDATE events SET next_attempt = CASE WHEN delivered_at IS NULL THEN ? ELSE next_attempt END,
		last_error = ?, claimed_by = '', claim_until = 0 WHERE id = ?`, next.UnixNano(), errMsg, id)
	if err != nil {
		return s.wrap(err, "scheduling retry of outbox event %d", id)
	}
	return s.ops.checkAffected(res, "outbox event", id)
}

// Generations.

func (s *Store) BumpGeneration(ctx context.Context, name string) (int64, error) {
	if name == "" {
		return 0, fmt.Errorf("bumping generation: name is empty: %w", adapters.ErrInvalid)
	}
	var g int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO generations (name, generation) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET generation = generation + 1 RETURNING generation`, name).Scan(&g)
	if err != nil {
		return 0, s.wrap(err, "bumping generation of %s", name)
	}
	return g, nil
}

func (s *Store) Generation(ctx context.Context, name string) (int64, error) {
	var g int64
	err := s.db.QueryRowContext(ctx, `SELECT generation FROM generations WHERE name = ?`, name).Scan(&g)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.wrap(err, "reading generation of %s", name)
	}
	return g, nil
}

// Webhook delivery ids.

// SeenDelivery inserts the id, or takes over its expired row, in one
// upsert: the row count says whether this call was the first. The
// clean-up shares its transaction, so a first sighting costs one commit.
func (s *Store) SeenDelivery(ctx context.Context, tracker, id string, keep time.Duration) (bool, error) {
	if tracker == "" || id == "" {
		return false, fmt.Errorf("recording webhook delivery %q of tracker %q: both must be set: %w", id, tracker, adapters.ErrInvalid)
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

// Rate budgets.

func (s *Store) TakeTokens(ctx context.Context, bucket string, n, ratePerSec, burst float64, now time.Time) (time.Duration, error) {
	return s.takeTokens(ctx, bucket, n, ratePerSec, burst, 0, false, now)
}

// TakeTokensAbove takes n tokens only when floor are left after them (see
// store.Store).
func (s *Store) TakeTokensAbove(ctx context.Context, bucket string, n, ratePerSec, burst, floor float64, now time.Time) (time.Duration, error) {
	return s.takeTokens(ctx, bucket, n, ratePerSec, burst, floor, true, now)
}

// takeTokens is TakeTokens, and TakeTokensAbove when above.
func (s *Store) takeTokens(ctx context.Context, bucket string, n, ratePerSec, burst, floor float64, above bool, now time.Time) (time.Duration, error) {
	if err := check.TokenArgs(bucket, n, ratePerSec, burst, floor, above); err != nil {
		return 0, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.wrap(err, "taking tokens from rate bucket %s", bucket)
	}
	defer func() { _ = tx.Rollback() }()
	var tokens float64
	var last int64
	err = tx.QueryRowContext(ctx, `SELECT tokens, updated_at FROM rate_buckets WHERE bucket = ?`, bucket).Scan(&tokens, &last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		tokens, last = burst, now.UnixNano()
	case err != nil:
		return 0, s.wrap(err, "taking tokens from rate bucket %s", bucket)
	}
	tokens, last, wait := check.Take(tokens, last, n, ratePerSec, burst, floor, above, now)
	if _, err := tx.ExecContext(ctx, `INSERT INTO rate_buckets (bucket, tokens, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (bucket) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
		bucket, tokens, last); err != nil {
		return 0, s.wrap(err, "taking tokens from rate bucket %s", bucket)
	}
	if err := tx.Commit(); err != nil {
		return 0, s.wrap(err, "taking tokens from rate bucket %s", bucket)
	}
	return wait, nil
}
