package roadmap_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracksync/tracksync/adapters"
)

// TestEditEdgeCases writes into YAML laid out in the less common ways YAML
// allows, checking the exact bytes written: only the value changes.
func TestEditEdgeCases(t *testing.T) {
	status := func(s string) (adapters.Patch, string) {
		return adapters.Patch{Fields: []string{adapters.FieldStatus}, Item: adapters.Item{Status: s}}, "A"
	}
	field := func(f, v string) (adapters.Patch, string) {
		var it adapters.Item
		if err := adapters.SetFieldValue(&it, f, v); err != nil {
			panic(err)
		}
		return adapters.Patch{Fields: []string{f}, Item: it}, "A"
	}
	tests := []struct {
		name     string
		in, want string
		patch    func() (adapters.Patch, string)
	}{
		{"empty value", "initiatives:\n  - key: A\n    owner:\n    status: planned\n",
			"initiatives:\n  - key: A\n    owner: cy@acme.com\n    status: planned\n",
			func() (adapters.Patch, string) { return field(adapters.FieldAssignees, `["cy@acme.com"]`) }},
		{"empty value with comment", "initiatives:\n  - key: A\n    owner:   # who\n",
			"initiatives:\n  - key: A\n    owner: cy # who\n",
			func() (adapters.Patch, string) { return field(adapters.FieldAssignees, `["cy"]`) }},
		{"tilde", "initiatives:\n  - key: A\n    progress: ~\n",
			"initiatives:\n  - key: A\n    progress: 0.5\n",
			func() (adapters.Patch, string) { return field("custom:progress", "0.5") }},
		{"value on the next line", "initiatives:\n  - key: A\n    title:\n      A long\n      title\n    status: planned\n",
			"initiatives:\n  - key: A\n    title:\n      Short\n    status: planned\n",
			func() (adapters.Patch, string) { return field(adapters.FieldTitle, "Short") }},
		{"tagged", "initiatives:\n  - key: A\n    title: !!str 2027\n",
			"initiatives:\n  - key: A\n    title: !!str 2028\n",
			func() (adapters.Patch, string) { return field(adapters.FieldTitle, "2028") }},
		{"number-like title gets quoted", "initiatives:\n  - key: A\n    title: x\n",
			"initiatives:\n  - key: A\n    title: \"2028\"\n",
			func() (adapters.Patch, string) { return field(adapters.FieldTitle, "2028") }},
		{"quoted key", "initiatives:\n  - \"key\": A\n    'status': planned # s\n",
			"initiatives:\n  - \"key\": A\n    'status': done    # s\n",
			func() (adapters.Patch, string) { return status("done") }},
		{"single quotes with apostrophe", "initiatives:\n  - key: A\n    title: 'It''s'\n",
			"initiatives:\n  - key: A\n    title: 'It''s done'\n",
			func() (adapters.Patch, string) { return field(adapters.FieldTitle, "It's done") }},
		{"double quotes with escapes", "initiatives:\n  - key: A\n    title: \"a \\\"b\\\"\"  # t\n",
			"initiatives:\n  - key: A\n    title: \"c\"        # t\n",
			func() (adapters.Patch, string) { return field(adapters.FieldTitle, "c") }},
		{"value needing quotes", "initiatives:\n  - key: A\n    team: x\n",
			"initiatives:\n  - key: A\n    team: 'a: b # c'\n",
			func() (adapters.Patch, string) { return field("custom:team", "a: b # c") }},
		{"comment column kept with wide characters", "initiatives:\n  - key: A\n    team: équipe   # t\n",
			"initiatives:\n  - key: A\n    team: ops      # t\n",
			func() (adapters.Patch, string) { return field("custom:team", "ops") }},
		{"longer value than the padding", "initiatives:\n  - key: A\n    status: done # s\n",
			"initiatives:\n  - key: A\n    status: in_progress # s\n",
			func() (adapters.Patch, string) { return status("in_progress") }},
		{"tab before the value", "initiatives:\n  - key: A\n    status:\tplanned\n",
			"initiatives:\n  - key: A\n    status:\tdone\n",
			func() (adapters.Patch, string) { return status("done") }},
		{"keep chomping", "initiatives:\n  - key: A\n    description: |+\n      x\n\n    status: planned\n",
			"initiatives:\n  - key: A\n    description: |\n      y\n    status: planned\n",
			func() (adapters.Patch, string) { return field(adapters.FieldBody, "y") }},
		{"indented block scalar", "initiatives:\n  - key: A\n    description: >\n        folded\n        text\n    status: planned\n",
			"initiatives:\n  - key: A\n    description: |\n        one\n        two\n    status: planned\n",
			func() (adapters.Patch, string) { return field(adapters.FieldBody, "one\ntwo") }},
		{"scalar labels become a list", "initiatives:\n  - key: A\n    labels: growth\n",
			"initiatives:\n  - key: A\n    labels: [growth, ops]\n",
			func() (adapters.Patch, string) { return field(adapters.FieldLabels, `["growth","ops"]`) }},
		{"nested free key replaced", "initiatives:\n  - key: A\n    team: # t\n      name: growth\n    status: planned\n",
			"initiatives:\n  - key: A\n    team: ops # t\n    status: planned\n",
			func() (adapters.Patch, string) { return field("custom:team", "ops") }},
		{"no final line break: add", "initiatives:\n  - key: A\n    status: planned",
			"initiatives:\n  - key: A\n    status: planned\n    team: ops",
			func() (adapters.Patch, string) { return field("custom:team", "ops") }},
		{"no final line break: remove", "initiatives:\n  - key: A\n    team: ops",
			"initiatives:\n  - key: A",
			func() (adapters.Patch, string) { return field("custom:team", "") }},
		{"no final line break: block list", "initiatives:\n  - key: A\n    labels:\n      - a",
			"initiatives:\n  - key: A\n    labels:\n      - a\n      - b",
			func() (adapters.Patch, string) { return field(adapters.FieldLabels, `["a","b"]`) }},
		{"block list emptied", "initiatives:\n  - key: A\n    labels:\n      - a # x\n      - b\n    status: planned\n",
			"initiatives:\n  - key: A\n    status: planned\n",
			func() (adapters.Patch, string) { return field(adapters.FieldLabels, "") }},
		{"block list all replaced", "initiatives:\n  - key: A\n    labels:\n    - a\n    - b\n    status: planned\n",
			"initiatives:\n  - key: A\n    labels:\n    - c\n    status: planned\n",
			func() (adapters.Patch, string) { return field(adapters.FieldLabels, `["c"]`) }},
		{"sequence at column one", "initiatives:\n- key: A\n  status: planned\n- key: B\n",
			"initiatives:\n- key: A\n  status: planned\n  team: ops\n- key: B\n",
			func() (adapters.Patch, string) { return field("custom:team", "ops") }},
		{"wide indentation", "initiatives:\n    -   key: A\n        status: planned\n",
			"initiatives:\n    -   key: A\n        status: planned\n        team: ops\n",
			func() (adapters.Patch, string) { return field("custom:team", "ops") }},
		{"crlf multi-line", "initiatives:\r\n  - key: A\r\n    status: planned\r\n",
			"initiatives:\r\n  - key: A\r\n    status: planned\r\n    description: |-\r\n      a\r\n      b\r\n",
			func() (adapters.Patch, string) { return field(adapters.FieldBody, "a\nb") }},
		{"flow item value with punctuation", "initiatives:\n- {key: A, team: x}\n",
			"initiatives:\n- {key: A, team: \"a, b\"}\n",
			func() (adapters.Patch, string) { return field("custom:team", "a, b") }},
		{"alias replaced by a value", "defaults: &d ana\ninitiatives:\n  - key: A\n    owner: *d\n",
			"defaults: &d ana\ninitiatives:\n  - key: A\n    owner: bo\n",
			func() (adapters.Patch, string) { return field(adapters.FieldAssignees, `["bo"]`) }},
		{"remove the key on the dash line", "initiatives:\n  - title: x\n    # about the key\n    key: A\n",
			"initiatives:\n    # about the key\n  - key: A\n",
			func() (adapters.Patch, string) { return field(adapters.FieldTitle, "") }},
		{"dash on its own line", "initiatives:\n  -\n    key: A\n    status: planned\n",
			"initiatives:\n  -\n    key: A\n    status: done\n",
			func() (adapters.Patch, string) { return status("done") }},
		{"unchanged value, odd layout: no write", "initiatives:\n  - key: A\n    status:    'planned'   #x\n",
			"initiatives:\n  - key: A\n    status:    'planned'   #x\n",
			func() (adapters.Patch, string) { return status("planned") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeRoadmap(t, tt.in)
			tr := newTracker(t, path, nil)
			p, key := tt.patch()
			if _, err := tr.Update(t.Context(), adapters.Ref{ID: key}, p); err != nil {
				t.Fatalf("Update: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("file after Update (-want +got):\n%s", diff)
			}
		})
	}
}
