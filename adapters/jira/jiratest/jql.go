package jiratest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The JQL subset: clauses on project, issuetype, key, id, labels, status,
// statusCategory, assignee, creator, priority, parent, "Epic Link",
// summary (~), created, updated (epoch milliseconds, "yyyy-MM-dd[ HH:mm]"
// dates or relative dates like -15m) and issue.property[key].path (only
// for keys in Options.IndexedProperties); operators = != > >= < <= ~ !~ in, not in, is
// [not] empty; AND, OR, NOT, parentheses; ORDER BY with ASC/DESC. Strings
// are "double" or 'single' quoted with backslash escapes.

type jqlQuery struct {
	where func(*Issue) bool // nil: no restriction
	order []jqlOrder
}

type jqlOrder struct {
	field string
	desc  bool
}

func (q jqlQuery) sort(issues []*Issue) {
	sort.SliceStable(issues, func(i, j int) bool {
		a, b := issues[i], issues[j]
		for _, o := range q.order {
			c := compareBy(o.field, a, b)
			if c != 0 {
				if o.desc {
					return c > 0
				}
				return c < 0
			}
		}
		return a.ID < b.ID
	})
}

func compareBy(field string, a, b *Issue) int {
	switch field {
	case "updated":
		return a.Updated.Compare(b.Updated)
	case "created":
		return a.Created.Compare(b.Created)
	case "key", "id", "issuekey":
		return a.ID - b.ID
	case "priority":
		return slices.Index(Priorities, a.Priority) - slices.Index(Priorities, b.Priority)
	case "summary":
		return strings.Compare(a.Summary, b.Summary)
	}
	return 0
}

type tokKind int

const (
	tkEOF tokKind = iota
	tkWord
	tkString
	tkOp
)

type token struct {
	kind tokKind
	text string
}

func jqlError(msg string) *httpError {
	return errMsg(http.StatusBadRequest, "Error in the JQL Query: "+msg)
}

func tokenize(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' {
					j++
					if j >= len(s) {
						return nil, jqlError("the quoted string ends in a backslash")
					}
					switch s[j] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case 'r':
						b.WriteByte('\r')
					default:
						b.WriteByte(s[j])
					}
					continue
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, jqlError(fmt.Sprintf("the quoted string starting at character %d has not been completed", i+1))
			}
			out = append(out, token{tkString, b.String()})
			i = j + 1
		case strings.HasPrefix(s[i:], ">=") || strings.HasPrefix(s[i:], "<=") || strings.HasPrefix(s[i:], "!=") || strings.HasPrefix(s[i:], "!~"):
			out = append(out, token{tkOp, s[i : i+2]})
			i += 2
		case strings.ContainsRune("=<>~(),", rune(c)):
			out = append(out, token{tkOp, string(c)})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r\"'=<>~(),!", rune(s[j])) {
				j++
			}
			if j == i {
				return nil, jqlError(fmt.Sprintf("the character '%c' at position %d is a reserved JQL character", c, i+1))
			}
			out = append(out, token{tkWord, s[i:j]})
			i = j
		}
	}
	return append(out, token{kind: tkEOF}), nil
}

type jqlParser struct {
	toks []token
	pos  int
	s    *Server
}

func (p *jqlParser) peek() token { return p.toks[p.pos] }
func (p *jqlParser) next() token {
	t := p.toks[p.pos]
	if t.kind != tkEOF {
		p.pos++
	}
	return t
}

func (p *jqlParser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tkWord && strings.EqualFold(t.text, w)
}

func parseJQL(jql string, s *Server) (jqlQuery, error) {
	toks, err := tokenize(jql)
	if err != nil {
		return jqlQuery{}, err
	}
	p := &jqlParser{toks: toks, s: s}
	var q jqlQuery
	if !p.isWord("order") && p.peek().kind != tkEOF {
		w, err := p.or()
		if err != nil {
			return q, err
		}
		q.where = w
	}
	if p.isWord("order") {
		p.next()
		if !p.isWord("by") {
			return q, jqlError("expecting 'by' after 'order'")
		}
		p.next()
		for {
			t := p.next()
			if t.kind != tkWord && t.kind != tkString {
				return q, jqlError("expecting a field name in the order by clause")
			}
			o := jqlOrder{field: strings.ToLower(t.text)}
			if p.isWord("asc") {
				p.next()
			} else if p.isWord("desc") {
				p.next()
				o.desc = true
			}
			q.order = append(q.order, o)
			if t := p.peek(); t.kind == tkOp && t.text == "," {
				p.next()
				continue
			}
			break
		}
		if len(q.order) > 7 {
			return q, jqlError("the order by clause can hold at most 7 fields")
		}
	}
	if t := p.peek(); t.kind != tkEOF {
		return q, jqlError(fmt.Sprintf("expecting either 'OR' or 'AND' but got '%s'", t.text))
	}
	return q, nil
}

func (p *jqlParser) or() (func(*Issue) bool, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isWord("or") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(it *Issue) bool { return a(it) || b(it) }
	}
	return l, nil
}

func (p *jqlParser) and() (func(*Issue) bool, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.isWord("and") {
		p.next()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(it *Issue) bool { return a(it) && b(it) }
	}
	return l, nil
}

func (p *jqlParser) not() (func(*Issue) bool, error) {
	if p.isWord("not") {
		p.next()
		f, err := p.not()
		if err != nil {
			return nil, err
		}
		return func(it *Issue) bool { return !f(it) }, nil
	}
	if t := p.peek(); t.kind == tkOp && t.text == "(" {
		p.next()
		f, err := p.or()
		if err != nil {
			return nil, err
		}
		if t := p.next(); t.kind != tkOp || t.text != ")" {
			return nil, jqlError("expecting ')'")
		}
		return f, nil
	}
	return p.clause()
}

// value is one operand: a string, or EMPTY.
type value struct {
	s     string
	empty bool
}

func (p *jqlParser) value() (value, error) {
	t := p.next()
	switch t.kind {
	case tkString:
		return value{s: t.text}, nil
	case tkWord:
		if strings.EqualFold(t.text, "empty") || strings.EqualFold(t.text, "null") {
			return value{empty: true}, nil
		}
		if n := p.peek(); n.kind == tkOp && n.text == "(" { // a function call
			p.next()
			if c := p.next(); c.kind != tkOp || c.text != ")" {
				return value{}, jqlError("functions with arguments are not supported by the fake")
			}
			if strings.EqualFold(t.text, "currentUser") {
				return value{s: p.s.users[0].id(p.s.flavor)}, nil
			}
			return value{}, jqlError(fmt.Sprintf("unable to find JQL function '%s()'", t.text))
		}
		return value{s: t.text}, nil
	}
	return value{}, jqlError(fmt.Sprintf("expecting a value but got '%s'", t.text))
}

func (p *jqlParser) clause() (func(*Issue) bool, error) {
	ft := p.next()
	if ft.kind != tkWord && ft.kind != tkString {
		return nil, jqlError(fmt.Sprintf("expecting a field name but got '%s'", ft.text))
	}
	get, kind, err := p.field(ft.text)
	if err != nil {
		return nil, err
	}
	var op string
	switch t := p.next(); {
	case t.kind == tkOp && t.text != "(" && t.text != ")" && t.text != ",":
		op = t.text
	case t.kind == tkWord && strings.EqualFold(t.text, "in"):
		op = "in"
	case t.kind == tkWord && strings.EqualFold(t.text, "not") && p.isWord("in"):
		p.next()
		op = "not in"
	case t.kind == tkWord && strings.EqualFold(t.text, "is"):
		op = "is"
		if p.isWord("not") {
			p.next()
			op = "is not"
		}
	default:
		return nil, jqlError(fmt.Sprintf("expecting an operator after '%s' but got '%s'", ft.text, t.text))
	}
	var vals []value
	if op == "in" || op == "not in" {
		if t := p.next(); t.kind != tkOp || t.text != "(" {
			return nil, jqlError("expecting '(' after 'in'")
		}
		for {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
			t := p.next()
			if t.kind == tkOp && t.text == ")" {
				break
			}
			if t.kind != tkOp || t.text != "," {
				return nil, jqlError("expecting ',' or ')' in a list")
			}
		}
	} else {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		vals = []value{v}
	}
	if (op == "is" || op == "is not") != vals[0].empty && len(vals) == 1 {
		if op == "is" || op == "is not" {
			return nil, jqlError("'is' only takes EMPTY or NULL")
		}
	}
	if kind == "time" {
		return p.timeClause(ft.text, op, vals, get)
	}
	eq := func(have []string, v value) bool {
		if v.empty {
			return len(have) == 0
		}
		for _, h := range have {
			if strings.EqualFold(h, v.s) {
				return true
			}
		}
		return false
	}
	switch op {
	case "=", "is", "in":
		return func(it *Issue) bool {
			have := get(it)
			for _, v := range vals {
				if eq(have, v) {
					return true
				}
			}
			return false
		}, nil
	case "!=", "is not", "not in":
		return func(it *Issue) bool {
			have := get(it)
			for _, v := range vals {
				if eq(have, v) {
					return false
				}
			}
			return true
		}, nil
	case "~", "!~":
		want := strings.ToLower(vals[0].s)
		return func(it *Issue) bool {
			hit := false
			for _, h := range get(it) {
				if strings.Contains(strings.ToLower(h), want) {
					hit = true
				}
			}
			return hit == (op == "~")
		}, nil
	}
	return nil, jqlError(fmt.Sprintf("the operator '%s' is not supported by the field '%s'", op, ft.text))
}

func (p *jqlParser) timeClause(field, op string, vals []value, get func(*Issue) []string) (func(*Issue) bool, error) {
	if len(vals) != 1 || vals[0].empty {
		return nil, jqlError(fmt.Sprintf("the field '%s' takes one date", field))
	}
	var t time.Time
	if ms, err := strconv.ParseInt(vals[0].s, 10, 64); err == nil {
		t = time.UnixMilli(ms)
	} else if d, ok := relativeDate(vals[0].s); ok {
		t = p.s.now.Add(d)
	} else {
		parsed := false
		for _, layout := range []string{"2006-01-02 15:04", "2006/01/02 15:04", "2006-01-02", "2006/01/02"} {
			if x, err := time.ParseInLocation(layout, vals[0].s, time.UTC); err == nil {
				t, parsed = x, true
				break
			}
		}
		if !parsed {
			return nil, jqlError(fmt.Sprintf("date value '%s' for field '%s' is invalid", vals[0].s, field))
		}
	}
	return func(it *Issue) bool {
		var at time.Time
		if strings.EqualFold(field, "created") || strings.EqualFold(field, "createdDate") {
			at = it.Created
		} else {
			at = it.Updated
		}
		at = at.Truncate(time.Millisecond)
		switch op {
		case "=":
			return at.Equal(t)
		case "!=":
			return !at.Equal(t)
		case ">":
			return at.After(t)
		case ">=":
			return !at.Before(t)
		case "<":
			return at.Before(t)
		case "<=":
			return !at.After(t)
		}
		return false
	}, nil
}

// relativeDate reads a JQL relative date ("-15m", "-2h", "1d", "-1w";
// units m, h, d, w) as an offset from now.
func relativeDate(v string) (time.Duration, bool) {
	if len(v) < 2 {
		return 0, false
	}
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[v[len(v)-1]]
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if unit == 0 || err != nil {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// field returns a getter for a JQL field and its kind ("time" or "text").
func (p *jqlParser) field(name string) (func(*Issue) []string, string, error) {
	s := p.s
	one := func(v string) []string {
		if v == "" {
			return nil
		}
		return []string{v}
	}
	if rest, ok := strings.CutPrefix(name, "issue.property["); ok {
		key, path, ok := strings.Cut(rest, "]")
		if !ok || key == "" {
			return nil, "", jqlError("malformed issue.property clause: " + name)
		}
		path = strings.TrimPrefix(path, ".")
		indexed := slices.Contains(s.opts.IndexedProperties, key)
		if !indexed && s.opts.RefuseUnindexedProperty {
			return nil, "", jqlError(fmt.Sprintf("Field '%s' does not exist or you do not have permission to view it.", name))
		}
		return func(it *Issue) []string {
			if !indexed {
				// Not indexed: JQL sees no value on any issue.
				return nil
			}
			raw, ok := it.Properties[key]
			if !ok {
				return nil
			}
			var v any
			if json.Unmarshal(raw, &v) != nil {
				return nil
			}
			if path != "" {
				for _, seg := range strings.Split(path, ".") {
					m, ok := v.(map[string]any)
					if !ok {
						return nil
					}
					v = m[seg]
				}
			}
			switch x := v.(type) {
			case string:
				return one(x)
			case float64, bool:
				return []string{fmt.Sprint(x)}
			}
			return nil
		}, "text", nil
	}
	switch strings.ToLower(name) {
	case "project":
		return func(it *Issue) []string { return one(it.Project) }, "text", nil
	case "issuetype", "type":
		return func(it *Issue) []string { return one(it.Type) }, "text", nil
	case "key", "issuekey", "id", "issue":
		return func(it *Issue) []string { return []string{it.Key, strconv.Itoa(it.ID)} }, "text", nil
	case "labels":
		return func(it *Issue) []string { return it.Labels }, "text", nil
	case "status":
		return func(it *Issue) []string {
			st, _ := s.statusByName(it.Status)
			return []string{st.Name, st.ID}
		}, "text", nil
	case "statuscategory":
		return func(it *Issue) []string {
			st, _ := s.statusByName(it.Status)
			return []string{st.Category, categoryNames[st.Category], strconv.Itoa(categoryIDs[st.Category])}
		}, "text", nil
	case "assignee":
		return func(it *Issue) []string { return one(it.Assignee) }, "text", nil
	case "creator":
		return func(it *Issue) []string { return one(it.Creator) }, "text", nil
	case "priority":
		return func(it *Issue) []string { return one(it.Priority) }, "text", nil
	case "summary", "text":
		return func(it *Issue) []string { return one(it.Summary) }, "text", nil
	case "parent":
		return func(it *Issue) []string {
			if x := s.issues[it.Parent]; x != nil {
				return []string{x.Key, strconv.Itoa(x.ID)}
			}
			return nil
		}, "text", nil
	case "epic link", "cf[10014]", EpicLinkField:
		if s.flavor != DataCenter {
			break
		}
		return func(it *Issue) []string {
			if x := s.issues[it.Parent]; x != nil && x.Type == "Epic" {
				return []string{x.Key, strconv.Itoa(x.ID)}
			}
			return nil
		}, "text", nil
	case "updated", "updateddate", "created", "createddate":
		return nil, "time", nil
	}
	return nil, "", jqlError(fmt.Sprintf("Field '%s' does not exist or you do not have permission to view it.", name))
}
