package roadmap_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// lineDiff returns the 1-based lines of a missing from b and of b missing
// from a, by longest common subsequence: what a reviewer sees in git diff.
func lineDiff(a, b []string) (removed, added []int) {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			removed = append(removed, i+1)
			i++
		default:
			added = append(added, j+1)
			j++
		}
	}
	for ; i < n; i++ {
		removed = append(removed, i+1)
	}
	for ; j < m; j++ {
		added = append(added, j+1)
	}
	return removed, added
}

func lines(s string) []string { return strings.Split(s, "\n") }

// TestGolden applies writes to commented files and compares the result
// with testdata/<name>.golden, and the line diff against the input with
// exactly the lines each write should touch: everything else (comments,
// blank lines, quoting, key order) must come through byte for byte.
func TestGolden(t *testing.T) {
	type write struct {
		key    string
		fields []string
		set    func(*adapters.Item)
	}
	tests := []struct {
		name   string
		input  string
		writes []write
		create *adapters.Item
		delete string
		// Lines of the input removed and of the output added.
		wantRemoved, wantAdded []int
	}{
		{
			name:  "status-progress",
			input: "rich.yaml",
			writes: []write{{"INIT-1", []string{adapters.FieldStatus, "custom:progress"}, func(it *adapters.Item) {
				it.Status = "at_risk"
				it.Fields = map[string]string{"progress": "0.5"}
			}}},
			wantRemoved: []int{17, 22},
			wantAdded:   []int{17, 22},
		},
		{
			name:  "add-keys",
			input: "rich.yaml",
			writes: []write{{"INIT-3", []string{"custom:progress", adapters.FieldPriority, adapters.FieldStatus}, func(it *adapters.Item) {
				it.Fields = map[string]string{"progress": "0.1"}
				it.Priority = "low"
				it.Status = "in_progress"
			}}},
			wantRemoved: []int{39},
			wantAdded:   []int{39, 41, 42},
		},
		{
			name:  "remove-keys",
			input: "rich.yaml",
			writes: []write{
				{"INIT-2", []string{adapters.FieldLabels, "custom:team"}, func(it *adapters.Item) {}},
				// title shares its line with the dash: key moves up.
				{"INIT-3", []string{adapters.FieldTitle}, func(it *adapters.Item) {}},
			},
			wantRemoved: []int{30, 31, 32, 35, 37, 38},
			wantAdded:   []int{33},
		},
		{
			name:  "keep-quoting",
			input: "rich.yaml",
			writes: []write{
				{"INIT-1", []string{adapters.FieldPriority, "custom:team"}, func(it *adapters.Item) {
					it.Priority = "low"
					it.Fields = map[string]string{"team": "activation"}
				}},
				{"INIT-2", []string{adapters.FieldTitle, "custom:team"}, func(it *adapters.Item) {
					it.Title = "Billing v2"
					it.Fields = map[string]string{"team": "finance"}
				}},
			},
			wantRemoved: []int{19, 23, 27, 35},
			wantAdded:   []int{19, 23, 27, 35},
		},
		{
			name:  "description",
			input: "rich.yaml",
			writes: []write{{"INIT-1", []string{adapters.FieldBody}, func(it *adapters.Item) {
				it.Body = "Let teams sign up **without** talking to sales.\n\n- trial workspace\n- guided setup\n- in-app billing"
			}}},
			wantAdded: []int{16},
		},
		{
			name:  "lists",
			input: "rich.yaml",
			writes: []write{
				// Entries that stay keep their place; new ones follow.
				{"INIT-1", []string{adapters.FieldLabels}, func(it *adapters.Item) { it.Labels = []string{"activation", "self-serve", "growth"} }},
				{"INIT-2", []string{adapters.FieldLabels, "custom:children"}, func(it *adapters.Item) {
					it.Labels = []string{"billing", "pricing"}
					it.Fields = map[string]string{"children": adapters.EncodeList([]string{"PLAT-41", "PLAT-40"})}
				}},
			},
			wantRemoved: []int{20, 31},
			wantAdded:   []int{20, 32, 35},
		},
		{
			name:  "unchanged-values-untouched",
			input: "rich.yaml",
			writes: []write{{"INIT-1", []string{adapters.FieldStatus, adapters.FieldLabels, "custom:children", adapters.FieldBody}, func(it *adapters.Item) {
				it.Status = "in_progress"
				it.Labels = []string{"self-serve", "growth"}
				it.Fields = map[string]string{"children": adapters.EncodeList([]string{"acme/platform#45", "PLAT-12"})}
				it.Body = "Let teams sign up **without** talking to sales.\n\n- trial workspace\n- guided setup"
			}}},
		},
		{
			name:  "create",
			input: "rich.yaml",
			create: &adapters.Item{
				Title:     "Mobile app",
				Body:      "First release: **read-only**.\nPush later.",
				Assignees: []string{"cy@acme.com"},
				Status:    "planned",
				Due:       "2027-09-30",
				Labels:    []string{"mobile"},
				Fields:    map[string]string{"children": `["MOB-1"]`, "team": "mobile"},
			},
			wantAdded: []int{41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52},
		},
		{
			name:        "delete",
			input:       "rich.yaml",
			delete:      "INIT-2",
			wantRemoved: []int{26, 27, 28, 29, 30, 31, 32, 33, 34, 35},
		},
		{
			name:  "crlf",
			input: "crlf.yaml",
			writes: []write{{"INIT-3", []string{adapters.FieldStatus, "custom:progress"}, func(it *adapters.Item) {
				it.Status = "done"
				it.Fields = map[string]string{"progress": "1"}
			}}},
			wantRemoved: []int{39},
			wantAdded:   []int{39, 41},
		},
		{
			name:        "create-into-empty",
			input:       "empty.yaml",
			create:      &adapters.Item{Title: "First initiative", Status: "planned"},
			wantRemoved: []int{2},
			wantAdded:   []int{2, 3, 4, 5, 6},
		},
		{
			name:  "flow-item",
			input: "flowitems.yaml",
			writes: []write{{"INIT-1", []string{adapters.FieldStatus}, func(it *adapters.Item) {
				it.Status = "in_progress"
			}}},
			wantRemoved: []int{2},
			wantAdded:   []int{2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tt.input))
			if err != nil {
				t.Fatal(err)
			}
			path := writeRoadmap(t, string(in))
			tr := newTracker(t, path, newClock())
			ctx := t.Context()
			for _, w := range tt.writes {
				var it adapters.Item
				w.set(&it)
				if _, err := tr.Update(ctx, adapters.Ref{ID: w.key}, adapters.Patch{Fields: w.fields, Item: it}); err != nil {
					t.Fatalf("Update(%s, %v): %v", w.key, w.fields, err)
				}
			}
			if tt.create != nil {
				if _, err := tr.Create(ctx, *tt.create, adapters.CreateOptions{IdempotencyKey: "link-7f3a"}); err != nil {
					t.Fatalf("Create: %v", err)
				}
			}
			if tt.delete != "" {
				if err := tr.Delete(ctx, adapters.Ref{ID: tt.delete}); err != nil {
					t.Fatalf("Delete(%s): %v", tt.delete, err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs from %s (-want +got):\n%s", tt.input, golden, diff)
			}
			removed, added := lineDiff(lines(string(in)), lines(string(got)))
			if diff := cmp.Diff(tt.wantRemoved, removed); diff != "" {
				t.Errorf("input lines removed or changed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantAdded, added); diff != "" {
				t.Errorf("output lines added or changed (-want +got):\n%s", diff)
			}
		})
	}
}
