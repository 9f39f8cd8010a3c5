package store

import "context"

// Run item actions: what a run did with one item.
const (
	ItemCreated  = "created"
	ItemUpdated  = "updated"
	ItemLinked   = "linked"
	ItemUnlinked = "unlinked"
	ItemArchived = "archived"
	ItemConflict = "conflict"
	ItemFailed   = "failed"
	ItemSkipped  = "skipped"
	// ItemWarning is a plan warning (an unknown user left out, a status
	// the map lacks, an ambiguous match): Item is "" when it names none.
	ItemWarning = "warning"
)

// ItemField is one field a run wrote to an item: old and new value in
// that item's vocabulary.
type ItemField struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// RunItem is one thing a run did with one item, for `tracksync runs
// show`: which item (and its counterpart), what, which fields, and why.
type RunItem struct {
	RunID  int64       `json:"run_id"`
	Seq    int         `json:"seq"` // order within the run
	LinkID int64       `json:"link_id,omitempty"`
	Side   Side        `json:"side,omitempty"` // the side written
	Item   string      `json:"item"`           // tracker:key of the item written (or read, for skips)
	Source string      `json:"source,omitempty"`
	Action string      `json:"action"`
	Fields []ItemField `json:"fields"`
	Reason string      `json:"reason,omitempty"`
}

// RunItemStore is implemented by stores that keep per-item run history.
// AddRunItems appends items to run runID (numbering them after those
// already stored); ListRunItems returns a run's items in order, an empty
// list for a run without any.
type RunItemStore interface {
	AddRunItems(ctx context.Context, runID int64, items []RunItem) error
	ListRunItems(ctx context.Context, runID int64) ([]RunItem, error)
}
