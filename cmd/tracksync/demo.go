package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/memory"
	"github.com/tracksync/tracksync/store"
)

// demoConfig is the config the demo writes: two file-backed memory
// trackers standing in for a Jira project and a GitHub repository, with
// different workflows joined by a many-to-one status map.
const demoConfig = `# Written by 'tracksync demo'. Explore with: tracksync -c %[1]s runs | links | conflicts list | plan
state:
  driver: sqlite
  dsn: state.db
log:
  level: warn
trackers:
  jira:
    kind: memory
    project: PLAT
    path: jira.json
    statuses: "To Do:todo, In Progress:in_progress, In Review:in_progress, Done:done"
  github:
    kind: memory
    project: GH
    path: github.json
    statuses: "open:todo, in progress:in_progress, closed:done"
users:
  - name: Ana Lima
    email: ana@acme.example
    jira: 5b10ac8d82e05b22cc7d4ef5
    github: analima
  - name: Bo Chen
    email: bo@acme.example
    jira: 5b10ac8d82e05b22cc7d4ef6
    github: bochen
flows:
  - name: platform
    a: { tracker: jira }
    b: { tracker: github }
    direction: both
    conflict: manual
    on_delete: unlink
    max_change_share: 0.5
    fields:
      title: both
      body: a-to-b
      labels: both
      assignees: both
      priority: both
      comments: both
      status:
        direction: both
        map:
          - { a: 'To Do',       b: 'open' }
          - { a: 'In Progress', b: 'in progress' }
          - { a: 'In Review',   b: 'in progress' }
          - { a: 'Done',        b: 'closed' }
`

func (a *app) demoCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a scripted tour of two-way sync on local stand-in trackers; exits 0 only if every step is observed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				d, err := os.MkdirTemp("", "tracksync-demo-")
				if err != nil {
					return err
				}
				dir = d
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			d := &demo{ctx: cmd.Context(), app: a, dir: dir, cfg: filepath.Join(dir, "tracksync.yaml")}
			return d.tour()
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "folder for the demo's config, trackers and state (default: a new temp folder, kept afterwards)")
	return cmd
}

type demo struct {
	ctx    context.Context
	app    *app
	dir    string
	cfg    string
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

// cli runs one tracksync command in-process, exactly as a user would.
func (d *demo) cli(args ...string) (int, string) {
	var out, errb bytes.Buffer
	code := run(d.ctx, append([]string{"-c", d.cfg}, args...), &out, &errb)
	return code, out.String() + errb.String()
}

// tracker opens one of the demo's file-backed trackers, as a person's
// edit in that tracker would.
func (d *demo) tracker(name string) *memory.Tracker {
	statuses := "To Do:todo, In Progress:in_progress, In Review:in_progress, Done:done"
	project := "PLAT"
	if name == "github" {
		statuses, project = "open:todo, in progress:in_progress, closed:done", "GH"
	}
	st, _ := memory.ParseStatuses(statuses)
	t, err := memory.New(name, memory.Options{Project: project, Statuses: st, Path: filepath.Join(d.dir, name+".json")})
	if err != nil {
		panic(err)
	}
	return t
}

func find(t *memory.Tracker, title string) (adapters.Item, bool) {
	for _, it := range t.Items() {
		if it.Title == title {
			return it, true
		}
	}
	return adapters.Item{}, false
}

func (d *demo) syncRun() (int, store.Run) {
	code, out := d.cli("-o", "json", "sync", "--once")
	var res []struct {
		Run store.Run `json:"run"`
	}
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "]")+1]), &res); err != nil || len(res) == 0 {
		d.say("   sync output: %s", out)
		return code, store.Run{}
	}
	return code, res[0].Run
}

func (d *demo) tour() error {
	if err := os.WriteFile(d.cfg, []byte(fmt.Sprintf(demoConfig, d.cfg)), 0o600); err != nil {
		return err
	}
	d.say("tracksync demo in %s", d.dir)
	d.say("  two stand-in trackers: 'jira' (To Do / In Progress / In Review / Done) and 'github' (open / in progress / closed)")
	jira, gh := d.tracker("jira"), d.tracker("github")
	jira.Seed(
		adapters.Item{Kind: adapters.KindEpic, Title: "Self-serve onboarding", Status: "To Do", Body: "Sign-up without talking to sales.", Labels: []string{"growth"}, Assignees: []string{"5b10ac8d82e05b22cc7d4ef5"}},
		adapters.Item{Kind: adapters.KindEpic, Title: "Usage-based billing", Status: "In Progress", Labels: []string{"billing"}},
		adapters.Item{Kind: adapters.KindEpic, Title: "Audit log", Status: "To Do", Priority: "high"},
	)
	gh.Seed(adapters.Item{Kind: adapters.KindIssue, Title: "Docs search is slow", Status: "open", Labels: []string{"docs"}, Assignees: []string{"bochen"}})

	d.say("\n1. validate the config")
	code, out := d.cli("validate")
	d.check(code == 0, strings.TrimSpace(out))

	d.say("\n2. first sync: every item gets a linked counterpart on the other side")
	code, run := d.syncRun()
	gh, jira = d.tracker("github"), d.tracker("jira")
	copyOnb, ok := find(gh, "Self-serve onboarding")
	d.check(code == 0 && run.Counts.Created == 4, fmt.Sprintf("run %d created %d items", run.ID, run.Counts.Created))
	d.check(ok && copyOnb.Status == "open" && len(copyOnb.Assignees) == 1 && copyOnb.Assignees[0] == "analima",
		"'Self-serve onboarding' is on github, status open, assigned to analima (Ana's github id)")
	docs, ok := find(jira, "Docs search is slow")
	d.check(ok && docs.Status == "To Do" && len(docs.Assignees) == 1, "'Docs search is slow' is on jira as To Do, assigned to Bo's jira id")

	d.say("\n3. an edit in jira appears in github")
	onb, _ := find(jira, "Self-serve onboarding")
	jira.Edit(onb.Ref, func(it *adapters.Item) { it.Status = "In Review"; it.Title = "Self-serve onboarding v1" })
	code, run = d.syncRun()
	gh = d.tracker("github")
	got, ok := find(gh, "Self-serve onboarding v1")
	d.check(code == 0 && ok && got.Status == "in progress", "github copy renamed and moved to 'in progress' (In Review maps there)")

	d.say("\n4. an edit in github appears in jira")
	bill, _ := find(gh, "Usage-based billing")
	gh.Edit(bill.Ref, func(it *adapters.Item) { it.Status = "closed"; it.Labels = append(it.Labels, "shipped") })
	code, run = d.syncRun()
	jira = d.tracker("jira")
	got, ok = find(jira, "Usage-based billing")
	d.check(code == 0 && ok && got.Status == "Done" && strings.Contains(strings.Join(got.Labels, ","), "shipped"), "jira epic is Done and labelled 'shipped'")

	d.say("\n5. the same field edited on both sides is held for a person, neither side overwritten")
	audit, _ := find(jira, "Audit log")
	jira.Edit(audit.Ref, func(it *adapters.Item) { it.Title = "Audit log (SOC 2)" })
	gh = d.tracker("github")
	auditGH, _ := find(gh, "Audit log")
	gh.Edit(auditGH.Ref, func(it *adapters.Item) { it.Title = "Audit trail" })
	code, run = d.syncRun()
	d.check(code == exitConflicts && run.Counts.Conflicts == 1, fmt.Sprintf("sync exited %d (4: finished with conflicts held), %d conflict held", code, run.Counts.Conflicts))
	_, listing := d.cli("conflicts", "list")
	d.say("%s", indent(listing))
	code, out = d.cli("-o", "json", "conflicts", "list")
	var cs []store.Conflict
	json.Unmarshal([]byte(out), &cs)
	d.check(code == 0 && len(cs) == 1 && cs[0].A == "Audit log (SOC 2)" && cs[0].B == "Audit trail", "conflict shows both values")

	d.say("\n6. resolving it (take jira's title) writes both sides")
	if len(cs) == 1 {
		code, out = d.cli("conflicts", "resolve", fmt.Sprint(cs[0].ID), "--take", "a")
		gh = d.tracker("github")
		_, ok = find(gh, "Audit log (SOC 2)")
		d.check(code == 0 && ok, strings.TrimSpace(out))
	}

	d.say("\n7. a further sync with no edits writes nothing (no echo, no ping-pong)")
	code, run = d.syncRun()
	c := run.Counts
	d.check(code == 0 && c.Created == 0 && c.Updated == 0 && c.Comments == 0, fmt.Sprintf("run %d: %d created, %d updated", run.ID, c.Created, c.Updated))

	d.say("\nrun history:")
	_, hist := d.cli("runs")
	d.say("%s", indent(hist))
	if d.failed > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("demo: %d step(s) not observed", d.failed)}
	}
	d.say("demo passed: every step observed. Explore it: tracksync -c %s links", d.cfg)
	return nil
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "   " + l
	}
	return strings.Join(lines, "\n")
}
