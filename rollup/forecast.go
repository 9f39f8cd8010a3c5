package rollup

// Words and figures every output shares (the dashboard, rollup --format
// markdown, the weekly digest): the summary header, the order initiatives
// are listed in, human status names and the burn-up forecast, so what a
// PM pastes into a status update says what the dashboard says.

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/tracksync/tracksync/adapters"
)

// Forecast is when an initiative's remaining work is done at its recent
// pace, from its burn-up history.
type Forecast struct {
	// OK is false when there is no forecast: fewer than two days of
	// history, nothing finished lately, or no work at all. Why says why.
	OK  bool
	Why string
	// Likely is at the average pace of the last ForecastWindow days;
	// Optimistic at the best seven-day pace within twice that window (never
	// later than Likely). Rate and BestRate are those paces, items a day.
	Likely, Optimistic time.Time
	Rate, BestRate     float64
	// Done is true when nothing remains.
	Done bool
}

// ForecastWindow is how many recent days the likely pace averages.
const ForecastWindow = 14

func parseDay(s string) (time.Time, bool) {
	t, err := time.Parse(dateLayout, s)
	return t, err == nil
}

// rate is the items finished a day between points a and b.
func rate(a, b Point) (float64, bool) {
	ta, ok1 := parseDay(a.Day)
	tb, ok2 := parseDay(b.Day)
	days := tb.Sub(ta).Hours() / 24
	if !ok1 || !ok2 || days <= 0 {
		return 0, false
	}
	return float64(b.DoneItems-a.DoneItems) / days, true
}

// ForecastOf forecasts from points (oldest first, one a day, with Scope
// and DoneItems set).
func ForecastOf(points []Point) Forecast {
	if len(points) == 0 {
		return Forecast{Why: "no history yet"}
	}
	last := points[len(points)-1]
	if last.Scope > 0 && last.DoneItems >= last.Scope {
		return Forecast{Done: true, Why: "all done"}
	}
	if last.Scope == 0 {
		return Forecast{Why: "no work items yet"}
	}
	if len(points) < 2 {
		return Forecast{Why: "forecast after a second day of history"}
	}
	lastDay, ok := parseDay(last.Day)
	if !ok {
		return Forecast{Why: "history has no dates"}
	}
	from := pointAtOrAfter(points, lastDay.AddDate(0, 0, -ForecastWindow))
	likely, ok := rate(points[from], last)
	if !ok || likely <= 0 {
		return Forecast{Why: fmt.Sprintf("nothing finished in the last %d days", min(ForecastWindow, int(lastDay.Sub(mustDay(points[from].Day)).Hours()/24)))}
	}
	best := likely
	start := pointAtOrAfter(points, lastDay.AddDate(0, 0, -2*ForecastWindow))
	for i := start; i < len(points); i++ {
		di, _ := parseDay(points[i].Day)
		j := pointAtOrAfter(points, di.AddDate(0, 0, 7))
		if dj, _ := parseDay(points[j].Day); dj.Sub(di) < 7*24*time.Hour {
			break // windows shorter than a week say little
		}
		if r, ok := rate(points[i], points[j]); ok && r > best {
			best = r
		}
	}
	left := float64(last.Scope - last.DoneItems)
	at := func(r float64) time.Time {
		return lastDay.AddDate(0, 0, int(math.Ceil(left/r)))
	}
	return Forecast{OK: true, Likely: at(likely), Optimistic: at(best), Rate: likely, BestRate: best}
}

func mustDay(s string) time.Time { t, _ := parseDay(s); return t }

// pointAtOrAfter is the index of the first point on or after day (the last
// point when none is).
func pointAtOrAfter(points []Point, day time.Time) int {
	for i, p := range points {
		if t, ok := parseDay(p.Day); ok && !t.Before(day) {
			return i
		}
	}
	return len(points) - 1
}

// Points is initiative ro's burn-up: its stored history with the current
// figures as the point of r.Generated's day (replacing a stored point of
// that day), so the chart and the forecast agree with the card even when
// the day's snapshot is not written yet, and an initiative with no history
// still has its one point.
func (r Report) Points(ro Rollup) []Point {
	pts := slices.Clone(r.History[Key(ro.Initiative)])
	if r.Generated.IsZero() {
		return pts
	}
	now := Point{Day: r.Generated.UTC().Format(dateLayout), Done: r.done(ro), Scope: ro.Total, DoneItems: ro.Counts[adapters.CategoryDone], AtRisk: ro.AtRisk}
	if n := len(pts); n > 0 && pts[n-1].Day >= now.Day {
		if pts[n-1].Day == now.Day {
			pts[n-1] = now
		}
		return pts
	}
	return append(pts, now)
}

// Forecast is ro's forecast from Points.
func (r Report) Forecast(ro Rollup) Forecast {
	if HealthOf(ro) == HealthDone {
		return Forecast{Done: true, Why: "all done"}
	}
	return ForecastOf(r.Points(ro))
}

// Words says the forecast in a sentence: "likely done 2026-12-20
// (optimistic 2026-12-12), at 1.5 items a day".
func (f Forecast) Words() string {
	switch {
	case f.Done:
		return "all work done"
	case !f.OK:
		return "no forecast: " + f.Why
	case f.Likely.Equal(f.Optimistic):
		return fmt.Sprintf("likely done %s at %s a day", f.Likely.Format(dateLayout), rateText(f.Rate))
	}
	return fmt.Sprintf("likely done %s (optimistic %s) at %s a day", f.Likely.Format(dateLayout), f.Optimistic.Format(dateLayout), rateText(f.Rate))
}

func rateText(r float64) string {
	n := strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", r), "0"), ".")
	if n == "1" {
		return "1 item"
	}
	return n + " items"
}

// Health is where an initiative stands, as the summary counts it.
type Health int

// The health of an initiative, in the order the outputs list them.
const (
	HealthAtRisk Health = iota
	HealthOnTrack
	HealthDone
)

func (h Health) String() string {
	switch h {
	case HealthAtRisk:
		return "at risk"
	case HealthDone:
		return "done"
	}
	return "on track"
}

// HealthOf is done when every counted item is done (and there is one), at
// risk when a rule says so, else on track.
func HealthOf(r Rollup) Health {
	switch {
	case r.Total > 0 && r.Counts[adapters.CategoryDone] >= r.Total:
		return HealthDone
	case r.AtRisk:
		return HealthAtRisk
	}
	return HealthOnTrack
}

// Ordered returns the roll-ups at risk first, then on track, then done,
// keeping the given order within each group.
func Ordered(rs []Rollup) []Rollup {
	out := slices.Clone(rs)
	slices.SortStableFunc(out, func(a, b Rollup) int { return int(HealthOf(a)) - int(HealthOf(b)) })
	return out
}

// Summary is the header of every output.
type Summary struct {
	OnTrack, AtRisk, Done int
	// Changes are this week's changes in words, most telling first.
	Changes []string
}

// Headline is "2 on track · 1 at risk · 3 done".
func (s Summary) Headline() string {
	return fmt.Sprintf("%d on track · %d at risk · %d done", s.OnTrack, s.AtRisk, s.Done)
}

// Summary counts r's initiatives by health and words what changed in the
// seven days before r.Generated, from the history: items finished, scope
// added, initiatives that turned at risk, finished, or whose target moved.
func (r Report) Summary() Summary {
	var s Summary
	var finished, added int
	var turned, completed []string
	weekAgo := r.Generated.UTC().AddDate(0, 0, -7).Format(dateLayout)
	for _, ro := range r.Rollups {
		h := HealthOf(ro)
		switch h {
		case HealthAtRisk:
			s.AtRisk++
		case HealthDone:
			s.Done++
		default:
			s.OnTrack++
		}
		pts := r.Points(ro)
		if len(pts) == 0 {
			continue
		}
		base := pts[0]
		for _, p := range pts {
			if p.Day <= weekAgo {
				base = p
			}
		}
		last := pts[len(pts)-1]
		finished += max(0, last.DoneItems-base.DoneItems)
		added += max(0, last.Scope-base.Scope)
		name := displayName(ro.Initiative)
		if h == HealthAtRisk && !base.AtRisk && base.Day < last.Day {
			turned = append(turned, name)
		}
		if h == HealthDone && base.DoneItems < base.Scope {
			completed = append(completed, name)
		}
	}
	if len(turned) > 0 {
		s.Changes = append(s.Changes, fmt.Sprintf("%s turned at risk: %s", plural(len(turned), "initiative", "initiatives"), strings.Join(turned, ", ")))
	}
	if len(completed) > 0 {
		s.Changes = append(s.Changes, fmt.Sprintf("%s finished: %s", plural(len(completed), "initiative", "initiatives"), strings.Join(completed, ", ")))
	}
	var slips []string
	for _, ro := range r.Rollups {
		for _, sl := range r.Slips[Key(ro.Initiative)] {
			if sl.From != "" && sl.At.UTC().Format(dateLayout) > weekAgo {
				slips = append(slips, fmt.Sprintf("%s %s", displayName(ro.Initiative), sl.Words()))
			}
		}
	}
	if len(slips) > 0 {
		s.Changes = append(s.Changes, "target dates moved: "+strings.Join(slips, "; "))
	}
	s.Changes = append(s.Changes, fmt.Sprintf("%s finished, %s added", plural(finished, "item", "items"), plural(added, "item", "items")))
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// HumanStatus turns a machine status name (in_progress, IN_REVIEW, todo)
// into words (In progress, In review, To do); a status already in words
// ("In Review", "Won't do") is kept as the tracker spells it.
func HumanStatus(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	machine := strings.ContainsAny(s, "_-") && !strings.Contains(s, " ")
	if !machine && strings.ToLower(s) != s && strings.ToUpper(s) != s {
		return s // mixed case: the tracker's own words
	}
	switch strings.ToLower(s) {
	case "todo", "to_do":
		return "To do"
	case "wip":
		return "In progress"
	}
	w := strings.ToLower(strings.NewReplacer("_", " ", "-", " ").Replace(s))
	r := []rune(w)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// Slip is one change of an initiative's target date.
type Slip struct {
	At       time.Time // when tracksync saw it
	From, To string    // YYYY-MM-DD; From "" when the date was first set
}

// Days is how far the date moved, later positive.
func (s Slip) Days() int {
	f, ok1 := parseDay(s.From)
	t, ok2 := parseDay(s.To)
	if !ok1 || !ok2 {
		return 0
	}
	return int(math.Round(t.Sub(f).Hours() / 24))
}

// Words is "2026-12-01 → 2026-12-15 (+14 days)".
func (s Slip) Words() string {
	from, to := s.From, s.To
	if from == "" {
		from = "none"
	}
	if to == "" {
		to = "none"
	}
	if d := s.Days(); d != 0 {
		return fmt.Sprintf("%s → %s (%+d days)", from, to, d)
	}
	return from + " → " + to
}

// SlipTotals is the count of moves of the target date and the days they
// add up to (a date moved back earlier counts negative).
func SlipTotals(slips []Slip) (count, days int) {
	for _, s := range slips {
		if s.From == "" {
			continue
		}
		count++
		days += s.Days()
	}
	return count, days
}

// SlipWords is "slipped 2 times, +21 days" or "" when the date never moved.
func SlipWords(slips []Slip) string {
	n, d := SlipTotals(slips)
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("target moved %s, %+d days in all", plural(n, "time", "times"), d)
}
