package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/tracksync/tracksync/adapters"
)

// Sub-issues are GitHub's hierarchy: an issue has at most one parent issue
// of the same owner (any repository of it), and a parent at most
// MaxSubIssues sub-issues. They are the Parent field: read from the
// issue's parent_issue_url, which every issue answer carries (a listing
// costs nothing more), and written through the REST sub-issue endpoints
// (POST .../issues/{parent}/sub_issues with the child's id, not its
// number, and replace_parent when it had another parent; DELETE
// .../issues/{parent}/sub_issue to clear it). Task lists in bodies stay
// supported beside them (UpdateChildren).

// MaxSubIssues is how many sub-issues GitHub lets a parent have.
const MaxSubIssues = 100

// issue is an issue as GitHub answers it: go-github v60 predates
// sub-issues and issue types, so their keys are decoded here.
type issue struct {
	gh.Issue
	ParentIssueURL   *string           `json:"parent_issue_url,omitempty"`
	Type             *issueType        `json:"type,omitempty"`
	SubIssuesSummary *subIssuesSummary `json:"sub_issues_summary,omitempty"`
	IssueFieldValues []issueFieldValue `json:"issue_field_values,omitempty"`
}

type subIssuesSummary struct {
	Total     int `json:"total"`
	Completed int `json:"completed"`
}

// parentKey is the parent's "owner/repo#n" from parent_issue_url, "" for
// none (or a URL that names no issue).
func (is *issue) parentKey() string {
	if is.ParentIssueURL == nil || *is.ParentIssueURL == "" {
		return ""
	}
	u, err := url.Parse(*is.ParentIssueURL)
	if err != nil {
		return ""
	}
	_, rest, ok := strings.Cut(u.Path, "/repos/")
	if !ok {
		return ""
	}
	p := strings.Split(strings.Trim(rest, "/"), "/")
	if len(p) != 4 || p[0] == "" || p[1] == "" || p[2] != "issues" {
		return ""
	}
	n, err := strconv.Atoi(p[3])
	if err != nil || n < 1 {
		return ""
	}
	return issueID(p[0]+"/"+p[1], n)
}

// parentRef is the issue's parent as a Ref of this tracker, nil for none.
func (t *Tracker) parentRef(is *issue) *adapters.Ref {
	k := is.parentKey()
	if k == "" {
		return nil
	}
	repo, _, _ := strings.Cut(k, "#")
	return &adapters.Ref{Tracker: t.name, Project: repo, ID: k, Key: k}
}

func ownerOf(repo string) string {
	o, _, _ := strings.Cut(repo, "/")
	return strings.ToLower(o)
}

// setParent makes the issue child (of repo) a sub-issue of want, or of
// none when want is nil or zero. It reports whether it wrote anything.
// want must be an issue of this tracker and of the child's owner: GitHub
// links nothing else.
func (t *Tracker) setParent(ctx context.Context, repo string, child *issue, want *adapters.Ref) (bool, error) {
	id := issueID(repo, child.GetNumber())
	cur := child.parentKey()
	if want == nil || want.IsZero() {
		if cur == "" {
			return false, nil
		}
		prepo, pn, err := parseRef(adapters.Ref{ID: cur})
		if err != nil {
			return false, err
		}
		var out issue
		body := map[string]int64{"sub_issue_id": child.GetID()}
		op := fmt.Sprintf("removing %s from the sub-issues of %s", id, cur)
		if _, err := t.callShape(ctx, op, http.MethodDelete, fmt.Sprintf("%s/issues/%d/sub_issue", repoPath(prepo), pn), body, &out, nil, issueShape); err != nil {
			if isNotFound(err) {
				return false, nil // removed meanwhile
			}
			return false, err
		}
		return true, nil
	}
	if want.Tracker != "" && want.Tracker != t.name {
		return false, fmt.Errorf("github: the parent of %s must be an issue of tracker %s, not %s: %w", id, t.name, want, adapters.Permanent(adapters.ErrInvalid))
	}
	prepo, pn, err := parseRef(*want)
	if err != nil {
		return false, fmt.Errorf("github: the parent of %s: %w", id, adapters.Permanent(err))
	}
	pkey := issueID(prepo, pn)
	if strings.EqualFold(pkey, cur) {
		return false, nil
	}
	if pkey == id {
		return false, fmt.Errorf("github: %s cannot be its own parent: %w", id, adapters.Permanent(adapters.ErrInvalid))
	}
	if ownerOf(prepo) != ownerOf(repo) {
		return false, fmt.Errorf("github: %s cannot be a sub-issue of %s: GitHub links sub-issues only within one owner: %w", id, pkey, adapters.Permanent(adapters.ErrInvalid))
	}
	body := map[string]any{"sub_issue_id": child.GetID()}
	if cur != "" {
		body["replace_parent"] = true
	}
	var out issue
	op := fmt.Sprintf("adding %s to the sub-issues of %s", id, pkey)
	_, err = t.callShape(ctx, op, http.MethodPost, fmt.Sprintf("%s/issues/%d/sub_issues", repoPath(prepo), pn), body, &out, nil, issueShape)
	if err != nil {
		return false, t.capError(ctx, prepo, pn, id, err)
	}
	return true, nil
}

// capError refines a refused sub-issue add: when the parent already holds
// MaxSubIssues, the error says so, naming the parent, and is permanent
// (retrying cannot help until someone removes one).
func (t *Tracker) capError(ctx context.Context, prepo string, pn int, child string, err error) error {
	var ae *adapters.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity {
		return err
	}
	p, gerr := t.getIssue(ctx, prepo, pn)
	if gerr != nil || p.SubIssuesSummary == nil || p.SubIssuesSummary.Total < MaxSubIssues {
		return err
	}
	return fmt.Errorf("github: %s already has %d sub-issues, GitHub's limit for one parent, so %s cannot be added to it: %w",
		issueID(prepo, pn), p.SubIssuesSummary.Total, child, adapters.Permanent(err))
}

// SubIssues lists the sub-issues of parent, in GitHub's order (without
// comments).
func (t *Tracker) SubIssues(ctx context.Context, parent adapters.Ref) ([]adapters.Item, error) {
	repo, n, err := parseRef(parent)
	if err != nil {
		return nil, err
	}
	var out []adapters.Item
	page := 1
	for {
		var subs []*issue
		path := fmt.Sprintf("%s/issues/%d/sub_issues?per_page=100&page=%d", repoPath(repo), n, page)
		resp, err := t.call(ctx, "listing the sub-issues of "+issueID(repo, n), http.MethodGet, path, nil, &subs, nil)
		if err != nil {
			return nil, t.checkMoved(ctx, repo, err)
		}
		for _, is := range subs {
			out = append(out, t.toItem(repo, is))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		page = resp.NextPage
	}
}

// updateParent sets the parent of child (of repo) to want and returns the
// child as stored afterwards: read again when the hierarchy changed (a
// sub-issue write answers with the parent) and reread is true, else as
// it was.
func (t *Tracker) updateParent(ctx context.Context, repo string, child *issue, want *adapters.Ref, reread bool) (adapters.Item, error) {
	changed, err := t.setParent(ctx, repo, child, want)
	if err != nil {
		return adapters.Item{}, err
	}
	if changed && reread {
		fresh, err := t.getIssue(ctx, repo, child.GetNumber())
		if err != nil {
			return adapters.Item{}, err
		}
		return t.toItem(repo, fresh), nil
	}
	it := t.toItem(repo, child)
	if changed {
		// The PATCH that follows answers with the child as stored.
		it.Parent = want
	}
	return it, nil
}

// finishParent links got, an issue a previous create made, to parent
// when that create did not get so far. Only a missing link is made: a
// parent someone set since is theirs.
func (t *Tracker) finishParent(ctx context.Context, got adapters.Item, parent *adapters.Ref) (adapters.Item, error) {
	if parent == nil || parent.IsZero() || got.Parent != nil {
		return got, nil
	}
	repo, n, err := parseRef(got.Ref)
	if err != nil {
		return got, err
	}
	is, err := t.getIssue(ctx, repo, n)
	if err != nil {
		return got, err
	}
	fresh, err := t.updateParent(ctx, repo, is, parent, true)
	if err != nil {
		return got, err
	}
	fresh.Comments = got.Comments
	return fresh, nil
}

// subIssuesEvents decodes a sub_issues delivery (sub_issue_added,
// sub_issue_removed, parent_issue_added, parent_issue_removed): the
// sub-issue's parent changed, so it is the item to read again. The
// sub-issue's repository is sub_issue_repo in the sub_issue_* payloads;
// the parent_issue_* payloads have none (they come from the sub-issue's
// repository, and name the parent's as parent_issue_repo), so it is read
// from the sub-issue's repository_url, else the delivery's repository.
func (t *Tracker) subIssuesEvents(id string, body []byte) ([]adapters.Event, error) {
	type repoName struct {
		FullName string `json:"full_name"`
	}
	var p struct {
		Action   string `json:"action"`
		SubIssue *struct {
			Number        int       `json:"number"`
			HTMLURL       string    `json:"html_url"`
			RepositoryURL string    `json:"repository_url"`
			UpdatedAt     time.Time `json:"updated_at"`
		} `json:"sub_issue"`
		SubIssueRepo repoName `json:"sub_issue_repo"`
		Repository   repoName `json:"repository"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("github %s webhook %s: decoding sub_issues payload: %w", t.name, id, adapters.Permanent(adapters.ErrInvalid))
	}
	if p.SubIssue == nil || p.SubIssue.Number == 0 {
		return nil, nil
	}
	repo := p.SubIssueRepo.FullName
	if repo == "" {
		repo = repoOfURL(p.SubIssue.RepositoryURL)
	}
	if repo == "" && strings.HasPrefix(p.Action, "parent_issue_") {
		repo = p.Repository.FullName
	}
	if repo == "" {
		return nil, nil
	}
	iid := issueID(repo, p.SubIssue.Number)
	return []adapters.Event{{Type: adapters.EventUpserted, DeliveryID: id, At: p.SubIssue.UpdatedAt,
		Ref: adapters.Ref{Tracker: t.name, Project: repo, ID: iid, Key: iid, URL: p.SubIssue.HTMLURL}}}, nil
}

// repoOfURL is owner/name of an API repository URL (…/repos/owner/name),
// "" for anything else.
func repoOfURL(u string) string {
	_, rest, ok := strings.Cut(u, "/repos/")
	if !ok {
		return ""
	}
	owner, name, ok := strings.Cut(rest, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return ""
	}
	return owner + "/" + name
}
