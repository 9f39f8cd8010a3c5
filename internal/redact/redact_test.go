package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestForms(t *testing.T) {
	const user, secret = "ana@acme.com", "p&ss/w+rd=1"
	s := New()
	s.AddBasic(user, secret)
	jsonForm, _ := json.Marshal(secret)
	// A message quoting the JSON form (a 401 page echoing a request body),
	// printed by -o json: the JSON form escaped once more.
	quoted, _ := json.Marshal("echoed " + string(jsonForm))
	for name, text := range map[string]string{
		"raw":           "token " + secret + " end",
		"query-escaped": "https://x/?t=" + url.QueryEscape(secret),
		"path-escaped":  "https://x/" + url.PathEscape(secret),
		"json":          `{"t":` + string(jsonForm) + `}`,
		"json in json":  `{"error":` + string(quoted) + `}`,
		"basic":         "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+secret)),
		"basic raw url": base64.RawURLEncoding.EncodeToString([]byte(user + ":" + secret)),
		"secret base64": base64.StdEncoding.EncodeToString([]byte(secret)),
	} {
		out := s.String(text)
		if !strings.Contains(out, Mask) || strings.Contains(out, secret) {
			t.Errorf("%s: %q -> %q", name, text, out)
		}
	}
	if got := s.String("ana@acme.com wrote"); got != "ana@acme.com wrote" {
		t.Errorf("the user name alone is not a secret: %q", got)
	}
}

func TestShortSecretsHaveNoEncodedForms(t *testing.T) {
	s := New()
	s.Add("ab")
	// base64("ab") is "YWI=": ordinary text must not be touched by it.
	if got := s.String("YWI= stays"); got != "YWI= stays" {
		t.Fatalf("got %q", got)
	}
	if got := s.String("ab"); got != Mask {
		t.Fatalf("got %q", got)
	}
}

func TestLongestFirst(t *testing.T) {
	s := New()
	s.Add("abcd")
	s.Add("abcdefgh")
	if got := s.String("x abcdefgh y"); got != "x "+Mask+" y" {
		t.Fatalf("got %q", got)
	}
}

func TestWriterAndSlogErrorValues(t *testing.T) {
	s := New()
	s.Add("hunter22")
	var buf bytes.Buffer
	w := s.Writer(&buf)
	log := slog.New(slog.NewJSONHandler(w, nil))
	// An error value is not a string attribute: ReplaceAttr-style
	// redaction of strings alone lets it through; the writer does not.
	log.Error("call failed", "err", fmt.Errorf("401: echoed hunter22"))
	n, err := w.Write([]byte("plain hunter22\n"))
	if err != nil || n != len("plain hunter22\n") {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if strings.Contains(buf.String(), "hunter22") || strings.Count(buf.String(), Mask) != 2 {
		t.Fatalf("got %s", buf.String())
	}
}

func TestNilAndEmpty(t *testing.T) {
	var s *Set
	if s.String("x") != "x" {
		t.Fatal("nil set changed text")
	}
	e := New()
	e.Add("")
	if e.String("anything") != "anything" || len(e.List()) != 0 {
		t.Fatal("empty secret recorded")
	}
}
