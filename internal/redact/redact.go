// Package redact is the one place where secrets are scrubbed from text on
// its way out of the process: command output, log lines, errors stored in
// the state database and the daemon's HTTP answers all pass through a Set.
//
// A secret rarely leaks verbatim. It turns up URL-escaped inside an error
// that printed a URL, JSON-escaped inside an API body, or as the base64
// "user:token" pair of an HTTP Basic Authorization header that a tracker
// echoed back in a 401 page. Add records each of those forms, so callers
// never have to think about them.
//
// Global is the process-wide set: config registers every secret it expands
// there, and the outputs that cannot reach a config (a store writing an
// error row, an HTTP handler) redact through it. Secrets are only ever
// added, so a stale secret can at worst over-redact, never leak.
package redact

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Mask replaces every secret form found in text.
const Mask = "[REDACTED]"

// minDerived is the shortest secret whose encoded forms are recorded:
// the base64 of a two-letter value would match ordinary text.
const minDerived = 4

// Set is a set of secret values and the forms derived from them. The zero
// value is not usable; use New. A Set is safe for concurrent use.
type Set struct {
	mu   sync.RWMutex
	vals map[string]struct{}
	rep  *strings.Replacer // nil when stale
}

// New returns an empty set.
func New() *Set { return &Set{vals: map[string]struct{}{}} }

// Global is the process-wide set.
var Global = New()

// Add records v and its escaped and encoded forms. Empty values are ignored.
func (s *Set) Add(v string) {
	if v == "" {
		return
	}
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v), jsonEscape(v)}
	if len(v) >= minDerived {
		forms = append(forms, b64forms(v)...)
	}
	s.addForms(forms)
}

// AddBasic records the HTTP Basic credentials of user and secret: the
// base64 of "user:secret" as an Authorization header carries it. The
// secret itself is recorded too; the user name (an email, often) is not.
func (s *Set) AddBasic(user, secret string) {
	if secret == "" {
		return
	}
	s.Add(secret)
	s.addForms(b64forms(user + ":" + secret))
}

func (s *Set) addForms(forms []string) {
	// Each form as a JSON string holds it too: -o json prints an error
	// that quotes the JSON-escaped token (p\u0026ss) as p\\u0026ss.
	for _, f := range forms {
		if e := jsonEscape(f); e != f {
			forms = append(forms, e)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range forms {
		if f == "" {
			continue
		}
		if _, ok := s.vals[f]; !ok {
			s.vals[f] = struct{}{}
			s.rep = nil
		}
	}
}

// b64forms are the standard and URL alphabets, padded and not. Without
// padding a prefix of the padded form would also match, which is fine.
func b64forms(v string) []string {
	b := []byte(v)
	return []string{
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
	}
}

// jsonEscape is v as it appears between the quotes of a JSON string.
func jsonEscape(v string) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) < 2 {
		return v
	}
	return string(b[1 : len(b)-1])
}

// List returns the recorded forms, longest first, so that a secret that
// contains another is replaced whole.
func (s *Set) List() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.vals))
	for v := range s.vals {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return out
}

// String returns text with every recorded form replaced by Mask.
func (s *Set) String(text string) string {
	if s == nil || text == "" {
		return text
	}
	s.mu.RLock()
	rep, n := s.rep, len(s.vals)
	s.mu.RUnlock()
	if n == 0 {
		return text
	}
	if rep == nil {
		l := s.List()
		pairs := make([]string, 0, 2*len(l))
		for _, v := range l {
			pairs = append(pairs, v, Mask)
		}
		rep = strings.NewReplacer(pairs...)
		s.mu.Lock()
		s.rep = rep
		s.mu.Unlock()
	}
	return rep.Replace(text)
}

// Contains reports whether text holds a recorded form.
func (s *Set) Contains(text string) bool { return s.String(text) != text }

// Writer returns a writer that redacts each Write before passing it on.
// Each Write is redacted on its own, so a secret split across two writes
// would pass: slog handlers, json.Encoder and fmt.Fprint* write a record,
// a value or a line in one call, which is what it is used with.
func (s *Set) Writer(w io.Writer) io.Writer { return &writer{s: s, w: w} }

type writer struct {
	s *Set
	w io.Writer
}

func (w *writer) Write(p []byte) (int, error) {
	out := w.s.String(string(p))
	if _, err := io.WriteString(w.w, out); err != nil {
		return 0, err
	}
	// Report the caller's length: the caller wrote all of p, as far as it
	// can tell, even when the redacted text is longer or shorter.
	return len(p), nil
}

// Unwrap returns the writer w passes to, for callers that check whether
// output is a terminal.
func (w *writer) Unwrap() io.Writer { return w.w }
