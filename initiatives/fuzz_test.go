package initiatives

import (
	"strings"
	"testing"
)

// FuzzTaskRefs: any body parses without panicking, and every ref found is
// one line of a known shape, qualified when it was #N.
func FuzzTaskRefs(f *testing.F) {
	for _, s := range []string{
		"- [ ] #12\n- [x] other/repo#3 done\n",
		"- [ ] [PLAT-7](https://jira/browse/PLAT-7)\n- [ ] https://github.com/acme/x/issues/9",
		"```\n- [ ] #99\n```\n",
		"* [X] jira:PLAT-1\n  - [ ] #4\n> - [ ] #5",
		"- [ ] <https://github.com/a/b/issues/1>",
		"- [ ]",
	} {
		f.Add(s, "acme/platform")
	}
	f.Fuzz(func(t *testing.T, body, repo string) {
		for _, r := range taskRefs(body, repo) {
			if r == "" || strings.ContainsAny(r, "\n\r") {
				t.Fatalf("bad ref %q from %q", r, body)
			}
			if strings.HasPrefix(r, "#") {
				t.Fatalf("unqualified ref %q", r)
			}
		}
	})
}
