package memory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/tracksync/tracksync/adapters"
)

// stateFormat is the version of the JSON file layout; bump it when the
// layout changes incompatibly.
const stateFormat = 1

// state is everything a tracker holds, in the shape it is saved to a file.
type state struct {
	Format int `json:"format"`
	// Seq is the number of the latest change; every write takes the next.
	Seq           int64              `json:"seq"`
	NextID        int                `json:"next_id"`
	NextCommentID int                `json:"next_comment_id"`
	Items         map[string]*record `json:"items"`
	Tombstones    []tombstone        `json:"tombstones,omitempty"`
	// Idempotency maps a create's idempotency key to the item it made.
	Idempotency map[string]string `json:"idempotency,omitempty"`
	// CommentIdempotency maps item ID + "\x00" + key to a comment ID.
	CommentIdempotency map[string]string `json:"comment_idempotency,omitempty"`

	// log lists changes in seq order (not saved: rebuilt on first use), so
	// a listing costs what it returns rather than a sort of every item.
	// Entries superseded by a later change of the same item are skipped
	// when read and dropped when the log is rebuilt.
	log      []logEntry
	logBuilt bool
}

// logEntry is one change: of a live record, or a tombstone by index.
type logEntry struct {
	seq  int64
	rec  *record
	tomb int // index into Tombstones when rec is nil
}

// record is one live item and its bookkeeping.
type record struct {
	Item adapters.Item `json:"item"`
	Rev  int           `json:"rev"` // Item.Version as a number
	Seq  int64         `json:"seq"` // the item's latest change
}

// tombstone remembers a deleted item, with what scopes filter on, so
// listings since an earlier cursor can report the deletion.
type tombstone struct {
	Ref    adapters.Ref  `json:"ref"`
	Kind   adapters.Kind `json:"kind"`
	Labels []string      `json:"labels,omitempty"`
	Seq    int64         `json:"seq"`
}

func newState() *state {
	return &state{
		Format:             stateFormat,
		Items:              map[string]*record{},
		Idempotency:        map[string]string{},
		CommentIdempotency: map[string]string{},
	}
}

// touch gives rec the next change number, so listings return it again.
func (s *state) touch(rec *record) {
	s.Seq++
	rec.Seq = s.Seq
	if s.logBuilt {
		s.log = append(s.log, logEntry{seq: rec.Seq, rec: rec})
		s.maybeCompact()
	}
}

// buildLog orders every live change by seq; called once, then kept up to
// date by touch and remove.
func (s *state) buildLog() {
	s.log = s.log[:0]
	for _, rec := range s.Items {
		s.log = append(s.log, logEntry{seq: rec.Seq, rec: rec})
	}
	for i := range s.Tombstones {
		s.log = append(s.log, logEntry{seq: s.Tombstones[i].Seq, tomb: i})
	}
	slices.SortFunc(s.log, func(a, b logEntry) int { return cmpInt64(a.seq, b.seq) })
	s.logBuilt = true
}

// maybeCompact rebuilds the log once stale entries outnumber live ones.
func (s *state) maybeCompact() {
	if len(s.log) > 2*(len(s.Items)+len(s.Tombstones))+1024 {
		s.buildLog()
	}
}

func (s *state) nextCommentID() string {
	s.NextCommentID++
	return strconv.Itoa(s.NextCommentID)
}

// remove deletes rec, leaving a tombstone numbered as a change.
func (s *state) remove(rec *record) {
	delete(s.Items, rec.Item.Ref.ID)
	s.Seq++
	s.Tombstones = append(s.Tombstones, tombstone{
		Ref:    rec.Item.Ref,
		Kind:   rec.Item.Kind,
		Labels: slices.Clone(rec.Item.Labels),
		Seq:    s.Seq,
	})
	if s.logBuilt {
		s.log = append(s.log, logEntry{seq: s.Seq, tomb: len(s.Tombstones) - 1})
		s.maybeCompact()
	}
}

// change is one entry of a listing: a live item or a deletion.
type change struct {
	seq  int64
	rec  *record
	tomb *tombstone
}

// changesBetween returns the items and deletions in scope whose latest
// change is numbered in (after, upto], oldest first.
// At most limit changes are returned (limit <= 0: all).
func (s *state) changesBetween(after, upto int64, match scopeFilter, limit int) []change {
	if !s.logBuilt {
		s.buildLog()
	}
	var out []change
	i, _ := slices.BinarySearchFunc(s.log, after+1, func(e logEntry, seq int64) int { return cmpInt64(e.seq, seq) })
	for ; i < len(s.log) && s.log[i].seq <= upto; i++ {
		e := s.log[i]
		if e.rec != nil {
			// Skip superseded entries and records deleted since.
			if e.rec.Seq != e.seq || s.Items[e.rec.Item.Ref.ID] != e.rec || !match(e.rec.Item.Kind, e.rec.Item.Labels) {
				continue
			}
			out = append(out, change{seq: e.seq, rec: e.rec})
		} else {
			tb := &s.Tombstones[e.tomb]
			if !match(tb.Kind, tb.Labels) {
				continue
			}
			out = append(out, change{seq: e.seq, tomb: tb})
		}
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

// sortedRecords returns the live items ordered by numeric ID.
func (s *state) sortedRecords() []*record {
	out := make([]*record, 0, len(s.Items))
	for _, r := range s.Items {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *record) int {
		x, _ := strconv.Atoi(a.Item.Ref.ID)
		y, _ := strconv.Atoi(b.Item.Ref.ID)
		return x - y
	})
	return out
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// loadState reads the file at path; a missing file is no state (nil, nil).
func loadState(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state file: %w", err)
	}
	st := newState()
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("reading state file %s: %w", path, err)
	}
	if st.Format != stateFormat {
		return nil, fmt.Errorf("reading state file %s: format %d, this binary reads format %d", path, st.Format, stateFormat)
	}
	// A file written by hand or an older run may lack the maps.
	if st.Items == nil {
		st.Items = map[string]*record{}
	}
	if st.Idempotency == nil {
		st.Idempotency = map[string]string{}
	}
	if st.CommentIdempotency == nil {
		st.CommentIdempotency = map[string]string{}
	}
	for id, rec := range st.Items {
		if rec == nil || rec.Item.Ref.ID != id {
			return nil, fmt.Errorf("reading state file %s: item %q is malformed", path, id)
		}
	}
	return st, nil
}

// save writes the state to opts.Path, if set, through a temporary file and
// a rename so a crash leaves either the old or the new file, never half of
// one. The caller holds t.mu.
func (t *Tracker) save() error {
	if t.opts.Path == "" {
		return nil
	}
	b, err := json.MarshalIndent(t.st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	if err := writeFileAtomic(t.opts.Path, append(b, '\n')); err != nil {
		return fmt.Errorf("saving state file: %w", err)
	}
	return nil
}

func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// CreateTemp makes the file 0600, which is what we want: a state file
	// may hold whatever people wrote in their items.
	f, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
