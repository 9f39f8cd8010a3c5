//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
	"github.com/tracksync/tracksync/adapters/github"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/migrate/migratetest"
)

// mainArgsEnv carries the arguments of a tracksync process that the kill
// tests start as a copy of this test binary (TestMainProcess).
const mainArgsEnv = "TRACKSYNC_TEST_MAIN_ARGS"

// TestMainProcess is tracksync's main when the kill tests start this
// binary as a child process; otherwise it does nothing.
func TestMainProcess(t *testing.T) {
	raw := os.Getenv(mainArgsEnv)
	if raw == "" {
		t.Skip("run as a child process by the kill tests")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(99)
	}
	if f := os.Getenv("TRACKSYNC_TEST_HEAPPROFILE"); f != "" {
		go heapAtPeak(f)
	}
	os.Exit(run(context.Background(), args, os.Stdout, os.Stderr))
}

// heapAtPeak writes the heap profile to file each time the heap in use
// reaches a new high (checked every second): where a migration process's
// memory goes, for the soaks' peak RSS.
func heapAtPeak(file string) {
	var high uint64
	for range time.Tick(time.Second) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse <= high {
			continue
		}
		high = ms.HeapInuse
		if f, err := os.Create(file); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
}

// TestMigrateKilled9: `tracksync migrate` as a process of its own,
// killed with SIGKILL five times at random points while it writes
// (mid-request included) and started again with the same command each
// time: every item copied once, comments once and in order, references
// rewritten, hierarchy kept; a run after completion writes nothing. Both
// ways between GitHub and Jira (bulk creates one way, GitHub's paced
// creates the other), an Asana project's tasks and subtasks to Jira, and
// Jira's epics and their children to Asana.
// TRACKSYNC_SOAK_GROUPS=N migrates N×10 items (default 10).
func TestMigrateKilled9(t *testing.T) {
	groups := 10
	if v := os.Getenv("TRACKSYNC_SOAK_GROUPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("TRACKSYNC_SOAK_GROUPS=%q: want a count of groups of ten items", v)
		}
		groups = n
	}
	t.Run("github-to-jira", func(t *testing.T) {
		k := newKillFakes(t)
		migratetest.SeedGitHub(t, k.gh, groups, 9, k.ghUsers)
		// About 3 Jira writes an issue: its share of a bulk create, the
		// back-link, 2 comments.
		k.killAndResume(t, groups*10*3, k.jfake.Writes, "github:"+killRepo, "jira:project = "+killProj)
		src, dst := migratetest.All(t, k.gh, killRepo), migratetest.All(t, k.jr, "project = "+killProj)
		migratetest.Verify(t, src, dst, regexp.MustCompile(`acme/platform#[0-9]+`))
		if len(dst) != len(src) {
			t.Fatalf("%d issues on Jira for %d on GitHub", len(dst), len(src))
		}
		k.again(t, k.jfake.Writes, "github:"+killRepo, "jira:project = "+killProj)
	})
	t.Run("jira-to-github", func(t *testing.T) {
		k := newKillFakes(t)
		migratetest.SeedJira(t, k.jr, groups, k.jfake.UserIDs())
		// About 5 GitHub writes an issue: the create, 3 comments, the
		// sub-issue link or the epic's task list.
		ghWrites := func() int { return k.gfake.Count().Writes }
		k.killAndResume(t, groups*10*5, ghWrites, "jira:project = "+killProj, "github:"+killRepo)
		src, dst := migratetest.All(t, k.jr, "project = "+killProj), migratetest.All(t, k.gh, killRepo)
		migratetest.CheckEpics(t, src, migratetest.Verify(t, src, dst, regexp.MustCompile(`PLAT-[0-9]+`)))
		if len(dst) != len(src) {
			t.Fatalf("%d issues on GitHub for %d on Jira", len(dst), len(src))
		}
		k.again(t, ghWrites, "jira:project = "+killProj, "github:"+killRepo)
	})
	t.Run("asana-to-jira", func(t *testing.T) {
		k := newKillFakes(t)
		migratetest.SeedAsana(t, k.afake, k.project, groups)
		// About 3 Jira writes a task: its share of a bulk create, the
		// back-link, 2 comments on nine in ten.
		k.killAndResume(t, groups*10*3, k.jfake.Writes, "asana:"+k.project, "jira:project = "+killProj)
		as, err := asana.New("asana", asana.Options{URL: k.afake.URL, Token: asanatest.DefaultToken, Workspace: k.afake.Workspace(), Projects: []string{k.project},
			RequestsPerMinute: 1 << 20, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		src, dst := migratetest.All(t, as, k.project), migratetest.All(t, k.jr, "project = "+killProj)
		migratetest.CheckAsanaCopies(t, as, src, migratetest.Verify(t, src, dst, regexp.MustCompile(`\bnothing-to-rewrite\b`)))
		if len(src) != groups*10 || len(dst) != len(src) {
			t.Fatalf("%d issues on Jira for %d Asana tasks (%d seeded)", len(dst), len(src), groups*10)
		}
		k.again(t, k.jfake.Writes, "asana:"+k.project, "jira:project = "+killProj)
	})
	t.Run("jira-to-asana", func(t *testing.T) {
		k := newKillFakes(t)
		migratetest.SeedJira(t, k.jr, groups, k.jfake.UserIDs())
		// About 3 Asana writes an issue: its share of a /batch of
		// creates, 3 comments.
		asWrites := func() int { return k.afake.Count().Writes }
		k.killAndResume(t, groups*10*3, asWrites, "jira:project = "+killProj, "asana:"+k.project)
		as, err := asana.New("asana", asana.Options{URL: k.afake.URL, Token: asanatest.DefaultToken, Workspace: k.afake.Workspace(), Projects: []string{k.project},
			RequestsPerMinute: 1 << 20, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		src, dst := migratetest.All(t, k.jr, "project = "+killProj), migratetest.All(t, as, k.project)
		migratetest.CheckEpics(t, src, migratetest.Verify(t, src, dst, regexp.MustCompile(`PLAT-[0-9]+`)))
		if len(dst) != len(src) {
			t.Fatalf("%d tasks on Asana for %d Jira issues", len(dst), len(src))
		}
		k.again(t, asWrites, "jira:project = "+killProj, "asana:"+k.project)
	})
}

const (
	killRepo, killProj = "acme/platform", "PLAT"
	killEmail          = "bot@example.com"
	killJiraToken      = "jira-token"
	killGitHubToken    = "gh-token"
)

// killFakes is a Jira fake and a GitHub fake (limits off) with an
// in-process tracker each for seeding and checking, and a config that
// points tracksync processes at them.
type killFakes struct {
	jfake   *jiratest.Server
	gfake   *githubtest.Server
	afake   *asanatest.Server
	project string // the Asana project (sections To do, In progress, Done)
	jr      *jira.Tracker
	gh      *github.Tracker
	ghUsers []string
	cfg     string
}

func newKillFakes(t *testing.T) *killFakes {
	t.Helper()
	k := &killFakes{ghUsers: []string{"gh-ana", "gh-bo", "gh-cy"}}
	k.jfake = jiratest.New(t, jiratest.Options{Projects: []string{killProj}, Email: killEmail, Token: killJiraToken, Start: time.Now().UTC()})
	k.gfake = githubtest.New(t, githubtest.Options{Repos: []string{killRepo}, Users: k.ghUsers, Tokens: []string{killGitHubToken}, Clock: time.Now,
		RateLimit: 1 << 30, ContentPerMinute: -1, ContentPerHour: -1})
	k.afake = asanatest.New(t, asanatest.Options{RequestsPerMinute: -1, ConcurrentWrites: -1, Start: time.Now().UTC()})
	k.project = k.afake.AddProject("Roadmap", "To do", "In progress", "Done")
	// Jira's and Asana's clocks are manual: keep them with the wall clock,
	// as the sandbox does, so the bulk creates' marker window and sync
	// tokens' ages mean what they say.
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				k.jfake.Advance(now.Sub(last))
				k.afake.Advance(now.Sub(last))
				last = now
			}
		}
	}()
	var err error
	k.gh, err = github.New("github", github.Options{URL: k.gfake.URL, Token: killGitHubToken, Repo: killRepo, ContentPerMinute: 1 << 30, ContentPerHour: 1 << 30,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	k.jr, err = jira.New(t.Context(), "jira", jira.Options{URL: k.jfake.URL, Project: killProj, Email: killEmail, Token: killJiraToken,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	users := ""
	for i, id := range k.jfake.UserIDs()[:3] {
		users += fmt.Sprintf("  - { name: user%d, jira: %s, github: %s }\n", i, q(id), k.ghUsers[i])
	}
	k.cfg = filepath.Join(t.TempDir(), "tracksync.yaml")
	conf := fmt.Sprintf(`state:
  dsn: state.db
trackers:
  jira:
    kind: jira
    url: %s
    deployment: cloud
    project: %s
    auth: { email: %s, token: %s }
  github:
    kind: github
    url: %s
    auth: { token: %s }
    limits: { content_per_minute: 1000000000, content_per_hour: 1000000000 }
  asana:
    kind: asana
    url: %s
    auth: { token: %s }
    workspace: %s
    projects: [%s]
    limits: { requests_per_minute: 1000000000 }
users:
%s`, q(k.jfake.URL), killProj, q(killEmail), q(killJiraToken), q(k.gfake.URL), q(killGitHubToken),
		q(k.afake.URL), q(asanatest.DefaultToken), q(k.afake.Workspace()), q(k.project), users)
	if err := os.WriteFile(k.cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// start starts `tracksync migrate --from from --to to` as a child process.
func (k *killFakes) start(t *testing.T, from, to string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	raw, _ := json.Marshal([]string{"-c", k.cfg, "migrate", "--from", from, "--to", to, "--yield", "0"})
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), mainArgsEnv+"="+string(raw))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// killAndResume runs the migration, killing it with SIGKILL at five
// random points of the first 60% of the about total writes it makes on
// the target (writes counts them, over all runs), and starting it again
// each time, until a run ends by itself; that run must succeed. A kill
// point a restart has already passed is taken at its next write. The
// total is an estimate, and where the kills land moves it: GitHub → Jira
// at 100 items, estimated 300, has ended at 246 and at 310, so the points
// stay well below it.
func (k *killFakes) killAndResume(t *testing.T, total int, writes func() int, from, to string) {
	t.Helper()
	seed := time.Now().UnixNano()
	rnd := rand.New(rand.NewPCG(uint64(seed), 9))
	points := make([]int, 5)
	for i := range points {
		points[i] = 1 + rnd.IntN(max(total*60/100, 5))
	}
	slices.Sort(points)
	t.Logf("kills at target writes %v (seed %d)", points, seed)
	began := time.Now()
	peak := int64(0) // the children's peak RSS, KB (Linux) or bytes (macOS)
	for kills := 0; ; kills++ {
		if kills > 5 {
			t.Fatal("no end after five kills")
		}
		cmd, out := k.start(t, from, to)
		done := make(chan error, 1)
		exited := make(chan struct{})
		var hwm atomic.Int64
		go watchHWM(cmd.Process.Pid, &hwm, exited)
		go func() {
			err := cmd.Wait()
			close(exited)
			if h := hwm.Load(); h > 0 {
				peak = max(peak, h)
			} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && runtime.GOOS != "linux" {
				peak = max(peak, int64(ru.Maxrss))
			}
			done <- err
		}()
		if kills == 5 {
			if err := <-done; err != nil {
				t.Fatalf("the last run: %v\n%s", err, out)
			}
			t.Logf("5 kills with SIGKILL, %d writes on the target: done in %s; the migration processes' peak RSS %d (KB on Linux)", writes(), time.Since(began).Round(time.Second), peak)
			return
		}
		from := writes()
		at := max(points[kills], from+1)
		poll := time.NewTicker(5 * time.Millisecond)
		for killed := false; !killed; {
			select {
			case err := <-done:
				poll.Stop()
				t.Fatalf("the run ended (%v) before its kill at write %d (from %d, now %d):\n%s", err, at, from, writes(), out)
			case <-poll.C:
				if writes() >= at {
					if err := cmd.Process.Kill(); err != nil {
						t.Fatal(err)
					}
					<-done
					killed = true
				}
			}
		}
		poll.Stop()
		t.Logf("kill %d at write %d (%d by that run)", kills+1, writes(), writes()-from)
	}
}

// watchHWM keeps in hwm the peak RSS (VmHWM, KB) of process pid, read
// from /proc every 100 ms until exited is closed. The rusage of a waited
// child is no measure on Linux: the child is forked sharing this test
// process's memory until it execs, and its ru_maxrss keeps the high-water
// mark of that, the fakes' gigabytes included.
func watchHWM(pid int, hwm *atomic.Int64, exited <-chan struct{}) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			for _, l := range strings.Split(string(st), "\n") {
				if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
					if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > hwm.Load() {
						hwm.Store(kb)
					}
				}
			}
		}
		select {
		case <-exited:
			return
		case <-tick.C:
		}
	}
}

// again runs the finished migration once more: it must create nothing
// and write nothing on the target.
func (k *killFakes) again(t *testing.T, writes func() int, from, to string) {
	t.Helper()
	before := writes()
	cmd, out := k.start(t, from, to)
	if err := cmd.Wait(); err != nil || !strings.Contains(out.String(), "0 created") {
		t.Fatalf("again: %v\n%s", err, out)
	}
	if w := writes() - before; w != 0 {
		t.Fatalf("a run after completion made %d writes:\n%s", w, out)
	}
}
