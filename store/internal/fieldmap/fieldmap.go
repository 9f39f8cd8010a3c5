// Package fieldmap encodes the field maps of bases and journal entries
// (canonical field name to value) as the JSON objects every state store
// driver keeps, byte for byte alike, so a store copied from one driver to
// another reads back the same.
package fieldmap

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Field maps are stored as JSON objects so the state stays readable with
// the database's own shell and json functions. The engine reads the bases of
// every link of a flow (100,000 of them) on each run, and encoding/json
// spends most of that time on reflection, so the exact shape this file
// writes is parsed by hand; anything else (a file edited by hand, or
// written by a future version) falls back to encoding/json.

// Encode writes m as a JSON object with sorted keys; nil is "null"
// so that a nil map and an empty one both round-trip as themselves.
func Encode(m map[string]string) string {
	if m == nil {
		return "null"
	}
	keys := make([]string, 0, len(m))
	n := 2
	for k, v := range m {
		keys = append(keys, k)
		n += len(k) + len(v) + 6
	}
	sort.Strings(keys)
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, k)
		b.WriteByte(':')
		writeString(&b, m[k])
	}
	b.WriteByte('}')
	return b.String()
}

const hexDigits = "0123456789abcdef"

// writeString quotes s as a JSON string. Bytes that are not valid UTF-8
// pass through unchanged (encoding/json would replace them with U+FFFD),
// because the store must give back exactly what it was given.
func writeString(b *strings.Builder, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.WriteString(s[start:i])
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
		start = i + 1
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// Decode reads what Encode wrote, or any JSON object of
// strings. Unescaped keys and values share the memory of s instead of
// being copied, which halves the allocations of a large ListBases.
func Decode(s string) (map[string]string, error) {
	m, _, err := DecodeBuf(s, nil)
	return m, err
}

// DecodeBuf is Decode with a scratch slice for the parsed
// pairs, reused across calls so the map is made at its exact size.
func DecodeBuf(s string, buf []string) (map[string]string, []string, error) {
	if s == "null" {
		return nil, buf, nil
	}
	buf, ok := parseFlat(s, buf[:0])
	if ok {
		m := make(map[string]string, len(buf)/2)
		for i := 0; i < len(buf); i += 2 {
			m[buf[i]] = buf[i+1]
		}
		return m, buf, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, buf, fmt.Errorf("decoding field map %.40q: %w", s, err)
	}
	return m, buf, nil
}

// parseFlat parses {"k":"v",...} with no whitespace, appending keys and
// values alternately to kv. ok is false for anything else, including
// malformed input, which encoding/json then reports properly.
func parseFlat(s string, kv []string) (_ []string, ok bool) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return kv, false
	}
	if len(s) == 2 {
		return kv, true
	}
	i := 1
	for {
		k, n, ok := parseString(s, i)
		if !ok || n >= len(s) || s[n] != ':' {
			return kv, false
		}
		v, n2, ok := parseString(s, n+1)
		if !ok || n2 >= len(s) {
			return kv, false
		}
		kv = append(kv, k, v)
		switch s[n2] {
		case ',':
			i = n2 + 1
		case '}':
			return kv, n2 == len(s)-1
		default:
			return kv, false
		}
	}
}

// parseString parses the JSON string starting at s[i] and returns it and
// the index just past its closing quote.
func parseString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	i++
	start := i
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[start:i], i + 1, true
		case c == '\\':
			return unescape(s, start, i)
		case c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

// unescape finishes a string that has escapes: s[start:i] is plain and
// s[i] is the first backslash.
func unescape(s string, start, i int) (string, int, bool) {
	var b strings.Builder
	b.Grow(i - start + 16)
	b.WriteString(s[start:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), i + 1, true
		case c < 0x20:
			return "", 0, false
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", 0, false
		}
		switch s[i+1] {
		case '"', '\\', '/':
			b.WriteByte(s[i+1])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok {
				return "", 0, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2, ok = hex4(s, i+2)
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			b.WriteRune(r)
			continue
		default:
			return "", 0, false
		}
		i += 2
	}
	return "", 0, false
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
