package roadmap

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser and, when they parse, to
// every kind of in-place edit. Nothing may panic; an edit may fail, but one
// that succeeds has been re-parsed and checked against the intended tree by
// splice itself, so success means the splice was right.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"initiatives:\n- key: A\n  status: planned\n",
		"initiatives:\n  - key: A\n    description: |+\n      x\n\n    status: done\n",
		"initiatives:\n  - key: A\n    title: a\n      b\n    labels: [x, 'y''s', \"z\"]  # c\n",
		"initiatives: &l\n  - key: A\n    owner: &o ana\n    team: *o\n",
		"\ufeffinitiatives:\r\n  - key: A\r\n    due: 2027-01-01\r\n",
		"initiatives:\n- {key: A, status: planned}\n- key: B\n  labels:\n  - a\n  - b\n",
		"initiatives:\n  - key: A\n    title: !!str 12\n    children:\n      - PLAT-1 # one\n",
	} {
		f.Add([]byte(s))
	}
	st, err := newStatusSet(DefaultStatuses)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		d, err := parse("fuzz.yaml", src, st)
		if err != nil {
			return
		}
		for _, in := range d.items {
			_ = in.scalar(keyTitle)
			_ = listValue(pairValue(in, keyChildren))
		}
		if len(d.items) > 0 {
			key := d.items[0].key
			edits := []func(d *document) (*document, error){
				func(d *document) (*document, error) {
					return d.setKey(d.byKey[key], keyStatus, value{scalar: "done", tag: "!!str"}, st)
				},
				func(d *document) (*document, error) {
					return d.setKey(d.byKey[key], keyProgress, value{scalar: "0.5"}, st)
				},
				func(d *document) (*document, error) {
					return d.setKey(d.byKey[key], keyDescription, value{scalar: "line one\nline two", tag: "!!str"}, st)
				},
				func(d *document) (*document, error) {
					return d.setKey(d.byKey[key], keyLabels, value{list: []string{"a", "b, c"}, isList: true}, st)
				},
				func(d *document) (*document, error) { return d.removeKey(d.byKey[key], keyTitle, st) },
				func(d *document) (*document, error) { return d.removeKey(d.byKey[key], keyLabels, st) },
				func(d *document) (*document, error) { return d.removeItem(d.byKey[key], st) },
			}
			for _, e := range edits {
				_, _ = e(d)
			}
		}
		_, _ = d.appendItem([]keyValue{{keyKey, value{scalar: "INIT-99", tag: "!!str"}}, {keyTitle, value{scalar: "new", tag: "!!str"}}}, st)
	})
}
