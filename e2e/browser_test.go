package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/sandbox"
)

// The dashboard in a real browser: headless Chromium driven by chromedp
// over the DevTools protocol (Debian's chromium alone, no chromedriver),
// so what is checked is the rendered DOM and layout (bar widths, stacking
// on a phone), not the HTML source the other e2e tests grep.

// chromiumNames are the executables looked for on PATH, Debian's first;
// $TRACKSYNC_CHROMIUM names another.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"}

// TestDashboardInChromium loads the daemon's dashboard in headless
// Chromium, checks each initiative card as rendered, makes the same edits
// as TestRollupsEndToEnd, checks the page again, then checks the phone
// layout and saves screenshots as artifacts.
func TestDashboardInChromium(t *testing.T) {
	requireBrowser(t)
	start := time.Now()
	phase := start
	lap := func(what string) {
		now := time.Now()
		t.Logf("timing: %s took %v", what, now.Sub(phase).Round(time.Millisecond))
		phase = now
	}

	chromium := requireBrowser(t)
	h := startSandboxDaemon(t)
	lap("sandbox and daemon up")
	b := startBrowser(t, chromium)
	lap("browser started")

	// INIT-4's children are the Asana launch plan's tasks (2 of 4 done).
	want := map[string]int{"INIT-1": 33, "INIT-2": 0, "INIT-3": 33, "INIT-4": 50}
	totals := map[string]int{"INIT-1": 3, "INIT-2": 1, "INIT-3": 3, "INIT-4": 4}
	h.waitFor("the seeded roll-ups", rollupsAre(h, want, totals))
	page := b.loadDashboard(t, h.URL+"/", want)
	checkCards(t, h, page, want)
	checkExecutive(t, page)
	lap("seeded dashboard checked")

	for _, key := range []string{"PLAT-3", "PLAT-6"} {
		if err := h.sb.Jira.EditIssue(key, "", func(is *jiratest.Issue) { is.Status = "Done" }); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.sb.GitHub.EditIssue(sandbox.Repo, 1, func(is *githubtest.Issue) { is.State, is.StateReason = "closed", "completed" }); err != nil {
		t.Fatal(err)
	}
	// PLAT-5, INIT-2's only child, is blocked (it is synced to GitHub: the
	// reason must name it once): INIT-2 turns at risk and goes first.
	if err := h.sb.Jira.EditIssue("PLAT-5", "", func(is *jiratest.Issue) { is.Labels = append(is.Labels, "blocked") }); err != nil {
		t.Fatal(err)
	}
	want = map[string]int{"INIT-1": 100, "INIT-2": 0, "INIT-3": 67, "INIT-4": 50}
	h.waitFor("the roll-ups after the edits", rollupsAre(h, want, totals))
	h.waitFor("INIT-2 at risk", func() (bool, string) {
		_, r := h.percent("INIT-2")
		return r.AtRisk, fmt.Sprint(r.Reasons)
	})
	page = b.loadDashboard(t, h.URL+"/", want)
	checkCards(t, h, page, want)
	checkExecutive(t, page)
	if page.Cards[0].Key != "INIT-2" || page.Header.AtRisk != "1" || !strings.Contains(page.Cards[0].HTML, "<li>PLAT-5 is blocked</li>") || strings.Count(page.Cards[0].HTML, "is blocked") != 1 {
		t.Errorf("at-risk INIT-2 not first, or its reason not named once: header %+v; first card:\n%s", page.Header, snippet(page.Cards[0].HTML, 3000))
	}
	checkDesktopLayout(t, page)
	lap("edited dashboard checked")

	dir := artifactsDir(t)
	b.saveScreenshot(t, filepath.Join(dir, "dashboard.png"))

	// Phone: one column, nothing wider than the screen.
	b.setViewport(t, 390, 844)
	page = b.loadDashboard(t, h.URL+"/", want)
	checkCards(t, h, page, want)
	checkExecutive(t, page)
	checkPhoneLayout(t, page)
	b.saveScreenshot(t, filepath.Join(dir, "dashboard-phone.png"))
	lap("phone layout checked, screenshots saved")
	t.Logf("timing: total %v", time.Since(start).Round(time.Millisecond))
}

// requireBrowser returns the Chromium to drive. It skips the test where
// there is none, unless TRACKSYNC_REQUIRE_BROWSER=1 (CI), where that is a
// failure.
func requireBrowser(t *testing.T) string {
	t.Helper()
	names := chromiumNames
	if p := os.Getenv("TRACKSYNC_CHROMIUM"); p != "" {
		names = []string{p}
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("browser test needs Chromium (%s on PATH, or TRACKSYNC_CHROMIUM; Debian/Ubuntu: apt-get install chromium)", strings.Join(names, ", "))
	if os.Getenv("TRACKSYNC_REQUIRE_BROWSER") == "1" {
		t.Fatalf("%s; TRACKSYNC_REQUIRE_BROWSER=1 makes this a failure", msg)
	}
	t.Skip(msg)
	return ""
}

// rollupsAre is a waitFor condition: each initiative's percent and total.
func rollupsAre(h *sandboxDaemon, want, totals map[string]int) func() (bool, string) {
	return func() (bool, string) {
		ok := true
		var state []string
		for _, k := range slices.Sorted(maps.Keys(want)) {
			p, r := h.percent(k)
			state = append(state, fmt.Sprintf("%s %d%% of %d", k, p, r.Total))
			ok = ok && p == want[k] && r.Total == totals[k]
		}
		return ok, strings.Join(state, ", ")
	}
}

// rect is a DOMRect as JSON.
type rect struct {
	Left, Right, Top, Bottom, Width float64
}

// domCard is one section.initiative as the browser rendered it.
type domCard struct {
	Key       string
	AtRisk    string // data-at-risk
	Pct       string // text of .pct
	BarWidth  float64
	FillWidth float64
	HasBar    bool
	Badge     bool
	Children  []domChild
	Rect      rect
	Summary   rect
	Trend     rect
	Health    string
	Forecast  string
	Burnup    domBurnup
	HTML      string // the card's outerHTML
}

// domBurnup is a card's rendered burn-up chart.
type domBurnup struct {
	Points         int // data-points
	ScopeN, DoneN  int // points in the scope and done polylines
	Axes           int // rendered axes (g.axis with a non-empty box)
	AxisLabels     int
	Target, Likely bool
	Rect           rect
}

// domHeader is the page's summary header.
type domHeader struct {
	Healthy, AtRisk, Done string // data-* counts
	Text                  string
	Legend                int // legend entries
	Rect                  rect
}

type domChild struct {
	Key  string
	Href string // resolved href of the a[href], "" when none
}

// domPage is what readDashboard returns.
type domPage struct {
	Cards       []domCard
	Header      *domHeader
	ScrollWidth float64
	InnerWidth  float64
	ClientWidth float64 // the viewport less any vertical scrollbar
	HTML        string  // document.documentElement.outerHTML
}

// readDashboardJS reads the rendered page: no scripts run in the page
// itself (its CSP forbids them); DevTools' evaluation runs outside it.
const readDashboardJS = `(() => {
const r = el => { if (!el) return null; const b = el.getBoundingClientRect(); return {left: b.left, right: b.right, top: b.top, bottom: b.bottom, width: b.width}; };
const hd = document.querySelector('section.summary-header');
const pts = el => el ? el.getAttribute('points').trim().split(/\s+/).filter(x => x).length : -1;
const out = {header: hd ? {healthy: hd.getAttribute('data-healthy'), atRisk: hd.getAttribute('data-at-risk'), done: hd.getAttribute('data-done'), text: hd.innerText, legend: hd.querySelectorAll('.legend li').length, rect: r(hd)} : null, cards: [], scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, clientWidth: document.documentElement.clientWidth, html: document.documentElement.outerHTML};
for (const s of document.querySelectorAll('section.initiative')) {
  const bar = s.querySelector('.bar'), fill = s.querySelector('.bar .fill'), pct = s.querySelector('.pct');
  out.cards.push({
    key: s.getAttribute('data-key'),
    atRisk: s.getAttribute('data-at-risk'),
    pct: pct ? pct.textContent.trim() : '',
    hasBar: !!(bar && fill),
    barWidth: bar ? bar.getBoundingClientRect().width : 0,
    fillWidth: fill ? fill.getBoundingClientRect().width : 0,
    badge: !!s.querySelector('.badge'),
    children: Array.from(s.querySelectorAll('li.child')).map(li => { const a = li.querySelector('a[href]'); return {key: li.getAttribute('data-key'), href: a ? a.href : ''}; }),
    rect: r(s), summary: r(s.querySelector('.summary')), trend: r(s.querySelector('.trend')),
    health: s.getAttribute('data-health'),
    forecast: (s.querySelector('.forecast-text') || {}).textContent || '',
    burnup: (() => { const b = s.querySelector('svg.burnup'); if (!b) return {points: -1}; return {
      points: +b.getAttribute('data-points'), scopeN: pts(b.querySelector('polyline.scope')), doneN: pts(b.querySelector('polyline.done')),
      axes: Array.from(b.querySelectorAll('g.axis')).filter(g => { const x = g.getBoundingClientRect(); return x.width > 0 && x.height > 0; }).length,
      axisLabels: b.querySelectorAll('g.axis text').length,
      target: !!b.querySelector('line.target'), likely: !!b.querySelector('line.forecast.likely'), rect: r(b)}; })(),
    html: s.outerHTML,
  });
}
return out;
})()`

// loadDashboard navigates to url and reads the rendered page, reloading
// (bounded) until every card's percent text is what want says: the page
// is rendered per request, so this only waits out a roll-up in flight.
func (b *browser) loadDashboard(t *testing.T, url string, want map[string]int) domPage {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		page, err := b.read(ctx, url)
		if err != nil {
			t.Fatalf("dashboard %s: %v; chromium output:\n%s", url, err, snippet(b.log.String(), 4000))
		}
		got := map[string]string{}
		for _, c := range page.Cards {
			got[c.Key] = c.Pct
		}
		ok := len(page.Cards) == len(want)
		for k, p := range want {
			ok = ok && got[k] == strconv.Itoa(p)+"%"
		}
		if ok {
			return page
		}
		select {
		case <-ctx.Done():
			t.Fatalf("dashboard %s: percents %v after 30s, want %v; page:\n%s", url, got, want, snippet(page.HTML, 4000))
		case <-tick.C:
		}
	}
}

// read navigates to url and reads the rendered page.
func (b *browser) read(ctx context.Context, url string) (domPage, error) {
	var page domPage
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return page, fmt.Errorf("navigating: %w", err)
	}
	// The raw JSON, decoded here, so the field names match as
	// encoding/json matches them.
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](readDashboardJS))
	if err != nil {
		return page, fmt.Errorf("reading the page: %w", err)
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return page, fmt.Errorf("decoding the page: %w", err)
	}
	return page, nil
}

// checkCards checks each card as rendered: percent text and bar width,
// the at-risk badge, and the children with their links.
func checkCards(t *testing.T, h *sandboxDaemon, page domPage, want map[string]int) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range page.Cards {
		seen[c.Key] = true
		w, ok := want[c.Key]
		if !ok {
			t.Errorf("card %q: not an expected initiative; card:\n%s", c.Key, snippet(c.HTML, 2000))
			continue
		}
		if c.Pct != strconv.Itoa(w)+"%" {
			t.Errorf("card %s: .pct text %q, want %d%%; card:\n%s", c.Key, c.Pct, w, snippet(c.HTML, 2000))
		}
		if !c.HasBar || c.BarWidth <= 0 {
			t.Errorf("card %s: no rendered .bar .fill (bar width %.1fpx); card:\n%s", c.Key, c.BarWidth, snippet(c.HTML, 2000))
		} else if got := c.FillWidth / c.BarWidth * 100; got < float64(w)-1.5 || got > float64(w)+1.5 {
			t.Errorf("card %s: bar fill renders %.1f%% of the bar (%.1fpx of %.1fpx), want %d%% ±1.5; card:\n%s",
				c.Key, got, c.FillWidth, c.BarWidth, w, snippet(c.HTML, 2000))
		}
		switch c.AtRisk {
		case "true", "false":
			if c.Badge != (c.AtRisk == "true") {
				t.Errorf("card %s: data-at-risk=%s but at-risk badge shown=%v; card:\n%s", c.Key, c.AtRisk, c.Badge, snippet(c.HTML, 2000))
			}
		default:
			t.Errorf("card %s: data-at-risk=%q, want true or false", c.Key, c.AtRisk)
		}

		// Children: the roll-up's direct children, each with a link.
		_, ro := h.percent(c.Key)
		var wantKids, gotKids []string
		for _, ch := range ro.Children {
			k := ch.Ref.Key
			if k == "" {
				k = ch.Ref.ID
			}
			wantKids = append(wantKids, k)
		}
		for _, ch := range c.Children {
			gotKids = append(gotKids, ch.Key)
			if !strings.HasPrefix(ch.Href, "http://") && !strings.HasPrefix(ch.Href, "https://") {
				t.Errorf("card %s: child %s has no http(s) link (href %q); card:\n%s", c.Key, ch.Key, ch.Href, snippet(c.HTML, 2000))
			}
		}
		slices.Sort(wantKids)
		slices.Sort(gotKids)
		if len(gotKids) == 0 || !slices.Equal(gotKids, wantKids) {
			t.Errorf("card %s: children %v, want %v (non-empty); card:\n%s", c.Key, gotKids, wantKids, snippet(c.HTML, 2000))
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("no card for %s; page:\n%s", k, snippet(page.HTML, 4000))
		}
	}
}

// checkExecutive checks what an executive reads first: the summary header
// agrees with the cards, at-risk cards come first (then on track, then
// done), no child is listed twice, and every burn-up has rendered axes,
// its scope and done lines with one point per day of history, and a
// forecast in words (one day of history says when a forecast comes).
func checkExecutive(t *testing.T, page domPage) {
	t.Helper()
	hd := page.Header
	if hd == nil {
		t.Fatalf("no summary header; page:\n%s", snippet(page.HTML, 4000))
	}
	count := map[string]int{}
	rank := map[string]int{"at risk": 0, "on track": 1, "done": 2}
	last := -1
	for _, c := range page.Cards {
		count[c.Health]++
		r, ok := rank[c.Health]
		if !ok {
			t.Errorf("card %s: data-health %q", c.Key, c.Health)
		}
		if r < last {
			t.Errorf("card %s (%s) listed after a card of a later group; order must be at risk, on track, done", c.Key, c.Health)
		}
		last = max(last, r)
		if (c.Health == "at risk") != (c.AtRisk == "true") && c.Health != "done" {
			t.Errorf("card %s: health %q but data-at-risk=%s", c.Key, c.Health, c.AtRisk)
		}
		keys := map[string]bool{}
		for _, ch := range c.Children {
			if keys[ch.Key] {
				t.Errorf("card %s: child %s listed twice; card:\n%s", c.Key, ch.Key, snippet(c.HTML, 2000))
			}
			keys[ch.Key] = true
		}
		bu := c.Burnup
		if bu.Points < 1 || bu.ScopeN != bu.Points || bu.DoneN != bu.Points {
			t.Errorf("card %s: burn-up with %d days drew %d scope and %d done points; card:\n%s", c.Key, bu.Points, bu.ScopeN, bu.DoneN, snippet(c.HTML, 3000))
		}
		if bu.Axes != 2 || bu.AxisLabels < 4 || bu.Rect.Width < 150 {
			t.Errorf("card %s: burn-up has %d rendered axes, %d axis labels, %.0fpx wide; want 2, >= 4, >= 150", c.Key, bu.Axes, bu.AxisLabels, bu.Rect.Width)
		}
		if bu.Rect.Right > c.Rect.Right+1 {
			t.Errorf("card %s: burn-up overflows its card (%.1f > %.1f)", c.Key, bu.Rect.Right, c.Rect.Right)
		}
		switch {
		case c.Health == "done":
			if c.Forecast != "all work done" {
				t.Errorf("card %s: done, forecast %q", c.Key, c.Forecast)
			}
		case bu.Points >= 2:
			if !bu.Likely || !strings.HasPrefix(c.Forecast, "likely done") && !strings.HasPrefix(c.Forecast, "no forecast") {
				t.Errorf("card %s: %d days of history, forecast line %v, text %q", c.Key, bu.Points, bu.Likely, c.Forecast)
			}
		default:
			if c.Forecast != "no forecast: forecast after a second day of history" {
				t.Errorf("card %s: one day of history, forecast text %q", c.Key, c.Forecast)
			}
		}
	}
	got := []string{hd.AtRisk, hd.Healthy, hd.Done}
	wantCounts := []string{strconv.Itoa(count["at risk"]), strconv.Itoa(count["on track"]), strconv.Itoa(count["done"])}
	if !slices.Equal(got, wantCounts) {
		t.Errorf("summary header counts at risk/on track/done %v, cards say %v", got, wantCounts)
	}
	for _, w := range []string{"at risk", "on track", "done", "items finished"} {
		if !strings.Contains(hd.Text, w) {
			t.Errorf("summary header text lacks %q: %q", w, hd.Text)
		}
	}
	if hd.Legend < 6 || hd.Rect.Width <= 0 || hd.Rect.Right > page.ClientWidth+1 {
		t.Errorf("summary header: %d legend entries, box %+v (viewport %.0f)", hd.Legend, hd.Rect, page.ClientWidth)
	}
}

// checkDesktopLayout: each card in two columns, summary beside trend, so
// that the phone check below tests the narrow-screen rule, not a default.
func checkDesktopLayout(t *testing.T, page domPage) {
	t.Helper()
	for _, c := range page.Cards {
		if c.Trend.Left < c.Summary.Right-1 || c.Trend.Top > c.Summary.Bottom {
			t.Errorf("desktop (%.0fpx): card %s: trend at x %.1f, y %.1f is not beside the summary (right %.1f, bottom %.1f); card:\n%s",
				page.InnerWidth, c.Key, c.Trend.Left, c.Trend.Top, c.Summary.Right, c.Summary.Bottom, snippet(c.HTML, 2000))
		}
	}
}

// checkPhoneLayout: no horizontal scrolling, cards one under the other and
// as wide as the screen less the page padding, each card in one column.
func checkPhoneLayout(t *testing.T, page domPage) {
	t.Helper()
	if page.InnerWidth > 600 {
		t.Fatalf("phone viewport is %.0fpx wide, want <= 600 for the phone layout (window not resized?)", page.InnerWidth)
	}
	if page.ScrollWidth > page.InnerWidth+1 {
		t.Errorf("phone: horizontal overflow: scrollWidth %.0f > innerWidth %.0f; page:\n%s", page.ScrollWidth, page.InnerWidth, snippet(page.HTML, 4000))
	}
	for i, c := range page.Cards {
		// Body padding is .5rem on a phone; allow a little more.
		if c.Rect.Left > 12 || c.Rect.Right < page.ClientWidth-12 || c.Rect.Right > page.ClientWidth+1 {
			t.Errorf("phone: card %s spans x %.1f..%.1f, want the full width of %.0fpx less padding; card:\n%s",
				c.Key, c.Rect.Left, c.Rect.Right, page.ClientWidth, snippet(c.HTML, 2000))
		}
		if i > 0 && c.Rect.Top < page.Cards[i-1].Rect.Bottom-1 {
			t.Errorf("phone: card %s (top %.1f) is not below card %s (bottom %.1f)", c.Key, c.Rect.Top, page.Cards[i-1].Key, page.Cards[i-1].Rect.Bottom)
		}
		if c.Trend.Top < c.Summary.Bottom-1 {
			t.Errorf("phone: card %s: trend (top %.1f) is beside the summary (bottom %.1f), want one column; card:\n%s",
				c.Key, c.Trend.Top, c.Summary.Bottom, snippet(c.HTML, 2000))
		}
	}
}

func snippet(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d more bytes)", len(s)-n)
}

// artifactsDir is $TRACKSYNC_ARTIFACTS, else artifacts/ at the repo root
// (the test runs in e2e/).
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TRACKSYNC_ARTIFACTS")
	if dir == "" {
		root, err := filepath.Abs("..")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
			t.Fatalf("artifacts: %s is not the repo root (no go.mod); set TRACKSYNC_ARTIFACTS", root)
		}
		dir = filepath.Join(root, "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts directory: %v", err)
	}
	return dir
}

// ---- the browser, through chromedp ----

// browser is one headless Chromium with one tab.
type browser struct {
	ctx context.Context // a chromedp context: its tab
	log *syncBuffer     // Chromium's output, for failure messages
}

// syncBuffer collects Chromium's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startBrowser starts headless Chromium at path, 1200x900; it is stopped
// (the process and its children) at cleanup.
func startBrowser(t *testing.T, path string) *browser {
	t.Helper()
	b := &browser{log: &syncBuffer{}}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
		chromedp.CombinedOutput(b.log),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser process to exit
	})
	b.ctx = ctx
	// The first action starts the browser; no timeout on it, as a
	// timeout on this context would stop the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v; output:\n%s", path, err, snippet(b.log.String(), 4000))
	}
	return b
}

// setViewport makes the page's viewport width x height CSS pixels, as on
// a phone.
func (b *browser) setViewport(t *testing.T, width, height int64) {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("set viewport to %dx%d: %v", width, height, err)
	}
}

// screenshot is the viewport as PNG bytes.
func (b *browser) screenshot(t *testing.T) []byte {
	t.Helper()
	raw, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return raw
}

// saveScreenshot writes a screenshot to path after checking it is a PNG
// with something drawn on it.
func (b *browser) saveScreenshot(t *testing.T, path string) {
	t.Helper()
	raw := b.screenshot(t)
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot for %s is not a PNG: %v", path, err)
	}
	n := distinctColours(img, 16)
	if n < 2 {
		t.Errorf("screenshot for %s is blank (%d distinct colour)", path, n)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatalf("saving screenshot: %v", err)
	}
	bd := img.Bounds()
	t.Logf("screenshot %s (%dx%d, %d bytes, >=%d colours)", path, bd.Dx(), bd.Dy(), len(raw), n)
}

// distinctColours counts the distinct colours in img, stopping at limit.
func distinctColours(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			r, g, b, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, b, a}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}
