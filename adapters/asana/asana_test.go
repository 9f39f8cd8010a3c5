package asana_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/asana"
	"github.com/tracksync/tracksync/adapters/asana/asanatest"
)

// env is a fake Asana with one project set up as a PM would: a board with
// three sections, custom fields of every type, two more people.
type env struct {
	s       *asanatest.Server
	project string
	risk    asanatest.CustomField
	tr      *asana.Tracker // the conformance suite's tracker
	hooked  bool           // a webhook delivers to a receiver
}

var people = []string{"sam@example.com", "alex@example.com"}

func newEnv(t testing.TB, opts asanatest.Options) *env {
	s := asanatest.New(t, opts)
	e := &env{s: s}
	e.project = s.AddProject("Roadmap", "To do", "In progress", "Done")
	s.AddUser("Sam Engineer", people[0])
	s.AddUser("Alex Designer", people[1])
	s.AddCustomField(asanatest.CustomField{Name: "Size", Type: asanatest.TypeNumber}, e.project)
	s.AddCustomField(asanatest.CustomField{Name: "Team", Type: asanatest.TypeText}, e.project)
	s.AddCustomField(asanatest.CustomField{Name: "Launch", Type: asanatest.TypeDate}, e.project)
	s.AddCustomField(asanatest.CustomField{Name: "Areas", Type: asanatest.TypeMultiEnum,
		Options: []asanatest.EnumOption{{Name: "API"}, {Name: "UI"}}}, e.project)
	e.risk = s.AddCustomField(asanatest.CustomField{Name: "Risk", Type: asanatest.TypeEnum,
		Options: []asanatest.EnumOption{{Name: "Low"}, {Name: "High"}}}, e.project)
	s.AddCustomField(asanatest.CustomField{Name: "Reviewers", Type: asanatest.TypePeople}, e.project)
	s.AddCustomField(asanatest.CustomField{Name: "Stage", Type: asanatest.TypeEnum,
		Options: []asanatest.EnumOption{{Name: "Planned"}, {Name: "Building"}, {Name: "Shipped"}}}, e.project)
	return e
}

// tracker is an adapter on the fake whose pacer runs on the fake's clock.
func (e *env) tracker(t testing.TB, mutate func(*asana.Options)) *asana.Tracker {
	return e.trackerNamed(t, "pm-asana", mutate)
}

func (e *env) trackerNamed(t testing.TB, name string, mutate func(*asana.Options)) *asana.Tracker {
	o := asana.Options{
		URL: e.s.URL, Token: asanatest.DefaultToken, Workspace: e.s.Workspace(), Projects: []string{e.project},
		RequestsPerMinute: 1500, Transport: e.s.Client().Transport, Clock: e.s.Now,
		Sleep:        func(_ context.Context, d time.Duration) error { e.s.Advance(d); return nil },
		RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond,
	}
	if mutate != nil {
		mutate(&o)
	}
	tr, err := asana.New(name, o)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func sample(i int) adapters.Item {
	return adapters.Item{
		Kind:      adapters.KindIssue,
		Title:     fmt.Sprintf("adaptertest item %d", i),
		Body:      fmt.Sprintf("Body of item %d.", i),
		Status:    "To do",
		Assignees: []string{people[i%2]},
		Labels:    []string{"adaptertest", fmt.Sprintf("sample-%d", i)},
		Due:       fmt.Sprintf("2030-01-%02d", i%28+1),
		Fields: map[string]string{
			"Size": fmt.Sprint(i + 1), "Team": fmt.Sprintf("team %d", i), "Launch": fmt.Sprintf("2031-02-%02d", i%28+1),
			"Areas": []string{"API", "API, UI"}[i%2], "Risk": []string{"Low", "High"}[i%2], "Reviewers": people[(i+1)%2],
			"Stage": []string{"Planned", "Building"}[i%2],
		},
	}
}

func TestConformance(t *testing.T) {
	var cur *env
	h := adaptertest.Harness{
		New: func(t *testing.T) adapters.Tracker {
			cur = newEnv(t, asanatest.Options{})
			// The suite plays the sender's handshake itself.
			cur.tr = cur.tracker(t, func(o *asana.Options) { o.AnyHandshake = true })
			return cur.tr
		},
		Advance:         func(d time.Duration) { cur.s.Advance(d) },
		InjectRateLimit: func(d time.Duration) { cur.s.Inject(asanatest.Fault{Status: 429, RetryAfter: d}) },
		Sample:          sample,
		ExpireCursor:    func() { cur.s.ExpireSyncTokens() },
		Delivery: func(t *testing.T, ref adapters.Ref) (http.Header, []byte) {
			t.Helper()
			if !cur.hooked {
				tr := cur.tr
				recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if h, ok, err := tr.Handshake(r.Context(), r.Header); ok && err == nil {
						for k, v := range h {
							w.Header()[k] = v
						}
					}
				}))
				t.Cleanup(recv.Close)
				if err := tr.EnsureWebhooks(t.Context(), recv.URL); err != nil {
					t.Fatal(err)
				}
				cur.hooked = true
			}
			if err := cur.s.EditTask(ref.ID, func(x *asanatest.Task) { x.Name += " (webhooked)" }); err != nil {
				t.Fatal(err)
			}
			ds := cur.s.Deliver(t.Context())
			if len(ds) == 0 {
				t.Fatal("the fake sent no delivery")
			}
			return ds[len(ds)-1].Header, ds[len(ds)-1].Body
		},
		Break: func(t *testing.T) { cur.s.Inject(asanatest.Fault{Status: http.StatusUnauthorized, Times: 1000}) },
		Handshake: func() (http.Header, []byte, func([]byte) http.Header) {
			const secret = "handshake-secret"
			body := []byte(`{"events":[]}`)
			return http.Header{"X-Hook-Secret": {secret}}, body, func(b []byte) http.Header {
				return http.Header{"X-Hook-Signature": {asanatest.Sign(secret, b)}}
			}
		},
	}
	// Every fresh fake hands out the same gids, so the project of the
	// first is the project of all.
	h.Scope = newEnv(t, asanatest.Options{}).project
	adaptertest.Run(t, h)
}
