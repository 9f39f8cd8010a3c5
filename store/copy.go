package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracksync/tracksync/adapters"
)

// Moving an installation from one store to another (`tracksync store
// copy`): the source exports its rows with their ids and times as they
// are (Exporter), the target takes them as they are (Importer), and the
// copy is verified by reading the target back: the same counts and the
// same checksum. Leases, webhook delivery ids, rate budgets and outbox
// claims are not copied: they belong to the processes running on the old
// store, which are stopped for the move. Outbox events are, delivered or
// not (a delivered one's key still de-duplicates).

// Cursor is one side's cursor of a flow.
type Cursor struct {
	Flow   string `json:"flow"`
	Side   Side   `json:"side"`
	Cursor string `json:"cursor"`
}

// KV is one pair of the key-value space.
type KV struct {
	Scope string `json:"scope"`
	Key   string `json:"key"`
	Value string `json:"value"`
}

// GenerationValue is the generation of one name.
type GenerationValue struct {
	Name       string `json:"name"`
	Generation int64  `json:"generation"`
}

// OutboxEvent is an outbox event with what the Event type leaves out:
// whether and when it was delivered.
type OutboxEvent struct {
	Event
	DeliveredAt time.Time `json:"delivered_at,omitempty"`
}

// Dump is the copied part of a store, each kind in a fixed order (ids
// ascending; cursors, snapshots, pairs and generations by their keys in
// byte order), so that two stores holding the same rows give equal dumps.
type Dump struct {
	Links        []Link            `json:"links"`
	Bases        []Base            `json:"bases"`         // by link id
	CommentLinks []CommentLink     `json:"comment_links"` // in the order they were stored
	Cursors      []Cursor          `json:"cursors"`
	Journal      []JournalEntry    `json:"journal"`
	Conflicts    []Conflict        `json:"conflicts"`
	Runs         []Run             `json:"runs"`
	Snapshots    []Snapshot        `json:"snapshots"`
	KV           []KV              `json:"kv"`
	Generations  []GenerationValue `json:"generations"`
	Events       []OutboxEvent     `json:"events"` // by id
	// LinkIDHigh is the highest link id the store ever handed out,
	// deleted links included: the target must never hand it out again,
	// or history naming a deleted link (the journal) would name a new one.
	LinkIDHigh int64 `json:"link_id_high"`
}

// Exporter is implemented by stores whose rows can be read out for a copy.
type Exporter interface {
	// Export reads every copied row, in one consistent snapshot, in any
	// order but comment links' (stored order); Copy sorts the rest.
	Export(ctx context.Context) (*Dump, error)
}

// Importer is implemented by stores that can take a copy.
type Importer interface {
	// Import writes d's rows with their ids and times, in one
	// transaction, and moves id sequences past them. A store that holds
	// any copied row fails with an error wrapping ErrNotEmpty, unless
	// replace is set: then what it held is removed first.
	Import(ctx context.Context, d *Dump, replace bool) error
}

// ErrNotEmpty: the target of a copy already holds state.
var ErrNotEmpty = errors.New("target state store is not empty")

// CopyKinds names what a Dump holds, in Counts' order.
var CopyKinds = []string{"links", "bases", "comment_links", "cursors", "journal", "conflicts", "runs", "snapshots", "kv", "generations", "events"}

// Sort puts d in its canonical order (see Dump), which Copy compares;
// comment links keep their stored order within a link.
func (d *Dump) Sort() {
	slices.SortFunc(d.Links, func(a, b Link) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.Bases, func(a, b Base) int { return cmp.Compare(a.LinkID, b.LinkID) })
	slices.SortStableFunc(d.CommentLinks, func(a, b CommentLink) int { return cmp.Compare(a.LinkID, b.LinkID) })
	slices.SortFunc(d.Cursors, func(a, b Cursor) int {
		return cmp.Or(strings.Compare(a.Flow, b.Flow), strings.Compare(string(a.Side), string(b.Side)))
	})
	slices.SortFunc(d.Journal, func(a, b JournalEntry) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.Conflicts, func(a, b Conflict) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.Runs, func(a, b Run) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(d.Snapshots, func(a, b Snapshot) int {
		return cmp.Or(strings.Compare(a.Initiative, b.Initiative), strings.Compare(a.Day, b.Day))
	})
	slices.SortFunc(d.KV, func(a, b KV) int { return cmp.Or(strings.Compare(a.Scope, b.Scope), strings.Compare(a.Key, b.Key)) })
	slices.SortFunc(d.Generations, func(a, b GenerationValue) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(d.Events, func(a, b OutboxEvent) int { return cmp.Compare(a.ID, b.ID) })
}

// Counts returns how many rows of each kind d holds.
func (d *Dump) Counts() map[string]int {
	return map[string]int{
		"links": len(d.Links), "bases": len(d.Bases), "comment_links": len(d.CommentLinks),
		"cursors": len(d.Cursors), "journal": len(d.Journal), "conflicts": len(d.Conflicts),
		"runs": len(d.Runs), "snapshots": len(d.Snapshots), "kv": len(d.KV), "generations": len(d.Generations),
		"events": len(d.Events),
	}
}

// Empty reports whether d holds no row at all.
func (d *Dump) Empty() bool {
	for _, n := range d.Counts() {
		if n > 0 {
			return false
		}
	}
	return true
}

// Checksum is a SHA-256 over every field of every row, strings quoted
// byte for byte (a NUL, bytes that are not UTF-8), times in unix
// nanoseconds, maps in key order: two stores with equal checksums hold
// the same state.
func (d *Dump) Checksum() string {
	h := sha256.New()
	w := func(format string, args ...any) { fmt.Fprintf(h, format+"\n", args...) }
	for _, l := range d.Links {
		w("link %d %q %q %s %s %d %d", l.ID, l.Flow, l.Key, ref(l.A), ref(l.B), ns(l.CreatedAt), ns(l.UpdatedAt))
	}
	for _, b := range d.Bases {
		w("base %d %s %s %q %q %d", b.LinkID, fields(b.A), fields(b.B), b.AVersion, b.BVersion, ns(b.SyncedAt))
	}
	for _, c := range d.CommentLinks {
		w("comment %d %q %q %q", c.LinkID, c.AID, c.BID, c.BodyHash)
	}
	for _, c := range d.Cursors {
		w("cursor %q %q %q", c.Flow, c.Side, c.Cursor)
	}
	for _, e := range d.Journal {
		w("journal %d %d %q %d %q %q %s %q %q %d %s %s %s %q %q %d %d", e.ID, e.RunID, e.Flow, e.LinkID, e.Op, e.Side,
			ref(e.Target), e.IdempotencyKey, e.LeaseName, e.LeaseToken, fields(e.Before), fields(e.After),
			ref(e.Result), e.State, repaired(e.Error), ns(e.CreatedAt), ns(e.DoneAt))
	}
	for _, c := range d.Conflicts {
		w("conflict %d %q %d %q %q %q %q %q %q %q %d %d", c.ID, c.Flow, c.LinkID, c.Field, c.Base, c.A, c.B, c.State,
			c.Resolution, c.Value, ns(c.CreatedAt), ns(c.ResolvedAt))
	}
	for _, r := range d.Runs {
		w("run %d %q %q %t %d %d %+v %q", r.ID, r.Flow, r.State, r.DryRun, ns(r.StartedAt), ns(r.FinishedAt), r.Counts, repaired(r.Error))
	}
	for _, s := range d.Snapshots {
		w("snapshot %q %q %d %d %d %d %v %v %t %d", s.Initiative, s.Day, s.Total, s.Done, s.InProgress, s.Todo,
			s.DoneByCount, s.DoneByEstimate, s.AtRisk, ns(s.UpdatedAt))
	}
	for _, kv := range d.KV {
		w("kv %q %q %q", kv.Scope, kv.Key, kv.Value)
	}
	for _, g := range d.Generations {
		w("generation %q %d", g.Name, g.Generation)
	}
	for _, e := range d.Events {
		w("event %d %q %q %q %d %d %d %q %d", e.ID, e.Kind, e.DedupKey, e.Payload, ns(e.CreatedAt), e.Attempts,
			ns(e.NextAttempt), repaired(e.LastError), ns(e.DeliveredAt))
	}
	w("link id high %d", d.LinkIDHigh)
	return hex.EncodeToString(h.Sum(nil))
}

func ref(r adapters.Ref) string {
	return fmt.Sprintf("%q/%q/%q/%q/%q", r.Tracker, r.Project, r.ID, r.Key, r.URL)
}

// repaired is an error message as a store that keeps only text holds it:
// NULs and bytes that are not UTF-8 become U+FFFD (store/postgres does
// this). Error messages are compared repaired, so that a message cut in
// the middle of a character does not fail a copy; every other value is
// compared byte for byte.
func repaired(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fields writes a map in key order; nil and empty differ.
func fields(m map[string]string) string {
	if m == nil {
		return "nil"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for _, k := range keys {
		fmt.Fprintf(&b, "%q:%q,", k, m[k])
	}
	b.WriteByte('}')
	return b.String()
}

// CopyResult is what Copy read and verified.
type CopyResult struct {
	Counts   map[string]int `json:"counts"`
	Checksum string         `json:"checksum"`
}

// Copy copies from's state into to and verifies it: to, read back, must
// hold the same counts and checksum as from. from must be an Exporter,
// to an Importer and an Exporter. A to that holds state fails with
// ErrNotEmpty unless replace is set. A verification failure is an error
// naming the kinds whose counts differ.
func Copy(ctx context.Context, from, to Store, replace bool, progress io.Writer) (CopyResult, error) {
	ex, ok := from.(Exporter)
	if !ok {
		return CopyResult{}, fmt.Errorf("copying state: the source store (%s) cannot export its rows", describe(from))
	}
	im, ok := to.(Importer)
	if !ok {
		return CopyResult{}, fmt.Errorf("copying state: the target store (%s) cannot import rows", describe(to))
	}
	back, ok := to.(Exporter)
	if !ok {
		return CopyResult{}, fmt.Errorf("copying state: the target store (%s) cannot be read back to verify a copy", describe(to))
	}
	d, err := ex.Export(ctx)
	if err != nil {
		return CopyResult{}, fmt.Errorf("reading %s: %w", describe(from), err)
	}
	d.Sort()
	res := CopyResult{Counts: d.Counts(), Checksum: d.Checksum()}
	if progress != nil {
		fmt.Fprintf(progress, "read %s: %s\n", describe(from), formatCounts(res.Counts))
	}
	if err := im.Import(ctx, d, replace); err != nil {
		return res, fmt.Errorf("writing %s: %w", describe(to), err)
	}
	got, err := back.Export(ctx)
	if err != nil {
		return res, fmt.Errorf("reading back %s: %w", describe(to), err)
	}
	got.Sort()
	gotCounts := got.Counts()
	var bad []string
	for _, k := range CopyKinds {
		if gotCounts[k] != res.Counts[k] {
			bad = append(bad, fmt.Sprintf("%s: %d of %d", k, gotCounts[k], res.Counts[k]))
		}
	}
	if len(bad) > 0 {
		return res, fmt.Errorf("verifying the copy in %s: counts differ (%s); the target keeps what was written, do not run on it", describe(to), strings.Join(bad, ", "))
	}
	if sum := got.Checksum(); sum != res.Checksum {
		return res, fmt.Errorf("verifying the copy in %s: the counts match but the checksum differs (%s, source %s); the target keeps what was written, do not run on it", describe(to), sum, res.Checksum)
	}
	return res, nil
}

func formatCounts(c map[string]int) string {
	parts := make([]string, 0, len(CopyKinds))
	for _, k := range CopyKinds {
		parts = append(parts, fmt.Sprintf("%d %s", c[k], k))
	}
	return strings.Join(parts, ", ")
}

func describe(s Store) string {
	if d, ok := s.(Describer); ok {
		return d.Describe()
	}
	return fmt.Sprintf("%T", s)
}
