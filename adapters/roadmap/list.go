package roadmap

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

// DefaultPageSize is the page size of a List that does not ask for one.
const DefaultPageSize = 100

// The file has no per-initiative timestamps, so a cursor is the listing it
// closed: each key in scope with the Version it had. Listing since a
// cursor returns the initiatives whose Version differs (or that are new)
// and reports keys that left the file as Deleted. An initiative that merely
// left the scope is neither: it is still there.

// cursorState is what a cursor encodes.
type cursorState struct {
	V      int               `json:"v"`
	Hashes map[string]string `json:"h"`
}

// pageState is what a page token encodes: the listing it continues, so a
// page token is self-contained and the file may change between pages.
type pageState struct {
	V     int               `json:"v"`
	Scope string            `json:"s"`
	Since map[string]string `json:"since"` // the request's cursor
	Seen  map[string]string `json:"seen"`  // the cursor being built
	After string            `json:"after"` // last key returned
	// Deleting is set once every changed initiative has been listed and
	// the pages go on with deletions; After is then the last one reported.
	Deleting bool `json:"del,omitempty"`
}

func encodeState(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeState(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (t *Tracker) badRequest(what string, err error) error {
	return adapters.Permanent(fmt.Errorf("roadmap %s: %s: %v: %w", t.path, what, err, adapters.ErrInvalid))
}

// List returns one page of the initiatives in req.Scope that changed since
// req.Cursor, sorted by key (INIT-2 before INIT-10). Scope is "" for all,
// or space-separated terms that must all match, each name:value with
// comma-separated alternatives and double quotes around values with spaces:
//
//	status:in_progress,at_risk   native status
//	category:done                status category (todo, in_progress, done)
//	label:growth                 has the label
//	child:PLAT-12                lists it under children:
//	owner:ana@acme.com  priority:high  key:INIT-3
//	team:growth                  any other key: its scalar value
//
// Pages follow keys, not offsets: an initiative is returned at most once per
// listing even if the file changes between pages. The cursor on the last
// page records, for each initiative returned, the version returned, so a
// change made mid-listing is returned again next time rather than lost.
func (t *Tracker) List(ctx context.Context, req adapters.ListRequest) (adapters.ListPage, error) {
	match, err := parseScope(req.Scope)
	if err != nil {
		return adapters.ListPage{}, t.badRequest(fmt.Sprintf("scope %q", req.Scope), err)
	}
	var ps pageState
	if req.PageToken != "" {
		if err := decodeState(req.PageToken, &ps); err != nil || ps.V != 1 {
			return adapters.ListPage{}, t.badRequest("page token", fmt.Errorf("not one this tracker issued"))
		}
		if ps.Scope != req.Scope {
			return adapters.ListPage{}, t.badRequest("page token", fmt.Errorf("issued for scope %q, not %q", ps.Scope, req.Scope))
		}
	} else {
		ps = pageState{V: 1, Scope: req.Scope, Since: map[string]string{}, Seen: map[string]string{}}
		if req.Cursor != "" {
			var cs cursorState
			if err := decodeState(req.Cursor, &cs); err != nil || cs.V != 1 {
				return adapters.ListPage{}, t.badRequest("cursor", fmt.Errorf("not one this tracker issued"))
			}
			if cs.Hashes != nil {
				ps.Since = cs.Hashes
			}
		}
	}
	if ps.Since == nil {
		ps.Since = map[string]string{}
	}
	if ps.Seen == nil {
		ps.Seen = map[string]string{}
	}
	size := req.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}

	s, err := t.load(ctx)
	if err != nil {
		return adapters.ListPage{}, err
	}
	var keys []string
	for k, it := range s.items {
		if match(it) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareKeys)

	var page adapters.ListPage
	if !ps.Deleting {
		// Versions past the previous page's last key are taken from the
		// file as it is now; those up to it keep the versions returned.
		for k := range ps.Seen {
			if ps.After == "" || compareKeys(k, ps.After) > 0 {
				delete(ps.Seen, k)
			}
		}
		var ahead, changed []string
		for _, k := range keys {
			if ps.After != "" && compareKeys(k, ps.After) <= 0 {
				continue
			}
			ahead = append(ahead, k)
			if ps.Since[k] != s.items[k].Version {
				changed = append(changed, k)
			}
		}
		more := len(changed) > size
		if more {
			changed = changed[:size]
		}
		for _, k := range changed {
			page.Items = append(page.Items, s.items[k])
		}
		for _, k := range ahead {
			if more && compareKeys(k, changed[len(changed)-1]) > 0 {
				break
			}
			ps.Seen[k] = s.items[k].Version
		}
		if more {
			ps.After = changed[len(changed)-1]
			page.NextPageToken = encodeState(ps)
			return page, nil
		}
		ps.Deleting, ps.After = true, ""
	}
	// Every changed initiative is listed; now what left the file, counted
	// against the page size like items.
	var gone []string
	for k := range ps.Since {
		if _, ok := s.items[k]; !ok && (ps.After == "" || compareKeys(k, ps.After) > 0) {
			gone = append(gone, k)
		}
	}
	slices.SortFunc(gone, compareKeys)
	if room := size - len(page.Items); len(gone) > room {
		for _, k := range gone[:room] {
			page.Deleted = append(page.Deleted, t.ref(k))
		}
		if room > 0 {
			ps.After = gone[room-1]
		}
		page.NextPageToken = encodeState(ps)
		return page, nil
	}
	for _, k := range gone {
		page.Deleted = append(page.Deleted, t.ref(k))
	}
	for k := range ps.Seen {
		if _, ok := s.items[k]; !ok {
			delete(ps.Seen, k)
		}
	}
	page.Cursor = encodeState(cursorState{V: 1, Hashes: ps.Seen})
	return page, nil
}

// compareKeys orders keys with their numbers compared as numbers, so
// INIT-9 comes before INIT-10; ties fall back to byte order.
func compareKeys(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na := strings.TrimLeft(a[si:i], "0")
			nb := strings.TrimLeft(b[sj:j], "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			continue
		}
		if ca != cb {
			return int(ca) - int(cb)
		}
		i++
		j++
	}
	if c := (len(a) - i) - (len(b) - j); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseScope compiles a scope into a predicate.
func parseScope(scope string) (func(adapters.Item) bool, error) {
	terms, err := splitTerms(scope)
	if err != nil {
		return nil, err
	}
	type term struct {
		name string
		alts []string
	}
	var ts []term
	for _, raw := range terms {
		name, val, ok := strings.Cut(raw, ":")
		if !ok || name == "" || val == "" {
			return nil, fmt.Errorf("term %q is not name:value", raw)
		}
		if name == "category" {
			for _, c := range strings.Split(val, ",") {
				if !adapters.StatusCategory(c).Valid() {
					return nil, fmt.Errorf("term %q: category is todo, in_progress or done", raw)
				}
			}
		}
		ts = append(ts, term{name, strings.Split(val, ",")})
	}
	return func(it adapters.Item) bool {
		for _, t := range ts {
			var have []string
			switch t.name {
			case "status":
				have = []string{it.Status}
			case "category":
				have = []string{string(it.StatusCategory)}
			case "label":
				have = it.Labels
			case "child":
				have, _ = adapters.DecodeList(it.Fields[keyChildren])
			case "owner":
				have = it.Assignees
			case "priority":
				have = []string{it.Priority}
			case "key":
				have = []string{it.Ref.Key}
			case "due":
				have = []string{it.Due}
			case "title":
				have = []string{it.Title}
			default:
				have = []string{it.Fields[t.name]}
			}
			ok := false
			for _, a := range t.alts {
				if slices.Contains(have, a) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
		return true
	}, nil
}

// splitTerms splits a scope at spaces outside double quotes and drops the
// quotes: label:"big bet" is one term.
func splitTerms(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote, started := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			started = true
		case !inQuote && (r == ' ' || r == '\t'):
			if started {
				out = append(out, cur.String())
				cur.Reset()
				started = false
			}
		default:
			cur.WriteRune(r)
			started = true
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unclosed quote")
	}
	if started {
		out = append(out, cur.String())
	}
	return out, nil
}
