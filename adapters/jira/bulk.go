package jira

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/internal/rest"
)

var _ adapters.BulkCreator = (*Tracker)(nil)

// bulkMax is the most issues POST /issue/bulk takes.
const bulkMax = 50

// CreateMany creates issues 50 a request (POST /issue/bulk). Every request
// must carry an idempotency key: Jira's answer lists the issues it made
// without saying which element each came from, so they are found again by
// their tracksync property, and a retried batch finds those an earlier
// attempt made (within Options.MarkerWindow, as Create). A batch is a
// handful of requests (look for earlier copies, create, find, read);
// statuses other than the workflow's first take their transitions, and each
// back-link one request, per issue.
func (t *Tracker) CreateMany(ctx context.Context, reqs []adapters.CreateRequest) ([]adapters.CreateResult, error) {
	out := make([]adapters.CreateResult, len(reqs))
	fails := adapters.CreateErrors{}
	for start := 0; start < len(reqs); start += bulkMax {
		end := min(start+bulkMax, len(reqs))
		each, err := t.createChunk(ctx, reqs[start:end], out[start:end])
		if err != nil {
			return nil, err
		}
		for i, e := range each {
			fails[start+i] = e
		}
	}
	if len(fails) > 0 {
		return out, fails
	}
	return out, nil
}

// createChunk makes reqs (one bulk request's worth) into out. The
// requests refused on their own are returned by index, their results
// left empty; an error concerns every request. Those refused only for
// fields the project's screen lacks are made again, one by one, without
// them (learnOffScreen): the bulk create knows them from then on.
func (t *Tracker) createChunk(ctx context.Context, reqs []adapters.CreateRequest, out []adapters.CreateResult) (adapters.CreateErrors, error) {
	fails, err := t.createChunkOnce(ctx, reqs, out)
	if err != nil {
		return nil, err
	}
	for i, e := range fails {
		if !errors.Is(e, errOffScreen) {
			continue
		}
		// Jira refused the element: nothing was made for its key.
		opts := reqs[i].Options
		opts.KeyUnseen = true
		res, err := t.Create(ctx, reqs[i].Item, opts)
		if err != nil {
			fails[i] = err
			continue
		}
		out[i] = res
		delete(fails, i)
	}
	return fails, nil
}

// errOffScreen marks a bulk element refused only for fields the
// project's screen lacks.
var errOffScreen = errors.New("fields not on the project's screen")

func (t *Tracker) createChunkOnce(ctx context.Context, reqs []adapters.CreateRequest, out []adapters.CreateResult) (adapters.CreateErrors, error) {
	project := ""
	keys := make([]string, len(reqs))
	for i, r := range reqs {
		p := cmp.Or(r.Item.Ref.Project, t.o.Project, scopeProject(r.Options.Scope))
		if p == "" {
			return nil, adapters.Permanent(fmt.Errorf("creating jira issue %q: no project to create it in: set trackers.%s.project: %w", r.Item.Title, t.name, adapters.ErrInvalid))
		}
		if project != "" && p != project {
			return nil, adapters.Permanent(fmt.Errorf("creating jira issues in bulk: one batch holds projects %s and %s: %w", project, p, adapters.ErrInvalid))
		}
		project = p
		if r.Options.IdempotencyKey == "" {
			return nil, adapters.Permanent(fmt.Errorf("creating jira issue %q in bulk: no idempotency key, so the answer could not be matched to it: %w", r.Item.Title, adapters.ErrInvalid))
		}
		keys[i] = r.Options.IdempotencyKey
	}
	// Keys the caller vouches for (CreateOptions.KeyUnseen: a full plan
	// listed the scope) are not looked for: a search of the whole marker
	// window per batch otherwise.
	unseen := true
	for _, r := range reqs {
		unseen = unseen && r.Options.KeyUnseen
	}
	found := map[string]string{}
	var err error
	if !unseen {
		found, err = t.findMarkers(ctx, project, keys)
	}
	if err != nil {
		return nil, fmt.Errorf("creating %d jira issues in %s: looking for earlier copies: %w", len(reqs), project, err)
	}
	existed := map[string]bool{}
	var updates []any
	var made []int
	// fails are the requests refused on their own (a value Jira cannot
	// take, an element of the bulk answer's errors): the others are made.
	fails := adapters.CreateErrors{}
	for i, r := range reqs {
		if _, ok := found[keys[i]]; ok {
			existed[keys[i]] = true
			continue
		}
		body, err := t.createBody(ctx, r.Item, project, keys[i])
		if err != nil && adapters.IsPermanent(err) {
			fails[i] = err
			continue
		}
		if err != nil {
			return nil, err
		}
		updates = append(updates, body)
		made = append(made, i)
	}
	if len(updates) > 0 {
		if err := adapters.Fence(ctx); err != nil {
			return nil, fmt.Errorf("creating %d jira issues in %s: %w", len(updates), project, err)
		}
		var res struct {
			Issues []struct {
				ID  string `json:"id"`
				Key string `json:"key"`
			} `json:"issues"`
			Errors []struct {
				Status  int             `json:"status"`
				Element int             `json:"failedElementNumber"`
				Errors  json.RawMessage `json:"elementErrors"`
			} `json:"errors"`
		}
		err := t.c.doShape(ctx, http.MethodPost, t.path("/issue/bulk"), map[string]any{"issueUpdates": updates}, &res, rest.Object("the bulk create's answer", "issues"))
		if err != nil && !ambiguous(ctx, err) {
			return nil, fmt.Errorf("creating %d jira issues in %s: %w", len(updates), project, err)
		}
		lost := err
		// Jira makes the issues it can and names the elements it
		// refused: those fail on their own, the rest go on.
		refused := map[int]bool{}
		for _, e := range res.Errors {
			if e.Element < 0 || e.Element >= len(made) {
				return nil, fmt.Errorf("creating %d jira issues in %s: Jira refused element %d, which it was not sent: %w", len(updates), project, e.Element, adapters.ErrBadResponse)
			}
			i := made[e.Element]
			msg := fmt.Errorf("creating jira issue %q in bulk (element %d of %d, HTTP %d): %s", reqs[i].Item.Title, e.Element, len(updates), e.Status, strings.TrimSpace(string(e.Errors)))
			var ee struct {
				Errors map[string]string `json:"errors"`
			}
			if json.Unmarshal(e.Errors, &ee) == nil && t.learnOffScreen(project, createdType(updates[e.Element].(map[string]any)), ee.Errors) {
				msg = fmt.Errorf("%w: %w", errOffScreen, msg)
			}
			if e.Status >= 400 && e.Status < 500 {
				msg = adapters.Permanent(msg)
			}
			fails[i], refused[e.Element] = msg, true
		}
		if len(refused) > 0 {
			kept := made[:0:0]
			for j, i := range made {
				if !refused[j] {
					kept = append(kept, i)
				}
			}
			made = kept
		}
		// The answer cannot be matched to the requests: find them by key.
		missing := make([]string, len(made))
		for j, i := range made {
			missing[j] = keys[i]
		}
		again, err := t.findMarkers(ctx, project, missing)
		if err != nil {
			return nil, fmt.Errorf("creating %d jira issues in %s: finding them: %w", len(updates), project, err)
		}
		for k, id := range again {
			found[k] = id
		}
		for _, i := range made {
			if _, ok := found[keys[i]]; !ok {
				if lost != nil {
					return nil, fmt.Errorf("creating %d jira issues in %s: %w", len(updates), project, lost)
				}
				return nil, fmt.Errorf("creating jira issue %q in bulk: Jira answered, but no issue carries its key %s: %w", reqs[i].Item.Title, keys[i], adapters.ErrBadResponse)
			}
		}
	}
	ids := make([]string, len(reqs))
	var fetch []string
	for i := range reqs {
		if fails[i] == nil {
			ids[i] = found[keys[i]]
			fetch = append(fetch, ids[i])
		}
	}
	// Back-links first, so the read below returns each issue's version
	// as tracksync leaves it (a link moves it).
	for i, r := range reqs {
		if fails[i] != nil {
			continue
		}
		if link := cmp.Or(r.Options.BackLink, r.Item.Ref.URL); link != "" && !existed[keys[i]] && !t.o.NoBackLinks {
			t.backLink(ctx, adapters.Ref{Tracker: t.name, ID: ids[i], Key: ids[i]}, keys[i], link)
		}
	}
	ws, err := t.fetchMany(ctx, fetch)
	if err != nil {
		return nil, fmt.Errorf("creating %d jira issues in %s: reading them: %w", len(reqs), project, err)
	}
	byID := map[string]wireIssue{}
	for _, w := range ws {
		byID[w.ID] = w
	}
	var moved []string
	for i, r := range reqs {
		if fails[i] != nil {
			continue
		}
		w, ok := byID[ids[i]]
		if !ok {
			t.forgetMarker(project, keys[i])
			return nil, fmt.Errorf("creating jira issue %q in bulk: issue %s is gone: %w", r.Item.Title, ids[i], adapters.ErrNotFound)
		}
		it, err := t.toItem(ctx, w)
		if err != nil {
			return nil, err
		}
		if !existed[keys[i]] && r.Item.Status != "" && r.Item.Status != it.Status {
			if err := t.moveTo(ctx, it.Ref, r.Item.Status, &w); err != nil {
				return nil, fmt.Errorf("created jira issue %s, then: %w", it.Ref.Key, err)
			}
			moved = append(moved, ids[i])
		}
		out[i] = adapters.CreateResult{Item: it, Existed: existed[keys[i]]}
	}
	if len(moved) == 0 {
		return fails, nil
	}
	// The moved ones are read again together: their versions moved.
	ws, err = t.fetchMany(ctx, moved)
	if err != nil {
		return nil, fmt.Errorf("creating %d jira issues in %s: reading the moved ones: %w", len(reqs), project, err)
	}
	for _, w := range ws {
		byID[w.ID] = w
	}
	for i := range reqs {
		if !slices.Contains(moved, ids[i]) {
			continue
		}
		it, err := t.toItem(ctx, byID[ids[i]])
		if err != nil {
			return nil, err
		}
		out[i].Item = it
	}
	return fails, nil
}

// createBody is one issueUpdates element: what Create sends.
func (t *Tracker) createBody(ctx context.Context, it adapters.Item, project, key string) (map[string]any, error) {
	if project == "" {
		return nil, adapters.Permanent(fmt.Errorf("creating jira issue %q: no project to create it in: set trackers.%s.project: %w", it.Title, t.name, adapters.ErrInvalid))
	}
	kind := cmp.Or(it.Kind, adapters.KindIssue)
	it.Kind = kind
	names := []string{adapters.FieldTitle, adapters.FieldAssignees, adapters.FieldLabels}
	if it.Body != "" {
		names = append(names, adapters.FieldBody)
	}
	if it.Priority != "" {
		names = append(names, adapters.FieldPriority)
	}
	if it.Due != "" {
		names = append(names, adapters.FieldDue)
	}
	if it.Parent != nil && !it.Parent.IsZero() {
		names = append(names, adapters.FieldParent)
	}
	for name := range it.Fields {
		names = append(names, adapters.CustomPrefix+name)
	}
	fields, err := t.writeFields(ctx, it, names, true)
	if err != nil {
		return nil, fmt.Errorf("creating jira issue %q: %w", it.Title, err)
	}
	if len(it.Assignees) == 0 {
		delete(fields, "assignee")
	}
	fields["project"] = map[string]string{"key": project}
	// A synced type (fields: type) names the issue type; otherwise the
	// kind's.
	typ := cmp.Or(it.Type, t.o.IssueTypes[kind])
	fields["issuetype"] = map[string]string{"name": typ}
	if t.epicName != "" && (strings.EqualFold(typ, t.o.IssueTypes[adapters.KindEpic]) || strings.EqualFold(typ, "Epic")) {
		// Data Center requires an epic's Epic Name: its title.
		fields[t.epicName] = string([]rune(it.Title)[:min(len([]rune(it.Title)), 255)])
	}
	t.dropOffScreen(project, typ, fields)
	body := map[string]any{"fields": fields}
	if key != "" {
		body["properties"] = []wireProperty{{Key: PropertyKey, Value: mustJSON(marker{Key: key})}}
	}
	return body, nil
}

// findMarkers returns the ids of the issues in project carrying each of
// keys (tracksync's property), among those tracksync's account created
// within Options.MarkerWindow or whose property the search index shows.
//
// What a scan found is kept (markerCache): after the first scan of the
// window in this process, a lookup asks only for what was created since
// the last one (by Jira's clock, an Overlap earlier for the search index's
// lag), so a create in an incremental run costs one search whatever the
// number of issues tracksync made in the window. The scans are by creator
// and creation time, not by process: another replica's or another
// installation's creates are seen too.
func (t *Tracker) findMarkers(ctx context.Context, project string, keys []string) (map[string]string, error) {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = quote(k)
	}
	t.mu.Lock()
	mc := t.markers[project]
	t.mu.Unlock()
	var since string
	cold := mc == nil || time.Since(mc.full) >= t.o.MarkerWindow/2
	if cold {
		mc = &markerCache{ids: map[string]string{}, full: time.Now()}
		since = "-" + strconv.FormatInt(max(1, int64((t.o.MarkerWindow+59e9)/60e9)), 10) + "m"
	} else {
		since = strconv.FormatInt(mc.through.Add(-t.o.Overlap).UnixMilli(), 10)
	}
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	recent := "creator = currentUser() AND created >= " + since
	jql := "project = " + quote(project) + " AND ((" + recent + ") OR issue.property[" + PropertyKey + "].key in (" + strings.Join(quoted, ", ") + ")) ORDER BY created DESC"
	withProp := !t.noPropJQL.Load()
	if !withProp {
		jql = "project = " + quote(project) + " AND " + recent + " ORDER BY created DESC"
	}
	// Every page of the window: what is not asked for now is kept for
	// the next lookup. A scan stops once every key is found (a batch
	// just made is on its first page), and then moves nothing on: only a
	// scan read to its end says what the window holds.
	page := pager{t: t, jql: jql}
	scanned := map[string]string{}
	var through time.Time
	complete := true
	for first := true; ; first = false {
		pctx := ctx
		if first {
			pctx = context.WithValue(ctx, serverTimeKey{}, &through)
		}
		ws, more, err := page.next(pctx)
		if err != nil && first && withProp && t.propertyRefused(err) {
			// The same scan without the property clause.
			return t.findMarkers(ctx, project, keys)
		}
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			key, err := t.markerOf(ctx, w)
			if err != nil {
				return nil, err
			}
			if key != "" {
				scanned[key] = w.ID // newest first: the last match is the oldest
			}
		}
		if !more {
			break
		}
		if allIn(want, scanned) {
			complete = false
			break
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur := t.markers[project]; cur != nil && cur.full.Equal(mc.full) {
		mc = cur // another lookup may have merged meanwhile
	}
	if !complete {
		if !cold {
			merge(mc.ids, scanned)
		}
		return pick(scanned, keys), nil
	}
	merge(mc.ids, scanned)
	if !through.IsZero() && through.After(mc.through) {
		mc.through = through
	}
	if t.markers == nil {
		t.markers = map[string]*markerCache{}
	}
	if !mc.through.IsZero() {
		t.markers[project] = mc // without Jira's clock, no delta can follow
	}
	return pick(mc.ids, keys), nil
}

// merge adds what a scan found to ids; the oldest issue (lowest id) of a
// key wins.
func merge(ids, scanned map[string]string) {
	for k, id := range scanned {
		if old, ok := ids[k]; !ok || olderID(id, old) {
			ids[k] = id
		}
	}
}

// allIn says whether m holds every key of want.
func allIn(want map[string]bool, m map[string]string) bool {
	for k := range want {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

// pick returns the entries of ids for keys.
func pick(ids map[string]string, keys []string) map[string]string {
	found := map[string]string{}
	for _, k := range keys {
		if id, ok := ids[k]; ok {
			found[k] = id
		}
	}
	return found
}

// markerCache is what scans of one project's marker window found: each
// sync key's issue id, the Jira time the last scan began (through), and
// when (this process's clock) the window was last read whole.
type markerCache struct {
	ids     map[string]string
	through time.Time
	full    time.Time
}

// olderID says whether Jira issue id a was made before b (ids grow).
func olderID(a, b string) bool {
	x, errA := strconv.ParseInt(a, 10, 64)
	y, errB := strconv.ParseInt(b, 10, 64)
	if errA != nil || errB != nil {
		return a < b
	}
	return x < y
}

// forgetMarker drops key from project's cache: its issue is gone.
func (t *Tracker) forgetMarker(project, key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if mc := t.markers[project]; mc != nil {
		delete(mc.ids, key)
	}
}

// fetchMany reads issues by id with their fields: bulkfetch on Cloud, a
// search by id on Data Center (which has no bulkfetch).
func (t *Tracker) fetchMany(ctx context.Context, ids []string) ([]wireIssue, error) {
	if !t.dc {
		return t.bulkFetch(ctx, ids)
	}
	var out []wireIssue
	for start := 0; start < len(ids); start += MaxPageSize {
		batch := ids[start:min(start+MaxPageSize, len(ids))]
		var res struct {
			Issues []wireIssue `json:"issues"`
		}
		q := url.Values{"jql": {"id in (" + strings.Join(batch, ", ") + ")"}, "maxResults": {strconv.Itoa(len(batch))}, "fields": {t.fields}, "properties": {PropertyKey}}
		if err := t.c.doShape(ctx, http.MethodGet, t.path("/search?"+q.Encode()), nil, &res, searchPage); err != nil {
			return nil, fmt.Errorf("fetching %d jira issues: %w", len(batch), err)
		}
		out = append(out, res.Issues...)
	}
	return out, nil
}

// pager reads a search id by id, one page at a time.
type pager struct {
	t   *Tracker
	jql string
	at  int    // Data Center: startAt
	tok string // Cloud: nextPageToken
}

func (p *pager) next(ctx context.Context) ([]wireIssue, bool, error) {
	t := p.t
	if t.dc {
		var res struct {
			Total  int         `json:"total"`
			Issues []wireIssue `json:"issues"`
		}
		q := url.Values{"jql": {p.jql}, "startAt": {strconv.Itoa(p.at)}, "maxResults": {strconv.Itoa(MaxPageSize)}, "fields": {"updated"}, "properties": {PropertyKey}}
		if err := t.c.doShape(ctx, http.MethodGet, t.path("/search?"+q.Encode()), nil, &res, searchPage); err != nil {
			return nil, false, fmt.Errorf("searching jira: %w", err)
		}
		p.at += len(res.Issues)
		return res.Issues, len(res.Issues) > 0 && p.at < res.Total, nil
	}
	var res struct {
		Issues        []wireIssue `json:"issues"`
		NextPageToken string      `json:"nextPageToken"`
		IsLast        bool        `json:"isLast"`
	}
	body := map[string]any{"jql": p.jql, "maxResults": MaxPageSize, "fields": []string{"id", "key"}, "properties": []string{PropertyKey}}
	if p.tok != "" {
		body["nextPageToken"] = p.tok
	}
	if err := t.c.doShape(withIdempotent(ctx), http.MethodPost, t.path("/search/jql"), body, &res, searchPage); err != nil {
		return nil, false, fmt.Errorf("searching jira: %w", err)
	}
	p.tok = res.NextPageToken
	return res.Issues, !res.IsLast && res.NextPageToken != "", nil
}
