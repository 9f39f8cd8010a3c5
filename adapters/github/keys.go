package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/tracksync/tracksync/adapters"
)

// Idempotency keys: a created issue carries its key in a hidden body
// marker (body.go); before a create the adapter looks for the key among
// the repository's issues created since its previous look (remembered per
// repository, so a lookup after the first costs one listing page), and a
// create whose answer was lost is found again by it.

// keyIndex remembers which issue carries which idempotency marker, so a
// create looks only at issues made since the last look.
type keyIndex struct {
	byKey     map[string]int
	watermark time.Time // every issue created before this was looked at
	built     bool
}

// findKey looks for the issue carrying key's marker. It lists the
// repository's issues newest first (state=all, sort=created) down to
// keyLag below the watermark of the previous look, so after the first
// create in a process it costs one request. The search API is not used: it is eventually
// consistent, and a create retried seconds after a lost answer must find
// the first one.
//
// cachedOnly (the caller vouches the key is unseen, CreateOptions.KeyUnseen)
// consults only the markers this process already knows, at no request.
func (t *Tracker) findKey(ctx context.Context, repo, key string, cachedOnly bool) (int, bool, error) {
	t.mu.Lock()
	idx := t.index(repo)
	if n, ok := idx.byKey[key]; ok || cachedOnly {
		t.mu.Unlock()
		return n, ok, nil
	}
	watermark, built := idx.watermark, idx.built
	t.mu.Unlock()
	var newest time.Time
	below := 0 // issues read that are older than the watermark
	page := 1
	for {
		var issues []*gh.Issue
		path := fmt.Sprintf("%s/issues?state=all&sort=created&direction=desc&per_page=100&page=%d", repoPath(repo), page)
		resp, err := t.call(ctx, "looking for marker "+key+" in "+repo, http.MethodGet, path, nil, &issues, nil)
		if err != nil {
			return 0, false, err
		}
		done := resp.NextPage == 0
		for _, is := range issues {
			created := is.GetCreatedAt().Time
			if created.After(newest) {
				newest = created
			}
			if built && created.Before(watermark) {
				if below++; below >= keyLagIssues || created.Before(watermark.Add(-keyLag)) {
					done = true
					break
				}
			}
			if is.IsPullRequest() {
				continue
			}
			if k := splitBody(is.GetBody()).Key; k != "" {
				t.remember(repo, k, is.GetNumber())
			}
		}
		if done {
			break
		}
		page = resp.NextPage
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if newest.After(idx.watermark) {
		idx.watermark = newest
	}
	idx.built = true
	n, ok := idx.byKey[key]
	return n, ok, nil
}

// keyLag is how far below the watermark findKey keeps looking. An issue
// can reach the replica answering a listing after newer ones did (its
// created_at is older than the watermark the last look set); stopping
// exactly at the watermark would never see it, and a retried create
// would duplicate it. Ten minutes of issues is usually within the one
// page a look reads anyway.
//
// keyLagIssues bounds the same look by count: a migration creating
// issues as fast as GitHub lets it would otherwise re-read ten minutes
// of them (dozens of pages) before every create. Fifty issues older than
// the watermark are more than half a minute of creates at GitHub's
// content limit (80 a minute), far past how late a listing shows an
// issue, and the look stays within its first page.
const (
	keyLag       = 10 * time.Minute
	keyLagIssues = 50
)

func (t *Tracker) index(repo string) *keyIndex {
	idx := t.keys[repo]
	if idx == nil {
		idx = &keyIndex{byKey: map[string]int{}}
		t.keys[repo] = idx
	}
	return idx
}

func (t *Tracker) remember(repo, key string, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.index(repo).byKey[key] = n
}

func (t *Tracker) forget(repo, key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.index(repo).byKey, key)
}

// dropCaches forgets the labels and milestones known in repo after a
// write was refused as invalid: one may have been deleted meanwhile, and
// the next attempt should look again rather than fail the same way.
func (t *Tracker) dropCaches(repo string, err error) {
	if !errors.Is(err, adapters.ErrInvalid) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.labels, repo)
	delete(t.milestones, repo)
}
