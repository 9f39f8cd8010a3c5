package jira_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/jira"
	"github.com/tracksync/tracksync/adapters/jira/jiratest"
	"github.com/tracksync/tracksync/mapping/markup"
)

// trackerOptions are the options of a tracker talking to fake.
func trackerOptions(fake *jiratest.Server, flavor jiratest.Flavor) jira.Options {
	o := jira.Options{
		URL: fake.URL, Project: "PLAT", CustomFields: []string{"Team"}, WebhookSecret: "hook-secret",
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
	}
	if flavor == jiratest.DataCenter {
		o.Deployment, o.PAT = jira.DataCenter, "pat-token"
	} else {
		o.Email, o.Token = "bot@example.com", "api-token"
	}
	return o
}

// newPair starts a fake of flavor and a tracker talking to it.
func newPair(t testing.TB, flavor jiratest.Flavor, tweak ...func(*jira.Options)) (*jiratest.Server, *jira.Tracker) {
	t.Helper()
	fake := jiratest.New(t, jiratest.Options{Flavor: flavor, WebhookSecret: "hook-secret"})
	o := trackerOptions(fake, flavor)
	for _, f := range tweak {
		f(&o)
	}
	tr, err := jira.New(context.Background(), "acme-jira", o)
	if err != nil {
		t.Fatalf("jira.New: %v", err)
	}
	return fake, tr
}

// lastFake is the fake the last harness made (harness tests do not run
// in parallel).
var lastFake *jiratest.Server

// harness is the conformance harness for one flavour.
func harness(flavor jiratest.Flavor) adaptertest.Harness {
	var fake *jiratest.Server
	var tr *jira.Tracker
	return adaptertest.Harness{
		New: func(t *testing.T) adapters.Tracker {
			fake, tr = newPair(t, flavor)
			lastFake = fake
			return tr
		},
		Scope:           "project = PLAT",
		Advance:         func(d time.Duration) { fake.Advance(d) },
		InjectRateLimit: func(d time.Duration) { fake.InjectRateLimit(d, "") },
		Edit: func(t *testing.T, ref adapters.Ref, mutate func(*adapters.Item)) {
			t.Helper()
			if err := fake.EditIssue(ref.ID, "", func(is *jiratest.Issue) { editAsItem(flavor, is, mutate) }); err != nil {
				t.Fatal(err)
			}
		},
		Sample: func(i int) adapters.Item {
			it := adaptertest.DefaultSample(tr.Capabilities(), i)
			users := fake.UserIDs()
			it.Assignees = []string{users[i%len(users)]}
			return it
		},
		// A person's edit makes the fake record a jira:issue_updated
		// delivery, signed with the secret newPair gives both.
		Delivery: func(t *testing.T, ref adapters.Ref) (http.Header, []byte) {
			t.Helper()
			if err := fake.EditIssue(ref.ID, "", func(is *jiratest.Issue) { is.Labels = append(is.Labels, "webhooked") }); err != nil {
				t.Fatal(err)
			}
			ds := fake.Deliveries()
			if len(ds) == 0 {
				t.Fatal("the fake recorded no delivery for an edit")
			}
			d := ds[len(ds)-1]
			return d.Header, d.Body
		},
		// Revoked credentials: every call answers 401.
		Break: func(t *testing.T) { fake.InjectFault(jiratest.Fault{Status: http.StatusUnauthorized, Times: 1000}) },
	}
}

// editAsItem applies mutate, written against an Item, to a stored issue:
// the fields a person edits in the browser.
func editAsItem(flavor jiratest.Flavor, is *jiratest.Issue, mutate func(*adapters.Item)) {
	it := adapters.Item{Title: is.Summary, Status: is.Status, Labels: slices.Clone(is.Labels), Priority: is.Priority, Due: is.Due}
	if is.Assignee != "" {
		it.Assignees = []string{is.Assignee}
	}
	body := bodyText(flavor, is.Description)
	it.Body = body
	mutate(&it)
	is.Summary, is.Status, is.Labels, is.Priority, is.Due = it.Title, it.Status, it.Labels, it.Priority, it.Due
	is.Assignee = ""
	if len(it.Assignees) > 0 {
		is.Assignee = it.Assignees[0]
	}
	if it.Body != body {
		is.Description = bodyJSON(flavor, it.Body)
	}
}

func bodyText(flavor jiratest.Flavor, raw json.RawMessage) string {
	if raw == nil {
		return ""
	}
	if flavor == jiratest.DataCenter {
		var s string
		_ = json.Unmarshal(raw, &s)
		return markup.WikiToMarkdown(s, markup.Options{})
	}
	var n markup.Node
	_ = json.Unmarshal(raw, &n)
	return markup.ADFToMarkdown(&n, markup.Options{})
}

func bodyJSON(flavor jiratest.Flavor, md string) json.RawMessage {
	if md == "" {
		return nil
	}
	var v any = markup.MarkdownToADF(md, markup.Options{})
	if flavor == jiratest.DataCenter {
		v = markup.MarkdownToWiki(md, markup.Options{})
	}
	b, _ := json.Marshal(v)
	return b
}

func TestConformanceCloud(t *testing.T) {
	adaptertest.Run(t, harness(jiratest.Cloud))
}

func TestConformanceDataCenter(t *testing.T) {
	adaptertest.Run(t, harness(jiratest.DataCenter))
}
