package markup

import (
	"fmt"
	"strings"
	"testing"
)

// asanaTrip converts Markdown to Asana rich text and back.
func asanaTrip(t testing.TB, md string) (rich, back string) {
	t.Helper()
	rich, err := MarkdownToAsana(md)
	if err != nil {
		t.Fatalf("MarkdownToAsana(%q): %v", md, err)
	}
	back, err = AsanaToMarkdown(rich)
	if err != nil {
		t.Fatalf("AsanaToMarkdown(%q): %v", rich, err)
	}
	return rich, back
}

func TestMarkdownToAsanaConstructs(t *testing.T) {
	cases := []struct{ name, md, rich string }{
		{"empty", "", "<body></body>"},
		{"paragraphs", "one\n\ntwo", "<body>one\n\ntwo</body>"},
		{"line break", "a\nb", "<body>a\nb</body>"},
		{"headings", "# T\n\n## S\n\n### Deep", "<body><h1>T</h1><h2>S</h2><h2>Deep</h2></body>"},
		{"strong em strike", "**b** *i* ~~s~~", "<body><strong>b</strong> <em>i</em> <s>s</s></body>"},
		{"nested marks stay one span", "**bold *both* bold**", "<body><strong>bold <em>both</em> bold</strong></body>"},
		{"code span", "run `a<b` now", "<body>run <code>a&lt;b</code> now</body>"},
		{"link", `[x](https://e.com/?a=1&b=2 "T")`, `<body><a href="https://e.com/?a=1&amp;b=2">x</a></body>`},
		{"bold link", "[**x** y](https://e.com)", `<body><a href="https://e.com"><strong>x</strong> y</a></body>`},
		{"bullet list", "- a\n- b", "<body><ul><li>a</li><li>b</li></ul></body>"},
		{"nested list", "1. a\n   - b\n2. c", "<body><ol><li>a<ul><li>b</li></ul></li><li>c</li></ol></body>"},
		{"loose item", "- a\n\n  b", "<body><ul><li>a\n\nb</li></ul></body>"},
		{"code in item", "- a\n\n  ```\n  x\n  ```", "<body><ul><li>a\n\n<code>x</code></li></ul></body>"},
		{"quote", "> a\n>\n> b", "<body><blockquote>a\n\nb</blockquote></body>"},
		{"list in quote", "> q\n> - x\n> - y", "<body><blockquote>q\n\n• x\n• y</blockquote></body>"},
		{"code block", "```go\nif a < b {\n}\n```", "<body><pre>if a &lt; b {\n}</pre></body>"},
		{"rule", "a\n\n---\n\nb", "<body>a<hr/>b</body>"},
		{"table as lines", "x\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\ny", "<body>x\n\na | b\n1 | 2\n\ny</body>"},
		{"escaping", `a & b "c" <d>`, "<body>a &amp; b &#34;c&#34; &lt;d&gt;</body>"},
		{"control characters", "a\x01b", "<body>a\uFFFDb</body>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MarkdownToAsana(tc.md)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.rich {
				t.Errorf("MarkdownToAsana(%q)\n got %q\nwant %q", tc.md, got, tc.rich)
			}
		})
	}
}

func TestAsanaToMarkdownConstructs(t *testing.T) {
	cases := []struct{ name, rich, md string }{
		{"empty", "<body></body>", ""},
		{"no body tag", "plain", "plain"},
		{"lines and paragraphs", "<body>a\nb\n\nc</body>", "a\nb\n\nc"},
		{"marks", "<body><strong>b</strong> <em>i</em> <s>s</s> <code>c</code></body>", "**b** *i* ~~s~~ `c`"},
		{"html synonyms", "<body><b>b</b> <i>i</i> <del>d</del></body>", "**b** *i* ~~d~~"},
		{"underline keeps text", "<body>a <u>under</u> b</body>", "a under b"},
		{"unknown tags keep text", `<body><span style="x">one</span> <blink>two</blink> <custom-tag>three</custom-tag></body>`, "one two three"},
		{"link", `<body><a href="https://e.com">x</a></body>`, "[x](https://e.com)"},
		{"asana mention", `<body>cc <a href="https://app.asana.com/0/profile/42" data-asana-gid="42" data-asana-type="user">@Ann</a></body>`, "cc [@Ann](https://app.asana.com/0/profile/42)"},
		{"empty link keeps url", `<body><a href="https://e.com"></a></body>`, "[https://e.com](https://e.com)"},
		{"image", `<body><img src="https://e.com/a.png" alt="pic"></body>`, "[pic](https://e.com/a.png)"},
		{"headings", "<body><h1>T</h1><h2>S</h2><h3>D</h3></body>", "# T\n\n## S\n\n## D"},
		{"lists", "<body><ul>\n<li>a</li>\n<li>b<ol><li>c</li></ol></li></ul></body>", "- a\n- b\n  1. c"},
		{"code block", "<body><pre>a &lt; b\n  c</pre></body>", "```\na < b\n  c\n```"},
		{"quote", "<body><blockquote>q</blockquote>after</body>", "> q\n\nafter"},
		{"rule", "<body>a<hr>b</body>", "a\n\n---\n\nb"},
		{"table as lines", "<body><table><tr><th>h</th><th>i</th></tr><tr><td>c</td><td>d</td></tr></table></body>", "h \\| i\nc \\| d"},
		{"br and p", "<body><p>a<br>b</p><p>c</p></body>", "a\nb\n\nc"},
		{"comment dropped", "<body>a<!-- x -->b</body>", "ab"},
		{"entities", "<body>&amp;&lt;&nbsp;&#169;</body>", `&\<` + "\u00a0©"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AsanaToMarkdown(tc.rich)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.md {
				t.Errorf("AsanaToMarkdown(%q)\n got %q\nwant %q", tc.rich, got, tc.md)
			}
		})
	}
}

// TestAsanaRoundTripProse: what Asana can hold survives unchanged, and
// everything is a fixed point after one trip.
func TestAsanaRoundTripProse(t *testing.T) {
	for _, tc := range prose {
		t.Run(tc.name, func(t *testing.T) {
			_, m1 := asanaTrip(t, tc.md)
			_, m2 := asanaTrip(t, m1)
			if m1 != m2 {
				t.Fatalf("second trip changed the body:\nm1 %q\nm2 %q", m1, m2)
			}
		})
	}
	for _, md := range []string{
		"Hello, world.", "line one\nline two", "# Title\n\n## Section\n\ntext",
		"Some **bold**, *italic* and ~~struck~~ text.", "**bold with *italic* inside**",
		"Run `go test ./...` now.", "```\nplain\n\n  indented\n```", "- one\n- two\n  1. three",
		"> quoted\n>\n> twice", "a\n\n---\n\nb",
		"See [the docs](https://example.com/docs?a=1&b=2) for more.",
	} {
		if _, back := asanaTrip(t, md); back != md {
			t.Errorf("round trip changed %q into %q", md, back)
		}
	}
}

// TestAsanaOutputIsAsanaSubset: whatever the input, the writer only uses
// Asana's tags, and never nests a block where Asana forbids it.
func TestAsanaOutputIsAsanaSubset(t *testing.T) {
	in := "# h\n\n> # q\n> - a\n>\n> ```\n> c\n> ```\n\n- x\n\n  > y\n\n  ```go\n  z\n  ```\n\n  # not a heading\n\n![img](https://e/x.png)\n\n<div>raw</div>\n\n| a |\n| - |\n| **b** |"
	rich, err := MarkdownToAsana(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkAsanaSubset(rich); err != nil {
		t.Fatalf("%v in %q", err, rich)
	}
}

var asanaAllowed = map[string]bool{"body": true, "strong": true, "em": true, "u": true, "s": true, "code": true,
	"a": true, "h1": true, "h2": true, "ul": true, "ol": true, "li": true, "pre": true, "blockquote": true, "hr": true}

// checkAsanaSubset checks tags and Asana's nesting rules on writer output
// (well formed by construction, so a plain scan of the tags suffices).
func checkAsanaSubset(rich string) error {
	if !strings.HasPrefix(rich, "<body>") || !strings.HasSuffix(rich, "</body>") {
		return fmt.Errorf("not wrapped in <body>")
	}
	var stack []string
	for i := 0; i < len(rich); i++ {
		if rich[i] != '<' {
			if rich[i] == '\n' {
				for _, outer := range stack {
					if outer == "h1" || outer == "h2" {
						return fmt.Errorf("newline inside <%s>", outer)
					}
				}
			}
			continue
		}
		end := strings.IndexByte(rich[i:], '>')
		if end < 0 {
			return fmt.Errorf("unterminated tag at %d", i)
		}
		tag := rich[i+1 : i+end]
		i += end
		closing := strings.HasPrefix(tag, "/")
		selfClosing := strings.HasSuffix(tag, "/")
		name := strings.Fields(strings.Trim(tag, "/"))[0]
		if !asanaAllowed[name] {
			return fmt.Errorf("tag <%s> outside Asana's set", name)
		}
		switch {
		case closing:
			if len(stack) == 0 || stack[len(stack)-1] != name {
				return fmt.Errorf("</%s> does not close %v", name, stack)
			}
			stack = stack[:len(stack)-1]
		case selfClosing:
		default:
			for _, outer := range stack {
				if outer == "li" && (name == "h1" || name == "h2" || name == "blockquote" || name == "pre") {
					return fmt.Errorf("<%s> inside a list item", name)
				}
				if (outer == "h1" || outer == "h2" || outer == "blockquote" || outer == "pre") && (name == "ul" || name == "ol") {
					return fmt.Errorf("<%s> inside <%s>", name, outer)
				}
			}
			stack = append(stack, name)
		}
	}
	if len(stack) != 0 {
		return fmt.Errorf("unclosed %v", stack)
	}
	return nil
}

// BenchmarkAsanaToMarkdownOneLine: the cost of reading a one-line task
// body, as a listing of 5,000 tasks does 5,000 times (15.3 KB and 19.6 µs
// an op while every body was parsed twice; 9.8 KB and 10.1 µs since rich
// text the writer gives back unchanged is parsed once).
func BenchmarkAsanaToMarkdownOneLine(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AsanaToMarkdown("<body>Launch blog post for the public launch.</body>"); err != nil {
			b.Fatal(err)
		}
	}
}
