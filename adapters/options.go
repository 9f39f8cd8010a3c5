package adapters

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
)

// An adapter declares its options as one Go struct whose yaml tags are the
// config keys (nested structs for auth, limits, ...), in the tag language
// of package config (see config/tags.go): `yaml:"key,secret,required"`,
// `enum:"a,b"`, `check:"positive"`, `help:"..."`. Spec.OptionStruct
// returns a new one holding the defaults; the registry decodes a
// tracker's options into it, and the adapter's New takes it with
// Config.Decode. The []Option list (help, `tracksync trackers`, secrets)
// is derived from the same tags by OptionsOf.

// OptionDecoder decodes a tracker's options as written (every key but
// kind, nested maps kept, ${VAR} already expanded) into the tagged struct
// into points at, returning every problem named by its key path under
// keyPath ("trackers.acme-gh.limits.content_per_minute"). Unknown keys are
// problems; messages never hold a secret.
type OptionDecoder func(raw map[string]any, keyPath string, into any) []OptionError

var (
	decoderMu     sync.RWMutex
	optionDecoder OptionDecoder
)

// RegisterOptionDecoder sets the decoder of option structs. Package config
// registers its own from init(), so that one decoder reads the whole file;
// a binary that opens trackers from a config links it anyway.
func RegisterOptionDecoder(dec OptionDecoder) {
	decoderMu.Lock()
	defer decoderMu.Unlock()
	optionDecoder = dec
}

// decodeOptions decodes raw into a new option struct of spec.
func decodeOptions(spec Spec, raw map[string]any, keyPath string) (any, []OptionError) {
	decoderMu.RLock()
	dec := optionDecoder
	decoderMu.RUnlock()
	if dec == nil {
		return nil, []OptionError{{Path: keyPath, Msg: "adapters: no option decoder registered (import package config)"}}
	}
	into := spec.OptionStruct()
	whole := map[string]bool{}
	for _, o := range spec.Options {
		if o.Type == TypeMap {
			whole[o.Name] = true
		}
	}
	clean := pruneEmpty(raw, "", whole)
	delete(clean, "kind")
	return into, dec(clean, keyPath, into)
}

// pruneEmpty copies m without null and empty-string options, which mean
// "not set" (the default applies; a required option is missing), as
// `url: ${JIRA_URL:-}` does. Within a mapping option (whole, by name) an
// empty value is a value, for the adapter to judge.
func pruneEmpty(m map[string]any, prefix string, whole map[string]bool) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			continue
		case string:
			if x == "" {
				continue
			}
		case map[string]any:
			if !whole[prefix+k] {
				v = pruneEmpty(x, prefix+k+".", whole)
			}
		}
		out[k] = v
	}
	return out
}

// Decode stores the tracker's decoded options in into, a pointer to the
// spec's option struct type.
func (c Config) Decode(into any) error {
	if c.decoded == nil {
		return fmt.Errorf("adapters: tracker %s: no decoded options (open it through a Registry)", c.Name)
	}
	dst, src := reflect.ValueOf(into), reflect.ValueOf(c.decoded)
	if dst.Kind() != reflect.Pointer || dst.Type() != src.Type() {
		return fmt.Errorf("adapters: tracker %s: options are a %s, not a %s", c.Name, src.Type(), dst.Type())
	}
	dst.Elem().Set(src.Elem())
	return nil
}

var durationType = reflect.TypeFor[time.Duration]()

// OptionsOf lists the options an option struct declares (v is a pointer
// to it, holding the defaults), in declaration order. A nested struct
// without a help tag is a group: its fields are options named
// "group.key". A nested struct or map with a help tag is one TypeMap
// option.
func OptionsOf(v any) []Option {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	return optionsOf(rv, "")
}

func optionsOf(v reflect.Value, prefix string) []Option {
	var out []Option
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("yaml")
		if !sf.IsExported() || !ok || tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		o := Option{Name: prefix + name, Help: sf.Tag.Get("help")}
		for f := range strings.SplitSeq(flags, ",") {
			switch f {
			case "secret":
				o.Secret = true
			case "required":
				o.Required = true
			}
		}
		if e := sf.Tag.Get("enum"); e != "" {
			o.Enum = strings.Split(e, ",")
		}
		fv := v.Field(i)
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft == durationType:
			o.Type = TypeDuration
		case ft.Kind() == reflect.Struct && o.Help == "":
			if fv.Kind() == reflect.Pointer {
				fv = reflect.New(ft).Elem()
			}
			out = append(out, optionsOf(fv, o.Name+".")...)
			continue
		case ft.Kind() == reflect.Struct || ft.Kind() == reflect.Map:
			o.Type = TypeMap
		case ft.Kind() == reflect.String:
			o.Type = TypeString
		case ft.Kind() == reflect.Int:
			o.Type = TypeInt
		case ft.Kind() == reflect.Bool:
			o.Type = TypeBool
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			o.Type = TypeList
		default:
			panic(fmt.Sprintf("adapters: option %s: no option type for %s", o.Name, sf.Type))
		}
		if o.Type != TypeMap && !fv.IsZero() {
			o.Default = fv.Interface()
			if fv.Kind() == reflect.Pointer {
				o.Default = fv.Elem().Interface()
			}
		}
		out = append(out, o)
	}
	return out
}
