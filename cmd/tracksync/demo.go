package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/daemon"
	"github.com/tracksync/tracksync/initiatives"
	"github.com/tracksync/tracksync/notify/notifytest"
	"github.com/tracksync/tracksync/sandbox"
	"github.com/tracksync/tracksync/store"
	tsync "github.com/tracksync/tracksync/sync"
)

func (a *app) demoCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "A scripted tour on the sandbox: the real daemon, Jira, GitHub and Asana fakes, webhooks; exits 0 only if every step is observed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d := &demo{ctx: cmd.Context(), app: a}
			return d.tour(dir)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "folder for the sandbox's config and state (default: a new temp folder, kept afterwards)")
	return cmd
}

type demo struct {
	ctx    context.Context
	app    *app
	cfg    string
	sb     *sandbox.Sandbox
	st     store.Store
	runs   chan *tsync.Result
	failed int
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.app.stdout, format+"\n", args...) }

func (d *demo) check(ok bool, what string) {
	if ok {
		d.say("   ✓ %s", what)
		return
	}
	d.failed++
	d.say("   ✗ %s", what)
}

// cli runs one tracksync command in-process, as a user would.
func (d *demo) cli(args ...string) (int, string) {
	var out strings.Builder
	code := run(d.ctx, append([]string{"-c", d.cfg}, args...), &out, &out)
	return code, out.String()
}

// wait polls cond (every 20ms, at most 30s): the daemon works on its own.
func (d *demo) wait(cond func() bool) bool {
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) || d.ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func (d *demo) ghIssue(title string) (githubtest.Issue, bool) {
	for _, is := range d.sb.GitHub.Issues(sandbox.Repo) {
		if is.Title == title {
			return is, true
		}
	}
	return githubtest.Issue{}, false
}

// asanaTask finds a task of an Asana project by name, and the name of its
// section there.
func (d *demo) asanaTask(project, name string) (asanatest.Task, string, bool) {
	for _, t := range d.sb.Asana.Tasks(project) {
		if t.Name != name {
			continue
		}
		for _, m := range t.Memberships {
			if sec, ok := d.sb.Asana.Section(m.Section); ok && m.Project == project {
				return t, sec.Name, true
			}
		}
		return t, "", true
	}
	return asanatest.Task{}, "", false
}

// moveCard moves an Asana task to another section of project, as a PM
// dragging the card on the board does.
func (d *demo) moveCard(project, name, section string) {
	t, _, ok := d.asanaTask(project, name)
	if !ok {
		return
	}
	sec := d.sb.Asana.SectionByName(project, section)
	_ = d.sb.Asana.EditTask(t.GID, func(t *asanatest.Task) {
		for i := range t.Memberships {
			if t.Memberships[i].Project == project {
				t.Memberships[i].Section = sec
			}
		}
		t.Completed = section == "Done"
	})
}

func (d *demo) jiraIssue(title string) (jiratest.Issue, bool) {
	for _, is := range d.sb.Jira.Issues() {
		if is.Summary == title {
			return is, true
		}
	}
	return jiratest.Issue{}, false
}

func (d *demo) tour(dir string) error {
	sb, err := sandbox.Start(d.ctx, dir)
	if err != nil {
		return err
	}
	defer sb.Close()
	d.sb, d.cfg = sb, sb.Config
	d.say("tracksync demo: the real daemon on the sandbox in %s", sb.Dir)
	d.say("  Jira fake %s (project %s), GitHub fake %s (repo %s), Asana fake %s (projects %q and %q)", sb.Jira.URL, sandbox.JiraProject,
		strings.TrimSuffix(sb.GitHub.URL, "/"), sandbox.Repo, sb.Asana.URL, sandbox.AsanaBoard, sandbox.AsanaLaunch)

	d.say("\n1. validate the sandbox's config")
	code, out := d.cli("validate")
	d.check(code == 0, strings.TrimSpace(out))

	// The daemon, in this process, quiet: the tour narrates.
	q := &app{stdout: io.Discard, stderr: io.Discard, cfgPath: sb.Config, output: "text"}
	if err := q.loadConfig(); err != nil {
		return err
	}
	if err := q.openStore(d.ctx); err != nil {
		return err
	}
	defer q.close()
	d.st = q.st
	fs, probs, err := tsync.OpenFlows(d.ctx, q.cfg, adapters.Default, q.log, "")
	if err != nil || len(probs) > 0 {
		return fmt.Errorf("demo: opening flows: %v %v", err, probs)
	}
	svc, err := initiatives.Open(d.ctx, q.cfg, adapters.Default, q.log, d.st, fs.Trackers)
	if err != nil {
		return fmt.Errorf("demo: opening initiatives: %w", err)
	}
	d.runs = make(chan *tsync.Result, 100)
	nt, err := daemon.NotifyFrom(q.cfg.Notifications)
	if err != nil {
		return err
	}
	nt.Poll = 200 * time.Millisecond
	dm, err := daemon.New(d.ctx, daemon.Config{Store: d.st, Flows: fs, Logger: q.log, Listen: "127.0.0.1:0", PollInterval: 100 * time.Millisecond, Rollups: svc, Notify: nt,
		OnRun: func(_ string, res *tsync.Result, _ error) {
			select {
			case d.runs <- res:
			default:
			}
		}})
	if err != nil {
		return err
	}
	if err := dm.Listen(); err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(d.ctx)
	done := make(chan error, 1)
	go func() { done <- dm.Run(runCtx) }()
	defer func() {
		stop()
		<-done
	}()
	go sb.Connect(dm.Addr())
	go func() {
		if err := dm.RegisterWebhooks(d.ctx, "http://"+dm.Addr()); err != nil {
			d.say("   ✗ registering Asana's webhooks: %v", err)
		}
	}()

	d.say("\n2. the daemon starts and links every item on both sides")
	links := func() int {
		ls, _ := d.st.ListLinks(d.ctx, "platform")
		return len(ls)
	}
	d.check(d.wait(func() bool { return links() == 10 }), fmt.Sprintf("%d Jira issues and GitHub issues linked (6 from Jira, 4 from GitHub)", links()))
	copyOnb, ok := d.ghIssue("Self-serve onboarding")
	d.check(ok && strings.Contains(strings.Join(copyOnb.Labels, ","), "status: in progress"),
		"GitHub copy of the In Progress epic is open with label 'status: in progress'")
	boardLinks := func() int {
		ls, _ := d.st.ListLinks(d.ctx, "board")
		return len(ls)
	}
	ok = d.wait(func() bool {
		_, onb, _ := d.asanaTask(sb.BoardGID, "Self-serve onboarding")
		_, bill, _ := d.asanaTask(sb.BoardGID, "Usage-based billing")
		return boardLinks() == 2 && onb == "In progress" && bill == "To do"
	})
	d.check(ok, fmt.Sprintf("the PM's Asana board %q holds the %d Jira epics as cards, each in its status's section", sandbox.AsanaBoard, boardLinks()))

	d.say("\n3. an edit in Jira appears in GitHub (by webhook)")
	ana := jiratest.DefaultUsers[1].AccountID
	start := time.Now()
	sb.Jira.EditIssue(sandbox.JiraProject+"-1", ana, func(is *jiratest.Issue) { is.Summary = "Self-serve onboarding v2" })
	ok = d.wait(func() bool { _, ok := d.ghIssue("Self-serve onboarding v2"); return ok })
	d.check(ok, fmt.Sprintf("GitHub issue renamed %s after the Jira edit", time.Since(start).Round(10*time.Millisecond)))

	d.say("\n4. an edit in GitHub appears in Jira (by webhook)")
	docs, _ := d.ghIssue("Docs search is slow")
	start = time.Now()
	sb.GitHub.EditIssue(sandbox.Repo, docs.Number, func(is *githubtest.Issue) { is.State, is.StateReason = "closed", "completed" })
	ok = d.wait(func() bool { is, ok := d.jiraIssue("Docs search is slow"); return ok && is.Status == "Done" })
	d.check(ok, fmt.Sprintf("Jira issue moved to Done %s after GitHub closed it", time.Since(start).Round(10*time.Millisecond)))

	d.say("\n4b. the PM moves a card on the Asana board; the Jira epic follows, and GitHub after it (by webhooks)")
	start = time.Now()
	d.moveCard(sb.BoardGID, "Usage-based billing", "In progress")
	ok = d.wait(func() bool { is, ok := d.jiraIssue("Usage-based billing"); return ok && is.Status == "In Progress" })
	d.check(ok, fmt.Sprintf("Jira epic moved to In Progress %s after the card moved", time.Since(start).Round(10*time.Millisecond)))
	ok = d.wait(func() bool {
		is, ok := d.ghIssue("Usage-based billing")
		return ok && slices.Contains(is.Labels, "status: in progress")
	})
	d.check(ok, "its GitHub copy is labelled 'status: in progress'")
	ok = d.wait(func() bool { _, _, ok := d.asanaTask(sb.BoardGID, "Self-serve onboarding v2"); return ok })
	d.check(ok, "step 3's Jira rename reached the Asana card too")

	d.say("\n5. the same field edited on both sides is held for a person, neither side overwritten")
	audit, _ := d.ghIssue("Audit log")
	sb.Jira.EditIssue(sandbox.JiraProject+"-5", ana, func(is *jiratest.Issue) { is.Summary = "Audit log (SOC 2)" })
	sb.GitHub.EditIssue(sandbox.Repo, audit.Number, func(is *githubtest.Issue) { is.Title = "Audit trail" })
	var held []store.Conflict
	ok = d.wait(func() bool {
		held, _ = d.st.ListConflicts(d.ctx, "platform", store.ConflictOpen)
		return len(held) == 1
	})
	d.check(ok && held[0].A == "Audit log (SOC 2)" && held[0].B == "Audit trail", "one conflict held, with both values")
	_, listing := d.cli("conflicts", "list")
	d.say("%s", indent(listing))
	_, j := d.jiraIssue("Audit log (SOC 2)")
	_, g := d.ghIssue("Audit trail")
	d.check(j && g, "neither side was overwritten")

	d.say("\n6. resolving it (take Jira's title) writes both sides")
	if len(held) == 1 {
		var out string
		ok = d.wait(func() bool {
			code, out = d.cli("conflicts", "resolve", fmt.Sprint(held[0].ID), "--take", "a")
			return code == 0 // the daemon may hold the flow for a moment
		})
		_, synced := d.ghIssue("Audit log (SOC 2)")
		d.check(ok && synced, strings.TrimSpace(out))
	}

	d.say("\n7. a sync with no new edits writes nothing (no echo, no ping-pong)")
	for len(d.runs) > 0 {
		<-d.runs
	}
	if err := dm.Enqueue(d.ctx, "platform", "manual"); err != nil {
		return err
	}
	var last *tsync.Result
	ok = d.wait(func() bool {
		select {
		case last = <-d.runs:
			return true
		default:
			return false
		}
	})
	d.check(ok && last != nil && last.Run.Counts.Created+last.Run.Counts.Updated+last.Run.Counts.Comments == 0,
		fmt.Sprintf("run %d: 0 created, 0 updated", runID(last)))

	d.say("\n8. roll-ups: each initiative's progress over its children in both trackers, copies counted once")
	// Step 4 closed GitHub #1, on INIT-3's tracking issue's task list.
	pct := func(key string) int {
		r, ok := svc.Initiative(key)
		if !ok {
			return -1
		}
		return int(svc.Done(r)*100 + 0.5)
	}
	ok = d.wait(func() bool {
		return pct("INIT-1") == 33 && pct("INIT-2") == 0 && pct("INIT-3") == 67 && pct("INIT-4") == 50
	})
	d.check(ok, fmt.Sprintf("INIT-1 %d%%, INIT-2 %d%%, INIT-3 %d%%, INIT-4 %d%% done (3, 1, 3 and 4 items)", pct("INIT-1"), pct("INIT-2"), pct("INIT-3"), pct("INIT-4")))
	d.moveCard(sb.LaunchGID, "Pricing page", "Done")
	ok = d.wait(func() bool { return pct("INIT-4") == 75 })
	d.check(ok, fmt.Sprintf("INIT-4 rolls up from the PM's Asana launch plan: %d%% once the PM completes \"Pricing page\"", pct("INIT-4")))
	_, table := d.cli("rollup")
	d.say("%s", indent(table))
	roadmap := filepath.Join(sb.Dir, "roadmap.yaml")
	ok = d.wait(func() bool {
		b, _ := os.ReadFile(roadmap)
		return strings.Contains(string(b), "progress: 0.67") && strings.Contains(string(b), "progress: 0.33")
	})
	d.check(ok, "progress and status written back into roadmap.yaml, the rest of the file untouched")
	ok = d.wait(func() bool {
		is, _ := sb.GitHub.Issue(sandbox.Repo, 3)
		return strings.Contains(is.Body, "INIT-3 progress: 67%")
	})
	d.check(ok, "INIT-3's GitHub tracking issue shows its progress and a live checklist")
	resp, err := http.Get("http://" + dm.Addr() + "/")
	page := ""
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page = string(b)
	}
	d.check(strings.Contains(page, `data-progress="67"`), fmt.Sprintf("the dashboard at http://%s/ shows it (HTML and SVG, no scripts)", dm.Addr()))

	d.say("\n9. a blocked item puts its initiative at risk, and Slack and Teams hear of it")
	sb.Jira.EditIssue(sandbox.JiraProject+"-6", ana, func(is *jiratest.Issue) { is.Labels = append(is.Labels, "blocked") })
	var risk notifytest.SlackMessage
	ok = d.wait(func() bool {
		for _, m := range sb.Slack.Messages() {
			if strings.Contains(m.Header(), "INIT-1") && strings.Contains(m.Header(), "is at risk") {
				risk = m
				return true
			}
		}
		return false
	})
	d.check(ok, "Slack #roadmap got: "+strings.ReplaceAll(risk.Text, "\n", " / "))
	ok = d.wait(func() bool {
		for _, c := range sb.Teams.Cards() {
			if strings.Contains(c.Title(), "INIT-1") && strings.Contains(c.Title(), "is at risk") {
				return true
			}
		}
		return false
	})
	d.check(ok, "Teams got the same as an Adaptive Card")
	heldMsgs := 0
	for _, m := range sb.Slack.Messages() {
		if strings.Contains(m.Header(), "Conflict held") {
			heldMsgs++
		}
	}
	d.check(heldMsgs == 1, "and step 5's conflict had reached Slack once, with both values and the resolve command")

	d.say("\nrun history:")
	_, hist := d.cli("runs", "--limit", "8")
	d.say("%s", indent(hist))
	if d.failed > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("demo: %d step(s) not observed", d.failed)}
	}
	d.say("demo passed: every step observed. Run it yourself with `tracksync serve --sandbox`.")
	return nil
}

func runID(r *tsync.Result) int64 {
	if r == nil {
		return 0
	}
	return r.Run.ID
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "   " + l
	}
	return strings.Join(lines, "\n")
}
