package githubtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// MaxSubIssues is how many sub-issues GitHub lets one parent have.
const MaxSubIssues = 100

// Sub-issues, as GitHub's REST API has them: GET and POST
// /repos/{o}/{r}/issues/{n}/sub_issues, DELETE .../issues/{n}/sub_issue
// (singular) and GET .../issues/{n}/parent. A sub-issue is named by its
// id, not its number; it must belong to the parent's owner; a parent
// holds at most MaxSubIssues; an issue has one parent, which a POST
// replaces only with replace_parent. Changing the hierarchy bumps
// updated_at of both issues, so listings by since see it.

// issueKey is "owner/repo#n".
func issueKey(is *Issue) string { return is.Repo + "#" + strconv.Itoa(is.Number) }

// byKey finds the issue "owner/repo#n"; s.mu is held.
func (s *Server) byKey(key string) *Issue {
	repoName, n, ok := strings.Cut(key, "#")
	if !ok {
		return nil
	}
	num, _ := strconv.Atoi(n)
	return s.issue(repoName, num)
}

// byID finds an issue (not a pull request) by its id; s.mu is held.
func (s *Server) byID(id int64) *Issue {
	if is := s.ids[id]; is != nil && !is.PullRequest {
		return is
	}
	return nil
}

// setParentKey sets child's Parent key, keeping the kids index.
func (s *Server) setParentKey(child *Issue, key string) {
	if old := child.Parent; old != "" {
		s.kids[old] = slices.DeleteFunc(s.kids[old], func(x *Issue) bool { return x == child })
	}
	child.Parent = key
	if key != "" {
		s.kids[key] = append(s.kids[key], child)
	}
}

// subIssues are parent's live sub-issues in their order; s.mu is held.
func (s *Server) subIssues(parent *Issue) []*Issue {
	var out []*Issue
	for _, is := range s.kids[issueKey(parent)] {
		if !is.Deleted && is.MovedTo == "" {
			out = append(out, is)
		}
	}
	slices.SortFunc(out, func(a, b *Issue) int { return int(a.subPos - b.subPos) })
	return out
}

// SubIssues returns copies of the sub-issues of issue number of repoName,
// in order.
func (s *Server) SubIssues(repoName string, number int) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.issue(repoName, number)
	if p == nil {
		return nil
	}
	var out []Issue
	for _, is := range s.subIssues(p) {
		out = append(out, clone(is))
	}
	return out
}

// SetParent makes issue number of repoName a sub-issue of parent
// ("owner/repo#n", "" for none) as a person would in the web UI,
// outside the API and its limits (the cap on sub-issues still holds).
func (s *Server) SetParent(repoName string, number int, parent string) error {
	evs, err := s.setParent(repoName, number, parent)
	for _, ev := range evs {
		s.deliver(ev) // without the lock: the receiver may call back
	}
	return err
}

func (s *Server) setParent(repoName string, number int, parent string) ([]delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	child := s.issue(repoName, number)
	if child == nil {
		return nil, fmt.Errorf("githubtest: no issue %s#%d", repoName, number)
	}
	if parent == "" {
		old := s.byKey(child.Parent)
		if old == nil {
			return nil, nil
		}
		s.unlink(old, child)
		return s.subIssuesEvents(old, child, false), nil
	}
	p := s.byKey(parent)
	if p == nil {
		return nil, fmt.Errorf("githubtest: no issue %s", parent)
	}
	if resp, ok := s.link(p, child, true); !ok {
		return nil, fmt.Errorf("githubtest: %d %v", resp.status, resp.body)
	}
	return s.subIssuesEvents(p, child, true), nil
}

// link makes child a sub-issue of p; ok is false with GitHub's refusal.
func (s *Server) link(p, child *Issue, replace bool) (response, bool) {
	if child.Parent == issueKey(p) {
		return invalid("Issue", "sub_issue_id", "invalid", nil), false
	}
	if child == p || s.isAncestor(child, p) {
		return invalid("Issue", "sub_issue_id", "invalid", nil), false
	}
	if owner(child.Repo) != owner(p.Repo) {
		return invalid("Issue", "sub_issue_id", "invalid", nil), false
	}
	if child.Parent != "" && !replace {
		return invalid("Issue", "sub_issue_id", "already_exists", nil), false
	}
	if len(s.subIssues(p)) >= MaxSubIssues {
		return apiError(http.StatusUnprocessableEntity, fmt.Sprintf("Validation Failed: parent issue cannot have more than %d sub-issues", MaxSubIssues),
			"/issues/sub-issues#add-sub-issue", obj{"resource": "Issue", "field": "sub_issue_id", "code": "custom",
				"message": fmt.Sprintf("Parent cannot have more than %d sub-issues", MaxSubIssues)}), false
	}
	now := s.now()
	if old := s.byKey(child.Parent); old != nil {
		old.UpdatedAt = now
	}
	s.subSeq++
	s.setParentKey(child, issueKey(p))
	child.subPos = s.subSeq
	child.UpdatedAt, p.UpdatedAt = now, now
	return response{}, true
}

// unlink removes child from p's sub-issues.
func (s *Server) unlink(p, child *Issue) {
	now := s.now()
	s.setParentKey(child, "")
	child.subPos = 0
	child.UpdatedAt, p.UpdatedAt = now, now
}

// isAncestor reports whether a is an ancestor of b.
func (s *Server) isAncestor(a, b *Issue) bool {
	key := issueKey(a)
	for i, cur := 0, b; cur != nil && cur.Parent != "" && i < 1000; i++ {
		if cur.Parent == key {
			return true
		}
		cur = s.byKey(cur.Parent)
	}
	return false
}

func owner(repoName string) string {
	o, _, _ := strings.Cut(repoName, "/")
	return strings.ToLower(o)
}

// routeSubIssues answers the sub-issue endpoints of issue is; handled is
// false for any other path.
func (s *Server) routeSubIssues(req *http.Request, r *repo, is *Issue, rest []string, body []byte) (resp response, handled bool) {
	if len(rest) != 3 {
		return response{}, false
	}
	m := req.Method
	switch {
	case rest[2] == "parent" && m == http.MethodGet:
		p := s.byKey(is.Parent)
		if p == nil {
			return notFound(), true
		}
		return reply(http.StatusOK, s.issueJSON(s.repos[p.Repo], p)), true
	case rest[2] == "sub_issues" && m == http.MethodGet:
		var all []obj
		for _, c := range s.subIssues(is) {
			all = append(all, s.issueJSON(s.repos[c.Repo], c))
		}
		return s.paginate(req, all), true
	case rest[2] == "sub_issues" && m == http.MethodPost:
		var in struct {
			SubIssueID    *int64 `json:"sub_issue_id"`
			ReplaceParent bool   `json:"replace_parent"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return apiError(http.StatusBadRequest, "Problems parsing JSON", "/issues/sub-issues#add-sub-issue"), true
		}
		if in.SubIssueID == nil {
			return invalid("Issue", "sub_issue_id", "missing_field", nil), true
		}
		child := s.byID(*in.SubIssueID)
		if child == nil || child.Deleted {
			return notFound(), true
		}
		if resp, ok := s.link(is, child, in.ReplaceParent); !ok {
			return resp, true
		}
		resp := reply(http.StatusCreated, s.issueJSON(r, is))
		resp.header = http.Header{"Location": {s.api("/repos/%s/%s/issues/%d/sub_issues", r.owner, r.name, is.Number)}}
		resp.events = s.subIssuesEvents(is, child, true)
		return resp, true
	case rest[2] == "sub_issue" && m == http.MethodDelete:
		var in struct {
			SubIssueID *int64 `json:"sub_issue_id"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.SubIssueID == nil {
			return apiError(http.StatusBadRequest, "Problems parsing JSON", "/issues/sub-issues#remove-sub-issue"), true
		}
		child := s.byID(*in.SubIssueID)
		if child == nil || child.Parent != issueKey(is) {
			return notFound(), true
		}
		s.unlink(is, child)
		resp := reply(http.StatusOK, s.issueJSON(r, is))
		resp.header = http.Header{"Location": {s.api("/repos/%s/%s/issues/%d/sub_issues", r.owner, r.name, is.Number)}}
		resp.events = s.subIssuesEvents(is, child, false)
		return resp, true
	}
	return response{}, false
}

// subIssueJSON adds the hierarchy keys to an issue's JSON: the URL of its
// parent and the summary of its sub-issues.
func (s *Server) subIssueJSON(is *Issue, out obj) {
	if is.PullRequest {
		return
	}
	var parent any
	if p := s.byKey(is.Parent); p != nil {
		parent = s.api("/repos/%s/issues/%d", p.Repo, p.Number)
	}
	out["parent_issue_url"] = parent
	subs := s.subIssues(is)
	done := 0
	for _, c := range subs {
		if c.State == "closed" {
			done++
		}
	}
	pct := 0
	if len(subs) > 0 {
		pct = done * 100 / len(subs)
	}
	out["sub_issues_summary"] = obj{"total": len(subs), "completed": done, "percent_completed": pct}
}

// subIssuesEvents are the sub_issues deliveries for child joining or
// leaving parent's sub-issues (added true: joining): sub_issue_added or
// sub_issue_removed from the parent's repository (with sub_issue_repo),
// and parent_issue_added or parent_issue_removed from the child's (with
// parent_issue_repo), as GitHub's webhook schemas give them.
func (s *Server) subIssuesEvents(parent, child *Issue, added bool) []delivery {
	pr, cr := s.repos[parent.Repo], s.repos[child.Repo]
	verb := "removed"
	if added {
		verb = "added"
	}
	both := obj{"parent_issue_id": parent.ID, "parent_issue": s.issueJSON(pr, parent),
		"sub_issue_id": child.ID, "sub_issue": s.issueJSON(cr, child), "sender": s.userJSON("octocat")}
	sub, par := maps.Clone(both), maps.Clone(both)
	sub["action"], sub["sub_issue_repo"], sub["repository"] = "sub_issue_"+verb, s.repoHookJSON(cr), s.repoHookJSON(pr)
	par["action"], par["parent_issue_repo"], par["repository"] = "parent_issue_"+verb, s.repoHookJSON(pr), s.repoHookJSON(cr)
	return []delivery{
		{event: "sub_issues", action: "sub_issue_" + verb, payload: sub},
		{event: "sub_issues", action: "parent_issue_" + verb, payload: par},
	}
}
