package config

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// Types of the generic decoder's own tests: nothing here is a config type,
// so these pass only if the decoder works from the tags alone.
type (
	tOuter struct {
		Name   string            `yaml:"name"`
		Inner  tInner            `yaml:"inner"`
		Ptr    *tInner           `yaml:"ptr"`
		On     *bool             `yaml:"on"`
		Rule   tRule             `yaml:"rule"`
		Rules  map[string]tRule  `yaml:"rules" order:"Order"`
		Order  []string          // rules' keys in file order
		Switch *tSwitch          `yaml:"switch"`
		Items  []tInner          `yaml:"items,omitbroken" null:"empty item"`
		Kept   []tInner          `yaml:"kept" null:"empty kept item"`
		Tags   []string          `yaml:"tags,present"`
		Named  map[string]tNamed `yaml:"named"`
		Count  int               `yaml:"count"`
		Secret string            `yaml:"secret,secret"`
	}
	tInner struct {
		MaxItems float64 `yaml:"max_items"`
		Level    string  `yaml:"level" check:"lower"`
	}
	tRule struct {
		Direction string `yaml:"direction,scalar"`
		Owner     string `yaml:"owner"`
	}
	tSwitch struct {
		Project string `yaml:"project"`
		Kind    string `yaml:"kind"`
		On      bool
	}
	tNamed struct {
		Name  string         `yaml:",key"`
		Kind  string         `yaml:"kind"`
		Other map[string]any `yaml:",rest"`
	}
)

func (s *tSwitch) switchOn() { s.On = true }

func decodeForTest(t *testing.T, src string, v any) []string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	c := &Config{lines: map[string]int{}, secrets: newSecretSet()}
	d := &decoder{c: c, env: func(string) (string, bool) { return "", false }, overrides: map[string]string{}, budget: nodeBudget}
	d.decode(doc.Content[0], "", reflect.ValueOf(v).Elem(), nil, reflect.Value{})
	var out []string
	SortProblems(d.problems)
	for _, p := range d.problems {
		out = append(out, p.Error())
	}
	return out
}

func TestDecodeUnknownKeyInNestedStruct(t *testing.T) {
	var v tOuter
	got := decodeForTest(t, "inner: {max_iterms: 3, level: x}\nitems: [{levl: 1}, {zzzzzz: 2}]\nnam: x", &v)
	want := []string{
		"inner.max_iterms: unknown key (did you mean max_items?)",
		"items[0].levl: unknown key (did you mean level?)",
		"items[1].zzzzzz: unknown key (known: max_items, level)",
		"nam: unknown key (did you mean name?)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if v.Inner.Level != "x" {
		t.Errorf("known key next to an unknown one not decoded: %+v", v.Inner)
	}
}

func TestDecodeWrongTypeNamesPath(t *testing.T) {
	var v tOuter
	got := decodeForTest(t, "inner: [1]\nitems: [{max_items: lots}, ~, 3, {max_items: 2}]\nkept: [~, {max_items: 1}]\non: maybe\ncount: 2.5\nname: {a: b}\ntags: {a: b}", &v)
	want := []string{
		"count: want a whole number",
		"inner: want a mapping (key: value lines), got a list",
		"items[0].max_items: want a number",
		"items[1]: empty item",
		"items[2]: want a mapping (key: value lines), got a single value",
		"kept[0]: empty kept item",
		"name: want a single value, got a mapping",
		"on: want true or false",
		"tags: want a list (lines starting with -), got a mapping",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	// omitbroken leaves out the null and the scalar item; kept keeps the
	// null one, so indexes match the file.
	if len(v.Items) != 2 || v.Items[1].MaxItems != 2 || len(v.Kept) != 2 || v.Kept[1].MaxItems != 1 {
		t.Errorf("items = %+v, kept = %+v", v.Items, v.Kept)
	}
	if v.On != nil || v.Tags == nil {
		t.Errorf("on = %v (want nil after a problem), tags = %#v (want non-nil: present)", v.On, v.Tags)
	}
}

func TestDecodePointerPresentAbsent(t *testing.T) {
	for _, tt := range []struct {
		src      string
		ptr, on  bool
		onValue  bool
		problems int
	}{
		{src: "name: x"},
		{src: "ptr: ~\non: ~"},
		{src: "ptr: {}\non: false", ptr: true, on: true},
		{src: "ptr: {level: A}\non: true", ptr: true, on: true, onValue: true},
		{src: "ptr: [1]\non: [1]", problems: 2},
	} {
		var v tOuter
		got := decodeForTest(t, tt.src, &v)
		if (v.Ptr != nil) != tt.ptr || (v.On != nil) != tt.on || len(got) != tt.problems {
			t.Errorf("%q: ptr %v, on %v, problems %q", tt.src, v.Ptr, v.On, got)
			continue
		}
		if tt.on && *v.On != tt.onValue {
			t.Errorf("%q: on = %v", tt.src, *v.On)
		}
		if tt.src == "ptr: {level: A}\non: true" && v.Ptr.Level != "a" {
			t.Errorf("check lower not applied through a pointer: %q", v.Ptr.Level)
		}
	}
}

func TestDecodeScalarOrMapping(t *testing.T) {
	var v tOuter
	got := decodeForTest(t, "rule: both\nrules: {z: a-to-b, a: {direction: none, owner: b}, m: ~, x: [1]}", &v)
	if diff := cmp.Diff([]string{"rules.x: want a mapping (key: value lines), got a list"}, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if v.Rule != (tRule{Direction: "both"}) {
		t.Errorf("rule = %+v", v.Rule)
	}
	want := map[string]tRule{"z": {Direction: "a-to-b"}, "a": {Direction: "none", Owner: "b"}, "m": {}, "x": {}}
	if diff := cmp.Diff(want, v.Rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"z", "a", "m", "x"}, v.Order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestDecodeSwitchOrMapping(t *testing.T) {
	for _, tt := range []struct {
		src      string
		want     *tSwitch
		problems []string
	}{
		{src: "switch: true", want: &tSwitch{On: true}},
		{src: "switch: false"},
		{src: "switch: ~"},
		{src: "switch: {project: P}", want: &tSwitch{Project: "P"}},
		{src: "switch: maybe", problems: []string{"switch: want true, false or a mapping (project, kind)"}},
		{src: "switch: {projet: P}", want: &tSwitch{}, problems: []string{"switch.projet: unknown key (did you mean project?)"}},
	} {
		var v tOuter
		got := decodeForTest(t, tt.src, &v)
		if diff := cmp.Diff(tt.problems, got); diff != "" {
			t.Errorf("%q: problems (-want +got):\n%s", tt.src, diff)
		}
		if diff := cmp.Diff(tt.want, v.Switch); diff != "" {
			t.Errorf("%q: (-want +got):\n%s", tt.src, diff)
		}
	}
}

func TestDecodeRestAndMapKey(t *testing.T) {
	var v tOuter
	got := decodeForTest(t, "named: {j: {kind: jira, url: 'http://x', null: ~, nested: {a: [1, b]}}}\nsecret: hush", &v)
	if len(got) != 0 {
		t.Errorf("problems: %q", got)
	}
	want := map[string]tNamed{"j": {Name: "j", Kind: "jira", Other: map[string]any{"url": "http://x", "null": nil, "nested": map[string]any{"a": []any{1, "b"}}}}}
	if diff := cmp.Diff(want, v.Named); diff != "" {
		t.Errorf("named (-want +got):\n%s", diff)
	}
}

func TestKeysFromTags(t *testing.T) {
	if diff := cmp.Diff([]string{"name", "inner", "ptr", "on", "rule", "rules", "switch", "items", "kept", "tags", "named", "count", "secret"}, keysOf[tOuter]()); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"state.driver", "state.dsn", "server.listen", "server.public_url", "server.token", "log.level", "log.format"}, EnvKeys()); diff != "" {
		t.Errorf("env keys (-want +got):\n%s", diff)
	}
}

func TestDecodeSecretTag(t *testing.T) {
	var v tOuter
	c := &Config{lines: map[string]int{}, secrets: newSecretSet()}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("secret: 'https://hooks.example.com/services/T0/B0/abcdefghijklmnop'\nname: plain"), &doc); err != nil {
		t.Fatal(err)
	}
	d := &decoder{c: c, env: func(string) (string, bool) { return "", false }, overrides: map[string]string{}, budget: nodeBudget}
	d.decode(doc.Content[0], "", reflect.ValueOf(&v).Elem(), nil, reflect.Value{})
	if got := c.Redact("at abcdefghijklmnop, name plain"); got != "at "+Redacted+", name plain" {
		t.Errorf("Redact = %q", got)
	}
}
