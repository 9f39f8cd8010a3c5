package github

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/internal/rest"
)

// Labels and milestones: read once per repository and cached; a label a
// write needs is created (in a colour of its own), and names are matched
// as GitHub matches them, ignoring case.

// labelColors are given to labels tracksync creates, picked by name so a
// label gets the same colour in every repository.
var labelColors = []string{"0e8a16", "1d76db", "5319e7", "b60205", "d93f0b", "fbca04", "006b75", "c5def5", "bfd4f2", "d4c5f9"}

func labelColor(name string) string {
	sum := sha256.Sum256([]byte(name))
	return labelColors[int(sum[0])%len(labelColors)]
}

// listLabels reads repo's labels: lower-case name to the spelling
// GitHub keeps.
func (t *Tracker) listLabels(ctx context.Context, repo string) (map[string]string, error) {
	known := map[string]string{}
	page := 1
	for {
		var ls []*gh.Label
		resp, err := t.call(ctx, "listing labels of "+repo, http.MethodGet, fmt.Sprintf("%s/labels?per_page=100&page=%d", repoPath(repo), page), nil, &ls, nil)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			known[strings.ToLower(l.GetName())] = l.GetName()
		}
		if resp.NextPage == 0 {
			return known, nil
		}
		page = resp.NextPage
	}
}

// ensureLabels creates the labels of names the repository lacks, each
// with a colour (GitHub would otherwise make them grey), and returns
// names spelt as the repository spells them, normalized. GitHub matches
// label names ignoring case and keeps its own spelling: "Bug" written
// where "bug" exists reads back "bug", which would look like someone
// else's edit, so the stored spelling is what is sent.
func (t *Tracker) ensureLabels(ctx context.Context, repo string, names []string) ([]string, error) {
	t.mu.Lock()
	known := t.labels[repo]
	t.mu.Unlock()
	if known == nil {
		var err error
		if known, err = t.listLabels(ctx, repo); err != nil {
			return nil, err
		}
		t.mu.Lock()
		t.labels[repo] = known
		t.mu.Unlock()
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n == "" {
			continue
		}
		low := strings.ToLower(n)
		t.mu.Lock()
		have, ok := known[low]
		t.mu.Unlock()
		if !ok {
			body := map[string]string{"name": n, "color": labelColor(n)}
			_, err := t.call(ctx, fmt.Sprintf("creating label %q in %s", n, repo), http.MethodPost, repoPath(repo)+"/labels", body, nil, nil)
			switch {
			case err == nil:
				have = n
			case alreadyExists(err):
				// Made since the list was read, perhaps spelt
				// otherwise: read again to learn GitHub's spelling.
				fresh, lerr := t.listLabels(ctx, repo)
				if lerr != nil {
					return nil, lerr
				}
				if have = fresh[low]; have == "" {
					have = n
				}
				t.mu.Lock()
				t.labels[repo] = fresh
				t.mu.Unlock()
				known = fresh
			default:
				return nil, err
			}
			t.mu.Lock()
			known[low] = have
			t.mu.Unlock()
		}
		out = append(out, have)
	}
	return adapters.NormalizeList(out), nil
}

// sameLabels reports whether a and b name the same labels as GitHub
// sees them, ignoring case.
func sameLabels(a, b []string) bool {
	fold := func(l []string) []string {
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = strings.ToLower(s)
		}
		return adapters.NormalizeList(out)
	}
	return slices.Equal(fold(a), fold(b))
}

// alreadyExists reports whether err is GitHub's 422 for creating a label
// or milestone that exists.
func alreadyExists(err error) bool {
	var ae *adapters.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity && strings.Contains(ae.Message, "already_exists")
}

// listMilestones reads repo's milestones, open and closed: title to
// number.
func (t *Tracker) listMilestones(ctx context.Context, repo string) (map[string]int, error) {
	known := map[string]int{}
	page := 1
	for {
		var ms []*gh.Milestone
		resp, err := t.call(ctx, "listing milestones of "+repo, http.MethodGet, fmt.Sprintf("%s/milestones?state=all&per_page=100&page=%d", repoPath(repo), page), nil, &ms, nil)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			known[m.GetTitle()] = m.GetNumber()
		}
		if resp.NextPage == 0 {
			return known, nil
		}
		page = resp.NextPage
	}
}

// milestone returns the JSON value of milestone title in repo, creating
// the milestone when missing; "" is null (no milestone). The cache of a
// repository's milestones is read again before a create, since a person
// may have made the milestone after it was filled; a create refused as
// already_exists (made meanwhile) reads it once more and uses that one.
func (t *Tracker) milestone(ctx context.Context, repo, title string) (json.RawMessage, error) {
	if title == "" {
		return json.RawMessage("null"), nil
	}
	t.msMu.Lock()
	defer t.msMu.Unlock()
	t.mu.Lock()
	known := t.milestones[repo]
	t.mu.Unlock()
	fresh := false
	if known == nil {
		var err error
		if known, err = t.listMilestones(ctx, repo); err != nil {
			return nil, err
		}
		fresh = true
	}
	n, ok := known[title]
	if !ok && !fresh {
		var err error
		if known, err = t.listMilestones(ctx, repo); err != nil {
			return nil, err
		}
		n, ok = known[title]
	}
	if !ok {
		var m gh.Milestone
		_, err := t.callShape(ctx, fmt.Sprintf("creating milestone %q in %s", title, repo), http.MethodPost, repoPath(repo)+"/milestones", map[string]string{"title": title}, &m, nil, rest.Object("a milestone", "number"))
		switch {
		case err == nil:
			n = m.GetNumber()
		case alreadyExists(err):
			again, lerr := t.listMilestones(ctx, repo)
			if lerr != nil {
				return nil, lerr
			}
			if n, ok = again[title]; !ok {
				return nil, err
			}
			known = again
		default:
			return nil, err
		}
	}
	t.mu.Lock()
	known[title] = n
	t.milestones[repo] = known
	t.mu.Unlock()
	return json.RawMessage(strconv.Itoa(n)), nil
}
