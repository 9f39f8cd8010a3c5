// Package synctest checks that a flow has converged, for the model-based
// tests of the engine, the adapters and the end-to-end suite. One checker
// holds the invariants every such test asserts after its last sync:
//
//   - links pair live items one to one, and every link points at live items;
//   - every live item is linked, or survives its counterpart's deletion
//     (a tombstone link);
//   - linked pairs agree on every synced field (a parent through the
//     links), or, under conflict: manual, hold an open conflict on it;
//   - comments are mirrored as the flow's comment direction says;
//   - no item was copied twice: a SyncKey shows up on one item only;
//   - a further run plans nothing (under manual, only held conflicts);
//
// and Echo checks the last: a sync with nobody editing writes nothing.
//
// Like testing/fstest it returns an error listing every violation rather
// than taking a *testing.T, so it is usable from any test and is itself
// tested by planting one bug per invariant.
package synctest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

// Side is one tracker of the flow as the checker reads it.
type Side struct {
	// Name is how messages call the tracker ("jira", "github"); default
	// "a" or "b".
	Name string
	// Items returns every live item the flow covers on this side, read
	// fresh from the tracker (or its fake) after the last sync.
	Items func(ctx context.Context) ([]adapters.Item, error)
}

// MemorySide reads an in-memory tracker's items.
func MemorySide(name string, tr *memory.Tracker) Side {
	return Side{Name: name, Items: func(context.Context) ([]adapters.Item, error) { return tr.Items(), nil }}
}

// GitHubSide reads the issues of repo on the GitHub fake (pull requests
// left out) through tr, the flow's GitHub tracker.
func GitHubSide(name string, fake *githubtest.Server, repo string, tr adapters.Tracker) Side {
	return Side{Name: name, Items: func(ctx context.Context) ([]adapters.Item, error) {
		var out []adapters.Item
		for _, is := range fake.Issues(repo) {
			if is.PullRequest {
				continue
			}
			it, err := tr.Get(ctx, adapters.Ref{Tracker: tr.Name(), ID: fmt.Sprintf("%s#%d", repo, is.Number)})
			if err != nil {
				return nil, fmt.Errorf("reading %s#%d: %w", repo, is.Number, err)
			}
			out = append(out, it)
		}
		return out, nil
	}}
}

// JiraSide reads the issues of project on the Jira fake (every issue
// when project is "") through tr, the flow's Jira tracker.
func JiraSide(name string, fake *jiratest.Server, project string, tr adapters.Tracker) Side {
	return Side{Name: name, Items: func(ctx context.Context) ([]adapters.Item, error) {
		var out []adapters.Item
		for _, is := range fake.Issues() {
			if project != "" && is.Project != project {
				continue
			}
			it, err := tr.Get(ctx, adapters.Ref{Tracker: tr.Name(), ID: fmt.Sprint(is.ID)})
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", is.Key, err)
			}
			out = append(out, it)
		}
		return out, nil
	}}
}

// Options say what to check and how.
type Options struct {
	Engine *tsync.Engine
	Store  store.Store
	Flow   *tsync.Flow
	A, B   Side
	// TrimBodies compares bodies and comments with surrounding white
	// space trimmed: a tracker that stores markup (Jira's ADF or wiki
	// markup, GitHub with its hidden markers) does not keep it. Comments
	// are always compared trimmed.
	TrimBodies bool
	// RequireSyncKeys fails a flow with links but no item carrying a
	// SyncKey: the adapters lost them, so the duplicate check would
	// check nothing.
	RequireSyncKeys bool
}

// Error lists what keeps a flow from having converged.
type Error struct {
	Flow     string
	Problems []string
}

// maxShown caps the problems Error prints; they tend to cascade.
const maxShown = 40

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "flow %s has not converged (%d problems):", e.Flow, len(e.Problems))
	for i, p := range e.Problems {
		if i == maxShown {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Problems)-maxShown)
			break
		}
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}

type checker struct {
	ctx      context.Context
	o        Options
	m        *mapping.Flow
	names    [2]string
	items    [2]map[string]adapters.Item
	held     map[string]bool // "linkID/field" of open conflicts
	problems []string
}

func (c *checker) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// Check reads both sides, the links and a further plan and returns an
// *Error naming every invariant that does not hold, or nil. An error
// reading the state or a tracker is returned as it is.
func Check(ctx context.Context, o Options) error {
	if o.Engine == nil || o.Store == nil || o.Flow == nil || o.Flow.Map == nil || o.A.Items == nil || o.B.Items == nil {
		return errors.New("synctest: Options needs Engine, Store, Flow (with Map) and both sides' Items")
	}
	c := &checker{ctx: ctx, o: o, m: o.Flow.Map, names: [2]string{o.A.Name, o.B.Name}, held: map[string]bool{}}
	if c.names[0] == "" {
		c.names[0] = "a"
	}
	if c.names[1] == "" {
		c.names[1] = "b"
	}
	for i, s := range []Side{o.A, o.B} {
		items, err := s.Items(ctx)
		if err != nil {
			return fmt.Errorf("synctest: reading %s's items: %w", c.names[i], err)
		}
		c.items[i] = map[string]adapters.Item{}
		for _, it := range items {
			c.items[i][it.Ref.ID] = it
		}
	}
	manual := c.m.Conflict == mapping.Manual
	if manual {
		cs, err := o.Store.ListConflicts(ctx, c.m.Name, store.ConflictOpen)
		if err != nil {
			return fmt.Errorf("synctest: listing conflicts: %w", err)
		}
		for _, x := range cs {
			c.held[fmt.Sprintf("%d/%s", x.LinkID, x.Field)] = true
		}
	}
	links, err := o.Store.ListLinks(ctx, c.m.Name)
	if err != nil {
		return fmt.Errorf("synctest: listing links: %w", err)
	}
	if err := c.links(links); err != nil {
		return err
	}
	c.duplicates(len(links))
	p, err := o.Engine.Plan(ctx, o.Flow, tsync.RunOptions{})
	if err != nil {
		return fmt.Errorf("synctest: planning a further run: %w", err)
	}
	for _, op := range p.Ops {
		if manual && op.Kind == tsync.OpConflict {
			continue
		}
		var b strings.Builder
		_ = p.WriteText(&b)
		c.problem("a further run still plans work:\n%s", b.String())
		break
	}
	if len(c.problems) > 0 {
		return &Error{Flow: c.m.Name, Problems: c.problems}
	}
	return nil
}

// links checks the one-to-one pairing, the pairs' fields and comments,
// and that every live item is linked.
func (c *checker) links(links []store.Link) error {
	seen := [2]map[string]int64{{}, {}}
	tomb := [2]map[string]bool{{}, {}}
	for _, l := range links {
		if l.Tombstone() {
			// The pair lost one side: the survivor stays, unlinked, and
			// is not copied again.
			tomb[0][l.A.ID], tomb[1][l.B.ID] = true, true
			continue
		}
		twice := false
		for i, id := range []string{l.A.ID, l.B.ID} {
			if other, ok := seen[i][id]; ok {
				c.problem("%s item %s is linked twice: links %d and %d", c.names[i], id, other, l.ID)
				twice = true
			}
			seen[i][id] = l.ID
		}
		if twice {
			continue
		}
		a, okA := c.items[0][l.A.ID]
		b, okB := c.items[1][l.B.ID]
		if !okA || !okB {
			c.problem("link %d (%s, %s) points at a missing item (%s found: %v, %s found: %v)", l.ID, l.A, l.B, c.names[0], okA, c.names[1], okB)
			continue
		}
		if err := c.pair(l, a, b); err != nil {
			return err
		}
	}
	for i := range c.items {
		for _, id := range sortedKeys(c.items[i]) {
			if _, ok := seen[i][id]; !ok && !tomb[i][id] {
				it := c.items[i][id]
				c.problem("%s item %s %q is not linked (nor the survivor of a deletion)", c.names[i], it.Ref, it.Title)
			}
		}
	}
	return nil
}

// pair checks one linked pair's fields and comments.
func (c *checker) pair(l store.Link, a, b adapters.Item) error {
	for _, r := range c.m.Rules {
		if r.Field == adapters.FieldParent {
			if err := c.parent(l, [2]adapters.Item{a, b}, r.Direction); err != nil {
				return err
			}
			continue
		}
		av, bv := c.m.Value(store.SideA, a, r.Field), c.m.Value(store.SideB, b, r.Field)
		if r.Field == adapters.FieldBody && c.o.TrimBodies {
			av, bv = strings.TrimSpace(av), strings.TrimSpace(bv)
		}
		if c.m.Equivalent(r.Field, av, bv) {
			continue
		}
		key := fmt.Sprintf("%d/%s", l.ID, r.Field)
		if c.held[key] {
			continue
		}
		c.problem("link %d (%s, %s) field %s: %s %q and %s %q disagree and hold no conflict", l.ID, a.Ref, b.Ref, r.Field, c.names[0], av, c.names[1], bv)
	}
	return c.comments(l, a, b)
}

// parent checks a parent field, which is written through the links: the
// counterpart of the source's parent. A parent that is not synced (not
// linked, or gone) is left alone, so it is not checked.
func (c *checker) parent(l store.Link, items [2]adapters.Item, dir mapping.Direction) error {
	for _, to := range []store.Side{store.SideB, store.SideA} {
		if !dir.Allows(to) {
			continue
		}
		from := to.Other()
		src, dst := items[sideIndex(from)], items[sideIndex(to)]
		want := ""
		if src.Parent != nil && !src.Parent.IsZero() {
			r, ok, err := c.counterpart(from, src.Parent.ID)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			want = r.Tracker + ":" + r.ID
		} else if dst.Parent != nil && !dst.Parent.IsZero() {
			// No parent at the source: a synced parent at the target
			// should have been cleared; an unsynced one is not ours.
			if _, ok, err := c.counterpart(to, dst.Parent.ID); err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
		}
		if got := adapters.FieldValue(dst, adapters.FieldParent); got != want {
			c.problem("link %d (%s, %s): parent on %s is %q, want %q (the counterpart of %s's parent %q)",
				l.ID, l.A, l.B, c.names[sideIndex(to)], got, want, c.names[sideIndex(from)], adapters.FieldValue(src, adapters.FieldParent))
		}
	}
	return nil
}

// counterpart returns the live counterpart of item id of side s.
func (c *checker) counterpart(s store.Side, id string) (adapters.Ref, bool, error) {
	pl, err := c.o.Store.FindLink(c.ctx, c.m.Name, s, id)
	if errors.Is(err, store.ErrNotFound) {
		return adapters.Ref{}, false, nil
	}
	if err != nil {
		return adapters.Ref{}, false, fmt.Errorf("synctest: reading the link of %s item %s: %w", s, id, err)
	}
	if pl.Tombstone() {
		return adapters.Ref{}, false, nil
	}
	return pl.Ref(s.Other()), true, nil
}

// comments checks that comments are mirrored: the same bodies on both
// sides (both ways), or every source comment on the target (one way).
func (c *checker) comments(l store.Link, a, b adapters.Item) error {
	if c.m.Comments == "" || c.m.Comments == mapping.None {
		return nil
	}
	ca, okA := c.o.Flow.A.(adapters.Commenter)
	cb, okB := c.o.Flow.B.(adapters.Commenter)
	if !okA || !okB {
		return nil
	}
	la, err := ca.Comments(c.ctx, a.Ref)
	if err != nil {
		return fmt.Errorf("synctest: reading the comments of %s: %w", a.Ref, err)
	}
	lb, err := cb.Comments(c.ctx, b.Ref)
	if err != nil {
		return fmt.Errorf("synctest: reading the comments of %s: %w", b.Ref, err)
	}
	ba, bb := bodies(la), bodies(lb)
	if c.m.Comments.Allows(store.SideB) && c.m.Comments.Allows(store.SideA) {
		if !slices.Equal(ba, bb) {
			c.problem("link %d (%s, %s): comments differ: %s %q, %s %q", l.ID, a.Ref, b.Ref, c.names[0], ba, c.names[1], bb)
		}
		return nil
	}
	src, dst, from, to := ba, bb, 0, 1
	if c.m.Comments.Allows(store.SideA) {
		src, dst, from, to = bb, ba, 1, 0
	}
	if missing := notIn(src, dst); len(missing) > 0 {
		c.problem("link %d (%s, %s): %s comments %q were not copied to %s", l.ID, a.Ref, b.Ref, c.names[from], missing, c.names[to])
	}
	return nil
}

// duplicates checks that no SyncKey shows up twice: it names one origin
// and its one copy, and only the copy carries it.
func (c *checker) duplicates(links int) {
	keys := map[string]string{}
	for i := range c.items {
		for _, id := range sortedKeys(c.items[i]) {
			it := c.items[i][id]
			if it.SyncKey == "" {
				continue
			}
			where := c.names[i] + " " + it.Ref.String()
			if other, dup := keys[it.SyncKey]; dup {
				c.problem("duplicate copies %s and %s of %s", other, where, it.SyncKey)
				continue
			}
			keys[it.SyncKey] = where
		}
	}
	if c.o.RequireSyncKeys && links > 0 && len(keys) == 0 {
		c.problem("%d links but no item carries a SyncKey: the adapters lost them, and the duplicate check checked nothing", links)
	}
}

// Writes counts one tracker's writes, for Echo.
type Writes struct {
	Name  string
	Reset func()
	Count func() int
	// Log lists the writes for the message (nil: only the count).
	Log func() []string
}

// Memory counts the writes of an in-memory tracker.
func Memory(name string, tr *memory.Tracker) Writes {
	return Writes{Name: name, Reset: tr.ResetCounts, Count: tr.Writes, Log: func() []string { return []string{fmt.Sprintf("%+v", tr.Counts())} }}
}

// GitHub counts the writes to the GitHub fake (GraphQL mutations among
// them), listing each as its method and path.
func GitHub(name string, fake *githubtest.Server) Writes {
	return Writes{Name: name, Reset: fake.ResetLog, Count: func() int { return fake.Count().Writes },
		Log: func() []string {
			var writes []string
			for _, r := range fake.Requests() {
				if r.Method != http.MethodGet && r.GraphQL != "query" {
					writes = append(writes, r.Method+" "+r.Path)
				}
			}
			return writes
		}}
}

// Jira counts the writes to the Jira fake, listing the requests that are
// not reads (searches and bulk fetches are POSTs that read).
func Jira(name string, fake *jiratest.Server) Writes {
	return Writes{Name: name, Reset: fake.ResetRequests, Count: fake.Writes,
		Log: func() []string {
			var writes []string
			for _, r := range fake.Requests() {
				if r.Method != http.MethodGet && !strings.Contains(r.Path, "/search") && !strings.Contains(r.Path, "/bulkfetch") {
					writes = append(writes, r.String())
				}
			}
			return writes
		}}
}

// Echo checks the echo rule: it resets every counter, calls run (a sync
// with nobody editing since the last) and fails if a tracker was written
// to. A sync that copies its own writes back never settles.
func Echo(run func() error, ws ...Writes) error {
	for _, w := range ws {
		w.Reset()
	}
	if err := run(); err != nil {
		return fmt.Errorf("echo: the sync with no edits failed: %w", err)
	}
	var wrote []string
	for _, w := range ws {
		n := w.Count()
		if n == 0 {
			continue
		}
		s := fmt.Sprintf("%d to %s", n, w.Name)
		if w.Log != nil {
			s += fmt.Sprintf(" %v", w.Log())
		}
		wrote = append(wrote, s)
	}
	if len(wrote) > 0 {
		return fmt.Errorf("echo: a sync with no edits since the last wrote %s", strings.Join(wrote, " and "))
	}
	return nil
}

func sideIndex(s store.Side) int {
	if s == store.SideB {
		return 1
	}
	return 0
}

func bodies(cs []adapters.Comment) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = strings.TrimSpace(c.Body)
	}
	slices.Sort(out)
	return out
}

// notIn returns the elements of want (a sorted multiset) missing from have.
func notIn(want, have []string) []string {
	left := map[string]int{}
	for _, h := range have {
		left[h]++
	}
	var missing []string
	for _, w := range want {
		if left[w] > 0 {
			left[w]--
			continue
		}
		missing = append(missing, w)
	}
	return missing
}

func sortedKeys(m map[string]adapters.Item) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
