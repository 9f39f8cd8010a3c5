package github

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/tracksync/tracksync/adapters"
)

var _ adapters.Describer = (*Tracker)(nil)

// Describe lists the issue states (any may follow any), the fields (with
// the status project's, when statuses live in one), and
// the labels, milestones and assignable users of the repositories scope
// names (a flow's scope: owner/repo ...). What the token may not read is
// a note.
func (t *Tracker) Describe(ctx context.Context, scope string) (adapters.Description, error) {
	if strings.TrimSpace(scope) == "" {
		scope = t.opts.Repo
	}
	sc, err := parseScope(scope)
	if err != nil {
		return adapters.Description{}, fmt.Errorf("describing github %s: %w (describe needs a repository: a flow's scope names it)", t.name, err)
	}
	caps := t.Capabilities()
	d := adapters.Description{Scope: strings.Join(sc.repos, " "), IssueTypes: []string{string(adapters.KindIssue)}}
	for _, s := range caps.Statuses {
		d.Statuses = append(d.Statuses, adapters.StatusDescription{Name: s.Name, Category: s.Category})
	}
	d.Fields = adapters.StandardFieldDescriptions(caps, map[string]string{adapters.FieldLabels: "array", adapters.FieldAssignees: "array", adapters.FieldDue: "date"})
	d.Fields = append(d.Fields, adapters.FieldDescription{ID: "milestone", Name: "milestone", Type: "milestone", Custom: true, Sync: FieldMilestone})
	if t.proj != nil {
		// The status project's fields, by their names on the board.
		if err := t.meta(ctx); err != nil {
			if adapters.IsTemporary(err) {
				return d, fmt.Errorf("describing github %s: %w", t.name, err)
			}
			d.Notes = append(d.Notes, fmt.Sprintf("fields of project %s/%d: %v", t.proj.opts.Owner, t.proj.opts.Number, err))
		} else {
			d.Fields = append(d.Fields, t.proj.describeFields()...)
		}
	}
	users := map[string]bool{}
	for _, repo := range sc.repos {
		labels, err := t.listLabels(ctx, repo)
		if err != nil {
			if !adapters.IsTemporary(err) && !isNotFound(err) {
				d.Notes = append(d.Notes, "labels of "+repo+": "+err.Error())
				continue
			}
			return d, fmt.Errorf("describing github %s: %w", t.name, err)
		}
		for _, l := range labels {
			if !slices.Contains(d.Labels, l) {
				d.Labels = append(d.Labels, l)
			}
		}
		if err := t.describeAssignees(ctx, repo, users, &d); err != nil {
			d.Notes = append(d.Notes, "users of "+repo+": "+err.Error())
		}
	}
	slices.Sort(d.Labels)
	return d, nil
}

func (t *Tracker) describeAssignees(ctx context.Context, repo string, seen map[string]bool, d *adapters.Description) error {
	for page := 1; ; {
		var us []*gh.User
		resp, err := t.call(ctx, "listing assignees of "+repo, http.MethodGet, fmt.Sprintf("%s/assignees?per_page=100&page=%d", repoPath(repo), page), nil, &us, nil)
		if err != nil {
			return err
		}
		for _, u := range us {
			if !seen[u.GetLogin()] {
				seen[u.GetLogin()] = true
				d.Users = append(d.Users, adapters.UserDescription{ID: u.GetLogin(), Name: u.GetName()})
			}
		}
		if resp.NextPage == 0 {
			return nil
		}
		page = resp.NextPage
	}
}
