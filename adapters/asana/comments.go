package asana

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

// Comments are stories of subtype comment_added; the system stories Asana
// writes beside them (section changed, marked complete) are left out. A
// comment's idempotency key is the same invisible marker as a task's, at
// the end of its html_text.

// Comments implements adapters.Commenter.
func (t *Tracker) Comments(ctx context.Context, ref adapters.Ref) ([]adapters.Comment, error) {
	gid := refGID(ref)
	stories, err := listAll[story](ctx, t, taskPath(gid)+"/stories", url.Values{"opt_fields": {storyFields}}, "stories")
	if err != nil {
		return nil, fmt.Errorf("reading the comments of asana task %s: %w", gid, err)
	}
	var out []adapters.Comment
	for _, s := range stories {
		if s.ResourceSubtype != "comment_added" {
			continue
		}
		c, err := t.toComment(s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (t *Tracker) toComment(s story) (adapters.Comment, error) {
	html, key := splitMarker(s.HTMLText)
	body, err := fromRichText(html)
	if err != nil {
		return adapters.Comment{}, fmt.Errorf("asana story %s: reading html_text: %w", s.GID, err)
	}
	c := adapters.Comment{ID: s.GID, Body: body, CreatedAt: s.CreatedAt, UpdatedAt: s.CreatedAt, SyncKey: key}
	if s.CreatedBy != nil {
		c.Author = t.email(s.CreatedBy.GID)
	}
	return c, nil
}

// AddComment implements adapters.Commenter.
func (t *Tracker) AddComment(ctx context.Context, ref adapters.Ref, c adapters.Comment, idempotencyKey string) (adapters.Comment, error) {
	gid := refGID(ref)
	if idempotencyKey != "" {
		existing, err := t.Comments(ctx, ref)
		if err != nil {
			return adapters.Comment{}, err
		}
		for _, e := range existing {
			if e.SyncKey == idempotencyKey {
				return e, nil
			}
		}
	}
	html, err := toRichText(c.Body)
	if err != nil {
		return adapters.Comment{}, invalid("asana comment on task %s: %v", gid, err)
	}
	var out one[story]
	err = t.call(ctx, request{method: http.MethodPost, path: taskPath(gid) + "/stories", query: url.Values{"opt_fields": {storyFields}},
		body: map[string]any{"html_text": withMarker(html, idempotencyKey)}}, recordShape("a story"), &out)
	if err != nil {
		return adapters.Comment{}, fmt.Errorf("commenting on asana task %s: %w", gid, err)
	}
	return t.toComment(out.Data)
}

// EditComment implements adapters.Commenter; the comment keeps its key.
func (t *Tracker) EditComment(ctx context.Context, ref adapters.Ref, c adapters.Comment) (adapters.Comment, error) {
	key := c.SyncKey
	if key == "" {
		cur, err := getOne[story](ctx, t, "/stories/"+url.PathEscape(c.ID), storyFields, "a story")
		if err != nil {
			return adapters.Comment{}, fmt.Errorf("reading asana comment %s on task %s: %w", c.ID, refGID(ref), err)
		}
		_, key = splitMarker(cur.HTMLText)
	}
	html, err := toRichText(c.Body)
	if err != nil {
		return adapters.Comment{}, invalid("asana comment %s: %v", c.ID, err)
	}
	var out one[story]
	err = t.call(ctx, request{method: http.MethodPut, path: "/stories/" + url.PathEscape(c.ID), query: url.Values{"opt_fields": {storyFields}},
		body: map[string]any{"html_text": withMarker(html, key)}}, recordShape("a story"), &out)
	if err != nil {
		return adapters.Comment{}, fmt.Errorf("editing asana comment %s on task %s: %w", c.ID, refGID(ref), err)
	}
	return t.toComment(out.Data)
}

func splitFields(s string) []string { return strings.Split(s, ",") }
