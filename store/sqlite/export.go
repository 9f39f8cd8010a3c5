package sqlite

import (
	"context"

	"github.com/tracksync/tracksync/store"
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
	o := &ops{q: tx, s: s}
	d := &store.Dump{}
	if d.Links, err = o.ListLinks(ctx, ""); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+baseCols+` FROM bases ORDER BY link_id`)
	if err != nil {
		return nil, s.wrap(err, "exporting bases")
	}
	bs := newBaseScanner()
	for rows.Next() {
		b, err := bs.scan(rows)
		if err != nil {
			rows.Close()
			return nil, s.wrap(err, "exporting bases")
		}
		d.Bases = append(d.Bases, b)
	}
	if err := closeRows(rows); err != nil {
		return nil, s.wrap(err, "exporting bases")
	}
	if err := queryAll(ctx, tx, `SELECT link_id, a_id, b_id, body_hash FROM comment_links ORDER BY id`, func(sc scanner) error {
		var c store.CommentLink
		err := sc.Scan(&c.LinkID, &c.AID, &c.BID, &c.BodyHash)
		d.CommentLinks = append(d.CommentLinks, c)
		return err
	}); err != nil {
		return nil, s.wrap(err, "exporting comment links")
	}
	if err := queryAll(ctx, tx, `SELECT flow, side, cursor FROM cursors`, func(sc scanner) error {
		var c store.Cursor
		err := sc.Scan(&c.Flow, &c.Side, &c.Cursor)
		d.Cursors = append(d.Cursors, c)
		return err
	}); err != nil {
		return nil, s.wrap(err, "exporting cursors")
	}
	if d.Journal, err = o.listJournal(ctx, "the journal", `SELECT `+journalCols+` FROM journal ORDER BY id`); err != nil {
		return nil, err
	}
	if d.Conflicts, err = o.ListConflicts(ctx, "", ""); err != nil {
		return nil, err
	}
	if d.Runs, err = o.ListRuns(ctx, "", 0); err != nil {
		return nil, err
	}
	if d.Snapshots, err = o.ListSnapshots(ctx, "", ""); err != nil {
		return nil, err
	}
	if err := queryAll(ctx, tx, `SELECT scope, key, value FROM kv`, func(sc scanner) error {
		var kv store.KV
		err := sc.Scan(&kv.Scope, &kv.Key, &kv.Value)
		d.KV = append(d.KV, kv)
		return err
	}); err != nil {
		return nil, s.wrap(err, "exporting the key-value space")
	}
	if err := queryAll(ctx, tx, `SELECT name, generation FROM generations`, func(sc scanner) error {
		var g store.GenerationValue
		err := sc.Scan(&g.Name, &g.Generation)
		d.Generations = append(d.Generations, g)
		return err
	}); err != nil {
		return nil, s.wrap(err, "exporting generations")
	}
	return d, nil
}

type rowsCloser interface {
	Close() error
	Err() error
}

func closeRows(rows rowsCloser) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// queryAll runs query and calls scan for each row.
func queryAll(ctx context.Context, q querier, query string, scan func(scanner) error) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	for rows.Next() {
		if err := scan(rows); err != nil {
			rows.Close()
			return err
		}
	}
	return closeRows(rows)
}
