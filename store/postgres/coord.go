package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/check"
)

// Coordination between processes (store.Coordinator) and the outbox,
// where this driver differs from SQLite beyond its SQL text (the rest is
// sqlops.Ops running queries). Where SQLite serialises writers, each
// coordination call is one statement whose row lock PostgreSQL takes
// itself (INSERT ... ON CONFLICT DO UPDATE, UPDATE ... RETURNING) or a
// short READ COMMITTED transaction that locks the one row it changes
// first (SELECT ... FOR UPDATE): atomic across every process on the
// database, with no retry.

// Outbox: adding (Ops).

func (o *ops) PutEvent(ctx context.Context, e store.Event) (int64, error) {
	// ON CONFLICT DO NOTHING waits for a concurrent insert of the same key
	// and then yields no row; AddEvent then finds that event.
	return o.AddEvent(ctx, e, func() (int64, bool, error) {
		// A zero NextAttempt is the database's now (or the injected
		// clock's), the clock ClaimEvents compares with.
		var next *int64
		if !e.NextAttempt.IsZero() {
			next = ts(e.NextAttempt)
		} else if !o.s.dbClock {
			next = ts(o.s.now())
		}
		var id int64
		err := o.q.QueryRow(ctx, `INSERT INTO events (kind, dedup_key, payload, created_at, next_attempt)
			VALUES ($1, $2, $3, $4, COALESCE($5::bigint, `+dbNow+`)) ON CONFLICT (dedup_key) DO NOTHING RETURNING id`,
			e.Kind, nullString(e.DedupKey), e.Payload, o.s.now().UnixNano(), next).Scan(&id)
		return returned(id, err)
	})
}

// Outbox: delivering (Store).

// ClaimEvents picks due events with FOR UPDATE SKIP LOCKED (see
// queries), so concurrent claims, in any process, pass over each other's
// rows instead of queueing on them, and claims them in the same statement.
func (s *Store) ClaimEvents(ctx context.Context, worker string, limit int, lease time.Duration) ([]store.Event, error) {
	return s.Claim(ctx, worker, limit, lease, func() []any {
		return []any{worker, lease.Nanoseconds(), s.nowArg(), limit}
	})
}

// Leases.

// Lock takes or renews the lease in one upsert. The conflicting row is
// locked by PostgreSQL and the WHERE re-checked on its newest version,
// so of racing lockers exactly one updates it, and each acquisition's
// token is the row's previous one plus one. No row back means another
// owner holds the lease; the row is then read to say who (it may have
// been released in between, so that read loops back to the upsert).
func (s *Store) Lock(ctx context.Context, name, owner string, ttl time.Duration) (store.Lease, error) {
	if name == "" || owner == "" {
		return store.Lease{}, fmt.Errorf("taking lock %q for %q: name and owner are required: %w", name, owner, adapters.ErrInvalid)
	}
	for {
		var l store.Lease
		var expires int64
		now := nowSQL(3)
		err := s.pool.QueryRow(ctx, `INSERT INTO locks AS l (name, owner, expires_at, token) VALUES ($1, $2, `+now+` + $4, 1)
			ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
				token = CASE WHEN l.owner = excluded.owner AND l.expires_at > `+now+` THEN l.token ELSE l.token + 1 END
			WHERE l.owner = '' OR l.owner = excluded.owner OR l.expires_at <= `+now+`
			RETURNING token, expires_at`, name, owner, s.nowArg(), ttl.Nanoseconds()).Scan(&l.Token, &expires)
		if err == nil {
			l.Name, l.Owner, l.Expires = name, owner, time.Unix(0, expires).UTC()
			return l, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return store.Lease{}, s.wrap(err, "taking lock %s", name)
		}
		var holder string
		err = s.pool.QueryRow(ctx, `SELECT owner, expires_at FROM locks WHERE name = $1 AND owner <> '' AND owner <> $2
			AND expires_at > `+nowSQL(3), name, owner, s.nowArg()).Scan(&holder, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released or expired since: try again
		}
		if err != nil {
			return store.Lease{}, s.wrap(err, "taking lock %s", name)
		}
		return store.Lease{}, &store.LockedError{Name: name, Owner: holder, Expires: time.Unix(0, expires).UTC()}
	}
}

// Webhook delivery ids.

// SeenDelivery inserts the id, or takes over its expired row, in one
// upsert: a row back says this call was the first. A racing insert of the
// same id waits for the first to commit, then finds its row unexpired.
func (s *Store) SeenDelivery(ctx context.Context, tracker, id string, keep time.Duration) (bool, error) {
	if err := check.Delivery(tracker, id); err != nil {
		return false, err
	}
	now := nowSQL(4)
	var one int
	err := s.pool.QueryRow(ctx, `INSERT INTO deliveries AS d (tracker, id, expires_at) VALUES ($1, $2, `+now+` + $3)
		ON CONFLICT (tracker, id) DO UPDATE SET expires_at = excluded.expires_at WHERE d.expires_at <= `+now+`
		RETURNING 1`, tracker, id, keep.Nanoseconds(), s.nowArg()).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // a repeat: nothing written
	}
	if err != nil {
		return false, s.wrap(err, "recording webhook delivery %s of %s", id, tracker)
	}
	// Forget what has expired, on first sightings only (that is when the
	// table grows). A failure here loses nothing but space.
	if _, err := s.pool.Exec(ctx, `DELETE FROM deliveries WHERE expires_at <= `+nowSQL(1), s.nowArg()); err != nil {
		return true, s.wrap(err, "forgetting expired webhook deliveries")
	}
	return true, nil
}

// ForgetDelivery deletes the id's row (store.Store).
func (s *Store) ForgetDelivery(ctx context.Context, tracker, id string) error {
	if err := check.Delivery(tracker, id); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM deliveries WHERE tracker = $1 AND id = $2`, tracker, id); err != nil {
		return s.wrap(err, "forgetting webhook delivery %s of %s", id, tracker)
	}
	return nil
}

// Rate budgets.

// bucket is sqlops.Dialect.Bucket: it reads and writes the bucket's row
// in one READ COMMITTED transaction that locks it first (SELECT ... FOR
// UPDATE), so concurrent takers in any process queue on the row, each
// seeing the one before.
func (s *Store) bucket(ctx context.Context, bucket string, burst float64, now time.Time, update func(float64, int64) (float64, int64)) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// A new bucket starts full, as of now.
		if _, err := tx.Exec(ctx, `INSERT INTO rate_buckets (bucket, tokens, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (bucket) DO NOTHING`, bucket, burst, now.UnixNano()); err != nil {
			return err
		}
		var tokens float64
		var last int64
		if err := tx.QueryRow(ctx, `SELECT tokens, updated_at FROM rate_buckets WHERE bucket = $1 FOR UPDATE`, bucket).Scan(&tokens, &last); err != nil {
			return err
		}
		tokens, last = update(tokens, last)
		_, err := tx.Exec(ctx, `UPDATE rate_buckets SET tokens = $2, updated_at = $3 WHERE bucket = $1`, bucket, tokens, last)
		return err
	})
}
