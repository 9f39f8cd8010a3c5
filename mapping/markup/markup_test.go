package markup

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// users is a consistent two-way mention directory for tests.
var users = Options{
	MentionID: func(name string) (string, bool) {
		id, ok := map[string]string{"alice": "acc-1", "bob.smith": "acc-2"}[name]
		return id, ok
	},
	MentionName: func(id string) (string, bool) {
		n, ok := map[string]string{"acc-1": "alice", "acc-2": "bob.smith"}[id]
		return n, ok
	},
}

// prose is Markdown that must survive a trip through ADF and wiki markup
// unchanged.
var prose = []struct{ name, md string }{
	{"empty", ""},
	{"paragraph", "Hello, world."},
	{"two paragraphs", "First paragraph.\n\nSecond one, with punctuation: a-b (c) 5 - 3 = 2!"},
	{"line breaks", "line one\nline two\nline three"},
	{"headings", "# Title\n\n## Section\n\ntext\n\n###### Deep"},
	{"emphasis", "Some **bold**, *italic* and ~~struck~~ text."},
	{"bold italic", "***both***"},
	{"nested emphasis", "**bold with *italic* inside**"},
	{"intraword", "snake_case_name and foo**bar**baz"},
	{"code span", "Run `go test ./...` now."},
	{"code span with backtick", "Use ``a`b`` here."},
	{"fenced code", "```go\nfunc main() {\n\tprintln(\"hi\")\n}\n```"},
	{"fenced code no lang", "```\nplain\n\n  indented\n```"},
	{"link", "See [the docs](https://example.com/docs?a=1&b=2) for more."},
	{"link with emphasis", "[**bold link**](https://example.com)"},
	{"bullet list", "- one\n- two\n- three"},
	{"ordered list", "1. one\n2. two\n3. three"},
	{"ordered list start", "3. three\n4. four"},
	{"nested list", "- a\n  - b\n    - c\n- d"},
	{"mixed nested", "1. first\n   - sub a\n   - sub b\n2. second"},
	{"loose list", "- para one\n\n  continued\n\n- two"},
	{"list with code", "- item\n\n  ```sh\n  make\n  ```"},
	{"quote", "> quoted text\n> more"},
	{"quote with list", "> - a\n> - b"},
	{"rule", "above\n\n---\n\nbelow"},
	{"table", "| Name | Value |\n| --- | --- |\n| a | `1` |\n| **b** | [x](https://x.y) |"},
	{"mention", "Ping @alice and @bob.smith, not @carol."},
	{"email is not a mention", "mail alice@example.com"},
	{"issue ref", "#123 is fixed"},
	{"unicode", "Grüße — ünïcødé ✓ 日本語"},
	{"task list", "- [ ] todo\n- [x] done"},
	{"bare url", "See https://example.com/a_b_c?x=1&y=2 (link) and [1] note."},
}

func TestMarkdownADFProse(t *testing.T) {
	for _, tc := range prose {
		t.Run(tc.name, func(t *testing.T) {
			got := ADFToMarkdown(MarkdownToADF(tc.md, users), users)
			if diff := cmp.Diff(tc.md, got); diff != "" {
				t.Errorf("markdown -> ADF -> markdown changed (-want +got):\n%s\nADF: %s", diff, adfJSON(MarkdownToADF(tc.md, users)))
			}
		})
	}
}

func adfJSON(n *Node) string {
	b, _ := json.Marshal(n)
	return string(b)
}
