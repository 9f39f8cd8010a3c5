// Package adaptertest is the conformance suite every tracker adapter
// passes, in the spirit of rclone's fstests and testing/fstest: an adapter's
// test builds a Harness (a fresh tracker per test, plus optional hooks into
// its fake) and calls Run, which checks the adapters.Tracker contract and
// every optional capability the tracker offers: Commenter, Deleter,
// Archiver, BulkCreator, WebhookDecoder and Checker.
//
// A subtest whose capability the tracker lacks (a field not in
// Capabilities().Fields, no Commenter, no rate-limit hook, no
// Harness.Delivery for a WebhookDecoder) skips with the reason; it never
// passes vacuously. The suite's own tests run it against
// deliberately broken trackers to show each subtest can fail.
package adaptertest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
)

// Harness is what an adapter's test gives the suite.
type Harness struct {
	// New returns a fresh, empty tracker. Scope (below) lists everything
	// it holds. It is called once per (sub)test; register cleanups on t.
	New func(t *testing.T) adapters.Tracker
	// Scope is the ListRequest.Scope that covers every item the suite
	// creates.
	Scope string
	// Advance moves the tracker's clock forward (nil: trackers use real
	// time; the suite then must not rely on clock ordering beyond what
	// List's contract promises).
	Advance func(d time.Duration)
	// ExpireCursor makes every listing cursor the tracker has issued so
	// far invalid, as Asana's sync tokens expire after about a day (nil:
	// the tracker's cursors never expire; that subtest skips).
	ExpireCursor func()
	// Handshake returns a webhook handshake request's header as the
	// tracker's sender opens a webhook with, a delivery body, and how the
	// sender signs a body after that handshake (nil: skip the handshake
	// subtest; trackers that are not adapters.HandshakeResponder skip it
	// too).
	Handshake func() (req http.Header, body []byte, sign func(body []byte) http.Header)
	// InjectRateLimit makes the tracker's next API call fail with a rate
	// limit (nil: skip that subtest).
	InjectRateLimit func(retryAfter time.Duration)
	// Edit simulates an outside (human) edit of an item, bumping its
	// version and updated-at (nil: the suite uses Update for that). The
	// suite calls it on the tracker New returned last.
	Edit func(t *testing.T, ref adapters.Ref, mutate func(*adapters.Item))
	// Sample makes the i-th item to create (nil: built from Capabilities:
	// title, body, first status, labels, and a value for every other
	// supported field). Fields the tracker restricts (priority, assignees)
	// should vary with i: the update tests look through Sample(1..10) for
	// a value that differs from Sample(0)'s.
	Sample func(i int) adapters.Item
	// Delivery returns a webhook delivery, signed as the service signs
	// it under the secret the tracker New made last was given, that
	// announces a change to the item ref (nil: the webhook subtest skips).
	// Each call is a new delivery, with its own delivery id.
	Delivery func(t *testing.T, ref adapters.Ref) (http.Header, []byte)
	// Break makes the service refuse the tracker New made last from now
	// on, as revoked credentials or an outage would (nil: the check
	// subtest checks only a healthy tracker and a cancelled context).
	Break func(t *testing.T)
}

// Run checks the tracker h.New makes against the adapters contract.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("adaptertest: Harness.New is required")
	}
	s := &suite{h: h}
	t.Run("create-then-get", s.testCreateThenGet)
	t.Run("update-field", s.testUpdateField)
	t.Run("unsupported-field", s.testUnsupportedField)
	t.Run("status-transitions", s.testStatusTransitions)
	t.Run("list", func(t *testing.T) {
		t.Run("everything", s.testListEverything)
		t.Run("no-changes", s.testListNoChanges)
		t.Run("since-cursor", s.testListSinceCursor)
		t.Run("pagination", s.testListPagination)
		t.Run("expired-cursor", s.testListExpiredCursor)
	})
	t.Run("not-found", s.testNotFound)
	t.Run("stale-version", s.testStaleVersion)
	t.Run("context-cancelled", s.testContextCancelled)
	t.Run("idempotent-create", s.testIdempotentCreate)
	t.Run("comments", s.testComments)
	t.Run("delete", s.testDelete)
	t.Run("archive", s.testArchive)
	t.Run("bulk-create", s.testBulkCreate)
	t.Run("rate-limit", s.testRateLimit)
	t.Run("webhook-handshake", s.testHandshake)
	t.Run("webhook", s.testWebhook)
	t.Run("check", s.testCheck)
}

// madeUpID is an ID no fresh tracker has given out.
const madeUpID = "987654321"

type suite struct {
	h Harness
}

func (s *suite) newTracker(t *testing.T) adapters.Tracker {
	t.Helper()
	tr := s.h.New(t)
	if tr == nil {
		t.Fatal("Harness.New returned nil")
	}
	return tr
}

func (s *suite) advance(d time.Duration) {
	if s.h.Advance != nil {
		s.h.Advance(d)
	}
}

// sample is the i-th item to create.
func (s *suite) sample(tr adapters.Tracker, i int) adapters.Item {
	if s.h.Sample != nil {
		return s.h.Sample(i)
	}
	return DefaultSample(tr.Capabilities(), i)
}

// DefaultSample is the i-th item the suite creates when Harness.Sample is
// nil: a value in every field caps supports (except parent), varying with i.
func DefaultSample(caps adapters.Capabilities, i int) adapters.Item {
	it := adapters.Item{
		Kind:  preferredKind(caps.Kinds),
		Title: fmt.Sprintf("adaptertest item %d", i),
	}
	for _, f := range caps.Fields {
		switch f {
		case adapters.FieldBody:
			it.Body = fmt.Sprintf("Body of item %d.", i)
		case adapters.FieldStatus:
			if len(caps.Statuses) > 0 {
				it.Status = caps.Statuses[0].Name
			}
		case adapters.FieldAssignees:
			it.Assignees = []string{fmt.Sprintf("user-%d", i%3+1)}
		case adapters.FieldLabels:
			it.Labels = []string{"adaptertest", fmt.Sprintf("sample-%d", i)}
		case adapters.FieldPriority:
			it.Priority = []string{"High", "Medium", "Low"}[i%3]
		case adapters.FieldDue:
			it.Due = fmt.Sprintf("2030-01-%02d", i%28+1)
		default:
			if name, ok := strings.CutPrefix(f, adapters.CustomPrefix); ok {
				if it.Fields == nil {
					it.Fields = map[string]string{}
				}
				it.Fields[name] = fmt.Sprintf("value %d", i)
			}
		}
	}
	return it
}

func preferredKind(kinds []adapters.Kind) adapters.Kind {
	if len(kinds) == 0 || slices.Contains(kinds, adapters.KindIssue) {
		return adapters.KindIssue
	}
	return kinds[0]
}

// parentKind is the kind one level up from child in the roadmap
// hierarchy, when the tracker makes it (Jira wants an epic above an issue).
func parentKind(child adapters.Kind, kinds []adapters.Kind) adapters.Kind {
	up := map[adapters.Kind]adapters.Kind{
		adapters.KindTask:  adapters.KindIssue,
		adapters.KindIssue: adapters.KindEpic,
		adapters.KindEpic:  adapters.KindInitiative,
	}[child]
	if up != "" && slices.Contains(kinds, up) {
		return up
	}
	return child
}

// create makes it and fails the test on an error.
func (s *suite) create(t *testing.T, tr adapters.Tracker, it adapters.Item, key string) adapters.Item {
	t.Helper()
	res, err := tr.Create(t.Context(), it, adapters.CreateOptions{IdempotencyKey: key})
	if err != nil {
		t.Fatalf("Create(%q): %v", it.Title, err)
	}
	return res.Item
}

// createParent makes an item to serve as a parent of items of kind child.
func (s *suite) createParent(t *testing.T, tr adapters.Tracker, child adapters.Kind, i int) adapters.Item {
	t.Helper()
	p := s.sample(tr, 100+i)
	p.Kind = parentKind(child, tr.Capabilities().Kinds)
	p.Parent = nil
	return s.create(t, tr, p, "")
}

func (s *suite) get(t *testing.T, tr adapters.Tracker, ref adapters.Ref) adapters.Item {
	t.Helper()
	it, err := tr.Get(t.Context(), ref)
	if err != nil {
		t.Fatalf("Get(%s): %v", ref, err)
	}
	return it
}

// edit changes an item as a person would: through Harness.Edit, or else
// through Update of the fields mutate changed.
func (s *suite) edit(t *testing.T, tr adapters.Tracker, ref adapters.Ref, mutate func(*adapters.Item)) {
	t.Helper()
	if s.h.Edit != nil {
		s.h.Edit(t, ref, mutate)
		return
	}
	cur := s.get(t, tr, ref)
	next := cur.Clone()
	mutate(&next)
	var fields []string
	for _, f := range tr.Capabilities().Fields {
		if adapters.FieldValue(cur, f) != adapters.FieldValue(next, f) {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		t.Fatalf("edit of %s changed no field the tracker supports", ref)
	}
	if _, err := tr.Update(t.Context(), ref, adapters.Patch{Fields: fields, Item: next}); err != nil {
		t.Fatalf("Update(%s) standing in for an outside edit: %v", ref, err)
	}
}

// canon is the form two values of field f are compared in: Markdown
// bodies may gain or lose surrounding blank lines in translation.
func canon(f, v string) string {
	if f == adapters.FieldBody {
		return strings.TrimSpace(v)
	}
	return v
}

// fieldDiffs lists the fields where got differs from want.
func fieldDiffs(fields []string, want, got adapters.Item) []string {
	var out []string
	for _, f := range fields {
		w, g := canon(f, adapters.FieldValue(want, f)), canon(f, adapters.FieldValue(got, f))
		if f == adapters.FieldType && w == "" {
			continue // no type asked for: the tracker's default for the kind
		}
		if w != g {
			out = append(out, fmt.Sprintf("%s: want %q, got %q", f, w, g))
		}
	}
	return out
}

// checkStored checks what every item a tracker returns must satisfy.
func checkStored(t *testing.T, tr adapters.Tracker, it adapters.Item, from string) {
	t.Helper()
	caps := tr.Capabilities()
	if it.Ref.Tracker != tr.Name() {
		t.Errorf("%s: Ref.Tracker = %q, want the tracker's Name() %q", from, it.Ref.Tracker, tr.Name())
	}
	if it.Ref.ID == "" {
		t.Errorf("%s: Ref.ID is empty", from)
	}
	if it.Version == "" {
		t.Errorf("%s: %s: Version is empty", from, it.Ref)
	}
	if it.UpdatedAt.IsZero() {
		t.Errorf("%s: %s: UpdatedAt is zero", from, it.Ref)
	}
	if len(caps.Statuses) > 0 {
		cat, ok := caps.Category(it.Status)
		switch {
		case !ok:
			t.Errorf("%s: %s: status %q is not among Capabilities().Statuses", from, it.Ref, it.Status)
		case cat != it.StatusCategory:
			t.Errorf("%s: %s: status %q has category %q, Capabilities() says %q", from, it.Ref, it.Status, it.StatusCategory, cat)
		}
	} else if it.StatusCategory != "" && !it.StatusCategory.Valid() {
		t.Errorf("%s: %s: status category %q is not todo, in_progress or done", from, it.Ref, it.StatusCategory)
	}
}

// listing is everything a full listing (all pages) returned.
type listing struct {
	items     []adapters.Item
	deleted   []adapters.Ref
	pageSizes []int // items + deletions per page
	cursor    string
}

// listAll reads every page of a listing since cursor.
func listAll(t *testing.T, tr adapters.Tracker, scope, cursor string, pageSize int) listing {
	t.Helper()
	var l listing
	token := ""
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == 1000 {
			t.Fatalf("List did not finish after 1000 pages")
		}
		p, err := tr.List(t.Context(), adapters.ListRequest{Scope: scope, Cursor: cursor, PageToken: token, PageSize: pageSize})
		if err != nil {
			t.Fatalf("List(cursor %q, page %d): %v", cursor, page, err)
		}
		l.items = append(l.items, p.Items...)
		l.deleted = append(l.deleted, p.Deleted...)
		l.pageSizes = append(l.pageSizes, len(p.Items)+len(p.Deleted))
		if p.NextPageToken == "" {
			if p.Cursor == "" {
				t.Fatalf("List(cursor %q): the last page has no Cursor", cursor)
			}
			l.cursor = p.Cursor
			return l
		}
		if seen[p.NextPageToken] {
			t.Fatalf("List(cursor %q): page token %q came back twice", cursor, p.NextPageToken)
		}
		seen[p.NextPageToken] = true
		token = p.NextPageToken
	}
}

// idCounts counts how often each ID appears.
func idCounts(items []adapters.Item) map[string]int {
	m := map[string]int{}
	for _, it := range items {
		m[it.Ref.ID]++
	}
	return m
}

// wantIDsOnce fails unless items hold exactly the IDs of want, once each.
func wantIDsOnce(t *testing.T, what string, items []adapters.Item, want ...adapters.Item) {
	t.Helper()
	wantCounts := map[string]int{}
	for _, w := range want {
		wantCounts[w.Ref.ID] = 1
	}
	if diff := cmp.Diff(wantCounts, idCounts(items)); diff != "" {
		t.Errorf("%s: item IDs listed (-want +got, value = times listed):\n%s", what, diff)
	}
}

func (s *suite) testCreateThenGet(t *testing.T) {
	tr := s.newTracker(t)
	caps := tr.Capabilities()
	want := s.sample(tr, 0)
	if caps.HasField(adapters.FieldParent) {
		p := s.createParent(t, tr, want.Kind, 0)
		want.Parent = &p.Ref
	}
	res, err := tr.Create(t.Context(), want, adapters.CreateOptions{})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if res.Existed {
		t.Errorf("Create without an idempotency key reported Existed")
	}
	checkStored(t, tr, res.Item, "Create")
	got := s.get(t, tr, res.Item.Ref)
	checkStored(t, tr, got, "Get")
	if got.Ref.ID != res.Item.Ref.ID {
		t.Errorf("Get(%s) returned ID %q", res.Item.Ref, got.Ref.ID)
	}
	if want.Kind != "" && got.Kind != want.Kind {
		t.Errorf("kind: want %q, got %q", want.Kind, got.Kind)
	}
	for _, d := range fieldDiffs(caps.Fields, want, got) {
		t.Errorf("Get after Create: %s", d)
	}
	for _, d := range fieldDiffs(caps.Fields, got, res.Item) {
		t.Errorf("Create's result differs from Get: %s", d)
	}
	if got.Version != res.Item.Version {
		t.Errorf("Version: Create returned %q, Get %q", res.Item.Version, got.Version)
	}
	if got.Ref.Key != "" {
		byKey, err := tr.Get(t.Context(), adapters.Ref{Tracker: got.Ref.Tracker, Project: got.Ref.Project, Key: got.Ref.Key})
		if err != nil {
			t.Errorf("Get by key %q alone: %v", got.Ref.Key, err)
		} else if byKey.Ref.ID != got.Ref.ID {
			t.Errorf("Get by key %q returned ID %q, want %q", got.Ref.Key, byKey.Ref.ID, got.Ref.ID)
		}
	}
}

// alternative returns a value for field f that differs from before's, or
// false when the suite cannot make one.
func (s *suite) alternative(t *testing.T, tr adapters.Tracker, f string, before adapters.Item) (string, bool) {
	t.Helper()
	cur := canon(f, adapters.FieldValue(before, f))
	switch f {
	case adapters.FieldStatus:
		for _, st := range tr.Capabilities().Statuses {
			if st.Name != before.Status {
				return st.Name, true
			}
		}
		return "", false
	case adapters.FieldParent:
		p := s.createParent(t, tr, before.Kind, 1)
		return adapters.FieldValue(adapters.Item{Parent: &p.Ref}, f), true
	}
	for i := 1; i <= 10; i++ {
		if v := adapters.FieldValue(s.sample(tr, i), f); v != "" && canon(f, v) != cur {
			return v, true
		}
	}
	var v string
	switch f {
	case adapters.FieldTitle:
		v = "adaptertest updated title"
	case adapters.FieldBody:
		v = "Updated body."
	case adapters.FieldLabels:
		v = adapters.EncodeList([]string{"adaptertest-updated"})
	case adapters.FieldAssignees:
		v = adapters.EncodeList([]string{"adaptertest-user"})
	case adapters.FieldDue:
		v = "2031-06-15"
	default:
		if strings.HasPrefix(f, adapters.CustomPrefix) {
			v = "adaptertest updated value"
		}
	}
	return v, v != "" && v != cur
}

func (s *suite) testUpdateField(t *testing.T) {
	probe := s.newTracker(t)
	fields := probe.Capabilities().Fields
	if len(fields) == 0 {
		t.Skip("Capabilities().Fields is empty")
	}
	for _, f := range fields {
		t.Run(f, func(t *testing.T) {
			tr := s.newTracker(t)
			caps := tr.Capabilities()
			base := s.sample(tr, 0)
			if caps.HasField(adapters.FieldParent) {
				p := s.createParent(t, tr, base.Kind, 0)
				base.Parent = &p.Ref
			}
			created := s.create(t, tr, base, "")
			before := s.get(t, tr, created.Ref)
			val, ok := s.alternative(t, tr, f, before)
			if !ok {
				t.Skipf("no value for %s differs from %q: make Harness.Sample vary it", f, adapters.FieldValue(before, f))
			}
			// The patch's other fields deliberately hold other values, so a
			// tracker that writes fields it was not asked to is caught.
			patch := s.sample(tr, 5)
			if err := adapters.SetFieldValue(&patch, f, val); err != nil {
				t.Fatalf("setting %s to %q in the patch: %v", f, val, err)
			}
			s.advance(time.Minute)
			updated, err := tr.Update(t.Context(), before.Ref, adapters.Patch{Fields: []string{f}, Item: patch})
			if err != nil {
				t.Fatalf("Update(%s, %s=%q): %v", before.Ref, f, val, err)
			}
			checkStored(t, tr, updated, "Update")
			got := s.get(t, tr, before.Ref)
			checkStored(t, tr, got, "Get after Update")
			if g := canon(f, adapters.FieldValue(got, f)); g != canon(f, val) {
				t.Errorf("%s after Update: want %q, got %q", f, canon(f, val), g)
			}
			others := slices.DeleteFunc(slices.Clone(caps.Fields), func(g string) bool { return g == f })
			for _, d := range fieldDiffs(others, before, got) {
				t.Errorf("a field Update was not asked to write changed: %s", d)
			}
			for _, d := range fieldDiffs(caps.Fields, got, updated) {
				t.Errorf("Update's result differs from Get: %s", d)
			}
			if got.Version == before.Version {
				t.Errorf("Version stayed %q though %s changed", got.Version, f)
			}
			if got.UpdatedAt.Before(before.UpdatedAt) {
				t.Errorf("UpdatedAt went back from %v to %v", before.UpdatedAt, got.UpdatedAt)
			}
		})
	}
}

func (s *suite) testUnsupportedField(t *testing.T) {
	tr := s.newTracker(t)
	caps := tr.Capabilities()
	f := adapters.CustomPrefix + "adaptertest no such field"
	for _, sf := range adapters.StandardFields {
		if !caps.HasField(sf) {
			f = sf
			break
		}
	}
	if caps.HasField(f) {
		t.Skipf("the tracker claims to support every field, even %q", f)
	}
	before := s.create(t, tr, s.sample(tr, 0), "")
	patch := s.sample(tr, 1)
	_ = adapters.SetFieldValue(&patch, f, "2031-01-01")
	if f == adapters.FieldParent {
		patch.Parent = &before.Ref
	}
	_, err := tr.Update(t.Context(), before.Ref, adapters.Patch{Fields: []string{f}, Item: patch})
	if !errors.Is(err, adapters.ErrUnsupported) {
		t.Errorf("Update of unsupported field %q: got error %v, want one wrapping ErrUnsupported", f, err)
	}
	if got := s.get(t, tr, before.Ref); got.Version != before.Version {
		t.Errorf("Version moved from %q to %q though the update was refused", before.Version, got.Version)
	}
}

func (s *suite) testStatusTransitions(t *testing.T) {
	tr := s.newTracker(t)
	caps := tr.Capabilities()
	if !caps.HasField(adapters.FieldStatus) {
		t.Skip("status is not in Capabilities().Fields")
	}
	if len(caps.Statuses) < 2 {
		t.Skipf("the workflow has %d statuses; moving needs two", len(caps.Statuses))
	}
	it := s.create(t, tr, s.sample(tr, 0), "")
	// Every status in workflow order, then back to the first.
	route := append(slices.Clone(caps.Statuses[1:]), caps.Statuses[0])
	if it.Status != caps.Statuses[0].Name {
		route = append([]adapters.StatusDef{caps.Statuses[0]}, route...)
	}
	version := it.Version
	for _, st := range route {
		s.advance(time.Minute)
		patch := adapters.Item{Status: st.Name}
		updated, err := tr.Update(t.Context(), it.Ref, adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: patch})
		if err != nil {
			t.Fatalf("moving %s to %q: %v", it.Ref, st.Name, err)
		}
		for from, got := range map[string]adapters.Item{"Update": updated, "Get": s.get(t, tr, it.Ref)} {
			if got.Status != st.Name || got.StatusCategory != st.Category {
				t.Errorf("%s after moving to %q: status %q, category %q; want category %q",
					from, st.Name, got.Status, got.StatusCategory, st.Category)
			}
		}
		if updated.Version == version {
			t.Errorf("moving to %q left Version at %q", st.Name, version)
		}
		version = updated.Version
	}
}

func (s *suite) testListEverything(t *testing.T) {
	tr := s.newTracker(t)
	var created []adapters.Item
	for i := range 3 {
		created = append(created, s.create(t, tr, s.sample(tr, i), ""))
	}
	s.advance(time.Minute)
	l := listAll(t, tr, s.h.Scope, "", 0)
	wantIDsOnce(t, "listing with no cursor", l.items, created...)
	if len(l.deleted) > 0 {
		t.Errorf("listing with no cursor reported deletions %v though nothing was deleted", l.deleted)
	}
	caps := tr.Capabilities()
	for _, it := range l.items {
		checkStored(t, tr, it, "List")
		got := s.get(t, tr, it.Ref)
		for _, d := range fieldDiffs(caps.Fields, got, it) {
			t.Errorf("%s as listed differs from Get: %s", it.Ref, d)
		}
	}
}

func (s *suite) testListNoChanges(t *testing.T) {
	tr := s.newTracker(t)
	for i := range 3 {
		s.create(t, tr, s.sample(tr, i), "")
	}
	s.advance(time.Minute)
	first := listAll(t, tr, s.h.Scope, "", 0)
	if len(first.items) != 3 {
		t.Fatalf("first listing returned %d items, want the 3 created", len(first.items))
	}
	s.advance(time.Minute)
	again := listAll(t, tr, s.h.Scope, first.cursor, 0)
	if len(again.items) > 0 || len(again.deleted) > 0 {
		t.Errorf("listing since cursor %q with no changes returned %d items %v and deletions %v, want nothing",
			first.cursor, len(again.items), idCounts(again.items), again.deleted)
	}
}

func (s *suite) testListSinceCursor(t *testing.T) {
	tr := s.newTracker(t)
	if s.h.Edit == nil && !tr.Capabilities().HasField(adapters.FieldTitle) {
		t.Skip("no Harness.Edit, and title is not a field Update could stand in with")
	}
	var created []adapters.Item
	for i := range 5 {
		created = append(created, s.create(t, tr, s.sample(tr, i), ""))
	}
	s.advance(time.Minute)
	first := listAll(t, tr, s.h.Scope, "", 0)
	wantIDsOnce(t, "first listing", first.items, created...)

	s.advance(time.Minute)
	edited := []adapters.Item{created[1], created[3]}
	for _, it := range edited {
		s.edit(t, tr, it.Ref, func(x *adapters.Item) { x.Title = "edited by a person: " + it.Title })
	}
	s.advance(time.Minute)
	second := listAll(t, tr, s.h.Scope, first.cursor, 0)
	wantIDsOnce(t, "listing since the first cursor", second.items, edited...)
	for _, it := range second.items {
		if !strings.HasPrefix(it.Title, "edited by a person: ") {
			t.Errorf("%s listed with title %q, not its edited one", it.Ref, it.Title)
		}
	}

	s.advance(time.Minute)
	third := listAll(t, tr, s.h.Scope, second.cursor, 0)
	if len(third.items) > 0 {
		t.Errorf("listing since the second cursor returned %v, want nothing: changes must not come back twice", idCounts(third.items))
	}
}

func (s *suite) testListPagination(t *testing.T) {
	tr := s.newTracker(t)
	const n, size = 7, 2
	var created []adapters.Item
	for i := range n {
		created = append(created, s.create(t, tr, s.sample(tr, i), ""))
	}
	s.advance(time.Minute)
	l := listAll(t, tr, s.h.Scope, "", size)
	wantIDsOnce(t, fmt.Sprintf("listing %d items %d a page", n, size), l.items, created...)
	for i, got := range l.pageSizes {
		if got > size {
			t.Errorf("page %d holds %d entries, more than PageSize %d", i, got, size)
		}
	}
	if len(l.pageSizes) < (n+size-1)/size {
		t.Errorf("%d items came in %d pages of at most %d", n, len(l.pageSizes), size)
	}
	s.advance(time.Minute)
	if again := listAll(t, tr, s.h.Scope, l.cursor, size); len(again.items) > 0 {
		t.Errorf("listing since the paged listing's cursor returned %v, want nothing", idCounts(again.items))
	}
}

// testListExpiredCursor: a listing since an expired cursor fails with
// ErrCursorExpired (nothing half-listed), and a full listing then gives
// everything and a cursor that works.
func (s *suite) testListExpiredCursor(t *testing.T) {
	if s.h.ExpireCursor == nil {
		t.Skip("no Harness.ExpireCursor: the tracker's cursors do not expire")
	}
	tr := s.newTracker(t)
	a := s.create(t, tr, s.sample(tr, 0), "")
	b := s.create(t, tr, s.sample(tr, 1), "")
	s.advance(time.Minute)
	first := listAll(t, tr, s.h.Scope, "", 0)
	s.h.ExpireCursor()
	s.advance(time.Minute)
	s.edit(t, tr, a.Ref, func(it *adapters.Item) { it.Title = "edited after the cursor expired" })
	s.advance(time.Minute)
	p, err := tr.List(t.Context(), adapters.ListRequest{Scope: s.h.Scope, Cursor: first.cursor})
	if !errors.Is(err, adapters.ErrCursorExpired) {
		t.Fatalf("List since an expired cursor: got %d items, error %v; want an error wrapping ErrCursorExpired", len(p.Items), err)
	}
	if adapters.IsPermanent(err) {
		t.Errorf("ErrCursorExpired is marked permanent: %v", err)
	}
	full := listAll(t, tr, s.h.Scope, "", 0)
	wantIDsOnce(t, "full listing after the cursor expired", full.items, a, b)
	for _, it := range full.items {
		if it.Ref.ID == a.Ref.ID && it.Title != "edited after the cursor expired" {
			t.Errorf("the full listing shows %s with title %q, not its edit", it.Ref, it.Title)
		}
	}
	s.advance(time.Minute)
	if again := listAll(t, tr, s.h.Scope, full.cursor, 0); len(again.items) > 0 {
		t.Errorf("listing since the new full listing's cursor returned %v, want nothing", idCounts(again.items))
	}
}

func (s *suite) testNotFound(t *testing.T) {
	tr := s.newTracker(t)
	existing := s.create(t, tr, s.sample(tr, 0), "")
	ref := adapters.Ref{Tracker: tr.Name(), Project: existing.Ref.Project, ID: madeUpID}
	if _, err := tr.Get(t.Context(), ref); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("Get(%s): got error %v, want one wrapping ErrNotFound", ref, err)
	}
	patch := adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: adapters.Item{Title: "nobody"}}
	if _, err := tr.Update(t.Context(), ref, patch); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("Update(%s): got error %v, want one wrapping ErrNotFound", ref, err)
	}
}

// anyField picks a field to write in tests about writes in general.
func anyField(caps adapters.Capabilities) (string, bool) {
	if caps.HasField(adapters.FieldTitle) {
		return adapters.FieldTitle, true
	}
	for _, f := range caps.Fields {
		if f != adapters.FieldStatus && f != adapters.FieldParent {
			return f, true
		}
	}
	return "", false
}

func (s *suite) testStaleVersion(t *testing.T) {
	tr := s.newTracker(t)
	f, ok := anyField(tr.Capabilities())
	if !ok {
		t.Skip("no field besides status and parent to write")
	}
	v1 := s.create(t, tr, s.sample(tr, 0), "")
	a := s.sample(tr, 1)
	s.advance(time.Minute)
	v2, err := tr.Update(t.Context(), v1.Ref, adapters.Patch{Fields: []string{f}, Item: a})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if v2.Version == v1.Version {
		t.Fatalf("Version stayed %q after an Update of %s", v2.Version, f)
	}
	b := s.sample(tr, 2)
	s.advance(time.Minute)
	_, err = tr.Update(t.Context(), v1.Ref, adapters.Patch{Fields: []string{f}, Item: b, IfVersion: v1.Version})
	if !errors.Is(err, adapters.ErrConflict) {
		t.Errorf("Update with stale IfVersion %q (item at %q): got error %v, want one wrapping ErrConflict", v1.Version, v2.Version, err)
	}
	got := s.get(t, tr, v1.Ref)
	if got.Version != v2.Version {
		t.Errorf("Version moved from %q to %q though the update was refused", v2.Version, got.Version)
	}
	for _, d := range fieldDiffs([]string{f}, a, got) {
		t.Errorf("the refused update was written: %s", d)
	}
	v3, err := tr.Update(t.Context(), v1.Ref, adapters.Patch{Fields: []string{f}, Item: b, IfVersion: got.Version})
	if err != nil {
		t.Fatalf("Update with the current IfVersion %q: %v", got.Version, err)
	}
	for _, d := range fieldDiffs([]string{f}, b, v3) {
		t.Errorf("Update with the current IfVersion: %s", d)
	}
}

func (s *suite) testContextCancelled(t *testing.T) {
	tr := s.newTracker(t)
	existing := s.create(t, tr, s.sample(tr, 0), "")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := tr.Get(ctx, existing.Ref); return err }},
		{"List", func() error { _, err := tr.List(ctx, adapters.ListRequest{Scope: s.h.Scope}); return err }},
		{"Create", func() error { _, err := tr.Create(ctx, s.sample(tr, 1), adapters.CreateOptions{}); return err }},
		{"Update", func() error {
			p := adapters.Patch{Fields: []string{adapters.FieldTitle}, Item: adapters.Item{Title: "written with a cancelled context"}}
			_, err := tr.Update(ctx, existing.Ref, p)
			return err
		}},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: got error %v, want one wrapping context.Canceled", c.name, err)
		}
	}
	wantIDsOnce(t, "listing after the cancelled Create", listAll(t, tr, s.h.Scope, "", 0).items, existing)
	if got := s.get(t, tr, existing.Ref); got.Version != existing.Version || got.Title != existing.Title {
		t.Errorf("the Update with a cancelled context was written: version %q→%q, title %q→%q",
			existing.Version, got.Version, existing.Title, got.Title)
	}
}

func (s *suite) testIdempotentCreate(t *testing.T) {
	tr := s.newTracker(t)
	const key = "adaptertest-key-1"
	first, err := tr.Create(t.Context(), s.sample(tr, 0), adapters.CreateOptions{IdempotencyKey: key})
	if err != nil {
		t.Fatalf("Create with key %q: %v", key, err)
	}
	if first.Existed {
		t.Errorf("the first Create with key %q reported Existed", key)
	}
	second, err := tr.Create(t.Context(), s.sample(tr, 0), adapters.CreateOptions{IdempotencyKey: key})
	if err != nil {
		t.Fatalf("second Create with key %q: %v", key, err)
	}
	if !second.Existed || second.Item.Ref.ID != first.Item.Ref.ID {
		t.Errorf("second Create with key %q: Existed=%v ID %q, want Existed=true ID %q",
			key, second.Existed, second.Item.Ref.ID, first.Item.Ref.ID)
	}
	checkStored(t, tr, second.Item, "Create that found its item")
	other, err := tr.Create(t.Context(), s.sample(tr, 1), adapters.CreateOptions{IdempotencyKey: "adaptertest-key-2"})
	if err != nil {
		t.Fatalf("Create with another key: %v", err)
	}
	if other.Existed || other.Item.Ref.ID == first.Item.Ref.ID {
		t.Errorf("Create with another key: Existed=%v ID %q, want a new item", other.Existed, other.Item.Ref.ID)
	}
	listed := listAll(t, tr, s.h.Scope, "", 0).items
	wantIDsOnce(t, "listing after three creates with two keys", listed, first.Item, other.Item)

	// The key is what lets the engine recognise its own copy after a
	// crash, so Create, Get and List must all carry it.
	wantKeys := map[string]string{first.Item.Ref.ID: key, other.Item.Ref.ID: "adaptertest-key-2"}
	gotKeys := map[string]map[string]string{"Create": {}, "Get": {}, "List": {}}
	for _, res := range []adapters.CreateResult{first, other} {
		gotKeys["Create"][res.Item.Ref.ID] = res.Item.SyncKey
		gotKeys["Get"][res.Item.Ref.ID] = s.get(t, tr, res.Item.Ref).SyncKey
	}
	for _, it := range listed {
		gotKeys["List"][it.Ref.ID] = it.SyncKey
	}
	for from, got := range gotKeys {
		if diff := cmp.Diff(wantKeys, got); diff != "" {
			t.Errorf("SyncKey by item ID as %s returns it (-want +got):\n%s", from, diff)
		}
	}
}

func (s *suite) testComments(t *testing.T) {
	tr := s.newTracker(t)
	cm, ok := tr.(adapters.Commenter)
	if !ok {
		t.Skip("the tracker is not an adapters.Commenter")
	}
	ctx := t.Context()
	it := s.create(t, tr, s.sample(tr, 0), "")
	if cs, err := cm.Comments(ctx, it.Ref); err != nil || len(cs) != 0 {
		t.Fatalf("Comments of a new item: %d comments, error %v; want none", len(cs), err)
	}
	add := func(body, key string) adapters.Comment {
		t.Helper()
		s.advance(time.Minute)
		c, err := cm.AddComment(ctx, it.Ref, adapters.Comment{Body: body}, key)
		if err != nil {
			t.Fatalf("AddComment(%q): %v", body, err)
		}
		if c.ID == "" || canon(adapters.FieldBody, c.Body) != body || c.CreatedAt.IsZero() {
			t.Errorf("AddComment(%q) returned ID %q, body %q, created %v", body, c.ID, c.Body, c.CreatedAt)
		}
		return c
	}
	list := func(what string, want ...string) []adapters.Comment {
		t.Helper()
		cs, err := cm.Comments(ctx, it.Ref)
		if err != nil {
			t.Fatalf("Comments %s: %v", what, err)
		}
		var got []string
		for _, c := range cs {
			got = append(got, c.ID+": "+canon(adapters.FieldBody, c.Body))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Comments %s, oldest first (-want +got):\n%s", what, diff)
		}
		return cs
	}
	c1 := add("first comment", "")
	c2 := add("second comment", "")
	if c1.ID == c2.ID {
		t.Fatalf("two comments share ID %q", c1.ID)
	}
	list("after two adds", c1.ID+": first comment", c2.ID+": second comment")

	s.advance(time.Minute)
	e, err := cm.EditComment(ctx, it.Ref, adapters.Comment{ID: c1.ID, Body: "first comment, edited"})
	if err != nil {
		t.Fatalf("EditComment(%s): %v", c1.ID, err)
	}
	if e.ID != c1.ID || canon(adapters.FieldBody, e.Body) != "first comment, edited" {
		t.Errorf("EditComment returned ID %q body %q", e.ID, e.Body)
	}
	list("after an edit", c1.ID+": first comment, edited", c2.ID+": second comment")

	k1 := add("third comment", "adaptertest-comment-key")
	k2, err := cm.AddComment(ctx, it.Ref, adapters.Comment{Body: "third comment"}, "adaptertest-comment-key")
	if err != nil {
		t.Fatalf("AddComment again with the same key: %v", err)
	}
	if k2.ID != k1.ID {
		t.Errorf("AddComment again with the same key made comment %q, want the first one, %q", k2.ID, k1.ID)
	}
	list("after adding with one key twice", c1.ID+": first comment, edited", c2.ID+": second comment", k1.ID+": third comment")

	if got := s.get(t, tr, it.Ref); len(got.Comments) != 3 {
		t.Errorf("Get returned %d comments, want 3: a Commenter's Get includes comments", len(got.Comments))
	}
	// The key is read back, so the engine can recognise its own copies.
	keys := map[string]string{}
	cs, _ := cm.Comments(ctx, it.Ref)
	for _, c := range cs {
		keys[c.ID] = c.SyncKey
	}
	if diff := cmp.Diff(map[string]string{c1.ID: "", c2.ID: "", k1.ID: "adaptertest-comment-key"}, keys); diff != "" {
		t.Errorf("comment SyncKeys as Comments reports them (-want +got):\n%s", diff)
	}
	missing := adapters.Ref{Tracker: tr.Name(), Project: it.Ref.Project, ID: madeUpID}
	if _, err := cm.Comments(ctx, missing); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("Comments of a missing item: got error %v, want one wrapping ErrNotFound", err)
	}
}

func (s *suite) testDelete(t *testing.T) {
	tr := s.newTracker(t)
	d, ok := tr.(adapters.Deleter)
	if !ok {
		t.Skip("the tracker is not an adapters.Deleter")
	}
	gone := s.create(t, tr, s.sample(tr, 0), "")
	kept := s.create(t, tr, s.sample(tr, 1), "")
	s.advance(time.Minute)
	before := listAll(t, tr, s.h.Scope, "", 0)
	s.advance(time.Minute)
	if err := d.Delete(t.Context(), gone.Ref); err != nil {
		t.Fatalf("Delete(%s): %v", gone.Ref, err)
	}
	if _, err := tr.Get(t.Context(), gone.Ref); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("Get after Delete: got error %v, want one wrapping ErrNotFound", err)
	}
	s.get(t, tr, kept.Ref)
	if err := d.Delete(t.Context(), gone.Ref); !errors.Is(err, adapters.ErrNotFound) {
		t.Errorf("deleting a deleted item: got error %v, want one wrapping ErrNotFound", err)
	}
	s.advance(time.Minute)
	since := listAll(t, tr, s.h.Scope, before.cursor, 0)
	if idCounts(since.items)[gone.Ref.ID] > 0 {
		t.Errorf("listing since a cursor from before the delete lists %s as live", gone.Ref)
	}
	for _, r := range since.deleted {
		if r.ID != gone.Ref.ID {
			t.Errorf("listing reports %s deleted; only %s was", r, gone.Ref)
		}
	}
	wantIDsOnce(t, "full listing after the delete", listAll(t, tr, s.h.Scope, "", 0).items, kept)
}

func (s *suite) testArchive(t *testing.T) {
	tr := s.newTracker(t)
	a, ok := tr.(adapters.Archiver)
	if !ok {
		t.Skip("the tracker is not an adapters.Archiver")
	}
	it := s.create(t, tr, s.sample(tr, 0), "")
	if it.StatusCategory == adapters.CategoryDone {
		t.Fatalf("the sample item is created done (status %q); archiving it would prove nothing", it.Status)
	}
	for i := range 2 { // archiving an archived item is harmless
		s.advance(time.Minute)
		got, err := a.Archive(t.Context(), it.Ref)
		if err != nil {
			t.Fatalf("Archive #%d: %v", i+1, err)
		}
		checkStored(t, tr, got, "Archive")
		for from, x := range map[string]adapters.Item{"Archive": got, "Get": s.get(t, tr, it.Ref)} {
			if x.StatusCategory != adapters.CategoryDone {
				t.Errorf("%s after Archive #%d: status %q, category %q, want done", from, i+1, x.Status, x.StatusCategory)
			}
		}
	}
}

func (s *suite) testBulkCreate(t *testing.T) {
	tr := s.newTracker(t)
	b, ok := tr.(adapters.BulkCreator)
	if !ok {
		t.Skip("the tracker is not an adapters.BulkCreator")
	}
	var reqs []adapters.CreateRequest
	for i := range 3 {
		reqs = append(reqs, adapters.CreateRequest{Item: s.sample(tr, i), Options: adapters.CreateOptions{IdempotencyKey: fmt.Sprintf("adaptertest-bulk-%d", i)}})
	}
	first, err := b.CreateMany(t.Context(), reqs)
	if err != nil {
		t.Fatalf("CreateMany: %v", err)
	}
	if len(first) != len(reqs) {
		t.Fatalf("CreateMany returned %d results for %d requests", len(first), len(reqs))
	}
	ids := map[string]bool{}
	var made []adapters.Item
	for i, r := range first {
		checkStored(t, tr, r.Item, "CreateMany")
		if r.Existed {
			t.Errorf("result %d: Existed on a first create", i)
		}
		if r.Item.Title != reqs[i].Item.Title {
			t.Errorf("result %d has title %q, want %q: results must be in request order", i, r.Item.Title, reqs[i].Item.Title)
		}
		if got := s.get(t, tr, r.Item.Ref); got.Title != reqs[i].Item.Title {
			t.Errorf("Get(%s) after CreateMany: title %q, want %q", r.Item.Ref, got.Title, reqs[i].Item.Title)
		}
		ids[r.Item.Ref.ID] = true
		made = append(made, r.Item)
	}
	if len(ids) != len(reqs) {
		t.Errorf("CreateMany made %d distinct IDs for %d requests", len(ids), len(reqs))
	}
	again, err := b.CreateMany(t.Context(), reqs)
	if err != nil {
		t.Fatalf("CreateMany again with the same keys: %v", err)
	}
	for i := range min(len(again), len(first)) {
		if !again[i].Existed || again[i].Item.Ref.ID != first[i].Item.Ref.ID {
			t.Errorf("repeated result %d: Existed=%v ID %q, want Existed=true ID %q", i, again[i].Existed, again[i].Item.Ref.ID, first[i].Item.Ref.ID)
		}
	}
	wantIDsOnce(t, "listing after CreateMany twice", listAll(t, tr, s.h.Scope, "", 0).items, made...)
}

func (s *suite) testRateLimit(t *testing.T) {
	if s.h.InjectRateLimit == nil {
		t.Skip("no Harness.InjectRateLimit")
	}
	tr := s.newTracker(t)
	it := s.create(t, tr, s.sample(tr, 0), "")
	const retryAfter = 7 * time.Second
	s.h.InjectRateLimit(retryAfter)
	_, err := tr.Get(t.Context(), it.Ref)
	var rl *adapters.RateLimitError
	switch {
	case !errors.As(err, &rl):
		t.Errorf("Get after InjectRateLimit: got error %v, want an *adapters.RateLimitError", err)
	case rl.RetryAfter != retryAfter:
		t.Errorf("RateLimitError.RetryAfter = %v, want %v as the tracker said", rl.RetryAfter, retryAfter)
	}
	if _, err := tr.Get(t.Context(), it.Ref); err != nil {
		t.Errorf("Get after the rate-limited one: %v (the limit was for one call)", err)
	}
}

// KV is the state store's per-tracker key-value space (adapters.KV), in
// memory; its zero value is empty and ready.
type KV struct {
	mu sync.Mutex
	m  map[string]string
}

var _ adapters.KV = (*KV)(nil)

// Get returns the value of key, and whether there is one.
func (k *KV) Get(_ context.Context, key string) (string, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	return v, ok, nil
}

// Put sets key to v.
func (k *KV) Put(_ context.Context, key, v string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]string{}
	}
	k.m[key] = v
	return nil
}

// testHandshake: a handshake is answered and what it carried is kept in
// the tracker's KV, so a tracker opened later (a restart) still verifies
// deliveries; a delivery is not taken for a handshake; a tampered
// delivery is refused.
func (s *suite) testHandshake(t *testing.T) {
	tr := s.newTracker(t)
	hr, ok := tr.(adapters.HandshakeResponder)
	if !ok {
		t.Skip("the tracker is not an adapters.HandshakeResponder")
	}
	if s.h.Handshake == nil {
		t.Skip("no Harness.Handshake")
	}
	dec, ok := tr.(adapters.WebhookDecoder)
	if !ok {
		t.Fatal("a HandshakeResponder must be a WebhookDecoder: the handshake opens deliveries")
	}
	kv := &KV{}
	if u, ok := tr.(adapters.KVUser); ok {
		u.SetKV(kv)
	}
	req, body, sign := s.h.Handshake()
	answer, handled, err := hr.Handshake(t.Context(), req)
	if err != nil || !handled || len(answer) == 0 {
		t.Fatalf("Handshake(%v): answer %v, handled %v, error %v; want an answer", req, answer, handled, err)
	}
	if _, handled, err := hr.Handshake(t.Context(), sign(body)); handled || err != nil {
		t.Errorf("a signed delivery was taken for a handshake (handled %v, error %v)", handled, err)
	}
	if _, err := dec.DecodeWebhook(sign(body), body); err != nil {
		t.Errorf("DecodeWebhook of a delivery signed after the handshake: %v", err)
	}
	later := s.newTracker(t)
	if u, ok := later.(adapters.KVUser); ok {
		u.SetKV(kv)
	}
	if _, err := later.(adapters.WebhookDecoder).DecodeWebhook(sign(body), body); err != nil {
		t.Errorf("a tracker opened after the handshake (same KV) refused a signed delivery: %v", err)
	}
	tampered := append([]byte(nil), body...)
	tampered = append(tampered, ' ')
	if _, err := later.(adapters.WebhookDecoder).DecodeWebhook(sign(body), tampered); !errors.Is(err, adapters.ErrUnauthorized) {
		t.Errorf("a delivery whose body does not match its signature: %v, want ErrUnauthorized", err)
	}
}

// testWebhook checks adapters.WebhookDecoder: a delivery is verified
// before anything is read (a forged or unsigned one is ErrUnauthorized,
// and does not use up its delivery id), a genuine one names the item, its
// redelivery decodes to nothing, and (adapters.DeliveryReleaser) a
// released delivery decodes again.
func (s *suite) testWebhook(t *testing.T) {
	tr := s.newTracker(t)
	dec, ok := tr.(adapters.WebhookDecoder)
	if !ok {
		t.Skip("the tracker is not an adapters.WebhookDecoder")
	}
	if s.h.Delivery == nil {
		t.Skip("no Harness.Delivery to make a signed delivery with")
	}
	it := s.create(t, tr, s.sample(tr, 0), "")
	h, body := s.h.Delivery(t, it.Ref)
	// One byte more: the signature no longer matches.
	forged := append(slices.Clone(body), ' ')
	for _, c := range []struct {
		name string
		h    http.Header
		body []byte
	}{
		{"a delivery whose body was altered", h.Clone(), forged},
		{"a delivery without headers (no signature)", http.Header{}, body},
	} {
		evs, err := dec.DecodeWebhook(c.h, c.body)
		if !errors.Is(err, adapters.ErrUnauthorized) {
			t.Errorf("DecodeWebhook of %s: error %v, want one wrapping adapters.ErrUnauthorized", c.name, err)
		}
		if len(evs) != 0 {
			t.Errorf("DecodeWebhook of %s returned events %+v", c.name, evs)
		}
	}
	evs, err := dec.DecodeWebhook(h.Clone(), body)
	if err != nil {
		t.Fatalf("DecodeWebhook of a genuine delivery (after a forged one with its id): %v", err)
	}
	found := false
	for _, ev := range evs {
		if ev.Ref.ID == it.Ref.ID && ev.Ref.Tracker == tr.Name() {
			found = true
			if ev.Type == adapters.EventDeleted {
				t.Errorf("the delivery about a change to %s decoded as a deletion", it.Ref)
			}
		}
	}
	if !found {
		t.Fatalf("DecodeWebhook of a delivery about %s (tracker %q) returned %+v: no event names it", it.Ref.ID, tr.Name(), evs)
	}
	again, err := dec.DecodeWebhook(h.Clone(), body)
	if err != nil {
		t.Errorf("DecodeWebhook of a redelivery: %v", err)
	}
	if len(again) != 0 {
		t.Errorf("a redelivery (same delivery id) decoded to %+v, want nothing", again)
	}
	if rel, ok := dec.(adapters.DeliveryReleaser); ok {
		// The receiver could not act on the delivery: the tracker's
		// retry of it must decode to its events again, once.
		for _, ev := range evs {
			rel.ReleaseDelivery(ev.DeliveryID)
		}
		retried, err := dec.DecodeWebhook(h.Clone(), body)
		if err != nil || len(retried) == 0 {
			t.Errorf("DecodeWebhook of a retry after ReleaseDelivery: %+v, %v; want its events again", retried, err)
		}
		if again, _ := dec.DecodeWebhook(h.Clone(), body); len(again) != 0 {
			t.Errorf("a repeat of the retried delivery decoded to %+v, want nothing", again)
		}
	}
	h2, body2 := s.h.Delivery(t, it.Ref)
	if evs, err := dec.DecodeWebhook(h2, body2); err != nil || len(evs) == 0 {
		t.Errorf("DecodeWebhook of the next delivery about %s: %+v, %v; want its event", it.Ref, evs, err)
	}
}

// testCheck checks adapters.Checker: a healthy tracker passes, a
// cancelled context and a service that refuses the tracker fail.
func (s *suite) testCheck(t *testing.T) {
	tr := s.newTracker(t)
	c, ok := tr.(adapters.Checker)
	if !ok {
		t.Skip("the tracker is not an adapters.Checker")
	}
	if err := c.Check(t.Context()); err != nil {
		t.Fatalf("Check of a fresh tracker: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Check(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Check with a cancelled context: got error %v, want one wrapping context.Canceled", err)
	}
	if s.h.Break == nil {
		return
	}
	s.h.Break(t)
	if err := c.Check(t.Context()); err == nil {
		t.Error("Check passed after Harness.Break made the service refuse the tracker")
	}
}

// ListAll reads every page of the listing req starts (its PageToken
// should be empty) and returns them as one page: every item and deletion,
// and the last page's Cursor. It fails the test on an error, on a page
// token that comes back, or after 1000 pages.
func ListAll(t testing.TB, tr adapters.Tracker, req adapters.ListRequest) adapters.ListPage {
	t.Helper()
	var all adapters.ListPage
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == 1000 {
			t.Fatalf("List did not finish after 1000 pages")
		}
		p, err := tr.List(context.Background(), req)
		if err != nil {
			t.Fatalf("List(cursor %q, page %d): %v", req.Cursor, page, err)
		}
		all.Items = append(all.Items, p.Items...)
		all.Deleted = append(all.Deleted, p.Deleted...)
		if p.NextPageToken == "" {
			all.Cursor = p.Cursor
			return all
		}
		if seen[p.NextPageToken] {
			t.Fatalf("List(cursor %q): page token %q came back twice", req.Cursor, p.NextPageToken)
		}
		seen[p.NextPageToken] = true
		req.PageToken = p.NextPageToken
	}
}

// WantBadResponse fails t unless err, from what on an answer that came
// back 200 but garbled, is a retryable unreadable-answer error that names
// the status and none of secrets.
func WantBadResponse(t testing.TB, what string, err error, secrets ...string) {
	t.Helper()
	if !errors.Is(err, adapters.ErrBadResponse) {
		t.Fatalf("%s answered garbled: %v, want an ErrBadResponse", what, err)
	}
	if adapters.IsPermanent(err) {
		t.Errorf("%s: %v is permanent; a garbled answer is worth another try", what, err)
	}
	if !strings.Contains(err.Error(), "HTTP 200") {
		t.Errorf("%s: %v does not name the status", what, err)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("%s: the error shows the token: %v", what, err)
		}
	}
}

// CheckEvents fails t unless every event a WebhookDecoder returned names
// an item of the tracker named tracker (its Ref's Tracker and ID set) and
// has a known type: what a fuzzed delivery must still yield.
func CheckEvents(t testing.TB, tracker string, evs []adapters.Event) {
	t.Helper()
	for _, ev := range evs {
		if ev.Ref.Tracker != tracker || ev.Ref.ID == "" {
			t.Fatalf("event %+v does not name an item of tracker %s", ev, tracker)
		}
		switch ev.Type {
		case adapters.EventUpserted, adapters.EventDeleted, adapters.EventComment:
		default:
			t.Fatalf("event %+v of unknown type %q", ev, ev.Type)
		}
	}
}
