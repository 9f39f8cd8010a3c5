package github

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tracksync/tracksync/adapters"
)

// Status source "issue-field": an issue's status is its value of a
// single-select issue field (Status, by default) that the organization
// owning the repository defines (GitHub's issue fields: GET
// /orgs/{org}/issue-fields). Unlike a Projects field it is plain REST: an
// issue carries its values in issue_field_values, so listings and reads
// cost nothing more, and setting a value moves the issue's updated_at, so
// incremental listings see it. A status is written as one POST
// /repos/{o}/{r}/issues/{n}/issue-field-values (by option name) and read
// back with the issue; the field's id and options are read once per
// organization and cached. An issue with no value reads as the first
// option of its state's category (open: todo, closed: done), as with the
// project source; the issue's state is left alone except by Archive,
// which closes the issue and sets the first done option.

// IssueFieldOptions name the organization issue field that holds
// statuses.
type IssueFieldOptions struct {
	// Name is the single-select field's name (default "Status").
	Name string
	// Statuses give options their categories; options not named are
	// categorised by name (Todo, Backlog: todo; Done, Closed: done;
	// others: in progress).
	Statuses []adapters.StatusDef
}

// issueFieldValue is one value of an issue's issue_field_values.
type issueFieldValue struct {
	FieldID   int64  `json:"issue_field_id"`
	FieldName string `json:"issue_field_name"`
	DataType  string `json:"data_type"`
	Option    *struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"single_select_option"`
}

// orgField is an organization's status field, as read.
type orgField struct {
	id      int64
	options []string
}

// issueFields is the state of the issue-field status source.
type issueFields struct {
	opts IssueFieldOptions
	mu   sync.Mutex
	orgs map[string]orgField // lower-cased org -> its field
}

func newIssueFields(opts *IssueFieldOptions) *issueFields {
	if opts == nil {
		return nil
	}
	o := *opts
	if o.Name == "" {
		o.Name = "Status"
	}
	return &issueFields{opts: o, orgs: map[string]orgField{}}
}

// statuses are the field's options with their categories: those of an
// organization read, else those configured, else GitHub's usual Status
// options.
func (f *issueFields) statuses() []adapters.StatusDef {
	f.mu.Lock()
	defer f.mu.Unlock()
	if orgs := slices.Sorted(maps.Keys(f.orgs)); len(orgs) > 0 {
		var out []adapters.StatusDef
		for _, o := range f.orgs[orgs[0]].options {
			out = append(out, adapters.StatusDef{Name: o, Category: optionCategory(f.opts.Statuses, o)})
		}
		return out
	}
	if len(f.opts.Statuses) > 0 {
		return slices.Clone(f.opts.Statuses)
	}
	return []adapters.StatusDef{{Name: "Todo", Category: adapters.CategoryTodo}, {Name: "In Progress", Category: adapters.CategoryInProgress}, {Name: "Done", Category: adapters.CategoryDone}}
}

// firstOf is the first status of category c.
func (f *issueFields) firstOf(c adapters.StatusCategory) string {
	for _, s := range f.statuses() {
		if s.Category == c {
			return s.Name
		}
	}
	return ""
}

// applyIssueField sets it's status from the issue's value of the status
// field (see the comment at the top). It does no I/O.
func (t *Tracker) applyIssueField(it *adapters.Item, is *issue) {
	f := t.ifields
	if f == nil {
		return
	}
	name := ""
	for _, v := range is.IssueFieldValues {
		if strings.EqualFold(v.FieldName, f.opts.Name) && v.Option != nil {
			name = v.Option.Name
		}
	}
	if name == "" {
		want := adapters.CategoryTodo
		if it.StatusCategory == adapters.CategoryDone {
			want = adapters.CategoryDone
		}
		name = f.firstOf(want)
	}
	it.Status, it.StatusCategory = name, optionCategory(f.opts.Statuses, name)
}

// orgField reads (once) the status field of org.
func (t *Tracker) orgField(ctx context.Context, org string) (orgField, error) {
	f := t.ifields
	f.mu.Lock()
	of, ok := f.orgs[strings.ToLower(org)]
	f.mu.Unlock()
	if ok {
		return of, nil
	}
	var all []struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		DataType string `json:"data_type"`
		Options  []struct {
			Name string `json:"name"`
		} `json:"options"`
	}
	if _, err := t.call(ctx, "reading the issue fields of "+org, http.MethodGet, "orgs/"+url.PathEscape(org)+"/issue-fields", nil, &all, nil); err != nil {
		return orgField{}, err
	}
	var names []string
	for _, x := range all {
		names = append(names, x.Name)
		if !strings.EqualFold(x.Name, f.opts.Name) {
			continue
		}
		if x.DataType != "single_select" {
			return orgField{}, adapters.Permanent(fmt.Errorf("github: the issue field %q of %s is a %s field; status_source issue-field needs a single select", x.Name, org, x.DataType))
		}
		of = orgField{id: x.ID}
		for _, o := range x.Options {
			of.options = append(of.options, o.Name)
		}
		f.mu.Lock()
		f.orgs[strings.ToLower(org)] = of
		f.mu.Unlock()
		return of, nil
	}
	return orgField{}, adapters.Permanent(fmt.Errorf("github: %s has no issue field %q (its fields: %s): %w", org, f.opts.Name, strings.Join(names, ", "), adapters.ErrInvalid))
}

// setIssueField sets issue n of repo's status field to status.
func (t *Tracker) setIssueField(ctx context.Context, repo string, n int, status string) error {
	org, _, _ := strings.Cut(repo, "/")
	of, err := t.orgField(ctx, org)
	if err != nil {
		return err
	}
	name := ""
	for _, o := range of.options {
		if strings.EqualFold(o, status) {
			name = o
		}
	}
	if name == "" {
		return adapters.Permanent(fmt.Errorf("github: status %q is not an option of the issue field %q of %s (options: %s): %w", status, t.ifields.opts.Name, org, strings.Join(of.options, ", "), adapters.ErrInvalid))
	}
	body := map[string]any{"issue_field_values": []map[string]any{{"field_id": of.id, "value": name}}}
	var out []issueFieldValue
	_, err = t.call(ctx, "setting the status of "+issueID(repo, n), http.MethodPost, repoPath(repo)+"/issues/"+strconv.Itoa(n)+"/issue-field-values", body, &out, nil)
	return err
}

// createWithIssueField creates an issue (open, as the project source
// does: the field holds the status) and sets its status field, even to
// the option an issue without a value reads as: people filter views by
// the field, where no value is a blank. The field is read (once per
// organization) before the issue is made, so a field that is missing
// stops the create before it writes anything.
func (t *Tracker) createWithIssueField(ctx context.Context, it adapters.Item, opts adapters.CreateOptions) (adapters.CreateResult, error) {
	status := it.Status
	if status != "" {
		repo, err := t.targetRepo(it, opts.Scope)
		if err != nil {
			return adapters.CreateResult{}, err
		}
		org, _, _ := strings.Cut(repo, "/")
		if _, err := t.orgField(ctx, org); err != nil {
			return adapters.CreateResult{}, fmt.Errorf("creating %q: %w", it.Title, err)
		}
	}
	it.Status = ""
	res, err := t.createItem(ctx, it, opts)
	if err != nil || status == "" {
		return res, err
	}
	repo, n, err := parseRef(res.Item.Ref)
	if err != nil {
		return res, err
	}
	if err := t.setIssueField(ctx, repo, n, status); err != nil {
		return res, fmt.Errorf("creating %q: %w", it.Title, err)
	}
	return t.reread(ctx, res, repo, n)
}

// archiveWithIssueField closes the issue (archiveItem) and sets its status
// field to the first done option, unless its status reads as done
// already (a done option, or no value on a closed issue).
func (t *Tracker) archiveWithIssueField(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	it, err := t.archiveItem(ctx, ref)
	if err != nil || it.StatusCategory == adapters.CategoryDone {
		return it, err
	}
	done := t.ifields.firstOf(adapters.CategoryDone)
	if done == "" {
		return it, nil
	}
	repo, n, err := parseRef(ref)
	if err != nil {
		return adapters.Item{}, err
	}
	if err := t.setIssueField(ctx, repo, n, done); err != nil {
		return adapters.Item{}, fmt.Errorf("archiving %s: %w", issueID(repo, n), err)
	}
	is, err := t.getIssue(ctx, repo, n)
	if err != nil {
		return adapters.Item{}, err
	}
	return t.toItem(repo, is), nil
}
