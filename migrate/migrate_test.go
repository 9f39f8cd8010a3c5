package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/flowtest"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/migrate"
	"github.com/tracksync/tracksync/store"
)

var users = []config.User{
	{Name: "Ana", IDs: map[string]string{"src": "ana-jira", "dst": "ana-gh"}},
	{Name: "Bo", IDs: map[string]string{"src": "bo-jira", "dst": "bo-gh"}},
}

func openStore(t testing.TB) store.Store {
	t.Helper()
	return flowtest.Store(t, "", nil)
}

func compile(t testing.TB, fc config.Flow, a, b adapters.Tracker, ka, kb string) *mapping.Flow {
	t.Helper()
	return flowtest.Compile(t, fc, users, ka, a, kb, b).Map
}

// seedProject fills src with epics, each with children; every item has
// labels, an assignee (one in three unknown to the users table), three
// comments, and a body referring to the next item (a forward reference)
// and the previous one.
func seedProject(src *memory.Tracker, epics, children int) []adapters.Item {
	var out []adapters.Item
	n := 0
	next := func() int { n++; return n }
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	item := func(kind adapters.Kind, title string, parent *adapters.Ref) adapters.Item {
		k := next()
		who := []string{"ana-jira", "bo-jira", "zed-jira"}[k%3]
		body := fmt.Sprintf("Item %d. Follows PLAT-%d, blocks PLAT-%d. Not ours: OTHER-7.", k, k-1, k+1)
		statuses := []string{"To Do", "In Progress", "Done"}
		it := adapters.Item{Kind: kind, Title: title, Body: body, Status: statuses[k%3], Labels: []string{"team-a", fmt.Sprintf("l%d", k%4)}, Assignees: []string{who}, Priority: "High", Due: "2027-01-15", Parent: parent}
		for c := 1; c <= 3; c++ {
			it.Comments = append(it.Comments, adapters.Comment{Author: who, Body: fmt.Sprintf("comment %d on %d, see PLAT-%d", c, k, k+1), CreatedAt: at.Add(time.Duration(k*10+c) * time.Minute)})
		}
		return it
	}
	for e := 0; e < epics; e++ {
		ep := src.Seed(item(adapters.KindEpic, fmt.Sprintf("epic %d", e), nil))[0]
		out = append(out, ep)
		for c := 0; c < children; c++ {
			ch := src.Seed(item(adapters.KindIssue, fmt.Sprintf("child %d.%d", e, c), &ep.Ref))[0]
			out = append(out, ch)
		}
	}
	return out
}

type world struct {
	src, dst *memory.Tracker
	st       store.Store
	opts     migrate.Options
	seeded   []adapters.Item
}

func newWorld(t testing.TB, epics, children int) *world {
	t.Helper()
	src, _ := memory.New("src", memory.Options{Project: "PLAT"})
	dst, _ := memory.New("dst", memory.Options{Project: "NEW", Statuses: []adapters.StatusDef{{Name: "open", Category: adapters.CategoryTodo}, {Name: "doing", Category: adapters.CategoryInProgress}, {Name: "closed", Category: adapters.CategoryDone}}})
	w := &world{src: src, dst: dst, st: openStore(t)}
	w.seeded = seedProject(src, epics, children)
	m := compile(t, migrate.DefaultFlow("src", "dst", src.Capabilities(), dst.Capabilities()), src, dst, "memory", "memory")
	w.opts = migrate.Options{ID: "t1", Map: m,
		From: migrate.End{Tracker: src, Identity: "memory@project:PLAT", Kind: "memory"},
		To:   migrate.End{Tracker: dst, Identity: "memory@project:NEW", Kind: "memory"}}
	return w
}

// check verifies the target holds exactly one copy of every source item,
// with hierarchy, fields, comments in order and references rewritten.
func (w *world) check(t *testing.T) {
	t.Helper()
	srcItems := map[string]adapters.Item{}
	for _, it := range w.src.Items() {
		// The notes pointing at the copies are not copied.
		it.Comments = slices.DeleteFunc(it.Comments, func(c adapters.Comment) bool { return strings.HasPrefix(c.SyncKey, "migrate:") })
		srcItems[it.Ref.ID] = it
	}
	byKey := map[string]adapters.Item{}
	srcToDst := map[string]adapters.Item{}
	for _, it := range w.dst.Items() {
		if it.SyncKey == "" {
			t.Errorf("%s has no sync key", it.Ref)
			continue
		}
		if _, dup := byKey[it.SyncKey]; dup {
			t.Errorf("duplicate copy of %s: %s", it.SyncKey, it.Ref)
		}
		byKey[it.SyncKey] = it
		parts := strings.Split(it.SyncKey, "|")
		srcToDst[parts[2]] = it
	}
	if len(byKey) != len(srcItems) {
		t.Fatalf("%d copies of %d items", len(byKey), len(srcItems))
	}
	keyOf := map[string]string{} // source key -> copy key
	for id, s := range srcItems {
		keyOf[s.Ref.Key] = srcToDst[id].Ref.Key
	}
	for id, s := range srcItems {
		d, ok := srcToDst[id]
		if !ok {
			t.Errorf("%s was not copied", s.Ref)
			continue
		}
		if d.Title != s.Title || d.Kind != s.Kind || d.Priority != s.Priority || d.Due != s.Due {
			t.Errorf("%s → %s: title/kind/priority/due %q %s %s %s, want %q %s %s %s", s.Ref, d.Ref, d.Title, d.Kind, d.Priority, d.Due, s.Title, s.Kind, s.Priority, s.Due)
		}
		if !slices.Equal(d.Labels, s.Labels) {
			t.Errorf("%s: labels %v, want %v", d.Ref, d.Labels, s.Labels)
		}
		wantCat := s.StatusCategory
		if cat, _ := w.dst.Capabilities().Category(d.Status); cat != wantCat {
			t.Errorf("%s: status %s (%s), want category %s", d.Ref, d.Status, cat, wantCat)
		}
		wantAssignee := map[string]string{"ana-jira": "ana-gh", "bo-jira": "bo-gh"}[s.Assignees[0]]
		if got := strings.Join(d.Assignees, ","); got != wantAssignee {
			t.Errorf("%s: assignees %q, want %q", d.Ref, got, wantAssignee)
		}
		if s.Parent != nil {
			if d.Parent == nil || d.Parent.ID != srcToDst[s.Parent.ID].Ref.ID {
				t.Errorf("%s: parent %v, want the copy of %s", d.Ref, d.Parent, s.Parent)
			}
		}
		want := rewrite(s.Body, keyOf)
		if d.Body != want {
			t.Errorf("%s: body %q, want %q", d.Ref, d.Body, want)
		}
		if len(d.Comments) != len(s.Comments) {
			t.Errorf("%s: %d comments, want %d", d.Ref, len(d.Comments), len(s.Comments))
			continue
		}
		for i, c := range s.Comments {
			dc := d.Comments[i].Body
			if !strings.HasPrefix(dc, "_"+c.Author+" wrote on "+c.CreatedAt.UTC().Format("2006-01-02 15:04")) || !strings.HasSuffix(dc, rewrite(c.Body, keyOf)) {
				t.Errorf("%s: comment %d is %q, want a header naming %s and %q", d.Ref, i, dc, c.Author, rewrite(c.Body, keyOf))
			}
		}
	}
}

func rewrite(s string, keyOf map[string]string) string {
	f := strings.Fields(s)
	for i, w := range f {
		core := strings.TrimRight(w, ".,")
		if k, ok := keyOf[core]; ok {
			f[i] = k + w[len(core):]
		}
	}
	return strings.Join(f, " ")
}

func TestMigrateHierarchyFieldsCommentsReferences(t *testing.T) {
	w := newWorld(t, 4, 5)
	rep, err := migrate.Run(t.Context(), w.st, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	w.check(t)
	if rep.Counts.Created != 24 || rep.Counts.Comments != 72 || len(rep.IDMap) != 24 {
		t.Errorf("counts %+v, id map %d", rep.Counts, len(rep.IDMap))
	}
	if rep.ByKind["epic"] != 4 || rep.ByKind["issue"] != 20 {
		t.Errorf("by kind %v", rep.ByKind)
	}
	if rep.WarnKind["unknown_user"] == 0 {
		t.Errorf("zed-jira is in no users entry, yet no unknown_user warning: %v", rep.Warnings)
	}
	// Bulk: the memory target is a BulkCreator, so creates go in batches.
	if got := w.dst.Counts().Creates; got != 24 {
		t.Errorf("%d creates", got)
	}
	if !rep.Estimate.Bulk || rep.Estimate.Creates != 24 || rep.Estimate.Comments != 72 {
		t.Errorf("estimate %+v", rep.Estimate)
	}
	// A re-run after completion writes nothing.
	before := w.dst.Counts().Writes()
	rep, err = migrate.Run(t.Context(), w.st, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Writes != 0 || w.dst.Counts().Writes() != before || rep.Counts.Done != 24 {
		t.Errorf("re-run: counts %+v, target writes %d → %d", rep.Counts, before, w.dst.Counts().Writes())
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	w := newWorld(t, 2, 3)
	w.opts.DryRun = true
	w.opts.To.Pace = migrate.Pace{Windows: []migrate.Window{{Limit: 80, Per: time.Minute}, {Limit: 500, Per: time.Hour}}}
	rep, err := migrate.Run(t.Context(), w.st, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	if w.dst.Counts().Writes() != 0 || len(w.dst.Items()) != 0 {
		t.Fatalf("dry run wrote %d", w.dst.Counts().Writes())
	}
	// 8 items in two batches (epics, then children) + 24 comments;
	// references within a batch or forward need a fix
	// on every item.
	if e := rep.Estimate; e.Creates != 8 || e.Comments != 24 || e.Requests != 2+24+8 || e.ETA != 0 {
		t.Errorf("estimate %+v", e)
	}
}

func TestPaceDuration(t *testing.T) {
	gh := migrate.Pace{Windows: []migrate.Window{{Limit: 80, Per: time.Minute}, {Limit: 500, Per: time.Hour}}}
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{0, 0}, {1, 0}, {80, 0}, {81, time.Minute}, {500, 6 * time.Minute}, {501, time.Hour}, {1500, 2 * time.Hour}} {
		if got := gh.Duration(c.n); got != c.want {
			t.Errorf("github pace, %d requests: %v, want %v", c.n, got, c.want)
		}
	}
	if got := (migrate.Pace{PerSecond: 10}).Duration(101); got != 10*time.Second {
		t.Errorf("10/s, 101 requests: %v", got)
	}
}

// TestKillAndResume kills the migration at random writes, before or after
// the call, several times, resuming after each: in the end every item is
// copied once, with all its comments once.
func TestKillAndResume(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			w := newWorld(t, 5, 8)
			rnd := rand.New(rand.NewPCG(seed, 99))
			kills := 0
			for attempt := 0; ; attempt++ {
				if attempt > 40 {
					t.Fatal("no progress after 40 attempts")
				}
				o := w.opts
				if kills < 6 {
					at := 1 + rnd.IntN(20)
					point := []string{"before", "after"}[rnd.IntN(2)]
					o.Crash = func(p string, n int) error {
						if p == point && n == at {
							return errors.New("killed")
						}
						return nil
					}
				}
				o.BatchSize = 1 + rnd.IntN(10)
				_, err := migrate.Run(t.Context(), w.st, o)
				if err == nil {
					break
				}
				if !strings.Contains(err.Error(), "killed") {
					t.Fatal(err)
				}
				kills++
			}
			if kills < 5 {
				t.Fatalf("only %d kills", kills)
			}
			w.check(t)
			rep, err := migrate.Run(t.Context(), w.st, w.opts)
			if err != nil || rep.Counts.Writes != 0 {
				t.Fatalf("after completion: %v %+v", err, rep.Counts)
			}
			// Every create the kills interrupted is settled in the journal.
			if p, err := w.st.PendingJournal(t.Context(), migrate.FlowName("t1")); err != nil || len(p) != 0 {
				t.Fatalf("%d journal entries left pending (%v)", len(p), err)
			}
		})
	}
}

// TestCancelAndResume cancels the context mid-way (as a signal would).
func TestCancelAndResume(t *testing.T) {
	w := newWorld(t, 3, 6)
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	w.dst.SetHook(func(op string, ref adapters.Ref, ph memory.Phase) error {
		n++
		if n == 15 {
			cancel()
		}
		return nil
	})
	if _, err := migrate.Run(ctx, w.st, w.opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	w.dst.SetHook(nil)
	if _, err := migrate.Run(t.Context(), w.st, w.opts); err != nil {
		t.Fatal(err)
	}
	w.check(t)
}

// TestSinceAndLimit: --since keeps items updated since the date; --limit
// the first N in order, parents first, so no copy misses its parent.
func TestSinceAndLimit(t *testing.T) {
	w := newWorld(t, 3, 3) // 12 items: epics PLAT-1, 5, 9
	w.opts.Limit = 5
	rep, err := migrate.Run(t.Context(), w.st, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Created != 5 || rep.ByKind["epic"] != 3 || rep.WarnKind["parent_outside"] != 0 {
		t.Fatalf("--limit 5: %+v %v %v", rep.Counts, rep.ByKind, rep.Warnings)
	}
	w2 := newWorld(t, 2, 2)
	w2.opts.Since = time.Now().Add(time.Hour)
	rep, err = migrate.Run(t.Context(), w2.st, w2.opts)
	if err != nil || rep.Counts.Listed != 0 || len(w2.dst.Items()) != 0 {
		t.Fatalf("--since in the future: %v %+v", err, rep.Counts)
	}
}

// TestUnmappedStatus: a status the target lacks and no map names is copied
// as the nearest of the target's workflow, with a warning.
func TestUnmappedStatus(t *testing.T) {
	src, _ := memory.New("src", memory.Options{Project: "PLAT"})
	dst, _ := memory.New("dst", memory.Options{Project: "NEW", Statuses: []adapters.StatusDef{{Name: "open", Category: adapters.CategoryTodo}, {Name: "closed", Category: adapters.CategoryDone}}})
	src.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "busy", Status: "In Progress"}, adapters.Item{Kind: adapters.KindIssue, Title: "over", Status: "Done"})
	m := compile(t, migrate.DefaultFlow("src", "dst", src.Capabilities(), dst.Capabilities()), src, dst, "memory", "memory")
	rep, err := migrate.Run(t.Context(), openStore(t), migrate.Options{ID: "s", Map: m, From: migrate.End{Tracker: src, Identity: "memory@project:PLAT"}, To: migrate.End{Tracker: dst, Identity: "memory@project:NEW"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range dst.Items() {
		got[it.Title] = it.Status
	}
	if got["busy"] != "open" || got["over"] != "closed" || rep.WarnKind["unmapped_status"] != 1 {
		t.Fatalf("statuses %v, warnings %v", got, rep.Warnings)
	}
}

// TestAttachmentsAndLongBodies: links to attachments stay links and are
// counted once per item; a body longer than the target takes is cut with
// a pointer to the original, and both are reported.
func TestAttachmentsAndLongBodies(t *testing.T) {
	w := newWorld(t, 0, 0)
	w.src.Seed(
		adapters.Item{Kind: adapters.KindIssue, Title: "shots", Status: "To Do", Body: "See ![screen](https://acme.atlassian.net/secure/attachment/10001/screen.png) and https://acme.atlassian.net/secure/attachment/10002/log.txt"},
		adapters.Item{Kind: adapters.KindIssue, Title: "long", Status: "To Do", Body: strings.Repeat("word ", 20000)},
	)
	w.opts.To.Kind = "github" // the memory target takes GitHub's body limit
	rep, err := migrate.Run(t.Context(), w.st, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.AttachmentLinks != 2 || rep.WarnKind["attachment_linked"] != 1 || rep.WarnKind["truncated_body"] != 1 {
		t.Fatalf("counts %+v, warnings %v", rep.Counts, rep.WarnKind)
	}
	for _, it := range w.dst.Items() {
		if it.Title == "long" && (len([]rune(it.Body)) != 65536 || !strings.Contains(it.Body, "truncated: the full text is at mem://src/PLAT-2")) {
			t.Errorf("long body: %d characters, ends %q", len([]rune(it.Body)), it.Body[len(it.Body)-80:])
		}
		if it.Title == "shots" && !strings.Contains(it.Body, "/secure/attachment/10001/screen.png") {
			t.Errorf("attachment link lost: %q", it.Body)
		}
	}
}
