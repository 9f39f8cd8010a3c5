package github

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

// boardFields are the fields newFieldBoard's project has besides Status.
var boardFields = []githubtest.ProjectField{
	{Name: "Target date", Type: githubtest.FieldDate},
	{Name: "Estimate", Type: githubtest.FieldNumber},
	{Name: "Notes", Type: githubtest.FieldText},
	{Name: "Priority", Type: githubtest.FieldSingleSelect, Options: []string{"P0", "P1", "P2"}},
	{Name: "Size", Type: githubtest.FieldSingleSelect, Options: []string{"S", "M", "L"}},
	{Name: "Iteration", Type: githubtest.FieldIteration, Iterations: []githubtest.Iteration{
		{Title: "Iteration 1", StartDate: "2026-10-19", Duration: 14, Completed: true},
		{Title: "Iteration 2", StartDate: "2026-11-02", Duration: 14},
		{Title: "Iteration 3", StartDate: "2026-11-16", Duration: 14}}},
}

// fieldBoardOptions syncs every field of boardFields: Target date as the
// due date, Priority as the priority, the others as custom fields.
func fieldBoardOptions() *ProjectOptions {
	return &ProjectOptions{Owner: "acme", Number: 1, Fields: []string{"Estimate", "Notes", "Size", "Iteration"}, DueField: "Target date", PriorityField: "Priority"}
}

// newFieldBoard is newBoard with boardFields on the project, synced as
// fieldBoardOptions says.
func newFieldBoard(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, githubtest.Options{}, func(o *Options) { o.Project = fieldBoardOptions() })
	f.fake.AddProject("acme", 1, "Status", boardOptions...)
	for _, pf := range boardFields {
		if err := f.fake.AddProjectField("acme", 1, pf); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// withField reads ref and returns it and a copy with field set to value.
func (f *fixture) withField(t *testing.T, ref adapters.Ref, field, value string) (cur, want adapters.Item) {
	t.Helper()
	cur, err := f.tr.Get(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	want = cur.Clone()
	if err := adapters.SetFieldValue(&want, field, value); err != nil {
		t.Fatal(err)
	}
	return cur, want
}

func (f *fixture) onBoard(t *testing.T, title string) adapters.Ref {
	t.Helper()
	is := f.fake.CreateIssue(githubtest.DefaultRepo, githubtest.Issue{Title: title})
	ref := adapters.Ref{Tracker: "gh", ID: issueID(githubtest.DefaultRepo, is.Number)}
	if err := f.fake.MoveCard("acme", 1, ref.ID, "Todo"); err != nil {
		t.Fatal(err)
	}
	return ref
}

// fieldKinds is one value of each kind: the project field, the adapters
// field it is synced as, a value a person sets on the board, the value
// the adapter reads, and the ProjectV2FieldValue member a write sends.
var fieldKinds = []struct {
	field, sync, set, read, kind string
}{
	{"Target date", adapters.FieldDue, "2026-12-01", "2026-12-01", "date"},
	{"Estimate", "custom:Estimate", "2.5", "2.5", "number"},
	{"Estimate", "custom:Estimate", "8", "8", "number"},
	{"Notes", "custom:Notes", "needs design review", "needs design review", "text"},
	{"Priority", adapters.FieldPriority, "P1", "P1", "singleSelectOptionId"},
	{"Size", "custom:Size", "L", "L", "singleSelectOptionId"},
	{"Iteration", "custom:Iteration", "Iteration 2", "Iteration 2", "iterationId"},
	{"Iteration", "custom:Iteration", "Iteration 1", "Iteration 1", "iterationId"}, // a completed one
}

// TestProjectFieldsCapabilities: the synced project fields are declared
// under the names flows map them by.
func TestProjectFieldsCapabilities(t *testing.T) {
	f := newFieldBoard(t)
	caps := f.tr.Capabilities()
	for _, name := range []string{adapters.FieldDue, adapters.FieldPriority, "custom:Estimate", "custom:Notes", "custom:Size", "custom:Iteration", FieldMilestone} {
		if !caps.HasField(name) {
			t.Errorf("capabilities lack %s: %v", name, caps.Fields)
		}
	}
	if caps.HasField("custom:Target date") || caps.HasField("custom:Priority") {
		t.Errorf("due and priority fields also declared as custom fields: %v", caps.Fields)
	}
	plain := newBoard(t, githubtest.Options{})
	if c := plain.tr.Capabilities(); c.HasField(adapters.FieldDue) || c.HasField(adapters.FieldPriority) {
		t.Errorf("a status-only board declares due or priority: %v", c.Fields)
	}
}

// TestProjectFieldsRead: a value of each kind set on the board reads into
// the item's field, by Get and by the next listing, which returns the
// issue once though the issue did not change, and still costs one point
// per 100 cards.
func TestProjectFieldsRead(t *testing.T) {
	for _, c := range fieldKinds {
		t.Run(c.field+"="+c.set, func(t *testing.T) {
			f := newFieldBoard(t)
			ctx := t.Context()
			ref, other := f.onBoard(t, "card"), f.onBoard(t, "other")
			_, cursor := listAll(t, f.tr, githubtest.DefaultRepo, "")
			before, err := f.tr.Get(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if v := adapters.FieldValue(before, c.sync); v != "" {
				t.Fatalf("%s before the edit: %q", c.sync, v)
			}
			f.fake.Advance(time.Minute)
			if err := f.fake.SetCardField("acme", 1, ref.ID, c.field, c.set); err != nil {
				t.Fatal(err)
			}
			got, err := f.tr.Get(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if v := adapters.FieldValue(got, c.sync); v != c.read {
				t.Errorf("Get: %s = %q, want %q", c.sync, v, c.read)
			}
			if got.Version == before.Version {
				t.Errorf("the version did not change with %s", c.field)
			}
			points := f.fake.GraphQLPoints()
			items, cursor := listAll(t, f.tr, githubtest.DefaultRepo, cursor)
			if len(items) != 1 || items[0].Ref.ID != ref.ID {
				t.Fatalf("after editing %s on the board the listing returned %d items, want %s", c.field, len(items), ref.ID)
			}
			if v := adapters.FieldValue(items[0], c.sync); v != c.read {
				t.Errorf("List: %s = %q, want %q", c.sync, v, c.read)
			}
			if p := f.fake.GraphQLPoints() - points; p != 1 {
				t.Errorf("the listing cost %d GraphQL points, want 1", p)
			}
			if items, _ := listAll(t, f.tr, githubtest.DefaultRepo, cursor); len(items) != 0 {
				t.Errorf("the edit was listed again: %d items", len(items))
			}
			o, err := f.tr.Get(ctx, other)
			if err != nil {
				t.Fatal(err)
			}
			if v := adapters.FieldValue(o, c.sync); v != "" {
				t.Errorf("another card reads %s = %q", c.sync, v)
			}
		})
	}
}

// TestProjectFieldsWrite: writing a value of each kind is one
// updateProjectV2ItemFieldValue with that kind's member (the item lookup
// besides: 2 points), the value then reads back; writing it again sends
// nothing; writing none clears the field (clearProjectV2ItemFieldValue).
func TestProjectFieldsWrite(t *testing.T) {
	for _, c := range fieldKinds {
		t.Run(c.field+"="+c.set, func(t *testing.T) {
			f := newFieldBoard(t)
			ctx := t.Context()
			ref := f.onBoard(t, "card")
			cur, want := f.withField(t, ref, c.sync, c.read)
			writes, points := len(f.fake.FieldWrites()), f.fake.GraphQLPoints()
			got, err := f.tr.Update(ctx, ref, adapters.Patch{Fields: []string{c.sync}, Item: want, IfVersion: cur.Version})
			if err != nil {
				t.Fatal(err)
			}
			if v := adapters.FieldValue(got, c.sync); v != c.read {
				t.Errorf("Update answered %s = %q, want %q", c.sync, v, c.read)
			}
			if v, _ := f.fake.CardField("acme", 1, ref.ID, c.field); v != c.read {
				t.Errorf("the board holds %s = %q, want %q", c.field, v, c.read)
			}
			w := f.fake.FieldWrites()[writes:]
			if len(w) != 1 || w[0].Field != c.field || w[0].Kind != c.kind {
				t.Errorf("writes %+v, want one %s write of %s", w, c.kind, c.field)
			}
			if c.kind == "date" && w[0].Value != c.read {
				t.Errorf("the date was sent as %q, want the ISO 8601 date %q", w[0].Value, c.read)
			}
			if p := f.fake.GraphQLPoints() - points; p != 2 {
				t.Errorf("the write cost %d GraphQL points, want 2", p)
			}
			if r := f.tr.ProjectPoints(); r != f.fake.GraphQLPoints() {
				t.Errorf("the adapter counts %d points, the fake %d", r, f.fake.GraphQLPoints())
			}
			// Again: nothing to write.
			writes = len(f.fake.FieldWrites())
			if _, err := f.tr.Update(ctx, ref, adapters.Patch{Fields: []string{c.sync}, Item: want}); err != nil {
				t.Fatal(err)
			}
			if w := f.fake.FieldWrites()[writes:]; len(w) != 0 {
				t.Errorf("writing the value it has sent %+v", w)
			}
			// None: cleared.
			if _, err := f.tr.Update(ctx, ref, adapters.Patch{Fields: []string{c.sync}, Item: cur}); err != nil {
				t.Fatal(err)
			}
			if v, on := f.fake.CardField("acme", 1, ref.ID, c.field); v != "" || !on {
				t.Errorf("after clearing: %q (on the board %v)", v, on)
			}
			if w := f.fake.FieldWrites()[writes:]; len(w) != 1 || w[0].Kind != "clear" {
				t.Errorf("clearing sent %+v, want one clear", w)
			}
		})
	}
}

// TestProjectFieldsWriteSeveral: a patch of status, title and three
// project fields sends the title in one PATCH, then one mutation for the
// status and one per field; a field left out of the patch is untouched.
func TestProjectFieldsWriteSeveral(t *testing.T) {
	f := newFieldBoard(t)
	ctx := t.Context()
	ref := f.onBoard(t, "card")
	if err := f.fake.SetCardField("acme", 1, ref.ID, "Notes", "keep me"); err != nil {
		t.Fatal(err)
	}
	cur, err := f.tr.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	want := cur.Clone()
	want.Title, want.Status, want.Due, want.Priority = "renamed", "In Progress", "2027-01-15", "P0"
	want.Fields = map[string]string{"Estimate": "3", "Notes": "ignored"}
	writes, points := len(f.fake.FieldWrites()), f.fake.GraphQLPoints()
	got, err := f.tr.Update(ctx, ref, adapters.Patch{Fields: []string{adapters.FieldTitle, adapters.FieldStatus, adapters.FieldDue, adapters.FieldPriority, "custom:Estimate"}, Item: want, IfVersion: cur.Version})
	if err != nil {
		t.Fatal(err)
	}
	wantItem := map[string]string{"title": "renamed", "status": "In Progress", "due": "2027-01-15", "priority": "P0", "custom:Estimate": "3", "custom:Notes": "keep me"}
	gotItem := map[string]string{}
	for k := range wantItem {
		gotItem[k] = adapters.FieldValue(got, k)
	}
	if d := cmp.Diff(wantItem, gotItem); d != "" {
		t.Errorf("after the update (-want +got):\n%s", d)
	}
	var kinds []string
	for _, w := range f.fake.FieldWrites()[writes:] {
		kinds = append(kinds, w.Field+":"+w.Kind)
	}
	slices.Sort(kinds)
	if d := cmp.Diff([]string{"Estimate:number", "Priority:singleSelectOptionId", "Status:singleSelectOptionId", "Target date:date"}, kinds); d != "" {
		t.Errorf("writes (-want +got):\n%s", d)
	}
	if p := f.fake.GraphQLPoints() - points; p != 5 {
		t.Errorf("%d GraphQL points, want 5 (a lookup and 4 mutations)", p)
	}
}

// TestProjectFieldsInvalid: values a field cannot take are permanent
// ErrInvalid errors naming the field and the value, and nothing is
// written.
func TestProjectFieldsInvalid(t *testing.T) {
	f := newFieldBoard(t)
	ctx := t.Context()
	ref := f.onBoard(t, "card")
	for _, c := range []struct{ sync, value, want string }{
		{"custom:Estimate", "three", `"three" is not a number`},
		{adapters.FieldDue, "01/12/2026", `"01/12/2026" is not a date`},
		{adapters.FieldPriority, "Urgent", `"Urgent" is not an option`},
		{"custom:Iteration", "Iteration 9", `"Iteration 9" is not an iteration`},
	} {
		var it adapters.Item
		if err := adapters.SetFieldValue(&it, c.sync, c.value); err != nil {
			t.Fatal(err)
		}
		writes := len(f.fake.FieldWrites())
		_, err := f.tr.Update(ctx, ref, adapters.Patch{Fields: []string{c.sync}, Item: it})
		if !errors.Is(err, adapters.ErrInvalid) || !adapters.IsPermanent(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s = %q: %v, want a permanent ErrInvalid saying %s", c.sync, c.value, err, c.want)
		}
		if w := f.fake.FieldWrites()[writes:]; len(w) != 0 {
			t.Errorf("%s = %q wrote %+v", c.sync, c.value, w)
		}
	}
}

// TestProjectFieldsCreate: a created issue lands on the board with its
// status and every synced field it has a value for; a retried create
// finds it with them.
func TestProjectFieldsCreate(t *testing.T) {
	f := newFieldBoard(t)
	ctx := t.Context()
	it := adapters.Item{Title: "new", Status: "In Progress", Due: "2026-12-24", Priority: "P2",
		Fields: map[string]string{"Estimate": "5", "Iteration": "Iteration 3", "Notes": "from Jira"}}
	res, err := f.tr.Create(ctx, it, adapters.CreateOptions{IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{"Target date": "2026-12-24", "Priority": "P2", "Estimate": "5", "Iteration": "Iteration 3", "Notes": "from Jira", "Size": ""} {
		if v, _ := f.fake.CardField("acme", 1, res.Item.Ref.ID, field); v != want {
			t.Errorf("card %s = %q, want %q", field, v, want)
		}
	}
	if res.Item.Due != it.Due || res.Item.Priority != it.Priority || !cmp.Equal(res.Item.Fields, it.Fields) {
		t.Errorf("created item: due %q priority %q fields %v", res.Item.Due, res.Item.Priority, res.Item.Fields)
	}
	writes := len(f.fake.FieldWrites())
	again, err := f.tr.Create(ctx, it, adapters.CreateOptions{IdempotencyKey: "k1"})
	if err != nil || !again.Existed || again.Item.Ref.ID != res.Item.Ref.ID {
		t.Fatalf("retried create: %+v %v", again, err)
	}
	if w := f.fake.FieldWrites()[writes:]; len(w) != 0 {
		t.Errorf("the retried create wrote %+v", w)
	}
}

// TestProjectFieldsUnknown: a synced field the project lacks, or of a
// type its option cannot take, is a permanent error at first use naming
// the field, the project and the option.
func TestProjectFieldsUnknown(t *testing.T) {
	for name, c := range map[string]struct {
		opts  func(*ProjectOptions)
		wants []string
	}{
		"missing field":      {func(o *ProjectOptions) { o.Fields = append(o.Fields, "Story points") }, []string{`"Story points"`, "project acme/1", "project.fields", "Estimate"}},
		"missing due":        {func(o *ProjectOptions) { o.DueField = "Deadline" }, []string{`"Deadline"`, "project acme/1", "project.due_field"}},
		"due not a date":     {func(o *ProjectOptions) { o.DueField = "Notes"; o.Fields = []string{"Estimate"} }, []string{`"Notes"`, "TEXT", "project.due_field", "DATE"}},
		"priority not a sel": {func(o *ProjectOptions) { o.PriorityField = "Estimate"; o.Fields = nil }, []string{`"Estimate"`, "NUMBER", "project.priority_field", "SINGLE_SELECT"}},
		"title":              {func(o *ProjectOptions) { o.Fields = []string{"Title"} }, []string{`"Title"`, "TITLE", "project.fields"}},
	} {
		t.Run(name, func(t *testing.T) {
			o := fieldBoardOptions()
			c.opts(o)
			f := newFixture(t, githubtest.Options{}, func(opts *Options) { opts.Project = o })
			f.fake.AddProject("acme", 1, "Status", boardOptions...)
			for _, pf := range boardFields {
				if err := f.fake.AddProjectField("acme", 1, pf); err != nil {
					t.Fatal(err)
				}
			}
			ref := f.onBoard(t, "card")
			_, err := f.tr.Get(t.Context(), ref)
			if !errors.Is(err, adapters.ErrInvalid) || !adapters.IsPermanent(err) {
				t.Fatalf("Get: %v, want a permanent ErrInvalid", err)
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: does not say %s", err, w)
				}
			}
		})
	}
}

// TestProjectFieldsRegistry: project.fields, due_field and priority_field
// in the tracker's config, and their mistakes reported by key path.
func TestProjectFieldsRegistry(t *testing.T) {
	reg := adapters.NewRegistry()
	if err := reg.Register(Spec()); err != nil {
		t.Fatal(err)
	}
	fake := githubtest.New(t, githubtest.Options{})
	open := func(project map[string]any) (adapters.Tracker, error) {
		p := map[string]any{"owner": "acme", "number": 1}
		for k, v := range project {
			p[k] = v
		}
		return reg.Open(t.Context(), "acme-gh", "github", map[string]any{"url": fake.URL, "auth": map[string]any{"token": "t"}, "status_source": "project", "project": p}, nil, "")
	}
	tr, err := open(map[string]any{"fields": []any{"Estimate", "Iteration"}, "due_field": "Target date", "priority_field": "Priority"})
	if err != nil {
		t.Fatal(err)
	}
	p := tr.(*Tracker).opts.Project
	if !slices.Equal(p.Fields, []string{"Estimate", "Iteration"}) || p.DueField != "Target date" || p.PriorityField != "Priority" {
		t.Errorf("project options %+v", p)
	}
	if c := tr.Capabilities(); !c.HasField(adapters.FieldDue) || !c.HasField("custom:Iteration") {
		t.Errorf("capabilities %v", c.Fields)
	}
	for name, c := range map[string]struct {
		project map[string]any
		want    string
	}{
		"fields not a list":   {map[string]any{"fields": map[string]any{"Estimate": 1}}, "acme-gh.project.fields: want a list"},
		"field not a string":  {map[string]any{"fields": []any{"Estimate", []any{"Team"}}}, "acme-gh.project.fields[1]: want a single value"},
		"empty field":         {map[string]any{"fields": []any{""}}, "acme-gh.project.fields[0]: empty"},
		"listed twice":        {map[string]any{"fields": []any{"Estimate", "estimate"}}, "acme-gh.project.fields[1]"},
		"the status field":    {map[string]any{"fields": []any{"Status"}}, "acme-gh.project.fields[0]: field \"Status\" is already synced by trackers.acme-gh.project.field"},
		"milestone":           {map[string]any{"fields": []any{"Milestone"}}, "acme-gh.project.fields[0]"},
		"due also a field":    {map[string]any{"fields": []any{"Target date"}, "due_field": "Target date"}, "acme-gh.project.due_field"},
		"due empty":           {map[string]any{"due_field": ""}, "acme-gh.project.due_field: empty"},
		"priority not string": {map[string]any{"priority_field": []any{"P"}}, "acme-gh.project.priority_field"},
		"priority is due":     {map[string]any{"due_field": "When", "priority_field": "When"}, "acme-gh.project.priority_field"},
	} {
		_, err := open(c.project)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, c.want)
		}
	}
}

// TestProjectFieldsDescribe: describe lists the project's fields by their
// names on the board, with their types and the names flows sync the
// synced ones by; a field the project lacks is a note, not a failure.
func TestProjectFieldsDescribe(t *testing.T) {
	f := newFieldBoard(t)
	d, err := f.tr.Describe(t.Context(), githubtest.DefaultRepo)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, fd := range d.Fields {
		if fd.Custom && fd.Name != "milestone" {
			got[fd.Name] = fd.Type + " " + fd.Sync
		}
	}
	want := map[string]string{"Title": "title ", "Status": "single_select status", "Target date": "date due", "Estimate": "number custom:Estimate",
		"Notes": "text custom:Notes", "Priority": "single_select priority", "Size": "single_select custom:Size", "Iteration": "iteration custom:Iteration"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("project fields (-want +got):\n%s", diff)
	}

	// A board without the fields the options name.
	o := fieldBoardOptions()
	bad := newFixture(t, githubtest.Options{}, func(opts *Options) { opts.Project = o })
	bad.fake.AddProject("acme", 1, "Status", boardOptions...)
	d, err = bad.tr.Describe(t.Context(), githubtest.DefaultRepo)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], `has no field "Estimate"`) || !strings.Contains(d.Notes[0], "project acme/1") {
		t.Errorf("notes %q, want one naming the missing field", d.Notes)
	}
}

// TestProjectFieldsConformance: the suite with status and six other
// fields on the board; a person's edit of them is an edit on the board.
func TestProjectFieldsConformance(t *testing.T) {
	var cur *fixture
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) adapters.Tracker {
			cur = newFieldBoard(t)
			return cur.tr
		},
		Scope:   githubtest.DefaultRepo,
		Advance: func(d time.Duration) { cur.fake.Advance(d) },
		Sample: func(i int) adapters.Item {
			it := adaptertest.DefaultSample(cur.tr.Capabilities(), i)
			it.Priority = []string{"P0", "P1", "P2"}[i%3]
			it.Fields["Estimate"] = strconv.Itoa(i + 1)
			it.Fields["Notes"] = fmt.Sprintf("note %d", i)
			it.Fields["Size"] = []string{"S", "M", "L"}[i%3]
			it.Fields["Iteration"] = fmt.Sprintf("Iteration %d", i%3+1)
			return it
		},
		Edit: func(t *testing.T, ref adapters.Ref, mutate func(*adapters.Item)) {
			t.Helper()
			before, err := cur.tr.Get(t.Context(), ref)
			if err != nil {
				t.Fatal(err)
			}
			var after adapters.Item
			personEdit(t, cur.fake, ref, func(it *adapters.Item) {
				it.Status, it.Due, it.Priority = before.Status, before.Due, before.Priority
				it.Fields = maps.Clone(before.Fields)
				mutate(it)
				after = it.Clone()
				it.Status = StatusOpen
				if before.StatusCategory == adapters.CategoryDone {
					it.Status = StatusClosed
				}
			})
			if after.Status != before.Status {
				if err := cur.fake.MoveCard("acme", 1, ref.ID, after.Status); err != nil {
					t.Fatal(err)
				}
			}
			for field, sync := range map[string]string{"Target date": adapters.FieldDue, "Priority": adapters.FieldPriority,
				"Estimate": "custom:Estimate", "Notes": "custom:Notes", "Size": "custom:Size", "Iteration": "custom:Iteration"} {
				if v := adapters.FieldValue(after, sync); v != adapters.FieldValue(before, sync) {
					if err := cur.fake.SetCardField("acme", 1, ref.ID, field, v); err != nil {
						t.Fatal(err)
					}
				}
			}
		},
	})
}
