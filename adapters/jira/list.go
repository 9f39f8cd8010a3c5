package jira

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/internal/rest"
)

// listState is what a cursor holds: the newest updated stamp listed
// (epoch ms), and the (id, updated) pairs listed within the overlap window
// before it, so looking back over the window lists nothing twice.
type listState struct {
	Max  int64    `json:"u"`
	Seen []string `json:"s,omitempty"` // "id@ms"
	// Listed is Jira's clock (its Date header, epoch ms) when the listing
	// began. An issue updated more than the overlap before it was
	// searchable by then, so once Listed is an overlap past Max the next
	// listing need not look back before Max: an idle poll stays one page
	// instead of paging through the last overlap's worth of updates.
	Listed int64 `json:"l,omitempty"`
}

// pageToken carries a listing between pages: the next query's lower
// bound (the last updated stamp seen: keyset paging), Jira's own page
// position within that query (used only while the bound cannot move), and
// the state so far.
type pageToken struct {
	Since int64     `json:"q"`
	Next  string    `json:"n,omitempty"` // Cloud nextPageToken
	At    int       `json:"a,omitempty"` // Data Center startAt
	State listState `json:"st"`
	// Scanned: the listing found what to fetch by ids (scanByID) and
	// Fetch holds the ids still to fetch, in listing order.
	Scanned bool     `json:"x,omitempty"`
	Fetch   []string `json:"f,omitempty"`
}

// List returns one page of the issues in scope changed since the cursor.
// Cloud: one search/jql page of ids and updated stamps, then the unseen
// ones in one bulkfetch. Data Center: one /search page with fields. When
// the cursor holds more of tracksync's own writes than one such page
// (the first poll after a run that wrote many), the first page lists by
// id instead, 5,000 a search (scanByID), and the pages fetch what it
// found.
//
// Pages are keyset, not offsets: after each page the next query starts
// again at the last updated stamp seen (`updated >= <ms>`), and the seen
// set drops the repeats. An offset would skip an issue for good when an
// issue on an earlier page is edited mid-listing (it moves to the end and
// shifts the rest down one). Only when a whole page shares one stamp, so
// the bound cannot move, does the listing fall back to Jira's own page
// position within that stamp.
func (t *Tracker) List(ctx context.Context, req adapters.ListRequest) (adapters.ListPage, error) {
	var tok pageToken
	if req.PageToken != "" {
		if err := adapters.DecodeToken(req.PageToken, &tok); err != nil {
			return adapters.ListPage{}, adapters.Permanent(fmt.Errorf("listing jira: page token: %w", adapters.ErrInvalid))
		}
	} else {
		if req.Cursor != "" {
			if err := adapters.DecodeToken(req.Cursor, &tok.State); err != nil {
				return adapters.ListPage{}, adapters.Permanent(fmt.Errorf("listing jira: cursor %q is not one this tracker issued: %w", req.Cursor, adapters.ErrInvalid))
			}
			tok.Since = max(0, tok.State.Max-t.o.Overlap.Milliseconds())
			if settled := tok.State.Listed - t.o.Overlap.Milliseconds(); settled > tok.Since {
				tok.Since = min(tok.State.Max, settled)
			}
		}
	}
	var listed time.Time
	if req.PageToken == "" {
		ctx = context.WithValue(ctx, serverTimeKey{}, &listed)
	}
	size := req.PageSize
	if size <= 0 || size > MaxPageSize {
		size = MaxPageSize
	}
	seen := map[string]bool{}
	for _, s := range tok.State.Seen {
		seen[s] = true
	}
	if req.PageToken == "" && !t.dc {
		if err := t.scanByID(ctx, req.Scope, size, &tok, seen); errors.Is(err, adapters.ErrInvalid) {
			// Jira refused the query naming issues (one it no longer
			// knows, a JQL too long): the stamped listing names none.
			tok.Scanned, tok.Fetch = false, nil
		} else if err != nil {
			return adapters.ListPage{}, err
		}
	}
	var (
		fresh []wireIssue
		last  int64
		done  bool
		err   error
	)
	if tok.Scanned {
		fresh, done, err = t.fetchScanned(ctx, size, &tok, seen)
	} else {
		fresh, last, done, err = t.listOnce(ctx, req.Scope, size, &tok, seen)
	}
	if err != nil {
		return adapters.ListPage{}, err
	}
	if req.PageToken == "" {
		tok.State.Listed = 0
		if !listed.IsZero() {
			tok.State.Listed = listed.UnixMilli()
		}
	}
	page := adapters.ListPage{}
	for _, w := range fresh {
		it, err := t.toItem(ctx, w)
		if err != nil {
			return adapters.ListPage{}, fmt.Errorf("listing jira: %w", err)
		}
		page.Items = append(page.Items, it)
		ms := it.UpdatedAt.UnixMilli()
		tok.State.Seen = append(tok.State.Seen, it.Ref.ID+"@"+strconv.FormatInt(ms, 10))
		tok.State.Max = max(tok.State.Max, ms)
	}
	// Issues the seen set dropped were listed too (by an earlier listing
	// or noted as tracksync's own writes): the newest stamp moves past them.
	tok.State.Max = max(tok.State.Max, last)
	floor := tok.State.Max - t.o.Overlap.Milliseconds()
	if done {
		page.Cursor = adapters.EncodeToken(t.prune(tok.State, floor))
		return page, nil
	}
	if last > tok.Since {
		tok.Since, tok.At, tok.Next = last, 0, ""
	}
	// The page token keeps the pairs the next query can return again (at
	// or after its bound) and those the cursor will need.
	tok.State = t.prune(tok.State, min(tok.Since, floor))
	page.NextPageToken = adapters.EncodeToken(tok)
	return page, nil
}

// NoteWrites adds the (id, updated) pairs of issues tracksync wrote after
// the listing to the cursor's seen set: the next listing still pages over
// them (they are newer than the cursor; on Cloud by id, 5,000 a search,
// when there are many) but fetches none still at the stamp noted. The
// newest stamp is left alone: an issue someone else edited meanwhile must
// still be listed.
func (t *Tracker) NoteWrites(cursor string, items []adapters.Item) (string, error) {
	var st listState
	if cursor == "" {
		return cursor, nil
	}
	if err := adapters.DecodeToken(cursor, &st); err != nil {
		return "", fmt.Errorf("noting writes in jira cursor: %w", adapters.ErrInvalid)
	}
	for _, it := range items {
		if it.Ref.Tracker == t.name && it.Ref.ID != "" && !it.UpdatedAt.IsZero() {
			st.Seen = append(st.Seen, it.Ref.ID+"@"+strconv.FormatInt(it.UpdatedAt.UnixMilli(), 10))
		}
	}
	return adapters.EncodeToken(t.prune(st, st.Max-t.o.Overlap.Milliseconds())), nil
}

// listOnce runs one search page from tok's bound and position: it returns
// the issues not in seen (with the fields toItem needs), the updated stamp
// (epoch ms) of the page's last issue, and whether the query is exhausted.
// It advances tok's Jira page position (At, Next) in case the bound cannot
// move.
func (t *Tracker) listOnce(ctx context.Context, scope string, size int, tok *pageToken, seen map[string]bool) (fresh []wireIssue, last int64, done bool, err error) {
	jql := t.listJQL(scope, tok.Since)
	if t.dc {
		var res struct {
			StartAt int         `json:"startAt"`
			Total   int         `json:"total"`
			Issues  []wireIssue `json:"issues"`
		}
		q := url.Values{"jql": {jql}, "startAt": {strconv.Itoa(tok.At)}, "maxResults": {strconv.Itoa(size)}, "fields": {t.fields + ",comment"}, "properties": {PropertyKey}}
		if err := t.c.doShape(ctx, http.MethodGet, t.path("/search?"+q.Encode()), nil, &res, searchPage); err != nil {
			return nil, 0, false, fmt.Errorf("listing jira (%s): %w", jql, err)
		}
		for _, w := range res.Issues {
			if !seen[w.ID+"@"+w.version()] {
				fresh = append(fresh, w)
			}
		}
		if n := len(res.Issues); n > 0 {
			last = res.Issues[n-1].updated().UnixMilli()
		}
		tok.At += len(res.Issues)
		return fresh, last, len(res.Issues) == 0 || tok.At >= res.Total, nil
	}
	var res struct {
		Issues        []wireIssue `json:"issues"`
		NextPageToken string      `json:"nextPageToken"`
		IsLast        bool        `json:"isLast"`
	}
	body := map[string]any{"jql": jql, "maxResults": size, "fields": []string{"updated"}}
	if tok.Next != "" {
		body["nextPageToken"] = tok.Next
	}
	if err := t.c.doShape(withIdempotent(ctx), http.MethodPost, t.path("/search/jql"), body, &res, searchPage); err != nil {
		return nil, 0, false, fmt.Errorf("listing jira (%s): %w", jql, err)
	}
	var ids []string
	for _, w := range res.Issues {
		if !seen[w.ID+"@"+w.version()] {
			ids = append(ids, w.ID)
		}
	}
	if n := len(res.Issues); n > 0 {
		last = res.Issues[n-1].updated().UnixMilli()
	}
	// The listing's clock is the search's Date, not the later fetch's.
	full, err := t.bulkFetch(context.WithValue(ctx, serverTimeKey{}, (*time.Time)(nil)), ids)
	if err != nil {
		return nil, 0, false, err
	}
	// The bulkfetch may read a newer version than the search saw; one
	// already listed at that version is a repeat too.
	for _, w := range full {
		if !seen[w.ID+"@"+w.version()] {
			fresh = append(fresh, w)
		}
	}
	tok.Next = res.NextPageToken
	return fresh, last, res.NextPageToken == "", nil
}

// prune keeps the seen pairs at or after floor (epoch ms), sorted and
// without repeats.
func (t *Tracker) prune(s listState, floor int64) listState {
	var keep []string
	for _, e := range s.Seen {
		_, ms, _ := strings.Cut(e, "@")
		if n, err := strconv.ParseInt(ms, 10, 64); err == nil && n >= floor {
			keep = append(keep, e)
		}
	}
	slices.Sort(keep)
	s.Seen = slices.Compact(keep)
	return s
}

// listJQL is the scope (its own ORDER BY dropped, the rest in parentheses)
// AND updated since the bound, oldest change first. The bound is epoch
// milliseconds: date literals would be read in the searching account's
// time zone, with minute precision.
func (t *Tracker) listJQL(scope string, since int64) string {
	return t.searchJQL(scope, "updated >= "+strconv.FormatInt(since, 10))
}

// searchJQL is the scope (as listJQL has it) AND cond, oldest change
// first.
func (t *Tracker) searchJQL(scope, cond string) string {
	where := strings.TrimSpace(stripOrderBy(scope))
	if where == "" && t.o.Project != "" {
		where = "project = " + quote(t.o.Project)
	}
	jql := cond
	if where != "" {
		jql = "(" + where + ") AND " + jql
	}
	return jql + " ORDER BY updated ASC, key ASC"
}

// stripOrderBy drops a trailing ORDER BY clause (outside quotes).
func stripOrderBy(jql string) string {
	inQuote := rune(0)
	lower := strings.ToLower(jql)
	for i := 0; i < len(jql); i++ {
		c := rune(jql[i])
		switch {
		case inQuote != 0:
			if c == '\\' {
				i++
			} else if c == inQuote {
				inQuote = 0
			}
		case c == '"' || c == '\'':
			inQuote = c
		case strings.HasPrefix(lower[i:], "order") && (i == 0 || strings.ContainsRune(" \t\n)", rune(jql[i-1]))):
			rest := strings.TrimLeft(lower[i+5:], " \t\n")
			if strings.HasPrefix(rest, "by") && len(lower[i+5:]) > len(rest) {
				return jql[:i]
			}
		}
	}
	return jql
}

// bulkFetch reads issues by id, 100 a request, keeping their order.
func (t *Tracker) bulkFetch(ctx context.Context, ids []string) ([]wireIssue, error) {
	byID := map[string]wireIssue{}
	for start := 0; start < len(ids); start += 100 {
		batch := ids[start:min(start+100, len(ids))]
		var res struct {
			Issues []wireIssue `json:"issues"`
		}
		// The comment field's total tells which issues have none, whose
		// comments the engine then need not read (a request per issue).
		body := map[string]any{"issueIdsOrKeys": batch, "fields": append(strings.Split(t.fields, ","), "comment"), "properties": []string{PropertyKey}}
		if err := t.c.doShape(withIdempotent(ctx), http.MethodPost, t.path("/issue/bulkfetch"), body, &res, rest.Object("a page of issues", "issues")); err != nil {
			return nil, fmt.Errorf("fetching %d jira issues: %w", len(batch), err)
		}
		for _, w := range res.Issues {
			byID[w.ID] = w
		}
	}
	out := make([]wireIssue, 0, len(ids))
	for _, id := range ids {
		// An issue deleted between the search and the fetch is simply not
		// there; the next listing will not find it either.
		if w, ok := byID[id]; ok {
			out = append(out, w)
		}
	}
	return out, nil
}

// idPageSize is search/jql's largest page when only ids are asked for
// (with any other field it is 100).
const idPageSize = 5000

// Bounds on the checks scanByID writes into its JQL, so the query stays
// a few kilobytes however many issues a run wrote.
const (
	scanMaxGroups = 50  // writes (by updated stamp) whose absence is checked
	scanMaxIDs    = 500 // ids in those checks
	scanMaxFetch  = 10000
)

// scanByID lists by id what the seen set cannot skip, when it holds more
// of the issues changed since the bound than one page of updated stamps
// would: the first poll after a run that wrote many issues. Ids come
// 5,000 a search (updated stamps only 100), so it cannot compare stamps;
// it tells an issue someone else changed after tracksync's write from one
// still at the version tracksync wrote by where it stands in a listing
// ordered by updated:
//
//   - An issue listed after one seen at a later stamp was changed since
//     (its updated is at least that stamp): it is fetched.
//   - That leaves an issue changed before the next write anything else
//     went to (nothing to overtake). For the run's last writes, and the
//     writes followed by the longest pauses, the query itself says: it
//     leaves out each such issue at a newer stamp than the one seen, so
//     one missing was changed (or deleted, or left the scope), and one
//     stamped search then reads what changed after it, up to the next
//     write. Issues changed less than one of the other (shorter) pauses
//     after tracksync's write of them, before its next write, are not
//     told apart.
//
// Ids the seen set does not hold are fetched, as in any listing. When
// the stamped listing is as cheap, or the scan found too much to fetch,
// tok is left alone; otherwise tok.Scanned is set, tok.Fetch holds the
// ids to fetch and tok.State.Max the newest stamp known.
func (t *Tracker) scanByID(ctx context.Context, scope string, size int, tok *pageToken, seen map[string]bool) error {
	known := map[string]int64{} // id -> newest stamp seen at or after the bound
	for e := range seen {
		id, ms, _ := strings.Cut(e, "@")
		if n, err := strconv.ParseInt(ms, 10, 64); err == nil && n >= tok.Since && n > known[id] {
			known[id] = n
		}
	}
	if len(known) < size {
		return nil
	}
	byStamp := map[int64][]string{}
	for id, ms := range known {
		byStamp[ms] = append(byStamp[ms], id)
	}
	stamps := slices.Sorted(maps.Keys(byStamp))
	// The checked writes: the newest, then those followed by the longest
	// pauses. next[ms] is the stamp of the write after (0: none).
	next := map[int64]int64{}
	for i, ms := range stamps[:len(stamps)-1] {
		next[ms] = stamps[i+1]
	}
	order := slices.Clone(stamps[:len(stamps)-1])
	slices.SortStableFunc(order, func(a, b int64) int { return cmp.Compare(next[b]-b, next[a]-a) })
	order = append([]int64{stamps[len(stamps)-1]}, order...)
	var checked, gaps []int64 // checked by absence; by a stamped search
	ids := 0
	for i, ms := range order {
		switch {
		case len(checked) < scanMaxGroups && ids+len(byStamp[ms]) <= scanMaxIDs:
			checked = append(checked, ms)
			ids += len(byStamp[ms])
		case i == 0:
			// Too many issues share the newest stamp to name them: the
			// stamped search looks after it instead.
			gaps = append(gaps, ms)
		}
	}
	var excl []string
	sentinel := map[string]int64{}
	for _, ms := range checked {
		g := slices.Sorted(slices.Values(byStamp[ms]))
		for _, id := range g {
			sentinel[id] = ms
		}
		excl = append(excl, "(id in ("+strings.Join(g, ", ")+") AND updated > "+strconv.FormatInt(ms, 10)+")")
	}
	notChanged := ""
	if len(excl) > 0 {
		notChanged = " AND NOT (" + strings.Join(excl, " OR ") + ")"
	}

	var (
		fetch   []string
		queued  = map[string]bool{}
		present = map[string]bool{}
		hi      int64 // the newest stamp of a seen write listed so far
		bound   = tok.Since
		pageTok string
		first   = true
		again   []string // listed at or after bound already
	)
	add := func(id string) {
		if !queued[id] {
			queued[id] = true
			fetch = append(fetch, id)
		}
	}
	for {
		var res struct {
			Issues        []wireIssue `json:"issues"`
			NextPageToken string      `json:"nextPageToken"`
		}
		cond := "updated >= " + strconv.FormatInt(bound, 10) + notChanged
		if len(again) > 0 {
			cond += " AND id not in (" + strings.Join(again, ", ") + ")"
		}
		jql := t.searchJQL(scope, cond)
		body := map[string]any{"jql": jql, "maxResults": idPageSize, "fields": []string{"id"}}
		if pageTok != "" {
			body["nextPageToken"] = pageTok
		}
		sctx := ctx
		if !first {
			// The listing's clock is its first search's Date.
			sctx = context.WithValue(ctx, serverTimeKey{}, (*time.Time)(nil))
		}
		first = false
		if err := t.c.doShape(withIdempotent(sctx), http.MethodPost, t.path("/search/jql"), body, &res, searchPage); err != nil {
			return fmt.Errorf("listing jira by id (%s): %w", jql, err)
		}
		for _, w := range res.Issues {
			ms, ok := known[w.ID]
			switch {
			case !ok:
				add(w.ID)
			case ms < hi:
				add(w.ID) // overtook a write made after its own
			default:
				hi = ms
			}
			if _, ok := sentinel[w.ID]; ok {
				present[w.ID] = true
			}
		}
		if res.NextPageToken == "" {
			break
		}
		// Keyset, as in listOnce: every issue after a seen write stands
		// at or after its stamp, so the next query starts there; Jira's
		// own position only while that bound cannot move. The issues this
		// page listed from that write on are left out of the next query
		// (those already to fetch are read at their newest anyway), so at
		// 10,000 the listing is two pages, not three.
		if hi > bound {
			bound, pageTok = hi, ""
			from := slices.IndexFunc(res.Issues, func(w wireIssue) bool { return known[w.ID] == hi })
			again = again[:0]
			if n := len(res.Issues) - from; from >= 0 && n <= scanMaxIDs {
				for _, w := range res.Issues[from:] {
					again = append(again, w.ID)
				}
			}
		} else {
			pageTok = res.NextPageToken
		}
	}
	// A checked write missing was changed since: read it, and what changed
	// after it up to the next write, with their stamps.
	var missing []string
	for _, ms := range checked {
		gone := false
		for _, id := range byStamp[ms] {
			if !present[id] {
				missing = append(missing, id)
				gone = true
			}
		}
		if gone {
			gaps = append(gaps, ms)
		}
	}
	var since []string
	if len(missing) > 0 {
		slices.Sort(missing)
		since = append(since, "id in ("+strings.Join(missing, ", ")+")")
	}
	for _, ms := range gaps {
		c := "updated > " + strconv.FormatInt(ms, 10)
		if nx := next[ms]; nx != 0 {
			c = "(" + c + " AND updated <= " + strconv.FormatInt(nx, 10) + ")"
		}
		since = append(since, c)
	}
	newest := hi
	if len(since) > 0 {
		stamped, err := t.searchStamped(context.WithValue(ctx, serverTimeKey{}, (*time.Time)(nil)), scope, "updated >= "+strconv.FormatInt(tok.Since, 10)+" AND ("+strings.Join(since, " OR ")+")")
		if err != nil {
			return err
		}
		for _, w := range stamped {
			if !seen[w.ID+"@"+w.version()] {
				add(w.ID)
			}
			newest = max(newest, w.updated().UnixMilli())
		}
	}
	if len(fetch) > scanMaxFetch {
		return nil
	}
	tok.Scanned, tok.Fetch = true, fetch
	tok.State.Max = max(tok.State.Max, newest)
	return nil
}

// searchStamped reads every issue in scope matching cond with its updated
// stamp, 100 a search, keyset paged on updated.
func (t *Tracker) searchStamped(ctx context.Context, scope, cond string) ([]wireIssue, error) {
	var out []wireIssue
	got := map[string]bool{}
	var bound int64 = -1
	pageTok := ""
	for {
		c := cond
		if bound >= 0 {
			c = "updated >= " + strconv.FormatInt(bound, 10) + " AND " + cond
		}
		jql := t.searchJQL(scope, c)
		var res struct {
			Issues        []wireIssue `json:"issues"`
			NextPageToken string      `json:"nextPageToken"`
		}
		body := map[string]any{"jql": jql, "maxResults": MaxPageSize, "fields": []string{"updated"}}
		if pageTok != "" {
			body["nextPageToken"] = pageTok
		}
		if err := t.c.doShape(withIdempotent(ctx), http.MethodPost, t.path("/search/jql"), body, &res, searchPage); err != nil {
			return nil, fmt.Errorf("listing jira (%s): %w", jql, err)
		}
		for _, w := range res.Issues {
			if k := w.ID + "@" + w.version(); !got[k] {
				got[k] = true
				out = append(out, w)
			}
		}
		if res.NextPageToken == "" {
			return out, nil
		}
		if last := res.Issues[len(res.Issues)-1].updated().UnixMilli(); last > bound {
			bound, pageTok = last, ""
		} else {
			pageTok = res.NextPageToken
		}
	}
}

// fetchScanned reads the next size ids scanByID found, skipping any read
// at a version already listed.
func (t *Tracker) fetchScanned(ctx context.Context, size int, tok *pageToken, seen map[string]bool) (fresh []wireIssue, done bool, err error) {
	n := min(size, len(tok.Fetch))
	full, err := t.bulkFetch(context.WithValue(ctx, serverTimeKey{}, (*time.Time)(nil)), tok.Fetch[:n])
	if err != nil {
		return nil, false, err
	}
	for _, w := range full {
		if !seen[w.ID+"@"+w.version()] {
			fresh = append(fresh, w)
		}
	}
	tok.Fetch = tok.Fetch[n:]
	return fresh, len(tok.Fetch) == 0, nil
}
