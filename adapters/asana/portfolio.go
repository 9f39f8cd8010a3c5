package asana

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
	"github.com/tracksync/tracksync/mapping/markup"
)

// A portfolio's projects as items (scope "portfolio:<gid>"), for the
// initiatives' source: an Asana portfolio of projects is a roadmap, each
// project an initiative.
//
// An item is a project: title its name, body its notes, assignee its
// owner, due its due date, fields its own custom field values (those of
// the fields its portfolio carries; people fields are not read, the
// portfolio listing cannot ask for their values), status the value of
// the tracker's status enum field when status is custom_field:<name>,
// else Completed or Open. Its key is the project's gid, as a task's is.
// Ref.Project is "portfolio:<gid>", which tells Get and Update that the
// ref is a project.
//
// Listing reads the portfolio's items, 100 a request (GET
// /portfolios/{gid}/items with opt_fields); the cursor holds each
// project's modified_at, so an incremental listing is the same read (one
// request for up to 100 projects) returning only the projects that
// changed, and those gone as Deleted. There is no Events API for a
// portfolio's projects' own fields.
//
// Update writes a project's custom fields (and status through the enum
// field, name, notes, owner, due date) with one PUT /projects/{gid}.
// PostStatus keeps one status update by tracksync on a project: status
// updates cannot be edited, so a changed text or status type is posted as
// a new one and tracksync's previous one is deleted; an unchanged one
// writes nothing. tracksync's are told from people's by the invisible
// marker the adapter puts at the end of a task's notes (body.go), at the
// end of the text.

// project is a project as the adapter reads it (projectFields names them).
type project struct {
	GID          string        `json:"gid"`
	Name         string        `json:"name"`
	HTMLNotes    string        `json:"html_notes"`
	Owner        *compact      `json:"owner"`
	DueOn        *string       `json:"due_on"`
	Completed    bool          `json:"completed"`
	CustomFields []customValue `json:"custom_fields"`
	ModifiedAt   time.Time     `json:"modified_at"`
	PermalinkURL string        `json:"permalink_url"`
}

// projectFields is opt_fields for a project: what projectItem reads, in
// the names GET /portfolios/{gid}/items and /projects/{gid} take.
const projectFields = "name,html_notes,owner,due_on,completed,modified_at,permalink_url,custom_fields.name,custom_fields.type," +
	"custom_fields.enum_value.name,custom_fields.multi_enum_values.name,custom_fields.number_value,custom_fields.text_value,custom_fields.date_value"

// projectWrite is the body of PUT /projects/{gid}.
type projectWrite struct {
	Name         *string                    `json:"name,omitempty"`
	HTMLNotes    *string                    `json:"html_notes,omitempty"`
	Owner        json.RawMessage            `json:"owner,omitempty"`
	DueOn        json.RawMessage            `json:"due_on,omitempty"`
	CustomFields map[string]json.RawMessage `json:"custom_fields,omitempty"`
}

// statusUpdate is a status update as the adapter reads it.
type statusUpdate struct {
	GID        string    `json:"gid"`
	Text       string    `json:"text"`
	StatusType string    `json:"status_type"`
	CreatedAt  time.Time `json:"created_at"`
}

const statusUpdateFields = "text,status_type,created_at"

// statusKey is the marker of the status update tracksync keeps on a
// project (one a project, so one key does).
const statusKey = "tracksync-rollup"

// The status types PostStatus takes (Asana's for a project's status
// update).
const (
	HealthOnTrack  = "on_track"
	HealthAtRisk   = "at_risk"
	HealthOffTrack = "off_track"
	HealthComplete = "complete"
)

// portfolioCursor is a portfolio listing's cursor: the modified_at each
// project was listed with.
type portfolioCursor struct {
	Portfolio string            `json:"pf"`
	Versions  map[string]string `json:"pv"`
}

type portfolioPage struct {
	O string          `json:"o"` // Asana's offset
	C portfolioCursor `json:"c"`
}

// isProjectRef reports whether ref names a project listed from a portfolio.
func isProjectRef(ref adapters.Ref) bool { return strings.HasPrefix(ref.Project, portfolioPrefix) }

func projectPath(gid string) string { return "/projects/" + url.PathEscape(gid) }

// listPortfolio lists the projects of sc's portfolio: in full (cursor
// ""), or those changed since cursor.
func (t *Tracker) listPortfolio(ctx context.Context, sc scope, req adapters.ListRequest) (adapters.ListPage, error) {
	var since *portfolioCursor
	if req.Cursor != "" {
		var c portfolioCursor
		if err := adapters.DecodeToken(req.Cursor, &c); err != nil || c.Versions == nil || c.Portfolio != sc.portfolio {
			return adapters.ListPage{}, adapters.Permanent(fmt.Errorf("asana listing: cursor %q is not one this adapter made for portfolio %s: %w", req.Cursor, sc.portfolio, adapters.ErrInvalid))
		}
		since = &c
	}
	pg := portfolioPage{C: portfolioCursor{Portfolio: sc.portfolio, Versions: map[string]string{}}}
	if req.PageToken != "" {
		if err := adapters.DecodeToken(req.PageToken, &pg); err != nil || pg.C.Portfolio != sc.portfolio || pg.C.Versions == nil {
			return adapters.ListPage{}, adapters.Permanent(fmt.Errorf("asana listing: page token %q is not one this adapter made for scope %q: %w", req.PageToken, req.Scope, adapters.ErrInvalid))
		}
	}
	size := req.PageSize
	if size <= 0 || size > 100 || since != nil {
		// An incremental listing reads every page at once: what is gone
		// is known only at the end.
		size = 100
	}
	var out adapters.ListPage
	for {
		q := url.Values{"limit": {strconv.Itoa(size)}, "opt_fields": {projectFields}}
		if pg.O != "" {
			q.Set("offset", pg.O)
		}
		var p page[project]
		if err := t.call(ctx, request{method: http.MethodGet, path: "/portfolios/" + url.PathEscape(sc.portfolio) + "/items", query: q}, dataShape("portfolio items"), &p); err != nil {
			return adapters.ListPage{}, fmt.Errorf("listing the projects of asana portfolio %s: %w", sc.portfolio, err)
		}
		for _, pr := range p.Data {
			v := projectVersion(pr)
			pg.C.Versions[pr.GID] = v
			if since != nil && since.Versions[pr.GID] == v {
				continue
			}
			it, err := t.projectItem(ctx, pr, sc.portfolio)
			if err != nil {
				return adapters.ListPage{}, err
			}
			out.Items = append(out.Items, it)
		}
		pg.O = ""
		if p.NextPage != nil {
			pg.O = p.NextPage.Offset
		}
		if pg.O == "" {
			break
		}
		if since == nil {
			out.NextPageToken = adapters.EncodeToken(pg)
			return out, nil
		}
	}
	if since != nil {
		for _, g := range sortedKeys(since.Versions) {
			if _, ok := pg.C.Versions[g]; !ok {
				out.Deleted = append(out.Deleted, adapters.Ref{Tracker: t.name, Project: portfolioPrefix + sc.portfolio, ID: g, Key: g})
			}
		}
	}
	out.Cursor = adapters.EncodeToken(pg.C)
	return out, nil
}

func projectVersion(p project) string { return p.ModifiedAt.UTC().Format(time.RFC3339Nano) }

// projectItem translates a project listed from portfolio ("" when not
// known: read by gid).
func (t *Tracker) projectItem(ctx context.Context, p project, portfolio string) (adapters.Item, error) {
	if err := t.ensureMeta(ctx); err != nil {
		return adapters.Item{}, err
	}
	body, err := fromRichText(p.HTMLNotes)
	if err != nil {
		return adapters.Item{}, fmt.Errorf("asana project %s: reading html_notes: %w", p.GID, err)
	}
	it := adapters.Item{
		Ref:       adapters.Ref{Tracker: t.name, Project: portfolioPrefix + portfolio, ID: p.GID, Key: p.GID, URL: p.PermalinkURL},
		Kind:      adapters.KindInitiative,
		Title:     p.Name,
		Body:      body,
		UpdatedAt: p.ModifiedAt,
		Version:   projectVersion(p),
	}
	if t.statusField != "" {
		for _, cf := range p.CustomFields {
			if cf.Name == t.statusField && cf.EnumValue != nil {
				it.Status = cf.EnumValue.Name
			}
		}
	} else {
		it.Status = statusOpen
		if p.Completed {
			it.Status = statusCompleted
		}
	}
	if it.Status != "" {
		it.StatusCategory = category(it.Status)
	}
	if p.Owner != nil {
		it.Assignees = []string{t.email(p.Owner.GID)}
	}
	if p.DueOn != nil {
		it.Due = *p.DueOn
	}
	it.Fields = t.fieldValues(p.CustomFields)
	return it, nil
}

func (t *Tracker) getProject(ctx context.Context, gid string) (project, error) {
	if gid == "" || strings.Trim(gid, "0123456789") != "" {
		return project{}, &adapters.APIError{Tracker: t.name, Op: "GET /projects/" + gid, Message: "not a project gid", Err: adapters.ErrNotFound}
	}
	return getOne[project](ctx, t, projectPath(gid), projectFields, "a project")
}

// getProjectItem is Get for a project ref.
func (t *Tracker) getProjectItem(ctx context.Context, ref adapters.Ref) (adapters.Item, error) {
	gid := refGID(ref)
	p, err := t.getProject(ctx, gid)
	if err != nil {
		return adapters.Item{}, fmt.Errorf("reading asana project %s: %w", gid, err)
	}
	return t.projectItem(ctx, p, strings.TrimPrefix(ref.Project, portfolioPrefix))
}

// updateProject is Update for a project ref: one PUT /projects/{gid}.
func (t *Tracker) updateProject(ctx context.Context, ref adapters.Ref, p adapters.Patch) (adapters.Item, error) {
	gid := refGID(ref)
	portfolio := strings.TrimPrefix(ref.Project, portfolioPrefix)
	if p.IfVersion != "" {
		cur, err := t.getProject(ctx, gid)
		if err != nil {
			return adapters.Item{}, fmt.Errorf("updating asana project %s: %w", gid, err)
		}
		if v := projectVersion(cur); v != p.IfVersion {
			return adapters.Item{}, &adapters.APIError{Tracker: t.name, Op: "update project " + gid,
				Message: fmt.Sprintf("changed since it was read (version %s, now %s)", p.IfVersion, v), Err: adapters.ErrConflict}
		}
	}
	var w projectWrite
	setField := func(name, v string) error {
		g, raw, err := t.fieldValue(ctx, name, v)
		if err != nil {
			return fmt.Errorf("updating asana project %s: %w", gid, err)
		}
		if w.CustomFields == nil {
			w.CustomFields = map[string]json.RawMessage{}
		}
		w.CustomFields[g] = raw
		return nil
	}
	for _, f := range p.Fields {
		switch {
		case f == adapters.FieldTitle:
			name := p.Item.Title
			w.Name = &name
		case f == adapters.FieldBody:
			html, err := toRichText(p.Item.Body)
			if err != nil {
				return adapters.Item{}, invalid("updating asana project %s: body: %v", gid, err)
			}
			w.HTMLNotes = &html
		case f == adapters.FieldAssignees:
			a := adapters.NormalizeList(p.Item.Assignees)
			if len(a) == 0 {
				w.Owner = json.RawMessage("null")
				break
			}
			g, err := t.userGID(ctx, a[0])
			if err != nil {
				return adapters.Item{}, fmt.Errorf("updating asana project %s: owner: %w", gid, err)
			}
			w.Owner, _ = json.Marshal(g)
		case f == adapters.FieldDue:
			if p.Item.Due == "" {
				w.DueOn = json.RawMessage("null")
				break
			}
			if _, err := time.Parse("2006-01-02", p.Item.Due); err != nil {
				return adapters.Item{}, invalid("updating asana project %s: due date %q is not YYYY-MM-DD", gid, p.Item.Due)
			}
			w.DueOn, _ = json.Marshal(p.Item.Due)
		case f == adapters.FieldStatus:
			if t.statusField == "" {
				return adapters.Item{}, adapters.Permanent(fmt.Errorf("updating asana project %s: status %q: a project's status is an enum custom field, and trackers.%s.status is %q: set it to custom_field:<enum field name> (a field of the portfolio), or initiatives.status to pm: %w",
					gid, p.Item.Status, t.name, t.opts.Status, adapters.ErrUnsupported))
			}
			if err := setField(t.statusField, p.Item.Status); err != nil {
				return adapters.Item{}, err
			}
		case strings.HasPrefix(f, adapters.CustomPrefix):
			name := strings.TrimPrefix(f, adapters.CustomPrefix)
			if err := setField(name, p.Item.Fields[name]); err != nil {
				return adapters.Item{}, err
			}
		default:
			return adapters.Item{}, adapters.Permanent(fmt.Errorf("updating asana project %s: field %q: %w", gid, f, adapters.ErrUnsupported))
		}
	}
	var out one[project]
	if err := t.call(ctx, request{method: http.MethodPut, path: projectPath(gid), query: url.Values{"opt_fields": {projectFields}}, body: w}, recordShape("a project"), &out); err != nil {
		return adapters.Item{}, fmt.Errorf("updating asana project %s (%s): %w", gid, strings.Join(p.Fields, ", "), err)
	}
	t.log.Info("asana project updated", "project", gid, "fields", strings.Join(p.Fields, ","))
	return t.projectItem(ctx, out.Data, portfolio)
}

// CheckInitiativeSource implements initiatives.SourceChecker: a
// portfolio's projects take a status (initiatives.status: children) only
// through the enum field status: custom_field:<name> names.
func (t *Tracker) CheckInitiativeSource(scope string, writeStatus bool) error {
	sc, err := parseScope(scope)
	if err != nil || sc.portfolio == "" || !writeStatus || t.statusField != "" {
		return nil
	}
	return fmt.Errorf("tracker %s lists the projects of portfolio %s, whose status tracksync can write only to an enum custom field, and trackers.%s.status is %q: set it to custom_field:<enum field of the portfolio>, or initiatives.status to pm",
		t.name, sc.portfolio, t.name, t.opts.Status)
}

// CanPostStatus reports whether ref can carry status updates: a project
// listed from a portfolio (tasks have comments instead).
func (t *Tracker) CanPostStatus(ref adapters.Ref) bool { return isProjectRef(ref) }

// PostStatus keeps one status update by tracksync on the project ref
// names: text (Markdown, sent as plain text) with status type health
// (HealthOnTrack, HealthAtRisk, HealthOffTrack, HealthComplete). When
// tracksync's newest one already says that, it writes nothing and reports
// false; else it posts a new one, then deletes tracksync's earlier ones
// (status updates cannot be edited). Idempotent: a post whose answer was
// lost is found by the next call, which then only deletes the older one.
func (t *Tracker) PostStatus(ctx context.Context, ref adapters.Ref, text, health string) (bool, error) {
	gid := refGID(ref)
	if !isProjectRef(ref) {
		return false, adapters.Permanent(fmt.Errorf("asana status update on %s: only projects listed from a portfolio carry status updates: %w", gid, adapters.ErrUnsupported))
	}
	plain, err := markdownToPlain(text)
	if err != nil {
		return false, invalid("asana status update on project %s: %v", gid, err)
	}
	ups, err := listAll[statusUpdate](ctx, t, "/status_updates", url.Values{"parent": {gid}, "opt_fields": {statusUpdateFields}}, "status updates")
	if err != nil {
		return false, fmt.Errorf("reading the status updates of asana project %s: %w", gid, err)
	}
	var mine []statusUpdate
	for _, u := range ups {
		if _, k := splitMarker(u.Text); k == statusKey {
			mine = append(mine, u)
		}
	}
	// Newest first.
	slices.SortStableFunc(mine, func(a, b statusUpdate) int { return b.CreatedAt.Compare(a.CreatedAt) })
	wrote := false
	if len(mine) == 0 || !sameStatus(mine[0], plain, health) {
		body := map[string]any{"parent": gid, "title": "tracksync roll-up", "text": plain + encodeMarker(statusKey), "status_type": health}
		var out one[statusUpdate]
		if err := t.call(ctx, request{method: http.MethodPost, path: "/status_updates", query: url.Values{"opt_fields": {statusUpdateFields}}, body: body}, recordShape("a status update"), &out); err != nil {
			return false, fmt.Errorf("posting a status update on asana project %s: %w", gid, err)
		}
		t.log.Info("asana status update posted", "project", gid, "status_type", health)
		wrote = true
	} else {
		mine = mine[1:] // the current one stays
	}
	for _, u := range mine {
		err := t.call(ctx, request{method: http.MethodDelete, path: "/status_updates/" + url.PathEscape(u.GID)}, dataShape("an answer"), nil)
		if err != nil && !errors.Is(err, adapters.ErrNotFound) {
			return wrote, fmt.Errorf("deleting tracksync's earlier status update %s on asana project %s: %w", u.GID, gid, err)
		}
		wrote = true
	}
	return wrote, nil
}

func sameStatus(u statusUpdate, plain, health string) bool {
	text, _ := splitMarker(u.Text)
	return u.StatusType == health && strings.TrimSpace(text) == strings.TrimSpace(plain)
}

// markdownToPlain is Markdown as the plain text of its Asana rich text: a
// status update's text (its html_text is opt-in, and text is what every
// client sends).
func markdownToPlain(md string) (string, error) {
	html, err := toRichText(md)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(markup.AsanaPlainText(html)), nil
}
