package githubtest

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"time"
)

// The JSON shapes below follow GitHub's OpenAPI description (issue,
// issue-comment, label, milestone, simple-user, full-repository); the
// contract test checks them.

type obj = map[string]any

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

func (s *Server) api(format string, a ...any) string {
	return s.srv.URL + fmt.Sprintf(format, a...)
}

func (s *Server) html(format string, a ...any) string {
	return "https://github.com" + fmt.Sprintf(format, a...)
}

func nodeID(kind string, id int64) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "0:%s%d", kind, id))
}

func (s *Server) userID(login string) int64 {
	var h int64 = 7
	for _, c := range login {
		h = h*31 + int64(c)
	}
	if h < 0 {
		h = -h
	}
	return h%1_000_000 + 1
}

func (s *Server) userJSON(login string) obj {
	u := s.api("/users/%s", url.PathEscape(login))
	return obj{
		"login": login, "id": s.userID(login), "node_id": nodeID("User", s.userID(login)),
		"avatar_url": "https://avatars.githubusercontent.com/u/1", "gravatar_id": "",
		"url": u, "html_url": s.html("/%s", login),
		"followers_url": u + "/followers", "following_url": u + "/following{/other_user}",
		"gists_url": u + "/gists{/gist_id}", "starred_url": u + "/starred{/owner}{/repo}",
		"subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs",
		"repos_url": u + "/repos", "events_url": u + "/events{/privacy}",
		"received_events_url": u + "/received_events", "type": "User", "site_admin": false,
	}
}

func (s *Server) labelJSON(r *repo, l *Label) obj {
	var desc any
	if l.Description != "" {
		desc = l.Description
	}
	return obj{
		"id": l.ID, "node_id": nodeID("Label", l.ID),
		"url":  s.api("/repos/%s/%s/labels/%s", r.owner, r.name, url.PathEscape(l.Name)),
		"name": l.Name, "color": l.Color, "description": desc, "default": false,
	}
}

func (s *Server) milestoneJSON(r *repo, m *Milestone) obj {
	open, closed := 0, 0
	for _, is := range r.issues {
		if is.Milestone == m.Number && !is.Deleted {
			if is.State == "open" {
				open++
			} else {
				closed++
			}
		}
	}
	u := s.api("/repos/%s/%s/milestones/%d", r.owner, r.name, m.Number)
	return obj{
		"url": u, "html_url": s.html("/%s/%s/milestone/%d", r.owner, r.name, m.Number),
		"labels_url": u + "/labels", "id": m.ID, "node_id": nodeID("Milestone", m.ID),
		"number": m.Number, "state": m.State, "title": m.Title, "description": nil,
		"creator": s.userJSON("octocat"), "open_issues": open, "closed_issues": closed,
		"created_at": ts(m.CreatedAt), "updated_at": ts(m.CreatedAt), "closed_at": nil, "due_on": nil,
	}
}

func (s *Server) issueJSON(r *repo, is *Issue) obj {
	u := s.api("/repos/%s/%s/issues/%d", r.owner, r.name, is.Number)
	labels := []obj{}
	for _, n := range is.Labels {
		if l := findLabel(r, n); l != nil {
			labels = append(labels, s.labelJSON(r, l))
		}
	}
	assignees := []obj{}
	var assignee any
	for i, a := range is.Assignees {
		assignees = append(assignees, s.userJSON(a))
		if i == 0 {
			assignee = s.userJSON(a)
		}
	}
	var milestone any
	for _, m := range r.milestones {
		if m.Number == is.Milestone {
			milestone = s.milestoneJSON(r, m)
		}
	}
	ncomments := len(r.byIssue[is.Number])
	var reason any
	if is.StateReason != "" {
		reason = is.StateReason
	}
	kind := "issues"
	if is.PullRequest {
		kind = "pull"
	}
	out := obj{
		"id": is.ID, "node_id": nodeID("Issue", is.ID), "url": u,
		"repository_url": s.api("/repos/%s/%s", r.owner, r.name),
		"labels_url":     u + "/labels{/name}", "comments_url": u + "/comments", "events_url": u + "/events",
		"html_url": s.html("/%s/%s/%s/%d", r.owner, r.name, kind, is.Number),
		"number":   is.Number, "state": is.State, "state_reason": reason, "title": is.Title, "body": is.Body,
		"user": s.userJSON(is.User), "labels": labels, "assignee": assignee, "assignees": assignees,
		"milestone": milestone, "locked": false, "active_lock_reason": nil, "comments": ncomments,
		"closed_at": ts(is.ClosedAt), "created_at": ts(is.CreatedAt), "updated_at": ts(is.UpdatedAt),
		"author_association": "OWNER", "performed_via_github_app": nil, "reactions": reactionsJSON(u),
	}
	s.subIssueJSON(is, out)
	s.typeJSON(is, out)
	s.issueFieldsJSON(r, is, out)
	if is.PullRequest {
		pu := s.api("/repos/%s/%s/pulls/%d", r.owner, r.name, is.Number)
		hu := s.html("/%s/%s/pull/%d", r.owner, r.name, is.Number)
		out["pull_request"] = obj{"url": pu, "html_url": hu, "diff_url": hu + ".diff", "patch_url": hu + ".patch", "merged_at": nil}
	}
	return out
}

// reactionsJSON is the reactions rollup GitHub adds to issues and
// comments (the fake holds no reactions).
func reactionsJSON(u string) obj {
	return obj{"url": u + "/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "confused": 0,
		"heart": 0, "hooray": 0, "eyes": 0, "rocket": 0}
}

func (s *Server) commentJSON(r *repo, c *Comment) obj {
	u := s.api("/repos/%s/%s/issues/comments/%d", r.owner, r.name, c.ID)
	return obj{
		"id": c.ID, "node_id": nodeID("IssueComment", c.ID),
		"url":       u,
		"html_url":  s.html("/%s/%s/issues/%d#issuecomment-%d", r.owner, r.name, c.Issue, c.ID),
		"issue_url": s.api("/repos/%s/%s/issues/%d", r.owner, r.name, c.Issue),
		"body":      c.Body, "user": s.userJSON(c.User),
		"created_at": ts(c.CreatedAt), "updated_at": ts(c.UpdatedAt), "author_association": "OWNER",
		"performed_via_github_app": nil, "reactions": reactionsJSON(u),
	}
}

// repoJSON is a full-repository: many URL templates, all required.
func (s *Server) repoJSON(r *repo) obj {
	u := s.api("/repos/%s/%s", r.owner, r.name)
	out := obj{
		"id": r.id, "node_id": nodeID("Repository", r.id), "name": r.name, "full_name": r.owner + "/" + r.name,
		"owner": s.userJSON(r.owner), "private": false, "html_url": s.html("/%s/%s", r.owner, r.name),
		"description": nil, "fork": false, "url": u, "homepage": nil, "language": nil,
		"clone_url": s.html("/%s/%s.git", r.owner, r.name), "git_url": "git://github.com/" + r.owner + "/" + r.name + ".git",
		"ssh_url": "git@github.com:" + r.owner + "/" + r.name + ".git", "svn_url": s.html("/%s/%s", r.owner, r.name),
		"mirror_url": nil, "default_branch": "main", "forks": 0, "forks_count": 0, "open_issues": 0, "open_issues_count": 0,
		"has_issues": true, "has_projects": true, "has_wiki": true, "has_pages": false, "has_discussions": false, "has_downloads": true,
		"archived": false, "disabled": false, "license": nil, "pushed_at": ts(s.now()), "size": 0,
		"stargazers_count": 0, "watchers": 0, "watchers_count": 0, "created_at": ts(s.now()), "updated_at": ts(s.now()),
		"network_count": 0, "subscribers_count": 0,
		"permissions": obj{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true},
	}
	for _, k := range []string{"archive", "assignees", "blobs", "branches", "collaborators", "comments", "commits", "compare",
		"contents", "contributors", "deployments", "downloads", "events", "forks", "git_commits", "git_refs", "git_tags",
		"hooks", "issue_comment", "issue_events", "issues", "keys", "labels", "languages", "merges", "milestones",
		"notifications", "pulls", "releases", "stargazers", "statuses", "subscribers", "subscription", "tags", "teams", "trees"} {
		out[k+"_url"] = u + "/" + k
	}
	return out
}
