//go:build unix

package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/sandbox"
)

// The dashboard in a real browser: headless Chromium driven through
// ChromeDriver with the W3C WebDriver protocol, so what is checked is the
// rendered DOM and layout (bar widths, stacking on a phone), not the HTML
// source the other e2e tests grep.

const (
	chromedriverPath = "/usr/bin/chromedriver"
	chromiumPath     = "/usr/bin/chromium"
)

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

	wd := startChromedriver(t)
	lap("chromedriver ready")
	h := startSandboxDaemon(t)
	lap("sandbox and daemon up")
	b := wd.newSession(t)
	lap("browser session")

	want := map[string]int{"INIT-1": 33, "INIT-2": 0, "INIT-3": 33}
	totals := map[string]int{"INIT-1": 3, "INIT-2": 1, "INIT-3": 3}
	h.waitFor("the seeded roll-ups", rollupsAre(h, want, totals))
	page := b.loadDashboard(t, h.URL+"/", want)
	checkCards(t, h, page, want)
	lap("seeded dashboard checked")

	for _, key := range []string{"PLAT-3", "PLAT-6"} {
		if err := h.sb.Jira.EditIssue(key, "", func(is *jiratest.Issue) { is.Status = "Done" }); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.sb.GitHub.EditIssue(sandbox.Repo, 1, func(is *githubtest.Issue) { is.State, is.StateReason = "closed", "completed" }); err != nil {
		t.Fatal(err)
	}
	want = map[string]int{"INIT-1": 100, "INIT-2": 0, "INIT-3": 67}
	h.waitFor("the roll-ups after the edits", rollupsAre(h, want, totals))
	page = b.loadDashboard(t, h.URL+"/", want)
	checkCards(t, h, page, want)
	checkDesktopLayout(t, page)
	lap("edited dashboard checked")

	dir := artifactsDir(t)
	b.saveScreenshot(t, filepath.Join(dir, "dashboard.png"))

	// Phone: one column, nothing wider than the screen.
	b.setWindowRect(t, 390, 844)
	page = b.loadDashboard(t, h.URL+"/", want)
	checkCards(t, h, page, want)
	checkPhoneLayout(t, page)
	b.saveScreenshot(t, filepath.Join(dir, "dashboard-phone.png"))
	lap("phone layout checked, screenshots saved")
	t.Logf("timing: total %v", time.Since(start).Round(time.Millisecond))
}

// requireBrowser skips the test where Chromium or ChromeDriver is missing,
// unless TRACKSYNC_REQUIRE_BROWSER=1 (CI), where that is a failure.
func requireBrowser(t *testing.T) {
	t.Helper()
	var missing []string
	for _, p := range []string{chromedriverPath, chromiumPath} {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("browser test needs %s (Debian/Ubuntu: apt-get install chromium chromium-driver)", strings.Join(missing, " and "))
	if os.Getenv("TRACKSYNC_REQUIRE_BROWSER") == "1" {
		t.Fatalf("%s; TRACKSYNC_REQUIRE_BROWSER=1 makes this a failure", msg)
	}
	t.Skip(msg)
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
	HTML      string // the card's outerHTML
}

type domChild struct {
	Key  string
	Href string // resolved href of the a[href], "" when none
}

// domPage is what readDashboard returns.
type domPage struct {
	Cards       []domCard
	ScrollWidth float64
	InnerWidth  float64
	ClientWidth float64 // the viewport less any vertical scrollbar
	HTML        string  // document.documentElement.outerHTML
}

// readDashboardJS reads the rendered page: no scripts run in the page
// itself (its CSP forbids them); WebDriver's script runs outside it.
const readDashboardJS = `
const r = el => { if (!el) return null; const b = el.getBoundingClientRect(); return {left: b.left, right: b.right, top: b.top, bottom: b.bottom, width: b.width}; };
const out = {cards: [], scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, clientWidth: document.documentElement.clientWidth, html: document.documentElement.outerHTML};
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
    html: s.outerHTML,
  });
}
return out;
`

// loadDashboard navigates to url and reads the rendered page, reloading
// (bounded) until every card's percent text is what want says: the page
// is rendered per request, so this only waits out a roll-up in flight.
func (b *browser) loadDashboard(t *testing.T, url string, want map[string]int) domPage {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.navigate(t, url)
		var page domPage
		b.executeScript(t, readDashboardJS, &page)
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
		if time.Now().After(deadline) {
			t.Fatalf("dashboard %s: percents %v after 30s, want %v; page:\n%s", url, got, want, snippet(page.HTML, 4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
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

// ---- a minimal W3C WebDriver client ----

// chromedriver is a running chromedriver process.
type chromedriver struct {
	base string // http://127.0.0.1:port
	hc   *http.Client
	log  *syncBuffer
}

// browser is one WebDriver session.
type browser struct {
	wd *chromedriver
	id string
}

// syncBuffer collects chromedriver's output for failure messages.
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

// startChromedriver starts chromedriver on a free port in its own process
// group (so Chromium goes with it at cleanup) and waits until /status says
// ready.
func startChromedriver(t *testing.T) *chromedriver {
	t.Helper()
	var cmd *exec.Cmd
	var wd *chromedriver
	exited := make(chan error, 1)
	// The free port is only free until someone else takes it: retry.
	for attempt := 1; ; attempt++ {
		port := freePort(t)
		wd = &chromedriver{base: "http://127.0.0.1:" + strconv.Itoa(port), hc: &http.Client{Timeout: 60 * time.Second}, log: &syncBuffer{}}
		cmd = exec.Command(chromedriverPath, "--port="+strconv.Itoa(port))
		cmd.Stdout, cmd.Stderr = wd.log, wd.log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", chromedriverPath, err)
		}
		exited = make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		err := wd.waitReady(exited, 20*time.Second)
		if err == nil {
			break
		}
		killGroup(cmd)
		<-exited
		if attempt == 3 {
			t.Fatalf("chromedriver on port %d: %v; output:\n%s", port, err, snippet(wd.log.String(), 4000))
		}
		t.Logf("chromedriver on port %d: %v; retrying", port, err)
	}
	t.Cleanup(func() {
		killGroup(cmd)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("chromedriver (pid %d) did not exit within 10s of SIGKILL", cmd.Process.Pid)
		}
	})
	return wd
}

// killGroup ends chromedriver and the browser it started: the process
// group led by chromedriver, which this test created.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		cmd.Process.Kill()
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitReady polls /status until value.ready, the process exits or the
// timeout passes.
func (wd *chromedriver) waitReady(exited <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("exited before ready: %v", err)
		default:
		}
		resp, err := hc.Get(wd.base + "/status")
		if err == nil {
			var st struct {
				Value struct {
					Ready   bool   `json:"ready"`
					Message string `json:"message"`
				} `json:"value"`
			}
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil && st.Value.Ready {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("not ready: %s", st.Value.Message)
			}
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %v: %v", timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// webdriverError is a W3C error response.
type webdriverError struct {
	Status  int
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *webdriverError) Error() string {
	return fmt.Sprintf("webdriver %d %s: %s", e.Status, e.Code, e.Message)
}

// do sends one WebDriver command and decodes the response's value into out.
func (wd *chromedriver) do(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, wd.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := wd.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading response: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Value webdriverError `json:"value"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Value.Code == "" {
			return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, snippet(string(raw), 500))
		}
		e.Value.Status = resp.StatusCode
		return fmt.Errorf("%s %s: %w", method, path, &e.Value)
	}
	if out == nil {
		return nil
	}
	var v struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("%s %s: decoding response: %w", method, path, err)
	}
	if err := json.Unmarshal(v.Value, out); err != nil {
		return fmt.Errorf("%s %s: decoding value: %w", method, path, err)
	}
	return nil
}

// newSession starts headless Chromium; the session is deleted at cleanup.
func (wd *chromedriver) newSession(t *testing.T) *browser {
	t.Helper()
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": chromiumPath,
			"args": []string{
				"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
				"--disable-quic", "--no-first-run", "--disable-background-networking",
				"--disable-component-update", "--disable-sync",
				"--user-data-dir=" + t.TempDir(), "--window-size=1200,900",
			},
		},
		"timeouts": map[string]int{"pageLoad": 30000, "script": 10000},
	}}}
	var s struct {
		SessionID string `json:"sessionId"`
	}
	if err := wd.do(http.MethodPost, "/session", caps, &s); err != nil {
		t.Fatalf("new session: %v; chromedriver output:\n%s", err, snippet(wd.log.String(), 4000))
	}
	b := &browser{wd: wd, id: s.SessionID}
	t.Cleanup(func() { b.deleteSession(t) })
	return b
}

func (b *browser) deleteSession(t *testing.T) {
	if err := b.wd.do(http.MethodDelete, "/session/"+b.id, nil, nil); err != nil {
		t.Logf("delete session: %v", err)
	}
}

func (b *browser) navigate(t *testing.T, url string) {
	t.Helper()
	if err := b.wd.do(http.MethodPost, "/session/"+b.id+"/url", map[string]string{"url": url}, nil); err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
}

// executeScript runs script (a function body) and decodes its return value.
func (b *browser) executeScript(t *testing.T, script string, out any, args ...any) {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	if err := b.wd.do(http.MethodPost, "/session/"+b.id+"/execute/sync", map[string]any{"script": script, "args": args}, out); err != nil {
		t.Fatalf("execute script: %v", err)
	}
}

func (b *browser) setWindowRect(t *testing.T, width, height int) {
	t.Helper()
	if err := b.wd.do(http.MethodPost, "/session/"+b.id+"/window/rect", map[string]int{"width": width, "height": height}, nil); err != nil {
		t.Fatalf("set window to %dx%d: %v", width, height, err)
	}
}

// screenshot is the viewport as PNG bytes.
func (b *browser) screenshot(t *testing.T) []byte {
	t.Helper()
	var s string
	if err := b.wd.do(http.MethodGet, "/session/"+b.id+"/screenshot", nil, &s); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	png, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("screenshot: decoding base64: %v", err)
	}
	return png
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
