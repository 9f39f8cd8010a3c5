// Package sandbox starts the Jira, GitHub and Asana fakes in-process, seeds
// them (a Jira project with epics and issues across its workflow, a GitHub
// repository with issues, a PM's Asana board of the Jira epics and a launch
// plan, a roadmap file with initiatives) and writes a ready config, so
// `tracksync serve --sandbox` runs the real daemon against them with no
// accounts and no network.
package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/notify/notifytest"
)

// Credentials the fakes accept; they guard nothing but the sandbox.
const (
	Repo         = "acme/platform"
	GitHubToken  = "sandbox-github-token"
	GitHubSecret = "sandbox-github-webhook-secret"
	JiraSecret   = "sandbox-jira-webhook-secret"
	JiraProject  = "PLAT"
	AsanaToken   = "sandbox-asana-token"
	// AsanaBoard and AsanaLaunch name the Asana projects: the PM's board
	// of the Jira epics (flow "board") and a launch plan whose tasks
	// tagged initiative:INIT-4 make up that initiative.
	AsanaBoard    = "Platform roadmap"
	AsanaLaunch   = "Launch plan"
	jiraEmail     = "bot@example.com"
	jiraToken     = "api-token"
	configName    = "tracksync.yaml"
	roadmapName   = "roadmap.yaml"
	clockInterval = time.Second
	asanaDelivery = 200 * time.Millisecond
)

// Sandbox is a running pair of fakes and the files that point at them.
type Sandbox struct {
	Dir    string
	Config string // the config file written for them
	Jira   *jiratest.Server
	GitHub *githubtest.Server
	Asana  *asanatest.Server
	// BoardGID and LaunchGID are the Asana projects' gids.
	BoardGID, LaunchGID string
	// Slack and Teams are the notification fakes the config's sinks post
	// to (a #roadmap channel, a "tracksync" workflow).
	Slack *notifytest.Slack
	Teams *notifytest.Teams

	mu       sync.Mutex
	cleanups []func()
	stop     chan struct{}
}

// Cleanup registers f to run at Close (the fakes ask for this).
func (s *Sandbox) Cleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}

// Close stops the fakes.
func (s *Sandbox) Close() {
	s.mu.Lock()
	fs := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	close(s.stop)
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// Start starts and seeds the fakes and writes the config into dir (a new
// temporary folder when dir is "").
//
// A start that fails leaves nothing behind: the fakes are stopped and a
// temporary folder it made is removed (a folder the caller named is kept).
func Start(ctx context.Context, dir string) (_ *Sandbox, err error) {
	if dir == "" {
		d, mkErr := os.MkdirTemp("", "tracksync-sandbox-")
		if mkErr != nil {
			return nil, fmt.Errorf("sandbox: making its folder: %w", mkErr)
		}
		dir = d
		defer func() {
			if err != nil {
				os.RemoveAll(d)
			}
		}()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: making its folder: %w", err)
	}
	s := &Sandbox{Dir: dir, Config: filepath.Join(dir, configName), stop: make(chan struct{})}
	s.Jira = jiratest.New(s, jiratest.Options{Projects: []string{JiraProject}, WebhookSecret: JiraSecret, Start: time.Now().UTC()})
	s.GitHub = githubtest.New(s, githubtest.Options{Repos: []string{Repo}, Users: []string{"analima", "bochen", "cypark"}, Tokens: []string{GitHubToken}, Clock: time.Now})
	s.Asana = asanatest.New(s, asanatest.Options{Tokens: []string{AsanaToken}, Start: time.Now().UTC(), Users: []asanatest.User{
		{Name: "Ana Lima", Email: "ana@example.com"}, {Name: "Bo Chen", Email: "bo@example.com"}, {Name: "Cy Park", Email: "cy@example.com"}}})
	s.Slack, s.Teams = notifytest.NewSlack(), notifytest.NewTeams()
	s.Cleanup(s.Slack.Close)
	s.Cleanup(s.Teams.Close)
	// The Jira and Asana fakes' clocks are manual: keep them with the wall
	// clock, so "updated" stamps, relative JQL dates and sync tokens' ages
	// mean what they say.
	go func() {
		t := time.NewTicker(clockInterval)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-s.stop:
				return
			case now := <-t.C:
				s.Jira.Advance(now.Sub(last))
				s.Asana.Advance(now.Sub(last))
				last = now
			}
		}
	}()
	// Asana batches its webhook events; the fake sends what is queued when
	// asked: ask often, so a card moved on the board reaches the daemon
	// within a second, as Asana's own deliveries do.
	deliverCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.Cleanup(cancel)
	go func() {
		t := time.NewTicker(asanaDelivery)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.Asana.Deliver(deliverCtx)
			}
		}
	}()
	if err := s.seed(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := os.WriteFile(s.Config, []byte(s.config()+s.notifications()), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Connect points both fakes' webhooks at a daemon listening on addr.
func (s *Sandbox) Connect(addr string) {
	s.Jira.SetWebhookURL("http://" + addr + "/webhooks/jira")
	s.GitHub.SetWebhook("http://"+addr+"/webhooks/github", GitHubSecret, nil)
}

func (s *Sandbox) seed(ctx context.Context) error {
	// Jira is seeded through its API, as a person's client would.
	jt, err := jira.New(ctx, "seed", jira.Options{URL: s.Jira.URL, Email: jiraEmail, Token: jiraToken, Project: JiraProject})
	if err != nil {
		return fmt.Errorf("sandbox: jira client: %w", err)
	}
	// PLAT-1 and PLAT-2 are epics; the issues after them hang under them
	// (parent), so INIT-1's roll-up goes initiative -> epics -> issues.
	create := func(it adapters.Item) (adapters.Item, error) {
		res, err := jt.Create(ctx, it, adapters.CreateOptions{})
		if err != nil {
			return adapters.Item{}, fmt.Errorf("sandbox: seeding jira %q: %w", it.Title, err)
		}
		return res.Item, nil
	}
	onboarding, err := create(adapters.Item{Kind: adapters.KindEpic, Title: "Self-serve onboarding", Body: "Sign-up without talking to sales.\n\n- email verification\n- workspace templates", Status: "In Progress", Labels: []string{"growth"}})
	if err != nil {
		return err
	}
	billing, err := create(adapters.Item{Kind: adapters.KindEpic, Title: "Usage-based billing", Body: "Meter API calls and bill monthly.", Status: "To Do", Labels: []string{"billing"}})
	if err != nil {
		return err
	}
	for _, it := range []adapters.Item{
		{Kind: adapters.KindIssue, Title: "Email verification", Status: "In Review", Labels: []string{"growth"}, Parent: &onboarding.Ref},
		{Kind: adapters.KindIssue, Title: "Invoice PDF export", Status: "Done", Labels: []string{"billing"}, Parent: &billing.Ref},
		{Kind: adapters.KindIssue, Title: "Audit log", Status: "To Do", Priority: "High"},
		{Kind: adapters.KindIssue, Title: "Workspace templates", Status: "To Do", Labels: []string{"growth"}, Parent: &onboarding.Ref},
	} {
		if _, err := create(it); err != nil {
			return err
		}
	}
	// GitHub: #1 and #2 as people filed them; #3 is INIT-3's tracking
	// issue, labelled after it, whose task list names #1, #2 and #4.
	for _, is := range []githubtest.Issue{
		{Title: "Docs search is slow", Body: "Searching the docs takes seconds.", State: "open", Labels: []string{"docs"}, Assignees: []string{"bochen"}},
		{Title: "Dark mode", Body: "Requested by many users.", State: "open", Labels: []string{"ux", "status: in progress"}},
		{Title: "Developer experience", Body: "Tracking issue for INIT-3.\n\n- [ ] #1\n- [ ] #2\n- [x] #4\n", State: "open", Labels: []string{"initiative:INIT-3"}},
		{Title: "CLI autocompletion", Body: "Tab-complete commands.", State: "closed", StateReason: "completed", Labels: []string{"cli"}},
	} {
		s.GitHub.CreateIssue(Repo, is)
	}
	s.seedAsana()
	return os.WriteFile(filepath.Join(s.Dir, roadmapName), []byte(roadmapFile), 0o644)
}

// seedAsana makes the PM's two projects: the board (empty: flow "board"
// fills it with the Jira epics) and the launch plan, whose tasks tagged
// initiative:INIT-4 are that initiative's children (2 of 4 done).
func (s *Sandbox) seedAsana() {
	s.BoardGID = s.Asana.AddProject(AsanaBoard, "To do", "In progress", "Done")
	s.LaunchGID = s.Asana.AddProject(AsanaLaunch, "To do", "Doing", "Done")
	tag := s.Asana.AddTag("initiative:INIT-4")
	users := map[string]string{}
	for _, u := range s.Asana.Users() {
		users[u.Email] = u.GID
	}
	for _, t := range []struct {
		name, section, who string
	}{
		{"Launch blog post", "Done", "ana@example.com"},
		{"Press kit", "Done", "bo@example.com"},
		{"Pricing page", "Doing", "ana@example.com"},
		{"Partner webinar", "To do", "cy@example.com"},
	} {
		s.Asana.CreateTask(asanatest.Task{Name: t.name, HTMLNotes: "<body>" + t.name + " for the public launch.</body>",
			Completed: t.section == "Done", Assignee: users[t.who], Tags: []string{tag},
			Memberships: []asanatest.Membership{{Project: s.LaunchGID, Section: s.Asana.SectionByName(s.LaunchGID, t.section)}}})
	}
}

const roadmapFile = `# Roadmap 2027, kept by product in git. tracksync writes status back.
initiatives:
  - key: INIT-1
    title: Grow self-serve revenue   # the big bet
    description: Make sign-up and billing work without sales.
    owner: ana@example.com
    status: in_progress
    due: 2027-03-31
    children: [PLAT-1, PLAT-2]

  - key: INIT-2
    title: Trustworthy platform
    status: planned
    due: 2027-06-30
    children: [PLAT-5]

  - key: INIT-3
    title: Delight developers
    owner: bo@example.com
    status: planned
    due: 2027-09-30

  - key: INIT-4
    title: Public launch              # its work is in the PM's Asana launch plan
    owner: ana@example.com
    status: planned
    due: 2027-02-28
`

// notifications is the config's notifications section: every event to the
// fake Slack's #roadmap and the fake Teams workflow.
func (s *Sandbox) notifications() string {
	return fmt.Sprintf(`# Notifications go to in-process fakes of Slack and Teams.
notifications:
  stale_after: 1h
  sinks:
    - { name: slack, kind: slack, webhook_url: %q }
    - { name: teams, kind: teams, webhook_url: %q }
`, s.Slack.WebhookURL("#roadmap"), s.Teams.WebhookURL("tracksync"))
}

func (s *Sandbox) config() string {
	q := func(v string) string { b, _ := json.Marshal(v); return string(b) }
	return fmt.Sprintf(`# Written by 'tracksync serve --sandbox': the fakes run inside that process.
state:
  dsn: state.db
log:
  level: info
trackers:
  jira:
    kind: jira
    url: %s
    deployment: cloud
    project: %s
    auth:
      email: %s
      token: %s
    webhook_secret: %s
  github:
    kind: github
    url: %s
    auth:
      token: %s
    webhook_secret: %s
  roadmap:
    kind: roadmap
    path: %s
  asana:
    kind: asana
    url: %[12]s
    auth:
      token: %[13]s
    workspace: %[14]s
    projects: [%[15]s, %[16]s]
    status: section
    limits: { requests_per_minute: 1500 }
users:
  - name: Ana Lima
    email: ana@example.com
    jira: 5b10ac8d82e05b22cc7d4ef5
    github: analima
    asana: ana@example.com
  - name: Bo Chen
    email: bo@example.com
    jira: 5b10ac8d82e05b22cc7d4ef6
    github: bochen
    asana: bo@example.com
  - name: Cy Park
    email: cy@example.com
    jira: 5b10ac8d82e05b22cc7d4ef7
    github: cypark
    asana: cy@example.com
flows:
  - name: platform
    a: { tracker: jira, scope: 'project = %[10]s AND issuetype != Initiative' }
    b: { tracker: github, scope: '%[11]s' }
    schedule: '@every 1m'
    conflict: manual
    fields:
      title: both
      body: a-to-b
      labels: both
      assignees: both
      comments: both
      status:
        direction: both
        map:
          - { a: 'To Do',       b: 'open' }
          - { a: 'In Progress', b: 'open', b_label: 'status: in progress' }
          - { a: 'In Review',   b: 'open', b_label: 'status: in review' }
          - { a: 'Done',        b: 'closed' }
  # The PM's view: the Jira epics as cards on an Asana board, whose
  # sections are their status; a card moved on the board moves the epic.
  - name: board
    a: { tracker: jira, scope: 'project = %[10]s AND issuetype = Epic' }
    b: { tracker: asana, scope: %[15]s }
    schedule: '@every 1m'
    conflict: manual
    fields:
      title: both
      body: a-to-b
      assignees: both
      due: both
      comments: both
      status:
        direction: both
        map:
          - { a: 'To Do',       b: 'To do' }
          - { a: 'In Progress', b: 'In progress' }
          - { a: 'In Review',   b: 'In progress' }
          - { a: 'Done',        b: 'Done' }
# Initiatives live in the roadmap file; their children are Jira epics listed
# under children: (and the issues under those epics), and GitHub issues on
# a tracking issue's task list (the tracking issue is labelled
# initiative:<key>), and Asana tasks of the launch plan tagged
# initiative:<key>. Items synced between trackers count once.
initiatives:
  source: { tracker: roadmap }
  status: children
  children:
    - { tracker: jira, link: refs, scope: 'project = %[10]s' }
    - { tracker: github, link: tasklist, scope: '%[11]s' }
    - { tracker: asana, link: label, scope: %[16]s }
  rollup:
    at_risk: { days_before_due: 30, min_done: 0.5, blocked_labels: [blocked] }
    write_back: true
    schedule: '@every 1m'
`, q(s.Jira.URL), JiraProject, q(jiraEmail), q(jiraToken), q(JiraSecret), q(s.GitHub.URL), q(GitHubToken), q(GitHubSecret), roadmapName, JiraProject, Repo,
		q(s.Asana.URL), q(AsanaToken), q(s.Asana.Workspace()), q(s.BoardGID), q(s.LaunchGID))
}
