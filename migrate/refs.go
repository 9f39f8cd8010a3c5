package migrate

import (
	"regexp"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

// refIndex finds the items of a migration by the ways people refer to
// them in text: a Jira-style key (PROJ-123), a GitHub reference (#45,
// owner/repo#45) and an item's URL.
type refIndex struct {
	byKey map[string]int // key or URL -> position in the migration order
}

var (
	reJiraKey = regexp.MustCompile(`\b[A-Z][A-Z0-9_]*-[0-9]+\b`)
	reGHRef   = regexp.MustCompile(`(?:\b([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+))?#([0-9]+)\b`)
	reURL     = regexp.MustCompile(`https?://[^\s<>()\[\]"']+`)
)

func newRefIndex(items []adapters.Item) *refIndex {
	x := &refIndex{byKey: make(map[string]int, 2*len(items))}
	for i, it := range items {
		if it.Ref.Key != "" {
			x.byKey[it.Ref.Key] = i
		}
		if it.Ref.URL != "" {
			x.byKey[strings.TrimRight(it.Ref.URL, "/")] = i
		}
	}
	return x
}

// repoOf is the repository part of a GitHub key (acme/platform#12), "" for
// other keys.
func repoOf(key string) string {
	if i := strings.LastIndexByte(key, '#'); i > 0 {
		return key[:i]
	}
	return ""
}

// rewrite replaces the references in text to items of the migration at a
// position for which target reports a copy with that copy's key (or URL, for
// a URL). self is the position of the item text belongs to, whose
// repository resolves a bare #45. It reports whether a reference to an item
// of the migration was left as it is because target had no copy for it yet.
func (x *refIndex) rewrite(text string, self adapters.Ref, target func(pos int) (adapters.Ref, bool)) (string, bool) {
	if text == "" {
		return text, false
	}
	pending := false
	repl := func(pos int, url bool) (string, bool) {
		r, ok := target(pos)
		if !ok {
			pending = true
			return "", false
		}
		if url && r.URL != "" {
			return r.URL, true
		}
		if r.Key != "" {
			return r.Key, true
		}
		return r.ID, true
	}
	// URLs first, so a key inside a URL is not rewritten on its own.
	var out strings.Builder
	last := 0
	for _, m := range reURL.FindAllStringIndex(text, -1) {
		u := strings.TrimRight(text[m[0]:m[1]], ".,;:!?")
		pos, ok := x.byKey[strings.TrimRight(u, "/")]
		seg := x.rewriteKeys(text[last:m[0]], self, repl)
		out.WriteString(seg)
		if ok {
			if s, ok := repl(pos, true); ok {
				out.WriteString(s)
				out.WriteString(text[m[0]+len(u) : m[1]])
				last = m[1]
				continue
			}
		}
		out.WriteString(text[m[0]:m[1]])
		last = m[1]
	}
	out.WriteString(x.rewriteKeys(text[last:], self, repl))
	return out.String(), pending
}

func (x *refIndex) rewriteKeys(s string, self adapters.Ref, repl func(int, bool) (string, bool)) string {
	if s == "" {
		return s
	}
	s = reJiraKey.ReplaceAllStringFunc(s, func(k string) string {
		if pos, ok := x.byKey[k]; ok {
			if r, ok := repl(pos, false); ok {
				return r
			}
		}
		return k
	})
	return reGHRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := reGHRef.FindStringSubmatch(m)
		repo := sub[1]
		if repo == "" {
			repo = repoOf(self.Key)
		}
		if repo == "" {
			return m
		}
		if pos, ok := x.byKey[repo+"#"+sub[2]]; ok {
			if r, ok := repl(pos, false); ok {
				return r
			}
		}
		return m
	})
}

// attachmentLinks finds links to attachments in a body: they stay links to
// the originals (a migration does not copy files), which the report says.
var attachmentLinks = regexp.MustCompile(`(?i)(/secure/attachment/|/rest/api/[23]/attachment/|github\.com/user-attachments/|/files/[0-9]+/|!\[[^\]]*\]\([^)]*\))`)

func countAttachments(s string) int { return len(attachmentLinks.FindAllStringIndex(s, -1)) }
