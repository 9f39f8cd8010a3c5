package sync

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/store"
)

// Matching on first contact: before an unlinked item is copied, the
// engine looks for its counterpart among the other side's unlinked items,
// rule by rule (the flow's match list; the key rule always comes first, as
// it is how tracksync knows its own copies). A rule pairs two items only
// when each is the other's one candidate; an item with several candidates
// is listed as ambiguous and neither linked nor copied, never guessed.

// Ambiguity is an item with more than one candidate counterpart under a
// rule: nothing is done with it (or its candidates) until a person links
// it (tracksync link, or a line in the flow's match_file).
type Ambiguity struct {
	Rule       string         `json:"rule"`
	Side       store.Side     `json:"side"`
	Item       adapters.Ref   `json:"item"`
	Title      string         `json:"title"`
	Candidates []adapters.Ref `json:"candidates"`
}

func (a Ambiguity) String() string {
	cands := make([]string, len(a.Candidates))
	for i, c := range a.Candidates {
		cands[i] = c.String()
	}
	return fmt.Sprintf("ambiguous (%s): %s %q has %d candidates: %s; neither linked nor copied (link one by hand: tracksync link, or a line in match_file)",
		a.Rule, a.Item, a.Title, len(a.Candidates), strings.Join(cands, ", "))
}

// matchEdge says a rule takes A item a and B item b for counterparts.
type matchEdge struct {
	a, b string // IDs
	why  string
	key  string      // the link key to use; "" for the flow's own
	base *store.Base // carried from another flow's link of the pair
}

// matchPair is a pair a rule settled.
type matchPair struct {
	a, b adapters.Item
	rule string
	matchEdge
}

type matcher struct {
	e     *Engine
	f     *Flow
	p     *planner
	full  bool
	lists [2]*listing
	// un holds the unlinked items not matched yet, by ID; order keeps
	// the listing order for stable output.
	un    [2]map[string]adapters.Item
	order [2][]string
	// linked: IDs the flow links already (a copy of one is left alone).
	linked [2]map[string]int64
	held   [2]map[string]bool
	pairs  []matchPair
	amb    []Ambiguity
	// extra: items read with Get (a copy's source outside the listing).
	extra [2]map[string]adapters.Item
	// unknown counts, per side, the unlinked items the key rule did not
	// account for: the work the trackers held before tracksync.
	unknown [2]int
	// foreign: items carrying this flow's key that this store never
	// journaled a write for (noteForeign).
	foreign []string
}

// match pairs the unlinked items of both sides (ids, in listing order).
func (e *Engine) match(ctx context.Context, f *Flow, p *planner, lists [2]*listing, unlinked [2][]string, linked [2]map[string]int64, full bool) (*matcher, error) {
	m := &matcher{e: e, f: f, p: p, full: full, lists: lists, linked: linked}
	for i := range 2 {
		m.un[i] = make(map[string]adapters.Item, len(unlinked[i]))
		m.held[i] = map[string]bool{}
		m.extra[i] = map[string]adapters.Item{}
		for _, id := range unlinked[i] {
			m.un[i][id] = lists[i].items[id]
		}
		m.order[i] = unlinked[i]
	}
	rules := []string{config.MatchKey}
	for _, r := range f.Map.Match {
		if r != config.MatchKey {
			rules = append(rules, r)
		}
	}
	for _, r := range rules {
		if len(m.un[0]) == 0 && len(m.un[1]) == 0 {
			break
		}
		if r != config.MatchKey && (len(m.un[0]) == 0 || len(m.un[1]) == 0) {
			break // nothing to pair with
		}
		var edges []matchEdge
		var err error
		switch r {
		case config.MatchKey:
			edges, err = m.byKey(ctx)
		case config.MatchReference:
			edges = m.byReference()
		case config.MatchFile:
			edges, err = m.byFile()
		case config.MatchTitle:
			edges = m.byTitle()
		}
		if err != nil {
			return nil, err
		}
		m.resolve(r, edges)
		if r == config.MatchKey {
			for i := range 2 {
				for id := range m.un[i] {
					if !m.held[i][id] {
						m.unknown[i]++
					}
				}
			}
		}
	}
	return m, nil
}

// avail reports whether item id on side i may still be matched by rule.
// A mapping file is a person's word: it may settle what another rule
// found ambiguous.
func (m *matcher) avail(i int, id, rule string) bool {
	_, ok := m.un[i][id]
	if !ok {
		_, ok = m.extra[i][id]
	}
	return ok && (!m.held[i][id] || rule == config.MatchFile)
}

func (m *matcher) item(i int, id string) adapters.Item {
	if it, ok := m.un[i][id]; ok {
		return it
	}
	return m.extra[i][id]
}

// resolve pairs the edges whose two ends have no other candidate, and
// holds every item of an edge that has a rival.
func (m *matcher) resolve(rule string, edges []matchEdge) {
	seen := map[[2]string]bool{}
	var es []matchEdge
	deg := [2]map[string]int{{}, {}}
	for _, e := range edges {
		k := [2]string{e.a, e.b}
		if seen[k] || !m.avail(0, e.a, rule) || !m.avail(1, e.b, rule) {
			continue
		}
		seen[k] = true
		es = append(es, e)
		deg[0][e.a]++
		deg[1][e.b]++
	}
	cands := [2]map[string][]adapters.Ref{{}, {}}
	for _, e := range es {
		if deg[0][e.a] == 1 && deg[1][e.b] == 1 {
			m.pairs = append(m.pairs, matchPair{a: m.item(0, e.a), b: m.item(1, e.b), rule: rule, matchEdge: e})
			delete(m.un[0], e.a)
			delete(m.un[1], e.b)
			delete(m.held[0], e.a)
			delete(m.held[1], e.b)
			continue
		}
		m.held[0][e.a], m.held[1][e.b] = true, true
		if deg[0][e.a] > 1 {
			cands[0][e.a] = append(cands[0][e.a], m.item(1, e.b).Ref)
		}
		if deg[1][e.b] > 1 {
			cands[1][e.b] = append(cands[1][e.b], m.item(0, e.a).Ref)
		}
	}
	for i, s := range []store.Side{store.SideA, store.SideB} {
		for _, id := range m.order[i] {
			if c := cands[i][id]; len(c) > 0 {
				it := m.item(i, id)
				m.amb = append(m.amb, Ambiguity{Rule: rule, Side: s, Item: it.Ref, Title: it.Title, Candidates: c})
			}
		}
	}
}

// noteForeign notes it, an unlinked item carrying a key of this flow's
// copies, when this store never journaled a write with that key: another
// installation (another state file on the same trackers) or a state file
// since lost made it.
func (m *matcher) noteForeign(ctx context.Context, it adapters.Item) error {
	ok, err := m.e.store.JournalHasKey(ctx, it.SyncKey)
	if err != nil {
		return fmt.Errorf("flow %s: %w", m.f.Map.Name, err)
	}
	if !ok {
		m.foreign = append(m.foreign, it.Ref.String())
	}
	return nil
}

// warnForeign reports the items noteForeign found, once per plan: they
// are linked (nothing is copied twice), but two installations on the same
// trackers race each other's creates.
func (m *matcher) warnForeign() {
	if len(m.foreign) == 0 {
		return
	}
	const shown = 5
	list := strings.Join(m.foreign[:min(len(m.foreign), shown)], ", ")
	if len(m.foreign) > shown {
		list += fmt.Sprintf(" and %d more", len(m.foreign)-shown)
	}
	m.p.warn(fmt.Sprintf("%d item(s) carry tracksync's key of a copy that this state store never made (%s): another tracksync installation (another state file) on the same trackers, or a lost state file, made them. They are linked, not copied again; but two installations on the same trackers race each other's creates: run one (move a state with `tracksync store copy`)", len(m.foreign), list))
}

// byKey: an item carrying tracksync's key is the copy of the item the key
// names; and, on a full run, a pair another flow links (a renamed or split
// flow) is this flow's pair too, with that flow's base.
func (m *matcher) byKey(ctx context.Context) ([]matchEdge, error) {
	var edges []matchEdge
	f := m.f
	for i, s := range []store.Side{store.SideA, store.SideB} {
		o := 1 - i
		for _, id := range m.order[i] {
			it, ok := m.un[i][id]
			if !ok || it.SyncKey == "" {
				continue
			}
			src, ours := f.counterpartOf(s, it.SyncKey)
			if src == "" {
				continue
			}
			k, _ := parseKey(it.SyncKey)
			own := k.flow == "" || k.flow == f.Map.Name
			if !ours {
				continue // a copy from some other tracker: an item like any other here
			}
			e := matchEdge{key: it.SyncKey, why: fmt.Sprintf("%s carries tracksync's key of a copy of %s:%s", it.Ref, f.side(s.Other()).Name(), src)}
			if err := m.noteForeign(ctx, it); err != nil {
				return nil, err
			}
			if i == 0 {
				e.a, e.b = id, src
			} else {
				e.a, e.b = src, id
			}
			if _, ok := m.un[o][src]; ok {
				edges = append(edges, e)
				continue
			}
			if _, ok := m.linked[o][src]; ok {
				// A copy of an item linked to another: never copied back.
				m.held[i][id] = true
				continue
			}
			if !own {
				continue // another flow's first-format key naming nothing here
			}
			// Its source is not in this listing (an incremental run):
			// read it.
			got, err := f.side(s.Other()).Get(ctx, adapters.Ref{Tracker: f.side(s.Other()).Name(), ID: src})
			if errors.Is(err, adapters.ErrNotFound) {
				m.p.warn(fmt.Sprintf("%s is tracksync's copy of %s:%s, which is gone: left alone", it.Ref, f.side(s.Other()).Name(), src))
				m.held[i][id] = true
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("flow %s: reading %s:%s, the source of %s: %w", f.Map.Name, f.side(s.Other()).Name(), src, it.Ref, err)
			}
			if _, err := m.e.store.FindLink(ctx, f.Map.Name, s.Other(), src); err == nil {
				m.held[i][id] = true
				continue
			}
			m.extra[o][src] = got
			edges = append(edges, e)
		}
	}
	m.warnForeign()
	if !m.full || (len(m.un[0]) == 0 || len(m.un[1]) == 0) {
		return edges, nil
	}
	all, err := m.e.store.ListLinks(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("flow %s: reading other flows' links: %w", f.Map.Name, err)
	}
	na, nb := f.A.Name(), f.B.Name()
	for _, l := range all {
		if l.Flow == f.Map.Name || l.Tombstone() {
			continue
		}
		var aID, bID string
		swapped := false
		switch {
		case l.A.Tracker == na && l.B.Tracker == nb:
			aID, bID = l.A.ID, l.B.ID
		case l.A.Tracker == nb && l.B.Tracker == na:
			aID, bID, swapped = l.B.ID, l.A.ID, true
		default:
			continue
		}
		if _, ok := m.un[0][aID]; !ok {
			continue
		}
		if _, ok := m.un[1][bID]; !ok {
			continue
		}
		e := matchEdge{a: aID, b: bID, key: l.Key, why: fmt.Sprintf("linked in flow %s (link %d)", l.Flow, l.ID)}
		if b, err := m.e.store.GetBase(ctx, l.ID); err == nil {
			if swapped {
				b.A, b.B, b.AVersion, b.BVersion = b.B, b.A, b.BVersion, b.AVersion
			}
			b.LinkID = 0
			e.base = &b
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("flow %s: reading base of flow %s's link %d: %w", f.Map.Name, l.Flow, l.ID, err)
		}
		edges = append(edges, e)
	}
	return edges, nil
}

var (
	jiraKeyRe = regexp.MustCompile(`\b[A-Z][A-Z0-9_]*-[0-9]+\b`)
	ghRefRe   = regexp.MustCompile(`\b([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#([0-9]+)\b`)
	ghURLRe   = regexp.MustCompile(`https?://[^\s/]+/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)/(?:issues|pull)/([0-9]+)`)
	urlRe     = regexp.MustCompile(`https?://[^\s<>()\[\]"'` + "`" + `]+`)
)

// refIndex finds side i's unlinked items by what another item might
// write of them: key, ID and URL, case-insensitively.
func (m *matcher) refIndex(i int) map[string]string {
	idx := make(map[string]string, 3*len(m.un[i]))
	for _, id := range m.order[i] {
		it, ok := m.un[i][id]
		if !ok {
			continue
		}
		for _, k := range []string{it.Ref.Key, it.Ref.ID, strings.TrimRight(it.Ref.URL, "/")} {
			if k != "" {
				idx[strings.ToLower(k)] = id
			}
		}
	}
	return idx
}

// references lists what an item's title and body name that may be
// another item: Jira keys, owner/repo#n (also from GitHub URLs), URLs.
func references(it adapters.Item) []string {
	text := it.Title + "\n" + it.Body
	var out []string
	for _, m := range ghURLRe.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1]+"/"+m[2]+"#"+m[3])
	}
	for _, m := range ghRefRe.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1]+"#"+m[2])
	}
	out = append(out, jiraKeyRe.FindAllString(text, -1)...)
	for _, u := range urlRe.FindAllString(text, -1) {
		out = append(out, strings.TrimRight(u, "/.,;:"))
	}
	return out
}

// byReference: an item naming the other (a Jira key or URL in a GitHub
// issue, a GitHub issue's URL or owner/repo#n in a Jira description), as
// other tools and people leave behind.
func (m *matcher) byReference() []matchEdge {
	var edges []matchEdge
	for i := range 2 {
		o := 1 - i
		idx := m.refIndex(o)
		if len(idx) == 0 {
			continue
		}
		for _, id := range m.order[i] {
			it, ok := m.un[i][id]
			if !ok {
				continue
			}
			seen := map[string]bool{}
			for _, r := range references(it) {
				oid, ok := idx[strings.ToLower(r)]
				if !ok || seen[oid] {
					continue
				}
				seen[oid] = true
				other := m.un[o][oid]
				e := matchEdge{why: fmt.Sprintf("%s names %s (%q)", it.Ref, other.Ref, r)}
				if i == 0 {
					e.a, e.b = id, oid
				} else {
					e.a, e.b = oid, id
				}
				edges = append(edges, e)
			}
		}
	}
	return edges
}

// byFile: the flow's match_file, a CSV of a_key,b_key lines (a header
// line naming a_key is skipped).
func (m *matcher) byFile() ([]matchEdge, error) {
	path := m.f.Map.MatchFile
	if path == "" {
		return nil, nil
	}
	rows, err := ReadMappingFile(path)
	if err != nil {
		return nil, fmt.Errorf("flow %s: match_file: %w", m.f.Map.Name, err)
	}
	idx := [2]map[string]string{m.refIndex(0), m.refIndex(1)}
	var edges []matchEdge
	for _, r := range rows {
		a, okA := idx[0][strings.ToLower(r.A)]
		b, okB := idx[1][strings.ToLower(r.B)]
		if !okA || !okB {
			continue // linked already, or out of scope: nothing to match
		}
		edges = append(edges, matchEdge{a: a, b: b, why: fmt.Sprintf("%s line %d", path, r.Line)})
	}
	return edges, nil
}

// MappingRow is one line of a mapping file: a_key,b_key.
type MappingRow struct {
	Line int
	A, B string
}

// ReadMappingFile reads a CSV of a_key,b_key lines: keys (or IDs) of an
// item on the flow's side A and its counterpart on side B. Blank lines,
// lines starting with # and a header line (a_key,b_key) are skipped.
func ReadMappingFile(path string) ([]MappingRow, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return ParseMapping(fh, path)
}

// ParseMapping reads mapping rows from r (name is used in errors).
func ParseMapping(r io.Reader, name string) ([]MappingRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	var rows []MappingRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != 2 {
			return nil, fmt.Errorf("%s line %d: want two values, a_key,b_key; got %d", name, line, len(rec))
		}
		a, b := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if len(rows) == 0 && strings.EqualFold(a, "a_key") {
			continue
		}
		if a == "" || b == "" {
			return nil, fmt.Errorf("%s line %d: empty key", name, line)
		}
		rows = append(rows, MappingRow{Line: line, A: a, B: b})
	}
}

// normTitle is a title compared for matching: case, surrounding and
// repeated white space, and trailing punctuation aside.
func normTitle(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	return strings.TrimRight(s, ".!?:;, ")
}

// byTitle: the same normalized title on both sides, unique on each (two
// items with one title on a side are ambiguous, never guessed).
func (m *matcher) byTitle() []matchEdge {
	by := [2]map[string][]string{{}, {}}
	for i := range 2 {
		for _, id := range m.order[i] {
			it, ok := m.un[i][id]
			if !ok || m.held[i][id] {
				continue
			}
			if t := normTitle(it.Title); t != "" {
				by[i][t] = append(by[i][t], id)
			}
		}
	}
	var edges []matchEdge
	for _, id := range m.order[0] {
		it, ok := m.un[0][id]
		if !ok || m.held[0][id] {
			continue
		}
		t := normTitle(it.Title)
		if t == "" {
			continue
		}
		for _, bid := range by[1][t] {
			edges = append(edges, matchEdge{a: id, b: bid, why: fmt.Sprintf("same title %q", it.Title)})
		}
	}
	return edges
}
