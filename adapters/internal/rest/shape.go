package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tracksync/tracksync/adapters"
)

// Shape is what a call expects a 2xx body to be. A body of another shape
// (a proxy's HTML login page, JSON cut off mid-way, an empty body, {}
// where a listing was expected) is not success: Decode makes it an
// error wrapping adapters.ErrBadResponse.
type Shape struct {
	what string
	kind shapeKind
	keys []string
	// in, when set, is a key (one of keys) whose value must be an object
	// holding every one of ids with a value other than null or "".
	in  string
	ids []string
}

type shapeKind int

const (
	anyJSON shapeKind = iota // empty or any JSON
	object
	array
)

// NoContent expects no body (a Jira PUT answers 204): an empty body or
// any JSON passes; anything else, an HTML page most of all, means the
// write was answered by something other than the tracker.
func NoContent() Shape { return Shape{what: "an empty or JSON answer", kind: anyJSON} }

// Object expects a JSON object, what names it in errors ("an issue"),
// holding every one of keys with a value other than null.
func Object(what string, keys ...string) Shape {
	return Shape{what: what, kind: object, keys: keys}
}

// Record expects a JSON object whose key holds one record: an object
// with every one of ids set (not null, not ""). {"data": {}} is no
// record: taken for one, a create would link its source to an empty id.
func Record(what, key string, ids ...string) Shape {
	return Shape{what: what, kind: object, keys: []string{key}, in: key, ids: ids}
}

// Array expects a JSON array (empty is fine: an empty page).
func Array(what string) Shape { return Shape{what: what, kind: array} }

// Check says what is wrong with body for s; nil when nothing is.
func (s Shape) Check(body []byte) error {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		if s.kind == anyJSON {
			return nil
		}
		return fmt.Errorf("empty body where %s was expected", s.what)
	}
	if !json.Valid(b) {
		if b[0] == '<' {
			return fmt.Errorf("an HTML or XML page where %s was expected", s.what)
		}
		return fmt.Errorf("invalid or cut JSON where %s was expected", s.what)
	}
	switch s.kind {
	case array:
		if b[0] != '[' {
			return fmt.Errorf("%s where %s was expected", jsonKind(b[0]), s.what)
		}
	case object:
		if b[0] != '{' {
			return fmt.Errorf("%s where %s was expected", jsonKind(b[0]), s.what)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("unreadable object where %s was expected: %v", s.what, err)
		}
		var missing []string
		for _, k := range s.keys {
			if v, ok := m[k]; !ok || string(bytes.TrimSpace(v)) == "null" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("an object without %s where %s was expected", strings.Join(missing, ", "), s.what)
		}
		if s.in != "" {
			var rec map[string]json.RawMessage
			if err := json.Unmarshal(m[s.in], &rec); err != nil {
				return fmt.Errorf("%s in %s where %s was expected", jsonKind(bytes.TrimSpace(m[s.in])[0]), s.in, s.what)
			}
			for _, k := range s.ids {
				if v, ok := rec[k]; !ok || string(bytes.TrimSpace(v)) == "null" || string(bytes.TrimSpace(v)) == `""` {
					missing = append(missing, s.in+"."+k)
				}
			}
			if len(missing) > 0 {
				return fmt.Errorf("an object without %s where %s was expected", strings.Join(missing, ", "), s.what)
			}
		}
	}
	return nil
}

func jsonKind(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	}
	return "a bare value"
}

// Decode checks a 2xx body against s and decodes it into out (nil: only
// checked). Any failure, the shape or the decoding, is an
// *adapters.APIError wrapping adapters.ErrBadResponse that names the
// status and the first bytes of the body: retryable, never an empty page.
func Decode(tracker, op string, status int, body []byte, s Shape, out any) error {
	err := s.Check(body)
	if err == nil && out != nil && len(bytes.TrimSpace(body)) > 0 {
		if derr := json.Unmarshal(body, out); derr != nil {
			err = fmt.Errorf("decoding %s: %v", s.what, derr)
		}
	}
	if err == nil {
		return nil
	}
	return BadResponse(tracker, op, status, body, err)
}

// BadResponse is the error of a 2xx answer whose body is unusable: why
// is what was wrong with it.
func BadResponse(tracker, op string, status int, body []byte, why error) error {
	start := "the body is empty"
	if s := Snippet(body); s != "" {
		start = "the body starts: " + s
	}
	return &adapters.APIError{Tracker: tracker, Op: op, Status: status,
		Message: fmt.Sprintf("unreadable answer: %v; %s", why, start), Err: adapters.ErrBadResponse}
}
