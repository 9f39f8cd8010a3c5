package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// The config types declare their keys once, in yaml struct tags; the
// decoder below walks the YAML nodes into them by reflection, and the
// known-key lists of unknown-key problems come from the same tags.
//
//	yaml:"key,option,..."
//
// Options:
//   - env: a TRACKSYNC_ variable may override the value (see EnvKeys).
//   - strict: the strings of this section are set only when every ${VAR}
//     in them expands, so that a default applies instead of half a value.
//     Elsewhere a string keeps what did expand (the problem is reported).
//   - secret: the value, and the credential parts of a URL, are secrets.
//   - present: a list or map is non-nil whenever its key is written, even
//     empty or null (Flow.Match: "match nothing").
//   - omitbroken: items of this list or map that are not mappings are left
//     out; otherwise they are kept as zero values so that indexes match the
//     file.
//   - scalar: a bare single value stands for the whole struct and sets this
//     field (`title: both`); the key may be empty.
//   - rest: a map receiving every key the struct does not declare; the
//     struct then has no unknown keys.
//   - key: set to the struct's key in the enclosing map.
//   - required: a struct reports the key when its field is left zero
//     (with the field's help tag, if any, as the hint).
//   - commas: a single string for a list of strings is split at commas
//     ("a, b" is a and b); items of a written list are not split.
//
// Other tags on the same field:
//   - check:"name": a function of checks run on the decoded value; it
//     reports problems and may refuse the value.
//   - null:"message": the problem for a null item of this list or map.
//   - order:"Field": the []string field receiving this map's keys in file
//     order.
//   - enum:"a,b": a string must be one of these.
//   - help:"...": what the key is for, in a "required" problem and a
//     number's "want a number" (and in the option lists adapters derive
//     from their option structs).
//
// Hooks on a type, for what does not fit a tag: preset (values an explicit
// zero must beat), switchOn (true or false may stand for the mapping),
// decodeYAML (a wholly custom shape) and check (after its keys).

// field is one tagged field of a struct.
type field struct {
	key                              string
	index                            int
	env, strict, secret, present     bool
	omitbroken, scalar, rest, mapKey bool
	required, commas                 bool
	check, null, help                string
	enum                             []string
	order                            int // index of the order field, or -1
}

// shape is what the decoder knows about a struct type.
type shape struct {
	fields       []field // in declaration order
	byKey        map[string]*field
	keys         []string // the known keys, in declaration order
	scalar, rest *field
	mapKey       int // -1 when no field takes the map key
}

// Type-level hooks, implemented on the pointer.
type (
	presetter interface{ preset() }
	switcher  interface{ switchOn() }
	custom    interface {
		decodeYAML(d *decoder, n *yaml.Node, path string) bool
	}
	checker interface{ check(d *decoder, path string) }
)

var (
	shapes       sync.Map // reflect.Type -> *shape
	durationType = reflect.TypeFor[time.Duration]()
)

// shapeOf parses t's tags once. A malformed tag is a programming error.
func shapeOf(t reflect.Type) *shape {
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	s := &shape{byKey: map[string]*field{}, mapKey: -1}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("yaml")
		if !sf.IsExported() || !ok || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := field{key: name, index: i, check: sf.Tag.Get("check"), null: sf.Tag.Get("null"), help: sf.Tag.Get("help"), order: -1}
		if e := sf.Tag.Get("enum"); e != "" {
			f.enum = strings.Split(e, ",")
		}
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "":
			case "env":
				f.env = true
			case "strict":
				f.strict = true
			case "secret":
				f.secret = true
			case "present":
				f.present = true
			case "omitbroken":
				f.omitbroken = true
			case "scalar":
				f.scalar = true
			case "rest":
				f.rest = true
			case "key":
				f.mapKey = true
			case "required":
				f.required = true
			case "commas":
				f.commas = true
			default:
				panic(fmt.Sprintf("config: %s.%s: unknown yaml tag option %q", t, sf.Name, o))
			}
		}
		if o := sf.Tag.Get("order"); o != "" {
			of, ok := t.FieldByName(o)
			if !ok {
				panic(fmt.Sprintf("config: %s.%s: no order field %s", t, sf.Name, o))
			}
			f.order = of.Index[0]
		}
		if f.check != "" && checks[f.check] == nil {
			panic(fmt.Sprintf("config: %s.%s: no check %q", t, sf.Name, f.check))
		}
		s.fields = append(s.fields, f)
	}
	for i := range s.fields {
		f := &s.fields[i]
		switch {
		case f.mapKey:
			s.mapKey = f.index
		case f.rest:
			s.rest = f
		case f.scalar:
			s.scalar = f
		}
		if f.key != "" && !f.rest && !f.mapKey {
			s.byKey[f.key] = f
			s.keys = append(s.keys, f.key)
		}
	}
	v, _ := shapes.LoadOrStore(t, s)
	return v.(*shape)
}

// keysOf lists T's known keys, in declaration order.
func keysOf[T any]() []string { return shapeOf(reflect.TypeFor[T]()).keys }

// envPaths lists the key paths under t whose fields are tagged env.
func envPaths(t reflect.Type, path string) []string {
	var out []string
	for _, f := range shapeOf(t).fields {
		p := join(path, f.key)
		switch ft := t.Field(f.index).Type; {
		case f.env:
			out = append(out, p)
		case ft.Kind() == reflect.Struct && ft != durationType:
			out = append(out, envPaths(ft, p)...)
		}
	}
	return out
}

// byPath returns the field at a key path of plain nested structs.
func byPath(v reflect.Value, path string) reflect.Value {
	for k := range strings.SplitSeq(path, ".") {
		v = v.Field(shapeOf(v.Type()).byKey[k].index)
	}
	return v
}

// decode decodes n into v, which must be settable, and says whether it set
// a value. f is the field v is (nil for a list or map item); parent is the
// struct holding it.
func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value, f *field, parent reflect.Value) bool {
	if c, ok := v.Addr().Interface().(custom); ok {
		return c.decodeYAML(d, n, path)
	}
	t := v.Type()
	if t == durationType {
		s, ok := d.str(n, path)
		if !ok {
			return false
		}
		dur, err := time.ParseDuration(s)
		if err != nil || dur < 0 {
			d.problem(path, "want a duration such as 6h or 90m")
			return false
		}
		v.SetInt(int64(dur))
		return true
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		if !d.decode(n, path, p.Elem(), f, parent) {
			return false
		}
		v.Set(p)
		return true
	case reflect.Struct:
		return d.decodeStruct(n, path, v, f)
	case reflect.Slice:
		return d.decodeSlice(n, path, v, f)
	case reflect.Map:
		return d.decodeMap(n, path, v, f, parent)
	case reflect.Interface:
		if x := d.value(n, path); x != nil {
			v.Set(reflect.ValueOf(x))
		}
		return true
	case reflect.String:
		return d.decodeString(n, path, v, f)
	case reflect.Bool:
		b, ok := d.boolean(n, path, "want true or false")
		if ok {
			v.SetBool(b)
		}
		return ok
	case reflect.Float64, reflect.Int:
		// Numbers are read as float64; a check on an int field sees that,
		// so that its message can say what a whole number means there.
		before := len(d.problems)
		x, ok := d.number(n, path)
		if !ok {
			if f != nil && f.help != "" && len(d.problems) > before {
				d.problems[len(d.problems)-1].Msg += " (" + f.help + ")"
			}
			return false
		}
		r := reflect.ValueOf(&x).Elem()
		if !d.checked(f, path, r) {
			return false
		}
		if t.Kind() == reflect.Float64 {
			v.SetFloat(x)
		} else if x != math.Trunc(x) {
			d.problem(path, "want a whole number")
			return false
		} else {
			v.SetInt(int64(x))
		}
		return true
	}
	panic(fmt.Sprintf("config: cannot decode into %s at %s", t, path))
}

// checked runs f's check, if any, on the decoded value r.
func (d *decoder) checked(f *field, path string, r reflect.Value) bool {
	if f == nil || f.check == "" {
		return true
	}
	return checks[f.check](d, path, r)
}

func (d *decoder) decodeString(n *yaml.Node, path string, v reflect.Value, f *field) bool {
	if _, ok := d.overrides[path]; ok {
		return false // not even expanded: its problems cannot matter
	}
	s, ok := d.str(n, path)
	if !ok {
		if f != nil && !d.strict && !f.secret && f.check == "" {
			v.SetString(s) // what did expand; the problem is reported
		}
		return false
	}
	if f != nil && len(f.enum) > 0 && !slices.Contains(f.enum, s) {
		if f.secret {
			d.problem(path, "not one of %s (value hidden: it is a secret)", strings.Join(f.enum, ", "))
		} else {
			d.problem(path, "%q is not one of %s", s, strings.Join(f.enum, ", "))
		}
		return false
	}
	r := reflect.ValueOf(&s).Elem()
	if !d.checked(f, path, r) {
		return false
	}
	if f != nil && f.secret {
		d.secret(s)
	}
	v.SetString(s)
	return true
}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value, f *field) bool {
	sh := shapeOf(v.Type())
	ptr := v.Addr().Interface()
	if p, ok := ptr.(presetter); ok {
		p.preset()
	}
	if sw, ok := ptr.(switcher); ok {
		if on, scalar := d.switchOr(n, path, sh.keys); scalar {
			if on {
				sw.switchOn()
			}
			return on
		}
	}
	if sh.scalar != nil {
		if r := resolve(n); !isNull(r) && r.Kind == yaml.ScalarNode {
			d.decode(r, path, v.Field(sh.scalar.index), sh.scalar, v)
			return true
		}
	}
	entries, present := d.mapping(n, path)
	if !present {
		return false
	}
	defer func(was bool) { d.strict = was }(d.strict)
	if f != nil && f.strict {
		d.strict = true
	}
	var rest reflect.Value
	if sh.rest != nil {
		rest = v.Field(sh.rest.index)
		rest.Set(reflect.MakeMap(rest.Type()))
	}
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		p := join(path, e.key)
		seen[e.key] = true
		switch sf := sh.byKey[e.key]; {
		case sf != nil:
			d.decode(e.val, p, v.Field(sf.index), sf, v)
		case sh.rest != nil:
			item := reflect.New(rest.Type().Elem()).Elem()
			if d.decode(e.val, p, item, nil, v) {
				rest.SetMapIndex(reflect.ValueOf(e.key), item)
			}
		default:
			d.unknown(path, e.key, sh.keys)
		}
	}
	d.required(path, v, seen)
	if c, ok := ptr.(checker); ok {
		c.check(d, path)
	}
	return true
}

// required reports the fields tagged required that v, a struct at path,
// leaves zero, and those of its struct fields whose key is absent (seen:
// the keys written; nil when none is). A field with a problem already is
// not also reported.
func (d *decoder) required(path string, v reflect.Value, seen map[string]bool) {
	sh := shapeOf(v.Type())
	for _, f := range sh.fields {
		fv, p := v.Field(f.index), join(path, f.key)
		if f.required && fv.IsZero() && !d.reported(p) {
			hint := ""
			if f.help != "" {
				hint = " (" + f.help + ")"
			}
			d.problem(p, "required%s", hint)
		}
		if !seen[f.key] && f.key != "" && fv.Kind() == reflect.Struct && fv.Type() != durationType {
			if _, ok := fv.Addr().Interface().(custom); !ok {
				d.required(p, fv, nil)
			}
		}
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, path string, v reflect.Value, f *field) bool {
	keep := f != nil && f.present
	if v.Type().Elem().Kind() == reflect.String {
		r := resolve(n)
		if isNull(r) && !keep {
			return false
		}
		l := d.strs(r, path)
		if f != nil && f.commas && !isNull(r) && r.Kind == yaml.ScalarNode {
			l = splitCommas(l)
		}
		if l == nil && keep {
			l = []string{}
		}
		if !d.checked(f, path, reflect.ValueOf(&l).Elem()) {
			return false
		}
		v.Set(reflect.ValueOf(l).Convert(v.Type()))
		return true
	}
	items, present := d.sequence(n, path)
	if keep {
		v.Set(reflect.MakeSlice(v.Type(), 0, len(items)))
	}
	for i, item := range items {
		p := index(path, i)
		elem := reflect.New(v.Type().Elem()).Elem()
		if !d.decode(item, p, elem, nil, reflect.Value{}) {
			d.broken(item, p, f)
			if f != nil && f.omitbroken {
				continue
			}
		}
		v.Set(reflect.Append(v, elem))
	}
	return present
}

func (d *decoder) decodeMap(n *yaml.Node, path string, v reflect.Value, f *field, parent reflect.Value) bool {
	entries, present := d.mapping(n, path)
	// An item that is a map is never nil (status defaults by side).
	if !present && (f != nil && !f.present) {
		return false
	}
	v.Set(reflect.MakeMapWithSize(v.Type(), len(entries)))
	et := v.Type().Elem()
	for _, e := range entries {
		p := join(path, e.key)
		elem := reflect.New(et).Elem()
		if !d.decode(e.val, p, elem, nil, reflect.Value{}) {
			d.broken(e.val, p, f)
			// A struct or map item stays (a field rule that is null), unless
			// the field says otherwise or the type decoded itself.
			_, isCustom := elem.Addr().Interface().(custom)
			if (f != nil && f.omitbroken) || isCustom || (et.Kind() != reflect.Struct && et.Kind() != reflect.Map) {
				continue
			}
		}
		if et.Kind() == reflect.Struct {
			if k := shapeOf(et).mapKey; k >= 0 {
				elem.Field(k).SetString(e.key)
			}
		}
		v.SetMapIndex(reflect.ValueOf(e.key), elem)
		if f != nil && f.order >= 0 {
			o := parent.Field(f.order)
			o.Set(reflect.Append(o, reflect.ValueOf(e.key)))
		}
	}
	return present
}

// broken reports a null item when its list or map has a message for that.
func (d *decoder) broken(item *yaml.Node, path string, f *field) {
	if f != nil && f.null != "" && isNull(resolve(item)) {
		d.problem(path, "%s", f.null)
	}
}

func (d *decoder) unknown(path, key string, known []string) {
	msg := "unknown key"
	if s := suggest(key, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	} else {
		msg += " (known: " + strings.Join(known, ", ") + ")"
	}
	d.problem(join(path, key), "%s", msg)
}

// splitCommas splits each of l at commas, dropping empty parts.
func splitCommas(l []string) []string {
	var out []string
	for _, s := range l {
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
