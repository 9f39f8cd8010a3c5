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
