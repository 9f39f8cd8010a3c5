package github

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

func init() {
	adapters.Register(Spec())
}

// Spec is how the GitHub tracker joins a registry: kind "github". Options:
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
		Kind: "github",
		Help: "GitHub issues on github.com or GitHub Enterprise Server; scope: 'owner/repo [owner/repo2 ...] [label:x] [state:open|all]'",
		Options: []adapters.Option{
			{Name: "url", Type: adapters.TypeString, Default: DefaultURL, Help: "API base URL: https://api.github.com or a GitHub Enterprise Server URL"},
			{Name: "auth.token", Type: adapters.TypeString, Secret: true, Help: "a personal access token (fine-grained or classic)"},
			{Name: "auth.app_id", Type: adapters.TypeInt, Help: "GitHub App id (with installation_id and private_key_file, instead of a token)"},
			{Name: "auth.installation_id", Type: adapters.TypeInt, Help: "GitHub App installation id"},
			{Name: "auth.private_key_file", Type: adapters.TypeString, Help: "GitHub App private key (PEM), relative to the config file"},
			{Name: "webhook_secret", Type: adapters.TypeString, Secret: true, Help: "the secret webhooks are signed with"},
			{Name: "limits", Type: adapters.TypeMap, Help: "content_per_minute (default 80), content_per_hour (default 500)"},
			{Name: "status_source", Type: adapters.TypeString, Default: "state", Help: "state, labels, project (a Projects v2 single-select field) or issue-field (an organization's single-select issue field)"},
			{Name: "issue_field", Type: adapters.TypeMap, Help: "for status_source issue-field: name (default Status), categories (option: todo|in_progress|done)"},
			{Name: "project", Type: adapters.TypeMap, Help: "for status_source project: owner, number, field (default Status), categories (option: todo|in_progress|done), fields (other fields to sync as custom:<name>), due_field (a date field as due), priority_field (a single-select field as priority)"},
			{Name: "issue_types", Type: adapters.TypeBool, Help: "the owners have issue types: type Epic is an epic, and epics are created with it"},
		},
		New:      newFromConfig,
		Validate: validateConfig,
	}
}

// validateConfig checks the status source's options (project,
// issue_field) as newFromConfig reads them, without building a tracker.
func validateConfig(cfg adapters.Config) error {
	keyPath := "trackers." + cfg.Name
	if _, err := projectFromConfig(cfg, keyPath); err != nil {
		return err
	}
	_, err := issueFieldOptions(cfg, keyPath)
	return err
}

// issueFieldOptions reads issue_field for status_source issue-field (nil
// for another source).
func issueFieldOptions(cfg adapters.Config, keyPath string) (*IssueFieldOptions, error) {
	if cfg.String("status_source") != "issue-field" {
		return nil, nil
	}
	m, ok := cfg.Options["issue_field"].(map[string]any)
	if _, given := cfg.Options["issue_field"]; given && !ok {
		return nil, fmt.Errorf("%s.issue_field: want a mapping {name, categories}", keyPath)
	}
	return issueFieldFromConfig(m, keyPath)
}

func newFromConfig(_ context.Context, cfg adapters.Config) (adapters.Tracker, error) {
	keyPath := "trackers." + cfg.Name
	opts := Options{
		URL:           cfg.String("url"),
		Token:         cfg.String("auth.token"),
		WebhookSecret: cfg.String("webhook_secret"),
		Logger:        cfg.Logger,
		IssueTypes:    cfg.Bool("issue_types"),
	}
	if m, ok := cfg.Options["limits"].(map[string]any); ok {
		for k, v := range m {
			n, err := strconv.Atoi(fmt.Sprint(v))
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("%s.limits.%s: want a positive whole number", keyPath, k)
			}
			switch k {
			case "content_per_minute":
				opts.ContentPerMinute = n
			case "content_per_hour":
				opts.ContentPerHour = n
			default:
				return nil, fmt.Errorf("%s.limits.%s: unknown limit (known: content_per_minute, content_per_hour)", keyPath, k)
			}
		}
	}
	proj, err := projectFromConfig(cfg, keyPath)
	if err != nil {
		return nil, err
	}
	opts.Project = proj
	if opts.IssueField, err = issueFieldOptions(cfg, keyPath); err != nil {
		return nil, err
	}
	appID, instID, keyFile := cfg.Int("auth.app_id"), cfg.Int("auth.installation_id"), cfg.String("auth.private_key_file")
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

// categoriesFromConfig reads a mapping of option to todo, in_progress or
// done at keyPath.
func categoriesFromConfig(c any, keyPath string) ([]adapters.StatusDef, error) {
	cm, ok := c.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want a mapping of option to todo, in_progress or done", keyPath)
	}
	var out []adapters.StatusDef
	for _, name := range slices.Sorted(maps.Keys(cm)) {
		cat := adapters.StatusCategory(fmt.Sprint(cm[name]))
		if !cat.Valid() {
			return nil, fmt.Errorf("%s.%s: %q is not todo, in_progress or done", keyPath, name, cm[name])
		}
		out = append(out, adapters.StatusDef{Name: name, Category: cat})
	}
	return out, nil
}

// projectFromConfig reads status_source and project.
func projectFromConfig(cfg adapters.Config, keyPath string) (*ProjectOptions, error) {
	src := cfg.String("status_source")
	m, hasProject := cfg.Options["project"].(map[string]any)
	if _, ok := cfg.Options["issue_field"]; ok && src != "issue-field" {
		return nil, fmt.Errorf("%s.issue_field: only used with status_source: issue-field (status_source is %q)", keyPath, src)
	}
	switch src {
	case "", "state", "labels", "issue-field":
		if hasProject {
			return nil, fmt.Errorf("%s.project: only used with status_source: project (status_source is %q)", keyPath, src)
		}
		return nil, nil
	case "project":
	default:
		return nil, fmt.Errorf("%s.status_source: %q is not state, labels, project or issue-field", keyPath, src)
	}
	if !hasProject {
		return nil, fmt.Errorf("%s.project: status_source project needs project: {owner, number, field}", keyPath)
	}
	p := &ProjectOptions{Owner: fmt.Sprint(m["owner"]), Field: "Status"}
	if m["owner"] == nil || p.Owner == "" {
		return nil, fmt.Errorf("%s.project.owner: missing (the organization or user login owning the project)", keyPath)
	}
	n, err := strconv.Atoi(fmt.Sprint(m["number"]))
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("%s.project.number: want the project's number (a positive whole number), got %v", keyPath, m["number"])
	}
	p.Number = n
	if f, ok := m["field"]; ok {
		if p.Field = fmt.Sprint(f); p.Field == "" {
			return nil, fmt.Errorf("%s.project.field: empty", keyPath)
		}
	}
	if c, ok := m["categories"]; ok {
		defs, err := categoriesFromConfig(c, keyPath+".project.categories")
		if err != nil {
			return nil, err
		}
		p.Statuses = defs
	}
	for k := range m {
		switch k {
		case "owner", "number", "field", "categories", "fields", "due_field", "priority_field":
		default:
			return nil, fmt.Errorf("%s.project.%s: unknown key (known: owner, number, field, categories, fields, due_field, priority_field)", keyPath, k)
		}
	}
	if err := projectFieldsFromConfig(m, p, keyPath+".project"); err != nil {
		return nil, err
	}
	return p, nil
}

// projectFieldsFromConfig reads project.fields, due_field and
// priority_field: each field synced once, never the status field, and
// none named milestone (custom:milestone is the issue's milestone).
// Whether the project has them, with the right types, is checked when
// the project is first read.
func projectFieldsFromConfig(m map[string]any, p *ProjectOptions, path string) error {
	seen := map[string]string{strings.ToLower(p.Field): path + ".field"}
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
	if raw, ok := m["fields"]; ok {
		l, ok := raw.([]any)
		if !ok {
			return fmt.Errorf("%s.fields: want a list of field names", path)
		}
		for i, v := range l {
			name, ok := v.(string)
			at := fmt.Sprintf("%s.fields[%d]", path, i)
			if !ok {
				return fmt.Errorf("%s: want a field name, got %v", at, v)
			}
			if err := claim(name, at); err != nil {
				return err
			}
			p.Fields = append(p.Fields, name)
		}
	}
	for _, k := range []struct {
		key string
		dst *string
	}{{"due_field", &p.DueField}, {"priority_field", &p.PriorityField}} {
		raw, ok := m[k.key]
		if !ok {
			continue
		}
		name, isStr := raw.(string)
		if !isStr {
			return fmt.Errorf("%s.%s: want a field name, got %v", path, k.key, raw)
		}
		if err := claim(name, path+"."+k.key); err != nil {
			return err
		}
		*k.dst = name
	}
	return nil
}
