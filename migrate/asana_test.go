package migrate_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/migrate"
)

// TestAsanaToJira: an Asana project's tasks with subtasks move to Jira
// (bulk): parents become epics with their subtasks under them, comments in
// order with their headers; killed twice on the way, nothing twice.
func TestAsanaToJira(t *testing.T) {
	f := newFakes(t)
	as := asanatest.New(t, asanatest.Options{})
	project := as.AddProject("Roadmap", "To do", "In progress", "Done")
	tr, err := asana.New("asana", asana.Options{URL: as.URL, Token: asanatest.DefaultToken, Workspace: as.Workspace(), Projects: []string{project},
		RequestsPerMinute: 1500, Transport: as.Client().Transport, Clock: as.Now,
		Sleep:        func(_ context.Context, d time.Duration) error { as.Advance(d); return nil },
		RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for p := 0; p < 3; p++ {
		parent, err := tr.Create(ctx, adapters.Item{Title: fmt.Sprintf("goal %d", p), Body: "A goal.", Status: "In progress"}, adapters.CreateOptions{Scope: project})
		if err != nil {
			t.Fatal(err)
		}
		for c := 0; c < 4; c++ {
			sub, err := tr.Create(ctx, adapters.Item{Title: fmt.Sprintf("step %d.%d", p, c), Status: []string{"To do", "Done"}[c%2], Parent: &parent.Item.Ref}, adapters.CreateOptions{Scope: project})
			if err != nil {
				t.Fatal(err)
			}
			for k := 1; k <= 2; k++ {
				if _, err := tr.AddComment(ctx, sub.Item.Ref, adapters.Comment{Body: fmt.Sprintf("progress %d.%d.%d", p, c, k)}, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	fc := migrate.DefaultFlow("asana", "jira", tr.Capabilities(), f.jira.Capabilities())
	ca, cb := tr.Capabilities(), f.jira.Capabilities()
	m, probs := mapping.Compile(fc, "migrate", []config.User{}, mapping.SideInfo{Name: "asana", Kind: "asana", Caps: &ca}, mapping.SideInfo{Name: "jira", Kind: "jira", Caps: &cb})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	o := migrate.Options{ID: "asana-jira", Map: m, BatchSize: 5,
		From: migrate.End{Tracker: tr, Identity: "asana@app.asana.com", Kind: "asana", Scope: project},
		To:   migrate.End{Tracker: f.jira, Identity: "jira@" + f.jfake.URL, Kind: "jira", Scope: "project = PLAT"}}
	kills := 0
	for kill := 1; ; kill++ {
		run := o
		if kill <= 2 {
			run.Crash = func(p string, n int) error {
				if n == 3*kill && p == []string{"before", "after"}[kill%2] {
					return fmt.Errorf("killed")
				}
				return nil
			}
		}
		if _, err := migrate.Run(ctx, f.st, run); err == nil {
			break
		} else if kill > 2 {
			t.Fatal(err)
		}
		kills++
	}
	src, dst := all(t, tr, project), all(t, f.jira, "project = PLAT")
	if len(src) != 15 || kills != 2 {
		t.Fatalf("%d Asana tasks, %d kills", len(src), kills)
	}
	copyOf := verify(t, src, dst, regexp.MustCompile(`\bnothing-to-rewrite\b`))
	for _, s := range src {
		d := copyOf[s.Ref.ID]
		if s.Parent == nil && d.Kind != adapters.KindEpic {
			t.Errorf("%s (%s) → %s: a %s, want an epic", s.Ref, s.Title, d.Ref, d.Kind)
		}
		if s.Parent != nil && (d.Parent == nil || d.Parent.ID != copyOf[s.Parent.ID].Ref.ID) {
			t.Errorf("%s → %s: parent %v, want the copy of %s", s.Ref, d.Ref, d.Parent, s.Parent)
		}
		if sc, _ := tr.Capabilities().Category(s.Status); d.StatusCategory != sc {
			t.Errorf("%s → %s: status %s (%s), want category %s", s.Ref, d.Ref, d.Status, d.StatusCategory, sc)
		}
	}
}
