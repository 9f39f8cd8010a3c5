package asana

import (
	"strings"

	"github.com/tracksync/tracksync/mapping/markup"
)

// The idempotency marker.
//
// tracksync stores the key of each task it creates, so that a create
// retried after a lost answer or a crash finds the task instead of making
// another. The places Asana offers, weighed:
//
//   - external (gid, data) is made for this, but only OAuth apps may set
//     and read it; with a personal access token it is refused or dropped.
//     It is used when the tracker is told its token is an OAuth app's
//     (marker: external), and read back whenever present.
//   - a text custom field ("tracksync key") is visible to everyone in
//     the task pane and in list columns, is easily edited or cleared,
//     needs a paid plan and must be added to every project in scope.
//   - a comment is visible, can be deleted, and costs a request per read.
//   - the task's notes can carry the key invisibly: a run of zero-width
//     characters (U+200B, U+200C, U+200D, U+2060, four per byte) between
//     two invisible separators (U+2063), at the very end of html_notes.
//     People do not see it, in the UI or in notifications; editing the
//     notes keeps it (it sits after the last character, where typing
//     rarely reaches); Asana keeps these characters in html_notes and
//     notes. It is read with the notes tracksync reads anyway, so
//     finding a key costs no extra request, and it works on every plan
//     and with any token. It is lost only when someone clears the whole
//     description, and then the engine's link (not the marker) still
//     ties the pair; the marker matters only between a create and its
//     journal entry.
//
// So the default is the notes marker; external is written too when the
// token allows it, and a key is read from either. The same marker in a
// comment's html_text carries a comment's key.

const (
	markEdge = '\u2063'
)

var markDigits = [4]rune{'\u200b', '\u200c', '\u200d', '\u2060'}

// encodeMarker is key as an invisible run.
func encodeMarker(key string) string {
	if key == "" {
		return ""
	}
	var b strings.Builder
	b.WriteRune(markEdge)
	for i := 0; i < len(key); i++ {
		c := key[i]
		for shift := 6; shift >= 0; shift -= 2 {
			b.WriteRune(markDigits[(c>>shift)&3])
		}
	}
	b.WriteRune(markEdge)
	return b.String()
}

func digit(r rune) (byte, bool) {
	for i, d := range markDigits {
		if d == r {
			return byte(i), true
		}
	}
	return 0, false
}

// splitMarker finds the last marker in s and returns s without it and the
// key it carries ("" when there is none).
func splitMarker(s string) (string, string) {
	end := strings.LastIndex(s, string(markEdge))
	if end < 0 {
		return s, ""
	}
	start := strings.LastIndex(s[:end], string(markEdge))
	if start < 0 {
		return s, ""
	}
	run := []rune(s[start+len(string(markEdge)) : end])
	if len(run) == 0 || len(run)%4 != 0 {
		return s, ""
	}
	key := make([]byte, 0, len(run)/4)
	for i := 0; i < len(run); i += 4 {
		var c byte
		for j := range 4 {
			d, ok := digit(run[i+j])
			if !ok {
				return s, ""
			}
			c = c<<2 | d
		}
		key = append(key, c)
	}
	return s[:start] + s[end+len(string(markEdge)):], string(key)
}

// withMarker puts key's marker at the end of rich text html (before
// </body>).
func withMarker(html, key string) string {
	if key == "" {
		return html
	}
	if strings.HasSuffix(html, "</body>") {
		return strings.TrimSuffix(html, "</body>") + encodeMarker(key) + "</body>"
	}
	return html + encodeMarker(key)
}

// toRichText and fromRichText convert Markdown bodies to Asana rich text
// and back (mapping/markup, through the canonical ADF the Jira formats
// share); variables so a test can watch what is converted.
var (
	toRichText   = markup.MarkdownToAsana
	fromRichText = markup.AsanaToMarkdown
)
