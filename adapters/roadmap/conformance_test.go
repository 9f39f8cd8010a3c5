package roadmap_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/adaptertest"
	"github.com/tracksync/tracksync/adapters/roadmap"
)

// clock is a manual clock: time stands still until Advance.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// writeRoadmap writes src to a fresh roadmap.yaml and returns its path.
func writeRoadmap(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "roadmap.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func newTracker(t *testing.T, path string, c *clock) *roadmap.Tracker {
	t.Helper()
	opts := roadmap.Options{Path: path}
	if c != nil {
		opts.Clock = c.Now
	}
	tr, err := roadmap.New("plan", opts)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// sample is a valid initiative for the suite: the default sample puts
// "value i" into custom:children, which is not a list.
func sample(i int) adapters.Item {
	return adapters.Item{
		Kind:      adapters.KindInitiative,
		Title:     fmt.Sprintf("adaptertest item %d", i),
		Body:      fmt.Sprintf("Body of item %d.\n\nA second paragraph.", i),
		Status:    "planned",
		Assignees: []string{fmt.Sprintf("user-%d@acme.com", i%3+1)},
		Labels:    []string{"adaptertest", fmt.Sprintf("sample-%d", i)},
		Priority:  []string{"high", "medium", "low"}[i%3],
		Due:       fmt.Sprintf("2030-01-%02d", i%28+1),
		Fields: map[string]string{
			"progress": fmt.Sprintf("0.%d", i%10),
			"children": adapters.EncodeList([]string{fmt.Sprintf("PLAT-%d", i), "acme/platform#45"}),
		},
	}
}

// harness runs the suite on a roadmap file starting as start. Outside
// edits go through a second Tracker on the same file, as a PM's editor
// would: the tracker under test only sees the file change.
func harness(start, scope string) adaptertest.Harness {
	c := newClock()
	var path string
	return adaptertest.Harness{
		New: func(t *testing.T) adapters.Tracker {
			path = writeRoadmap(t, start)
			return newTracker(t, path, c)
		},
		Scope:   scope,
		Advance: c.Advance,
		Edit: func(t *testing.T, ref adapters.Ref, mutate func(*adapters.Item)) {
			pm := newTracker(t, path, nil)
			cur, err := pm.Get(t.Context(), ref)
			if err != nil {
				t.Fatal(err)
			}
			next := cur.Clone()
			mutate(&next)
			var fields []string
			for _, f := range pm.Capabilities().Fields {
				if adapters.FieldValue(cur, f) != adapters.FieldValue(next, f) {
					fields = append(fields, f)
				}
			}
			if _, err := pm.Update(t.Context(), ref, adapters.Patch{Fields: fields, Item: next}); err != nil {
				t.Fatal(err)
			}
		},
		Sample: sample,
		// The file is gone: Check reads it.
		Break: func(t *testing.T) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func TestConformance(t *testing.T) {
	adaptertest.Run(t, harness("initiatives: []\n", ""))
}

// TestConformanceScopedCommentedFile runs the suite on a file that already
// holds commented initiatives outside the scope, so every write also
// proves it leaves them alone.
func TestConformanceScopedCommentedFile(t *testing.T) {
	const start = `# Roadmap 2027 — owned by product

initiatives:
  # Carried over from 2026.
  - key: INIT-1
    title: Self-serve onboarding
    status: in_progress   # planned | in_progress | at_risk | done | cancelled
    labels: [growth]

  - key: INIT-2
    title: "Billing v2"
    status: done
    labels:
      - revenue

# end of roadmap
`
	adaptertest.Run(t, harness(start, "label:adaptertest"))
}
