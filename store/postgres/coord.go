package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/check"
	"github.com/tracksync/tracksync/store/internal/rowscan"
)

// Coordination between processes (store.Coordinator), the outbox and the
// key-value space. Where SQLite serialises writers, each call here is one
// statement whose row lock PostgreSQL takes itself (INSERT ... ON
// CONFLICT DO UPDATE, UPDATE ... RETURNING) or a short READ COMMITTED
// transaction that locks the one row it changes first (SELECT ... FOR
// UPDATE): atomic across every process on the database, with no retry.

// Key-value space (Ops).

func (o *ops) GetKV(ctx context.Context, scope, key string) (string, bool, error) {
	var v string
	err := o.q.QueryRow(ctx, `SELECT value FROM kv WHERE scope = $1 AND key = $2`, scope, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
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
	_, err := o.q.Exec(ctx, `INSERT INTO kv (scope, key, value) VALUES ($1, $2, $3)
		ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value`, scope, key, value)
	if err != nil {
		return o.s.wrap(err, "storing %s in key-value scope %s", key, scope)
	}
	return nil
}

func (o *ops) DeleteKV(ctx context.Context, scope, key string) error {
	if _, err := o.q.Exec(ctx, `DELETE FROM kv WHERE scope = $1 AND key = $2`, scope, key); err != nil {
		return o.s.wrap(err, "deleting %s from key-value scope %s", key, scope)
	}
	return nil
}

// Outbox: adding (Ops).

func (o *ops) PutEvent(ctx context.Context, e store.Event) (int64, error) {
	if e.Kind == "" {
		return 0, fmt.Errorf("adding event to the outbox: kind is empty: %w", adapters.ErrInvalid)
	}
	// A zero NextAttempt is the database's now (or the injected clock's),
	// the clock ClaimEvents compares with.
	var next *int64
	if !e.NextAttempt.IsZero() {
		next = ts(e.NextAttempt)
	} else if !o.s.dbClock {
		next = ts(o.s.now())
	}
	// ON CONFLICT DO NOTHING waits for a concurrent insert of the same key
	// and then yields no row; the second statement finds that event.
	var id int64
	err := o.q.QueryRow(ctx, `INSERT INTO events (kind, dedup_key, payload, created_at, next_attempt)
		VALUES ($1, $2, $3, $4, COALESCE($5::bigint, `+dbNow+`)) ON CONFLICT (dedup_key) DO NOTHING RETURNING id`,
		e.Kind, nullString(e.DedupKey), e.Payload, o.s.now().UnixNano(), next).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		err = o.q.QueryRow(ctx, `SELECT id FROM events WHERE dedup_key = $1`, e.DedupKey).Scan(&id)
		if err != nil {
			return 0, o.s.wrap(err, "finding outbox event with key %q", e.DedupKey)
		}
		return id, nil
	}
	if err != nil {
		return 0, o.s.wrap(err, "adding %s event %q to the outbox", e.Kind, e.DedupKey)
	}
	return id, nil
}

// Outbox: delivering (Store).

// ClaimEvents picks due events with FOR UPDATE SKIP LOCKED, so concurrent
// claims, in any process, pass over each other's rows instead of queueing
// on them, and claims them in the same statement.
func (s *Store) ClaimEvents(ctx context.Context, worker string, limit int, lease time.Duration) ([]store.Event, error) {
	if worker == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("claiming outbox events: worker %q, limit %d and lease %s must be set and positive: %w",
			worker, limit, lease, adapters.ErrInvalid)
	}
	now := nowSQL(3)
	rows, err := s.pool.Query(ctx, `UPDATE events SET claimed_by = $1, claim_until = `+now+` + $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM events
			WHERE delivered_at IS NULL AND next_attempt <= `+now+` AND claim_until <= `+now+`
			ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING id, kind, COALESCE(dedup_key, ''), payload, created_at, attempts, next_attempt, last_error`,
		worker, lease.Nanoseconds(), s.nowArg(), limit)
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
	tag, err := s.pool.Exec(ctx, `UPDATE events SET delivered_at = COALESCE(delivered_at, `+nowSQL(1)+`), claimed_by = '', claim_until = 0
		WHERE id = $2`, s.nowArg(), id)
	if err != nil {
		return s.wrap(err, "acknowledging outbox event %d", id)
	}
	return checkAffected(tag, "outbox event", id)
}

func (s *Store) RetryEvent(ctx context.Context, id int64, next time.Time, errMsg string) error {
	// A delivered event stays delivered: a late retry from a worker whose
	// claim ran out must not bring it back.
	tag, err := s.pool.Exec(ctx, `UPDATE events SET next_attempt = CASE WHEN delivered_at IS NULL THEN $1 ELSE next_attempt END,
		last_error = $2, claimed_by = '', claim_until = 0 WHERE id = $3`, next.UnixNano(), text(errMsg), id)
	if err != nil {
		return s.wrap(err, "scheduling retry of outbox event %d", id)
	}
	return checkAffected(tag, "outbox event", id)
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

// Unlock releases owner's lease. Releasing a lease owner does not hold is
// a no-op, so a late deferred Unlock never frees another owner's lease.
// The row stays, with its token, so that tokens only grow.
func (s *Store) Unlock(ctx context.Context, name, owner string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE locks SET owner = '', expires_at = 0 WHERE name = $1 AND owner = $2`, name, owner); err != nil {
		return s.wrap(err, "releasing lock %s", name)
	}
	return nil
}

func (s *Store) ExpiredLeases(ctx context.Context, prefix string) ([]store.Lease, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, owner, token, expires_at FROM locks
		WHERE owner <> '' AND expires_at <= `+nowSQL(1)+` AND left(name, $2) = $3 ORDER BY name`, s.nowArg(), len(prefix), prefix)
	if err != nil {
		return nil, s.wrap(err, "listing expired leases")
	}
	defer rows.Close()
	out, err := check.Leases(rows)
	if err != nil {
		return nil, s.wrap(err, "listing expired leases")
	}
	return out, nil
}

// Generations.

func (s *Store) BumpGeneration(ctx context.Context, name string) (int64, error) {
	if name == "" {
		return 0, fmt.Errorf("bumping generation: name is empty: %w", adapters.ErrInvalid)
	}
	var g int64
	err := s.pool.QueryRow(ctx, `INSERT INTO generations AS g (name, generation) VALUES ($1, 1)
		ON CONFLICT (name) DO UPDATE SET generation = g.generation + 1 RETURNING generation`, name).Scan(&g)
	if err != nil {
		return 0, s.wrap(err, "bumping generation of %s", name)
	}
	return g, nil
}

func (s *Store) Generation(ctx context.Context, name string) (int64, error) {
	var g int64
	err := s.pool.QueryRow(ctx, `SELECT generation FROM generations WHERE name = $1`, name).Scan(&g)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.wrap(err, "reading generation of %s", name)
	}
	return g, nil
}

// Webhook delivery ids.

// SeenDelivery inserts the id, or takes over its expired row, in one
// upsert: a row back says this call was the first. A racing insert of the
// same id waits for the first to commit, then finds its row unexpired.
func (s *Store) SeenDelivery(ctx context.Context, tracker, id string, keep time.Duration) (bool, error) {
	if tracker == "" || id == "" {
		return false, fmt.Errorf("recording webhook delivery %q of tracker %q: both must be set: %w", id, tracker, adapters.ErrInvalid)
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

// Rate budgets.

// TakeTokens reads and writes the bucket's row in one READ COMMITTED
// transaction that locks it first (SELECT ... FOR UPDATE), so concurrent
// takers in any process queue on the row, each seeing the one before.
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
	var wait time.Duration
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
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
		tokens, last, wait = check.Take(tokens, last, n, ratePerSec, burst, floor, above, now)
		_, err := tx.Exec(ctx, `UPDATE rate_buckets SET tokens = $2, updated_at = $3 WHERE bucket = $1`, bucket, tokens, last)
		return err
	})
	if err != nil {
		return 0, s.wrap(err, "taking tokens from rate bucket %s", bucket)
	}
	return wait, nil
}
