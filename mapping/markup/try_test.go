package markup
import ("testing";"fmt")
func p(nodes ...*Node) *Node { return &Node{Type:"doc",Version:1,Content:[]*Node{{Type:"paragraph",Content:nodes}}} }
func tx(s string, m ...string) *Node { n:=&Node{Type:"text",Text:s}; for _,x:=range m { n.Marks=append(n.Marks, Mark{Type:x}) }; return n }
func TestTry(t *testing.T){
 for _, d := range []*Node{
  p(tx("a\\"), tx("b","em")), p(tx("a*"), tx("b","em")), p(tx("b","em"), tx("*c")), p(tx("b","strong"), tx("\\")),
  p(tx("a"), tx("(b)","em"), tx("c")), p(tx("a"), tx("b","strong"), tx("c")),p(tx("a"), tx("b","strike"), tx("c")),
  p(tx("a_"), tx("b","em")), p(tx("*"), tx("b","strong")), p(tx("\\"), tx("b","strong"), tx("\\")),
  p(tx("x\\"), tx("y","em"), tx("z")), p(tx("x*"), tx("y","strong"), tx("*z")),p(tx("x"), tx("y","strong"), tx("\\z")),
  p(tx("x","em"), tx("y", "em", "strong"), tx("z","em")),
 } {
  want := adfJSON(normalize(d))
  md := ADFToMarkdown(d, Options{}); w := adfToWiki(d)
  m2 := adfJSON(MarkdownToADF(md, Options{})); w2 := adfJSON(normalize(parseWiki(w, Options{})))
  fmt.Printf("ADF %s\n md %q %v\n wiki %q %v\n", want, md, m2==want, w, w2==want)
 }
}
