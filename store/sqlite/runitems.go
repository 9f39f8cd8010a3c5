package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tracksync/tracksync/store"
)

var _ store.RunItemStore = (*Store)(nil)

// AddRunItems appends items to run runID in one transaction, numbered
// after those already stored.
func (s *Store) AddRunItems(ctx context.Context, runID int64, items []store.RunItem) error {
	if len(items) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err, "recording the items of run %d", runID)
	}
	defer func() { _ = tx.Rollback() }()
	var next int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM run_items WHERE run_id = ?`, runID).Scan(&next); err != nil {
		return s.wrap(err, "recording the items of run %d", runID)
	}
	for _, it := range items {
		next++
		fields := it.Fields
		if fields == nil {
			fields = []store.ItemField{}
		}
		fj, err := json.Marshal(fields)
		if err != nil {
			return fmt.Errorf("recording the items of run %d: %w", runID, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO run_items (run_id, seq, link_id, side, item, source, action, fields, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, runID, next, it.LinkID, string(it.Side), it.Item, it.Source, it.Action, string(fj), it.Reason); err != nil {
			return s.wrap(err, "recording item %s of run %d", it.Item, runID)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(err, "recording the items of run %d", runID)
	}
	return nil
}

// ListRunItems returns run runID's items in order.
func (s *Store) ListRunItems(ctx context.Context, runID int64) ([]store.RunItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, link_id, side, item, source, action, fields, reason FROM run_items WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, s.wrap(err, "listing the items of run %d", runID)
	}
	defer rows.Close()
	out := []store.RunItem{}
	for rows.Next() {
		it := store.RunItem{RunID: runID}
		var side, fj string
		if err := rows.Scan(&it.Seq, &it.LinkID, &side, &it.Item, &it.Source, &it.Action, &fj, &it.Reason); err != nil {
			return nil, s.wrap(err, "listing the items of run %d", runID)
		}
		it.Side = store.Side(side)
		if err := json.Unmarshal([]byte(fj), &it.Fields); err != nil {
			return nil, fmt.Errorf("listing the items of run %d: item %d: fields: %w", runID, it.Seq, err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "listing the items of run %d", runID)
	}
	return out, nil
}
