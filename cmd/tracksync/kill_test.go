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
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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
	os.Exit(run(context.Background(), args, os.Stdout, os.Stderr))
}

// TestMigrateKilled9: `tracksync migrate` from GitHub to Jira (bulk
// creates) as a process of its own, killed with SIGKILL five times at
// random points while it writes (mid-request included) and started again
// with the same command each time: every issue copied once, comments once
// and in order, references rewritten; a run after completion creates
// nothing. TRACKSYNC_SOAK_GROUPS=N migrates N×10 issues (default 10).
func TestMigrateKilled9(t *testing.T) {
	groups := 10
	if v := os.Getenv("TRACKSYNC_SOAK_GROUPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("TRACKSYNC_SOAK_GROUPS=%q: want a count of groups of ten items", v)
		}
		groups = n
	}
	const (
		repo, proj   = "acme/platform", "PLAT"
		email, token = "bot@example.com", "jira-token"
		ghToken      = "gh-token"
	)
	users := []string{"gh-ana", "gh-bo", "gh-cy"}
	jfake := jiratest.New(t, jiratest.Options{Projects: []string{proj}, Email: email, Token: token, Start: time.Now().UTC()})
	gfake := githubtest.New(t, githubtest.Options{Repos: []string{repo}, Users: users, Tokens: []string{ghToken}, Clock: time.Now,
		RateLimit: 1 << 30, ContentPerMinute: -1, ContentPerHour: -1})
	// Jira's clock is manual: keep it with the wall clock, as the sandbox
	// does, so the bulk creates' marker window means what it says.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				jfake.Advance(now.Sub(last))
				last = now
			}
		}
	}()
	ctx := t.Context()
	gh, err := github.New("github", github.Options{URL: gfake.URL, Token: ghToken, Repo: repo, ContentPerMinute: 1 << 30, ContentPerHour: 1 << 30, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	jr, err := jira.New(ctx, "jira", jira.Options{URL: jfake.URL, Project: proj, Email: email, Token: token, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	migratetest.SeedGitHub(t, gh, groups, 9, users)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "tracksync.yaml")
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
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
`, q(jfake.URL), proj, q(email), q(token), q(gfake.URL), q(ghToken))
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-c", cfg, "migrate", "--from", "github:" + repo, "--to", "jira:project = " + proj, "--yield", "0"}
	start := func() (*exec.Cmd, *bytes.Buffer) {
		raw, _ := json.Marshal(args)
		cmd := exec.Command(os.Args[0], "-test.run=^TestMainProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), mainArgsEnv+"="+string(raw))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}

	// About 3 Jira writes an issue (its share of a bulk create, the
	// back-link, 2 comments): the five kills are at random points of the
	// first 85% of them (counted over all runs), so they spread over the
	// whole migration; a kill point a restart has already passed is taken
	// at its next write.
	seed := time.Now().UnixNano()
	rnd := rand.New(rand.NewPCG(uint64(seed), 9))
	points := make([]int, 5)
	for i := range points {
		points[i] = 1 + rnd.IntN(max(groups*10*3*85/100, 5))
	}
	slices.Sort(points)
	t.Logf("%d issues, kills at Jira writes %v (seed %d)", groups*10, points, seed)
	began := time.Now()
	kills := 0
	for attempt := 0; ; attempt++ {
		if attempt > 20 {
			t.Fatal("no end after 20 starts")
		}
		cmd, out := start()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if kills == 5 {
			if err := <-done; err != nil {
				t.Fatalf("the last run: %v\n%s", err, out)
			}
			break
		}
		from := jfake.Writes()
		at := max(points[kills], from+1)
		poll := time.NewTicker(5 * time.Millisecond)
		killed := false
		for !killed {
			select {
			case err := <-done:
				poll.Stop()
				t.Fatalf("the run ended (%v) before its kill at Jira write %d (from %d, now %d):\n%s", err, at, from, jfake.Writes(), out)
			case <-poll.C:
				if jfake.Writes() >= at {
					if err := cmd.Process.Kill(); err != nil {
						t.Fatal(err)
					}
					<-done
					killed = true
				}
			}
		}
		poll.Stop()
		kills++
		t.Logf("kill %d at Jira write %d (%d written by that run)", kills, jfake.Writes(), jfake.Writes()-from)
	}
	src, dst := migratetest.All(t, gh, repo), migratetest.All(t, jr, "project = "+proj)
	migratetest.Verify(t, src, dst, regexp.MustCompile(`acme/platform#[0-9]+`))
	if len(dst) != len(src) {
		t.Fatalf("%d issues on Jira for %d on GitHub", len(dst), len(src))
	}
	t.Logf("%d issues, %d kills with SIGKILL, %d Jira writes: migrated and verified in %s (0 duplicates, 0 missing)", len(src), kills, jfake.Writes(), time.Since(began).Round(time.Second))

	// Once done, the same command again writes nothing.
	writes := jfake.Writes()
	cmd, out := start()
	if err := cmd.Wait(); err != nil || !strings.Contains(out.String(), "0 created") {
		t.Fatalf("again: %v\n%s", err, out)
	}
	if w := jfake.Writes() - writes; w != 0 {
		t.Fatalf("a run after completion made %d Jira writes:\n%s", w, out)
	}
}
