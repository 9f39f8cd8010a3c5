package initiatives

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracksync/tracksync/notify"
	"github.com/tracksync/tracksync/rollup"
)

func (f *fixture) openWithEvents() *Service {
	f.t.Helper()
	svc, err := New(Options{Config: &f.cfg, Trackers: f.trackrs, Kinds: map[string]string{"plan": "roadmap", "jira": "memory", "gh": "github"},
		Flows: f.flows, Store: f.st, Now: func() time.Time { return f.now }, Events: true})
	if err != nil {
		f.t.Fatal(err)
	}
	return svc
}

// setDue rewrites INIT-1's due date in the roadmap file.
func (f *fixture) setDue(due string) {
	f.t.Helper()
	rm := strings.Replace(testRoadmap, "due: 2027-03-31", "due: "+due, 1)
	if err := os.WriteFile(filepath.Join(f.dir, "roadmap.yaml"), []byte(rm), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// claim returns the due outbox events as kind:initiative and payloads.
func (f *fixture) claim() ([]string, []notify.Payload) {
	f.t.Helper()
	evs, err := f.st.ClaimEvents(f.t.Context(), "t", 100, time.Minute)
	if err != nil {
		f.t.Fatal(err)
	}
	var kinds []string
	var ps []notify.Payload
	for _, e := range evs {
		var p notify.Payload
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			f.t.Fatal(err)
		}
		kinds = append(kinds, e.Kind+":"+p.Initiative)
		ps = append(ps, p)
		if err := f.st.AckEvent(f.t.Context(), e.ID); err != nil {
			f.t.Fatal(err)
		}
	}
	return kinds, ps
}

// Target-date moves are kept with when they happened and, with Events,
// announced with the snapshot that saw them, as are turns to at risk and
// back; a restarted service announces nothing twice.
func TestDateSlipsAndRiskEvents(t *testing.T) {
	f := newFixture(t)
	svc := f.openWithEvents()
	ctx := t.Context()
	if _, err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	var atRisk []string
	for _, r := range svc.Rollups() {
		if r.AtRisk {
			atRisk = append(atRisk, notify.KindAtRisk+":"+r.Initiative.Key)
		}
	}
	kinds, _ := f.claim()
	if strings.Join(kinds, ",") != strings.Join(atRisk, ",") {
		t.Errorf("first load: events %v, want the at-risk ones %v", kinds, atRisk)
	}
	first, _ := f.st.ListDateChanges(ctx, "")
	if len(first) != 2 || first[0].From != "" || first[0].To == "" {
		t.Fatalf("first sightings %+v", first)
	}

	// The date slips a month.
	f.now = f.now.Add(time.Hour)
	f.setDue("2027-04-30")
	if _, err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	kinds, ps := f.claim()
	if strings.Join(kinds, ",") != notify.KindDateMoved+":INIT-1" || ps[0].From != "2027-03-31" || ps[0].To != "2027-04-30" || ps[0].Title != "Self-serve onboarding" {
		t.Fatalf("after the slip: %v %+v", kinds, ps)
	}
	// Past due: at risk, with the reason; then back.
	f.now = f.now.Add(time.Hour)
	f.setDue("2027-02-20")
	if _, err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	kinds, ps = f.claim()
	if strings.Join(kinds, ",") != notify.KindDateMoved+":INIT-1,"+notify.KindAtRisk+":INIT-1" || !strings.Contains(strings.Join(ps[1].Reasons, ";"), "target date passed") {
		t.Fatalf("past due: %v %+v", kinds, ps)
	}
	f.now = f.now.Add(time.Hour)
	f.setDue("2027-04-30")
	if _, err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if kinds, _ = f.claim(); strings.Join(kinds, ",") != notify.KindDateMoved+":INIT-1,"+notify.KindOnTrack+":INIT-1" {
		t.Fatalf("back: %v", kinds)
	}
	rep, err := svc.Report(ctx, 30, "")
	if err != nil {
		t.Fatal(err)
	}
	slips := rep.Slips["plan:INIT-1"]
	if n, d := rollup.SlipTotals(slips); n != 3 || d != 30 {
		t.Errorf("slips %+v: %d moves, %d days; want 3, 30", slips, n, d)
	}

	// A restart reads the history: nothing new to say or record.
	svc2 := f.openWithEvents()
	f.now = f.now.Add(time.Hour)
	if _, err := svc2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if kinds, _ := f.claim(); len(kinds) != 0 {
		t.Errorf("restart announced %v", kinds)
	}
	all, _ := f.st.ListDateChanges(ctx, "plan:INIT-1")
	if len(all) != 4 {
		t.Errorf("INIT-1 history %+v, want the first sighting and 3 moves", all)
	}
	if got := svc2.Slips()["plan:INIT-1"]; len(got) != 4 {
		t.Errorf("restarted service's slips %+v", got)
	}
}
