package markup

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMarkdownToADF(t *testing.T) {
	text := func(s string, marks ...Mark) *Node { return &Node{Type: "text", Text: s, Marks: marks} }
	para := func(c ...*Node) *Node { return &Node{Type: "paragraph", Content: c} }
	doc := func(c ...*Node) *Node {
		if c == nil {
			c = []*Node{}
		}
		return &Node{Type: "doc", Version: 1, Content: c}
	}
	item := func(c ...*Node) *Node { return &Node{Type: "listItem", Content: c} }
	link := func(href string) Mark { return Mark{Type: "link", Attrs: map[string]any{"href": href}} }
	strong, em, code := Mark{Type: "strong"}, Mark{Type: "em"}, Mark{Type: "code"}
	tests := []struct {
		name string
		md   string
		want *Node
	}{
		{"empty", "", doc()},
		{"heading and text", "## Hi\n\nthere", doc(
			&Node{Type: "heading", Attrs: map[string]any{"level": 2}, Content: []*Node{text("Hi")}},
			para(text("there")))},
		{"marks", "a **b *c*** `d`", doc(para(text("a "), text("b ", strong), text("c", strong, em), text(" "), text("d", code)))},
		{"code drops other marks", "**`x`**", doc(para(text("x", code)))},
		{"code keeps link", "[`x`](http://a)", doc(para(text("x", link("http://a"), code)))},
		{"hard and soft breaks", "a  \nb\nc", doc(para(text("a"), &Node{Type: "hardBreak"}, text("b"), &Node{Type: "hardBreak"}, text("c")))},
		{"fenced code", "```py\nx = 1\n```", doc(&Node{Type: "codeBlock", Attrs: map[string]any{"language": "py"}, Content: []*Node{text("x = 1")}})},
		{"image becomes link", "![logo](https://x/l.png)", doc(para(text("logo", link("https://x/l.png"))))},
		{"image without alt", "![](https://x/l.png)", doc(para(text("https://x/l.png", link("https://x/l.png"))))},
		{"autolink", "<https://x.y>", doc(para(text("https://x.y", link("https://x.y"))))},
		{"html comment dropped", "<!-- template -->\n\ntext", doc(para(text("text")))},
		{"ordered start", "2. a", doc(&Node{Type: "orderedList", Attrs: map[string]any{"order": 2}, Content: []*Node{item(para(text("a")))}})},
		{"list item starting with code gets a paragraph", "- ```\n  x\n  ```", doc(&Node{Type: "bulletList", Content: []*Node{
			item(para(), &Node{Type: "codeBlock", Content: []*Node{text("x")}})}})},
		{"heading in quote becomes paragraph", "> # h", doc(&Node{Type: "blockquote", Content: []*Node{para(text("h"))}})},
		{"nested quote flattened", "> > a", doc(&Node{Type: "blockquote", Content: []*Node{para(text("a"))}})},
		{"mention", "hi @alice", doc(para(text("hi "), &Node{Type: "mention", Attrs: map[string]any{"id": "acc-1", "text": "@alice"}}))},
		{"unknown mention stays text", "hi @zed", doc(para(text("hi @zed")))},
		{"table", "| h |\n| - |\n| c |", doc(&Node{Type: "table", Content: []*Node{
			{Type: "tableRow", Content: []*Node{{Type: "tableHeader", Content: []*Node{para(text("h"))}}}},
			{Type: "tableRow", Content: []*Node{{Type: "tableCell", Content: []*Node{para(text("c"))}}}},
		}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MarkdownToADF(tc.md, users)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("MarkdownToADF(%q) mismatch (-want +got):\n%s", tc.md, diff)
			}
			if err := validADF(got); err != nil {
				t.Errorf("invalid ADF: %v", err)
			}
		})
	}
}

func TestADFToMarkdown(t *testing.T) {
	tests := []struct {
		name string
		adf  string
		want string
	}{
		{"nil-like empty doc", `{"type":"doc","version":1,"content":[]}`, ""},
		{"panel becomes quote", `{"type":"doc","version":1,"content":[{"type":"panel","attrs":{"panelType":"info"},"content":[{"type":"paragraph","content":[{"type":"text","text":"Note"}]}]}]}`, "> Note"},
		{"status emoji date", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[
			{"type":"status","attrs":{"text":"IN PROGRESS","color":"blue"}},{"type":"text","text":" "},
			{"type":"emoji","attrs":{"shortName":":smile:","text":"😄"}},{"type":"text","text":" "},
			{"type":"date","attrs":{"timestamp":"1700000000000"}}]}]}`, "IN PROGRESS 😄 2023-11-14"},
		{"media single", `{"type":"doc","version":1,"content":[{"type":"mediaSingle","content":[{"type":"media","attrs":{"type":"external","url":"https://x/a.png","alt":"shot"}}]}]}`, "[shot](https://x/a.png)"},
		{"attachment media", `{"type":"doc","version":1,"content":[{"type":"mediaSingle","content":[{"type":"media","attrs":{"type":"file","id":"abc","collection":"c"}}]}]}`, `[attachment\]`},
		{"unknown node keeps text", `{"type":"doc","version":1,"content":[{"type":"fancyWidget","content":[{"type":"text","text":"inside *it*"}]}]}`, `inside \*it\*`},
		{"special characters escaped", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"a*b_ [c] ` + "`d`" + ` <e> &amp; # x"}]}]}`, "a\\*b\\_ [c] \\`d\\` \\<e> \\&amp; # x"},
		{"line start escaped", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"# not heading"},{"type":"hardBreak"},{"type":"text","text":"- not list"},{"type":"hardBreak"},{"type":"text","text":"1. not ordered"}]}]}`, "\\# not heading\n\\- not list\n1\\. not ordered"},
		{"mention known", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"mention","attrs":{"id":"acc-1","text":"@Alice A"}}]}]}`, "@alice"},
		{"mention unknown", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"mention","attrs":{"id":"acc-9","text":"@Zed"}}]}]}`, "@Zed"},
		{"underline dropped", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"u","marks":[{"type":"underline"}]}]}]}`, "u"},
		{"whitespace moved out of strong", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"a"},{"type":"text","text":" b ","marks":[{"type":"strong"}]},{"type":"text","text":"c"}]}]}`, "a **b** c"},
		{"task list", `{"type":"doc","version":1,"content":[{"type":"taskList","attrs":{"localId":"1"},"content":[{"type":"taskItem","attrs":{"localId":"2","state":"DONE"},"content":[{"type":"text","text":"done"}]}]}]}`, "- [x] done"},
		{"adjacent lists stay apart", `{"type":"doc","version":1,"content":[{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"a"}]}]}]},{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"b"}]}]}]}]}`, "- a\n\n* b"},
		{"expand", `{"type":"doc","version":1,"content":[{"type":"expand","attrs":{"title":"More"},"content":[{"type":"paragraph","content":[{"type":"text","text":"hidden"}]}]}]}`, "**More**\n\nhidden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc Node
			if err := json.Unmarshal([]byte(tc.adf), &doc); err != nil {
				t.Fatal(err)
			}
			got := ADFToMarkdown(&doc, users)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ADFToMarkdown mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if got := ADFToMarkdown(nil, Options{}); got != "" {
		t.Errorf("ADFToMarkdown(nil) = %q, want empty", got)
	}
}

// validADF checks the ADF rules Jira enforces that our output can break.
func validADF(doc *Node) error {
	if doc == nil || doc.Type != "doc" || doc.Version != 1 {
		return fmt.Errorf("root must be doc version 1")
	}
	var check func(n *Node, parent string, path string) error
	allowed := map[string][]string{
		"doc":         {"paragraph", "heading", "codeBlock", "blockquote", "bulletList", "orderedList", "rule", "table"},
		"blockquote":  {"paragraph", "codeBlock", "bulletList", "orderedList"},
		"listItem":    {"paragraph", "codeBlock", "bulletList", "orderedList"},
		"bulletList":  {"listItem"},
		"orderedList": {"listItem"},
		"table":       {"tableRow"},
		"tableRow":    {"tableHeader", "tableCell"},
		"tableHeader": {"paragraph", "codeBlock", "bulletList", "orderedList", "heading", "rule", "blockquote"},
		"tableCell":   {"paragraph", "codeBlock", "bulletList", "orderedList", "heading", "rule", "blockquote"},
		"paragraph":   {"text", "hardBreak", "mention"},
		"heading":     {"text", "hardBreak", "mention"},
		"codeBlock":   {"text"},
	}
	check = func(n *Node, parent, path string) error {
		path += "/" + n.Type
		if ok, known := allowed[parent]; known && !contains(ok, n.Type) {
			return fmt.Errorf("%s: %s not allowed in %s", path, n.Type, parent)
		}
		if n.Type == "text" && n.Text == "" {
			return fmt.Errorf("%s: empty text", path)
		}
		if n.Type != "text" && len(n.Marks) > 0 {
			return fmt.Errorf("%s: marks on non-text", path)
		}
		if markIndex(n.Marks, "code") >= 0 {
			for _, m := range n.Marks {
				if m.Type != "code" && m.Type != "link" {
					return fmt.Errorf("%s: code mark with %s", path, m.Type)
				}
			}
			if parent == "codeBlock" {
				return fmt.Errorf("%s: marks in codeBlock", path)
			}
		}
		if n.Type == "listItem" && (len(n.Content) == 0 || n.Content[0].Type != "paragraph") {
			return fmt.Errorf("%s: listItem must start with a paragraph", path)
		}
		if strings.HasSuffix(n.Type, "List") || n.Type == "table" || n.Type == "tableRow" || n.Type == "blockquote" || n.Type == "listItem" || n.Type == "tableCell" || n.Type == "tableHeader" {
			if len(n.Content) == 0 {
				return fmt.Errorf("%s: needs content", path)
			}
		}
		if n.Type == "mention" && strAttr(n.Attrs, "id") == "" {
			return fmt.Errorf("%s: mention without id", path)
		}
		for _, c := range n.Content {
			if c == nil {
				return fmt.Errorf("%s: nil child", path)
			}
			if err := check(c, n.Type, path); err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range doc.Content {
		if err := check(c, "doc", ""); err != nil {
			return err
		}
	}
	return nil
}

func TestADFJSONShape(t *testing.T) {
	got := adfJSON(MarkdownToADF("Hi **there**\n\n- [x](http://a)", Options{}))
	want := `{"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there","marks":[{"type":"strong"}]}]},` +
		`{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"x","marks":[{"type":"link","attrs":{"href":"http://a"}}]}]}]}]}],"version":1}`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ADF JSON (-want +got):\n%s", diff)
	}
}

func TestMentionsWithoutOptions(t *testing.T) {
	md := "ping @alice"
	doc := MarkdownToADF(md, Options{})
	if got := adfJSON(doc); strings.Contains(got, "mention") {
		t.Errorf("mention without MentionID: %s", got)
	}
	var in Node
	if err := json.Unmarshal([]byte(`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"mention","attrs":{"id":"557058:f5b6c3a4-1234-4d5e-9f00-0123456789ab","text":"@Jane Doe"}}]}]}`), &in); err != nil {
		t.Fatal(err)
	}
	if got, want := ADFToMarkdown(&in, Options{}), "@Jane Doe"; got != want {
		t.Errorf("ADFToMarkdown = %q, want %q", got, want)
	}
	if got, want := adfToWiki(&in), "[~accountid:557058:f5b6c3a4-1234-4d5e-9f00-0123456789ab]"; got != want {
		t.Errorf("adfToWiki = %q, want %q", got, want)
	}
}
