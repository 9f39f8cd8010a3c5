package mapping

import "github.com/tracksync/tracksync/internal/sides"

// StatusUnmapped reports whether the flow has a status map that lacks
// status v of side s: the value is then translated by its category (the
// map's defaults, or the other side's first status of that category),
// which `tracksync explain` says.
func (f *Flow) StatusUnmapped(s sides.Side, v string) bool {
	if len(f.status.pairs) == 0 || v == "" {
		return false
	}
	for _, p := range f.status.pairs {
		if p.v[side(s)] == v {
			return false
		}
	}
	return true
}

// StatusCategory is the category of status v on side s, as the flow sees
// it (the tracker's workflow, else guessed from the name).
func (f *Flow) StatusCategory(s sides.Side, v string) string {
	return string(f.category(s, v))
}
