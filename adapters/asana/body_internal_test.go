package asana

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMarkerRoundTrip(t *testing.T) {
	for _, key := range []string{"f/a/PLAT-1", "flow/b/acme/app#45", "ключ", "a"} {
		html := withMarker("<body>Notes <strong>here</strong></body>", key)
		if !strings.HasPrefix(html, "<body>Notes <strong>here</strong>") || !strings.HasSuffix(html, "</body>") {
			t.Errorf("marker of %q not at the end of the body: %q", key, html)
		}
		clean, got := splitMarker(html)
		if got != key || clean != "<body>Notes <strong>here</strong></body>" {
			t.Errorf("splitMarker(withMarker(%q)) = %q, %q", key, clean, got)
		}
	}
	// Text that merely holds the edge character is not a marker.
	for _, s := range []string{"<body>a\u2063b</body>", "<body>\u2063\u2063</body>", "<body>\u2063\u200bx\u200c\u200d\u2063</body>"} {
		if clean, key := splitMarker(s); key != "" || clean != s {
			t.Errorf("splitMarker(%q) = %q, %q; want it left alone", s, clean, key)
		}
	}
}

func FuzzMarker(f *testing.F) {
	f.Add("<body>text</body>", "f/a/1")
	f.Add("", "k")
	f.Add("<body>\u2063</body>", "x\u2063y")
	f.Fuzz(func(t *testing.T, html, key string) {
		if key == "" || strings.ContainsRune(html, markEdge) {
			t.Skip()
		}
		clean, got := splitMarker(withMarker(html, key))
		if got != key || clean != html {
			t.Fatalf("round trip of %q in %q: got %q in %q", key, html, got, clean)
		}
		if s := encodeMarker(key); strings.IndexFunc(s, func(r rune) bool { return r != markEdge && !isDigit(r) }) >= 0 || !utf8.ValidString(s) {
			t.Fatalf("marker of %q holds visible characters: %q", key, s)
		}
	})
}

func isDigit(r rune) bool { _, ok := digit(r); return ok }
