package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/adapters"
)

// TestExampleDocumentsAdapterOptions: config.example.yaml has a tracker
// of every registered kind, and its block documents every option of
// that kind (as a key or a commented-out key).
func TestExampleDocumentsAdapterOptions(t *testing.T) {
	body, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	blocks := trackerBlocks(string(body))
	for _, kind := range adapters.Default.Kinds() {
		block, ok := blocks[kind]
		if !ok {
			t.Errorf("config.example.yaml has no tracker of kind %s under trackers:", kind)
			continue
		}
		spec, _ := adapters.Default.Lookup(kind)
		for _, o := range spec.Options {
			parts := strings.Split(o.Name, ".")
			last := parts[len(parts)-1]
			if !regexp.MustCompile(`(?m)^\s*#?\s*` + regexp.QuoteMeta(last) + `:`).MatchString(block) {
				t.Errorf("trackers of kind %s: option %s is not documented in config.example.yaml", kind, o.Name)
			}
		}
	}
}

// trackerBlocks splits the trackers: section into each tracker's lines,
// keyed by kind (all blocks of a kind joined).
func trackerBlocks(body string) map[string]string {
	out := map[string]string{}
	in := false
	var cur []string
	flush := func() {
		block := strings.Join(cur, "\n")
		if m := regexp.MustCompile(`(?m)^\s+kind:\s*(\S+)`).FindStringSubmatch(block); m != nil {
			out[m[1]] += block + "\n"
		}
		cur = nil
	}
	for _, line := range strings.Split(body, "\n") {
		switch {
		case strings.HasPrefix(line, "trackers:"):
			in = true
			continue
		case in && line != "" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "#"):
			flush()
			return out
		case !in:
			continue
		}
		if regexp.MustCompile(`^  [A-Za-z0-9_.-]+:\s*$`).MatchString(line) {
			flush()
		}
		cur = append(cur, line)
	}
	flush()
	return out
}
