package asana

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// Listing.
//
// A full listing (cursor "") first takes a fresh Events API sync token for
// each project in scope (a call without one answers 412 with a token),
// then pages through the projects' tasks. Its cursor holds those tokens,
// so every change made while it was listing comes back next time.
//
// An incremental listing asks each project's events since its token: one
// request per project when nothing changed. The tasks the events name are
// read back (ten to a /batch request), deleted ones are reported as
// Deleted. A 412 (a token older than about a day) is
// adapters.ErrCursorExpired: the engine lists that side in full again.
// Events are delivered at most once, so every SafetyPoll the listing also
// asks for the tasks modified since the newest modified_at it has seen.

// cursor is what an Asana listing's cursor holds.
type cursor struct {
	Syncs  map[string]string `json:"s"` // project gid -> sync token
	Since  time.Time         `json:"m"` // newest modified_at listed
	Polled time.Time         `json:"p"` // when modified_since was last asked
}

// pageToken is where a full listing stands.
type pageToken struct {
	P int    `json:"p"` // index of the project being read
	O string `json:"o"` // Asana's offset within it
	C cursor `json:"c"` // the cursor the listing will end with
}

// pollOverlap widens the modified_since question, against clock skew
// between Asana's servers; what comes back twice is dropped by modified_at.
const pollOverlap = time.Minute

// List implements adapters.Tracker.
func (t *Tracker) List(ctx context.Context, req adapters.ListRequest) (adapters.ListPage, error) {
	sc, err := parseScope(req.Scope)
	if err != nil {
		return adapters.ListPage{}, err
	}
	if sc.portfolio != "" {
		return t.listPortfolio(ctx, sc, req)
	}
	for _, p := range sc.projects {
		t.seeProject(p)
	}
	if err := t.ensureMeta(ctx); err != nil {
		return adapters.ListPage{}, err
	}
	if req.Cursor == "" {
		return t.listFull(ctx, sc, req)
	}
	var c cursor
	if err := adapters.DecodeToken(req.Cursor, &c); err != nil || c.Syncs == nil {
		return adapters.ListPage{}, adapters.Permanent(fmt.Errorf("asana listing: cursor %q is not one this adapter made: %w", req.Cursor, adapters.ErrInvalid))
	}
	return t.listSince(ctx, sc, c)
}

// freshSync takes a new sync token for project.
func (t *Tracker) freshSync(ctx context.Context, project string) (string, error) {
	var ev eventsPage
	err := t.call(ctx, request{method: http.MethodGet, path: "/events", query: url.Values{"resource": {project}}}, dataShape("events"), &ev)
	var se *syncExpired
	switch {
	case errors.As(err, &se):
		return se.fresh, nil
	case err != nil:
		return "", fmt.Errorf("taking an events sync token for asana project %s: %w", project, err)
	case ev.Sync == "":
		return "", fmt.Errorf("asana GET /events?resource=%s: no sync token in the answer: %w", project, adapters.ErrBadResponse)
	}
	return ev.Sync, nil
}

func (t *Tracker) listFull(ctx context.Context, sc scope, req adapters.ListRequest) (adapters.ListPage, error) {
	var pt pageToken
	if req.PageToken == "" {
		pt.C = cursor{Syncs: map[string]string{}, Polled: t.now()}
		for _, p := range sc.projects {
			tok, err := t.freshSync(ctx, p)
			if err != nil {
				return adapters.ListPage{}, err
			}
			pt.C.Syncs[p] = tok
		}
	} else if err := adapters.DecodeToken(req.PageToken, &pt); err != nil || pt.P >= len(sc.projects) || pt.C.Syncs == nil {
		return adapters.ListPage{}, adapters.Permanent(fmt.Errorf("asana listing: page token %q is not one this adapter made for scope %q: %w", req.PageToken, req.Scope, adapters.ErrInvalid))
	}
	size := req.PageSize
	if size <= 0 || size > 100 {
		size = 100
	}
	project := sc.projects[pt.P]
	q := url.Values{"limit": {strconv.Itoa(size)}, "opt_fields": {taskFields}}
	if pt.O != "" {
		q.Set("offset", pt.O)
	}
	var pg page[task]
	if err := t.call(ctx, request{method: http.MethodGet, path: "/projects/" + project + "/tasks", query: q}, dataShape("tasks"), &pg); err != nil {
		return adapters.ListPage{}, fmt.Errorf("listing asana project %s: %w", project, err)
	}
	var out adapters.ListPage
	for _, tk := range pg.Data {
		t.record(tk)
		if tk.ModifiedAt.After(pt.C.Since) {
			pt.C.Since = tk.ModifiedAt
		}
		if !sc.holds(tk) || listedEarlier(tk, sc.projects[:pt.P]) {
			continue
		}
		it, err := t.toItem(ctx, tk, project)
		if err != nil {
			return adapters.ListPage{}, err
		}
		out.Items = append(out.Items, it)
	}
	switch {
	case pg.NextPage != nil && pg.NextPage.Offset != "":
		pt.O = pg.NextPage.Offset
		out.NextPageToken = adapters.EncodeToken(pt)
	case pt.P+1 < len(sc.projects):
		pt.P, pt.O = pt.P+1, ""
		out.NextPageToken = adapters.EncodeToken(pt)
	default:
		t.mu.Lock()
		for _, p := range sc.projects {
			t.indexed[p] = true
			if t.scanned[p].Before(pt.C.Polled) {
				t.scanned[p] = pt.C.Polled
			}
		}
		t.mu.Unlock()
		out.Cursor = adapters.EncodeToken(pt.C)
	}
	return out, nil
}

// listedEarlier reports whether tk is in one of the projects a listing
// read before, so a task in two scope projects is listed once.
func listedEarlier(tk task, earlier []string) bool {
	for _, m := range tk.Memberships {
		if m.Project != nil && slices.Contains(earlier, m.Project.GID) {
			return true
		}
	}
	return false
}

// listSince lists what changed since cursor c, in one page.
func (t *Tracker) listSince(ctx context.Context, sc scope, c cursor) (adapters.ListPage, error) {
	next := cursor{Syncs: map[string]string{}, Since: c.Since, Polled: c.Polled}
	changed := map[string]bool{}
	deleted := map[string]bool{}
	var order []string
	note := func(gid string, gone bool) {
		if !changed[gid] && !deleted[gid] {
			order = append(order, gid)
		}
		if gone {
			deleted[gid] = true
		} else {
			changed[gid] = true
		}
	}
	for _, p := range sc.projects {
		tok, ok := c.Syncs[p]
		if !ok {
			// A project added to the scope since the cursor was made.
			return adapters.ListPage{}, fmt.Errorf("asana listing: project %s has no sync token in the cursor: %w", p, adapters.ErrCursorExpired)
		}
		for calls := 0; ; calls++ {
			var ev eventsPage
			err := t.call(ctx, request{method: http.MethodGet, path: "/events", query: url.Values{"resource": {p}, "sync": {tok}}}, dataShape("events"), &ev)
			if err != nil {
				if errors.Is(err, adapters.ErrCursorExpired) {
					return adapters.ListPage{}, fmt.Errorf("asana events of project %s: sync token expired: %w", p, err)
				}
				return adapters.ListPage{}, fmt.Errorf("reading the events of asana project %s: %w", p, err)
			}
			for _, e := range ev.Data {
				switch {
				case e.Resource.ResourceType == "task":
					note(e.Resource.GID, e.Action == "deleted")
				case e.Resource.ResourceType == "story" && e.Parent != nil && e.Parent.ResourceType == "task":
					note(e.Parent.GID, false)
				}
			}
			if ev.Sync != "" {
				tok = ev.Sync
			}
			if !ev.HasMore || calls > 1000 {
				break
			}
		}
		next.Syncs[p] = tok
	}

	fetched := map[string]task{}
	now := t.now()
	if now.Sub(c.Polled) >= t.opts.SafetyPoll {
		since := c.Since
		if since.IsZero() {
			// Nothing was listed yet (empty projects): since the cursor
			// was first made.
			since = c.Polled
		}
		for _, p := range sc.projects {
			q := url.Values{"project": {p}, "opt_fields": {taskFields}, "modified_since": {since.Add(-pollOverlap).UTC().Format(time.RFC3339)}}
			tasks, err := listAll[task](ctx, t, "/tasks", q, "tasks")
			if err != nil {
				return adapters.ListPage{}, fmt.Errorf("asking asana project %s for tasks modified since %s: %w", p, c.Since.Format(time.RFC3339), err)
			}
			for _, tk := range tasks {
				if tk.ModifiedAt.After(c.Since) {
					fetched[tk.GID] = tk
					if !changed[tk.GID] && !deleted[tk.GID] {
						order = append(order, tk.GID)
						changed[tk.GID] = true
					}
				}
			}
		}
		next.Polled = now
	}
	var want []string
	for _, g := range order {
		if _, ok := fetched[g]; !ok && !deleted[g] {
			want = append(want, g)
		}
	}
	got, gone, err := t.fetchTasks(ctx, want)
	if err != nil {
		return adapters.ListPage{}, err
	}
	for g, tk := range got {
		fetched[g] = tk
	}
	for _, g := range gone {
		deleted[g] = true
	}
	var out adapters.ListPage
	for _, g := range order {
		if deleted[g] {
			out.Deleted = append(out.Deleted, adapters.Ref{Tracker: t.name, Project: sc.projects[0], ID: g, Key: g})
			continue
		}
		tk, ok := fetched[g]
		if !ok {
			continue
		}
		t.record(tk)
		if tk.ModifiedAt.After(next.Since) {
			next.Since = tk.ModifiedAt
		}
		if !sc.holds(tk) {
			continue
		}
		it, err := t.toItem(ctx, tk, "")
		if err != nil {
			return adapters.ListPage{}, err
		}
		out.Items = append(out.Items, it)
	}
	out.Cursor = adapters.EncodeToken(next)
	return out, nil
}

// fetchTasks reads tasks by gid: one alone with GET, more ten to a /batch
// request. Tasks that are gone come back in gone.
func (t *Tracker) fetchTasks(ctx context.Context, gids []string) (map[string]task, []string, error) {
	got := map[string]task{}
	var gone []string
	if len(gids) == 1 {
		tk, err := t.getTask(ctx, gids[0])
		switch {
		case errors.Is(err, adapters.ErrNotFound):
			return got, gids, nil
		case err != nil:
			return nil, nil, fmt.Errorf("reading changed asana task %s: %w", gids[0], err)
		}
		got[tk.GID] = tk
		return got, nil, nil
	}
	fields := splitFields(taskFields)
	for len(gids) > 0 {
		n := min(len(gids), 10)
		actions := make([]batchAction, n)
		for i, g := range gids[:n] {
			actions[i] = batchAction{RelativePath: taskPath(g), Method: "get", Options: &batchOptions{Fields: fields}}
		}
		res, err := t.batch(ctx, actions, true)
		if err != nil {
			return nil, nil, fmt.Errorf("reading changed asana tasks: %w", err)
		}
		for i, r := range res {
			switch {
			case r.StatusCode == http.StatusNotFound:
				gone = append(gone, gids[i])
			case r.StatusCode >= 300:
				return nil, nil, fmt.Errorf("reading changed asana task %s: %w", gids[i], t.batchError(actions[i], r))
			default:
				tk, err := t.batchTask(actions[i], r)
				if err != nil {
					return nil, nil, fmt.Errorf("reading changed asana task %s: %w", gids[i], err)
				}
				got[tk.GID] = tk
			}
		}
		gids = gids[n:]
	}
	return got, gone, nil
}
