package markup
import ("testing";"fmt";"os";"strconv";"strings";"encoding/json")
func TestDbg(t *testing.T){
 if os.Getenv("F") == "" { t.Skip() }; b,_ := os.ReadFile(os.Getenv("F")); lines := strings.Split(string(b),"\n")
 s,_ := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1],"string("),")"))
 var doc Node
 if json.Unmarshal([]byte(s), &doc) != nil { doc = *genADF(&byteSource{b: []byte(s)}, 0) }
 fmt.Println(adfJSON(normalize(&doc)))
 m1 := ADFToMarkdown(&doc, users); fmt.Printf("%q\n", m1)
 fmt.Println(adfJSON(MarkdownToADF(m1, users)))
}
