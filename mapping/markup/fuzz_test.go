package markup

import (
	"encoding/json"
	"testing"
)

// bounded reports whether out stays within the growth budget for in:
// conversions escape and indent, but must never blow up.
func bounded(in, out string) bool { return len(out) <= 8*len(in)+64 }

func addProseSeeds(f *testing.F) {
	for _, tc := range prose {
		f.Add(tc.md)
	}
	for _, s := range []string{"* a\n\n  b", "> > x\n> ***y***", "a\\\nb", "[a](<b c>)", "<b>x</b>", "| a |\n|---|\n| `|` |", "1) x\n2) y", "![a](b \"t\")",
		// the mended losses
		`[x](https://a "T \"q\"")`, `a\\*b*`, `\***b**`, `x\*y*z`, "*a **b***", "~~a **b** c~~", "`  a  `", "`  ` x",
		"- a\n-\n- c", "1. a\n2.\n3. c", "- b\n  -\n\n  -", "[](https://e.com)", "[a](https://e.com/a\u00a0b)", "```\nplain\n```",
		"> # H\n>\n> t"} {
		f.Add(s)
	}
}

// checkMarkdownADF checks that m1 = trip(md) is a fixed point of trip.
func FuzzMarkdownADF(f *testing.F) {
	addProseSeeds(f)
	f.Fuzz(func(t *testing.T, md string) {
		doc := MarkdownToADF(md, users)
		if err := validADF(doc); err != nil {
			t.Fatalf("invalid ADF for %q: %v\n%s", md, err, adfJSON(doc))
		}
		m1 := ADFToMarkdown(doc, users)
		if !bounded(md, m1) {
			t.Fatalf("output grew from %d to %d bytes", len(md), len(m1))
		}
		m2 := ADFToMarkdown(MarkdownToADF(m1, users), users)
		if m1 != m2 {
			t.Fatalf("not stable:\ninput: %q\nm1:    %q\nm2:    %q\nADF1: %s\nADF2: %s", md, m1, m2, adfJSON(doc), adfJSON(MarkdownToADF(m1, users)))
		}
	})
}

func FuzzADFToMarkdown(f *testing.F) {
	for _, tc := range prose {
		f.Add(adfJSON(MarkdownToADF(tc.md, users)))
	}
	f.Add(`{"type":"doc","version":1,"content":[{"type":"panel","content":[{"type":"heading","attrs":{"level":9},"content":[{"type":"text","text":"x","marks":[{"type":"strong"},{"type":"code"}]}]}]}]}`)
	f.Add(`{"type":"doc","content":[{"type":"text","text":" a\n\n b "},{"type":"tableCell","content":[{"type":"text","text":"|"}]}]}`)
	f.Fuzz(func(t *testing.T, js string) {
		var doc Node
		if json.Unmarshal([]byte(js), &doc) != nil {
			// Not JSON: let the bytes pick a tree instead, which reaches
			// far more shapes than mutated JSON does.
			doc = *genADF(&byteSource{b: []byte(js)}, 0)
			js = adfJSON(&doc)
		}
		m1 := ADFToMarkdown(&doc, users)
		if !bounded(js, m1) {
			t.Fatalf("output grew from %d to %d bytes", len(js), len(m1))
		}
		back := MarkdownToADF(m1, users)
		if err := validADF(back); err != nil {
			t.Fatalf("invalid ADF: %v", err)
		}
		if m2 := ADFToMarkdown(back, users); m1 != m2 {
			t.Fatalf("not stable:\nm1: %q\nm2: %q\nADF: %s", m1, m2, adfJSON(back))
		}
	})
}

func addWikiSeeds(f *testing.F) {
	for _, s := range []string{"h1. T\n\n*b* _i_ -s- {{c}}", "* a\n** b\n#* c", "||h||\n|c|[x|http://y]|", "{code:go}\nx\n{code}",
		"{quote}\nq\n{quote}", "bq. x", "[~acc-1] [~accountid:x]", "!a.png|alt=b!", "a\\\\b", "{*}x{*}y", "&#92; \\* ??c??", "{panel}\n* x\n{panel}",
		"[a|https://e.com|tip]", "{noformat}\nx\n{noformat}", "{quote}\nh2. H\n{quote}", "* a\n*\n* c", "{{ a }} {{  }}", "_a *b*_"} {
		f.Add(s)
	}
}

func FuzzMarkdownWiki(f *testing.F) {
	addProseSeeds(f)
	f.Fuzz(func(t *testing.T, md string) {
		wiki := MarkdownToWiki(md, users)
		if !bounded(md, wiki) {
			t.Fatalf("wiki grew from %d to %d bytes", len(md), len(wiki))
		}
		m1 := WikiToMarkdown(wiki, users)
		if !bounded(md, m1) {
			t.Fatalf("markdown grew from %d to %d bytes", len(md), len(m1))
		}
		w2 := MarkdownToWiki(m1, users)
		if m2 := WikiToMarkdown(w2, users); m1 != m2 {
			t.Fatalf("not stable:\ninput: %q\nwiki:  %q\nm1:    %q\nwiki2: %q\nm2:    %q", md, wiki, m1, w2, m2)
		}
	})
}

func FuzzWikiToMarkdown(f *testing.F) {
	addWikiSeeds(f)
	f.Fuzz(func(t *testing.T, wiki string) {
		m1 := WikiToMarkdown(wiki, users)
		if !bounded(wiki, m1) {
			t.Fatalf("markdown grew from %d to %d bytes", len(wiki), len(m1))
		}
		if err := validADF(normalize(parseWiki(wiki, users))); err != nil {
			t.Fatalf("invalid ADF: %v", err)
		}
		w2 := MarkdownToWiki(m1, users)
		if m2 := WikiToMarkdown(w2, users); m1 != m2 {
			t.Fatalf("not stable:\ninput: %q\nm1:    %q\nwiki2: %q\nm2:    %q", wiki, m1, w2, m2)
		}
	})
}

type byteSource struct {
	b []byte
	i int
}

func (s *byteSource) next(n int) int {
	if s.i >= len(s.b) || n <= 0 {
		return 0
	}
	v := int(s.b[s.i]) % n
	s.i++
	return v
}

var (
	genTypes = []string{"paragraph", "heading", "codeBlock", "blockquote", "bulletList", "orderedList", "listItem",
		"rule", "table", "tableRow", "tableHeader", "tableCell", "panel", "expand", "mediaSingle", "media", "taskList",
		"taskItem", "text", "text", "text", "text", "hardBreak", "mention", "emoji", "status", "date", "inlineCard", "mystery"}
	genTexts = []string{"a", "b c", " ", "*", "_", "`", "[", "]", "<", "&amp;", "#", "-", "1.", "|", "\\", "!", "~", "{", "}",
		"\n", "x_y", "@alice", "(x)", "h1.", "  d  ", "é", "+", "=", ":", "**", "?"}
	genMarks = []string{"strong", "em", "strike", "code", "link", "underline"}
)

// genADF builds an arbitrary (often invalid) ADF tree from s.
func genADF(s *byteSource, depth int) *Node {
	n := &Node{Type: genTypes[s.next(len(genTypes))]}
	if depth == 0 {
		n.Type = "doc"
	}
	switch n.Type {
	case "text":
		n.Text = genTexts[s.next(len(genTexts))] + genTexts[s.next(len(genTexts))]
		for range s.next(4) {
			m := Mark{Type: genMarks[s.next(len(genMarks))]}
			if m.Type == "link" {
				m.Attrs = map[string]any{"href": genTexts[s.next(len(genTexts))]}
			}
			n.Marks = append(n.Marks, m)
		}
		return n
	case "mention":
		n.Attrs = map[string]any{"id": []string{"acc-1", "acc-9", ""}[s.next(3)], "text": genTexts[s.next(len(genTexts))]}
		return n
	case "heading":
		n.Attrs = map[string]any{"level": float64(s.next(8))}
	case "orderedList":
		n.Attrs = map[string]any{"order": float64(s.next(4))}
	case "codeBlock":
		n.Attrs = map[string]any{"language": genTexts[s.next(len(genTexts))]}
	case "media":
		n.Attrs = map[string]any{"url": genTexts[s.next(len(genTexts))]}
	}
	if depth < 6 {
		for range s.next(5) {
			n.Content = append(n.Content, genADF(s, depth+1))
		}
	}
	return n
}

// FuzzMarkdownAsana checks that Markdown → Asana → Markdown reaches a fixed
// point after one trip and that the writer keeps to Asana's tag set.
func FuzzMarkdownAsana(f *testing.F) {
	addProseSeeds(f)
	f.Fuzz(func(t *testing.T, md string) {
		rich, m1 := asanaTrip(t, md)
		if err := checkAsanaSubset(rich); err != nil {
			t.Fatalf("%v\ninput: %q\nrich:  %q", err, md, rich)
		}
		if !bounded(md, rich) {
			t.Fatalf("output grew from %d to %d bytes", len(md), len(rich))
		}
		rich2, m2 := asanaTrip(t, m1)
		if m1 != m2 {
			t.Fatalf("not stable:\ninput: %q\nrich1: %q\nm1:    %q\nrich2: %q\nm2:    %q", md, rich, m1, rich2, m2)
		}
	})
}

// FuzzAsanaToMarkdown feeds arbitrary (also malformed) HTML to the reader.
func FuzzAsanaToMarkdown(f *testing.F) {
	for _, tc := range prose {
		rich, _ := MarkdownToAsana(tc.md)
		f.Add(rich)
	}
	for _, s := range []string{"<body><ul><li><h1>x</h1></li></ul></body>", "<body><strong><ul><li>a</li></ul></strong></body>",
		"<body><a href=\"x\"><a href=\"y\">z</a></a></body>", "<body><table>x<tr><td><pre>\n\ny</pre></td></tr></table></body>",
		"<body>a\n \nb<blockquote><ol><li>q</li></ol></blockquote></body>", "<b><i>x</b>y</i>", "<pre><code>a\n  b</code></pre>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rich string) {
		m1, err := AsanaToMarkdown(rich)
		if err != nil {
			t.Fatalf("AsanaToMarkdown(%q): %v", rich, err)
		}
		if !bounded(rich, m1) {
			t.Fatalf("output grew from %d to %d bytes", len(rich), len(m1))
		}
		rich2, m2 := asanaTrip(t, m1)
		if m1 != m2 {
			t.Fatalf("not stable:\ninput: %q\nm1:    %q\nrich2: %q\nm2:    %q", rich, m1, rich2, m2)
		}
		// Skipping the second parse when the writer gives the input back
		// changes nothing: the reference always parses twice.
		if ref := asanaToMarkdownTwice(t, rich); ref != m1 {
			t.Fatalf("differs from the two-parse reading:\ninput: %q\ngot:   %q\nref:   %q", rich, m1, ref)
		}
	})
}

// asanaToMarkdownTwice is AsanaToMarkdown as it was: always reading back
// what the writer makes of the first parse.
func asanaToMarkdownTwice(t *testing.T, rich string) string {
	t.Helper()
	doc, err := parseAsana(rich)
	if err != nil {
		t.Fatal(err)
	}
	if doc, err = parseAsana(writeAsana(normalize(doc))); err != nil {
		t.Fatal(err)
	}
	return ADFToMarkdown(doc, Options{})
}
