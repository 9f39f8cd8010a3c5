package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/tracksync/tracksync/adapters"
)

// listIssues is List without the project status source (see
// projects.go). See scope for the scope syntax.
//
// Each repository is read with GET /repos/{o}/{r}/issues?state=all&
// sort=updated&direction=asc&since=S, where S is where the cursor stands.
// Pages are keyset pages: after a page, the next query starts at the
// newest updated_at seen so far, so issues changing during a listing
// cannot shift an unread one out of view (page-number paging would).
// GitHub's since has second precision and is inclusive: the cursor keeps
// the issues already returned at exactly S with their versions, and skips
// them unless they changed again within that second. The first query of a
// repository carries If-None-Match with the ETag the cursor stored, so a
// poll with no changes is one request answered 304, which costs no quota.
func (t *Tracker) listIssues(ctx context.Context, req adapters.ListRequest) (adapters.ListPage, error) {
	sc, err := parseScope(req.Scope)
	if err != nil {
		return adapters.ListPage{}, err
	}
	t.mu.Lock()
	if t.opts.Repo == "" {
		t.repo = sc.repos[0]
	}
	t.mu.Unlock()
	start, err := parseCursor(req.Cursor)
	if err != nil {
		return adapters.ListPage{}, err
	}
	tok := pageToken{Page: 1, Next: cursor{}}
	for k, v := range start {
		tok.Next[k] = v
	}
	if req.PageToken != "" {
		if err := adapters.DecodeToken(req.PageToken, &tok); err != nil || tok.Repo < 0 || tok.Repo > len(sc.repos) || tok.Next == nil {
			return adapters.ListPage{}, fmt.Errorf("github list: page token %q is not one this tracker issued: %w", req.PageToken, adapters.Permanent(adapters.ErrInvalid))
		}
	}
	size := req.PageSize
	if size <= 0 || size > 100 {
		size = 100
	}
	var items []adapters.Item
	for tok.Repo < len(sc.repos) {
		repo := sc.repos[tok.Repo]
		pos := tok.Next[repo]
		q := url.Values{"state": {sc.state}, "sort": {"updated"}, "direction": {"asc"}, "per_page": {strconv.Itoa(size)}}
		if pos.Since != "" {
			q.Set("since", pos.Since)
		}
		if len(sc.labels) > 0 {
			q.Set("labels", strings.Join(sc.labels, ","))
		}
		if tok.Page > 1 {
			q.Set("page", strconv.Itoa(tok.Page))
		}
		var header http.Header
		conditional := tok.Page == 1 && pos.ETag != ""
		if conditional {
			header = http.Header{"If-None-Match": {pos.ETag}}
		}
		var issues []*issue
		resp, err := t.call(ctx, "listing issues of "+repo, http.MethodGet, repoPath(repo)+"/issues?"+q.Encode(), nil, &issues, header)
		if err != nil {
			return adapters.ListPage{}, err
		}
		if resp.StatusCode == http.StatusNotModified {
			tok.Repo, tok.Page = tok.Repo+1, 1
			continue
		}
		before := pos.Since
		if tok.Page == 1 {
			pos.ETag = resp.Header.Get("ETag")
		}
		for _, is := range issues {
			ts := is.GetUpdatedAt().UTC().Truncate(time.Second).Format(time.RFC3339)
			v := version(is)
			if ts == pos.Since && pos.Seen[strconv.Itoa(is.GetNumber())] == v {
				continue
			}
			if ts > pos.Since {
				pos.Since, pos.Seen = ts, map[string]string{}
			}
			if ts == pos.Since {
				if pos.Seen == nil {
					pos.Seen = map[string]string{}
				}
				pos.Seen[strconv.Itoa(is.GetNumber())] = v
			}
			if !is.IsPullRequest() {
				items = append(items, t.toItem(repo, is))
			}
		}
		switch {
		case resp.NextPage == 0:
			// The stored ETag answers the query the next listing makes
			// only if since did not move during this one.
			if pos.Since != before || tok.Page != 1 {
				pos.ETag = ""
			}
			tok.Repo, tok.Page = tok.Repo+1, 1
		case pos.Since != before:
			pos.ETag = ""
			tok.Page = 1
		default:
			// A whole page within one second: step by page number.
			pos.ETag = ""
			tok.Page++
		}
		tok.Next[repo] = pos
		if len(items) > 0 && tok.Repo < len(sc.repos) {
			return adapters.ListPage{Items: items, NextPageToken: adapters.EncodeToken(tok)}, nil
		}
	}
	return adapters.ListPage{Items: items, Cursor: adapters.EncodeToken(tok.Next)}, nil
}

// comments lists an issue's comments, oldest first.
func (t *Tracker) comments(ctx context.Context, repo string, n int) ([]adapters.Comment, error) {
	var out []adapters.Comment
	page := 1
	for {
		var cs []*gh.IssueComment
		path := fmt.Sprintf("%s/issues/%d/comments?per_page=100&page=%d", repoPath(repo), n, page)
		resp, err := t.call(ctx, "listing comments of "+issueID(repo, n), http.MethodGet, path, nil, &cs, nil)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out = append(out, toComment(c))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		page = resp.NextPage
	}
}

func toComment(c *gh.IssueComment) adapters.Comment {
	b := splitBody(c.GetBody())
	return adapters.Comment{
		ID: strconv.FormatInt(c.GetID(), 10), Author: c.GetUser().GetLogin(), Body: b.Text, SyncKey: b.Key,
		CreatedAt: c.GetCreatedAt().Time, UpdatedAt: c.GetUpdatedAt().Time,
	}
}

// Comments implements adapters.Commenter.
func (t *Tracker) Comments(ctx context.Context, ref adapters.Ref) ([]adapters.Comment, error) {
	repo, n, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	return t.comments(ctx, repo, n)
}

// AddComment implements adapters.Commenter. With a key, the comment
// carries the same hidden marker as issue bodies, and an earlier comment
// with it is returned instead of adding another.
func (t *Tracker) AddComment(ctx context.Context, ref adapters.Ref, c adapters.Comment, key string) (adapters.Comment, error) {
	repo, n, err := parseRef(ref)
	if err != nil {
		return adapters.Comment{}, err
	}
	id := issueID(repo, n)
	if key != "" {
		page := 1
		for {
			var cs []*gh.IssueComment
			path := fmt.Sprintf("%s/issues/%d/comments?per_page=100&page=%d", repoPath(repo), n, page)
			resp, err := t.call(ctx, "listing comments of "+id, http.MethodGet, path, nil, &cs, nil)
			if err != nil {
				return adapters.Comment{}, err
			}
			for _, x := range cs {
				if splitBody(x.GetBody()).Key == key {
					return toComment(x), nil
				}
			}
			if resp.NextPage == 0 {
				break
			}
			page = resp.NextPage
		}
	}
	body := rawBody{Text: c.Body, Key: key}.join()
	var out gh.IssueComment
	if _, err := t.callShape(ctx, "commenting on "+id, http.MethodPost, fmt.Sprintf("%s/issues/%d/comments", repoPath(repo), n), map[string]string{"body": body}, &out, nil, commentShape); err != nil {
		return adapters.Comment{}, err
	}
	return toComment(&out), nil
}

// EditComment implements adapters.Commenter; the comment's marker, if
// any, is kept.
func (t *Tracker) EditComment(ctx context.Context, ref adapters.Ref, c adapters.Comment) (adapters.Comment, error) {
	repo, _, err := parseRef(ref)
	if err != nil {
		return adapters.Comment{}, err
	}
	cid, err := strconv.ParseInt(c.ID, 10, 64)
	if err != nil {
		return adapters.Comment{}, fmt.Errorf("github: comment %q on %s is not a comment id: %w", c.ID, ref, adapters.ErrNotFound)
	}
	path := fmt.Sprintf("%s/issues/comments/%d", repoPath(repo), cid)
	var cur gh.IssueComment
	if _, err := t.callShape(ctx, fmt.Sprintf("reading comment %d on %s", cid, ref), http.MethodGet, path, nil, &cur, nil, commentShape); err != nil {
		return adapters.Comment{}, err
	}
	b := splitBody(cur.GetBody())
	if b.Text == c.Body {
		return toComment(&cur), nil
	}
	b.Text = c.Body
	var out gh.IssueComment
	if _, err := t.callShape(ctx, fmt.Sprintf("editing comment %d on %s", cid, ref), http.MethodPatch, path, map[string]string{"body": b.join()}, &out, nil, commentShape); err != nil {
		return adapters.Comment{}, err
	}
	return toComment(&out), nil
}
