package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/rowscan"
	"github.com/tracksync/tracksync/store/internal/sqlops"
)

// queries are this driver's statements for sqlops.Ops.
var queries = sqlops.Queries{
	UpdateLink: `UPDATE links SET
		a_tracker = ?, a_project = ?, a_id = ?, a_key = ?, a_url = ?,
		b_tracker = ?, b_project = ?, b_id = ?, b_key = ?, b_url = ?,
		updated_at = ? WHERE id = ?`,
	GetLink: `SELECT ` + sqlops.LinkCols + ` FROM links WHERE id = ?`,
	// The side is part of the column name; ORDER BY makes the answer
	// stable if two trackers on one side share an id.
	FindLinkA:     `SELECT ` + sqlops.LinkCols + ` FROM links WHERE flow = ? AND a_id = ? ORDER BY id LIMIT 1`,
	FindLinkB:     `SELECT ` + sqlops.LinkCols + ` FROM links WHERE flow = ? AND b_id = ? ORDER BY id LIMIT 1`,
	FindLinkByKey: `SELECT ` + sqlops.LinkCols + ` FROM links WHERE flow = ? AND key = ?`,
	ListLinks:     `SELECT ` + sqlops.LinkCols + ` FROM links ORDER BY id`,
	ListFlowLinks: `SELECT ` + sqlops.LinkCols + ` FROM links WHERE flow = ? ORDER BY id`,

	DeleteLinkConflicts: `DELETE FROM conflicts WHERE link_id = ?`,
	DeleteLink:          `DELETE FROM links WHERE id = ?`,

	GetBase: `SELECT ` + sqlops.BaseCols + ` FROM bases WHERE link_id = ?`,
	ListBases: `SELECT b.link_id, b.a_fields, b.b_fields, b.a_version, b.b_version, b.synced_at
		FROM links l JOIN bases b ON b.link_id = l.id WHERE l.flow = ?`,
	// The flow's link count (an upper bound, read from the index alone)
	// sizes the map up front: growing a 100,000-entry map step by step
	// costs more than the count.
	CountFlowLinks: `SELECT count(*) FROM links WHERE flow = ?`,

	ListCommentLinks: `SELECT link_id, a_id, b_id, body_hash FROM comment_links
		WHERE link_id = ? ORDER BY id`,

	GetCursor: `SELECT cursor FROM cursors WHERE flow = ? AND side = ?`,
	PutCursor: `INSERT INTO cursors (flow, side, cursor) VALUES (?, ?, ?)
		ON CONFLICT (flow, side) DO UPDATE SET cursor = excluded.cursor`,

	LeaseOf:            `SELECT owner, expires_at, token FROM locks WHERE name = ?`,
	JournalExists:      `SELECT 1 FROM journal WHERE id = ?`,
	JournalSetState:    `UPDATE journal SET state = ? WHERE id = ?`,
	JournalHasKey:      `SELECT EXISTS (SELECT 1 FROM journal WHERE idempotency_key = ?)`,
	PendingJournal:     `SELECT ` + sqlops.JournalCols + ` FROM journal WHERE state = ? ORDER BY id`,
	PendingFlowJournal: `SELECT ` + sqlops.JournalCols + ` FROM journal WHERE state = ? AND flow = ? ORDER BY id`,
	RunJournal:         `SELECT ` + sqlops.JournalCols + ` FROM journal WHERE run_id = ? ORDER BY id`,

	PutConflict: `INSERT INTO conflicts (flow, link_id, field, base, a_value, b_value, state, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (link_id, field) WHERE state = 'open' DO UPDATE SET
			flow = excluded.flow, base = excluded.base, a_value = excluded.a_value, b_value = excluded.b_value
		RETURNING id`,
	GetConflict:   `SELECT ` + sqlops.ConflictCols + ` FROM conflicts WHERE id = ?`,
	ListConflicts: `SELECT ` + sqlops.ConflictCols + ` FROM conflicts`,
	ResolveConflict: `UPDATE conflicts SET state = ?, resolution = ?, value = ?, resolved_at = ?
		WHERE id = ?`,

	StartRun:     `INSERT INTO runs (flow, state, dry_run, started_at) VALUES (?, ?, ?, ?) RETURNING id`,
	FinishRun:    `UPDATE runs SET state = ?, finished_at = ?, counts = ?, error = ? WHERE id = ?`,
	GetRun:       `SELECT ` + sqlops.RunCols + ` FROM runs WHERE id = ?`,
	ListRuns:     `SELECT ` + sqlops.RunCols + ` FROM runs ORDER BY id DESC LIMIT ?`,
	ListFlowRuns: `SELECT ` + sqlops.RunCols + ` FROM runs WHERE flow = ? ORDER BY id DESC LIMIT ?`,

	PutSnapshot: `INSERT INTO snapshots (initiative, day, total, done, in_progress, todo,
		done_by_count, done_by_estimate, at_risk, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (initiative, day) DO UPDATE SET total = excluded.total, done = excluded.done,
			in_progress = excluded.in_progress, todo = excluded.todo,
			done_by_count = excluded.done_by_count, done_by_estimate = excluded.done_by_estimate,
			at_risk = excluded.at_risk, updated_at = excluded.updated_at`,
	ListSnapshots:   `SELECT ` + sqlops.SnapshotCols + ` FROM snapshots`,
	SnapshotOrder:   ` ORDER BY day, initiative`,
	DeleteSnapshots: `DELETE FROM snapshots WHERE day < ?`,
	PutDateChange:   `INSERT INTO target_dates (initiative, at, from_day, to_day) VALUES (?, ?, ?, ?)`,
	ListDateChanges: `SELECT initiative, at, from_day, to_day FROM target_dates`,

	GetKV: `SELECT value FROM kv WHERE scope = ? AND key = ?`,
	PutKV: `INSERT INTO kv (scope, key, value) VALUES (?, ?, ?)
		ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value`,
	DeleteKV: `DELETE FROM kv WHERE scope = ? AND key = ?`,

	// One UPDATE ... RETURNING, so the choice of rows and the claim
	// cannot be split by another writer.
	EventByKey: `SELECT id FROM events WHERE dedup_key = ?`,
	ClaimEvents: `UPDATE events SET claimed_by = ?, claim_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM events
			WHERE delivered_at IS NULL AND next_attempt <= ? AND claim_until <= ?
			ORDER BY id LIMIT ?)
		RETURNING ` + sqlops.EventCols,
	AckEvent: `UPDATE events SET delivered_at = COALESCE(delivered_at, ?), claimed_by = '', claim_until = 0
		WHERE id = ?`,
	RetryEvent: `UPDATE events SET next_attempt = CASE WHEN delivered_at IS NULL THEN ? ELSE next_attempt END,
		last_error = ?, claimed_by = '', claim_until = 0 WHERE id = ?`,

	// AUTOINCREMENT keeps the highest link id ever given out here.
	LinkIDHigh: `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'links'), 0)`,

	BumpGeneration: `INSERT INTO generations (name, generation) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET generation = generation + 1 RETURNING generation`,
	Generation: `SELECT generation FROM generations WHERE name = ?`,
	Unlock:     `UPDATE locks SET owner = '', expires_at = 0 WHERE name = ? AND owner = ?`,
	ExpiredLeases: `SELECT name, owner, token, expires_at FROM locks
		WHERE owner <> '' AND expires_at <= ? AND substr(name, 1, ?) = ? ORDER BY name`,
}

// newDialect says how SQLite differs, for sqlops.Ops.
func (s *Store) newDialect() *sqlops.Dialect {
	return &sqlops.Dialect{
		Now:       s.now,
		ExpiryNow: func() any { return s.now().UnixNano() },
		Wrap:      s.wrap,
		NoRows:    func(err error) bool { return errors.Is(err, sql.ErrNoRows) },
		Param:     func(int) string { return "?" },
		Bytes:     func(s string) any { return s },
		Text:      func(s string) string { return s },
		Bucket:    s.bucket,
		ScanBases: func() func(rowscan.Scanner) (store.Base, error) {
			return sqlops.NewBaseScanner[sql.NullInt64, string](nil).Scan
		},
		Limit: func(n int) any {
			if n <= 0 {
				return -1 // no limit
			}
			return n
		},
	}
}

// newOps returns the ops running on q.
func (s *Store) newOps(q querier) *ops {
	return &ops{Ops: sqlops.New[sql.NullInt64, string](db{q}, &queries, s.d), q: q, s: s}
}

// db runs sqlops' statements on a querier.
type db struct{ q querier }

func (d db) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := d.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ExecGuarded is Exec: a failed statement leaves an SQLite transaction
// usable.
func (d db) ExecGuarded(ctx context.Context, query string, args ...any) (int64, error) {
	return d.Exec(ctx, query, args...)
}

func (d db) QueryRow(ctx context.Context, query string, args ...any) rowscan.Scanner {
	return d.q.QueryRowContext(ctx, query, args...)
}

func (d db) Query(ctx context.Context, query string, args ...any) (sqlops.Rows, error) {
	rows, err := d.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// sqlRows closes as sqlops.Rows do: the error is the one Err reports.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }
