package github

import (
	"net/url"
	"regexp"
	"strings"
)

// Issue bodies carry two things tracksync owns, as HTML comments and a
// fenced section GitHub renders invisibly or as a plain task list:
//
//	<!-- tracksync:key=LINK-KEY -->          the idempotency marker
//	<!-- tracksync:children --> ... <!-- /tracksync:children -->
//	                                          the children task list
//
// Both are cut out of Item.Body as read, so the canonical body is what
// people wrote, and put back whenever tracksync writes the body, so an
// edit by a person (who sees neither marker) never loses them.

const (
	childrenOpen  = "<!-- tracksync:children -->"
	childrenClose = "<!-- /tracksync:children -->"
)

var (
	keyMarker       = regexp.MustCompile(`(?:\r?\n\r?\n)?<!-- tracksync:key=([^ >]*) -->`)
	childrenSection = regexp.MustCompile(`(?s)(?:\r?\n\r?\n)?` + regexp.QuoteMeta(childrenOpen) + `.*?` + regexp.QuoteMeta(childrenClose))
)

// keyEscaper keeps a key from ending the HTML comment early.
var keyEscaper = strings.NewReplacer("%", "%25", "-", "%2D", ">", "%3E", " ", "%20")

// marker is the hidden comment carrying key.
func marker(key string) string { return "<!-- tracksync:key=" + keyEscaper.Replace(key) + " -->" }

// rawBody is an issue body split into what people wrote and what
// tracksync keeps in it.
type rawBody struct {
	Text     string // the canonical body
	Key      string // the idempotency key, "" for none
	Children string // the children section, markers included, "" for none
}

// splitBody takes an issue body apart.
func splitBody(s string) rawBody {
	var b rawBody
	if m := keyMarker.FindStringSubmatch(s); m != nil {
		if k, err := url.PathUnescape(m[1]); err == nil {
			b.Key = k
		}
		s = keyMarker.ReplaceAllString(s, "")
	}
	if loc := childrenSection.FindStringIndex(s); loc != nil {
		b.Children = strings.TrimLeft(s[loc[0]:loc[1]], "\r\n")
		s = s[:loc[0]] + s[loc[1]:]
	}
	b.Text = s
	return b
}

// join puts a body back together; the pieces tracksync owns go at the
// end, each after a blank line, which is exactly what splitBody removes.
func (b rawBody) join() string {
	s := b.Text
	if b.Children != "" {
		s += "\n\n" + b.Children
	}
	if b.Key != "" {
		s += "\n\n" + marker(b.Key)
	}
	return s
}

// SetChildren returns body with its children section replaced by a task
// list of refs ("owner/repo#12" or "#12"), checked where done says so,
// leaving everything else in body, markers included, untouched. No refs
// removes the section. GitHub renders the section as a task list with
// progress, which is how an issue stands for an epic.
func SetChildren(body string, refs []string, done map[string]bool) string {
	return SetTracking(body, "", refs, done)
}

// SetTracking is SetChildren with a summary line (a roll-up's progress)
// above the task list. The section is kept when there is a summary even
// without refs.
func SetTracking(body, summary string, refs []string, done map[string]bool) string {
	b := splitBody(body)
	b.Children = ""
	summary = strings.TrimSpace(strings.ReplaceAll(summary, "\n", " "))
	if len(refs) > 0 || summary != "" {
		var sb strings.Builder
		sb.WriteString(childrenOpen + "\n")
		if summary != "" {
			sb.WriteString(summary + "\n\n")
		}
		for _, r := range refs {
			box := "[ ]"
			if done[r] {
				box = "[x]"
			}
			sb.WriteString("- " + box + " " + r + "\n")
		}
		sb.WriteString(childrenClose)
		b.Children = sb.String()
	}
	// Rebuild around the original text: splitBody already removed only
	// the pieces, so people's text stays byte for byte.
	return b.join()
}

// Children lists the refs in body's children section, in order.
func Children(body string) []string {
	sec := splitBody(body).Children
	var out []string
	for _, line := range strings.Split(sec, "\n") {
		line = strings.TrimSpace(line)
		for _, p := range []string{"- [ ] ", "- [x] ", "- [X] "} {
			if r, ok := strings.CutPrefix(line, p); ok {
				out = append(out, strings.TrimSpace(r))
			}
		}
	}
	return out
}
