package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tracksync/tracksync/notify/notifytest"
)

// TestLongMessageFitsSlack: a message of many lines (the weekly digest of
// an organisation with 80 initiatives at risk) must fit Slack's limits
// (at most 50 blocks, 3,000 characters a section), or Slack refuses it
// (invalid_blocks) and the digest is never delivered: the lines are
// packed into fewer sections, and what still does not fit is counted.
func TestLongMessageFitsSlack(t *testing.T) {
	check := func(n int, wantAll bool) {
		t.Helper()
		var lines []string
		for i := 1; i <= n; i++ {
			lines = append(lines, fmt.Sprintf("INIT-%d Initiative number %d — at risk: due in 3 days, 20%% done", i, i))
		}
		m := Message{Title: "Weekly roll-up", Lines: lines, Facts: []Fact{{Label: "a", Value: "b"}}, Links: []Link{{Text: "Dashboard", URL: "https://example.com/"}}}
		blocks := (&Slack{}).Blocks(m)
		if len(blocks) > 50 {
			t.Fatalf("%d lines: %d blocks, Slack takes 50", n, len(blocks))
		}
		b, _ := json.Marshal(blocks)
		var out []map[string]any
		json.Unmarshal(b, &out)
		text := ""
		for _, bl := range out {
			if tx, ok := bl["text"].(map[string]any); ok {
				s, _ := tx["text"].(string)
				if l := len([]rune(s)); l > 3000 {
					t.Errorf("%d lines: a section of %d characters", n, l)
				}
				text += s + "\n"
			}
		}
		if !strings.Contains(text, "INIT-1 ") || !strings.Contains(text, "INIT-40 ") {
			t.Errorf("%d lines: the first lines are missing", n)
		}
		if got := strings.Contains(text, fmt.Sprintf("INIT-%d ", n)); got != wantAll {
			t.Errorf("%d lines: the last line there: %v, want %v", n, got, wantAll)
		}
		if more := strings.Contains(text, "more line(s)"); more == wantAll {
			t.Errorf("%d lines: lines left out counted: %v, want %v", n, more, !wantAll)
		}
	}
	check(400, true)   // 26,000 characters: packed into a few sections
	check(4000, false) // more than 50 sections' worth
	// A short message keeps a section per line.
	short := (&Slack{}).Blocks(Message{Title: "t", Lines: []string{"one", "two"}})
	if len(short) != 3 {
		t.Errorf("a two-line message: %d blocks, want 3 (header and a section per line)", len(short))
	}
}

// TestLongMessageFitsTeams: Teams takes messages of about 28 KB; a long
// digest's card keeps what fits and counts the rest, and the fake (which
// refuses larger messages as Teams does) takes it.
func TestLongMessageFitsTeams(t *testing.T) {
	srv := notifytest.NewTeams()
	defer srv.Close()
	sink, err := NewTeams("teams", TeamsOptions{WebhookURL: srv.WebhookURL("wf")})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := 1; i <= 2000; i++ {
		lines = append(lines, fmt.Sprintf("INIT-%d Initiative number %d — at risk: due in 3 days, 20%% done", i, i))
	}
	facts := []Fact{{Label: "#1 status of PLAT-1", Value: "jira: Done · github: open"}}
	if err := sink.Send(t.Context(), Message{Title: "Weekly roll-up", Lines: lines, Facts: facts}); err != nil {
		t.Fatalf("sending a 2,000-line digest: %v", err)
	}
	cards := srv.Cards()
	if len(cards) != 1 {
		t.Fatalf("%d cards", len(cards))
	}
	b, _ := json.Marshal(cards[0].Card)
	for _, want := range []string{"INIT-1 ", "more line(s) or fact(s)"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the card lacks %q", want)
		}
	}
	if err := sink.Send(t.Context(), Message{Title: "short", Lines: []string{"one"}, Facts: facts}); err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(srv.Cards()[1].Card); strings.Contains(string(b), "more line") || !strings.Contains(string(b), "PLAT-1") {
		t.Errorf("a short card: %s", b)
	}
}
