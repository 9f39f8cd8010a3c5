package sqlops

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tracksync/tracksync/store"
	"github.com/tracksync/tracksync/store/internal/rowscan"
)

// CopyTables are the tables a store.Dump fills, parents first.
var CopyTables = []string{"links", "bases", "comment_links", "cursors", "journal", "conflicts", "runs", "snapshots", "kv", "generations", "events"}

// all runs query and reads each row with scan.
func all[T any](ctx context.Context, db DB, query string, scan func(rowscan.Scanner) (T, error)) ([]T, error) {
	rows, err := db.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowscan.Collect(rows, func() (T, error) { return scan(rows) })
}

// Dump reads every copied row into d (store.Exporter), on the one
// transaction o runs on, so that the dump is one consistent state. The
// listings Ops offers (links, journal, conflicts, runs, snapshots) fail
// with their own errors; wrap adds to the others what was being exported
// ("bases", "comment links", ...).
func (o Ops[N, B]) Dump(ctx context.Context, d *store.Dump, wrap func(err error, what string) error) error {
	var err error
	if d.Links, err = o.ListLinks(ctx, ""); err != nil {
		return err
	}
	if d.Bases, err = all(ctx, o.db, `SELECT `+BaseCols+` FROM bases ORDER BY link_id`, o.d.ScanBases()); err != nil {
		return wrap(err, "bases")
	}
	if d.CommentLinks, err = all(ctx, o.db, `SELECT link_id, a_id, b_id, body_hash FROM comment_links ORDER BY id`, ScanCommentLink); err != nil {
		return wrap(err, "comment links")
	}
	if d.Cursors, err = all(ctx, o.db, `SELECT flow, side, cursor FROM cursors`, func(sc rowscan.Scanner) (store.Cursor, error) {
		var c store.Cursor
		var side string
		err := sc.Scan(&c.Flow, &side, &c.Cursor)
		c.Side = store.Side(side)
		return c, err
	}); err != nil {
		return wrap(err, "cursors")
	}
	if d.Journal, err = o.ListJournal(ctx, "the journal", `SELECT `+JournalCols+` FROM journal ORDER BY id`); err != nil {
		return err
	}
	if d.Conflicts, err = o.ListConflicts(ctx, "", ""); err != nil {
		return err
	}
	if d.Runs, err = o.ListRuns(ctx, "", 0); err != nil {
		return err
	}
	if d.Snapshots, err = o.ListSnapshots(ctx, "", ""); err != nil {
		return err
	}
	if d.KV, err = all(ctx, o.db, `SELECT scope, key, value FROM kv`, func(sc rowscan.Scanner) (store.KV, error) {
		var kv store.KV
		err := sc.Scan(&kv.Scope, &kv.Key, &kv.Value)
		return kv, err
	}); err != nil {
		return wrap(err, "the key-value space")
	}
	if d.Generations, err = all(ctx, o.db, `SELECT name, generation FROM generations`, func(sc rowscan.Scanner) (store.GenerationValue, error) {
		var g store.GenerationValue
		err := sc.Scan(&g.Name, &g.Generation)
		return g, err
	}); err != nil {
		return wrap(err, "generations")
	}
	if d.Events, err = all(ctx, o.db, `SELECT `+EventCols+`, delivered_at FROM events ORDER BY id`, func(sc rowscan.Scanner) (store.OutboxEvent, error) {
		var e store.OutboxEvent
		var created, next int64
		var delivered N
		err := sc.Scan(&e.ID, &e.Kind, &e.DedupKey, &e.Payload, &created, &e.Attempts, &next, &e.LastError, &delivered)
		e.CreatedAt, e.NextAttempt, e.DeliveredAt = time.Unix(0, created).UTC(), time.Unix(0, next).UTC(), rowscan.Time(delivered)
		return e, err
	}); err != nil {
		return wrap(err, "the outbox")
	}
	if err := o.db.QueryRow(ctx, o.q.LinkIDHigh).Scan(&d.LinkIDHigh); err != nil {
		return wrap(err, "the link id counter")
	}
	return nil
}

// RefuseFull fails with an error wrapping store.ErrNotEmpty, naming the
// tables, when any of CopyTables of the store named desc holds a row: a
// copy goes into an empty store only, unless it replaces (--force).
func (o Ops[N, B]) RefuseFull(ctx context.Context, desc string) error {
	var full []string
	for _, t := range CopyTables {
		var any bool
		if err := o.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+t+`)`).Scan(&any); err != nil {
			return o.d.Wrap(err, "checking that %s of state store %s is empty", t, desc)
		}
		if any {
			full = append(full, t)
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("state store %s already holds %s (use --force to replace them): %w", desc, strings.Join(full, ", "), store.ErrNotEmpty)
	}
	return nil
}
