package github

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/github/githubtest"
	"github.com/tracksync/tracksync/adapters/github/githubtest/githubcontract"
)

const testToken = "ghp_test_token"

// fixture is a fake GitHub and a tracker talking to it.
type fixture struct {
	fake *githubtest.Server
	tr   *Tracker
	// checker checks the exchanges against GitHub's contracts (nil
	// where the OpenAPI description is absent).
	checker *githubcontract.Checker
}

func newFixture(t *testing.T, fo githubtest.Options, mutate ...func(*Options)) *fixture {
	t.Helper()
	if fo.Users == nil {
		fo.Users = []string{"user-1", "user-2", "user-3"}
	}
	if fo.Tokens == nil {
		fo.Tokens = []string{testToken}
	}
	fake := githubtest.New(t, fo)
	opts := Options{
		URL: fake.URL, Token: testToken, Repo: githubtest.DefaultRepo,
		Clock: fake.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			advance(fake, fo, d)
			return nil
		},
		Transport:    fake.Client().Transport,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
	}
	var checker *githubcontract.Checker
	if githubcontract.Available() {
		// Every exchange the adapter makes is checked against GitHub's
		// own description of its API (GraphQL against its GraphQL
		// schema, where that is found).
		checker = githubcontract.NewChecker(t, fake.Client().Transport)
		opts.Transport = checker
		t.Cleanup(func() {
			checker.Check(t, 0)
			// And every webhook delivery the fake sent, against the
			// payload schema GitHub gives its event and action.
			for _, d := range fake.Deliveries() {
				for _, p := range githubcontract.CheckWebhook(t, d.Event, d.Action, d.Body) {
					t.Errorf("webhook contract: %s", p)
				}
			}
		})
	}
	for _, m := range mutate {
		m(&opts)
	}
	tr, err := New("gh", opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{fake: fake, tr: tr, checker: checker}
}

// advance moves whichever clock the fake reads.
func advance(fake *githubtest.Server, fo githubtest.Options, d time.Duration) {
	if fo.Clock == nil {
		fake.Advance(d)
	}
}

// personEdit applies an Item-level edit to an issue as a person in the
// web UI would: markers in the body stay where they were.
func personEdit(t *testing.T, fake *githubtest.Server, ref adapters.Ref, mutate func(*adapters.Item)) {
	t.Helper()
	repo, n, err := parseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	is, ok := fake.Issue(repo, n)
	if !ok {
		t.Fatalf("no issue %s", ref)
	}
	b := splitBody(is.Body)
	it := adapters.Item{Title: is.Title, Body: b.Text, Labels: is.Labels, Assignees: is.Assignees}
	it.Status = StatusOpen
	if is.State == "closed" {
		it.Status = StatusClosed
		if is.StateReason == "not_planned" {
			it.Status = StatusNotPlanned
		}
	}
	mutate(&it)
	err = fake.EditIssue(repo, n, func(x *githubtest.Issue) {
		x.Title, x.Labels, x.Assignees = it.Title, it.Labels, it.Assignees
		b.Text = it.Body
		x.Body = b.join()
		st, reason, err := stateOf(it.Status)
		if err == nil {
			x.State, x.StateReason = st, reason
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConformance(t *testing.T) {
	const secret = "conformance-hook-secret"
	var cur *fixture
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) adapters.Tracker {
			cur = newFixture(t, githubtest.Options{}, func(o *Options) { o.WebhookSecret = secret })
			return cur.tr
		},
		// A person's edit makes the fake deliver an issues event, signed
		// with the secret the tracker was given, to a receiver that only
		// answers 200; the suite decodes the recorded delivery.
		Delivery: func(t *testing.T, ref adapters.Ref) (http.Header, []byte) {
			t.Helper()
			if len(cur.fake.Deliveries()) == 0 {
				recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
				t.Cleanup(recv.Close)
				cur.fake.SetWebhook(recv.URL, secret, recv.Client())
			}
			personEdit(t, cur.fake, ref, func(it *adapters.Item) { it.Title += " (webhooked)" })
			ds := cur.fake.Deliveries()
			d := ds[len(ds)-1]
			if d.Event != "issues" {
				t.Fatalf("the last delivery is a %s event, want issues", d.Event)
			}
			return d.Header, d.Body
		},
		// Revoked credentials: every call answers 401.
		Break:   func(t *testing.T) { cur.fake.Inject(githubtest.Fault{Status: http.StatusUnauthorized, Times: 1000}) },
		Scope:   githubtest.DefaultRepo,
		Advance: func(d time.Duration) { cur.fake.Advance(d) },
		InjectRateLimit: func(d time.Duration) {
			cur.fake.Inject(githubtest.Fault{Status: http.StatusTooManyRequests, RetryAfter: d})
		},
		Edit: func(t *testing.T, ref adapters.Ref, mutate func(*adapters.Item)) {
			personEdit(t, cur.fake, ref, mutate)
		},
	})
}
