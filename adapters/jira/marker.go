package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

// Idempotency markers: an issue tracksync creates carries its key in an
// entity property (PropertyKey); before a create, and after one whose
// answer was lost, the key is looked for among the issues the account
// created recently; a created issue gets a remote link back to its
// counterpart (back_links).

func (t *Tracker) remember(id, key string) {
	if id == "" || key == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.keys[id], t.ids[key] = key, id
}

// idOf resolves an issue key to its id (Data Center epic links name keys).
func (t *Tracker) idOf(ctx context.Context, key string) (string, error) {
	t.mu.Lock()
	id, ok := t.ids[key]
	t.mu.Unlock()
	if ok {
		return id, nil
	}
	w, err := t.getWire(ctx, adapters.Ref{Key: key}, "issuetype")
	if err != nil {
		return "", err
	}
	t.remember(w.ID, w.Key)
	return w.ID, nil
}

// keyOf resolves an issue id to its key.
func (t *Tracker) keyOf(ctx context.Context, ref adapters.Ref) (string, error) {
	if ref.Key != "" {
		return ref.Key, nil
	}
	t.mu.Lock()
	key, ok := t.keys[ref.ID]
	t.mu.Unlock()
	if ok {
		return key, nil
	}
	w, err := t.getWire(ctx, ref, "issuetype")
	if err != nil {
		return "", err
	}
	t.remember(w.ID, w.Key)
	return w.Key, nil
}

// backLink adds a remote link to the counterpart so people can click
// through; its globalId makes a repeat harmless. A failure is logged, not
// returned: the link is a convenience.
func (t *Tracker) backLink(ctx context.Context, ref adapters.Ref, key, target string) {
	body := map[string]any{"globalId": "tracksync:" + key, "object": map[string]string{"url": target, "title": "tracksync: " + target}}
	if err := t.c.do(withIdempotent(ctx), http.MethodPost, t.path("/issue/"+refPath(ref)+"/remotelink"), body, nil); err != nil {
		t.o.Logger.Warn("adding the back-link failed", "tracker", t.name, "item", ref.Key, "error", err)
	}
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// ambiguous reports whether a failed write may have happened: the
// connection failed or Jira answered 5xx (not a 4xx, which it refused).
func ambiguous(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if errors.Is(err, adapters.ErrBadResponse) {
		// A 2xx nobody can read: the create may well have happened.
		return true
	}
	var ae *adapters.APIError
	if errors.As(err, &ae) && ae.Status != 0 {
		return ae.Status >= 500
	}
	return true
}

// markerCandidates bounds how many recent issues findByMarker reads.
const markerCandidates = 50

// findByMarker looks for the issue in project carrying idempotency key k.
//
// The JQL clause issue.property[tracksync].key finds an entity property
// only where an app declares a JQL index for it, and the search index lags
// behind writes, so it is only a fast path. The lookup that does not
// depend on property indexing reads the issues tracksync's own account
// created in the project within Options.MarkerWindow, newest first, and
// compares their tracksync property: a create whose answer was lost is
// among them.
func (t *Tracker) findByMarker(ctx context.Context, k, project string) (adapters.Item, bool, error) {
	jql := "issue.property[" + PropertyKey + "].key = " + quote(k)
	if project != "" {
		jql = "project = " + quote(project) + " AND " + jql
	}
	var ws []wireIssue
	if !t.noPropJQL.Load() {
		var err error
		if ws, err = t.searchAll(ctx, jql+" ORDER BY created ASC", 2); err != nil && !t.propertyRefused(err) {
			return adapters.Item{}, false, err
		}
	}
	if len(ws) > 1 {
		t.o.Logger.Warn("several jira issues carry one sync key; using the oldest", "tracker", t.name, "sync_key", k)
	}
	id := ""
	if len(ws) > 0 {
		id = ws[0].ID
	} else if project != "" {
		var err error
		if id, err = t.findRecentMarker(ctx, k, project); err != nil {
			return adapters.Item{}, false, err
		}
	}
	if id == "" {
		return adapters.Item{}, false, nil
	}
	it, err := t.Get(ctx, adapters.Ref{Tracker: t.name, ID: id})
	if err != nil {
		return adapters.Item{}, false, err
	}
	return it, true, nil
}

// propertyRefused reports whether err is Jira refusing a search that
// names tracksync's issue property. Where no app declares a JQL index for
// an entity property, a site may answer such a clause with 400 ("Field
// 'issue.property[tracksync].key' does not exist ...") rather than match
// nothing; the property clause is only a fast path, so the adapter stops
// naming it (the lookups by creator and creation time do not depend on
// it) and says so once.
func (t *Tracker) propertyRefused(err error) bool {
	var ae *adapters.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		return false
	}
	if t.noPropJQL.CompareAndSwap(false, true) {
		t.o.Logger.Info("jira refused a search naming tracksync's issue property (no app indexes it); sync keys are looked up among the issues this account created recently", "tracker", t.name, "error", err)
	}
	return true
}

// markerOf is the sync key in issue w's tracksync property, "" for none.
// The property comes with a search that asked for it; where the answer
// carries no properties at all, it is read on its own.
func (t *Tracker) markerOf(ctx context.Context, w wireIssue) (string, error) {
	raw, ok := w.Properties[PropertyKey]
	if w.Properties == nil {
		var prop wireProperty
		err := t.c.do(ctx, http.MethodGet, t.path("/issue/"+url.PathEscape(w.ID)+"/properties/"+PropertyKey), nil, &prop)
		var ae *adapters.APIError
		switch {
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			return "", nil
		case err != nil:
			return "", fmt.Errorf("reading the %s property of jira issue %s: %w", PropertyKey, w.Key, err)
		}
		raw, ok = prop.Value, true
	}
	var m marker
	if !ok || json.Unmarshal(raw, &m) != nil {
		return "", nil
	}
	return m.Key, nil
}

// findRecentMarker returns the id of the oldest issue carrying key k
// among those tracksync's account created in project within the marker
// window, or "". The search asks for the property with each issue; where
// the answer carries no properties at all, the property is read on its
// own.
func (t *Tracker) findRecentMarker(ctx context.Context, k, project string) (string, error) {
	mins := max(1, int64((t.o.MarkerWindow+time.Minute-1)/time.Minute))
	jql := "project = " + quote(project) + " AND creator = currentUser() AND created >= -" + strconv.FormatInt(mins, 10) + "m ORDER BY created DESC"
	ws, err := t.searchAll(ctx, jql, markerCandidates)
	if err != nil {
		return "", fmt.Errorf("looking for sync key %s among recent issues: %w", k, err)
	}
	found := ""
	for _, w := range ws {
		key, err := t.markerOf(ctx, w)
		if err != nil {
			return "", err
		}
		if key == k {
			if found != "" {
				t.o.Logger.Warn("several jira issues carry one sync key; using the oldest", "tracker", t.name, "sync_key", k)
			}
			// Newest first: the last match is the oldest.
			found = w.ID
		}
	}
	return found, nil
}
