package asana

// The workspace's metadata the adapter translates with: its users (people
// are their emails), custom fields, tags and each project's sections. Each
// is read once and read again, at most once a minute, when a name is
// missed (a person who joined, a section added since).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracksync/tracksync/adapters"
)

func (t *Tracker) seeProject(p string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !slices.Contains(t.projects, p) {
		t.projects = append(t.projects, p)
	}
}

// ensureMeta reads the workspace's users and custom fields once.
func (t *Tracker) ensureMeta(ctx context.Context) error {
	t.mu.Lock()
	loaded := t.loaded
	t.mu.Unlock()
	if loaded {
		return nil
	}
	users, err := listAll[user](ctx, t, "/users", url.Values{"workspace": {t.workspace}, "opt_fields": {"email,name"}}, "users")
	if err != nil {
		return fmt.Errorf("reading the users of asana workspace %s: %w", t.workspace, err)
	}
	fields, err := listAll[customField](ctx, t, "/workspaces/"+t.workspace+"/custom_fields",
		url.Values{"opt_fields": {"name,resource_subtype,type,enum_options.name,enum_options.enabled,precision"}}, "custom fields")
	if err != nil {
		return fmt.Errorf("reading the custom fields of asana workspace %s: %w", t.workspace, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.users, t.byEmail, t.fields = map[string]user{}, map[string]string{}, map[string]customField{}
	for _, u := range users {
		t.users[u.GID] = u
		if u.Email != "" {
			t.byEmail[strings.ToLower(u.Email)] = u.GID
		}
	}
	for _, f := range fields {
		t.fields[f.Name] = f
	}
	if t.statusField != "" {
		if f, ok := t.fields[t.statusField]; !ok || f.kind() != "enum" {
			return adapters.Permanent(fmt.Errorf("asana tracker %s: status custom_field:%s: no enum custom field of that name in workspace %s: %w", t.name, t.statusField, t.workspace, adapters.ErrInvalid))
		}
	}
	t.loaded = true
	return nil
}

// sectionsOf reads (once) the sections of project.
func (t *Tracker) sectionsOf(ctx context.Context, project string) ([]section, error) {
	t.mu.Lock()
	s, ok := t.sections[project]
	t.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := listAll[section](ctx, t, "/projects/"+project+"/sections", url.Values{"opt_fields": {"name"}}, "sections")
	if err != nil {
		return nil, fmt.Errorf("reading the sections of asana project %s: %w", project, err)
	}
	t.mu.Lock()
	t.sections[project] = s
	t.mu.Unlock()
	t.seeProject(project)
	return s, nil
}

func (t *Tracker) email(gid string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u, ok := t.users[gid]; ok && u.Email != "" {
		return u.Email
	}
	return gid
}

// userGID is the gid of the person with email (or gid) v; people who
// joined since the users were read are found by reading them again.
func (t *Tracker) userGID(ctx context.Context, v string) (string, error) {
	for try := 0; ; try++ {
		t.mu.Lock()
		g, ok := t.byEmail[strings.ToLower(v)]
		if _, isGID := t.users[v]; isGID {
			g, ok = v, true
		}
		t.mu.Unlock()
		if ok {
			return g, nil
		}
		if try > 0 || !t.refresh("") {
			return "", invalid("asana workspace %s has no user %q", t.workspace, v)
		}
		if err := t.ensureMeta(ctx); err != nil {
			return "", err
		}
	}
}

// refreshEvery bounds how often a miss re-reads the workspace's users,
// custom fields or a project's sections.
const refreshEvery = time.Minute

// refresh drops the cached users and custom fields (project "") or one
// project's sections, unless it did so within refreshEvery, and reports
// whether it did.
func (t *Tracker) refresh(project string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.refreshed == nil {
		t.refreshed = map[string]time.Time{}
	}
	now := t.now()
	if last, ok := t.refreshed[project]; ok && now.Sub(last) < refreshEvery {
		return false
	}
	t.refreshed[project] = now
	if project == "" {
		t.loaded = false
	} else {
		delete(t.sections, project)
	}
	return true
}

// fieldValue is the JSON Asana takes for custom field name set to v; a
// field, option or person not known yet is looked for again once.
func (t *Tracker) fieldValue(ctx context.Context, name, v string) (string, json.RawMessage, error) {
	g, raw, err := t.fieldValueCached(name, v)
	if err != nil && (errors.Is(err, adapters.ErrInvalid) || errors.Is(err, adapters.ErrUnsupported)) && t.refresh("") {
		if merr := t.ensureMeta(ctx); merr != nil {
			return "", nil, merr
		}
		return t.fieldValueCached(name, v)
	}
	return g, raw, err
}

func (t *Tracker) fieldValueCached(name, v string) (string, json.RawMessage, error) {
	t.mu.Lock()
	f, ok := t.fields[name]
	t.mu.Unlock()
	if !ok {
		return "", nil, adapters.Permanent(fmt.Errorf("asana workspace %s has no custom field %q: %w", t.workspace, name, adapters.ErrUnsupported))
	}
	if v == "" {
		return f.GID, json.RawMessage("null"), nil
	}
	enc := func(x any) json.RawMessage { b, _ := json.Marshal(x); return b }
	option := func(n string) (string, error) {
		for _, o := range f.EnumOptions {
			if strings.EqualFold(o.Name, strings.TrimSpace(n)) && (o.Enabled == nil || *o.Enabled) {
				return o.GID, nil
			}
		}
		var names []string
		for _, o := range f.EnumOptions {
			names = append(names, o.Name)
		}
		return "", invalid("asana custom field %q has no option %q (options: %s)", name, n, strings.Join(names, ", "))
	}
	switch f.kind() {
	case "text":
		return f.GID, enc(v), nil
	case "number":
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return "", nil, invalid("asana custom field %q is a number; %q is not", name, v)
		}
		return f.GID, enc(n), nil
	case "enum":
		g, err := option(v)
		return f.GID, enc(g), err
	case "multi_enum":
		var gids []string
		for _, n := range strings.Split(v, ",") {
			g, err := option(n)
			if err != nil {
				return "", nil, err
			}
			gids = append(gids, g)
		}
		return f.GID, enc(gids), nil
	case "date":
		if _, err := time.Parse("2006-01-02", v); err != nil {
			return "", nil, invalid("asana custom field %q is a date; %q is not YYYY-MM-DD", name, v)
		}
		return f.GID, enc(map[string]string{"date": v}), nil
	case "people":
		var gids []string
		for _, e := range strings.Split(v, ",") {
			g, err := t.userGIDCached(strings.TrimSpace(e))
			if err != nil {
				return "", nil, err
			}
			gids = append(gids, g)
		}
		return f.GID, enc(gids), nil
	}
	return "", nil, adapters.Permanent(fmt.Errorf("asana custom field %q has type %q, which tracksync does not write: %w", name, f.kind(), adapters.ErrUnsupported))
}

// tagGID is the gid of tag name, made when the workspace has none.
func (t *Tracker) tagGID(ctx context.Context, name string) (string, error) {
	t.mu.Lock()
	read := t.tagsRead
	t.mu.Unlock()
	if !read {
		tags, err := listAll[compact](ctx, t, "/workspaces/"+t.workspace+"/tags", url.Values{"opt_fields": {"name"}}, "tags")
		if err != nil {
			return "", fmt.Errorf("reading the tags of asana workspace %s: %w", t.workspace, err)
		}
		t.mu.Lock()
		t.tags, t.tagsRead = map[string]string{}, true
		for _, tg := range tags {
			t.tags[strings.ToLower(tg.Name)] = tg.GID
		}
		t.mu.Unlock()
	}
	t.mu.Lock()
	g, ok := t.tags[strings.ToLower(name)]
	t.mu.Unlock()
	if ok {
		return g, nil
	}
	var out one[compact]
	err := t.call(ctx, request{method: http.MethodPost, path: "/workspaces/" + t.workspace + "/tags", body: map[string]any{"name": name}}, recordShape("a tag"), &out)
	if err != nil {
		t.mu.Lock()
		t.tagsRead = false // it may have been made: read again next time
		t.mu.Unlock()
		return "", fmt.Errorf("making asana tag %q: %w", name, err)
	}
	t.mu.Lock()
	t.tags[strings.ToLower(name)] = out.Data.GID
	t.mu.Unlock()
	return out.Data.GID, nil
}

func (t *Tracker) userGIDCached(v string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if g, ok := t.byEmail[strings.ToLower(v)]; ok {
		return g, nil
	}
	if _, ok := t.users[v]; ok {
		return v, nil
	}
	return "", invalid("asana workspace %s has no user %q", t.workspace, v)
}
