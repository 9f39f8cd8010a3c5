package markup

import (
	"encoding/json"
	"testing"
)

// Tests for losses the converters used to have: each one failed before
// its fix.

func docOf(t *testing.T, js string) *Node {
	t.Helper()
	var d Node
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// checkAllPaths checks that md survives Markdown → ADF → Markdown and
// Markdown → wiki → Markdown unchanged, and that the ADF is valid.
func checkAllPaths(t *testing.T, md string) {
	t.Helper()
	doc := MarkdownToADF(md, users)
	if err := validADF(doc); err != nil {
		t.Errorf("invalid ADF for %q: %v\n%s", md, err, adfJSON(doc))
	}
	if got := ADFToMarkdown(doc, users); got != md {
		t.Errorf("ADF trip: %q became %q (ADF %s)", md, got, adfJSON(doc))
	}
	wiki := MarkdownToWiki(md, users)
	if got := WikiToMarkdown(wiki, users); got != md {
		t.Errorf("wiki trip: %q became %q (wiki %q)", md, got, wiki)
	}
}

// checkADFPaths checks that an ADF doc keeps its canonical form through
// Markdown and through wiki markup.
func checkADFPaths(t *testing.T, js string) {
	t.Helper()
	want := adfJSON(normalize(docOf(t, js)))
	md := ADFToMarkdown(docOf(t, js), users)
	if got := adfJSON(MarkdownToADF(md, users)); got != want {
		t.Errorf("through Markdown %q:\n got %s\nwant %s", md, got, want)
	}
	wiki := adfToWiki(docOf(t, js))
	if got := adfJSON(normalize(parseWiki(wiki, users))); got != want {
		t.Errorf("through wiki %q:\n got %s\nwant %s", wiki, got, want)
	}
}

func TestMendLinkTitle(t *testing.T) {
	js := `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"docs","marks":[{"type":"link","attrs":{"href":"https://e.com","title":"The \"real\" docs \\ &amp; more"}}]}]}]}`
	n := normalize(docOf(t, js)).Content[0].Content[0]
	if got, want := strAttr(n.Marks[0].Attrs, "title"), `The "real" docs \ &amp; more`; got != want {
		t.Errorf("normalize kept title %q, want %q", got, want)
	}
	checkADFPaths(t, js)
	if got, want := ADFToMarkdown(docOf(t, js), users), `[docs](https://e.com "The \"real\" docs \\ \&amp; more")`; got != want {
		t.Errorf("Markdown %q, want %q", got, want)
	}
	checkAllPaths(t, `[x](https://a.example/p "Title")`)
	if got, want := MarkdownToWiki(`[x](https://a.example/p "Title")`, users), "[x|https://a.example/p|Title]"; got != want {
		t.Errorf("wiki %q, want %q", got, want)
	}
}

func TestMendCodeSpanEdges(t *testing.T) {
	for _, md := range []string{"`  a  `", "`  ` x", "x `  `", "`   `", "a\n`  b`\nc", "[`  a  `](http://x)"} {
		checkAllPaths(t, md)
	}
	// In ADF, the spaces sit in the code text.
	checkADFPaths(t, `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":" a ","marks":[{"type":"code"}]},{"type":"hardBreak"},{"type":"text","text":"  ","marks":[{"type":"code"}]}]}]}`)
	if got := adfJSON(MarkdownToADF("`  ` x", users)); got != `{"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"  ","marks":[{"type":"code"}]},{"type":"text","text":" x"}]}],"version":1}` {
		t.Errorf("space-only code span: %s", got)
	}
}

func TestMendEmptyListItems(t *testing.T) {
	for _, md := range []string{"- a\n-\n- c", "1. a\n2.\n3. c", "- a\n-", "-\n- b"} {
		checkAllPaths(t, md)
	}
	// Wiki lists carry no start number; Markdown keeps it.
	if got := ADFToMarkdown(MarkdownToADF("3. a\n4.\n5. c", users), users); got != "3. a\n4.\n5. c" {
		t.Errorf("numbering changed: %q", got)
	}
	doc := MarkdownToADF("1. a\n2.\n3. c", users)
	if n := len(doc.Content[0].Content); n != 3 {
		t.Errorf("ordered list has %d items, want 3: %s", n, adfJSON(doc))
	}
	checkADFPaths(t, `{"type":"doc","version":1,"content":[{"type":"orderedList","content":[{"type":"listItem","content":[{"type":"paragraph"}]},{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"b"}]}]}]}]}`)
}

func TestMendEmptyLinkText(t *testing.T) {
	got := adfJSON(MarkdownToADF("see [](https://e.com/x)", users))
	want := `{"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"see "},{"type":"text","text":"https://e.com/x","marks":[{"type":"link","attrs":{"href":"https://e.com/x"}}]}]}],"version":1}`
	if got != want {
		t.Errorf("empty link text:\n got %s\nwant %s", got, want)
	}
	if got, want := WikiToMarkdown(MarkdownToWiki("[](https://e.com/x)", users), users), "[https://e.com/x](https://e.com/x)"; got != want {
		t.Errorf("wiki trip %q, want %q", got, want)
	}
}

func TestMendNBSPInURL(t *testing.T) {
	md := "[a](https://e.com/a\u00a0b)"
	doc := MarkdownToADF(md, users)
	if got := strAttr(doc.Content[0].Content[0].Marks[0].Attrs, "href"); got != "https://e.com/a\u00a0b" {
		t.Errorf("href %q", got)
	}
	checkAllPaths(t, md)
	checkADFPaths(t, `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"x","marks":[{"type":"link","attrs":{"href":"https://e.com/\u00a0y"}}]}]}]}`)
	// An ordinary space still becomes %20.
	if got := strAttr(MarkdownToADF("[a](<https://e.com/a b>)", users).Content[0].Content[0].Marks[0].Attrs, "href"); got != "https://e.com/a%20b" {
		t.Errorf("href %q", got)
	}
}

func TestMendNBSPAtURLEnd(t *testing.T) {
	js := `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"x","marks":[{"type":"link","attrs":{"href":"https://e.com/\u00a0"}}]}]}]}`
	if got := strAttr(normalize(docOf(t, js)).Content[0].Content[0].Marks[0].Attrs, "href"); got != "https://e.com/\u00a0" {
		t.Errorf("href %q", got)
	}
	checkADFPaths(t, js)
}

func TestMendCodeWithoutLanguageIsNoformat(t *testing.T) {
	cases := []struct{ md, wiki string }{
		{"```\nplain\n```", "{noformat}\nplain\n{noformat}"},
		{"```go\nx\n```", "{code:go}\nx\n{code}"},
		{"```\na {noformat} b\n```", "{code}\na {noformat} b\n{code}"},
		{"```go\n{code}\n```", "{noformat}\n{code}\n{noformat}"},
		{"```\n{code}{noformat}\n```", "{noformat}\n{code}{noformat }\n{noformat}"},
	}
	for _, tc := range cases {
		if got := MarkdownToWiki(tc.md, users); got != tc.wiki {
			t.Errorf("MarkdownToWiki(%q) = %q, want %q", tc.md, got, tc.wiki)
		}
	}
	checkAllPaths(t, "```\nplain\n```")
	checkAllPaths(t, "```\na {noformat} b\n```")
}

// Emphasis next to an escaped "*" or "\" (and inside words) used to be
// dropped because the writer took any "\" or "*" before a delimiter as
// live.
func TestMendEmphasisNextToEscapes(t *testing.T) {
	p := func(nodes string) string {
		return `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[` + nodes + `]}]}`
	}
	cases := []struct{ adf, md string }{
		{p(`{"type":"text","text":"a\\"},{"type":"text","text":"b","marks":[{"type":"em"}]}`), `a\\*b*`},
		{p(`{"type":"text","text":"a*"},{"type":"text","text":"b","marks":[{"type":"em"}]}`), `a\**b*`},
		{p(`{"type":"text","text":"*"},{"type":"text","text":"b","marks":[{"type":"strong"}]}`), `\***b**`},
		{p(`{"type":"text","text":"\\"},{"type":"text","text":"b","marks":[{"type":"strong"}]},{"type":"text","text":"\\"}`), `\\**b**\\`},
		{p(`{"type":"text","text":"x\\"},{"type":"text","text":"y","marks":[{"type":"em"}]},{"type":"text","text":"z"}`), `x\\*y*z`},
		{p(`{"type":"text","text":"x*"},{"type":"text","text":"y","marks":[{"type":"strong"}]},{"type":"text","text":"*z"}`), `x\***y**\*z`},
		{p(`{"type":"text","text":"x"},{"type":"text","text":"y","marks":[{"type":"strike"}]},{"type":"text","text":"z"}`), `x~~y~~z`},
	}
	for _, tc := range cases {
		if got := ADFToMarkdown(docOf(t, tc.adf), users); got != tc.md {
			t.Errorf("ADFToMarkdown = %q, want %q", got, tc.md)
		}
		checkADFPaths(t, tc.adf)
		checkAllPaths(t, tc.md)
	}
}

// A mark spanning several differently marked nodes used to be split
// into one span per node, because marks nested in a fixed order.
func TestMendEmphasisNotSplit(t *testing.T) {
	cases := []struct{ md, wiki, asana string }{
		{"*a **b***", "_a *b*_", "<body><em>a <strong>b</strong></em></body>"},
		{"*a **b** c*", "_a *b* c_", "<body><em>a <strong>b</strong> c</em></body>"},
		{"~~a **b** c~~", "-a *b* c-", "<body><s>a <strong>b</strong> c</s></body>"},
		{"**a *b* c**", "*a _b_ c*", "<body><strong>a <em>b</em> c</strong></body>"},
		{"***a***", "*_a_*", "<body><strong><em>a</em></strong></body>"},
		{"*x [y **z**](https://e.com) w*", "_x [y *z*|https://e.com] w_", `<body><em>x <a href="https://e.com">y <strong>z</strong></a> w</em></body>`},
	}
	for _, tc := range cases {
		checkAllPaths(t, tc.md)
		if got := MarkdownToWiki(tc.md, users); got != tc.wiki {
			t.Errorf("MarkdownToWiki(%q) = %q, want %q", tc.md, got, tc.wiki)
		}
		if got, _ := MarkdownToAsana(tc.md); got != tc.asana {
			t.Errorf("MarkdownToAsana(%q) = %q, want %q", tc.md, got, tc.asana)
		}
		if _, back := asanaTrip(t, tc.md); back != tc.md {
			t.Errorf("Asana trip: %q became %q", tc.md, back)
		}
	}
}

// A heading inside a quote used to become a plain paragraph on the wiki
// path, although {quote} holds headings. ADF still cannot hold one there.
func TestMendHeadingInQuoteOnWikiPath(t *testing.T) {
	md := "> # Title\n>\n> text\n>\n> ## Sub"
	wiki := "{quote}\nh1. Title\n\ntext\n\nh2. Sub\n{quote}"
	if got := MarkdownToWiki(md, users); got != wiki {
		t.Errorf("MarkdownToWiki = %q, want %q", got, wiki)
	}
	if got := WikiToMarkdown(wiki, users); got != md {
		t.Errorf("WikiToMarkdown = %q, want %q", got, md)
	}
	doc := MarkdownToADF(md, users)
	if err := validADF(doc); err != nil {
		t.Errorf("ADF: %v", err)
	}
	if got, want := ADFToMarkdown(doc, users), "> Title\n>\n> text\n>\n> Sub"; got != want {
		t.Errorf("ADF path: %q, want %q", got, want)
	}
}
