package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/internal/rest"
)

func (t *Tracker) toComments(ws []wireComment) []adapters.Comment {
	out := make([]adapters.Comment, 0, len(ws))
	for _, w := range ws {
		out = append(out, t.toComment(w))
	}
	return out
}

func (t *Tracker) toComment(w wireComment) adapters.Comment {
	c := adapters.Comment{ID: w.ID, Body: t.readBody(w.Body), CreatedAt: parseTime(w.Created), UpdatedAt: parseTime(w.Updated)}
	if w.Author != nil {
		c.Author = t.userID(*w.Author)
	}
	for _, p := range w.Properties {
		var m marker
		if p.Key == PropertyKey && json.Unmarshal(p.Value, &m) == nil {
			c.SyncKey = m.Key
		}
	}
	return c
}

// listComments reads every comment, with properties, oldest first.
func (t *Tracker) listComments(ctx context.Context, ref adapters.Ref) ([]wireComment, error) {
	var out []wireComment
	for start := 0; ; {
		q := url.Values{"startAt": {strconv.Itoa(start)}, "maxResults": {"100"}, "orderBy": {"created"}}
		var page wireComments
		if err := t.c.doShape(ctx, http.MethodGet, t.path("/issue/"+refPath(ref)+"/comment?"+q.Encode()), nil, &page, rest.Object("a page of comments", "comments")); err != nil {
			return nil, fmt.Errorf("reading comments of jira issue %s: %w", ref, err)
		}
		out = append(out, page.Comments...)
		start += len(page.Comments)
		if len(page.Comments) == 0 || start >= page.Total {
			break
		}
	}
	if err := t.commentProperties(ctx, out); err != nil {
		return nil, fmt.Errorf("reading comments of jira issue %s: %w", ref, err)
	}
	return out, nil
}

// commentProperties fills in the comments' entity properties. The
// issue's comment endpoint expands only renderedBody, so they come from
// POST /comment/list?expand=properties, 1000 ids a request. A comment
// deleted in between is simply not answered for.
func (t *Tracker) commentProperties(ctx context.Context, cs []wireComment) error {
	for start := 0; start < len(cs); start += 1000 {
		batch := cs[start:min(start+1000, len(cs))]
		ids := make([]int64, 0, len(batch))
		for _, c := range batch {
			n, err := strconv.ParseInt(c.ID, 10, 64)
			if err != nil {
				return fmt.Errorf("comment id %q is not a number", c.ID)
			}
			ids = append(ids, n)
		}
		var res struct {
			Values []wireComment `json:"values"`
		}
		if err := t.c.do(withIdempotent(ctx), http.MethodPost, t.path("/comment/list?expand=properties"), map[string]any{"ids": ids}, &res); err != nil {
			return fmt.Errorf("reading the properties of %d comments: %w", len(ids), err)
		}
		props := make(map[string][]wireProperty, len(res.Values))
		for _, v := range res.Values {
			props[v.ID] = v.Properties
		}
		for i := range batch {
			batch[i].Properties = props[batch[i].ID]
		}
	}
	return nil
}

// Comments lists an issue's comments oldest first, leaving out those
// restricted to a group or role and Service Management internal notes:
// they are not for the other tracker's readers.
func (t *Tracker) Comments(ctx context.Context, ref adapters.Ref) ([]adapters.Comment, error) {
	ws, err := t.listComments(ctx, ref)
	if err != nil {
		return nil, err
	}
	open := ws[:0:0]
	for _, w := range ws {
		if !w.restricted() {
			open = append(open, w)
		}
	}
	return t.toComments(open), nil
}

// findComment returns the comment carrying idempotency key k.
func (t *Tracker) findComment(ctx context.Context, ref adapters.Ref, k string) (adapters.Comment, bool, error) {
	ws, err := t.listComments(ctx, ref)
	if err != nil {
		return adapters.Comment{}, false, err
	}
	for _, w := range ws {
		if c := t.toComment(w); c.SyncKey == k {
			return c, true, nil
		}
	}
	return adapters.Comment{}, false, nil
}

// AddComment adds a comment; with a key, the comment carries it as the
// tracksync comment property and a repeat returns the first.
func (t *Tracker) AddComment(ctx context.Context, ref adapters.Ref, c adapters.Comment, key string) (adapters.Comment, error) {
	if key != "" {
		if got, ok, err := t.findComment(ctx, ref, key); err != nil {
			return adapters.Comment{}, err
		} else if ok {
			return got, nil
		}
	}
	body := map[string]any{"body": t.writeBody(c.Body)}
	if key != "" {
		body["properties"] = []wireProperty{{Key: PropertyKey, Value: mustJSON(marker{Key: key})}}
	}
	var w wireComment
	err := t.c.do(ctx, http.MethodPost, t.path("/issue/"+refPath(ref)+"/comment"), body, &w)
	if err != nil {
		if key != "" && ambiguous(ctx, err) {
			if got, ok, ferr := t.findComment(ctx, ref, key); ferr == nil && ok {
				return got, nil
			}
		}
		return adapters.Comment{}, fmt.Errorf("commenting on jira issue %s: %w", ref, err)
	}
	c = t.toComment(w)
	c.SyncKey = key
	return c, nil
}

// EditComment replaces a comment's body.
func (t *Tracker) EditComment(ctx context.Context, ref adapters.Ref, c adapters.Comment) (adapters.Comment, error) {
	var w wireComment
	body := map[string]any{"body": t.writeBody(c.Body)}
	if err := t.c.do(ctx, http.MethodPut, t.path("/issue/"+refPath(ref)+"/comment/"+url.PathEscape(c.ID)), body, &w); err != nil {
		return adapters.Comment{}, fmt.Errorf("editing comment %s of jira issue %s: %w", c.ID, ref, err)
	}
	return t.toComment(w), nil
}
