package sqlite

import (
	"context"
	"encoding/json"

	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/fieldmap"
	"github.com/tracksync/tracksync/store/internal/sqlops"
)

var _ store.Exporter = (*Store)(nil)

// Export reads every copied row (store.Dump) in one transaction, so the
// dump is one consistent state.
func (s *Store) Export(ctx context.Context) (*store.Dump, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.wrap(err, "exporting state store %s", s.path)
	}
	defer func() { _ = tx.Rollback() }()
	d := &store.Dump{}
	if err := s.newOps(tx).Dump(ctx, d, func(err error, what string) error { return s.wrap(err, "exporting %s", what) }); err != nil {
		return nil, err
	}
	return d, nil
}

var _ store.Importer = (*Store)(nil)

// Import writes d's rows with their ids and times in one immediate
// transaction (store.Importer). SQLite moves its id counters past the
// ids written by itself (AUTOINCREMENT's sqlite_sequence, max(rowid)).
func (s *Store) Import(ctx context.Context, d *store.Dump, replace bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err, "importing into state store %s", s.path)
	}
	defer func() { _ = tx.Rollback() }()
	if !replace {
		if err := s.newOps(tx).RefuseFull(ctx, s.path); err != nil {
			return err
		}
	} else {
		// Children before parents, so no foreign key is in the way.
		for i := len(sqlops.CopyTables) - 1; i >= 0; i-- {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+sqlops.CopyTables[i]); err != nil {
				return s.wrap(err, "emptying %s of state store %s", sqlops.CopyTables[i], s.path)
			}
		}
	}
	ins := func(what, query string, rows int, args func(i int) []any) error {
		if rows == 0 {
			return nil
		}
		st, err := tx.PrepareContext(ctx, query)
		if err != nil {
			return s.wrap(err, "copying %s", what)
		}
		defer st.Close()
		for i := range rows {
			if _, err := st.ExecContext(ctx, args(i)...); err != nil {
				return s.wrap(err, "copying %s (row %d of %d)", what, i+1, rows)
			}
		}
		return nil
	}
	steps := []func() error{
		func() error {
			return ins("links", `INSERT INTO links (id, flow, key, a_tracker, a_project, a_id, a_key, a_url,
				b_tracker, b_project, b_id, b_key, b_url, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				len(d.Links), func(i int) []any {
					l := d.Links[i]
					return []any{l.ID, l.Flow, nullString(l.Key), l.A.Tracker, l.A.Project, l.A.ID, l.A.Key, l.A.URL,
						l.B.Tracker, l.B.Project, l.B.ID, l.B.Key, l.B.URL, l.CreatedAt.UnixNano(), l.UpdatedAt.UnixNano()}
				})
		},
		func() error {
			return ins("bases", `INSERT INTO bases (link_id, a_fields, b_fields, a_version, b_version, synced_at) VALUES (?, ?, ?, ?, ?, ?)`,
				len(d.Bases), func(i int) []any {
					b := d.Bases[i]
					return []any{b.LinkID, fieldmap.Encode(b.A), fieldmap.Encode(b.B), b.AVersion, b.BVersion, ts(b.SyncedAt)}
				})
		},
		func() error {
			return ins("comment links", `INSERT INTO comment_links (link_id, a_id, b_id, body_hash) VALUES (?, ?, ?, ?)`,
				len(d.CommentLinks), func(i int) []any {
					c := d.CommentLinks[i]
					return []any{c.LinkID, c.AID, c.BID, c.BodyHash}
				})
		},
		func() error {
			return ins("cursors", `INSERT INTO cursors (flow, side, cursor) VALUES (?, ?, ?)`,
				len(d.Cursors), func(i int) []any {
					c := d.Cursors[i]
					return []any{c.Flow, string(c.Side), c.Cursor}
				})
		},
		func() error {
			return ins("journal", `INSERT INTO journal (id, run_id, flow, link_id, op, side,
				target_tracker, target_project, target_id, target_key, target_url, idempotency_key, lease_name, lease_token,
				before_fields, after_fields, result_tracker, result_project, result_id, result_key, result_url,
				state, error, created_at, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				len(d.Journal), func(i int) []any {
					e := d.Journal[i]
					return []any{e.ID, e.RunID, e.Flow, e.LinkID, e.Op, string(e.Side),
						e.Target.Tracker, e.Target.Project, e.Target.ID, e.Target.Key, e.Target.URL, e.IdempotencyKey, e.LeaseName, e.LeaseToken,
						fieldmap.Encode(e.Before), fieldmap.Encode(e.After), e.Result.Tracker, e.Result.Project, e.Result.ID, e.Result.Key, e.Result.URL,
						e.State, e.Error, e.CreatedAt.UnixNano(), ts(e.DoneAt)}
				})
		},
		func() error {
			return ins("conflicts", `INSERT INTO conflicts (id, flow, link_id, field, base, a_value, b_value, state, resolution, value,
				created_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				len(d.Conflicts), func(i int) []any {
					c := d.Conflicts[i]
					return []any{c.ID, c.Flow, c.LinkID, c.Field, c.Base, c.A, c.B, c.State, c.Resolution, c.Value,
						c.CreatedAt.UnixNano(), ts(c.ResolvedAt)}
				})
		},
		func() error {
			return ins("runs", `INSERT INTO runs (id, flow, state, dry_run, started_at, finished_at, counts, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				len(d.Runs), func(i int) []any {
					r := d.Runs[i]
					counts, _ := json.Marshal(r.Counts) // plain ints: cannot fail
					return []any{r.ID, r.Flow, r.State, r.DryRun, r.StartedAt.UnixNano(), ts(r.FinishedAt), string(counts), r.Error}
				})
		},
		func() error {
			return ins("snapshots", `INSERT INTO snapshots (initiative, day, total, done, in_progress, todo,
				done_by_count, done_by_estimate, at_risk, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				len(d.Snapshots), func(i int) []any {
					sn := d.Snapshots[i]
					return []any{sn.Initiative, sn.Day, sn.Total, sn.Done, sn.InProgress, sn.Todo,
						sn.DoneByCount, sn.DoneByEstimate, sn.AtRisk, ts(sn.UpdatedAt)}
				})
		},
		func() error {
			return ins("key-value pairs", `INSERT INTO kv (scope, key, value) VALUES (?, ?, ?)`,
				len(d.KV), func(i int) []any { return []any{d.KV[i].Scope, d.KV[i].Key, d.KV[i].Value} })
		},
		func() error {
			return ins("outbox events", `INSERT INTO events (id, kind, dedup_key, payload, created_at, attempts, next_attempt,
				last_error, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				len(d.Events), func(i int) []any {
					e := d.Events[i]
					return []any{e.ID, e.Kind, nullString(e.DedupKey), e.Payload, e.CreatedAt.UnixNano(), e.Attempts,
						e.NextAttempt.UnixNano(), e.LastError, ts(e.DeliveredAt)}
				})
		},
		func() error {
			return ins("generations", `INSERT INTO generations (name, generation) VALUES (?, ?)`,
				len(d.Generations), func(i int) []any { return []any{d.Generations[i].Name, d.Generations[i].Generation} })
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	// Inserting ids moved AUTOINCREMENT's counter to the highest of them
	// (or left a replaced store's); it becomes the source's, so a deleted
	// link above the copied ones stays used too.
	high := d.LinkIDHigh
	for _, l := range d.Links {
		high = max(high, l.ID)
	}
	res, err := tx.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = ? WHERE name = 'links'`, high)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 && high > 0 {
			_, err = tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES ('links', ?)`, high)
		}
	}
	if err != nil {
		return s.wrap(err, "moving the link id counter of state store %s past %d", s.path, high)
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(err, "committing the copy into state store %s", s.path)
	}
	return nil
}
