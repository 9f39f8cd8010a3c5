package jira

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/tracksync/tracksync/adapters"
)

var _ adapters.Describer = (*Tracker)(nil)

// syncName is the flow field name of each standard Jira field.
var syncName = map[string]string{
	"summary": adapters.FieldTitle, "description": adapters.FieldBody, "status": adapters.FieldStatus,
	"assignee": adapters.FieldAssignees, "labels": adapters.FieldLabels, "priority": adapters.FieldPriority,
	"duedate": adapters.FieldDue, "parent": adapters.FieldParent,
}

// Describe reads the project's statuses and issue types, the site's
// fields, and on Cloud the workflow's transitions, the labels in use and
// the users the project's issues may be assigned to. The project is the
// one scope names (project = KEY) or the tracker's project option; with
// neither, the site's statuses. Labels and users the credentials may not
// read are notes, not errors.
func (t *Tracker) Describe(ctx context.Context, scope string) (adapters.Description, error) {
	project := scopeProject(scope)
	if project == "" {
		project = t.o.Project
	}
	d := adapters.Description{Scope: project}
	var fields []wireField
	if err := t.c.do(ctx, http.MethodGet, "/rest/api/2/field", nil, &fields); err != nil {
		return d, fmt.Errorf("describing jira %s: reading the field list: %w", t.name, err)
	}
	for _, f := range fields {
		fd := adapters.FieldDescription{ID: f.ID, Name: f.Name, Type: f.Schema.kind(), Custom: f.Custom, Sync: syncName[f.ID]}
		if f.Custom {
			fd.Sync = adapters.CustomPrefix + f.Name
		}
		d.Fields = append(d.Fields, fd)
	}
	var ws []wireStatus
	if project != "" {
		var types []struct {
			Name     string       `json:"name"`
			Statuses []wireStatus `json:"statuses"`
		}
		if err := t.c.do(ctx, http.MethodGet, t.path("/project/"+url.PathEscape(project)+"/statuses"), nil, &types); err != nil {
			return d, fmt.Errorf("describing jira %s: reading the statuses of project %s: %w", t.name, project, err)
		}
		for _, it := range types {
			d.IssueTypes = append(d.IssueTypes, it.Name)
			ws = append(ws, it.Statuses...)
		}
	} else {
		if err := t.c.do(ctx, http.MethodGet, t.path("/status"), nil, &ws); err != nil {
			return d, fmt.Errorf("describing jira %s: reading the statuses: %w", t.name, err)
		}
		d.Notes = append(d.Notes, "no project (set trackers."+t.name+".project or a flow scope 'project = KEY'): statuses are the whole site's, issue types and users are not listed")
	}
	byID := map[string]string{}
	for _, s := range ws {
		if _, seen := byID[s.ID]; seen {
			continue
		}
		byID[s.ID] = s.Name
		d.Statuses = append(d.Statuses, adapters.StatusDescription{Name: s.Name, Category: category(s.StatusCategory.Key)})
	}
	if t.dc {
		d.Notes = append(d.Notes, "Data Center: transitions, labels and users are not listed (the Cloud endpoints for them do not exist there)")
		return d, nil
	}
	if err := t.describeTransitions(ctx, &d, byID); err != nil {
		d.Notes = append(d.Notes, "transitions: "+err.Error())
	}
	if err := t.describeLabels(ctx, &d); err != nil {
		d.Notes = append(d.Notes, "labels: "+err.Error())
	}
	if project != "" {
		if err := t.describeUsers(ctx, &d, project); err != nil {
			d.Notes = append(d.Notes, "users: "+err.Error())
		}
	}
	return d, nil
}

// describeTransitions fills each status's To from the workflows'
// transitions (a global transition, from no status, reaches its target
// from every status).
func (t *Tracker) describeTransitions(ctx context.Context, d *adapters.Description, byID map[string]string) error {
	to := map[string][]string{}
	for start := 0; ; {
		var page struct {
			IsLast bool `json:"isLast"`
			Values []struct {
				Transitions []struct {
					From []string `json:"from"`
					To   string   `json:"to"`
				} `json:"transitions"`
			} `json:"values"`
		}
		p := "/rest/api/3/workflow/search?expand=transitions&startAt=" + strconv.Itoa(start)
		if err := t.c.do(ctx, http.MethodGet, p, nil, &page); err != nil {
			return err
		}
		for _, wf := range page.Values {
			for _, tr := range wf.Transitions {
				target, ok := byID[tr.To]
				if !ok {
					continue // another project's status
				}
				from := tr.From
				if len(from) == 0 {
					from = nil
					for id := range byID {
						from = append(from, id)
					}
				}
				for _, f := range from {
					name, ok := byID[f]
					if ok && name != target && !slices.Contains(to[name], target) {
						to[name] = append(to[name], target)
					}
				}
			}
		}
		start += len(page.Values)
		if page.IsLast || len(page.Values) == 0 {
			break
		}
	}
	for i := range d.Statuses {
		l := to[d.Statuses[i].Name]
		if l == nil {
			l = []string{}
		}
		slices.Sort(l)
		d.Statuses[i].To = l
	}
	return nil
}

func (t *Tracker) describeLabels(ctx context.Context, d *adapters.Description) error {
	for start := 0; ; {
		var page struct {
			IsLast bool     `json:"isLast"`
			Values []string `json:"values"`
		}
		if err := t.c.do(ctx, http.MethodGet, "/rest/api/3/label?startAt="+strconv.Itoa(start), nil, &page); err != nil {
			return err
		}
		d.Labels = append(d.Labels, page.Values...)
		start += len(page.Values)
		if page.IsLast || len(page.Values) == 0 {
			return nil
		}
	}
}

func (t *Tracker) describeUsers(ctx context.Context, d *adapters.Description, project string) error {
	const pageSize = 100
	for start := 0; ; start += pageSize {
		var page []struct {
			AccountID   string `json:"accountId"`
			DisplayName string `json:"displayName"`
			Email       string `json:"emailAddress"`
			AccountType string `json:"accountType"`
		}
		p := fmt.Sprintf("/rest/api/3/user/assignable/search?project=%s&startAt=%d&maxResults=%d", url.QueryEscape(project), start, pageSize)
		if err := t.c.do(ctx, http.MethodGet, p, nil, &page); err != nil {
			return err
		}
		for _, u := range page {
			if u.AccountType == "app" {
				continue // bots cannot be assigned work
			}
			d.Users = append(d.Users, adapters.UserDescription{ID: u.AccountID, Name: u.DisplayName, Email: u.Email})
		}
		if len(page) < pageSize {
			return nil
		}
	}
}
