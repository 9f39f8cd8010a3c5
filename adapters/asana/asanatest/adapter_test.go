package asanatest_test

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

// TestAdapterTrafficMatchesContract runs the conformance suite with the
// Asana adapter against the fake and checks every request the adapter
// sent, and every answer the fake gave, against Asana's contract.
func TestAdapterTrafficMatchesContract(t *testing.T) {
	var s *asanatest.Server
	var project string
	setup := func(t testing.TB) {
		s = asanatest.New(t, asanatest.Options{})
		project = s.AddProject("Roadmap", "To do", "In progress", "Done")
		s.AddUser("Sam Engineer", "sam@example.com")
		s.AddCustomField(asanatest.CustomField{Name: "Size", Type: asanatest.TypeNumber}, project)
		s.AddCustomField(asanatest.CustomField{Name: "Launch", Type: asanatest.TypeDate}, project)
		s.AddCustomField(asanatest.CustomField{Name: "Areas", Type: asanatest.TypeMultiEnum, Options: []asanatest.EnumOption{{Name: "API"}, {Name: "UI"}}}, project)
		s.AddCustomField(asanatest.CustomField{Name: "Risk", Type: asanatest.TypeEnum, Options: []asanatest.EnumOption{{Name: "Low"}, {Name: "High"}}}, project)
		s.AddCustomField(asanatest.CustomField{Name: "Reviewers", Type: asanatest.TypePeople}, project)
	}
	setup(t)
	scope := project
	checked := map[string]int{}
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) adapters.Tracker {
			setup(t)
			tr, err := asana.New("pm-asana", asana.Options{URL: s.URL, Token: asanatest.DefaultToken, Workspace: s.Workspace(),
				Projects: []string{project}, RequestsPerMinute: 100000, Transport: s.Client().Transport, Clock: s.Now,
				Sleep: func(context.Context, time.Duration) error { return nil }})
			if err != nil {
				t.Fatal(err)
			}
			srv := s
			t.Cleanup(func() {
				for op, n := range asanatest.CheckContract(t, srv.Requests()) {
					checked[op] += n
				}
			})
			return tr
		},
		Scope:           scope,
		Advance:         func(d time.Duration) { s.Advance(d) },
		InjectRateLimit: func(d time.Duration) { s.Inject(asanatest.Fault{Status: 429, RetryAfter: d}) },
		ExpireCursor:    func() { s.ExpireSyncTokens() },
		Sample: func(i int) adapters.Item {
			return adapters.Item{Kind: adapters.KindIssue, Title: fmt.Sprintf("item %d", i), Body: fmt.Sprintf("Body %d.", i),
				Status: "To do", Assignees: []string{[]string{"sam@example.com", "pat@example.com"}[i%2]},
				Labels: []string{fmt.Sprintf("l%d", i)}, Due: fmt.Sprintf("2030-01-%02d", i%28+1),
				Fields: map[string]string{"Size": fmt.Sprint(i), "Launch": fmt.Sprintf("2031-01-%02d", i%28+1),
					"Areas": []string{"API", "API, UI"}[i%2], "Risk": []string{"Low", "High"}[i%2], "Reviewers": []string{"sam@example.com", "pat@example.com"}[(i+1)%2]}}
		},
	})
	t.Logf("adapter traffic checked against the contract: %v", checked)
	for _, op := range []string{"createTask", "updateTask", "getTask", "getTasksForProject", "getEvents", "createBatchRequest",
		"addTaskForSection", "setParentForTask", "createStoryForTask", "updateStory", "getStoriesForTask", "deleteTask"} {
		if checked[op] == 0 {
			t.Errorf("the adapter never called %s during the suite, so its contract went unchecked", op)
		}
	}
}

// TestWebhookTrafficMatchesContract: registering webhooks (listing them,
// creating one with the handshake answered by the adapter) as the
// contract describes.
func TestWebhookTrafficMatchesContract(t *testing.T) {
	s := asanatest.New(t, asanatest.Options{})
	project := s.AddProject("Roadmap", "To do", "Done")
	tr, err := asana.New("pm-asana", asana.Options{URL: s.URL, Token: asanatest.DefaultToken, Workspace: s.Workspace(),
		Projects: []string{project}, Transport: s.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok, err := tr.Handshake(r.Context(), r.Header)
		if !ok || err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		for k, v := range h {
			w.Header()[k] = v
		}
	}))
	defer recv.Close()
	if err := tr.EnsureWebhooks(t.Context(), recv.URL+"/webhooks/pm-asana"); err != nil {
		t.Fatal(err)
	}
	checked := asanatest.CheckContract(t, s.Requests())
	if checked["createWebhook"] != 1 || checked["getWebhooks"] != 1 {
		t.Errorf("checked %v, want createWebhook and getWebhooks once each", checked)
	}
}
