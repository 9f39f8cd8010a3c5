package asanatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tracksync/tracksync/mapping/markup"
)

// Portfolios, projects' own records and status updates.
//
// As Asana: a portfolio lists projects (GET /portfolios/{gid}/items,
// compact unless opt_fields names more, paginated); a project's own custom
// field values are those of the fields its portfolios carry, written with
// PUT /projects/{gid} (custom_fields by field gid); a status update is
// made on a project or portfolio (POST /status_updates with parent, text
// and status_type), read (GET /status_updates?parent=) and deleted, never
// edited; the project's current_status_update is its newest.

// Portfolio is a portfolio as the fake stores it.
type Portfolio struct {
	GID    string
	Name   string
	Items  []string // project gids, in portfolio order
	Fields []string // custom field gids the portfolio carries (its projects' values)
}

// StatusUpdate is a status update on a project or portfolio.
type StatusUpdate struct {
	GID        string
	Parent     string // project or portfolio gid
	Title      string
	Text       string
	HTMLText   string
	StatusType string
	CreatedBy  string
	CreatedAt  time.Time
	Deleted    bool
}

// The status types a project's status update may carry (the contract's
// list for projects and portfolios).
var projectStatusTypes = []string{"on_track", "at_risk", "off_track", "on_hold", "complete", "dropped"}

// AddPortfolio adds a portfolio holding projects and returns its gid.
func (s *Server) AddPortfolio(name string, projects ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	pf := &Portfolio{GID: s.gid(), Name: name}
	for _, p := range projects {
		if s.projects[p] != nil {
			pf.Items = append(pf.Items, p)
		}
	}
	s.portfolios[pf.GID] = pf
	return pf.GID
}

// RemoveFromPortfolio takes project out of portfolio, as a person would.
func (s *Server) RemoveFromPortfolio(portfolio, project string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pf := s.portfolios[portfolio]
	if pf == nil || !slices.Contains(pf.Items, project) {
		return fmt.Errorf("asanatest: no project %s in portfolio %s", project, portfolio)
	}
	pf.Items = slices.DeleteFunc(pf.Items, func(g string) bool { return g == project })
	return nil
}

// EditProject changes a project's own record as a person would:
// modified_at moves.
func (s *Server) EditProject(gid string, mutate func(*Project)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[gid]
	if p == nil {
		return fmt.Errorf("asanatest: no project %s", gid)
	}
	next := *p
	next.Sections, next.Fields = slices.Clone(p.Sections), slices.Clone(p.Fields)
	next.CustomValues = map[string]FieldValue{}
	for k, v := range p.CustomValues {
		next.CustomValues[k] = v
	}
	mutate(&next)
	next.GID, next.CreatedAt, next.ModifiedAt = p.GID, p.CreatedAt, s.tick()
	*p = next
	return nil
}

// StatusUpdates returns the live status updates of parent, oldest first.
func (s *Server) StatusUpdates(parent string) []StatusUpdate {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []StatusUpdate
	for _, g := range s.statusOrd {
		if u := s.statuses[g]; !u.Deleted && u.Parent == parent {
			out = append(out, *u)
		}
	}
	return out
}

// AddStatusUpdate posts a status update as a person would (user "" is the
// token's user) and returns it.
func (s *Server) AddStatusUpdate(parent, user, statusType, text string) (StatusUpdate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.projects[parent] == nil && s.portfolios[parent] == nil {
		return StatusUpdate{}, fmt.Errorf("asanatest: no project or portfolio %s", parent)
	}
	if user == "" {
		user = s.me
	}
	return *s.addStatus(&StatusUpdate{Parent: parent, StatusType: statusType, Text: text, HTMLText: escapeText(text), CreatedBy: user}), nil
}

func (s *Server) addStatus(u *StatusUpdate) *StatusUpdate {
	u.GID, u.CreatedAt = s.gid(), s.tick()
	s.statuses[u.GID] = u
	s.statusOrd = append(s.statusOrd, u.GID)
	return u
}

// currentStatus is the newest live status update on parent.
func (s *Server) currentStatus(parent string) *StatusUpdate {
	for i := len(s.statusOrd) - 1; i >= 0; i-- {
		if u := s.statuses[s.statusOrd[i]]; !u.Deleted && u.Parent == parent {
			return u
		}
	}
	return nil
}

// projectFieldOn reports whether field fg is on project p's own record:
// one of its portfolios carries it.
func (s *Server) projectFieldOn(p *Project, fg string) bool {
	for _, pf := range s.portfolios {
		if slices.Contains(pf.Items, p.GID) && slices.Contains(pf.Fields, fg) {
			return true
		}
	}
	return false
}

// projectFields are the field gids of project p's own record, in
// workspace order.
func (s *Server) projectFields(p *Project) []string {
	var out []string
	for _, g := range s.fieldOrd {
		if s.projectFieldOn(p, g) {
			out = append(out, g)
		}
	}
	return out
}

func (s *Server) statusJSON(u *StatusUpdate) obj {
	subtype := "project_status_update"
	var parent obj
	if p := s.projects[u.Parent]; p != nil {
		parent = obj{"gid": p.GID, "resource_type": "project", "name": p.Name}
	} else if pf := s.portfolios[u.Parent]; pf != nil {
		subtype = "portfolio_status_update"
		parent = obj{"gid": pf.GID, "resource_type": "portfolio", "name": pf.Name}
	}
	html := u.HTMLText
	if html == "" {
		html = escapeText(u.Text)
	}
	return obj{"gid": u.GID, "resource_type": "status_update", "resource_subtype": subtype, "title": u.Title,
		"text": u.Text, "html_text": html, "status_type": u.StatusType, "author": s.userJSON(u.CreatedBy),
		"created_by": s.userJSON(u.CreatedBy), "created_at": stamp(u.CreatedAt), "modified_at": stamp(u.CreatedAt),
		"parent": parent, "liked": false, "num_likes": 0}
}

var compactStatus = []string{"resource_type", "title", "resource_subtype"}

func (s *Server) getPortfolio(r *http.Request, _ []byte) answer {
	pf := s.portfolios[r.PathValue("portfolio")]
	if pf == nil {
		return notFound("portfolio", r.PathValue("portfolio"))
	}
	return data(s.one(r, obj{"gid": pf.GID, "resource_type": "portfolio", "name": pf.Name, "workspace": s.workspaceJSON()}, compactNamed))
}

func (s *Server) listPortfolioItems(r *http.Request, _ []byte) answer {
	pf := s.portfolios[r.PathValue("portfolio")]
	if pf == nil {
		return notFound("portfolio", r.PathValue("portfolio"))
	}
	items := slices.DeleteFunc(slices.Clone(pf.Items), func(g string) bool { return s.projects[g] == nil })
	return s.pageOf(r, len(items), func(i int) obj { return s.projectJSON(s.projects[items[i]]) }, compactNamed)
}

// updateProject serves PUT /projects/{gid}: name, notes, owner, due date
// and the project's own custom field values.
func (s *Server) updateProject(r *http.Request, body []byte) answer {
	p := s.projects[r.PathValue("project")]
	if p == nil {
		return notFound("project", r.PathValue("project"))
	}
	var in struct {
		Name         *string                    `json:"name"`
		Notes        *string                    `json:"notes"`
		HTMLNotes    *string                    `json:"html_notes"`
		Owner        json.RawMessage            `json:"owner"`
		DueOn        json.RawMessage            `json:"due_on"`
		CustomFields map[string]json.RawMessage `json:"custom_fields"`
		Workspace    *string                    `json:"workspace"`
		Completed    *bool                      `json:"completed"`
	}
	if a, ok := decodeData(body, &in); !ok {
		return a
	}
	if in.Workspace != nil {
		return fail(http.StatusBadRequest, "workspace: Cannot write this property")
	}
	if in.Completed != nil {
		return fail(http.StatusBadRequest, "completed: Cannot write this property")
	}
	next := *p
	next.CustomValues = map[string]FieldValue{}
	for k, v := range p.CustomValues {
		next.CustomValues[k] = v
	}
	if in.Name != nil {
		if strings.TrimSpace(*in.Name) == "" {
			return fail(http.StatusBadRequest, "name: Cannot be empty")
		}
		next.Name = *in.Name
	}
	if in.HTMLNotes != nil {
		if err := checkRichText(*in.HTMLNotes); err != nil {
			return fail(http.StatusBadRequest, "html_notes: %v", err)
		}
		next.HTMLNotes = *in.HTMLNotes
	} else if in.Notes != nil {
		next.HTMLNotes = escapeText(*in.Notes)
	}
	if len(in.Owner) > 0 {
		var o *string
		if err := json.Unmarshal(in.Owner, &o); err != nil {
			return fail(http.StatusBadRequest, "owner: Not a valid user reference")
		}
		next.Owner = ""
		if o != nil {
			u := s.userRef(*o)
			if u == nil {
				return fail(http.StatusBadRequest, "owner: Not a recognized ID: %s", *o)
			}
			next.Owner = u.GID
		}
	}
	if len(in.DueOn) > 0 {
		var d *string
		if err := json.Unmarshal(in.DueOn, &d); err != nil || (d != nil && !dateRE.MatchString(*d)) {
			return fail(http.StatusBadRequest, "due_on: Not a valid date: %s", in.DueOn)
		}
		next.DueOn = ""
		if d != nil {
			next.DueOn = *d
		}
	}
	for _, fg := range sortedKeys(in.CustomFields) {
		v, a, ok := s.fieldValue(s.projectFieldOn(p, fg), fg, in.CustomFields[fg])
		if !ok {
			return a
		}
		next.CustomValues[fg] = v
	}
	changed := next.Name != p.Name || next.HTMLNotes != p.HTMLNotes || next.Owner != p.Owner || next.DueOn != p.DueOn ||
		fmt.Sprint(next.CustomValues) != fmt.Sprint(p.CustomValues)
	*p = next
	if changed {
		p.ModifiedAt = s.tick()
	}
	return data(s.one(r, s.projectJSON(p), compactNamed))
}

func (s *Server) listStatusUpdates(r *http.Request, _ []byte) answer {
	parent := r.URL.Query().Get("parent")
	if parent == "" {
		return fail(http.StatusBadRequest, "parent: Missing input")
	}
	if s.projects[parent] == nil && s.portfolios[parent] == nil {
		return notFound("parent", parent)
	}
	var recs []obj
	// Newest first, as Asana lists them.
	for i := len(s.statusOrd) - 1; i >= 0; i-- {
		if u := s.statuses[s.statusOrd[i]]; !u.Deleted && u.Parent == parent {
			recs = append(recs, s.statusJSON(u))
		}
	}
	return s.page(r, recs, compactStatus)
}

func (s *Server) createStatusUpdate(r *http.Request, body []byte) answer {
	var in struct {
		Parent     string  `json:"parent"`
		Title      string  `json:"title"`
		Text       *string `json:"text"`
		HTMLText   *string `json:"html_text"`
		StatusType string  `json:"status_type"`
	}
	if a, ok := decodeData(body, &in); !ok {
		return a
	}
	if in.Parent == "" {
		return fail(http.StatusBadRequest, "parent: Missing input")
	}
	if s.projects[in.Parent] == nil && s.portfolios[in.Parent] == nil {
		return notFound("parent", in.Parent)
	}
	if in.StatusType == "" {
		return fail(http.StatusBadRequest, "status_type: Missing input")
	}
	if !slices.Contains(projectStatusTypes, in.StatusType) {
		return fail(http.StatusBadRequest, "status_type: %s is not a valid status type for this parent (valid: %s)", in.StatusType, strings.Join(projectStatusTypes, ", "))
	}
	u := &StatusUpdate{Parent: in.Parent, Title: in.Title, StatusType: in.StatusType, CreatedBy: s.me}
	switch {
	case in.HTMLText != nil:
		if err := checkRichText(*in.HTMLText); err != nil {
			return fail(http.StatusBadRequest, "html_text: %v", err)
		}
		u.HTMLText, u.Text = *in.HTMLText, markup.AsanaPlainText(*in.HTMLText)
	case in.Text != nil:
		u.Text, u.HTMLText = *in.Text, escapeText(*in.Text)
	default:
		return fail(http.StatusBadRequest, "text: Missing input")
	}
	s.addStatus(u)
	// POST answers the full record unless opt_fields names fields.
	rec := s.statusJSON(u)
	if len(optFields(r.URL.Query()["opt_fields"])) > 0 {
		return created(s.one(r, rec, compactStatus))
	}
	return created(rec)
}

func (s *Server) statusUpdate(gid string) (*StatusUpdate, answer, bool) {
	u := s.statuses[gid]
	if u == nil || u.Deleted {
		return nil, notFound("status_update", gid), false
	}
	return u, answer{}, true
}

func (s *Server) getStatusUpdate(r *http.Request, _ []byte) answer {
	u, a, ok := s.statusUpdate(r.PathValue("status"))
	if !ok {
		return a
	}
	return data(s.one(r, s.statusJSON(u), compactStatus))
}

func (s *Server) deleteStatusUpdate(r *http.Request, _ []byte) answer {
	u, a, ok := s.statusUpdate(r.PathValue("status"))
	if !ok {
		return a
	}
	u.Deleted = true
	return data(obj{})
}
