package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// initAnswers are what `tracksync init` needs to know.
type initAnswers struct {
	JiraURL, JiraEmail, JiraProject string
	GitHubRepo                      string
	Roadmap                         string
	PublicURL                       string
}

func (a *app) initCmd() *cobra.Command {
	var ans initAnswers
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a starting config from flags (or answers on a terminal), and say which webhooks to register and which token scopes each tracker needs",
		Long: `Writes a starting tracksync.yaml (or -c / --out) for the trackers named by
flags: --jira-url with --jira-project (and --jira-email for Cloud),
--github-repo owner/repo, --roadmap roadmap.yaml. Without any of them, on a
terminal, it asks. Secrets are never written: the config reads them from
environment variables, which init lists. It then prints the webhook URLs
to register on each tracker (under --public-url, where the trackers reach
tracksync serve) and the token scopes each tracker needs.

An existing file is kept unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if ans.JiraURL == "" && ans.GitHubRepo == "" && ans.Roadmap == "" {
				if !a.stdinTerminal() {
					return usageErr("init needs --jira-url, --github-repo or --roadmap (or a terminal to ask on)")
				}
				if err := a.askInit(&ans); err != nil {
					return err
				}
			}
			if err := checkInit(ans); err != nil {
				return err
			}
			path := out
			if path == "" {
				path = a.configPath()
			}
			if _, err := os.Stat(path); err == nil && !force {
				return usageErr("%s exists; use --force to overwrite it, or --out to write elsewhere", path)
			}
			if err := os.WriteFile(path, []byte(initConfig(ans)), 0o600); err != nil {
				return fmt.Errorf("writing %s: %w", path, err)
			}
			fmt.Fprintf(a.stdout, "wrote %s\n\n%s", path, initGuide(ans, path))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&ans.JiraURL, "jira-url", "", "Jira site (https://acme.atlassian.net) or Data Center base URL")
	f.StringVar(&ans.JiraEmail, "jira-email", "", "Jira Cloud: the account the API token belongs to")
	f.StringVar(&ans.JiraProject, "jira-project", "", "Jira project key (PLAT)")
	f.StringVar(&ans.GitHubRepo, "github-repo", "", "GitHub repository (owner/repo)")
	f.StringVar(&ans.Roadmap, "roadmap", "", "roadmap file (roadmap.yaml), relative to the config")
	f.StringVar(&ans.PublicURL, "public-url", "", "where the trackers reach `tracksync serve` (https://tracksync.acme.com); default http://127.0.0.1:8080")
	f.StringVar(&out, "out", "", "file to write (default -c, $TRACKSYNC_CONFIG or tracksync.yaml)")
	f.BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}

// stdinTerminal reports whether init may ask (a test sets a.stdin).
func (a *app) stdinTerminal() bool {
	if a.stdin != nil {
		return true
	}
	return isTTY(os.Stdin)
}

func (a *app) askInit(ans *initAnswers) error {
	var in io.Reader = os.Stdin
	if a.stdin != nil {
		in = a.stdin
	}
	r := bufio.NewReader(in)
	ask := func(q, def string) (string, error) {
		if def != "" {
			fmt.Fprintf(a.stdout, "%s [%s]: ", q, def)
		} else {
			fmt.Fprintf(a.stdout, "%s: ", q)
		}
		line, err := r.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return "", usageErr("init: no answer to %q", q)
		}
		if line = strings.TrimSpace(line); line == "" {
			return def, nil
		}
		return line, nil
	}
	var err error
	fmt.Fprintln(a.stdout, "Leave an answer empty to skip that tracker.")
	steps := []struct {
		q   string
		dst *string
		def string
		if_ func() bool
	}{
		{"Jira site URL (https://acme.atlassian.net)", &ans.JiraURL, "", nil},
		{"Jira project key", &ans.JiraProject, "", func() bool { return ans.JiraURL != "" }},
		{"Jira account email (Cloud)", &ans.JiraEmail, "", func() bool { return ans.JiraURL != "" }},
		{"GitHub repository (owner/repo)", &ans.GitHubRepo, "", nil},
		{"Roadmap file", &ans.Roadmap, "", nil},
		{"Public URL the trackers reach tracksync serve at", &ans.PublicURL, "http://127.0.0.1:8080", nil},
	}
	for _, s := range steps {
		if s.if_ != nil && !s.if_() {
			continue
		}
		if *s.dst, err = ask(s.q, s.def); err != nil {
			return err
		}
	}
	return nil
}

var (
	repoRE    = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	projectRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)
)

func checkInit(ans initAnswers) error {
	n := 0
	if ans.JiraURL != "" {
		n++
		if !strings.HasPrefix(ans.JiraURL, "https://") && !strings.HasPrefix(ans.JiraURL, "http://") {
			return usageErr("--jira-url %q: want https://acme.atlassian.net", ans.JiraURL)
		}
		if !projectRE.MatchString(ans.JiraProject) {
			return usageErr("--jira-project %q: want a project key such as PLAT", ans.JiraProject)
		}
	}
	if ans.GitHubRepo != "" {
		n++
		if !repoRE.MatchString(ans.GitHubRepo) {
			return usageErr("--github-repo %q: want owner/repo", ans.GitHubRepo)
		}
	}
	if ans.Roadmap != "" {
		n++
	}
	if n < 2 {
		return usageErr("init needs two trackers to sync (of --jira-url, --github-repo, --roadmap)")
	}
	return nil
}

const statusMapJiraGitHub = `      status:
        direction: both
        map:
          - { a: 'To Do',       b: 'open' }
          - { a: 'In Progress', b: 'open', b_label: 'status: in progress' }
          - { a: 'Done',        b: 'closed' }
        default:
          a: { todo: 'To Do', in_progress: 'In Progress', done: 'Done' }
          b: { todo: 'open', in_progress: 'open', done: 'closed' }
`

// initConfig is the starting config for ans.
func initConfig(ans initAnswers) string {
	var b strings.Builder
	b.WriteString(`# Written by tracksync init. The full reference is config.example.yaml;
# check this file with: tracksync validate (and tracksync doctor, which
# also talks to the trackers). Secrets come from the environment.
state:
  dsn: tracksync.db
server:
  listen: 127.0.0.1:8080
  token: ${TRACKSYNC_TOKEN:-}
log:
  level: info
trackers:
`)
	if ans.JiraURL != "" {
		fmt.Fprintf(&b, "  jira:\n    kind: jira\n    url: %s\n    project: %s\n", ans.JiraURL, ans.JiraProject)
		if ans.JiraEmail != "" {
			fmt.Fprintf(&b, "    auth:\n      email: %s\n      token: ${JIRA_API_TOKEN}\n", ans.JiraEmail)
		} else {
			b.WriteString("    deployment: datacenter\n    auth:\n      pat: ${JIRA_PAT}\n")
		}
		b.WriteString("    webhook_secret: ${JIRA_WEBHOOK_SECRET}\n")
	}
	if ans.GitHubRepo != "" {
		b.WriteString("  github:\n    kind: github\n    auth:\n      token: ${GITHUB_TOKEN}\n    webhook_secret: ${GITHUB_WEBHOOK_SECRET}\n")
	}
	if ans.Roadmap != "" {
		fmt.Fprintf(&b, "  roadmap:\n    kind: roadmap\n    path: %s\n", ans.Roadmap)
	}
	b.WriteString("flows:\n")
	jiraScope := "project = " + ans.JiraProject
	switch {
	case ans.JiraURL != "" && ans.GitHubRepo != "":
		fmt.Fprintf(&b, `  - name: jira-github
    a: { tracker: jira, scope: '%s' }
    b: { tracker: github, scope: '%s' }
    conflict: newest
    fields:
      title: both
      body: both
      assignees: both
      labels: both
      comments: both
%s`, jiraScope, ans.GitHubRepo, statusMapJiraGitHub)
	}
	if ans.Roadmap != "" {
		target, scope := "jira", jiraScope+" AND issuetype = Epic"
		if ans.JiraURL == "" {
			target, scope = "github", ans.GitHubRepo+" label:initiative"
		}
		fmt.Fprintf(&b, `  - name: roadmap-%s
    a: { tracker: roadmap }
    b: { tracker: %s, scope: '%s' }
    direction: a-to-b
    fields:
      title: a-to-b
      body: a-to-b
`, target, target, scope)
	}
	return b.String()
}

// initGuide says what to set up on each tracker.
func initGuide(ans initAnswers, path string) string {
	base := strings.TrimRight(ans.PublicURL, "/")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	var b strings.Builder
	b.WriteString("Set these environment variables (never in the file):\n")
	if ans.JiraURL != "" {
		if ans.JiraEmail != "" {
			b.WriteString("  JIRA_API_TOKEN         an API token of " + ans.JiraEmail + " (id.atlassian.com > Security > API tokens)\n")
		} else {
			b.WriteString("  JIRA_PAT               a personal access token (Data Center: profile > Personal access tokens)\n")
		}
		b.WriteString("  JIRA_WEBHOOK_SECRET    any long random string; the same goes into the Jira webhook\n")
	}
	if ans.GitHubRepo != "" {
		b.WriteString("  GITHUB_TOKEN           a token for " + ans.GitHubRepo + "\n")
		b.WriteString("  GITHUB_WEBHOOK_SECRET  any long random string; the same goes into the GitHub webhook\n")
	}
	b.WriteString("  TRACKSYNC_TOKEN        optional: required by the dashboard and /metrics\n\n")
	b.WriteString("Token scopes:\n")
	if ans.JiraURL != "" {
		fmt.Fprintf(&b, "  jira    the account needs, in project %s: Browse Projects, Create Issues, Edit Issues,\n", ans.JiraProject)
		b.WriteString("          Transition Issues, Assign Issues, Add Comments, Edit Own Comments (and Delete Issues\n")
		b.WriteString("          only with on_delete: close); registering the webhook needs a Jira administrator\n")
	}
	if ans.GitHubRepo != "" {
		fmt.Fprintf(&b, "  github  fine-grained token with access to %s: Issues read and write, Metadata read\n", ans.GitHubRepo)
		b.WriteString("          (classic token: repo, or public_repo for a public repository);\n")
		b.WriteString("          registering the webhook needs repository admin\n")
	}
	if ans.Roadmap != "" {
		b.WriteString("  roadmap write access to " + ans.Roadmap + " (tracksync writes status and progress back)\n")
	}
	b.WriteString("\nWebhooks to register (tracksync serve receives them):\n")
	if ans.JiraURL != "" {
		fmt.Fprintf(&b, "  jira    %s/webhooks/jira\n", base)
		fmt.Fprintf(&b, "          Jira settings > System > WebHooks; JQL: project = %s; events: issue created,\n", ans.JiraProject)
		b.WriteString("          updated, deleted; comment created, updated; secret: $JIRA_WEBHOOK_SECRET\n")
	}
	if ans.GitHubRepo != "" {
		fmt.Fprintf(&b, "  github  %s/webhooks/github\n", base)
		fmt.Fprintf(&b, "          github.com/%s/settings/hooks; content type application/json;\n", ans.GitHubRepo)
		b.WriteString("          events: Issues, Issue comments; secret: $GITHUB_WEBHOOK_SECRET\n")
	}
	dir := filepath.Dir(path)
	fmt.Fprintf(&b, "\nNext: tracksync -c %s validate, then doctor, then plan (in %s).\n", path, dir)
	return b.String()
}
