package rollup

// The outputs of a roll-up: a terminal table, JSON for machines, Markdown
// for Slack or issue comments and the HTML dashboard the daemon serves.
// Each writer renders into a buffer and writes it in one call, so a
// rendering error never leaves half a document on w.

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tracksync/tracksync/adapters"
)

// Report is what the outputs render.
type Report struct {
	Generated time.Time
	Rollups   []Rollup
	// History holds, by Key(initiative ref), the percent done (0..1) per
	// day, oldest first, for the burn-up sparkline.
	History map[string][]Point
	// ByEstimate selects DoneByEstimate as "the" percent done (else
	// DoneByCount), for initiatives and their children alike.
	ByEstimate bool
	// Status is the initiative's own status by Key(initiative ref)
	// (optional, shown next to the title).
	Status map[string]string
	// Slips are the moves of each initiative's target date by Key
	// (initiative ref), oldest first (optional).
	Slips map[string][]Slip
}

// Point is one day of an initiative's burn-up history.
type Point struct {
	Day  string  `json:"day"`  // YYYY-MM-DD
	Done float64 `json:"done"` // 0..1
	// Scope is the number of work items counted that day, DoneItems how
	// many of them were done (the burn-up's two lines).
	Scope     int  `json:"scope"`
	DoneItems int  `json:"done_items"`
	AtRisk    bool `json:"at_risk,omitempty"`
}

// HTMLOptions tunes the dashboard page.
type HTMLOptions struct {
	// Title is the page title; empty means "tracksync roll-ups".
	Title string
	// Refresh is the period in seconds of a <meta http-equiv=refresh>;
	// 0 (or less) means none.
	Refresh int
	// Footer is plain text shown at the bottom of the page.
	Footer string
}

const (
	defaultHTMLTitle = "tracksync roll-ups"
	emptyMessage     = "no initiatives configured yet"
	dateLayout       = "2006-01-02"
)

// Percent is the integer percent of a 0..1 fraction, as every output and
// write-back shows it: math.Round(done*100), clamped to 0..100 (NaN is 0),
// except that short of 1 it is at most 99: 100% means done, never 199
// items of 200.
func Percent(done float64) int {
	if math.IsNaN(done) {
		return 0
	}
	p := int(math.Round(math.Max(0, math.Min(1, done)) * 100))
	if p == 100 && done < 1 {
		p = 99
	}
	return p
}

func percentOf(done float64) int { return Percent(done) }

// done is "the" fraction done of r under the report's basis.
func (rep Report) done(r Rollup) float64 {
	if rep.ByEstimate {
		return r.DoneByEstimate
	}
	return r.DoneByCount
}

func (rep Report) childDone(c ChildSummary) float64 {
	if rep.ByEstimate {
		return c.DoneByEstimate
	}
	return c.DoneByCount
}

func (rep Report) basis() string {
	if rep.ByEstimate {
		return "by estimate"
	}
	return "by count"
}

// refLabel is the human key of a ref, its ID when it has no key.
func refLabel(r adapters.Ref) string {
	if r.Key != "" {
		return r.Key
	}
	return r.ID
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(dateLayout)
}

func cycleText(cycle []adapters.Ref) string {
	names := make([]string, len(cycle))
	for i, r := range cycle {
		names[i] = displayName(r)
	}
	return strings.Join(names, " → ")
}

// oneLine replaces control characters (tabs, newlines) with spaces so a
// title cannot break a table row.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// ---------------------------------------------------------------- table

// tableTitleWidth caps titles in the terminal table so one long title does
// not push every other column off screen.
const tableTitleWidth = 48

// WriteTable writes r as aligned plain text for a terminal: one row per
// initiative with its key, title, percent done, done / in progress / to do
// leaf counts, target date and, when at risk, "AT RISK:" and the reasons
// (parent cycles are listed there too).
func WriteTable(w io.Writer, r Report) error {
	var buf bytes.Buffer
	if len(r.Rollups) == 0 {
		buf.WriteString(emptyMessage + "\n")
	} else {
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tTITLE\tPROGRESS\tDONE\tIN PROGRESS\tTO DO\tTARGET\tRISK")
		for _, ro := range r.Rollups {
			var risk []string
			if ro.AtRisk {
				risk = append(risk, "AT RISK: "+strings.Join(ro.Reasons, "; "))
			}
			for _, c := range ro.Cycles {
				risk = append(risk, "cycle: "+cycleText(c))
			}
			if sw := SlipWords(r.Slips[Key(ro.Initiative)]); sw != "" {
				risk = append(risk, sw)
			}
			target := formatDate(ro.Target)
			if target == "" {
				target = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d%%\t%d\t%d\t%d\t%s\t%s\n",
				oneLine(displayName(ro.Initiative)),
				truncate(oneLine(ro.Title), tableTitleWidth),
				percentOf(r.done(ro)),
				ro.Counts[adapters.CategoryDone],
				ro.Counts[adapters.CategoryInProgress],
				ro.Counts[adapters.CategoryTodo],
				target,
				oneLine(strings.Join(risk, "; ")))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("rendering roll-up table: %w", err)
		}
		// tabwriter pads an empty last cell; drop the trailing blanks.
		trimmed := trailingBlanks.ReplaceAll(buf.Bytes(), nil)
		buf.Reset()
		buf.Write(trimmed)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing roll-up table: %w", err)
	}
	return nil
}

// ---------------------------------------------------------------- JSON

// JSONReport is the document WriteJSON writes. Its keys are stable: new
// keys may be added, existing ones keep their name and meaning.
//
//	{
//	  "generated": "2026-11-22T12:00:00Z",   // RFC 3339; omitted when unset
//	  "by_estimate": false,                  // basis of percent_done
//	  "initiatives": [ JSONInitiative... ]   // [] when there are none
//	}
type JSONReport struct {
	Generated   *time.Time       `json:"generated,omitempty"`
	ByEstimate  bool             `json:"by_estimate"`
	Initiatives []JSONInitiative `json:"initiatives"`
}

// JSONInitiative is one initiative in a JSONReport. Lists are [] rather
// than null when empty; dates are YYYY-MM-DD and omitted when unknown.
type JSONInitiative struct {
	// Ref is the identity (Key of the ref, "tracker:id"), the key of
	// Report.History and Report.Status.
	Ref     string `json:"ref"`
	Tracker string `json:"tracker"`
	ID      string `json:"id"`
	Key     string `json:"key,omitempty"`
	URL     string `json:"url,omitempty"`
	Title   string `json:"title"`
	Status  string `json:"status,omitempty"`
	// PercentDone is the integer percent (0..100) of DoneByEstimate when
	// by_estimate, else of DoneByCount.
	PercentDone    int        `json:"percent_done"`
	DoneByCount    float64    `json:"done_by_count"`
	DoneByEstimate float64    `json:"done_by_estimate"`
	Total          int        `json:"total"`
	Counts         JSONCounts `json:"counts"`
	Started        string     `json:"started,omitempty"`
	Target         string     `json:"target,omitempty"`
	AtRisk         bool       `json:"at_risk"`
	Reasons        []string   `json:"reasons"`
	// Cycles lists each parent cycle as the "tracker:key" of its members.
	Cycles   [][]string  `json:"cycles"`
	Children []JSONChild `json:"children"`
	// History is the burn-up, oldest day first.
	History []Point `json:"history"`
	// Slips are the target date's moves, oldest first (its first
	// sighting has from ""); SlipCount and SlipDays sum the moves.
	Slips     []JSONSlip `json:"slips"`
	SlipCount int        `json:"slip_count"`
	SlipDays  int        `json:"slip_days"`
	// Health is "at risk", "on track" or "done"; Forecast the burn-up
	// forecast in words.
	Health   string `json:"health"`
	Forecast string `json:"forecast"`
}

// JSONSlip is one move of a target date.
type JSONSlip struct {
	At   time.Time `json:"at"`
	From string    `json:"from"`
	To   string    `json:"to"`
	Days int       `json:"days"`
}

// JSONCounts are leaf counts by status category.
type JSONCounts struct {
	Todo       int `json:"todo"`
	InProgress int `json:"in_progress"`
	Done       int `json:"done"`
}

// JSONChild is one direct child of an initiative.
type JSONChild struct {
	Ref            string  `json:"ref"`
	Tracker        string  `json:"tracker"`
	ID             string  `json:"id"`
	Key            string  `json:"key,omitempty"`
	URL            string  `json:"url,omitempty"`
	Kind           string  `json:"kind,omitempty"`
	Title          string  `json:"title"`
	Status         string  `json:"status,omitempty"`
	Category       string  `json:"category,omitempty"`
	Total          int     `json:"total"`
	PercentDone    int     `json:"percent_done"`
	DoneByCount    float64 `json:"done_by_count"`
	DoneByEstimate float64 `json:"done_by_estimate"`
}

// JSON converts r to the document WriteJSON writes.
func (r Report) JSON() JSONReport {
	out := JSONReport{ByEstimate: r.ByEstimate, Initiatives: []JSONInitiative{}}
	if !r.Generated.IsZero() {
		g := r.Generated
		out.Generated = &g
	}
	for _, ro := range r.Rollups {
		key := Key(ro.Initiative)
		ji := JSONInitiative{
			Ref:            key,
			Tracker:        ro.Initiative.Tracker,
			ID:             ro.Initiative.ID,
			Key:            ro.Initiative.Key,
			URL:            ro.Initiative.URL,
			Title:          ro.Title,
			Status:         r.Status[key],
			PercentDone:    percentOf(r.done(ro)),
			DoneByCount:    ro.DoneByCount,
			DoneByEstimate: ro.DoneByEstimate,
			Total:          ro.Total,
			Counts: JSONCounts{
				Todo:       ro.Counts[adapters.CategoryTodo],
				InProgress: ro.Counts[adapters.CategoryInProgress],
				Done:       ro.Counts[adapters.CategoryDone],
			},
			Started:  formatDate(ro.Started),
			Target:   formatDate(ro.Target),
			AtRisk:   ro.AtRisk,
			Reasons:  append([]string{}, ro.Reasons...),
			Cycles:   [][]string{},
			Children: []JSONChild{},
			History:  append([]Point{}, r.History[key]...),
			Slips:    []JSONSlip{},
			Health:   HealthOf(ro).String(),
			Forecast: r.Forecast(ro).Words(),
		}
		for _, sl := range r.Slips[key] {
			ji.Slips = append(ji.Slips, JSONSlip{At: sl.At, From: sl.From, To: sl.To, Days: sl.Days()})
		}
		ji.SlipCount, ji.SlipDays = SlipTotals(r.Slips[key])
		for _, c := range ro.Cycles {
			names := make([]string, len(c))
			for i, m := range c {
				names[i] = m.String()
			}
			ji.Cycles = append(ji.Cycles, names)
		}
		for _, c := range ro.Children {
			ji.Children = append(ji.Children, JSONChild{
				Ref:            Key(c.Ref),
				Tracker:        c.Ref.Tracker,
				ID:             c.Ref.ID,
				Key:            c.Ref.Key,
				URL:            c.Ref.URL,
				Kind:           string(c.Kind),
				Title:          c.Title,
				Status:         c.Status,
				Category:       string(c.Category),
				Total:          c.Total,
				PercentDone:    percentOf(r.childDone(c)),
				DoneByCount:    c.DoneByCount,
				DoneByEstimate: c.DoneByEstimate,
			})
		}
		out.Initiatives = append(out.Initiatives, ji)
	}
	return out
}

// WriteJSON writes r as an indented JSONReport (see there for the keys).
func WriteJSON(w io.Writer, r Report) error {
	b, err := json.MarshalIndent(r.JSON(), "", "  ")
	if err != nil {
		return fmt.Errorf("encoding roll-up JSON: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing roll-up JSON: %w", err)
	}
	return nil
}

// ---------------------------------------------------------------- Markdown

// mdEscaper backslash-escapes the characters that start Markdown markup
// (emphasis, code, links, HTML, table cells, strike-through, entities), so a
// title shows as typed and cannot break the table or inject HTML.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`,
	`<`, `\<`, `>`, `\>`, `|`, `\|`, `~`, `\~`, `&`, `\&`, `#`, `\#`,
)

func mdText(s string) string { return mdEscaper.Replace(oneLine(s)) }

// mdURLEscaper encodes what would end a link destination or a table cell.
var mdURLEscaper = strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E", "|", "%7C", "`", "%60")

// safeURL returns u when it is an absolute http(s) URL, else "": the
// outputs only link to trackers, never to javascript: or data: URLs.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return u
}

// mdLink is [label](url), or the bare label when url is not linkable.
func mdLink(label, u string) string {
	label = mdText(label)
	if u = safeURL(u); u == "" {
		return label
	}
	return "[" + label + "](" + mdURLEscaper.Replace(u) + ")"
}

// WriteMarkdown writes r as GitHub-flavoured Markdown for a Slack or issue
// comment, in the dashboard's words: the summary header and this week's
// changes, a table of initiatives (at risk first), then per initiative its
// forecast, target-date moves and a bulleted list of its direct children
// with links to their trackers. Titles, keys and reasons are escaped.
func WriteMarkdown(w io.Writer, r Report) error {
	var b strings.Builder
	if len(r.Rollups) == 0 {
		b.WriteString("_No initiatives configured yet._\n")
	} else {
		if !r.Generated.IsZero() {
			fmt.Fprintf(&b, "Roll-ups generated %s, percent done %s.\n\n", r.Generated.UTC().Format("2006-01-02 15:04 UTC"), r.basis())
		}
		sum := r.Summary()
		fmt.Fprintf(&b, "**%s**\n\n", sum.Headline())
		if len(sum.Changes) > 0 {
			b.WriteString("This week:\n")
			for _, c := range sum.Changes {
				b.WriteString("- " + mdText(c) + "\n")
			}
			b.WriteString("\n")
		}
		rollups := Ordered(r.Rollups)
		b.WriteString("| Initiative | Health | Status | Done | Done / in progress / to do | Target | Why |\n")
		b.WriteString("|---|---|---|---:|---|---|---|\n")
		for _, ro := range rollups {
			var risk []string
			if ro.AtRisk {
				risk = append(risk, mdText(strings.Join(ro.Reasons, "; ")))
			}
			for _, c := range ro.Cycles {
				risk = append(risk, "cycle: "+mdText(cycleText(c)))
			}
			target := formatDate(ro.Target)
			if target == "" {
				target = "–"
			}
			health := HealthOf(ro).String()
			if HealthOf(ro) == HealthAtRisk {
				health = "⚠️ **at risk**"
			}
			fmt.Fprintf(&b, "| %s %s | %s | %s | %d%% | %d / %d / %d | %s | %s |\n",
				mdLink(displayName(ro.Initiative), ro.Initiative.URL), mdText(ro.Title), health,
				mdText(HumanStatus(r.Status[Key(ro.Initiative)])),
				percentOf(r.done(ro)),
				ro.Counts[adapters.CategoryDone], ro.Counts[adapters.CategoryInProgress], ro.Counts[adapters.CategoryTodo],
				target, strings.Join(risk, "<br>"))
		}
		for _, ro := range rollups {
			key := Key(ro.Initiative)
			fmt.Fprintf(&b, "\n**%s %s** — %d%% done, %s\n\n", mdLink(displayName(ro.Initiative), ro.Initiative.URL), mdText(ro.Title), percentOf(r.done(ro)), mdText(r.Forecast(ro).Words()))
			if sw := SlipWords(r.Slips[key]); sw != "" {
				fmt.Fprintf(&b, "Target date: %s.\n\n", mdText(sw))
			}
			if len(ro.Children) == 0 {
				b.WriteString("- _no child items_\n")
			}
			for _, c := range ro.Children {
				line := "- " + mdLink(displayName(c.Ref), c.Ref.URL) + " " + mdText(c.Title)
				if st := childStatus(c); st != "" {
					line += " — " + mdText(st)
				}
				fmt.Fprintf(&b, "%s, %d%%\n", line, percentOf(r.childDone(c)))
			}
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing roll-up Markdown: %w", err)
	}
	return nil
}

// childStatus is a child's own status in words and, for a child with items
// below it, their progress: "To do · 3 of 3 items done".
func childStatus(c ChildSummary) string {
	st := HumanStatus(c.Status)
	if c.Total == 0 || (c.Total == 1 && c.Kind != adapters.KindEpic && c.Kind != adapters.KindInitiative) {
		return st
	}
	done := int(math.Round(c.DoneByCount * float64(c.Total)))
	prog := fmt.Sprintf("%d of %s done", done, plural(c.Total, "item", "items"))
	if st == "" {
		return prog
	}
	return st + " · " + prog
}

// ---------------------------------------------------------------- HTML

//go:embed dashboard.html.tmpl
var templateFS embed.FS

var dashboardTmpl = template.Must(template.New("dashboard.html.tmpl").Funcs(template.FuncMap{
	"healthClass": func(h string) string { return strings.ReplaceAll(h, " ", "-") },
}).ParseFS(templateFS, "dashboard.html.tmpl"))

// Burn-up geometry, in SVG user units: the plot sits inside the margins,
// the y axis labels on the left, the x axis labels below.
const (
	burnW, burnH                          = 320, 150
	burnLeft, burnRight, burnTop, burnBot = 34, 10, 14, 26
)

type htmlPage struct {
	Title        string
	Refresh      int
	Footer       string
	Generated    string
	GeneratedISO string
	Basis        string
	Summary      Summary
	Initiatives  []htmlInitiative
}

type htmlInitiative struct {
	ID, Key, Label, Title, URL, Status string
	Health                             string
	Percent                            int
	AtRisk                             bool
	Reasons                            []string
	Cycles                             []string
	Done, InProgress, Todo, Total      int
	Segments                           []htmlSegment
	Started, Target                    string
	Burnup                             htmlBurnup
	Forecast                           string
	Slips                              []string
	SlipWords                          string
	Children                           []htmlChild
}

// htmlSegment is one part of the stacked status bar, X and W in percent of
// its width.
type htmlSegment struct {
	Class string
	X, W  string
}

// htmlBurnup is the burn-up chart: scope and done lines over days, the
// target date and the forecast, on labelled axes.
type htmlBurnup struct {
	W, H, N                  int
	Left, Right, Top, Bottom int
	Scope, Done              string // polyline points
	ScopeDot, DoneDot        *htmlXY
	NowLabel                 string // "2 of 3 done", beside the last point
	YMax                     int
	YMaxAt                   string
	XFirst, XLast            string // axis labels
	XLastAt                  string
	Target                   *htmlMark
	Likely, Optimistic       *htmlLine
	LikelyDay, OptimisticDay string
	Title                    string
}

type htmlXY struct{ X, Y string }

type htmlMark struct{ X, Y1, Y2, Label string }

type htmlLine struct{ X1, Y1, X2, Y2 string }

type htmlChild struct {
	Key, Label, Title, URL, Status, Category string
	Percent                                  int
}

var (
	idUnsafe       = regexp.MustCompile(`[^A-Za-z0-9_-]+`)
	trailingBlanks = regexp.MustCompile(`(?m) +$`)
)

// htmlID is "init-" and the initiative's human key with anything but
// letters, digits, '-' and '_' replaced by '-'; a repeated key gets "-2",
// "-3"… so ids stay unique.
func htmlID(label string, seen map[string]int) string {
	id := "init-" + strings.Trim(idUnsafe.ReplaceAllString(label, "-"), "-")
	seen[id]++
	if n := seen[id]; n > 1 {
		id += "-" + strconv.Itoa(n)
	}
	return id
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// num1 is a chart coordinate: a tenth of a unit is below a pixel.
func num1(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// burnup draws points (oldest first) with the target date and the
// forecast. The x axis runs from the first day to the latest of the last
// day, the target and the likely forecast (at least one day, so one day of
// history still has a width); the y axis from 0 to the largest scope.
func burnup(points []Point, target time.Time, f Forecast) htmlBurnup {
	b := htmlBurnup{W: burnW, H: burnH, N: len(points), Left: burnLeft, Right: burnW - burnRight, Top: burnTop, Bottom: burnH - burnBot}
	var days []time.Time
	for _, p := range points {
		t, ok := parseDay(p.Day)
		if !ok {
			continue
		}
		days = append(days, t)
		b.YMax = max(b.YMax, p.Scope, p.DoneItems)
	}
	if len(days) == 0 {
		b.Title = "burn-up: no history yet"
		return b
	}
	b.YMax = max(b.YMax, 1)
	first, end := days[0], days[len(days)-1]
	if !target.IsZero() && target.After(end) {
		end = target
	}
	if f.OK && f.Likely.After(end) {
		end = f.Likely
	}
	if !end.After(first) {
		end = first.AddDate(0, 0, 1)
	}
	span := end.Sub(first).Hours()
	x := func(t time.Time) float64 {
		// The first day sits a little right of the y axis, so a lone
		// point is not drawn on it.
		const pad = 8
		return float64(burnLeft+pad) + t.Sub(first).Hours()/span*float64(burnW-burnLeft-burnRight-pad)
	}
	y := func(v int) float64 {
		return float64(burnH-burnBot) - float64(v)/float64(b.YMax)*float64(burnH-burnBot-burnTop)
	}
	var scope, done []string
	for i, p := range points {
		if i >= len(days) {
			break
		}
		xi := num1(x(days[i]))
		scope = append(scope, xi+","+num1(y(p.Scope)))
		done = append(done, xi+","+num1(y(p.DoneItems)))
	}
	b.Scope, b.Done = strings.Join(scope, " "), strings.Join(done, " ")
	last := points[len(points)-1]
	lx := num1(x(days[len(days)-1]))
	b.ScopeDot = &htmlXY{X: lx, Y: num1(y(last.Scope))}
	b.DoneDot = &htmlXY{X: lx, Y: num1(y(last.DoneItems))}
	b.NowLabel = fmt.Sprintf("%d of %d done", last.DoneItems, last.Scope)
	b.YMaxAt = num1(y(b.YMax))
	b.XFirst, b.XLast, b.XLastAt = first.Format("Jan 2"), end.Format("Jan 2"), num1(x(end))
	if !target.IsZero() {
		tx := x(target)
		if tx >= float64(burnLeft) {
			b.Target = &htmlMark{X: num1(tx), Y1: strconv.Itoa(burnTop), Y2: strconv.Itoa(burnH - burnBot), Label: "target " + target.Format("Jan 2")}
		}
	}
	if f.OK {
		line := func(t time.Time) *htmlLine {
			return &htmlLine{X1: lx, Y1: num1(y(last.DoneItems)), X2: num1(x(t)), Y2: num1(y(last.Scope))}
		}
		b.Likely, b.LikelyDay = line(f.Likely), f.Likely.Format(dateLayout)
		if f.Optimistic.Before(f.Likely) {
			b.Optimistic, b.OptimisticDay = line(f.Optimistic), f.Optimistic.Format(dateLayout)
		}
	}
	b.Title = fmt.Sprintf("burn-up %s to %s: %d of %d items done; %s", points[0].Day, last.Day, last.DoneItems, last.Scope, f.Words())
	return b
}

// segments is the stacked done / in progress / to do bar.
func segments(counts map[adapters.StatusCategory]int, total int) []htmlSegment {
	sum := 0
	for _, c := range byRank {
		sum += counts[c]
	}
	if total < sum {
		total = sum
	}
	if total == 0 {
		return nil
	}
	var out []htmlSegment
	x := 0.0
	for _, c := range [...]adapters.StatusCategory{adapters.CategoryDone, adapters.CategoryInProgress, adapters.CategoryTodo} {
		w := float64(counts[c]) * 100 / float64(total)
		if w > 0 {
			out = append(out, htmlSegment{Class: "seg-" + string(c), X: num(x), W: num(w)})
		}
		x += w
	}
	return out
}

func htmlCategory(c adapters.StatusCategory) string {
	if c.Valid() {
		return string(c)
	}
	return string(adapters.CategoryTodo)
}

func (r Report) htmlPage(o HTMLOptions) htmlPage {
	p := htmlPage{Title: o.Title, Refresh: max(o.Refresh, 0), Footer: o.Footer, Basis: r.basis(), Summary: r.Summary()}
	if p.Title == "" {
		p.Title = defaultHTMLTitle
	}
	if !r.Generated.IsZero() {
		p.Generated = r.Generated.Format("2006-01-02 15:04:05 MST")
		p.GeneratedISO = r.Generated.Format(time.RFC3339)
	}
	seen := map[string]int{}
	for _, ro := range Ordered(r.Rollups) {
		key := Key(ro.Initiative)
		label := refLabel(ro.Initiative)
		f := r.Forecast(ro)
		hi := htmlInitiative{
			ID:         htmlID(label, seen),
			Key:        label,
			Label:      displayName(ro.Initiative),
			Title:      ro.Title,
			URL:        safeURL(ro.Initiative.URL),
			Status:     HumanStatus(r.Status[key]),
			Health:     HealthOf(ro).String(),
			Percent:    percentOf(r.done(ro)),
			AtRisk:     ro.AtRisk,
			Reasons:    ro.Reasons,
			Done:       ro.Counts[adapters.CategoryDone],
			InProgress: ro.Counts[adapters.CategoryInProgress],
			Todo:       ro.Counts[adapters.CategoryTodo],
			Total:      ro.Total,
			Segments:   segments(ro.Counts, ro.Total),
			Started:    formatDate(ro.Started),
			Target:     formatDate(ro.Target),
			Burnup:     burnup(r.Points(ro), ro.Target, f),
			Forecast:   f.Words(),
			SlipWords:  SlipWords(r.Slips[key]),
		}
		for _, sl := range r.Slips[key] {
			if sl.From != "" {
				hi.Slips = append(hi.Slips, sl.At.UTC().Format(dateLayout)+": "+sl.Words())
			}
		}
		for _, c := range ro.Cycles {
			hi.Cycles = append(hi.Cycles, cycleText(c))
		}
		for _, c := range ro.Children {
			hi.Children = append(hi.Children, htmlChild{
				Key:      refLabel(c.Ref),
				Label:    displayName(c.Ref),
				Title:    c.Title,
				URL:      safeURL(c.Ref.URL),
				Status:   childStatus(c),
				Category: htmlCategory(c.Category),
				Percent:  percentOf(r.childDone(c)),
			})
		}
		p.Initiatives = append(p.Initiatives, hi)
	}
	return p
}

// WriteHTML writes the dashboard: a standalone page (inline CSS and SVG,
// no scripts, no external resources) with one card per initiative. Its
// hooks for tests and scrapers are stable:
//
//   - each card is <section class="initiative" id="init-<key>"
//     data-key="<Ref.Key>" data-progress="<percent>" data-at-risk="true|false">,
//     where <key> is Ref.Key with characters other than [A-Za-z0-9_-]
//     replaced by '-' (and "-2", "-3"… appended to repeats);
//   - the percent text is in the card's element of class "pct";
//   - the progress bar is class "bar", its filled part class "fill" with
//     style width:<percent>%;
//   - the summary header is <section class="summary-header"> with
//     data-healthy, data-at-risk and data-done counts and a list
//     class "changes" of this week's changes;
//   - cards are ordered at risk, on track, done; each has data-health;
//   - the burn-up is <svg class="burnup" data-points="<n>"
//     data-likely="<day>" data-optimistic="<day>"> with axes (g.axis.x,
//     g.axis.y), polylines class "scope" and "done" (one point per
//     history day), a line class "target" at the target date and lines
//     class "forecast likely" / "forecast optimistic";
//   - each direct child is <li class="child" data-key="<Ref.Key>"
//     data-progress="<percent>">.
//
// Ref.Key falls back to Ref.ID when empty. Links only go to http(s) item
// URLs.
func WriteHTML(w io.Writer, r Report, o HTMLOptions) error {
	var buf bytes.Buffer
	if err := dashboardTmpl.Execute(&buf, r.htmlPage(o)); err != nil {
		return fmt.Errorf("rendering dashboard: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing dashboard: %w", err)
	}
	return nil
}
