package fieldmap

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestFieldsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		m    map[string]string
		want string // the stored form, "" to skip the check
	}{
		{"nil", nil, "null"},
		{"empty", map[string]string{}, "{}"},
		{"sorted", map[string]string{"title": "T", "status": "Done"}, `{"status":"Done","title":"T"}`},
		{"escapes", map[string]string{"q": "a\"b\\c\nd\re\tf\x00\x1f"}, `{"q":"a\"b\\c\nd\re\tf\u0000\u001f"}`},
		{"unicode", map[string]string{"名前": "Ünïcødé 🚀", "rtl": "مرحبا"}, ""},
		{"empty strings", map[string]string{"": ""}, `{"":""}`},
		{"invalid utf-8 kept byte for byte", map[string]string{"k": "a\xffb\xc3"}, "{\"k\":\"a\xffb\xc3\"}"},
		{"separators inside values", map[string]string{"a": `","`, "b": `":"`, "c": "}"}, ""},
	}
	for _, tc := range tests {
		enc := Encode(tc.m)
		if tc.want != "" && enc != tc.want {
			t.Errorf("%s: encoded %s, want %s", tc.name, enc, tc.want)
		}
		got, err := Decode(enc)
		if err != nil {
			t.Errorf("%s: decode: %v", tc.name, err)
			continue
		}
		if d := cmp.Diff(tc.m, got); d != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", tc.name, d)
		}
		if (tc.m == nil) != (got == nil) {
			t.Errorf("%s: nil-ness changed: %v became %v", tc.name, tc.m == nil, got == nil)
		}
		if utf8.ValidString(enc) {
			var std map[string]string
			if err := json.Unmarshal([]byte(enc), &std); err != nil {
				t.Errorf("%s: encoding/json rejects %s: %v", tc.name, enc, err)
			} else if d := cmp.Diff(tc.m, std); d != "" {
				t.Errorf("%s: encoding/json reads it differently (-want +got):\n%s", tc.name, d)
			}
		}
	}
}

// Other writers (a person with the sqlite3 shell, a later version) may
// write any JSON; the reader must agree with encoding/json on it.
func TestFieldsDecodeForeign(t *testing.T) {
	tests := []string{
		`{ "a" : "b" , "c":"d" }`,
		`{"e":"\u00e9\u00C9","s":"\ud83d\ude80","lone":"\ud800x","slash":"a\/b","bf":"\b\f"}`,
		"{\"tab\":\"x\\ty\"}",
		`{"dup":"1","dup":"2"}`,
		`{}`,
		`null`,
	}
	for _, in := range tests {
		var want map[string]string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatalf("encoding/json on %s: %v", in, err)
		}
		got, err := Decode(in)
		if err != nil {
			t.Errorf("Decode(%s): %v", in, err)
			continue
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("Decode(%s) (-encoding/json +got):\n%s", in, d)
		}
	}

	for _, bad := range []string{``, `{`, `{"a":1}`, `{"a":"b"`, `["a"]`, `{"a":"b"}x`, `{"a" "b"}`, "{\"a\":\"\x01\"}"} {
		if m, err := Decode(bad); err == nil {
			t.Errorf("Decode(%q) = %v, want an error", bad, m)
		}
	}
}

func FuzzFields(f *testing.F) {
	f.Add("status", "In Progress", `{"a":"b"}`)
	f.Add("", "\x00\"\\\n", `{"e":"\u00e9"}`)
	f.Add("k", "\xff", `{"s":"\ud83d\ude80"}`)
	f.Fuzz(func(t *testing.T, k, v, raw string) {
		m := map[string]string{k: v, k + "2": v + v}
		got, err := Decode(Encode(m))
		if err != nil {
			t.Fatalf("decode of encoded %q: %v", m, err)
		}
		if d := cmp.Diff(m, got); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
		// On arbitrary input, agree with encoding/json whenever it accepts.
		var want map[string]string
		if json.Unmarshal([]byte(raw), &want) != nil || !utf8.ValidString(raw) {
			return
		}
		got, err = Decode(raw)
		if err != nil {
			t.Fatalf("Decode(%q): %v; encoding/json accepts it", raw, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("Decode(%q) (-encoding/json +got):\n%s", raw, d)
		}
	})
}
