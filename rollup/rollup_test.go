package rollup

import (
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tracksync/tracksync/adapters"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return now }

func jira(key string) adapters.Ref {
	return adapters.Ref{Tracker: "jira", ID: key, Key: key}
}

func gh(key string) adapters.Ref {
	return adapters.Ref{Tracker: "github", ID: key, Key: key}
}

func refs(rs ...adapters.Ref) []adapters.Ref { return rs }

func initiative(ref adapters.Ref, children ...adapters.Ref) Node {
	return Node{Ref: ref, Kind: adapters.KindInitiative, Title: "init " + ref.Key, Category: adapters.CategoryInProgress, Children: children}
}

func epic(ref adapters.Ref, children ...adapters.Ref) Node {
	return Node{Ref: ref, Kind: adapters.KindEpic, Title: "epic " + ref.Key, Category: adapters.CategoryInProgress, Children: children}
}

func issue(ref adapters.Ref, cat adapters.StatusCategory, est float64) Node {
	return Node{Ref: ref, Kind: adapters.KindIssue, Title: "issue " + ref.Key, Category: cat, Estimate: est}
}

const (
	todo = adapters.CategoryTodo
	wip  = adapters.CategoryInProgress
	done = adapters.CategoryDone
)

// view is the part of a Rollup the unit tests state, in a compact form.
type view struct {
	Total          int
	Counts         [3]int // todo, in progress, done
	DoneByCount    float64
	DoneByEstimate float64
	AtRisk         bool
	Reasons        []string
	Cycles         []string
	Children       []string // "key category total pct"
	Started        time.Time
	Target         time.Time
}

func viewOf(r Rollup) view {
	v := view{
		Total: r.Total, DoneByCount: r.DoneByCount, DoneByEstimate: r.DoneByEstimate,
		AtRisk: r.AtRisk, Reasons: r.Reasons, Started: r.Started, Target: r.Target,
		Counts: [3]int{r.Counts[todo], r.Counts[wip], r.Counts[done]},
	}
	for _, c := range r.Cycles {
		s := ""
		for i, ref := range c {
			if i > 0 {
				s += ","
			}
			s += ref.String()
		}
		v.Cycles = append(v.Cycles, s)
	}
	for _, c := range r.Children {
		v.Children = append(v.Children, fmt.Sprintf("%s %s %d %.2f", c.Ref, c.Category, c.Total, c.DoneByCount))
	}
	return v
}

func TestRollup(t *testing.T) {
	blocked := Config{Now: fixedNow, AtRisk: AtRisk{
		DaysBeforeDue: 14, MinDone: 0.5,
		BlockedStatuses: []string{"Blocked"}, BlockedLabels: []string{"blocked"},
	}}
	withStatus := func(n Node, status string) Node { n.Status = status; return n }
	withLabels := func(n Node, l ...string) Node { n.Labels = l; return n }
	withDue := func(n Node, d time.Time) Node { n.Due = d; return n }
	withStarted := func(n Node, d time.Time) Node { n.Started = d; return n }
	sameAs := func(n Node, r ...adapters.Ref) Node { n.SameAs = r; return n }

	tests := []struct {
		name  string
		cfg   Config
		nodes []Node
		want  view
	}{
		{
			name: "weights and mixed estimates",
			cfg:  Config{DefaultEstimate: 2, Now: fixedNow},
			nodes: []Node{
				initiative(jira("I"), jira("E")),
				epic(jira("E"), jira("A"), jira("B"), jira("C")),
				issue(jira("A"), done, 3),
				issue(jira("B"), todo, 0), // unknown: weighs 2
				issue(jira("C"), wip, 5),
			},
			want: view{Total: 3, Counts: [3]int{1, 1, 1}, DoneByCount: 1.0 / 3, DoneByEstimate: 0.3,
				Children: []string{"jira:E in_progress 3 0.33"}},
		},
		{
			name: "default estimate defaults to one",
			cfg:  Config{Now: fixedNow},
			nodes: []Node{
				initiative(jira("I"), jira("A"), jira("B")),
				issue(jira("A"), done, 0),
				issue(jira("B"), todo, 3),
			},
			want: view{Total: 2, Counts: [3]int{1, 0, 1}, DoneByCount: 0.5, DoneByEstimate: 0.25,
				Children: []string{"jira:A done 1 1.00", "jira:B todo 1 0.00"}},
		},
		{
			name: "items linked on both sides counted once",
			cfg:  Config{Now: fixedNow},
			nodes: []Node{
				// The initiative lists both the Jira epic and its GitHub
				// tracking issue; each side lists its own copy of one issue.
				initiative(jira("I"), jira("E"), gh("T")),
				sameAs(epic(jira("E"), jira("J1"), jira("J2")), gh("T")),
				epic(gh("T"), gh("G1"), gh("G2")),
				issue(jira("J1"), done, 2),
				issue(jira("J2"), todo, 2),
				sameAs(issue(gh("G1"), todo, 0), jira("J1")), // synced copy of J1, behind: done wins
				issue(gh("G2"), wip, 4),
			},
			want: view{Total: 3, Counts: [3]int{1, 1, 1}, DoneByCount: 1.0 / 3, DoneByEstimate: 2.0 / 8,
				Children: []string{"github:T in_progress 3 0.33"}}, // one child: the smaller Key names it
		},
		{
			name: "linked counterpart declared from one side only",
			cfg:  Config{Now: fixedNow},
			nodes: []Node{
				initiative(jira("I"), jira("A"), gh("1")),
				issue(jira("A"), wip, 1),
				sameAs(issue(gh("1"), wip, 1), jira("A")),
			},
			want: view{Total: 1, Counts: [3]int{0, 1, 0}, Children: []string{"github:1 in_progress 1 0.00"}},
		},
		{
			name: "node under two parents counted once",
			cfg:  Config{Now: fixedNow},
			nodes: []Node{
				initiative(jira("I"), jira("E1"), jira("E2")),
				epic(jira("E1"), jira("A"), jira("S")),
				epic(jira("E2"), jira("S")),
				issue(jira("A"), todo, 1),
				issue(jira("S"), done, 1),
			},
			want: view{Total: 2, Counts: [3]int{1, 0, 1}, DoneByCount: 0.5, DoneByEstimate: 0.5,
				Children: []string{"jira:E1 in_progress 2 0.50", "jira:E2 in_progress 1 1.00"}},
		},
		{
			name: "sub-tasks across trackers and missing children ignored",
			cfg:  Config{Now: fixedNow},
			nodes: []Node{
				initiative(jira("I"), jira("E"), jira("GONE")),
				epic(jira("E"), gh("5")),
				{Ref: gh("5"), Kind: adapters.KindIssue, Category: wip, Children: refs(gh("6"), gh("7"))},
				issue(gh("6"), done, 1),
				issue(gh("7"), done, 1),
			},
			want: view{Total: 2, Counts: [3]int{0, 0, 2}, DoneByCount: 1, DoneByEstimate: 1,
				Children: []string{"jira:E in_progress 2 1.00"}},
		},
		{
			name:  "empty initiative",
			cfg:   blocked,
			nodes: []Node{withDue(initiative(jira("I")), now.AddDate(0, 0, 3))},
			want:  view{Target: now.AddDate(0, 0, 3)},
		},
		{
			name:  "empty initiative past its target",
			cfg:   blocked,
			nodes: []Node{withDue(initiative(jira("I")), now.AddDate(0, 0, -1))},
			want: view{Target: now.AddDate(0, 0, -1), AtRisk: true,
				Reasons: []string{"target date passed with 0% done"}},
		},
		{
			name: "cycles reported not looped",
			cfg:  Config{Now: fixedNow},
			nodes: []Node{
				initiative(jira("I"), jira("A")),
				epic(jira("A"), jira("B")),
				epic(jira("B"), jira("A"), jira("L")),
				issue(jira("L"), done, 1),
				{Ref: jira("S"), Kind: adapters.KindIssue, Category: todo, Children: refs(jira("S"))},
				epic(jira("E"), jira("S")),
			},
			want: view{Total: 1, Counts: [3]int{0, 0, 1}, DoneByCount: 1, DoneByEstimate: 1,
				Cycles:   []string{"jira:A,jira:B"},
				Children: []string{"jira:A in_progress 1 1.00"}},
		},
		{
			name: "cycle through the initiative",
			cfg:  Config{Now: fixedNow},
			nodes: []Node{
				initiative(jira("I"), jira("E")),
				epic(jira("E"), jira("I"), jira("L")),
				issue(jira("L"), todo, 1),
			},
			want: view{Total: 1, Counts: [3]int{1, 0, 0}, Cycles: []string{"jira:E,jira:I"},
				Children: []string{"jira:E in_progress 1 0.00"}},
		},
		{
			name: "target passed",
			cfg:  blocked,
			nodes: []Node{
				withDue(initiative(jira("I"), jira("A"), jira("B"), jira("C"), jira("D"), jira("E")), now.AddDate(0, 0, -2)),
				issue(jira("A"), done, 1), issue(jira("B"), done, 1),
				issue(jira("C"), todo, 1), issue(jira("D"), todo, 1), issue(jira("E"), wip, 1),
			},
			want: view{Total: 5, Counts: [3]int{2, 1, 2}, DoneByCount: 0.4, DoneByEstimate: 0.4,
				Target: now.AddDate(0, 0, -2), AtRisk: true, Reasons: []string{"target date passed with 40% done"},
				Children: []string{"jira:A done 1 1.00", "jira:B done 1 1.00", "jira:C todo 1 0.00", "jira:D todo 1 0.00", "jira:E in_progress 1 0.00"}},
		},
		{
			name: "target passed but all done",
			cfg:  blocked,
			nodes: []Node{
				withDue(initiative(jira("I"), jira("A")), now.AddDate(0, 0, -2)),
				issue(jira("A"), done, 1),
			},
			want: view{Total: 1, Counts: [3]int{0, 0, 1}, DoneByCount: 1, DoneByEstimate: 1,
				Target: now.AddDate(0, 0, -2), Children: []string{"jira:A done 1 1.00"}},
		},
		{
			name: "due soon with too little done, target from the tree",
			cfg:  blocked,
			nodes: []Node{
				initiative(jira("I"), jira("E")),
				withStarted(withDue(epic(jira("E"), jira("A"), jira("B"), jira("C")), now.AddDate(0, 0, 9)), now.AddDate(0, -1, 0)),
				withStarted(issue(jira("A"), done, 3), now.AddDate(0, -2, 0)),
				withDue(issue(jira("B"), todo, 3), now.AddDate(0, 0, 5)),
				issue(jira("C"), todo, 4),
			},
			want: view{Total: 3, Counts: [3]int{2, 0, 1}, DoneByCount: 1.0 / 3, DoneByEstimate: 0.3,
				Started: now.AddDate(0, -2, 0), Target: now.AddDate(0, 0, 9), AtRisk: true,
				Reasons:  []string{"due in 9 days with 33% done (< 50%)"},
				Children: []string{"jira:E in_progress 3 0.33"}},
		},
		{
			name: "due soon with enough done",
			cfg:  blocked,
			nodes: []Node{
				withDue(initiative(jira("I"), jira("A"), jira("B")), now.AddDate(0, 0, 9)),
				issue(jira("A"), done, 1), issue(jira("B"), todo, 1),
			},
			want: view{Total: 2, Counts: [3]int{1, 0, 1}, DoneByCount: 0.5, DoneByEstimate: 0.5,
				Target: now.AddDate(0, 0, 9), Children: []string{"jira:A done 1 1.00", "jira:B todo 1 0.00"}},
		},
		{
			name: "due later than the window",
			cfg:  blocked,
			nodes: []Node{
				withDue(initiative(jira("I"), jira("A")), now.AddDate(0, 0, 15)),
				issue(jira("A"), todo, 1),
			},
			want: view{Total: 1, Counts: [3]int{1, 0, 0}, Target: now.AddDate(0, 0, 15),
				Children: []string{"jira:A todo 1 0.00"}},
		},
		{
			name: "blocked status and label, done items ignored",
			cfg:  blocked,
			nodes: []Node{
				initiative(jira("I"), jira("E")),
				withStatus(epic(jira("E"), jira("PLAT-7"), gh("acme/p#3"), jira("OLD")), "In Progress"),
				withStatus(issue(jira("PLAT-7"), wip, 1), "blocked"),
				withLabels(issue(gh("acme/p#3"), todo, 1), "Blocked", "backend"),
				withLabels(issue(jira("OLD"), done, 1), "blocked"),
			},
			want: view{Total: 3, Counts: [3]int{1, 1, 1}, DoneByCount: 1.0 / 3, DoneByEstimate: 1.0 / 3, AtRisk: true,
				Reasons:  []string{"PLAT-7 is blocked", "acme/p#3 is blocked"},
				Children: []string{"jira:E in_progress 3 0.33"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := NewIndex(tc.cfg, tc.nodes)
			r, ok := x.Rollup(jira("I"))
			if !ok {
				t.Fatal("Rollup(jira:I) not found")
			}
			if diff := cmp.Diff(tc.want, viewOf(r), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("Rollup(jira:I) mismatch (-want +got):\n%s", diff)
			}
			all := x.All()
			if len(all) != 1 || all[0].Initiative != jira("I") {
				t.Errorf("All() = %v, want just jira:I", all)
			}
		})
	}
}

func TestAllSortedAndLinkedInitiativesListedOnce(t *testing.T) {
	x := NewIndex(Config{Now: fixedNow}, []Node{
		initiative(jira("Z"), jira("A")),
		Node{Ref: adapters.Ref{Tracker: "roadmap", ID: "r1", Key: "growth"}, Kind: adapters.KindInitiative, SameAs: refs(jira("B"))},
		initiative(jira("B"), jira("A")),
		issue(jira("A"), done, 1),
		initiative(gh("M")),
	})
	var got []string
	for _, r := range x.All() {
		got = append(got, fmt.Sprintf("%s %d", Key(r.Initiative), r.Total))
	}
	want := []string{"github:M 0", "jira:B 1", "jira:Z 1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("All() mismatch (-want +got):\n%s", diff)
	}
	if _, ok := x.Rollup(adapters.Ref{Tracker: "roadmap", ID: "r1"}); !ok {
		t.Error("Rollup(roadmap:r1) not found; linked initiatives must still answer by either ref")
	}
	if _, ok := x.Rollup(jira("NOPE")); ok {
		t.Error("Rollup(jira:NOPE) found a node that was never added")
	}
}

func TestRollupIsACopy(t *testing.T) {
	x := NewIndex(Config{Now: fixedNow}, []Node{initiative(jira("I"), jira("A")), issue(jira("A"), done, 1)})
	r, _ := x.Rollup(jira("I"))
	r.Counts[done] = 99
	r.Children[0].Title = "changed"
	again, _ := x.Rollup(jira("I"))
	if again.Counts[done] != 1 || again.Children[0].Title != "issue A" {
		t.Errorf("mutating a returned Rollup changed the Index: %+v", again)
	}
}

func TestUpsertReturnsChangedInitiatives(t *testing.T) {
	x := NewIndex(Config{Now: fixedNow}, []Node{
		initiative(jira("I1"), jira("E1")),
		initiative(jira("I2"), jira("E2")),
		epic(jira("E1"), jira("A")),
		epic(jira("E2"), jira("B")),
		issue(jira("A"), todo, 1),
		issue(jira("B"), todo, 1),
	})
	tests := []struct {
		name string
		op   func() []adapters.Ref
		want []adapters.Ref
	}{
		{"leaf done", func() []adapters.Ref { return x.Upsert(issue(jira("A"), done, 1)) }, refs(jira("I1"))},
		{"no-op upsert", func() []adapters.Ref { return x.Upsert(issue(jira("A"), done, 1)) }, nil},
		{"child not yet in the index", func() []adapters.Ref { return x.Upsert(epic(jira("E2"), jira("B"), jira("C"))) }, nil},
		{"missing child appears", func() []adapters.Ref { return x.Upsert(issue(jira("C"), wip, 1)) }, refs(jira("I2"))},
		{"shared child", func() []adapters.Ref { return x.Upsert(epic(jira("E1"), jira("A"), jira("C"))) }, refs(jira("I1"))},
		{"shared child changes", func() []adapters.Ref { return x.Upsert(issue(jira("C"), done, 1)) }, refs(jira("I1"), jira("I2"))},
		{"remove epic", func() []adapters.Ref { return x.Remove(jira("E2")) }, refs(jira("I2"))},
		{"remove initiative", func() []adapters.Ref { return x.Remove(jira("I1")) }, refs(jira("I1"))},
		{"remove unknown", func() []adapters.Ref { return x.Remove(jira("NOPE")) }, nil},
	}
	for _, tc := range tests {
		got := tc.op()
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: changed initiatives mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
	var keys []string
	for _, r := range x.All() {
		keys = append(keys, Key(r.Initiative))
	}
	if diff := cmp.Diff([]string{"jira:I2"}, keys); diff != "" {
		t.Errorf("All() after updates mismatch (-want +got):\n%s", diff)
	}
}

// TestTargetDateIsAWholeDay: a target date is a calendar day (trackers and
// the roadmap file hold dates, read as midnight UTC). Work due on a day is
// on time all that day: the target has not passed until the day after, and
// "due in N days" counts calendar days.
func TestTargetDateIsAWholeDay(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		now     time.Time
		reasons []string
	}{
		{time.Date(2027, 3, 16, 23, 59, 0, 0, time.UTC), nil},
		{time.Date(2027, 3, 17, 0, 0, 0, 0, time.UTC), []string{"due in 14 days with 0% done (< 50%)"}},
		{time.Date(2027, 3, 30, 12, 0, 0, 0, time.UTC), []string{"due in 1 day with 0% done (< 50%)"}},
		{time.Date(2027, 3, 31, 0, 0, 1, 0, time.UTC), []string{"due today with 0% done (< 50%)"}},
		{time.Date(2027, 3, 31, 23, 59, 59, 0, time.UTC), []string{"due today with 0% done (< 50%)"}},
		{time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC), []string{"target date passed with 0% done"}},
	}
	for _, tc := range tests {
		cfg := Config{Now: func() time.Time { return tc.now }, AtRisk: AtRisk{DaysBeforeDue: 14, MinDone: 0.5}}
		in := initiative(jira("I"), jira("A"))
		in.Due = day("2027-03-31")
		x := NewIndex(cfg, []Node{in, issue(jira("A"), todo, 1)})
		r, _ := x.Rollup(jira("I"))
		if diff := cmp.Diff(tc.reasons, r.Reasons); diff != "" || r.AtRisk != (len(tc.reasons) > 0) {
			t.Errorf("at %s, due 2027-03-31: at risk %v, reasons (-want +got):\n%s", tc.now.Format(time.RFC3339), r.AtRisk, diff)
		}
	}
}

// TestEstimateNaNWeighsDefault: a leaf whose estimate is NaN or infinite
// weighs the default, so the totals stay numbers and the JSON encodes.
func TestEstimateNaNWeighsDefault(t *testing.T) {
	x := NewIndex(Config{Now: fixedNow}, []Node{
		initiative(jira("I"), jira("A"), jira("B"), jira("C")),
		issue(jira("A"), done, math.NaN()), issue(jira("B"), todo, math.Inf(1)), issue(jira("C"), todo, 2),
	})
	r, _ := x.Rollup(jira("I"))
	if r.DoneByEstimate != 0.25 {
		t.Errorf("DoneByEstimate = %v, want 0.25 (1 of 1+1+2)", r.DoneByEstimate)
	}
	if err := WriteJSON(io.Discard, Report{Rollups: []Rollup{r}, ByEstimate: true}); err != nil {
		t.Errorf("WriteJSON: %v", err)
	}
}
