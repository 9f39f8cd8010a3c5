package roadmap_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/roadmap"
)

func readRich(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "rich.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGetMapsEveryField(t *testing.T) {
	path := writeRoadmap(t, readRich(t))
	c := newClock()
	tr := newTracker(t, path, c)
	got, err := tr.Get(t.Context(), adapters.Ref{ID: "INIT-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := adapters.Item{
		Ref: adapters.Ref{Tracker: "plan", Project: "roadmap.yaml", ID: "INIT-1", Key: "INIT-1",
			URL: "file://" + filepath.ToSlash(path) + "#INIT-1"},
		Kind:           adapters.KindInitiative,
		Title:          "Self-serve onboarding",
		Body:           "Let teams sign up **without** talking to sales.\n\n- trial workspace\n- guided setup",
		Status:         "in_progress",
		StatusCategory: adapters.CategoryInProgress,
		Assignees:      []string{"ana@acme.com"},
		Labels:         []string{"growth", "self-serve"},
		Priority:       "high",
		Due:            "2027-03-31",
		Fields: map[string]string{
			"children": `["PLAT-12","acme/platform#45"]`,
			"progress": "0.42",
			"team":     "growth",
		},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(adapters.Item{}, "UpdatedAt", "Version")); diff != "" {
		t.Errorf("Get(INIT-1) (-want +got):\n%s", diff)
	}
	if got.Version == "" || got.UpdatedAt.IsZero() {
		t.Errorf("Version %q, UpdatedAt %v: want both set", got.Version, got.UpdatedAt)
	}

	// An initiative without status: has the first todo status.
	init3, err := tr.Get(t.Context(), adapters.Ref{Key: "INIT-3"})
	if err != nil {
		t.Fatal(err)
	}
	if init3.Status != "at_risk" || init3.Title != "Data residency (EU)" {
		t.Errorf("INIT-3 by Key: status %q title %q", init3.Status, init3.Title)
	}
	nostatus := writeRoadmap(t, "initiatives:\n  - key: X-1\n")
	it, err := newTracker(t, nostatus, c).Get(t.Context(), adapters.Ref{ID: "X-1"})
	if err != nil {
		t.Fatal(err)
	}
	if it.Status != "planned" || it.StatusCategory != adapters.CategoryTodo {
		t.Errorf("initiative without status: got %q/%q, want planned/todo", it.Status, it.StatusCategory)
	}

	if _, err := tr.Get(t.Context(), adapters.Ref{ID: "INIT-404"}); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("Get of a missing key: %v, want ErrNotFound", err)
	}
}

func TestChildren(t *testing.T) {
	tr := newTracker(t, writeRoadmap(t, readRich(t)), nil)
	got, err := tr.Children(t.Context(), "INIT-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"PLAT-12", "acme/platform#45"}, got); diff != "" {
		t.Errorf("Children(INIT-1) in file order (-want +got):\n%s", diff)
	}
	got, err = tr.Children(t.Context(), "INIT-3")
	if err != nil || len(got) != 0 {
		t.Errorf("Children(INIT-3) = %v, %v; want none", got, err)
	}
	if _, err := tr.Children(t.Context(), "INIT-9"); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("Children of a missing key: %v, want ErrNotFound", err)
	}
}

// TestBadFiles checks each problem is reported with the path, the line(s)
// and the initiative key a PM needs to fix it.
func TestBadFiles(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings of the error
	}{
		{"syntax", "initiatives:\n  - key: A\n   title: [oops\n", []string{"roadmap.yaml:2: did not find expected '-' indicator"}},
		{"scanner", "initiatives:\n  - key: A\n    title: a: b\n", []string{"roadmap.yaml:3: mapping values are not allowed"}},
		{"duplicate keys", "initiatives:\n  - key: INIT-1\n  - key: INIT-2\n  - key: INIT-1\n",
			[]string{"roadmap.yaml:4:", "duplicate key INIT-1 at lines 2 and 4"}},
		{"duplicate field", "initiatives:\n  - key: INIT-1\n    status: planned\n    status: done\n",
			[]string{"roadmap.yaml:4:", "INIT-1", `duplicate key "status" at lines 3 and 4`}},
		{"missing key", "initiatives:\n  - key: INIT-1\n  - title: Keyless\n    status: planned\n",
			[]string{"roadmap.yaml:3:", "has no key"}},
		{"bad due", "initiatives:\n  - key: INIT-7\n    due: 2027-02-30\n",
			[]string{"roadmap.yaml:3:", "initiative INIT-7", `due "2027-02-30"`}},
		{"due not a date", "initiatives:\n  - key: INIT-7\n    due: next quarter\n",
			[]string{"initiative INIT-7", "YYYY-MM-DD"}},
		{"unknown status", "initiatives:\n  - key: INIT-2\n    status: blocked\n",
			[]string{"roadmap.yaml:3:", "INIT-2", `unknown status "blocked"`, "planned, in_progress"}},
		{"no list", "title: not a roadmap\n", []string{"no initiatives: list"}},
		{"list is a mapping", "initiatives:\n  a: b\n", []string{"initiatives: must be a list"}},
		{"top is a list", "- key: A\n", []string{"top level must be a mapping"}},
		{"empty", "# only a comment\n", []string{"the file is empty"}},
		{"two documents", "initiatives: []\n---\ninitiatives: []\n", []string{"more than one YAML document"}},
		{"entry not a mapping", "initiatives:\n  - INIT-1\n", []string{"roadmap.yaml:2:", "must be a mapping"}},
		{"labels a mapping", "initiatives:\n  - key: A\n    labels: {a: b}\n", []string{"roadmap.yaml:3:", "labels must be a list"}},
		{"title a list", "initiatives:\n  - key: A\n    title: [a]\n", []string{"title must be a single value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeRoadmap(t, tt.src)
			tr := newTracker(t, path, nil)
			for name, call := range map[string]func() error{
				"Check": func() error { return tr.Check(t.Context()) },
				"List":  func() error { _, err := tr.List(t.Context(), adapters.ListRequest{}); return err },
				"Update": func() error {
					_, err := tr.Update(t.Context(), adapters.Ref{ID: "A"}, adapters.Patch{Fields: []string{adapters.FieldTitle}})
					return err
				},
			} {
				err := call()
				if err == nil {
					t.Fatalf("%s: no error", name)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not mention %q", name, err, w)
					}
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("%s: error %q does not name the file", name, err)
				}
				var pe *roadmap.ParseError
				if !errors.As(err, &pe) || !errors.Is(err, adapters.ErrInvalid) || !adapters.IsPermanent(err) {
					t.Errorf("%s: error %v: want a *ParseError wrapping ErrInvalid", name, err)
				}
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.src {
				t.Errorf("a broken file was rewritten")
			}
		})
	}

	t.Run("every problem at once", func(t *testing.T) {
		tr := newTracker(t, writeRoadmap(t, "initiatives:\n  - key: A\n    due: soon\n  - key: A\n  - title: x\n"), nil)
		err := tr.Check(t.Context())
		for _, w := range []string{"due \"soon\"", "duplicate key A", "has no key"} {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("Check: %v; want it to mention %q", err, w)
			}
		}
	})
	t.Run("missing file", func(t *testing.T) {
		tr := newTracker(t, filepath.Join(t.TempDir(), "nope.yaml"), nil)
		err := tr.Check(t.Context())
		if !errors.Is(err, os.ErrNotExist) || errors.Is(err, adapters.ErrNotFound) {
			t.Errorf("Check of a missing file: %v; want a file error, not ErrNotFound (which would read as every item deleted)", err)
		}
	})
}

func TestUpdateRejects(t *testing.T) {
	tests := []struct {
		name   string
		fields []string
		it     adapters.Item
		want   error
	}{
		{"unknown status", []string{adapters.FieldStatus}, adapters.Item{Status: "blocked"}, adapters.ErrInvalid},
		{"bad due", []string{adapters.FieldDue}, adapters.Item{Due: "2027-13-01"}, adapters.ErrInvalid},
		{"two owners", []string{adapters.FieldAssignees}, adapters.Item{Assignees: []string{"a", "b"}}, adapters.ErrInvalid},
		{"custom standard key", []string{"custom:status"}, adapters.Item{Fields: map[string]string{"status": "done"}}, adapters.ErrInvalid},
		{"custom tracksync_id", []string{"custom:tracksync_id"}, adapters.Item{Fields: map[string]string{"tracksync_id": "x"}}, adapters.ErrInvalid},
		{"children not a list", []string{"custom:children"}, adapters.Item{Fields: map[string]string{"children": "PLAT-1"}}, adapters.ErrInvalid},
		{"parent", []string{adapters.FieldParent}, adapters.Item{Parent: &adapters.Ref{Tracker: "j", ID: "1"}}, adapters.ErrUnsupported},
		{"unknown field", []string{"colour"}, adapters.Item{}, adapters.ErrUnsupported},
		{"anchored value", []string{adapters.FieldAssignees}, adapters.Item{Assignees: []string{"cy"}}, adapters.ErrUnsupported},
		// The first field is valid: nothing may be written if a later one is not.
		{"valid then invalid", []string{adapters.FieldTitle, adapters.FieldStatus}, adapters.Item{Title: "new", Status: "nope"}, adapters.ErrInvalid},
	}
	const src = "initiatives:\n  - key: INIT-1\n    title: Old\n    owner: &pm ana\n    reviewer: *pm\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeRoadmap(t, src)
			tr := newTracker(t, path, nil)
			_, err := tr.Update(t.Context(), adapters.Ref{ID: "INIT-1"}, adapters.Patch{Fields: tt.fields, Item: tt.it})
			if !errors.Is(err, tt.want) {
				t.Errorf("Update: %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), "INIT-1") {
				t.Errorf("error %q does not name the initiative", err)
			}
			if got, _ := os.ReadFile(path); string(got) != src {
				t.Errorf("a refused update changed the file:\n%s", got)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	src := "initiatives:\n  - key: INIT-7\n  - key: OTHER-40\n  - key: INIT-3\n"
	path := writeRoadmap(t, src)
	tr := newTracker(t, path, newClock())
	ctx := t.Context()
	res, err := tr.Create(ctx, adapters.Item{Title: "Next", StatusCategory: adapters.CategoryInProgress}, adapters.CreateOptions{IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Item.Ref.Key != "INIT-8" || res.Existed {
		t.Errorf("Create: key %q existed %v; want INIT-8, one past the highest", res.Item.Ref.Key, res.Existed)
	}
	if res.Item.Status != "in_progress" {
		t.Errorf("Create with only a category: status %q, want the category's first, in_progress", res.Item.Status)
	}
	if _, ok := res.Item.Fields["tracksync_id"]; ok {
		t.Errorf("tracksync_id shows up as a free field: %v", res.Item.Fields)
	}
	again, err := tr.Create(ctx, adapters.Item{Title: "Next"}, adapters.CreateOptions{IdempotencyKey: "k1"})
	if err != nil || !again.Existed || again.Item.Ref.Key != "INIT-8" {
		t.Errorf("Create retried with the same key: %+v, %v; want INIT-8 Existed", again, err)
	}
	// Another Tracker (another process) finds it too: the key is in the file.
	other := newTracker(t, path, nil)
	if r, err := other.Create(ctx, adapters.Item{Title: "Next"}, adapters.CreateOptions{IdempotencyKey: "k1"}); err != nil || !r.Existed {
		t.Errorf("Create with the key from another Tracker: %+v, %v; want Existed", r, err)
	}
	if _, err := tr.Create(ctx, adapters.Item{Kind: adapters.KindEpic, Title: "Epic"}, adapters.CreateOptions{}); !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("Create of an epic: %v, want ErrUnsupported", err)
	}
	if _, err := tr.Create(ctx, adapters.Item{Title: "x", Due: "tomorrow"}, adapters.CreateOptions{}); !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("Create with a bad due date: %v, want ErrInvalid", err)
	}
	got, _ := os.ReadFile(path)
	want := src + "  - key: INIT-8\n    title: Next\n    status: in_progress\n    tracksync_id: k1\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("file after Create (-want +got):\n%s", diff)
	}
}

func TestDelete(t *testing.T) {
	src := "initiatives:\n  - key: A\n    title: a\n  # about B\n  - key: B\n    title: b\n"
	path := writeRoadmap(t, src)
	tr := newTracker(t, path, nil)
	if err := tr.Delete(t.Context(), adapters.Ref{ID: "B"}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Delete(t.Context(), adapters.Ref{ID: "B"}); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
	if err := tr.Delete(t.Context(), adapters.Ref{ID: "A"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := "initiatives:\n  # about B\n"; string(got) != want {
		t.Errorf("after deleting both: %q, want %q", got, want)
	}
	// The emptied roadmap is still a roadmap: Create works on it.
	if _, err := tr.Create(t.Context(), adapters.Item{Title: "again"}, adapters.CreateOptions{}); err != nil {
		t.Errorf("Create on an emptied roadmap: %v", err)
	}
}

func TestListScopeCursorAndPages(t *testing.T) {
	path := writeRoadmap(t, readRich(t))
	c := newClock()
	tr := newTracker(t, path, c)
	ctx := t.Context()
	keys := func(items []adapters.Item) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.Ref.Key)
		}
		return out
	}
	scopes := []struct {
		scope string
		want  []string
	}{
		{"", []string{"INIT-1", "INIT-2", "INIT-3"}},
		{"status:in_progress", []string{"INIT-1"}},
		{"status:planned,at_risk", []string{"INIT-2", "INIT-3"}},
		{"category:in_progress", []string{"INIT-1", "INIT-3"}},
		{"label:revenue", []string{"INIT-2"}},
		{`label:"self-serve"`, []string{"INIT-1"}},
		{"child:PLAT-40", []string{"INIT-2"}},
		{"owner:bo@acme.com", []string{"INIT-2"}},
		{"team:growth category:in_progress", []string{"INIT-1"}},
		{"team:growth status:done", nil},
		{`title:"Data residency (EU)"`, []string{"INIT-3"}},
	}
	for _, s := range scopes {
		p, err := tr.List(ctx, adapters.ListRequest{Scope: s.scope})
		if err != nil {
			t.Fatalf("List(%q): %v", s.scope, err)
		}
		if diff := cmp.Diff(s.want, keys(p.Items)); diff != "" {
			t.Errorf("List(%q) (-want +got):\n%s", s.scope, diff)
		}
	}
	for _, bad := range []string{"status", "category:doing", `label:"open`} {
		if _, err := tr.List(ctx, adapters.ListRequest{Scope: bad}); !errors.Is(err, adapters.ErrInvalid) {
			t.Errorf("List(scope %q): %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := tr.List(ctx, adapters.ListRequest{Cursor: "not-a-cursor"}); !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("List with a bad cursor: %v, want ErrInvalid", err)
	}

	first, err := tr.List(ctx, adapters.ListRequest{Scope: "category:in_progress"})
	if err != nil {
		t.Fatal(err)
	}
	// A PM edits INIT-1, moves INIT-3 out of scope and deletes nothing yet.
	pm := newTracker(t, path, nil)
	if _, err := pm.Update(ctx, adapters.Ref{ID: "INIT-1"}, adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: adapters.Item{Title: "Onboarding"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pm.Update(ctx, adapters.Ref{ID: "INIT-3"}, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "done"}}); err != nil {
		t.Fatal(err)
	}
	second, err := tr.List(ctx, adapters.ListRequest{Scope: "category:in_progress", Cursor: first.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"INIT-1"}, keys(second.Items)); diff != "" || len(second.Deleted) != 0 {
		t.Errorf("since the first cursor: items (-want +got):\n%s deleted %v; an initiative leaving the scope is not deleted", diff, second.Deleted)
	}
	if err := pm.Delete(ctx, adapters.Ref{ID: "INIT-1"}); err != nil {
		t.Fatal(err)
	}
	third, err := tr.List(ctx, adapters.ListRequest{Scope: "category:in_progress", Cursor: second.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if len(third.Items) != 0 || len(third.Deleted) != 1 || third.Deleted[0].Key != "INIT-1" || third.Deleted[0].Tracker != "plan" {
		t.Errorf("since the second cursor: items %v deleted %v; want INIT-1 deleted", keys(third.Items), third.Deleted)
	}

	// Pages: the file changes between pages; nothing is listed twice and the
	// change made behind the listing comes back next time.
	path2 := writeRoadmap(t, "initiatives:\n"+strings.Repeat("", 0)+
		"  - key: INIT-1\n  - key: INIT-2\n  - key: INIT-10\n  - key: INIT-9\n  - key: INIT-3\n")
	tr2 := newTracker(t, path2, c)
	pm2 := newTracker(t, path2, nil)
	p1, err := tr2.List(ctx, adapters.ListRequest{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"INIT-1", "INIT-2"}, keys(p1.Items)); diff != "" || p1.NextPageToken == "" || p1.Cursor != "" {
		t.Fatalf("page 1 (-want +got):\n%s token %q cursor %q", diff, p1.NextPageToken, p1.Cursor)
	}
	if _, err := pm2.Update(ctx, adapters.Ref{ID: "INIT-1"}, adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: adapters.Item{Title: "changed mid-listing"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pm2.Create(ctx, adapters.Item{Title: "new mid-listing"}, adapters.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var rest []string
	token, cursor := p1.NextPageToken, ""
	for token != "" {
		p, err := tr2.List(ctx, adapters.ListRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, keys(p.Items)...)
		token, cursor = p.NextPageToken, p.Cursor
	}
	if diff := cmp.Diff([]string{"INIT-3", "INIT-9", "INIT-10", "INIT-11"}, rest); diff != "" {
		t.Errorf("later pages, in key order (-want +got):\n%s", diff)
	}
	next, err := tr2.List(ctx, adapters.ListRequest{Cursor: cursor})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"INIT-1"}, keys(next.Items)); diff != "" {
		t.Errorf("since the paged cursor (-want +got):\n%s", diff)
	}
	if _, err := tr2.List(ctx, adapters.ListRequest{PageSize: 2, PageToken: p1.NextPageToken, Scope: "label:x"}); !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("a page token with another scope: %v, want ErrInvalid", err)
	}
	// Deletions count against the page size too.
	for _, k := range []string{"INIT-2", "INIT-3", "INIT-9"} {
		if err := pm2.Delete(ctx, adapters.Ref{ID: k}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pm2.Update(ctx, adapters.Ref{ID: "INIT-10"}, adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: adapters.Item{Title: "t"}}); err != nil {
		t.Fatal(err)
	}
	var pages [][]string
	token, cursor = "", ""
	for {
		p, err := tr2.List(ctx, adapters.ListRequest{PageSize: 2, Cursor: next.Cursor, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		var page []string
		for _, it := range p.Items {
			page = append(page, "item "+it.Ref.Key)
		}
		for _, r := range p.Deleted {
			page = append(page, "deleted "+r.Key)
		}
		pages = append(pages, page)
		if p.NextPageToken == "" {
			cursor = p.Cursor
			break
		}
		token = p.NextPageToken
	}
	want := [][]string{{"item INIT-10", "deleted INIT-2"}, {"deleted INIT-3", "deleted INIT-9"}}
	if diff := cmp.Diff(want, pages); diff != "" {
		t.Errorf("pages of changes and deletions (-want +got):\n%s", diff)
	}
	if p, err := tr2.List(ctx, adapters.ListRequest{Cursor: cursor}); err != nil || len(p.Items)+len(p.Deleted) > 0 {
		t.Errorf("since the last cursor: %v %v %v, want nothing", p.Items, p.Deleted, err)
	}
}

func TestUpdatedAt(t *testing.T) {
	path := writeRoadmap(t, readRich(t))
	old := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	c := newClock()
	tr := newTracker(t, path, c)
	ctx := t.Context()
	get := func(key string) adapters.Item {
		t.Helper()
		it, err := tr.Get(ctx, adapters.Ref{ID: key})
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	if got := get("INIT-1").UpdatedAt; !got.Equal(old) {
		t.Errorf("first sight: UpdatedAt %v, want the file's mtime %v", got, old)
	}
	c.Advance(time.Hour)
	if got := get("INIT-1").UpdatedAt; !got.Equal(old) {
		t.Errorf("unchanged: UpdatedAt %v, want it to stay %v", got, old)
	}
	pm := newTracker(t, path, nil)
	if _, err := pm.Update(ctx, adapters.Ref{ID: "INIT-2"}, adapters.Patch{Fields: []string{adapters.FieldPriority}, Item: adapters.Item{Priority: "low"}}); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	if got, want := get("INIT-2").UpdatedAt, c.Now(); !got.Equal(want) {
		t.Errorf("edited by someone else: UpdatedAt %v, want when it was first seen, %v", got, want)
	}
	if got := get("INIT-1").UpdatedAt; !got.Equal(old) {
		t.Errorf("another initiative's edit moved INIT-1's UpdatedAt to %v", got)
	}
	c.Advance(time.Minute)
	it, err := tr.Update(ctx, adapters.Ref{ID: "INIT-1"}, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "done"}})
	if err != nil {
		t.Fatal(err)
	}
	if !it.UpdatedAt.Equal(c.Now()) || !get("INIT-1").UpdatedAt.Equal(c.Now()) {
		t.Errorf("own write: UpdatedAt %v, want the clock %v", it.UpdatedAt, c.Now())
	}
}

// TestConcurrentWrites: calls on one Tracker are serialised, so parallel
// creates all land with distinct keys. A second Tracker on the same file
// (another process) races only through the file: its write is redone
// against the new content or refused with ErrConflict, and keys stay
// unique.
func TestConcurrentWrites(t *testing.T) {
	path := writeRoadmap(t, readRich(t))
	a, b := newTracker(t, path, nil), newTracker(t, path, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	landed := 0
	for i := range 12 {
		wg.Go(func() {
			tr := a
			if i >= 8 {
				tr = b
			}
			_, err := tr.Create(t.Context(), adapters.Item{Title: "parallel"}, adapters.CreateOptions{IdempotencyKey: fmt.Sprintf("p%d", i)})
			switch {
			case err == nil:
				mu.Lock()
				landed++
				mu.Unlock()
			case i < 8 || !errors.Is(err, adapters.ErrConflict):
				t.Errorf("Create %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	p, err := a.List(t.Context(), adapters.ListRequest{Scope: "title:parallel"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) < 8 {
		t.Errorf("%d creates are in the file, want at least the 8 of one Tracker", len(p.Items))
	}
	if len(p.Items) > landed {
		t.Errorf("%d creates in the file but only %d reported success", len(p.Items), landed)
	}
	keys := map[string]bool{}
	for _, it := range p.Items {
		if keys[it.Ref.Key] {
			t.Errorf("key %s given out twice", it.Ref.Key)
		}
		keys[it.Ref.Key] = true
	}
}

func TestAtomicWriteKeepsModeAndLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.yaml")
	if err := os.WriteFile(real, []byte(readRich(t)), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(real, 0o640); err != nil { // umask-proof
		t.Fatal(err)
	}
	link := filepath.Join(dir, "roadmap.yaml")
	if err := os.Symlink("real.yaml", link); err != nil {
		t.Fatal(err)
	}
	tr := newTracker(t, link, nil)
	ctx := t.Context()
	if _, err := tr.Update(ctx, adapters.Ref{ID: "INIT-1"}, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "done"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Create(ctx, adapters.Item{Title: "x"}, adapters.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A refused write leaves nothing behind either.
	if _, err := tr.Update(ctx, adapters.Ref{ID: "INIT-1"}, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: "x"}}); err == nil {
		t.Fatal("want an error")
	}
	info, err := os.Stat(real)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 {
		t.Errorf("mode after writes: %v, want -rw-r-----", info.Mode().Perm())
	}
	if li, err := os.Lstat(link); err != nil || li.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced by a file: %v %v", li.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"real.yaml", "roadmap.yaml"}, names); diff != "" {
		t.Errorf("files in the folder after writes (-want +got):\n%s", diff)
	}
	got, _ := os.ReadFile(real)
	if !strings.Contains(string(got), "status: done ") {
		t.Errorf("the write did not reach the symlink's target")
	}
}

func TestRegistry(t *testing.T) {
	spec, ok := adapters.Default.Lookup("roadmap")
	if !ok {
		t.Fatal("kind roadmap is not registered")
	}
	if spec.Kind != "roadmap" {
		t.Errorf("spec kind %q", spec.Kind)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plan.yaml"), []byte("initiatives:\n  - key: P-1\n    status: idea\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	raw := map[string]any{
		"kind": "roadmap",
		"path": "plan.yaml",
		"statuses": map[string]any{
			"todo":        []any{"idea", "planned"},
			"in_progress": "building, at_risk",
			"done":        []any{"shipped"},
		},
	}
	tr, err := adapters.Default.Open(t.Context(), "plan", "roadmap", raw, nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []adapters.StatusDef{
		{Name: "idea", Category: adapters.CategoryTodo}, {Name: "planned", Category: adapters.CategoryTodo},
		{Name: "building", Category: adapters.CategoryInProgress}, {Name: "at_risk", Category: adapters.CategoryInProgress},
		{Name: "shipped", Category: adapters.CategoryDone},
	}
	if diff := cmp.Diff(want, tr.Capabilities().Statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	it, err := tr.Get(t.Context(), adapters.Ref{ID: "P-1"})
	if err != nil || it.StatusCategory != adapters.CategoryTodo {
		t.Errorf("Get through the registry: %+v, %v", it, err)
	}

	if errs := adapters.Default.Check("roadmap", "trackers.plan", map[string]any{}); len(errs) != 1 || errs[0].Path != "trackers.plan.path" {
		t.Errorf("Check without a path: %v, want trackers.plan.path required", errs)
	}
	raw["statuses"] = map[string]any{"doing": []any{"x"}}
	if _, err := adapters.Default.Open(t.Context(), "plan", "roadmap", raw, nil, dir); err == nil || !strings.Contains(err.Error(), "trackers.plan.statuses.doing") {
		t.Errorf("Open with a bad category: %v, want an error naming trackers.plan.statuses.doing", err)
	}
	raw["statuses"] = map[string]any{"todo": []any{"a"}, "done": []any{"a"}}
	if _, err := adapters.Default.Open(t.Context(), "plan", "roadmap", raw, nil, dir); err == nil || !strings.Contains(err.Error(), `"a" is listed twice`) {
		t.Errorf("Open with a repeated status: %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	for name, opts := range map[string]roadmap.Options{
		"no path":      {},
		"no statuses":  {Path: "x.yaml", Statuses: []adapters.StatusDef{}},
		"bad category": {Path: "x.yaml", Statuses: []adapters.StatusDef{{Name: "a", Category: "later"}}},
		"empty status": {Path: "x.yaml", Statuses: []adapters.StatusDef{{Name: "", Category: adapters.CategoryTodo}}},
		"repeat":       {Path: "x.yaml", Statuses: []adapters.StatusDef{{Name: "a", Category: adapters.CategoryTodo}, {Name: "a", Category: adapters.CategoryDone}}},
	} {
		if _, err := roadmap.New("plan", opts); err == nil {
			t.Errorf("%s: New accepted %+v", name, opts)
		}
	}
}

func TestContextCancelledWritesNothing(t *testing.T) {
	src := readRich(t)
	path := writeRoadmap(t, src)
	tr := newTracker(t, path, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := tr.Delete(ctx, adapters.Ref{ID: "INIT-1"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with a cancelled context: %v", err)
	}
	if err := tr.Check(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Check with a cancelled context: %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != src {
		t.Errorf("file changed")
	}
}
