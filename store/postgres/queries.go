package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/rowscan"
	"github.com/tracksync/tracksync/store/internal/sqlops"
)

// queries are this driver's statements for sqlops.Ops.
var queries = sqlops.Queries{
	UpdateLink: `UPDATE links SET
		a_tracker = $1, a_project = $2, a_id = $3, a_key = $4, a_url = $5,
		b_tracker = $6, b_project = $7, b_id = $8, b_key = $9, b_url = $10,
		updated_at = $11 WHERE id = $12`,
	GetLink: `SELECT ` + sqlops.LinkCols + ` FROM links WHERE id = $1`,
	// The side is part of the column name; ORDER BY makes the answer
	// stable if two trackers on one side share an id.
	FindLinkA:     `SELECT ` + sqlops.LinkCols + ` FROM links WHERE flow = $1 AND a_id = $2 ORDER BY id LIMIT 1`,
	FindLinkB:     `SELECT ` + sqlops.LinkCols + ` FROM links WHERE flow = $1 AND b_id = $2 ORDER BY id LIMIT 1`,
	FindLinkByKey: `SELECT ` + sqlops.LinkCols + ` FROM links WHERE flow = $1 AND key = $2`,
	ListLinks:     `SELECT ` + sqlops.LinkCols + ` FROM links ORDER BY id`,
	ListFlowLinks: `SELECT ` + sqlops.LinkCols + ` FROM links WHERE flow = $1 ORDER BY id`,

	DeleteLinkConflicts: `DELETE FROM conflicts WHERE link_id = $1`,
	DeleteLink:          `DELETE FROM links WHERE id = $1`,

	GetBase: `SELECT ` + sqlops.BaseCols + ` FROM bases WHERE link_id = $1`,
	ListBases: `SELECT b.link_id, b.a_fields, b.b_fields, b.a_version, b.b_version, b.synced_at
		FROM links l JOIN bases b ON b.link_id = l.id WHERE l.flow = $1`,

	ListCommentLinks: `SELECT link_id, a_id, b_id, body_hash FROM comment_links
		WHERE link_id = $1 ORDER BY id`,

	GetCursor: `SELECT cursor FROM cursors WHERE flow = $1 AND side = $2`,
	PutCursor: `INSERT INTO cursors (flow, side, cursor) VALUES ($1, $2, $3)
		ON CONFLICT (flow, side) DO UPDATE SET cursor = excluded.cursor`,

	LeaseOf:            `SELECT owner, expires_at, token FROM locks WHERE name = $1`,
	JournalExists:      `SELECT 1 FROM journal WHERE id = $1`,
	JournalSetState:    `UPDATE journal SET state = $1 WHERE id = $2`,
	JournalHasKey:      `SELECT EXISTS (SELECT 1 FROM journal WHERE idempotency_key = $1)`,
	PendingJournal:     `SELECT ` + sqlops.JournalCols + ` FROM journal WHERE state = $1 ORDER BY id`,
	PendingFlowJournal: `SELECT ` + sqlops.JournalCols + ` FROM journal WHERE state = $1 AND flow = $2 ORDER BY id`,
	RunJournal:         `SELECT ` + sqlops.JournalCols + ` FROM journal WHERE run_id = $1 ORDER BY id`,

	PutConflict: `INSERT INTO conflicts (flow, link_id, field, base, a_value, b_value, state, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (link_id, field) WHERE state = 'open' DO UPDATE SET
			flow = excluded.flow, base = excluded.base, a_value = excluded.a_value, b_value = excluded.b_value
		RETURNING id`,
	GetConflict:   `SELECT ` + sqlops.ConflictCols + ` FROM conflicts WHERE id = $1`,
	ListConflicts: `SELECT ` + sqlops.ConflictCols + ` FROM conflicts`,
	ResolveConflict: `UPDATE conflicts SET state = $1, resolution = $2, value = $3, resolved_at = $4
		WHERE id = $5`,

	StartRun:     `INSERT INTO runs (flow, state, dry_run, started_at) VALUES ($1, $2, $3, $4) RETURNING id`,
	FinishRun:    `UPDATE runs SET state = $1, finished_at = $2, counts = $3, error = $4 WHERE id = $5`,
	GetRun:       `SELECT ` + sqlops.RunCols + ` FROM runs WHERE id = $1`,
	ListRuns:     `SELECT ` + sqlops.RunCols + ` FROM runs ORDER BY id DESC LIMIT $1`,
	ListFlowRuns: `SELECT ` + sqlops.RunCols + ` FROM runs WHERE flow = $1 ORDER BY id DESC LIMIT $2`,

	PutSnapshot: `INSERT INTO snapshots (initiative, day, total, done, in_progress, todo,
		done_by_count, done_by_estimate, at_risk, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (initiative, day) DO UPDATE SET total = excluded.total, done = excluded.done,
			in_progress = excluded.in_progress, todo = excluded.todo,
			done_by_count = excluded.done_by_count, done_by_estimate = excluded.done_by_estimate,
			at_risk = excluded.at_risk, updated_at = excluded.updated_at`,
	ListSnapshots: `SELECT ` + sqlops.SnapshotCols + ` FROM snapshots`,
	// COLLATE "C": byte order, the order SQLite gives, whatever the
	// database's collation.
	SnapshotOrder:   ` ORDER BY day COLLATE "C", initiative COLLATE "C"`,
	DeleteSnapshots: `DELETE FROM snapshots WHERE day < $1`,
	PutDateChange:   `INSERT INTO target_dates (initiative, at, from_day, to_day) VALUES ($1, $2, $3, $4)`,
	ListDateChanges: `SELECT initiative, at, from_day, to_day FROM target_dates`,

	GetKV: `SELECT value FROM kv WHERE scope = $1 AND key = $2`,
	PutKV: `INSERT INTO kv (scope, key, value) VALUES ($1, $2, $3)
		ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value`,
	DeleteKV: `DELETE FROM kv WHERE scope = $1 AND key = $2`,

	// Due events are picked FOR UPDATE SKIP LOCKED and claimed in the
	// same statement.
	EventByKey: `SELECT id FROM events WHERE dedup_key = $1`,
	ClaimEvents: `UPDATE events SET claimed_by = $1, claim_until = ` + nowSQL(3) + ` + $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM events
			WHERE delivered_at IS NULL AND next_attempt <= ` + nowSQL(3) + ` AND claim_until <= ` + nowSQL(3) + `
			ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING ` + sqlops.EventCols,
	AckEvent: `UPDATE events SET delivered_at = COALESCE(delivered_at, ` + nowSQL(1) + `), claimed_by = '', claim_until = 0
		WHERE id = $2`,
	RetryEvent: `UPDATE events SET next_attempt = CASE WHEN delivered_at IS NULL THEN $1 ELSE next_attempt END,
		last_error = $2, claimed_by = '', claim_until = 0 WHERE id = $3`,

	// The sequence's last value is the highest link id ever given out
	// (NULL before the first).
	LinkIDHigh: `SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence('links', 'id')::regclass), 0)`,

	BumpGeneration: `INSERT INTO generations AS g (name, generation) VALUES ($1, 1)
		ON CONFLICT (name) DO UPDATE SET generation = g.generation + 1 RETURNING generation`,
	Generation: `SELECT generation FROM generations WHERE name = $1`,
	Unlock:     `UPDATE locks SET owner = '', expires_at = 0 WHERE name = $1 AND owner = $2`,
	ExpiredLeases: `SELECT name, owner, token, expires_at FROM locks
		WHERE owner <> '' AND expires_at <= ` + nowSQL(1) + ` AND left(name, $2) = $3 ORDER BY name`,
}

// newDialect says how PostgreSQL differs, for sqlops.Ops.
func (s *Store) newDialect() *sqlops.Dialect {
	return &sqlops.Dialect{
		Now:       s.now,
		ExpiryNow: s.nowArg,
		Wrap:      s.wrap,
		NoRows:    func(err error) bool { return errors.Is(err, pgx.ErrNoRows) },
		Param:     func(n int) string { return fmt.Sprintf("$%d", n) },
		Bytes:     func(s string) any { return []byte(s) },
		Text:      text,
		Bucket:    s.bucket,
		ScanBases: func() func(rowscan.Scanner) (store.Base, error) {
			return sqlops.NewBaseScanner[*int64](reuseFieldBytes).Scan
		},
		Limit: func(n int) any {
			var lim *int // NULL: no limit
			if n > 0 {
				lim = &n
			}
			return lim
		},
	}
}

// reuseFieldBytes lets the field maps' bytes land in buffers kept from
// row to row, so each is copied once, into the string the decoder then
// slices.
func reuseFieldBytes(af, bf *pgtype.PreallocBytes) {
	*af, *bf = (*af)[:cap(*af)], (*bf)[:cap(*bf)]
}

// newOps returns the ops running on q, a transaction's when inTx.
func (s *Store) newOps(q querier, inTx bool) *ops {
	return &ops{Ops: sqlops.New[*int64, []byte](db{q: q, inTx: inTx}, &queries, s.d), q: q, s: s}
}

// db runs sqlops' statements on a querier, a transaction's when inTx.
type db struct {
	q    querier
	inTx bool
}

func (d db) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := d.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (d db) ExecGuarded(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := d.guarded(ctx, query, args...)
	return tag.RowsAffected(), err
}

// guarded runs one statement that may violate a constraint (UpdateLink
// onto another link's item: ErrExists). In a transaction PostgreSQL
// aborts the whole transaction on any error, where the engine expects to
// carry on, so the statement runs inside a savepoint, sent with it in one
// round trip, and a failure rolls back to it. The frequent writes avoid
// the error instead (ON CONFLICT, an EXISTS check), and so the savepoint.
func (d db) guarded(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if !d.inTx {
		return d.q.Exec(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(`SAVEPOINT tracksync_stmt`)
	b.Queue(sql, args...)
	b.Queue(`RELEASE SAVEPOINT tracksync_stmt`)
	br := d.q.SendBatch(ctx, b)
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
		if _, rerr := d.q.Exec(bg, `ROLLBACK TO SAVEPOINT tracksync_stmt`); rerr != nil {
			return tag, errors.Join(err, fmt.Errorf("rolling back to the statement's savepoint: %w", rerr))
		}
		if _, rerr := d.q.Exec(bg, `RELEASE SAVEPOINT tracksync_stmt`); rerr != nil {
			return tag, errors.Join(err, fmt.Errorf("releasing the statement's savepoint: %w", rerr))
		}
	}
	return tag, err
}

func (d db) QueryRow(ctx context.Context, query string, args ...any) rowscan.Scanner {
	return d.q.QueryRow(ctx, query, args...)
}

func (d db) Query(ctx context.Context, query string, args ...any) (sqlops.Rows, error) {
	rows, err := d.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}
