package rollup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tracksync/tracksync/adapters"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

var renderNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

const xssTitle = "Launch | v2 <script>alert(1)</script>"

var (
	renderInit1 = adapters.Ref{Tracker: "jira", ID: "10001", Key: "INIT-1", URL: "https://jira.example.com/browse/INIT-1"}
	renderInit2 = adapters.Ref{Tracker: "jira", ID: "10002", Key: "INIT-2", URL: "javascript:alert(2)"}
	renderEpic  = adapters.Ref{Tracker: "jira", ID: "10010", Key: "E-1", URL: "https://jira.example.com/browse/E-1"}
	renderGH    = adapters.Ref{Tracker: "github", ID: "I_kw7", Key: "org/repo#7", URL: "https://github.com/org/repo/issues/7"}
)

func renderTask(id string, cat adapters.StatusCategory, est float64) Node {
	return Node{
		Ref:  adapters.Ref{Tracker: "jira", ID: "1" + id, Key: "T-" + id, URL: "https://jira.example.com/browse/T-" + id},
		Kind: adapters.KindTask, Title: "task " + id, Category: cat, Status: string(cat), Estimate: est,
	}
}

// renderReport is two initiatives built through the Index:
//
//	INIT-1 (due 2026-12-31) -> E-1 -> T-1 done (3), T-2 in progress (1), T-3 todo (1)
//	                        -> org/repo#7 done (5)
//	INIT-2 (due 2026-11-01, passed) -> T-4 todo
//
// so INIT-1 is 2/4 = 50% by count and 8/10 = 80% by estimate, and INIT-2 is
// at risk at 0%.
func renderReport(t *testing.T) Report {
	t.Helper()
	t1, t2, t3, t4 := renderTask("1", adapters.CategoryDone, 3), renderTask("2", adapters.CategoryInProgress, 1), renderTask("3", adapters.CategoryTodo, 1), renderTask("4", adapters.CategoryTodo, 0)
	nodes := []Node{
		{Ref: renderInit1, Kind: adapters.KindInitiative, Title: xssTitle, Category: adapters.CategoryInProgress,
			Due: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Children: []adapters.Ref{renderEpic, renderGH}},
		{Ref: renderEpic, Kind: adapters.KindEpic, Title: "Epic_one *bold*", Status: "In Progress", Category: adapters.CategoryInProgress,
			Children: []adapters.Ref{t1.Ref, t2.Ref, t3.Ref}},
		{Ref: renderGH, Kind: adapters.KindIssue, Title: "GitHub side", Status: "closed", Category: adapters.CategoryDone, Estimate: 5},
		t1, t2, t3,
		{Ref: renderInit2, Kind: adapters.KindInitiative, Title: "Second", Category: adapters.CategoryTodo,
			Due: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Children: []adapters.Ref{t4.Ref}},
		t4,
	}
	x := NewIndex(Config{Now: func() time.Time { return renderNow }}, nodes)
	rs := x.All()
	if len(rs) != 2 || rs[0].Initiative.Key != "INIT-1" || rs[1].Initiative.Key != "INIT-2" {
		t.Fatalf("fixture: want roll-ups INIT-1, INIT-2, got %+v", rs)
	}
	if !rs[1].AtRisk || rs[0].AtRisk {
		t.Fatalf("fixture: want only INIT-2 at risk, got %v %v", rs[0].AtRisk, rs[1].AtRisk)
	}
	return Report{
		Generated: renderNow,
		Rollups:   rs,
		History: map[string][]Point{
			Key(renderInit1): {{Day: "2026-11-20", Done: 0.25}, {Day: "2026-11-21", Done: 0.25}, {Day: "2026-11-22", Done: 0.5}},
			Key(renderInit2): {{Day: "2026-11-22", Done: 0}},
		},
		Status: map[string]string{Key(renderInit1): "In Progress"},
	}
}

func TestPercentOf(t *testing.T) {
	for in, want := range map[float64]int{0: 0, 0.004: 0, 0.005: 1, 1.0 / 3: 33, 0.665: 67, 0.995: 99, 0.99999: 99, 1: 100, 1.2: 100, -0.1: 0} {
		if got := percentOf(in); got != want {
			t.Errorf("percentOf(%v) = %d, want %d", in, got, want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	rep := renderReport(t)
	for _, tc := range []struct {
		byEstimate bool
		pct1       string
	}{{false, "50%"}, {true, "80%"}} {
		rep.ByEstimate = tc.byEstimate
		var buf bytes.Buffer
		if err := WriteTable(&buf, rep); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("want header and 2 rows, got:\n%s", buf.String())
		}
		row1 := regexp.MustCompile(`^INIT-1 +` + regexp.QuoteMeta(xssTitle) + ` +` + tc.pct1 + ` +2 +1 +1 +2026-12-31$`)
		if !row1.MatchString(lines[1]) {
			t.Errorf("byEstimate=%v: INIT-1 row = %q", tc.byEstimate, lines[1])
		}
		row2 := regexp.MustCompile(`^INIT-2 +Second +0% +0 +0 +1 +2026-11-01 +AT RISK: target date passed with 0% done$`)
		if !row2.MatchString(lines[2]) {
			t.Errorf("INIT-2 row = %q", lines[2])
		}
		// Aligned: every column starts at the same offset on every line.
		col := strings.Index(lines[0], "PROGRESS")
		for _, l := range lines[1:] {
			if l[col-2:col] != "  " || l[col] == ' ' {
				t.Errorf("PROGRESS column not aligned at %d in %q", col, l)
			}
		}
	}
}

func TestWriteTableSanitizesTitles(t *testing.T) {
	long := strings.Repeat("x", 100)
	rep := Report{Rollups: []Rollup{
		{Initiative: adapters.Ref{Tracker: "jira", ID: "1", Key: "A-1"}, Title: "line\nbreak\ttab"},
		{Initiative: adapters.Ref{Tracker: "jira", ID: "2", Key: "A-2"}, Title: long, Cycles: [][]adapters.Ref{{{Tracker: "jira", ID: "3", Key: "C-1"}, {Tracker: "jira", ID: "4", Key: "C-2"}}}},
	}}
	var buf bytes.Buffer
	if err := WriteTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("want 3 lines, got %d:\n%s", n, out)
	}
	if !strings.Contains(out, "line break tab") || !strings.Contains(out, strings.Repeat("x", tableTitleWidth-1)+"…") || strings.Contains(out, long) {
		t.Errorf("titles not sanitized/truncated:\n%s", out)
	}
	if !strings.Contains(out, "cycle: C-1 → C-2") {
		t.Errorf("cycle missing:\n%s", out)
	}
}

func TestEmptyReport(t *testing.T) {
	for name, write := range map[string]func(*bytes.Buffer) error{
		"table":    func(b *bytes.Buffer) error { return WriteTable(b, Report{}) },
		"markdown": func(b *bytes.Buffer) error { return WriteMarkdown(b, Report{}) },
		"html":     func(b *bytes.Buffer) error { return WriteHTML(b, Report{}, HTMLOptions{}) },
	} {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(strings.ToLower(buf.String()), "no initiatives configured yet") {
			t.Errorf("%s: no friendly empty message:\n%s", name, buf.String())
		}
		if strings.Contains(buf.String(), `class="initiative`) {
			t.Errorf("%s: empty report has an initiative card", name)
		}
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, Report{}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"by_estimate": false, "initiatives": []any{}}, got); diff != "" {
		t.Errorf("empty JSON (-want +got):\n%s", diff)
	}
}

func TestWriteMarkdown(t *testing.T) {
	rep := renderReport(t)
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, rep); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{
		`| [INIT-1](https://jira.example.com/browse/INIT-1) Launch \| v2 \<script\>alert(1)\</script\> | on track | In Progress | 50% | 2 / 1 / 1 | 2026-12-31 |  |`,
		`| INIT-2 Second | ⚠️ **at risk** |  | 0% | 0 / 0 / 1 | 2026-11-01 | target date passed with 0% done |`,
		"- [E-1](https://jira.example.com/browse/E-1) Epic\\_one \\*bold\\* — In Progress · 1 of 3 items done, 33%\n",
		"- [org/repo\\#7](https://github.com/org/repo/issues/7) GitHub side — Closed, 100%\n",
		"- [T-4](https://jira.example.com/browse/T-4) task 4 — To do, 0%\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "javascript:") {
		t.Errorf("markdown links a javascript: URL:\n%s", md)
	}

	// Rendered as GitHub does, the table keeps its shape and the title
	// shows as typed.
	var html bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert(buf.Bytes(), &html); err != nil {
		t.Fatal(err)
	}
	h := html.String()
	rows := regexp.MustCompile(`(?s)<tr>(.*?)</tr>`).FindAllStringSubmatch(h, -1)
	if len(rows) != 3 {
		t.Fatalf("want 3 table rows, got %d:\n%s", len(rows), h)
	}
	for _, r := range rows[1:] {
		if n := strings.Count(r[1], "<td"); n != 7 {
			t.Errorf("row has %d cells, want 7: %s", n, r[1])
		}
	}
	if !strings.Contains(rows[2][1], `Launch | v2 &lt;script&gt;alert(1)&lt;/script&gt;`) {
		t.Errorf("title not shown as typed: %s", rows[2][1])
	}
	if !strings.Contains(h, "Epic_one *bold*") || strings.Contains(h, "<em>") || strings.Contains(h, "<script") {
		t.Errorf("markup in titles was interpreted:\n%s", h)
	}

	rep.ByEstimate = true
	buf.Reset()
	if err := WriteMarkdown(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "| 80% |") || !strings.Contains(buf.String(), "Epic\\_one \\*bold\\* — In Progress · 1 of 3 items done, 60%") {
		t.Errorf("by estimate: want 80%% and child 60%%:\n%s", buf.String())
	}
}

func TestMarkdownURLs(t *testing.T) {
	for _, tc := range []struct{ label, url, want string }{
		{"A-1", "https://x.example/a b(c)|d", "[A-1](https://x.example/a%20b%28c%29%7Cd)"},
		{"A-1", "javascript:alert(1)", "A-1"},
		{"A-1", "data:text/html,hi", "A-1"},
		{"A-1", "", "A-1"},
		{"a_b", "http://x.example/", `[a\_b](http://x.example/)`},
	} {
		if got := mdLink(tc.label, tc.url); got != tc.want {
			t.Errorf("mdLink(%q, %q) = %q, want %q", tc.label, tc.url, got, tc.want)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	rep := renderReport(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}

	// The documented keys, and no others.
	var raw map[string]any
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if got, want := sortedKeys(raw), []string{"by_estimate", "generated", "initiatives"}; !slices.Equal(got, want) {
		t.Errorf("top-level keys = %v, want %v", got, want)
	}
	inits := raw["initiatives"].([]any)
	first := inits[0].(map[string]any)
	wantKeys := []string{"at_risk", "children", "counts", "cycles", "done_by_count", "done_by_estimate", "forecast", "health", "history", "id", "key", "percent_done", "reasons", "ref", "slip_count", "slip_days", "slips", "status", "target", "title", "total", "tracker", "url"}
	if got := sortedKeys(first); !slices.Equal(got, wantKeys) {
		t.Errorf("initiative keys = %v, want %v", got, wantKeys)
	}
	if got := sortedKeys(first["counts"].(map[string]any)); !slices.Equal(got, []string{"done", "in_progress", "todo"}) {
		t.Errorf("counts keys = %v", got)
	}
	child := first["children"].([]any)[0].(map[string]any)
	wantChild := []string{"category", "done_by_count", "done_by_estimate", "id", "key", "kind", "percent_done", "ref", "status", "title", "total", "tracker", "url"}
	if got := sortedKeys(child); !slices.Equal(got, wantChild) {
		t.Errorf("child keys = %v, want %v", got, wantChild)
	}
	if got := sortedKeys(first["history"].([]any)[0].(map[string]any)); !slices.Equal(got, []string{"day", "done", "done_items", "scope"}) {
		t.Errorf("history keys = %v", got)
	}
	if raw["generated"] != "2026-11-22T12:00:00Z" {
		t.Errorf("generated = %v", raw["generated"])
	}

	// Round trip through the documented types.
	var got JSONReport
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	gen := renderNow
	want := JSONReport{
		Generated: &gen,
		Initiatives: []JSONInitiative{
			{
				Ref: "jira:10001", Tracker: "jira", ID: "10001", Key: "INIT-1", URL: renderInit1.URL,
				Title: xssTitle, Status: "In Progress", PercentDone: 50, DoneByCount: 0.5, DoneByEstimate: 0.8, Total: 4,
				Counts: JSONCounts{Todo: 1, InProgress: 1, Done: 2}, Target: "2026-12-31",
				Reasons: []string{}, Cycles: [][]string{},
				Children: []JSONChild{
					{Ref: "github:I_kw7", Tracker: "github", ID: "I_kw7", Key: "org/repo#7", URL: renderGH.URL, Kind: "issue", Title: "GitHub side", Status: "closed", Category: "done", Total: 1, PercentDone: 100, DoneByCount: 1, DoneByEstimate: 1},
					{Ref: "jira:10010", Tracker: "jira", ID: "10010", Key: "E-1", URL: renderEpic.URL, Kind: "epic", Title: "Epic_one *bold*", Status: "In Progress", Category: "in_progress", Total: 3, PercentDone: 33, DoneByCount: 1.0 / 3, DoneByEstimate: 0.6},
				},
				History: []Point{{Day: "2026-11-20", Done: 0.25}, {Day: "2026-11-21", Done: 0.25}, {Day: "2026-11-22", Done: 0.5}},
				Slips:   []JSONSlip{}, Health: "on track", Forecast: "likely done 2026-11-24 at 1 item a day",
			},
			{
				Ref: "jira:10002", Tracker: "jira", ID: "10002", Key: "INIT-2", URL: renderInit2.URL,
				Title: "Second", Total: 1, Counts: JSONCounts{Todo: 1}, Target: "2026-11-01",
				AtRisk: true, Reasons: []string{"target date passed with 0% done"}, Cycles: [][]string{},
				Children: []JSONChild{{Ref: "jira:14", Tracker: "jira", ID: "14", Key: "T-4", URL: "https://jira.example.com/browse/T-4", Kind: "task", Title: "task 4", Status: "todo", Category: "todo", Total: 1}},
				History:  []Point{{Day: "2026-11-22", Done: 0}},
				Slips:    []JSONSlip{}, Health: "at risk", Forecast: "no forecast: forecast after a second day of history",
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var (
	sectionRe  = regexp.MustCompile(`(?s)<section class="initiative[^"]*" id="([^"]*)" data-key="([^"]*)" data-progress="(\d+)" data-at-risk="(true|false)"[^>]*>(.*?)</section>`)
	childRe    = regexp.MustCompile(`<li class="child[^"]*" data-key="([^"]*)" data-progress="(\d+)">`)
	sparkRe    = regexp.MustCompile(`(?s)<svg class="burnup"[^>]*data-points="(\d+)"[^>]*>.*?<polyline class="done" points="([^"]*)"/>.*?</svg>`)
	pctRe      = regexp.MustCompile(`<span class="pct">(\d+)%</span>`)
	fillRe     = regexp.MustCompile(`<div class="bar"[^>]*><div class="fill" style="width:(\d+)%"></div></div>`)
	urlAttrRe  = regexp.MustCompile(`(?i)\s(href|src|srcset|action|poster|xlink:href|background)\s*=\s*"([^"]*)"`)
	tagRe      = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>`)
	voidTags   = map[string]bool{"meta": true, "br": true, "img": true, "input": true, "link": true, "hr": true}
	scriptTags = regexp.MustCompile(`(?i)<script|javascript:|\bon[a-z]+\s*=`)
)

func renderHTML(t *testing.T, rep Report, o HTMLOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, rep, o); err != nil {
		t.Fatal(err)
	}
	h := buf.String()
	checkBalanced(t, h)
	return h
}

// checkBalanced stands in for an HTML parser (golang.org/x/net/html is not
// a dependency): every non-void element is closed, in order.
func checkBalanced(t *testing.T, h string) {
	t.Helper()
	if !strings.HasPrefix(h, "<!DOCTYPE html>") {
		t.Errorf("page does not start with a doctype")
	}
	var stack []string
	for _, m := range tagRe.FindAllStringSubmatch(h, -1) {
		closing, name, self := m[1] == "/", strings.ToLower(m[2]), m[3] == "/"
		switch {
		case voidTags[name] || self:
		case !closing:
			stack = append(stack, name)
		case len(stack) == 0 || stack[len(stack)-1] != name:
			t.Fatalf("unbalanced </%s>, open: %v", name, stack)
		default:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements: %v", stack)
	}
}

func TestWriteHTML(t *testing.T) {
	rep := renderReport(t)
	h := renderHTML(t, rep, HTMLOptions{Refresh: 30, Footer: "last refresh 12:00:03, 3 trackers ok"})

	for _, want := range []string{
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`<meta http-equiv="refresh" content="30">`,
		`<title>tracksync roll-ups</title>`,
		`<footer><p>last refresh 12:00:03, 3 trackers ok</p></footer>`,
		`Launch | v2 &lt;script&gt;alert(1)&lt;/script&gt;`,
		`<span class="status">In Progress</span>`,
		`<span class="target">2026-12-31</span>`,
		`<span class="badge">at risk</span>`,
		`<li>target date passed with 0% done</li>`,
	} {
		if !strings.Contains(h, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if m := scriptTags.FindString(h); m != "" {
		t.Errorf("page has script content %q", m)
	}

	// No external resources: the only URLs are the http(s) item links.
	itemURLs := []string{renderInit1.URL, renderEpic.URL, renderGH.URL}
	for i := 1; i <= 4; i++ {
		itemURLs = append(itemURLs, fmt.Sprintf("https://jira.example.com/browse/T-%d", i))
	}
	for _, m := range urlAttrRe.FindAllStringSubmatch(h, -1) {
		if m[1] != "href" || !slices.Contains(itemURLs, m[2]) {
			t.Errorf("unexpected URL attribute %s=%q", m[1], m[2])
		}
	}
	rest := urlAttrRe.ReplaceAllString(h, "")
	for _, bad := range []string{"://", "url(", "@import", "<link", "<iframe", "<object", "<img"} {
		if strings.Contains(rest, bad) {
			t.Errorf("page references %q outside item links", bad)
		}
	}

	sections := sectionRe.FindAllStringSubmatch(h, -1)
	if len(sections) != 2 {
		t.Fatalf("want 2 initiative sections, got %d", len(sections))
	}
	type card struct {
		id, key, progress, atRisk, pct, fill, sparkN string
		sparkPoints                                  int
		children                                     [][2]string
	}
	var got []card
	for _, s := range sections {
		c := card{id: s[1], key: s[2], progress: s[3], atRisk: s[4]}
		body := s[5]
		if m := pctRe.FindAllStringSubmatch(body, -1); len(m) == 1 {
			c.pct = m[0][1]
		}
		if m := fillRe.FindAllStringSubmatch(body, -1); len(m) == 1 {
			c.fill = m[0][1]
		}
		if m := sparkRe.FindAllStringSubmatch(body, -1); len(m) == 1 {
			c.sparkN = m[0][1]
			c.sparkPoints = len(strings.Fields(m[0][2]))
		}
		for _, m := range childRe.FindAllStringSubmatch(body, -1) {
			c.children = append(c.children, [2]string{m[1], m[2]})
		}
		got = append(got, c)
	}
	// At risk first.
	want := []card{
		{id: "init-INIT-2", key: "INIT-2", progress: "0", atRisk: "true", pct: "0", fill: "0", sparkN: "1", sparkPoints: 1,
			children: [][2]string{{"T-4", "0"}}},
		{id: "init-INIT-1", key: "INIT-1", progress: "50", atRisk: "false", pct: "50", fill: "50", sparkN: "3", sparkPoints: 3,
			children: [][2]string{{"org/repo#7", "100"}, {"E-1", "33"}}},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(card{})); diff != "" {
		t.Errorf("dashboard hooks (-want +got):\n%s", diff)
	}

	// INIT-2's URL is javascript:, so its title is not a link.
	if !strings.Contains(sections[0][5], `<h2><a><span class="key">INIT-2</span>`) {
		t.Errorf("INIT-2 heading should have no href:\n%s", sections[0][5])
	}
	if !strings.Contains(sections[1][5], `<h2><a href="https://jira.example.com/browse/INIT-1"><span class="key">INIT-1</span>`) {
		t.Errorf("INIT-1 heading should link its URL:\n%s", sections[1][5])
	}

	// By estimate changes "the" percent for initiatives and children.
	rep.ByEstimate = true
	h = renderHTML(t, rep, HTMLOptions{})
	if !strings.Contains(h, `data-key="INIT-1" data-progress="80"`) || !strings.Contains(h, `data-key="E-1" data-progress="60"`) || !strings.Contains(h, `style="width:80%"`) {
		t.Errorf("by estimate: INIT-1 80%% and E-1 60%% expected")
	}
	if strings.Contains(h, "http-equiv") {
		t.Errorf("Refresh 0 must not emit a refresh meta")
	}
}

func TestWriteHTMLEscapesOptionsAndHooks(t *testing.T) {
	ref := adapters.Ref{Tracker: "github", ID: "x", Key: `o/r#1"><b>`, URL: "https://github.com/o/r/issues/1?a=1&b=\"2\""}
	rep := Report{
		Rollups: []Rollup{{Initiative: ref, Title: "<img src=x onerror=alert(1)>", AtRisk: true,
			Reasons: []string{"<b>late</b>"}, Cycles: [][]adapters.Ref{{{Tracker: "jira", ID: "1", Key: "C<1>"}}}}},
		Status: map[string]string{Key(ref): "<i>Doing</i>"},
	}
	h := renderHTML(t, rep, HTMLOptions{Title: "<b>Roll-ups</b>", Footer: "<script>x</script>"})
	for _, bad := range []string{"<b>", "<i>", "<img", "<script", `"><b>`} {
		if strings.Contains(h, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	for _, want := range []string{
		`<title>&lt;b&gt;Roll-ups&lt;/b&gt;</title>`,
		`id="init-o-r-1-b" data-key="o/r#1&#34;&gt;&lt;b&gt;"`,
		`&lt;img src=x onerror=alert(1)&gt;`,
		`<span class="cycle">C&lt;1&gt;</span>`,
		`&lt;script&gt;x&lt;/script&gt;`,
		`href="https://github.com/o/r/issues/1?a=1&amp;b=%222%22"`,
	} {
		if !strings.Contains(h, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestHTMLIDsUnique(t *testing.T) {
	seen := map[string]int{}
	var got []string
	for _, k := range []string{"A-1", "a/b#1", "A-1", "  ", "A-1"} {
		got = append(got, htmlID(k, seen))
	}
	want := []string{"init-A-1", "init-a-b-1", "init-A-1-2", "init-", "init-A-1-3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

func TestBurnup(t *testing.T) {
	target := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for n := 0; n <= 4; n++ {
		pts := make([]Point, n)
		for i := range pts {
			pts[i] = Point{Day: fmt.Sprintf("2026-11-%02d", i+1), Scope: 10 + i, DoneItems: 2 * i}
		}
		b := burnup(pts, target, ForecastOf(pts))
		for _, line := range []string{b.Scope, b.Done} {
			coords := strings.Fields(line)
			if len(coords) != n || b.N != n {
				t.Fatalf("%d points: got %d coordinates, N=%d", n, len(coords), b.N)
			}
			for _, c := range coords {
				xs, ys, ok := strings.Cut(c, ",")
				x, errX := strconv.ParseFloat(xs, 64)
				y, errY := strconv.ParseFloat(ys, 64)
				if !ok || errX != nil || errY != nil || x < burnLeft || x > burnW-burnRight || y < burnTop || y > burnH-burnBot {
					t.Errorf("%d points: coordinate %q outside the plot", n, c)
				}
			}
		}
		if (b.DoneDot != nil) != (n > 0) || (b.Target != nil) != (n > 0) {
			t.Errorf("%d points: dot %v target %v", n, b.DoneDot, b.Target)
		}
		if (b.Likely != nil) != (n >= 2) {
			t.Errorf("%d points: likely forecast %v, want one from two days on", n, b.Likely)
		}
	}
	// One day of history is still a chart: axes from that day to the
	// target, the point drawn, the target marked.
	one := burnup([]Point{{Day: "2026-11-01", Scope: 4, DoneItems: 1}}, target, Forecast{})
	if one.XFirst != "Nov 1" || one.XLast != "Nov 20" || one.Target == nil || one.Target.X != num1(burnW-burnRight) || one.YMax != 4 {
		t.Errorf("one day: %+v", one)
	}
}

func TestForecast(t *testing.T) {
	day := func(i int) string {
		return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(dateLayout)
	}
	// 20 days: slow (0.5/day) for 13 days, then 2/day for 7.
	var pts []Point
	done := 0.0
	for i := range 21 {
		pts = append(pts, Point{Day: day(i), Scope: 100, DoneItems: int(done)})
		if i < 13 {
			done += 0.5
		} else {
			done += 2
		}
	}
	f := ForecastOf(pts)
	last := pts[len(pts)-1]
	if !f.OK || f.Rate <= 0 || f.BestRate < f.Rate || f.Optimistic.After(f.Likely) {
		t.Fatalf("forecast %+v", f)
	}
	wantLikely := mustDay(last.Day).AddDate(0, 0, int(math.Ceil(float64(100-last.DoneItems)/f.Rate)))
	if !f.Likely.Equal(wantLikely) || f.BestRate != 2 {
		t.Errorf("likely %v (want %v), best rate %v (want 2)", f.Likely, wantLikely, f.BestRate)
	}
	if w := f.Words(); !strings.Contains(w, "likely done "+wantLikely.Format(dateLayout)) || !strings.Contains(w, "optimistic") {
		t.Errorf("words %q", w)
	}
	for name, c := range map[string]struct {
		pts  []Point
		want string
	}{
		"none":    {nil, "no forecast: no history yet"},
		"one day": {pts[:1], "no forecast: forecast after a second day of history"},
		"stalled": {[]Point{{Day: day(0), Scope: 5, DoneItems: 1}, {Day: day(3), Scope: 5, DoneItems: 1}}, "no forecast: nothing finished in the last 3 days"},
		"done":    {[]Point{{Day: day(0), Scope: 5, DoneItems: 5}}, "all work done"},
	} {
		if got := ForecastOf(c.pts).Words(); got != c.want {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
}

func TestHumanStatus(t *testing.T) {
	for in, want := range map[string]string{
		"in_progress": "In progress", "todo": "To do", "TO_DO": "To do", "done": "Done", "IN_REVIEW": "In review",
		"In Review": "In Review", "Won't do": "Won't do", "": "", "closed": "Closed", "wont-fix": "Wont fix",
	} {
		if got := HumanStatus(in); got != want {
			t.Errorf("HumanStatus(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSummaryAndOrder(t *testing.T) {
	rep := renderReport(t)
	i1, i2 := Key(renderInit1), Key(renderInit2)
	rep.History = map[string][]Point{
		i1: {{Day: "2026-11-10", Scope: 3, DoneItems: 0}, {Day: "2026-11-22", Scope: 4, DoneItems: 2}},
		i2: {{Day: "2026-11-14", Scope: 1, AtRisk: false}, {Day: "2026-11-22", Scope: 1, AtRisk: true}},
	}
	rep.Slips = map[string][]Slip{i1: {
		{At: renderNow.AddDate(0, 0, -30), To: "2026-12-01"},
		{At: renderNow.AddDate(0, 0, -20), From: "2026-12-01", To: "2026-12-15"},
		{At: renderNow.AddDate(0, 0, -2), From: "2026-12-15", To: "2026-12-31"},
	}}
	s := rep.Summary()
	want := Summary{OnTrack: 1, AtRisk: 1, Changes: []string{
		"1 initiative turned at risk: INIT-2",
		"target dates moved: INIT-1 2026-12-15 → 2026-12-31 (+16 days)",
		"2 items finished, 1 item added",
	}}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if got := Ordered(rep.Rollups); got[0].Initiative != renderInit2 {
		t.Errorf("at risk not first: %v", got[0].Initiative)
	}
	if n, d := SlipTotals(rep.Slips[i1]); n != 2 || d != 30 {
		t.Errorf("slips %d, %d days; want 2, 30", n, d)
	}
	// Markdown and the dashboard say the same words.
	var md strings.Builder
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	h := renderHTML(t, rep, HTMLOptions{})
	text := html.UnescapeString(h)
	for _, w := range append([]string{s.Headline(), "target moved 2 times, +30 days in all", "In Progress · 1 of 3 items done"}, s.Changes...) {
		if !strings.Contains(text, w) {
			t.Errorf("dashboard lacks %q", w)
		}
		if !strings.Contains(md.String(), mdText(w)) && !strings.Contains(md.String(), w) {
			t.Errorf("markdown lacks %q:\n%s", w, md.String())
		}
	}
	if !strings.Contains(h, `data-healthy="1" data-at-risk="1" data-done="0"`) || !strings.Contains(h, `class="legend"`) {
		t.Errorf("dashboard lacks the summary header or legend")
	}
	if strings.Index(md.String(), "INIT-2") > strings.Index(md.String(), "INIT-1") {
		t.Errorf("markdown does not list the at-risk INIT-2 first:\n%s", md.String())
	}
}

func TestBlockedLinkedItemNamedOnce(t *testing.T) {
	init := initiative(jira("INIT-1"))
	is := issue(jira("P-1"), wip, 0)
	twin := issue(gh("o/r#1"), wip, 0)
	is.Labels, twin.Labels = []string{"blocked"}, []string{"Blocked"}
	is.SameAs = refs(gh("o/r#1"))
	init.Children = refs(jira("P-1"), gh("o/r#1"))
	x := NewIndex(Config{Now: fixedNow, AtRisk: AtRisk{BlockedLabels: []string{"blocked"}}}, []Node{init, is, twin})
	r, _ := x.Rollup(jira("INIT-1"))
	if diff := cmp.Diff([]string{"P-1 is blocked"}, r.Reasons); diff != "" || len(r.Children) != 1 {
		t.Errorf("reasons (-want +got):\n%s\nchildren %v", diff, r.Children)
	}
}

func TestHTMLNoHistory(t *testing.T) {
	rep := Report{Rollups: []Rollup{{Initiative: adapters.Ref{Tracker: "jira", ID: "1", Key: "A-1"}, Title: "no history"}}}
	h := renderHTML(t, rep, HTMLOptions{})
	m := sparkRe.FindStringSubmatch(h)
	if m == nil || m[1] != "0" || m[2] != "" {
		t.Errorf("want an empty burn-up, got %q", m)
	}
	if !strings.Contains(h, "no child items yet") {
		t.Errorf("childless initiative should say so")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrors(t *testing.T) {
	rep := renderReport(t)
	for name, err := range map[string]error{
		"writing roll-up table":    WriteTable(failWriter{}, rep),
		"writing roll-up JSON":     WriteJSON(failWriter{}, rep),
		"writing roll-up Markdown": WriteMarkdown(failWriter{}, rep),
		"writing dashboard":        WriteHTML(failWriter{}, rep, HTMLOptions{}),
	} {
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
