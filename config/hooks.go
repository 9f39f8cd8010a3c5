package config

import (
	"math"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checks are the per-field checks named by check:"..." tags. Each gets the
// decoded value (a number as float64, even for an int field), reports
// problems at path, may change the value, and returns false to leave the
// field unset.
var checks = map[string]func(d *decoder, path string, v reflect.Value) bool{
	// max_change_share: mapping.Compile reads 0 as "unset" (a flow built
	// in Go), so an explicit 0 is caught here; Flow.preset keeps the
	// default from filling over it.
	"change_share": func(d *decoder, path string, v reflect.Value) bool {
		if v.Float() == 0 {
			d.problem(path, "must be more than 0 and at most 1 (0.25 is a quarter of the flow's items)")
		}
		return true
	},
	"create_share": func(d *decoder, path string, v reflect.Value) bool {
		if f := v.Float(); !(f > 0) || math.IsNaN(f) || math.IsInf(f, 0) {
			d.problem(path, "must be more than 0 (0.5: a run may create at most half as many items as the flow links; 1: as many)")
			return false
		}
		return true
	},
	"first_contact": func(d *decoder, path string, v reflect.Value) bool {
		if f := v.Float(); f < 0 || f != math.Trunc(f) {
			d.problem(path, "must be a whole number, 0 or more (how many unlinked items both sides may hold before a flow's first run stops for a plan review)")
			return false
		}
		return true
	},
	"match": func(d *decoder, path string, v reflect.Value) bool {
		for i, r := range v.Interface().([]string) {
			if !slices.Contains(MatchRules, r) {
				d.problem(index(path, i), "%q is not a match rule (%s)", r, strings.Join(MatchRules, ", "))
			}
		}
		return true
	},
	// A relative path is relative to the config file's folder.
	"config_path": func(d *decoder, path string, v reflect.Value) bool {
		p := v.String()
		if p != "" && !filepath.IsAbs(p) {
			v.SetString(filepath.Join(d.c.BaseDir(), p))
		}
		return p != ""
	},
	"lower": func(d *decoder, path string, v reflect.Value) bool {
		v.SetString(strings.ToLower(v.String()))
		return true
	},
	"days": func(d *decoder, path string, v reflect.Value) bool {
		if f := v.Float(); f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
			d.problem(path, "want a whole number of days")
			return false
		}
		return true
	},
	"http_url": func(d *decoder, path string, v reflect.Value) bool {
		if !httpURL(v.String()) {
			d.problem(path, "want an http(s) URL")
		}
		return true
	},
	"weekday": func(d *decoder, path string, v reflect.Value) bool {
		s := strings.ToLower(v.String())
		if !slices.Contains(weekdays, s) {
			d.problem(path, "want a day of the week (monday … sunday)")
			return false
		}
		v.SetString(s)
		return true
	},
	"hour": func(d *decoder, path string, v reflect.Value) bool {
		if f := v.Float(); f != math.Trunc(f) || f < 0 || f > 23 {
			d.problem(path, "want a whole hour 0..23 (UTC)")
			return false
		}
		return true
	},
	"rate": func(d *decoder, path string, v reflect.Value) bool {
		if v.Float() <= 0 {
			d.problem(path, "want messages a second, more than 0")
			return false
		}
		return true
	},
	// Adapter options (see options.go).
	"positive": func(d *decoder, path string, v reflect.Value) bool {
		if f := v.Float(); !(f > 0) || f != math.Trunc(f) {
			d.problem(path, "want a positive whole number")
			return false
		}
		return true
	},
	"not_negative": func(d *decoder, path string, v reflect.Value) bool {
		if f := v.Float(); !(f >= 0) || math.IsInf(f, 0) {
			d.problem(path, "want a number, 0 or more")
			return false
		}
		return true
	},
	"events": func(d *decoder, path string, v reflect.Value) bool {
		for i, ev := range v.Interface().([]string) {
			if !slices.Contains(NotificationEvents, ev) {
				d.problem(index(path, i), "unknown event %q (known: %s)", ev, strings.Join(NotificationEvents, ", "))
			}
		}
		return true
	},
}

// secret remembers v, and the parts of it that are a credential when v is
// a webhook URL: its path (Slack) or a query value (Teams' sig), for
// errors that print a part of the URL.
func (d *decoder) secret(v string) {
	d.c.secrets.add(v)
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return
	}
	if strings.Count(u.Path, "/") >= 3 && len(u.Path) >= 20 { // not a plain /hook
		d.c.secrets.add(u.Path)
	}
	if last := u.Path[strings.LastIndex(u.Path, "/")+1:]; len(last) >= 12 {
		d.c.secrets.add(last)
	}
	for _, vs := range u.Query() {
		for _, q := range vs {
			if len(q) >= 8 {
				d.c.secrets.add(q)
			}
		}
	}
}

// switchOr decodes a single true/false value where a mapping of known
// keys may stand instead. scalar is false when n is a mapping (or absent),
// which the caller then decodes.
func (d *decoder) switchOr(n *yaml.Node, path string, known []string) (on, scalar bool) {
	r := resolve(n)
	if isNull(r) || r.Kind != yaml.ScalarNode {
		return false, false
	}
	b, ok := d.boolean(r, path, "want true, false or a mapping ("+strings.Join(known, ", ")+")")
	return b && ok, true
}

// preset fills the default an explicit max_change_share: 0 must not be
// mistaken for absent (it is reported instead).
func (f *Flow) preset() { f.MaxChangeShare = DefaultMaxChangeShare }

// preset fills the blocked labels that only a written (even empty)
// blocked_labels replaces.
func (in *Initiatives) preset() { in.Rollup.AtRisk.BlockedLabels = []string{DefaultBlockedLabel} }

// switchOn: `create: true` creates with the tracker's defaults.
func (*CreateRule) switchOn() {}

// switchOn: `write_back: true` writes to the source and tracking issues.
func (w *WriteBack) switchOn() { w.Source, w.Tracking = true, true }

func (t *Tracker) check(d *decoder, path string) {
	if t.Kind == "" {
		d.problem(join(path, "kind"), "required (the adapter: %s)", strings.Join(kindsHint(), ", "))
	}
}

// decodeYAML reads a custom field name or a mapping of size labels to
// numbers.
func (e *Estimate) decodeYAML(d *decoder, n *yaml.Node, path string) bool {
	v := resolve(n)
	switch {
	case !isNull(v) && v.Kind == yaml.MappingNode:
		sub, _ := d.mapping(v, path)
		e.Labels = make(map[string]float64, len(sub))
		for _, se := range sub {
			if f, ok := d.number(se.val, join(path, se.key)); ok {
				e.Labels[se.key] = f
			}
		}
		return true
	case !isNull(v) && v.Kind == yaml.ScalarNode:
		var ok bool
		e.Field, ok = d.str(v, path)
		return ok
	}
	d.problem(path, "want a custom field name ('Story Points') or a mapping of labels to numbers ({'size: S': 1})")
	return false
}
