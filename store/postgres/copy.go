package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/fieldmap"
	"github.com/tracksync/tracksync/store/internal/sqlops"
)

var (
	_ store.Exporter = (*Store)(nil)
	_ store.Importer = (*Store)(nil)
)

// identityTables have an identity id that Import moves past the ids it wrote.
var identityTables = []string{"links", "comment_links", "journal", "conflicts", "runs", "events"}

// Export reads every copied row in one REPEATABLE READ, read-only
// transaction: one snapshot of the database, taken without blocking
// writers.
func (s *Store) Export(ctx context.Context) (*store.Dump, error) {
	d := &store.Dump{}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		return s.newOps(tx, true).Dump(ctx, d, func(err error, what string) error {
			switch what {
			case "generations", "the outbox", "the link id counter":
				return err // named by the store alone, as they always were
			}
			return s.wrap(err, "exporting %s", what)
		})
	})
	if err != nil {
		return nil, s.wrap(err, "exporting state store %s", s.desc)
	}
	return d, nil
}

// Import writes d in one transaction with COPY, ids and times as they
// are, after locking the copied tables against every other writer. A
// database holding any copied row is refused (store.ErrNotEmpty, naming
// the tables) unless replace is set; then those tables are emptied first.
func (s *Store) Import(ctx context.Context, d *store.Dump, replace bool) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(sqlops.CopyTables, ", ")+` IN EXCLUSIVE MODE`); err != nil {
			return s.wrap(err, "locking state store %s for the copy", s.desc)
		}
		if replace {
			if _, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(sqlops.CopyTables, ", ")); err != nil {
				return s.wrap(err, "emptying state store %s", s.desc)
			}
		} else if err := s.newOps(tx, true).RefuseFull(ctx, s.desc); err != nil {
			return err
		}
		for _, c := range copySources(d) {
			if len(c.rows) == 0 {
				continue
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				return s.wrap(err, "copying %d rows into %s", len(c.rows), c.table)
			}
		}
		for _, t := range identityTables {
			// Links: past deleted ones too (Dump.LinkIDHigh). setval's
			// is_called true: the next id is the value plus one, and
			// Export reads the value back (0: none given out yet).
			var high int64
			if t == "links" {
				high = d.LinkIDHigh
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%[1]s', 'id'),
				GREATEST(COALESCE(max(id), 0), $1, 1), GREATEST(COALESCE(max(id), 0), $1) > 0) FROM %[1]s`, t), high); err != nil {
				return s.wrap(err, "moving the id sequence of %s past the copied ids", t)
			}
		}
		return nil
	})
}

type copySource struct {
	table string
	cols  []string
	rows  [][]any
}

func copySources(d *store.Dump) []copySource {
	links := copySource{table: "links", cols: []string{"id", "flow", "key", "a_tracker", "a_project", "a_id", "a_key", "a_url",
		"b_tracker", "b_project", "b_id", "b_key", "b_url", "created_at", "updated_at"}}
	for _, l := range d.Links {
		links.rows = append(links.rows, []any{l.ID, l.Flow, nullString(l.Key), l.A.Tracker, l.A.Project, l.A.ID, l.A.Key, l.A.URL,
			l.B.Tracker, l.B.Project, l.B.ID, l.B.Key, l.B.URL, l.CreatedAt.UnixNano(), l.UpdatedAt.UnixNano()})
	}
	bases := copySource{table: "bases", cols: []string{"link_id", "a_fields", "b_fields", "a_version", "b_version", "synced_at"}}
	for _, b := range d.Bases {
		bases.rows = append(bases.rows, []any{b.LinkID, []byte(fieldmap.Encode(b.A)), []byte(fieldmap.Encode(b.B)), b.AVersion, b.BVersion, ts(b.SyncedAt)})
	}
	comments := copySource{table: "comment_links", cols: []string{"link_id", "a_id", "b_id", "body_hash"}}
	for _, c := range d.CommentLinks {
		comments.rows = append(comments.rows, []any{c.LinkID, c.AID, c.BID, c.BodyHash})
	}
	cursors := copySource{table: "cursors", cols: []string{"flow", "side", "cursor"}}
	for _, c := range d.Cursors {
		cursors.rows = append(cursors.rows, []any{c.Flow, string(c.Side), c.Cursor})
	}
	journal := copySource{table: "journal", cols: []string{"id", "run_id", "flow", "link_id", "op", "side",
		"target_tracker", "target_project", "target_id", "target_key", "target_url", "idempotency_key", "lease_name", "lease_token",
		"before_fields", "after_fields", "result_tracker", "result_project", "result_id", "result_key", "result_url",
		"state", "error", "created_at", "done_at"}}
	for _, e := range d.Journal {
		journal.rows = append(journal.rows, []any{e.ID, e.RunID, e.Flow, e.LinkID, e.Op, string(e.Side),
			e.Target.Tracker, e.Target.Project, e.Target.ID, e.Target.Key, e.Target.URL, e.IdempotencyKey, e.LeaseName, e.LeaseToken,
			[]byte(fieldmap.Encode(e.Before)), []byte(fieldmap.Encode(e.After)),
			e.Result.Tracker, e.Result.Project, e.Result.ID, e.Result.Key, e.Result.URL,
			e.State, text(e.Error), e.CreatedAt.UnixNano(), ts(e.DoneAt)})
	}
	conflicts := copySource{table: "conflicts", cols: []string{"id", "flow", "link_id", "field", "base", "a_value", "b_value",
		"state", "resolution", "value", "created_at", "resolved_at"}}
	for _, c := range d.Conflicts {
		conflicts.rows = append(conflicts.rows, []any{c.ID, c.Flow, c.LinkID, c.Field, []byte(c.Base), []byte(c.A), []byte(c.B),
			c.State, c.Resolution, []byte(c.Value), c.CreatedAt.UnixNano(), ts(c.ResolvedAt)})
	}
	runs := copySource{table: "runs", cols: []string{"id", "flow", "state", "dry_run", "started_at", "finished_at", "counts", "error"}}
	for _, r := range d.Runs {
		counts, _ := json.Marshal(r.Counts) // plain ints: cannot fail
		runs.rows = append(runs.rows, []any{r.ID, r.Flow, r.State, r.DryRun, r.StartedAt.UnixNano(), ts(r.FinishedAt), string(counts), text(r.Error)})
	}
	snaps := copySource{table: "snapshots", cols: []string{"initiative", "day", "total", "done", "in_progress", "todo",
		"done_by_count", "done_by_estimate", "at_risk", "updated_at"}}
	for _, s := range d.Snapshots {
		snaps.rows = append(snaps.rows, []any{s.Initiative, s.Day, s.Total, s.Done, s.InProgress, s.Todo,
			s.DoneByCount, s.DoneByEstimate, s.AtRisk, ts(s.UpdatedAt)})
	}
	kv := copySource{table: "kv", cols: []string{"scope", "key", "value"}}
	for _, p := range d.KV {
		kv.rows = append(kv.rows, []any{p.Scope, p.Key, p.Value})
	}
	gens := copySource{table: "generations", cols: []string{"name", "generation"}}
	for _, g := range d.Generations {
		gens.rows = append(gens.rows, []any{g.Name, g.Generation})
	}
	events := copySource{table: "events", cols: []string{"id", "kind", "dedup_key", "payload", "created_at", "attempts",
		"next_attempt", "last_error", "delivered_at"}}
	for _, e := range d.Events {
		events.rows = append(events.rows, []any{e.ID, e.Kind, nullString(e.DedupKey), e.Payload, e.CreatedAt.UnixNano(),
			int64(e.Attempts), e.NextAttempt.UnixNano(), text(e.LastError), ts(e.DeliveredAt)})
	}
	return []copySource{links, bases, comments, cursors, journal, conflicts, runs, snaps, kv, gens, events}
}
