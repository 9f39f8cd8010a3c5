package e2e_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	tsync "github.com/tracksync/tracksync/sync"
)

// liveLinks names the flow's links that are not tombstones.
func (w *world) liveLinks() []string {
	w.t.Helper()
	links, err := w.st.ListLinks(w.ctx, w.flow.Map.Name)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, l := range links {
		if !l.Tombstone() {
			out = append(out, l.A.ID+"⇄"+l.B.ID)
		}
	}
	slices.Sort(out)
	return out
}

// TestGarbledListingsUnlinkNothing: a full reconcile whose listing is
// answered 200 with a login page, cut JSON, an empty body or {} fails and
// unlinks nothing. Taken for an empty page, such a listing would make
// every item people made on that side look as if it had left the scope,
// and on_delete: unlink would drop its link for good.
func TestGarbledListingsUnlinkNothing(t *testing.T) {
	type garble struct {
		side string
		arm  func(w *world)
	}
	var cases []garble
	for _, g := range []jiratest.Garble{jiratest.GarbleHTML, jiratest.GarbleCut, jiratest.GarbleEmpty, jiratest.GarbleEmptyObject} {
		cases = append(cases, garble{"jira " + g.String(), func(w *world) {
			w.jfake.InjectFault(jiratest.Fault{Path: "/search", Garble: g})
		}})
	}
	for _, g := range []githubtest.Garble{githubtest.GarbleHTML, githubtest.GarbleCut, githubtest.GarbleEmpty, githubtest.GarbleEmptyObject} {
		cases = append(cases, garble{"github " + g.String(), func(w *world) {
			w.gfake.Inject(githubtest.Fault{Method: http.MethodGet, Path: "/repos/" + ghRepo + "/issues", Garble: g})
		}})
	}
	for _, fl := range []jiratest.Flavor{jiratest.Cloud, jiratest.DataCenter} {
		t.Run(string(fl), func(t *testing.T) {
			w := newWorld(t, 1, variant{flavor: fl, policy: "newest"})
			for i := range 3 {
				if _, err := w.person.Create(w.ctx, adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprint("from jira ", i), Body: "body"}, adapters.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				w.gfake.CreateIssue(ghRepo, githubtest.Issue{Title: fmt.Sprint("from github ", i), User: ghUsers[0]})
			}
			w.settle(true)
			before := w.liveLinks()
			if len(before) != 6 {
				t.Fatalf("%d links after the first syncs, want 6: %v", len(before), before)
			}
			for _, c := range cases {
				c.arm(w)
				res, err := w.eng.Sync(w.ctx, w.flow, tsync.RunOptions{Force: true, Full: true})
				w.jfake.ClearFaults()
				w.gfake.ClearFaults()
				if err == nil {
					t.Errorf("%s listing: the full run succeeded (%+v)", c.side, res)
				} else if !errors.Is(err, adapters.ErrBadResponse) || !strings.Contains(err.Error(), "HTTP 200") {
					t.Errorf("%s listing: the run failed with %v, want an unreadable-answer error naming the status", c.side, err)
				}
				if after := w.liveLinks(); !slices.Equal(after, before) {
					t.Fatalf("%s listing: links %v after the run, want %v", c.side, after, before)
				}
				if n, m := len(w.jfake.Issues()), len(w.gfake.Issues(ghRepo)); n != 6 || m != 6 {
					t.Fatalf("%s listing: %d jira issues, %d github issues, want 6 each", c.side, n, m)
				}
				w.advance(10e9)
			}
			w.settle(true)
			if after := w.liveLinks(); !slices.Equal(after, before) {
				t.Fatalf("links %v after clean runs, want %v", after, before)
			}
			w.check()
		})
	}
}
