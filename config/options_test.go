package config

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeOptions: the tag options adapters use, on values already
// expanded when the file was parsed.
func TestDecodeOptions(t *testing.T) {
	type opts struct {
		URL  string `yaml:"url,required" help:"the site"`
		Auth struct {
			Token string `yaml:"token,secret,required"`
		} `yaml:"auth"`
		Mode  string   `yaml:"mode" enum:"a,b"`
		Names []string `yaml:"names,commas"`
		Limit int      `yaml:"limit" check:"positive" help:"requests a minute"`
		Rate  float64  `yaml:"rate" check:"not_negative"`
	}
	var got opts
	raw := map[string]any{"url": "https://x/${NOT_EXPANDED}", "auth": map[string]any{"token": "p${a}ss"}, "mode": "b", "names": "x, y,", "limit": 3, "rate": 0}
	if errs := DecodeOptions(raw, "trackers.t", &got); len(errs) > 0 {
		t.Fatal(errs)
	}
	want := opts{URL: "https://x/${NOT_EXPANDED}", Mode: "b", Names: []string{"x", "y"}, Limit: 3}
	want.Auth.Token = "p${a}ss"
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("decoded (-want +got):\n%s", d)
	}

	errs := DecodeOptions(map[string]any{"mode": "c", "names": []any{"x, y"}, "limit": "many", "rate": -1, "other": 1}, "trackers.t", &opts{})
	wantErrs := `[trackers.t.auth.token: required trackers.t.limit: want a number (requests a minute) trackers.t.mode: "c" is not one of a, b trackers.t.other: unknown key (known: url, auth, mode, names, limit, rate) trackers.t.rate: want a number, 0 or more trackers.t.url: required (the site)]`
	if got := fmt.Sprint(errs); got != wantErrs {
		t.Errorf("problems\n%s\nwant\n%s", got, wantErrs)
	}
}
