package adapters

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestVerifySHA256(t *testing.T) {
	body := []byte(`{"action":"edited"}`)
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write(body)
	good := "sha256=" + hex.EncodeToString(m.Sum(nil))
	for _, tc := range []struct {
		name, secret, sig string
		ok                bool
	}{
		{"good", "s3cret", good, true},
		{"no secret configured", "", good, false},
		{"missing", "s3cret", "", false},
		{"wrong algorithm", "s3cret", strings.Replace(good, "sha256=", "sha1=", 1), false},
		{"not hex", "s3cret", "sha256=zz", false},
		{"wrong secret", "other", good, false},
		{"tampered", "s3cret", good[:len(good)-1] + "0", false},
	} {
		err := VerifySHA256(tc.secret, "X-Hub-Signature-256", tc.sig, body)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrUnauthorized)) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the secret is in the error: %v", tc.name, err)
		}
	}
}

func TestTokenRoundTrip(t *testing.T) {
	type tok struct {
		A int    `json:"a"`
		B string `json:"b"`
	}
	var got tok
	if err := DecodeToken(EncodeToken(tok{7, "x/y#1"}), &got); err != nil || got != (tok{7, "x/y#1"}) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if err := DecodeToken("!!", &got); err == nil {
		t.Fatal("a broken token decoded")
	}
}

func TestDeliverySet(t *testing.T) {
	s := NewDeliverySet(2)
	if !s.Add("a") || s.Add("a") || !s.Has("a") {
		t.Fatal("a redelivery was not recognised")
	}
	s.Add("b")
	s.Add("c") // pushes "a" out
	if s.Has("a") || !s.Has("b") || !s.Has("c") {
		t.Fatal("the set does not keep exactly the last 2 ids")
	}
	// A removed id is new again, and leaves room: the set still keeps
	// the last 2.
	s.Remove("b")
	s.Remove("never added")
	if s.Has("b") || !s.Has("c") {
		t.Fatal("Remove forgot the wrong ids")
	}
	if !s.Add("b") || !s.Add("d") {
		t.Fatal("a removed id (or a new one) was taken for a repeat")
	}
	if s.Has("c") || !s.Has("b") || !s.Has("d") {
		t.Fatal("after a Remove the set does not keep exactly the last 2 ids")
	}
}

func TestLabelProblem(t *testing.T) {
	jira := Capabilities{LabelMaxLen: 255, LabelForbidden: " \t\n\r"}
	gh := Capabilities{LabelMaxLen: 50}
	for _, c := range []struct {
		caps  Capabilities
		label string
		want  string
	}{
		{jira, "help-wanted", ""},
		{jira, "help wanted", "it holds white space"},
		{jira, "tab\there", "it holds white space"},
		{jira, strings.Repeat("é", 255), ""},
		{jira, strings.Repeat("é", 256), "it is 256 characters long, over 255"},
		{gh, "good first issue", ""},
		{gh, strings.Repeat("x", 51), "it is 51 characters long, over 50"},
		{Capabilities{}, strings.Repeat("x ", 500), ""},
		{Capabilities{LabelForbidden: ","}, "a,b", `it holds ","`},
	} {
		if got := c.caps.LabelProblem(c.label); got != c.want {
			t.Errorf("LabelProblem(%.20q) = %q, want %q", c.label, got, c.want)
		}
	}
}
