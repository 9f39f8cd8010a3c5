package adapters

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type testOptions struct {
	URL  string `yaml:"url,required" help:"the site"`
	Auth struct {
		Token string `yaml:"token,secret"`
	} `yaml:"auth"`
	Limits struct {
		PerMinute int `yaml:"per_minute"`
	} `yaml:"limits" help:"per_minute"`
	Mode    string         `yaml:"mode" enum:"a,b"`
	Wait    time.Duration  `yaml:"wait"`
	Names   []string       `yaml:"names,commas"`
	On      bool           `yaml:"on"`
	Extra   map[string]any `yaml:"extra"`
	Skipped string         `yaml:"-"`
}

func TestOptionsOf(t *testing.T) {
	got := OptionsOf(&testOptions{Mode: "a", Wait: time.Minute, On: true})
	want := []Option{
		{Name: "url", Type: TypeString, Required: true, Help: "the site"},
		{Name: "auth.token", Type: TypeString, Secret: true},
		{Name: "limits", Type: TypeMap, Help: "per_minute"},
		{Name: "mode", Type: TypeString, Default: "a", Enum: []string{"a", "b"}},
		{Name: "wait", Type: TypeDuration, Default: time.Minute},
		{Name: "names", Type: TypeList},
		{Name: "on", Type: TypeBool, Default: true},
		{Name: "extra", Type: TypeMap},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}
}

func TestRegisterDerivesOptions(t *testing.T) {
	reg := NewRegistry()
	noNew := func(context.Context, Config) (Tracker, error) { return nil, nil }
	if err := reg.Register(Spec{Kind: "x", New: noNew, OptionStruct: func() any { return &testOptions{} }}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(reg.Secrets("x"), ","); got != "auth.token" {
		t.Errorf("secrets %q", got)
	}
	err := reg.Register(Spec{Kind: "y", New: noNew, Options: []Option{{Name: "url"}}})
	if err == nil || !strings.Contains(err.Error(), "OptionStruct") {
		t.Errorf("a listed option: %v", err)
	}
}
