// Package mapping turns a flow's config into the rules the sync engine
// follows: which fields sync in which direction, who wins a conflict on
// each, and how a value in one tracker's vocabulary (a status, a label, a
// priority, a user id) translates into the other's. It also validates a
// whole configuration (Validate), reporting every problem with its key path.
//
// Values are canonical field values (adapters.FieldValue), with two
// refinements for which the engine should read and write items through
// Flow.Value and Flow.Apply instead of adapters.FieldValue and
// SetFieldValue: a status that a status map pairs with a label reads as
// "open [status: in progress]" on that side, and labels exclude such status
// labels (status sync owns them); a custom field may have a different
// display name on each side.
package mapping

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/robfig/cron/v3"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/config"
	"github.com/tracksync/tracksync/internal/sides"
)

// Direction says which way a flow or a field syncs.
type Direction string

// Directions.
const (
	Both Direction = "both"
	AToB Direction = "a-to-b"
	BToA Direction = "b-to-a"
	None Direction = "none"
)

// Allows reports whether d lets values flow toward side to.
func (d Direction) Allows(to sides.Side) bool {
	switch d {
	case Both:
		return true
	case AToB:
		return to == sides.B
	case BToA:
		return to == sides.A
	}
	return false
}

// Policy settles a field both sides changed differently.
type Policy string

// Conflict policies.
const (
	Newest Policy = "newest" // the side changed most recently wins
	AWins  Policy = "a-wins"
	BWins  Policy = "b-wins"
	Manual Policy = "manual" // held for a person: `tracksync conflicts`
)

// On-delete actions: what happens to the counterpart of a deleted item.
const (
	OnDeleteUnlink = "unlink" // forget the link, leave the counterpart alone
	OnDeleteClose  = "close"  // archive/close the counterpart
	OnDeleteIgnore = "ignore" // keep the link; the next full reconcile reports it
)

// FieldComments is the flow field key for comment sync; it is not an item
// field, so it is never a Rule.
const FieldComments = "comments"

// Rule is how one field syncs.
type Rule struct {
	Field     string
	Direction Direction  // Both, AToB or BToA: never None (those are not rules)
	Owner     sides.Side // "" unless the field names a per-field conflict owner
}

// SideInfo describes the tracker on one side of a flow.
type SideInfo struct {
	Name, Kind string
	Caps       *adapters.Capabilities // nil: skip tracker-specific checks
}

// Flow is a compiled flow.
type Flow struct {
	Name           string
	Path           string // key path of the flow in the config: flows[2]
	A, B           config.FlowSide
	Direction      Direction
	Schedule       string
	Conflict       Policy
	OnDelete       string
	MaxChangeShare float64
	// MaxCreateShare, FirstContactLimit, Match and MatchFile: see the
	// config.Flow fields of the same names (defaults filled).
	MaxCreateShare    float64
	FirstContactLimit int
	Match             []string
	MatchFile         string
	Create            bool
	// Rules are the synced fields (not comments): standard fields in
	// adapters.StandardFields order, then custom fields in file order.
	Rules    []Rule
	Comments Direction // None unless configured

	sides    [2]SideInfo
	rules    map[string]Rule
	status   valueMap
	labels   valueMap
	priority valueMap
	typ      valueMap             // the type field's map
	custom   map[string][2]string // field -> display name on a, b
	people   userTable
}

// side indexes per-side arrays.
func side(s sides.Side) int {
	if s == sides.B {
		return 1
	}
	return 0
}

// Side returns the tracker on side s.
func (f *Flow) Side(s sides.Side) SideInfo { return f.sides[side(s)] }

var directions = []string{string(Both), string(AToB), string(BToA)}
var fieldDirections = []string{string(Both), string(AToB), string(BToA), string(None)}
var policies = []string{string(Newest), string(AWins), string(BWins), string(Manual)}
var onDeletes = []string{OnDeleteUnlink, OnDeleteClose, OnDeleteIgnore}
var categories = []string{string(adapters.CategoryTodo), string(adapters.CategoryInProgress), string(adapters.CategoryDone)}

// defaultFields are synced when a flow has no fields key at all.
var defaultFields = []string{adapters.FieldTitle, adapters.FieldBody, adapters.FieldStatus}

// scheduleParser accepts standard 5-field cron and descriptors (@hourly,
// @every 5m), as the daemon's scheduler does.
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a flow schedule.
func ParseSchedule(s string) (cron.Schedule, error) { return scheduleParser.Parse(s) }

type compiler struct {
	path     string
	problems []config.Problem
}

func (c *compiler) problem(path, format string, args ...any) {
	c.problems = append(c.problems, config.Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *compiler) oneOf(path, v string, allowed []string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	c.problem(path, "%q is not one of %s", v, strings.Join(allowed, ", "))
	return false
}

// Compile checks flow f (at key path path, like "flows[0]") and compiles
// it. a and b describe the trackers on its sides; with their Caps, status
// names and field support are checked too. On any problem the flow is nil:
// a flow with a problem must not run.
func Compile(f config.Flow, path string, users []config.User, a, b SideInfo) (*Flow, []config.Problem) {
	c := &compiler{path: path}
	fl := &Flow{
		Name: f.Name, Path: path, A: f.A, B: f.B,
		Direction: Direction(or(f.Direction, config.DefaultDirection)),
		Schedule:  or(f.Schedule, config.DefaultSchedule),
		Conflict:  Policy(or(f.Conflict, config.DefaultConflict)),
		OnDelete:  or(f.OnDelete, config.DefaultOnDelete),
		Create:    f.Create == nil || *f.Create,
		Comments:  None,
		sides:     [2]SideInfo{a, b},
		rules:     map[string]Rule{},
		custom:    map[string][2]string{},
	}
	fl.MaxChangeShare = f.MaxChangeShare
	if fl.MaxChangeShare == 0 {
		fl.MaxChangeShare = config.DefaultMaxChangeShare
	}
	fl.MaxCreateShare = f.MaxCreateShare
	if fl.MaxCreateShare == 0 {
		fl.MaxCreateShare = config.DefaultMaxCreateShare
	}
	fl.FirstContactLimit = config.DefaultFirstContactLimit
	if f.FirstContactLimit != nil {
		fl.FirstContactLimit = *f.FirstContactLimit
	}
	fl.Match = f.Match
	if fl.Match == nil {
		fl.Match = slices.Clone(config.MatchRules)
	}
	fl.MatchFile = f.MatchFile
	for i, r := range fl.Match {
		if !slices.Contains(config.MatchRules, r) {
			c.problem(fmt.Sprintf("%s.match[%d]", path, i), "%q is not a match rule (%s)", r, strings.Join(config.MatchRules, ", "))
		}
	}
	if m := fl.MaxCreateShare; !(m > 0) || math.IsNaN(m) || math.IsInf(m, 0) {
		c.problem(path+".max_create_share", "must be more than 0")
	}
	if fl.FirstContactLimit < 0 {
		c.problem(path+".first_contact_limit", "must be 0 or more")
	}

	switch {
	case f.Name == "":
		c.problem(path+".name", "required: a flow needs a name (it keys the flow's state)")
	case !config.ValidName(f.Name):
		c.problem(path+".name", "%q: use letters, digits, '.', '_' and '-', starting with a letter or digit", f.Name)
	}
	for _, s := range []struct {
		key  string
		side config.FlowSide
	}{{"a", f.A}, {"b", f.B}} {
		if s.side.Tracker == "" {
			c.problem(path+"."+s.key+".tracker", "required: the tracker on side %s", s.key)
		}
	}
	c.oneOf(path+".direction", string(fl.Direction), directions)
	if _, err := ParseSchedule(fl.Schedule); err != nil {
		c.problem(path+".schedule", "%q is not '@every <duration>', a descriptor like @hourly, or a 5-field cron expression: %v", fl.Schedule, err)
	}
	c.oneOf(path+".conflict", string(fl.Conflict), policies)
	c.oneOf(path+".on_delete", fl.OnDelete, onDeletes)
	if m := fl.MaxChangeShare; !(m > 0 && m <= 1) || math.IsNaN(m) {
		c.problem(path+".max_change_share", "must be more than 0 and at most 1 (0.25 is a quarter of the flow's items)")
	}

	fl.people = newUserTable(users, a, b)
	c.fields(fl, f)
	if len(c.problems) > 0 {
		config.SortProblems(c.problems)
		return nil, c.problems
	}
	return fl, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// fields compiles the field rules.
func (c *compiler) fields(fl *Flow, f config.Flow) {
	fields := f.Fields
	order := f.Order
	if fields == nil {
		fields = map[string]config.FieldConfig{}
		for _, k := range defaultFields {
			fields[k] = config.FieldConfig{}
		}
		order = defaultFields
	}
	// A flow built in Go may lack Order: add missing keys sorted.
	var extra []string
	for k := range fields {
		if !slices.Contains(order, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	order = append(slices.Clone(order), extra...)

	var custom []Rule
	for _, name := range order {
		fc, ok := fields[name]
		if !ok {
			continue
		}
		p := c.path + ".fields." + name
		if name == FieldComments {
			d, ok := c.direction(fl, fc, p)
			if ok {
				fl.Comments = d
			}
			if fc.Owner != "" || len(fc.Map) > 0 || fc.Default != nil || fc.A != "" || fc.B != "" {
				c.problem(p, "comments take only a direction")
			}
			continue
		}
		if !adapters.IsKnownField(name) {
			c.problem(p, "unknown field (known: %s, %s, %s, and custom:<field name>)", strings.Join(adapters.StandardFields, ", "), adapters.FieldType, FieldComments)
			continue
		}
		d, dirOK := c.direction(fl, fc, p)
		r := Rule{Field: name, Direction: d}
		switch fc.Owner {
		case "":
		case "a", "b":
			r.Owner = sides.Side(fc.Owner)
		default:
			c.problem(p+".owner", "%q is not a or b", fc.Owner)
		}
		c.values(fl, name, fc, p)
		c.support(fl, name, p)
		if !dirOK || d == None {
			continue
		}
		fl.rules[name] = r
		if strings.HasPrefix(name, adapters.CustomPrefix) {
			custom = append(custom, r)
		}
	}
	for _, name := range append(slices.Clone(adapters.StandardFields), adapters.FieldType) {
		if r, ok := fl.rules[name]; ok {
			fl.Rules = append(fl.Rules, r)
		}
	}
	fl.Rules = append(fl.Rules, custom...)
}

// direction returns a field's effective direction: its own narrowed by the
// flow's. A field may say "both" in a one-way flow (it then follows the
// flow), but not the opposite way.
func (c *compiler) direction(fl *Flow, fc config.FieldConfig, p string) (Direction, bool) {
	if fc.Direction == "" {
		return fl.Direction, true
	}
	path := p
	if len(fc.Map) > 0 || fc.Default != nil || fc.Owner != "" || fc.A != "" || fc.B != "" {
		path = p + ".direction"
	}
	if !c.oneOf(path, fc.Direction, fieldDirections) {
		return None, false
	}
	d := Direction(fc.Direction)
	switch {
	case d == None, fl.Direction == Both:
		return d, true
	case d == Both, d == fl.Direction:
		return fl.Direction, true
	}
	if slices.Contains(directions, string(fl.Direction)) {
		c.problem(path, "%s in a %s flow: a field cannot sync against its flow's direction", d, fl.Direction)
	}
	return None, false
}

// values compiles map, default and side names, checking that the field can
// have them.
func (c *compiler) values(fl *Flow, name string, fc config.FieldConfig, p string) {
	isCustom := strings.HasPrefix(name, adapters.CustomPrefix)
	if len(fc.Map) > 0 {
		switch name {
		case adapters.FieldStatus:
			fl.status.pairs = c.pairs(fl, fc.Map, p+".map", true)
		case adapters.FieldLabels:
			fl.labels.pairs = c.pairs(fl, fc.Map, p+".map", false)
		case adapters.FieldPriority:
			fl.priority.pairs = c.pairs(fl, fc.Map, p+".map", false)
		case adapters.FieldType:
			fl.typ.pairs = c.pairs(fl, fc.Map, p+".map", false)
		default:
			c.problem(p+".map", "only status, labels, priority and type take a value map")
		}
	}
	if fc.Default != nil {
		if name != adapters.FieldStatus {
			c.problem(p+".default", "only status takes defaults")
		} else {
			c.statusDefaults(fl, fc.Default, p+".default")
		}
	}
	if fc.A != "" || fc.B != "" {
		if !isCustom {
			c.problem(p, "a and b (per-side field names) are only for custom fields")
		}
	}
	if isCustom {
		n := strings.TrimPrefix(name, adapters.CustomPrefix)
		fl.custom[name] = [2]string{or(fc.A, n), or(fc.B, n)}
	}
	if name == adapters.FieldStatus {
		fl.status.indexLabels()
	}
}

func (c *compiler) pairs(fl *Flow, m []config.ValuePair, p string, status bool) []pair {
	out := make([]pair, 0, len(m))
	for j, vp := range m {
		pp := fmt.Sprintf("%s[%d]", p, j)
		ok := true
		if vp.A == "" {
			c.problem(pp+".a", "required: the value on side a")
			ok = false
		}
		if vp.B == "" {
			c.problem(pp+".b", "required: the value on side b")
			ok = false
		}
		if !status && (vp.ALabel != "" || vp.BLabel != "") {
			c.problem(pp, "a_label and b_label are only for status maps")
		}
		if status {
			c.knownStatus(fl, sides.A, vp.A, pp+".a")
			c.knownStatus(fl, sides.B, vp.B, pp+".b")
		}
		if !ok {
			continue
		}
		pr := pair{v: [2]string{vp.A, vp.B}}
		if status {
			pr.plain = [2]string{vp.A, vp.B}
			pr.label = [2]string{vp.ALabel, vp.BLabel}
			pr.v = [2]string{composite(vp.A, vp.ALabel), composite(vp.B, vp.BLabel)}
		}
		out = append(out, pr)
	}
	return out
}

// knownStatus checks a status name against the side's workflow when known.
func (c *compiler) knownStatus(fl *Flow, s sides.Side, name, p string) {
	info := fl.sides[side(s)]
	if name == "" || info.Caps == nil || len(info.Caps.Statuses) == 0 {
		return
	}
	if _, ok := info.Caps.Category(name); !ok {
		names := make([]string, len(info.Caps.Statuses))
		for i, st := range info.Caps.Statuses {
			names[i] = st.Name
		}
		c.problem(p, "%q is not a status of %s (statuses: %s)", name, info.Name, strings.Join(names, ", "))
	}
}

func (c *compiler) statusDefaults(fl *Flow, def map[string]map[string]string, p string) {
	for sideKey, cats := range def {
		sp := p + "." + sideKey
		var s sides.Side
		switch sideKey {
		case "a":
			s = sides.A
		case "b":
			s = sides.B
		default:
			c.problem(sp, "want a or b")
			continue
		}
		m := map[adapters.StatusCategory]string{}
		for cat, status := range cats {
			cp := sp + "." + cat
			if !c.oneOf(cp, cat, categories) {
				continue
			}
			if status == "" {
				c.problem(cp, "required: a status name")
				continue
			}
			c.knownStatus(fl, s, status, cp)
			m[adapters.StatusCategory(cat)] = status
		}
		fl.status.defaults[side(s)] = m
	}
}

// support checks that both sides have the field, when their Caps say.
// Custom fields are not checked: trackers need not enumerate them.
func (c *compiler) support(fl *Flow, name, p string) {
	if strings.HasPrefix(name, adapters.CustomPrefix) {
		return
	}
	for _, info := range fl.sides {
		if info.Caps != nil && len(info.Caps.Fields) > 0 && !info.Caps.HasField(name) {
			c.problem(p, "%s (%s) has no %s field", info.Name, info.Kind, name)
		}
	}
}
