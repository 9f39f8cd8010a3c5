package github

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shurcooL/githubv4"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/internal/rest"
)

// Status source "project": an issue's status is the value of a single-select
// field (Status, by default) of one GitHub Project (v2), read and written
// through GitHub's GraphQL API with githubv4; other fields of the project
// may be synced too (projfields.go). The project's id and the
// field's id and options are read once and cached; an issue's project item
// is found through the issue (repository.issue.projectItems), a status is
// written as one updateProjectV2ItemFieldValue, and an issue tracksync
// creates is added to the project (addProjectV2ItemById) first.
//
// Moving a card changes neither the issue's updated_at nor fires an issue
// webhook, so every listing also reads the project's items (100 a query)
// and returns the issues whose value changed since the cursor's snapshot
// of them. An issue with no value in the field (or not in the project)
// reads as the first option of its state's category (open: todo, closed:
// done). GraphQL is paced on its own point budget (X-RateLimit-Resource:
// graphql): a budget reported used up holds GraphQL calls until its reset;
// mutations also wait for the content-creating pace REST writes use.

// ProjectOptions name the Projects field that holds statuses.
type ProjectOptions struct {
	// Owner (organization or user login) and Number name the project.
	Owner  string
	Number int
	// Field is the single-select field's name (default "Status").
	Field string
	// Statuses give options their categories; options not named are
	// categorised by name (Todo, Backlog: todo; Done, Closed: done;
	// others: in progress).
	Statuses []adapters.StatusDef
	// Fields are other fields of the project (date, number, text,
	// single-select, iteration) synced as custom fields, custom:<name>.
	Fields []string
	// DueField names a date field synced as the item's due date, and
	// PriorityField a single-select field synced as its priority (see
	// projfields.go).
	DueField, PriorityField string
}

type projOption struct{ id, name string }

// projEntry is one issue's item in the project.
type projEntry struct {
	item, issue string // node ids
	option      string // option name, "" for none
	// values are the synced fields' values (projfields.go), by field
	// name; never written to in place.
	values  map[string]string
	updated time.Time
}

// project is the state of the project status source.
type project struct {
	opts ProjectOptions
	gql  *githubv4.Client
	pace *rest.Pacer // GraphQL's point budget

	mu      sync.Mutex
	id      string // project node id
	fieldID string
	options []projOption
	fields  map[string]projField // the other synced fields, by name
	all     []projField          // every field of the project, for Describe
	entries map[string]projEntry // issue key -> entry
	points  int                  // GraphQL points spent (rateLimit.cost)
}

// graphqlURL is the GraphQL endpoint beside the REST base.
func graphqlURL(base string) string {
	if strings.HasSuffix(base, "/api/v3/") {
		return strings.TrimSuffix(base, "v3/") + "graphql"
	}
	return strings.TrimRight(base, "/") + "/graphql"
}

// newProject builds the project source over auth (the authenticated
// transport REST uses), or nil when opts is nil.
func (t *Tracker) newProject(opts *ProjectOptions, auth http.RoundTripper) *project {
	if opts == nil {
		return nil
	}
	o := *opts
	if o.Field == "" {
		o.Field = "Status"
	}
	p := &project{opts: o, entries: map[string]projEntry{}}
	p.pace = rest.NewPacer(rest.PacerOptions{Tracker: t.name, Clock: t.opts.Clock, Sleep: t.opts.Sleep})
	hc := rest.NewClient(rest.Config{Tracker: t.name, Transport: p.pace.Transport(&gqlTransport{t: t, next: &apiTransport{next: auth}}),
		Timeout: time.Minute, RetryMax: 3, RetryWaitMin: t.opts.RetryWaitMin, RetryWaitMax: t.opts.RetryWaitMax, NoRedirect: true})
	p.gql = githubv4.NewEnterpriseClient(graphqlURL(t.base.String()), hc)
	return p
}

// ProjectPoints is the GraphQL points the project source has spent, as
// GraphQL's rateLimit.cost reports them.
func (t *Tracker) ProjectPoints() int {
	if t.proj == nil {
		return 0
	}
	t.proj.mu.Lock()
	defer t.proj.mu.Unlock()
	return t.proj.points
}

// gqlTransport turns GraphQL's failures into the adapters' errors: a non-200
// answer through rest.Classify, and a 200 whose errors say RATE_LIMITED,
// NOT_FOUND or FORBIDDEN into the same sentinels a REST answer would be.
type gqlTransport struct {
	t    *Tracker
	next http.RoundTripper
}

func (g *gqlTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if rerr != nil {
		return nil, rerr
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	op := "GraphQL"
	if resp.StatusCode != http.StatusOK {
		var e struct{ Message string }
		_ = json.Unmarshal(body, &e)
		if e.Message == "" {
			e.Message = rest.Snippet(body)
		}
		return nil, rest.Classify(g.t.name, op, resp.StatusCode, resp.Header, e.Message, rest.Policy{})
	}
	var out struct {
		Errors []struct{ Type, Message string }
	}
	if json.Unmarshal(body, &out) != nil || len(out.Errors) == 0 {
		return resp, nil
	}
	e := out.Errors[0]
	switch e.Type {
	case "RATE_LIMITED":
		return nil, rest.Classify(g.t.name, op, http.StatusForbidden, resp.Header, "API rate limit exceeded: "+e.Message, rest.Policy{})
	case "NOT_FOUND":
		return nil, &adapters.APIError{Tracker: g.t.name, Op: op, Status: http.StatusNotFound, Message: e.Message, Err: adapters.ErrNotFound}
	case "FORBIDDEN", "INSUFFICIENT_SCOPES":
		return nil, &adapters.APIError{Tracker: g.t.name, Op: op, Status: http.StatusForbidden, Message: e.Message, Err: adapters.ErrForbidden}
	}
	return resp, nil // other errors: githubv4 reports them
}

// query sends one GraphQL query, paced on the point budget; reads are
// retried.
func (t *Tracker) query(ctx context.Context, op string, q any, vars map[string]any) error {
	if err := t.proj.pace.Blocked(ctx); err != nil {
		return fmt.Errorf("github %s: %w", op, err)
	}
	if err := t.proj.gql.Query(rest.Idempotent(ctx), q, vars); err != nil {
		return fmt.Errorf("github %s: %w", op, gqlErr(err))
	}
	return nil
}

// mutate sends one mutation, paced on the point budget and the content
// pace. Both mutations used set absolute values, so they may be retried.
func (t *Tracker) mutate(ctx context.Context, op string, m any, input githubv4.Input) error {
	if err := t.proj.pace.Blocked(ctx); err != nil {
		return fmt.Errorf("github %s: %w", op, err)
	}
	release, err := t.pace.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("github %s: waiting for the content rate limit: %w", op, err)
	}
	defer release()
	if err := t.proj.gql.Mutate(rest.Idempotent(ctx), m, input, nil); err != nil {
		return fmt.Errorf("github %s: %w", op, gqlErr(err))
	}
	return nil
}

// gqlErr keeps the adapters' errors a transport made; any other GraphQL
// error (a validation message) is permanent: sending it again cannot
// help.
func gqlErr(err error) error {
	var ae *adapters.APIError
	if errors.As(err, &ae) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return adapters.Permanent(fmt.Errorf("%w: %w", err, adapters.ErrInvalid))
}

type rateLimit struct{ Cost int }

func (t *Tracker) spent(r rateLimit) {
	t.proj.mu.Lock()
	t.proj.points += r.Cost
	t.proj.mu.Unlock()
}

type singleSelectValue struct {
	V struct {
		OptionID string
		Name     string
	} `graphql:"... on ProjectV2ItemFieldSingleSelectValue"`
}

// meta reads (once) the project's id and its fields' ids, options and
// iterations, and checks the status field and the synced fields are
// there with the right types.
func (t *Tracker) meta(ctx context.Context) error {
	p := t.proj
	p.mu.Lock()
	known := p.id != ""
	p.mu.Unlock()
	if known {
		return nil
	}
	var q struct {
		RepositoryOwner struct {
			Owner struct {
				ProjectV2 struct {
					ID     string
					Fields struct {
						Nodes []fieldNode
					} `graphql:"fields(first: 100)"` // 50 custom fields at most, and GitHub's own
				} `graphql:"projectV2(number: $number)"`
			} `graphql:"... on ProjectV2Owner"`
		} `graphql:"repositoryOwner(login: $owner)"`
		RateLimit rateLimit
	}
	vars := map[string]any{"owner": githubv4.String(p.opts.Owner), "number": githubv4.Int(p.opts.Number)}
	what := fmt.Sprintf("project %s/%d", p.opts.Owner, p.opts.Number)
	if err := t.query(ctx, "reading "+what, &q, vars); err != nil {
		return err
	}
	t.spent(q.RateLimit)
	pr := q.RepositoryOwner.Owner.ProjectV2
	if pr.ID == "" {
		return fmt.Errorf("github: %s not found (or the token cannot read it): %w", what, adapters.Permanent(adapters.ErrNotFound))
	}
	var status fieldNode
	for _, n := range pr.Fields.Nodes {
		if n.Common.DataType == "SINGLE_SELECT" && (n.Common.Name == p.opts.Field || status.Common.ID == "" && strings.EqualFold(n.Common.Name, p.opts.Field)) {
			status = n
		}
	}
	if status.Common.ID == "" || len(status.Select.Options) == 0 {
		return fmt.Errorf("github: %s has no single-select field %q with options: %w", what, p.opts.Field, adapters.Permanent(adapters.ErrInvalid))
	}
	fields, err := p.resolveFields(pr.Fields.Nodes, what)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.id, p.fieldID, p.options, p.fields, p.all = pr.ID, status.Common.ID, nil, fields, nil
	for _, n := range pr.Fields.Nodes {
		p.all = append(p.all, projField{id: n.Common.ID, name: n.Common.Name, kind: n.Common.DataType})
	}
	for _, o := range status.Select.Options {
		p.options = append(p.options, projOption{id: o.ID, name: o.Name})
	}
	return nil
}

// categoryOf is the category of option name.
func (p *project) categoryOf(name string) adapters.StatusCategory {
	return optionCategory(p.opts.Statuses, name)
}

// optionCategory is the category of a single-select option: as defs
// give it, else by its name (Todo, Backlog: todo; Done, Closed: done;
// others: in progress).
func optionCategory(defs []adapters.StatusDef, name string) adapters.StatusCategory {
	for _, s := range defs {
		if strings.EqualFold(s.Name, name) {
			return s.Category
		}
	}
	l := strings.ToLower(name)
	for _, w := range []string{"done", "closed", "complete", "shipped", "released", "won't", "wont"} {
		if strings.Contains(l, w) {
			return adapters.CategoryDone
		}
	}
	for _, w := range []string{"todo", "to do", "backlog", "new", "triage", "planned"} {
		if strings.Contains(l, w) {
			return adapters.CategoryTodo
		}
	}
	return adapters.CategoryInProgress
}

// statuses are the field's options with their categories: the options
// read, else those configured, else GitHub's default Status options.
func (p *project) statuses() []adapters.StatusDef {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []adapters.StatusDef
	for _, o := range p.options {
		out = append(out, adapters.StatusDef{Name: o.name, Category: p.categoryOf(o.name)})
	}
	if len(out) == 0 && len(p.opts.Statuses) > 0 {
		return slices.Clone(p.opts.Statuses)
	}
	if len(out) == 0 {
		out = []adapters.StatusDef{{Name: "Todo", Category: adapters.CategoryTodo}, {Name: "In Progress", Category: adapters.CategoryInProgress}, {Name: "Done", Category: adapters.CategoryDone}}
	}
	return out
}

// applyProject sets it's status from the cached project entry (see the
// comment at the top) and mixes the option into its version, so a moved
// card is a changed item. It does no I/O.
func (t *Tracker) applyProject(it *adapters.Item) {
	p := t.proj
	if p == nil {
		return
	}
	closed := it.StatusCategory == adapters.CategoryDone
	p.mu.Lock()
	e, ok := p.entries[it.Ref.ID]
	p.mu.Unlock()
	name := e.option
	if !ok || name == "" {
		want := adapters.CategoryTodo
		if closed {
			want = adapters.CategoryDone
		}
		for _, s := range p.statuses() {
			if s.Category == want {
				name = s.Name
				break
			}
		}
	}
	it.Status, it.StatusCategory = name, p.categoryOf(name)
	p.applyFields(it, e)
	if e.updated.After(it.UpdatedAt) {
		it.UpdatedAt = e.updated
	}
	sum := sha256.Sum256([]byte(it.Version + "\x00" + p.sig(e)))
	it.Version = hex.EncodeToString(sum[:8])
}

// lookup reads issue n of repo's item in the project (and the issue's
// node id) into the cache.
func (t *Tracker) lookup(ctx context.Context, repo string, n int) (projEntry, error) {
	if err := t.meta(ctx); err != nil {
		return projEntry{}, err
	}
	owner, name, _ := strings.Cut(repo, "/")
	var q struct {
		Repository struct {
			Issue struct {
				ID           string
				ProjectItems struct {
					Nodes []struct {
						ID               string
						UpdatedAt        time.Time
						Project          struct{ ID string }
						FieldValueByName singleSelectValue `graphql:"fieldValueByName(name: $field)"`
						FieldValues      fieldValues       `graphql:"fieldValues(first: 100) @include(if: $values)"`
					}
				} `graphql:"projectItems(first: 50)"`
			} `graphql:"issue(number: $number)"`
		} `graphql:"repository(owner: $owner, name: $name)"`
		RateLimit rateLimit
	}
	vars := map[string]any{"owner": githubv4.String(owner), "name": githubv4.String(name), "number": githubv4.Int(n), "field": githubv4.String(t.proj.opts.Field),
		"values": githubv4.Boolean(t.proj.readsValues())}
	id := issueID(repo, n)
	if err := t.query(ctx, "reading the project item of "+id, &q, vars); err != nil {
		return projEntry{}, err
	}
	t.spent(q.RateLimit)
	if q.Repository.Issue.ID == "" {
		return projEntry{}, fmt.Errorf("github: reading the project item of %s: no such issue: %w", id, adapters.ErrNotFound)
	}
	e := projEntry{issue: q.Repository.Issue.ID}
	p := t.proj
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, it := range q.Repository.Issue.ProjectItems.Nodes {
		if it.Project.ID == p.id {
			e.item, e.option, e.updated = it.ID, it.FieldValueByName.V.Name, it.UpdatedAt
			e.values = p.valuesOf(it.FieldValues)
		}
	}
	if e.item == "" {
		delete(p.entries, id)
	} else {
		p.entries[id] = e
	}
	return e, nil
}

// scan reads every item of the project: issue key -> its snapshot (the
// option name, "" for none, and the synced fields' values: see sig), and
// refreshes the cache with it.
func (t *Tracker) scan(ctx context.Context) (map[string]string, error) {
	if err := t.meta(ctx); err != nil {
		return nil, err
	}
	p := t.proj
	p.mu.Lock()
	pid := p.id
	p.mu.Unlock()
	out := map[string]string{}
	entries := map[string]projEntry{}
	var after *githubv4.String
	for {
		var q struct {
			Node struct {
				P struct {
					Items struct {
						PageInfo struct {
							HasNextPage bool
							EndCursor   string
						}
						Nodes []struct {
							ID        string
							UpdatedAt time.Time
							Content   struct {
								Issue struct {
									ID         string
									Number     int
									Repository struct{ NameWithOwner string }
								} `graphql:"... on Issue"`
							}
							FieldValueByName singleSelectValue `graphql:"fieldValueByName(name: $field)"`
							FieldValues      fieldValues       `graphql:"fieldValues(first: 100) @include(if: $values)"`
						}
					} `graphql:"items(first: 100, after: $after)"`
				} `graphql:"... on ProjectV2"`
			} `graphql:"node(id: $project)"`
			RateLimit rateLimit
		}
		vars := map[string]any{"project": githubv4.ID(pid), "after": after, "field": githubv4.String(p.opts.Field), "values": githubv4.Boolean(p.readsValues())}
		if err := t.query(ctx, fmt.Sprintf("reading the items of project %s/%d", p.opts.Owner, p.opts.Number), &q, vars); err != nil {
			return nil, err
		}
		t.spent(q.RateLimit)
		for _, n := range q.Node.P.Items.Nodes {
			is := n.Content.Issue
			if is.Number == 0 || is.Repository.NameWithOwner == "" {
				continue // a draft or a pull request
			}
			k := issueID(is.Repository.NameWithOwner, is.Number)
			e := projEntry{item: n.ID, issue: is.ID, option: n.FieldValueByName.V.Name, values: p.valuesOf(n.FieldValues), updated: n.UpdatedAt}
			out[k], entries[k] = p.sig(e), e
		}
		if !q.Node.P.Items.PageInfo.HasNextPage {
			break
		}
		c := githubv4.String(q.Node.P.Items.PageInfo.EndCursor)
		after = &c
	}
	p.mu.Lock()
	p.entries = entries
	p.mu.Unlock()
	return out, nil
}

// setStatus moves issue n of repo to option status in the project, adding
// it to the project first when it is not there. Nothing is written when
// it already has that value.
func (t *Tracker) setStatus(ctx context.Context, repo string, n int, status string, known *projEntry) error {
	id := issueID(repo, n)
	var e projEntry
	var err error
	if known != nil {
		e = *known // read just before
	} else if e, err = t.lookup(ctx, repo, n); err != nil {
		return err
	}
	p := t.proj
	p.mu.Lock()
	var opt projOption
	var names []string
	for _, o := range p.options {
		names = append(names, o.name)
		if o.name == status {
			opt = o
		}
	}
	pid, fid := p.id, p.fieldID
	p.mu.Unlock()
	if opt.id == "" {
		return fmt.Errorf("github: status %q of %s is not an option of field %q of project %s/%d (options: %q): %w",
			status, id, p.opts.Field, p.opts.Owner, p.opts.Number, names, adapters.Permanent(adapters.ErrInvalid))
	}
	if e.item != "" && e.option == status {
		return nil
	}
	if e.item == "" {
		if e.item, err = t.addToProject(ctx, id, pid, e.issue); err != nil {
			return err
		}
	}
	var m struct {
		UpdateProjectV2ItemFieldValue struct {
			ProjectV2Item struct{ ID string } `graphql:"projectV2Item"`
		} `graphql:"updateProjectV2ItemFieldValue(input: $input)"`
	}
	in := githubv4.UpdateProjectV2ItemFieldValueInput{ProjectID: githubv4.ID(pid), ItemID: githubv4.ID(e.item), FieldID: githubv4.ID(fid),
		Value: githubv4.ProjectV2FieldValue{SingleSelectOptionID: githubv4.NewString(githubv4.String(opt.id))}}
	if err := t.mutate(ctx, fmt.Sprintf("moving %s to %q", id, status), &m, in); err != nil {
		return err
	}
	p.mu.Lock()
	e.option, e.updated = status, t.now()
	p.entries[id] = e
	p.points++ // a mutation costs one point
	p.mu.Unlock()
	return nil
}

// addToProject adds the issue (node id issue) to project pid and returns
// its item id; adding an issue already there returns its item.
func (t *Tracker) addToProject(ctx context.Context, id, pid, issue string) (string, error) {
	var m struct {
		AddProjectV2ItemById struct {
			Item struct{ ID string }
		} `graphql:"addProjectV2ItemById(input: $input)"`
	}
	in := githubv4.AddProjectV2ItemByIdInput{ProjectID: githubv4.ID(pid), ContentID: githubv4.ID(issue)}
	if err := t.mutate(ctx, "adding "+id+" to the project", &m, in); err != nil {
		return "", err
	}
	t.proj.mu.Lock()
	t.proj.points++
	t.proj.mu.Unlock()
	if m.AddProjectV2ItemById.Item.ID == "" {
		return "", fmt.Errorf("github: adding %s to the project answered no item: %w", id, adapters.ErrBadResponse)
	}
	return m.AddProjectV2ItemById.Item.ID, nil
}

// statuses are the native statuses: open, closed and not planned, or the
// project field's options.
func (t *Tracker) statuses() []adapters.StatusDef {
	if t.proj != nil {
		return t.proj.statuses()
	}
	if t.ifields != nil {
		return t.ifields.statuses()
	}
	return []adapters.StatusDef{
		{Name: StatusOpen, Category: adapters.CategoryTodo},
		{Name: StatusClosed, Category: adapters.CategoryDone},
		{Name: StatusNotPlanned, Category: adapters.CategoryDone},
	}
}

// Get implements adapters.Tracker; comments included. With the project
// status source the issue's project item is read first (one GraphQL
// query).
func (t *Tracker) Get(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	if t.proj != nil {
		repo, n, err := parseRef(ref)
		if err != nil {
			return adapters.Item{}, err
		}
		if _, err := t.lookup(ctx, repo, n); err != nil {
			return adapters.Item{}, err
		}
	}
	return t.getItem(ctx, ref)
}

// Create implements adapters.Tracker (see createItem). With the project
// status source the issue is made without a status, added to the project
// and given it.Status there, then the synced project fields it has
// values for; a retried create finishes what a previous one left undone.
func (t *Tracker) Create(ctx context.Context, it adapters.Item, opts adapters.CreateOptions) (adapters.CreateResult, error) {
	if t.ifields != nil {
		return t.createWithIssueField(ctx, it, opts)
	}
	if t.proj == nil {
		return t.createItem(ctx, it, opts)
	}
	status := it.Status
	it.Status = ""
	res, err := t.createItem(ctx, it, opts)
	if err != nil {
		return res, err
	}
	repo, n, err := parseRef(res.Item.Ref)
	if err != nil {
		return res, err
	}
	if status == "" {
		e, err := t.lookup(ctx, repo, n)
		if err != nil {
			return res, err
		}
		if e.item == "" {
			t.proj.mu.Lock()
			pid := t.proj.id
			t.proj.mu.Unlock()
			if _, err := t.addToProject(ctx, res.Item.Ref.ID, pid, e.issue); err != nil {
				return res, fmt.Errorf("creating %q: %w", it.Title, err)
			}
			if _, err := t.lookup(ctx, repo, n); err != nil {
				return res, err
			}
		}
	} else if err := t.setStatus(ctx, repo, n, status, nil); err != nil {
		return res, fmt.Errorf("creating %q: %w", it.Title, err)
	}
	if want := t.proj.wanted(it, t.proj.fieldCaps()); len(want) > 0 {
		e, err := t.cached(res.Item.Ref.ID)
		if err != nil {
			return res, err
		}
		if _, err := t.setFields(ctx, repo, n, e, want); err != nil {
			return res, fmt.Errorf("creating %q: %w", it.Title, err)
		}
	}
	return t.reread(ctx, res, repo, n)
}

// reread replaces a create's result with the issue as it stands after the
// writes that followed the create (its status and fields set), keeping
// the comments the create made.
func (t *Tracker) reread(ctx context.Context, res adapters.CreateResult, repo string, n int) (adapters.CreateResult, error) {
	is, err := t.getIssue(ctx, repo, n)
	if err != nil {
		return res, err
	}
	comments := res.Item.Comments
	res.Item = t.toItem(repo, is)
	res.Item.Comments = comments
	return res, nil
}

// Update implements adapters.Tracker (see updateItem). With the project
// status source the issue's project item is read first, so the version
// IfVersion is checked against includes its status and project fields;
// the status is then written as one mutation, after the issue's other
// fields, and each changed project field (projfields.go) as one more.
func (t *Tracker) Update(ctx context.Context, ref adapters.Ref, p adapters.Patch) (adapters.Item, error) {
	if t.proj == nil {
		it, err := t.updateItem(ctx, ref, p)
		if err != nil {
			return adapters.Item{}, err
		}
		return it, nil
	}
	repo, n, err := parseRef(ref)
	if err != nil {
		return adapters.Item{}, err
	}
	e, err := t.lookup(ctx, repo, n)
	if err != nil {
		return adapters.Item{}, err
	}
	id := issueID(repo, n)
	status := slices.Contains(p.Fields, adapters.FieldStatus)
	want := t.proj.wanted(p.Item, p.Fields)
	rest := p
	rest.Fields = slices.DeleteFunc(slices.Clone(p.Fields), func(f string) bool {
		return f == adapters.FieldStatus || t.proj.projectFieldOf(f) != ""
	})
	it, err := t.updateItem(ctx, ref, rest)
	// A refused field does not hold back the board's.
	refused := err
	if err != nil && !errors.Is(err, errOthersWritten) {
		return adapters.Item{}, err
	}
	wrote := false
	if status && it.Status != p.Item.Status {
		if err := t.setStatus(ctx, repo, n, p.Item.Status, &e); err != nil {
			return adapters.Item{}, fmt.Errorf("updating %s: %w", id, err)
		}
		wrote = true
		if e, err = t.cached(id); err != nil {
			return adapters.Item{}, err
		}
	}
	if len(want) > 0 {
		w, err := t.setFields(ctx, repo, n, e, want)
		if err != nil {
			return adapters.Item{}, fmt.Errorf("updating %s: %w", id, err)
		}
		wrote = wrote || w
	}
	if refused != nil {
		return adapters.Item{}, refused
	}
	if !wrote {
		return it, nil
	}
	is, err := t.getIssue(ctx, repo, n)
	if err != nil {
		return adapters.Item{}, err
	}
	return t.toItem(repo, is), nil
}

// cached is issue id's entry as the cache holds it after a write.
func (t *Tracker) cached(id string) (projEntry, error) {
	t.proj.mu.Lock()
	defer t.proj.mu.Unlock()
	e, ok := t.proj.entries[id]
	if !ok {
		return projEntry{}, fmt.Errorf("github: %s is not in the project after a write to it: %w", id, adapters.ErrBadResponse)
	}
	return e, nil
}

// projCursor wraps the issues listing's cursor and page token with the
// snapshot of the project's values they were read with.
type projCursor struct {
	C    string            `json:"c,omitempty"` // the issues listing's cursor
	T    string            `json:"t,omitempty"` // its page token
	Snap map[string]string `json:"s,omitempty"` // issue key -> option at the listing
	// Moved are the issues returned on the first page because their card
	// moved; later pages leave them out.
	Moved []string `json:"m,omitempty"`
}

// List implements adapters.Tracker (see listIssues). With the project
// status source a listing's first page also reads the project's items;
// the issues in scope whose value changed since the cursor's snapshot are
// returned with it, once, though the issue itself did not change.
func (t *Tracker) List(ctx context.Context, req adapters.ListRequest) (adapters.ListPage, error) {
	if t.proj == nil {
		return t.listIssues(ctx, req)
	}
	var cur projCursor
	bad := func(what, v string) error {
		return fmt.Errorf("github list: %s %q is not one this tracker issued: %w", what, v, adapters.Permanent(adapters.ErrInvalid))
	}
	var items []adapters.Item
	if req.PageToken != "" {
		if err := adapters.DecodeToken(req.PageToken, &cur); err != nil {
			return adapters.ListPage{}, bad("page token", req.PageToken)
		}
	} else {
		var prev projCursor
		if req.Cursor != "" {
			if err := adapters.DecodeToken(req.Cursor, &prev); err != nil {
				return adapters.ListPage{}, bad("cursor", req.Cursor)
			}
		}
		snap, err := t.scan(ctx)
		if err != nil {
			return adapters.ListPage{}, err
		}
		cur = projCursor{C: prev.C, Snap: snap}
		if req.Cursor != "" {
			sc, err := parseScope(req.Scope)
			if err != nil {
				return adapters.ListPage{}, err
			}
			for _, k := range movedKeys(prev.Snap, snap) {
				repo, n, _ := parseRef(adapters.Ref{ID: k})
				if !slices.Contains(sc.repos, repo) {
					continue
				}
				is, err := t.getIssue(ctx, repo, n)
				if isNotFound(err) {
					continue
				}
				if err != nil {
					return adapters.ListPage{}, err
				}
				cur.Moved = append(cur.Moved, k)
				items = append(items, t.toItem(repo, is))
			}
		}
	}
	inner := req
	inner.Cursor, inner.PageToken = cur.C, cur.T
	page, err := t.listIssues(ctx, inner)
	if err != nil {
		return adapters.ListPage{}, err
	}
	for _, it := range page.Items {
		if !slices.Contains(cur.Moved, it.Ref.ID) {
			items = append(items, it)
		}
	}
	page.Items = items
	if page.NextPageToken != "" {
		cur.T = page.NextPageToken
		page.NextPageToken = adapters.EncodeToken(cur)
		return page, nil
	}
	page.Cursor = adapters.EncodeToken(projCursor{C: page.Cursor, Snap: cur.Snap})
	return page, nil
}

// movedKeys are the issues whose value differs between two snapshots
// (added to or removed from the project included), sorted.
func movedKeys(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if old, ok := before[k]; !ok || old != v {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Archive implements adapters.Archiver (see archiveItem). With the
// project status source the card also moves to the field's first done
// option, unless its status is done already.
func (t *Tracker) Archive(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	if t.ifields != nil {
		return t.archiveWithIssueField(ctx, ref)
	}
	if t.proj == nil {
		return t.archiveItem(ctx, ref)
	}
	repo, n, err := parseRef(ref)
	if err != nil {
		return adapters.Item{}, err
	}
	e, err := t.lookup(ctx, repo, n)
	if err != nil {
		return adapters.Item{}, err
	}
	it, err := t.archiveItem(ctx, ref)
	if err != nil || (e.option != "" && t.proj.categoryOf(e.option) == adapters.CategoryDone) {
		return it, err
	}
	done := ""
	for _, s := range t.proj.statuses() {
		if s.Category == adapters.CategoryDone {
			done = s.Name
			break
		}
	}
	if done == "" {
		return it, nil
	}
	if err := t.setStatus(ctx, repo, n, done, &e); err != nil {
		return adapters.Item{}, fmt.Errorf("archiving %s: %w", issueID(repo, n), err)
	}
	is, err := t.getIssue(ctx, repo, n)
	if err != nil {
		return adapters.Item{}, err
	}
	return t.toItem(repo, is), nil
}
