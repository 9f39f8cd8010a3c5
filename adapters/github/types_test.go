package github

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
)

var typedOwner = githubtest.Options{IssueTypes: []string{"Task", "Bug", "Epic"}}

// TestIssueTypeIsKind: an issue of type Epic is an epic; other types and
// none are issues; a type change moves the version.
func TestIssueTypeIsKind(t *testing.T) {
	f := newFixture(t, typedOwner)
	f.fake.CreateIssue(githubtest.DefaultRepo, githubtest.Issue{Title: "big", Type: "Epic"})
	f.fake.CreateIssue(githubtest.DefaultRepo, githubtest.Issue{Title: "broken", Type: "Bug"})
	f.fake.CreateIssue(githubtest.DefaultRepo, githubtest.Issue{Title: "plain"})
	items, _ := listAll(t, f.tr, githubtest.DefaultRepo, "")
	want := []adapters.Kind{adapters.KindEpic, adapters.KindIssue, adapters.KindIssue}
	if len(items) != 3 {
		t.Fatalf("listed %d items", len(items))
	}
	for i, it := range items {
		if it.Kind != want[i] {
			t.Errorf("%s: kind %s, want %s", it.Title, it.Kind, want[i])
		}
	}
	if err := f.fake.EditIssue(githubtest.DefaultRepo, 3, func(is *githubtest.Issue) { is.Type = "Task" }); err != nil {
		t.Fatal(err)
	}
	got, err := f.tr.Get(t.Context(), items[2].Ref)
	if err != nil || got.Version == items[2].Version {
		t.Errorf("version %s -> %s (err %v): a type change must move it", items[2].Version, got.Version, err)
	}
}

// TestIssueTypeOnCreate: with issue types on, an epic is created with the
// owner's Epic type, the types read once per repository; a repository
// without an Epic type refuses epics before creating anything; with
// issue types off no type is sent.
func TestIssueTypeOnCreate(t *testing.T) {
	ctx := t.Context()
	on := func(o *Options) { o.IssueTypes = true }
	f := newFixture(t, typedOwner, on)
	if kinds := f.tr.Capabilities().Kinds; len(kinds) != 2 {
		t.Errorf("kinds %v, want issue and epic", kinds)
	}
	for i, title := range []string{"epic one", "epic two"} {
		f.fake.ResetLog()
		res, err := f.tr.Create(ctx, adapters.Item{Kind: adapters.KindEpic, Title: title}, adapters.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Item.Kind != adapters.KindEpic {
			t.Errorf("%s created as %s", title, res.Item.Kind)
		}
		reads := 0
		for _, r := range f.fake.Requests() {
			if r.Method == http.MethodGet {
				reads++
			}
		}
		if want := 1 - i; reads != want {
			t.Errorf("create %d read %d times, want %d (the types once per repository)", i+1, reads, want)
		}
	}
	if is, _ := f.fake.Issue(githubtest.DefaultRepo, 1); is.Type != "Epic" {
		t.Errorf("stored type %q, want Epic", is.Type)
	}
	res, err := f.tr.Create(ctx, adapters.Item{Kind: adapters.KindIssue, Title: "plain"}, adapters.CreateOptions{})
	if err != nil || res.Item.Kind != adapters.KindIssue {
		t.Fatalf("an issue: %v %v", res.Item.Kind, err)
	}

	g := newFixture(t, githubtest.Options{IssueTypes: []string{"Bug"}}, on)
	_, err = g.tr.Create(ctx, adapters.Item{Kind: adapters.KindEpic, Title: "nowhere"}, adapters.CreateOptions{})
	if !errors.Is(err, adapters.ErrInvalid) || !adapters.IsPermanent(err) {
		t.Errorf("an epic where there is no Epic type: %v, want a permanent ErrInvalid", err)
	}
	if n := len(g.fake.Issues(githubtest.DefaultRepo)); n != 0 {
		t.Errorf("%d issues made", n)
	}

	h := newFixture(t, typedOwner)
	res, err = h.tr.Create(ctx, adapters.Item{Kind: adapters.KindEpic, Title: "untyped"}, adapters.CreateOptions{})
	if err != nil || res.Item.Kind != adapters.KindIssue {
		t.Errorf("issue types off: kind %s, err %v; want an issue", res.Item.Kind, err)
	}
}

// TestConformanceIssueTypes runs the suite with issue types on: epics are
// made and read back as epics and are the parents of issues.
func TestConformanceIssueTypes(t *testing.T) {
	var cur *fixture
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) adapters.Tracker {
			cur = newFixture(t, typedOwner, func(o *Options) { o.IssueTypes = true })
			return cur.tr
		},
		Scope:   githubtest.DefaultRepo,
		Advance: func(d time.Duration) { cur.fake.Advance(d) },
		Edit: func(t *testing.T, ref adapters.Ref, mutate func(*adapters.Item)) {
			personEdit(t, cur.fake, ref, mutate)
		},
	})
}
