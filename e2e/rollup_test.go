package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	_ "github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	_ "github.com/tracksync/tracksync/adapters/roadmap"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/daemon"
	"github.com/tracksync/tracksync/initiatives"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/rollup"
	"github.com/tracksync/tracksync/sandbox"
	"github.com/tracksync/tracksync/store/sqlite"
	tsync "github.com/tracksync/tracksync/sync"
)

// sandboxDaemon is the sandbox (Jira and GitHub fakes, a roadmap with
// three initiatives) with the real daemon serving it, roll-ups included.
type sandboxDaemon struct {
	t    *testing.T
	sb   *sandbox.Sandbox
	d    *daemon.Daemon
	svc  *initiatives.Service
	URL  string // the daemon, http://host:port
	mu   sync.Mutex
	errs []error
}

// startSandboxDaemon starts the sandbox and the daemon, and waits for the
// first roll-up read (which also follows the first sync of the flow).
func startSandboxDaemon(t *testing.T) *sandboxDaemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := sandbox.Start(ctx, filepath.Join(t.TempDir(), "sandbox"))
	if err != nil {
		t.Fatal(err)
	}
	h := &sandboxDaemon{t: t, sb: sb}
	cfg, err := config.Load(sb.Config)
	if err != nil {
		t.Fatal(err)
	}
	if ps := mapping.Validate(cfg, adapters.Default); len(ps) > 0 {
		t.Fatalf("sandbox config: %v", ps)
	}
	st, err := sqlite.Open(ctx, filepath.Join(sb.Dir, "state.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	fs, probs, err := tsync.OpenFlows(ctx, cfg, adapters.Default, log, "")
	if err != nil || len(probs) > 0 {
		t.Fatalf("flows: %v %v", err, probs)
	}
	svc, err := initiatives.Open(ctx, cfg, adapters.Default, log, st, fs.Trackers)
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	first := make(chan struct{})
	var once sync.Once
	d, err := daemon.New(ctx, daemon.Config{Store: st, Flows: fs, Logger: log, Listen: "127.0.0.1:0", Rollups: svc,
		OnRollup: func(res initiatives.Result, err error) {
			if err != nil {
				h.mu.Lock()
				h.errs = append(h.errs, err)
				h.mu.Unlock()
			}
			once.Do(func() { close(first) })
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Listen(); err != nil {
		t.Fatal(err)
	}
	h.d, h.URL = d, "http://"+d.Addr()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	go sb.Connect(d.Addr())
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
		st.Close()
		sb.Close()
	})
	select {
	case <-first:
	case <-time.After(60 * time.Second):
		t.Fatal("no roll-up within 60s")
	}
	return h
}

// waitFor polls cond until it holds, for at most 60s.
func (h *sandboxDaemon) waitFor(what string, cond func() (bool, string)) {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			h.mu.Lock()
			errs := errors.Join(h.errs...)
			h.mu.Unlock()
			h.t.Fatalf("%s: not within 60s; last seen: %s; roll-up errors: %v", what, state, errs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// percent is initiative key's current percent done.
func (h *sandboxDaemon) percent(key string) (int, rollup.Rollup) {
	r, ok := h.svc.Initiative(key)
	if !ok {
		return -1, r
	}
	return int(h.svc.Done(r)*100 + 0.5), r
}

func (h *sandboxDaemon) get(path string) string {
	h.t.Helper()
	resp, err := http.Get(h.URL + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// dashboardPercent reads initiative key's data-progress from the page.
func dashboardPercent(page, key string) string {
	re := regexp.MustCompile(`<section class="initiative"[^>]*data-key="` + regexp.QuoteMeta(key) + `"[^>]*>`)
	tag := re.FindString(page)
	m := regexp.MustCompile(`data-progress="(\d+)"`).FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestRollupsEndToEnd: a roadmap with four initiatives, children in Jira
// (epics listed on the initiative, issues under them), GitHub (a
// tracking issue's task list) and Asana (launch plan tasks tagged
// initiative:INIT-4), the platform flow syncing Jira and GitHub both
// ways. Moving issues to done in either tracker changes the roll-up,
// the roadmap file, the GitHub tracking issue and the dashboard.
func TestRollupsEndToEnd(t *testing.T) {
	h := startSandboxDaemon(t)
	// Seeded: INIT-1 = PLAT-1 (PLAT-3 In Review, PLAT-6 To Do) and PLAT-2
	// (PLAT-4 Done): 1 of 3. INIT-2 = PLAT-5 To Do: 0 of 1. INIT-3 =
	// tracking issue #3 with #1, #2 open and #4 closed: 1 of 3. The flow
	// copies every issue to the other tracker; copies count once, so the
	// totals stay 3, 1, 3 once the sync has linked them.
	// INIT-4 = 4 Asana launch tasks, 2 done.
	want := map[string][2]int{"INIT-1": {33, 3}, "INIT-2": {0, 1}, "INIT-3": {33, 3}, "INIT-4": {50, 4}}
	check := func() (bool, string) {
		var state []string
		ok := true
		for k, w := range want {
			p, r := h.percent(k)
			state = append(state, fmt.Sprintf("%s %d%% of %d", k, p, r.Total))
			ok = ok && p == w[0] && r.Total == w[1]
		}
		return ok, strings.Join(state, ", ")
	}
	h.waitFor("the seeded roll-ups", check)

	// Write-back: the roadmap's progress and status; INIT-1 had started.
	roadmapPath := filepath.Join(h.sb.Dir, "roadmap.yaml")
	h.waitFor("progress in the roadmap file", func() (bool, string) {
		b, _ := os.ReadFile(roadmapPath)
		s := string(b)
		return strings.Contains(s, "progress: 0.33") && strings.Contains(s, "progress: 0\n") &&
			strings.Contains(s, "title: Grow self-serve revenue   # the big bet"), s
	})

	// Jira: the two open issues under INIT-1's epics go to Done.
	for _, key := range []string{"PLAT-3", "PLAT-6"} {
		if err := h.sb.Jira.EditIssue(key, "", func(is *jiratest.Issue) { is.Status = "Done" }); err != nil {
			t.Fatal(err)
		}
	}
	// GitHub: #1 is closed.
	if err := h.sb.GitHub.EditIssue(sandbox.Repo, 1, func(is *githubtest.Issue) { is.State, is.StateReason = "closed", "completed" }); err != nil {
		t.Fatal(err)
	}
	// Asana: the PM completes "Pricing page", moving it to Done.
	for _, task := range h.sb.Asana.Tasks(h.sb.LaunchGID) {
		if task.Name == "Pricing page" {
			done := h.sb.Asana.SectionByName(h.sb.LaunchGID, "Done")
			if err := h.sb.Asana.EditTask(task.GID, func(x *asanatest.Task) { x.Completed, x.Memberships[0].Section = true, done }); err != nil {
				t.Fatal(err)
			}
		}
	}
	want = map[string][2]int{"INIT-1": {100, 3}, "INIT-2": {0, 1}, "INIT-3": {67, 3}, "INIT-4": {75, 4}}
	h.waitFor("the roll-ups after the edits", check)

	h.waitFor("the write-back after the edits", func() (bool, string) {
		b, _ := os.ReadFile(roadmapPath)
		s := string(b)
		// INIT-1: all done, so its status follows its children to done.
		i1 := s[strings.Index(s, "key: INIT-1"):strings.Index(s, "key: INIT-2")]
		i3 := s[strings.Index(s, "key: INIT-3"):]
		return strings.Contains(i1, "progress: 1\n") && strings.Contains(i1, "status: done") &&
			strings.Contains(i3, "progress: 0.67") && strings.Contains(i3, "status: in_progress"), s
	})
	h.waitFor("the tracking issue's section", func() (bool, string) {
		is, _ := h.sb.GitHub.Issue(sandbox.Repo, 3)
		return strings.Contains(is.Body, "INIT-3 progress: 67%") && strings.Contains(is.Body, "- [x] #1") &&
			strings.Contains(is.Body, "- [ ] #2") && strings.HasPrefix(is.Body, "Tracking issue for INIT-3."), is.Body
	})
	h.waitFor("the dashboard", func() (bool, string) {
		page := h.get("/")
		return dashboardPercent(page, "INIT-1") == "100" && dashboardPercent(page, "INIT-3") == "67" && dashboardPercent(page, "INIT-2") == "0", page
	})
	if js := h.get("/rollups.json"); !strings.Contains(js, `"key": "INIT-3"`) && !strings.Contains(js, `"key":"INIT-3"`) {
		t.Errorf("/rollups.json lacks INIT-3: %s", js)
	}
	// History: today's snapshot per initiative.
	rep, err := h.svc.Report(context.Background(), 7, "")
	if err != nil || len(rep.History) != 4 {
		t.Errorf("history: %v %v", rep.History, err)
	}
}
