package github

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

func init() {
	adapters.Register(Spec())
}

// fileOptions are a github tracker's options as the config file holds
// them; the tags are the keys and their help (see adapters/options.go).
type fileOptions struct {
	URL  string `yaml:"url" help:"API base URL: https://api.github.com or a GitHub Enterprise Server URL"`
	Auth struct {
		Token          string `yaml:"token,secret" help:"a personal access token (fine-grained or classic)"`
		AppID          int    `yaml:"app_id" help:"GitHub App id (with installation_id and private_key_file, instead of a token)"`
		InstallationID int    `yaml:"installation_id" help:"GitHub App installation id"`
		PrivateKeyFile string `yaml:"private_key_file" help:"GitHub App private key (PEM), relative to the config file"`
	} `yaml:"auth"`
	WebhookSecret string `yaml:"webhook_secret,secret" help:"the secret webhooks are signed with"`
	Limits        struct {
		ContentPerMinute int `yaml:"content_per_minute" check:"positive"`
		ContentPerHour   int `yaml:"content_per_hour" check:"positive"`
	} `yaml:"limits" help:"content_per_minute (default 80), content_per_hour (default 500)"`
	StatusSource string          `yaml:"status_source" help:"state, labels, project (a Projects v2 single-select field) or issue-field (an organization's single-select issue field)"`
	IssueField   *issueFieldFile `yaml:"issue_field" help:"for status_source issue-field: name (default Status), categories (option: todo|in_progress|done)"`
	Project      *projectFile    `yaml:"project" help:"for status_source project: owner, number, field (default Status), categories (option: todo|in_progress|done), fields (other fields to sync as custom:<name>), due_field (a date field as due), priority_field (a single-select field as priority)"`
	IssueTypes   bool            `yaml:"issue_types" help:"the owners have issue types: type Epic is an epic, and epics are created with it"`
}

// issueFieldFile is the issue_field option. A name written empty is a
// mistake, hence the pointer.
type issueFieldFile struct {
	Name       *string           `yaml:"name"`
	Categories map[string]string `yaml:"categories"`
}

// projectFile is the project option.
type projectFile struct {
	Owner         string            `yaml:"owner,required" help:"the organization or user login owning the project"`
	Number        int               `yaml:"number,required" check:"positive" help:"the project's number"`
	Field         *string           `yaml:"field"`
	Categories    map[string]string `yaml:"categories"`
	Fields        []string          `yaml:"fields"`
	DueField      *string           `yaml:"due_field"`
	PriorityField *string           `yaml:"priority_field"`
}

func defaultOptions() any { return &fileOptions{URL: DefaultURL, StatusSource: "state"} }

// Spec is how the GitHub tracker joins a registry: kind "github". Options
// (fileOptions):
//
//	url:                    API base (default https://api.github.com); a
//	                        GitHub Enterprise Server host or API URL
//	auth.token:             a personal access token (secret), or instead
//	auth.app_id,
//	auth.installation_id,
//	auth.private_key_file:  a GitHub App installation (the key file is
//	                        relative to the config file's folder)
//	webhook_secret:         verifies X-Hub-Signature-256 (secret)
//	limits:                 content_per_minute (default 80) and
//	                        content_per_hour (default 500): the pace of
//	                        content-creating requests
//	status_source:          where statuses live: state (open, closed, not
//	                        planned; the default), labels (the same, with
//	                        status labels kept by the flow's status map) or
//	                        project (a Projects v2 single-select field) or
//	                        issue-field (a single-select issue field of
//	                        the organization owning the repository)
//	project:                for status_source project: owner, number and
//	                        field (default Status) of the project, and
//	                        optionally categories: option -> todo,
//	                        in_progress or done (name every option there
//	                        for flows to be checked before the project is
//	                        read; others are categorised by name);
//	                        fields: other fields of the project (date,
//	                        number, text, single-select, iteration) to
//	                        sync as custom:<name>; due_field: a date field
//	                        synced as the due date (due); priority_field:
//	                        a single-select field synced as the priority
//	issue_field:            for status_source issue-field: name (default
//	                        Status) and optionally categories: option ->
//	                        todo, in_progress or done
//	issue_types:            true when the owners have issue types: an
//	                        issue of type Epic is an epic, and epics are
//	                        created with that type
//
// Scopes are "owner/repo [owner/repo2 ...] [label:x] [state:open|all]".
func Spec() adapters.Spec {
	return adapters.Spec{
		Kind:         "github",
		Help:         "GitHub issues on github.com or GitHub Enterprise Server; scope: 'owner/repo [owner/repo2 ...] [label:x] [state:open|all]'",
		OptionStruct: defaultOptions,
		New:          newFromConfig,
		Validate:     validateConfig,
	}
}

// validateConfig checks the status source's options (project,
// issue_field) as newFromConfig reads them, without building a tracker.
func validateConfig(cfg adapters.Config) error {
	var f fileOptions
	if err := cfg.Decode(&f); err != nil {
		return err
	}
	_, _, err := f.statusSource("trackers." + cfg.Name)
	return err
}

func newFromConfig(_ context.Context, cfg adapters.Config) (adapters.Tracker, error) {
	keyPath := "trackers." + cfg.Name
	var f fileOptions
	if err := cfg.Decode(&f); err != nil {
		return nil, err
	}
	opts := Options{
		URL:              f.URL,
		Token:            f.Auth.Token,
		WebhookSecret:    f.WebhookSecret,
		Logger:           cfg.Logger,
		IssueTypes:       f.IssueTypes,
		ContentPerMinute: f.Limits.ContentPerMinute,
		ContentPerHour:   f.Limits.ContentPerHour,
	}
	var err error
	if opts.Project, opts.IssueField, err = f.statusSource(keyPath); err != nil {
		return nil, err
	}
	appID, instID, keyFile := f.Auth.AppID, f.Auth.InstallationID, f.Auth.PrivateKeyFile
	switch {
	case appID != 0 || instID != 0 || keyFile != "":
		if appID == 0 || instID == 0 || keyFile == "" {
			return nil, fmt.Errorf("%s.auth: a GitHub App needs app_id, installation_id and private_key_file", keyPath)
		}
		if opts.Token != "" {
			return nil, fmt.Errorf("%s.auth: give either token or a GitHub App, not both", keyPath)
		}
		if !filepath.IsAbs(keyFile) && cfg.BaseDir != "" {
			keyFile = filepath.Join(cfg.BaseDir, keyFile)
		}
		key, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("%s.auth.private_key_file: %w", keyPath, err)
		}
		opts.App = &AppAuth{AppID: int64(appID), InstallationID: int64(instID), PrivateKey: key}
	case opts.Token == "":
		return nil, fmt.Errorf("%s.auth: give token, or app_id, installation_id and private_key_file", keyPath)
	}
	t, err := New(cfg.Name, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return t, nil
}

// statusSource checks status_source against project and issue_field and
// returns the options of the source that has them.
func (f *fileOptions) statusSource(keyPath string) (*ProjectOptions, *IssueFieldOptions, error) {
	src := f.StatusSource
	if f.IssueField != nil && src != "issue-field" {
		return nil, nil, fmt.Errorf("%s.issue_field: only used with status_source: issue-field (status_source is %q)", keyPath, src)
	}
	if f.Project != nil && src != "project" {
		return nil, nil, fmt.Errorf("%s.project: only used with status_source: project (status_source is %q)", keyPath, src)
	}
	switch src {
	case "state", "labels":
		return nil, nil, nil
	case "issue-field":
		o, err := f.IssueField.options(keyPath + ".issue_field")
		return nil, o, err
	case "project":
		if f.Project == nil {
			return nil, nil, fmt.Errorf("%s.project: status_source project needs project: {owner, number, field}", keyPath)
		}
		p, err := f.Project.options(keyPath + ".project")
		return p, nil, err
	}
	return nil, nil, fmt.Errorf("%s.status_source: %q is not state, labels, project or issue-field", keyPath, src)
}

// options reads issue_field (nil: not written, the defaults).
func (i *issueFieldFile) options(path string) (*IssueFieldOptions, error) {
	o := &IssueFieldOptions{}
	if i == nil {
		return o, nil
	}
	if i.Name != nil {
		if o.Name = *i.Name; o.Name == "" {
			return nil, fmt.Errorf("%s.name: empty", path)
		}
	}
	var err error
	o.Statuses, err = categories(i.Categories, path+".categories")
	return o, err
}

func (p *projectFile) options(path string) (*ProjectOptions, error) {
	o := &ProjectOptions{Owner: p.Owner, Number: p.Number, Field: "Status", Fields: p.Fields}
	if p.Field != nil {
		if o.Field = *p.Field; o.Field == "" {
			return nil, fmt.Errorf("%s.field: empty", path)
		}
	}
	var err error
	if o.Statuses, err = categories(p.Categories, path+".categories"); err != nil {
		return nil, err
	}
	// Each field is synced once, never the status field, and none is
	// named milestone (custom:milestone is the issue's milestone).
	// Whether the project has them, with the right types, is checked when
	// the project is first read.
	seen := map[string]string{strings.ToLower(o.Field): path + ".field"}
	claim := func(name, at string) error {
		if name == "" {
			return fmt.Errorf("%s: empty (want a field name of the project)", at)
		}
		if prev, ok := seen[strings.ToLower(name)]; ok {
			return fmt.Errorf("%s: field %q is already synced by %s", at, name, prev)
		}
		if strings.EqualFold(name, "milestone") {
			return fmt.Errorf("%s: a project field named %q would clash with custom:milestone, the issue's milestone", at, name)
		}
		seen[strings.ToLower(name)] = at
		return nil
	}
	for i, name := range p.Fields {
		if err := claim(name, fmt.Sprintf("%s.fields[%d]", path, i)); err != nil {
			return nil, err
		}
	}
	for _, k := range []struct {
		key      string
		src, dst *string
	}{{"due_field", p.DueField, &o.DueField}, {"priority_field", p.PriorityField, &o.PriorityField}} {
		if k.src == nil {
			continue
		}
		if err := claim(*k.src, path+"."+k.key); err != nil {
			return nil, err
		}
		*k.dst = *k.src
	}
	return o, nil
}

// categories reads a mapping of option to todo, in_progress or done at
// path, in the options' order.
func categories(m map[string]string, path string) ([]adapters.StatusDef, error) {
	var out []adapters.StatusDef
	for _, name := range slices.Sorted(maps.Keys(m)) {
		cat := adapters.StatusCategory(m[name])
		if !cat.Valid() {
			return nil, fmt.Errorf("%s.%s: %q is not todo, in_progress or done", path, name, m[name])
		}
		out = append(out, adapters.StatusDef{Name: name, Category: cat})
	}
	return out, nil
}
