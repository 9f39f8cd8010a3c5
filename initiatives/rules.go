package initiatives

import (
	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/rollup"
)

// rules is what the config says about reading items and linking them,
// derived once in New and never changed after: read by the graph and by
// write-back without a lock.
type rules struct {
	source   string                   // the initiatives' tracker
	trackers map[string]bool          // every open tracker, to tell tracker:key refs
	kinds    map[string]string        // configured kind by tracker (github: task lists)
	est      map[string]estimateRule  // by tracker
	labels   map[string]labelTemplate // tracker -> template, for link label/tasklist
	refRules []string                 // trackers with link refs
	tracking map[string]bool          // trackers whose labelled or created children are tracking issues
	links    []string                 // flows whose links merge items (linkFlows)
	rollup   rollup.Config            // for the Index
}

type estimateRule struct {
	field  string
	labels map[string]float64
}

// taskLists reports whether the task lists in the bodies of tracker's
// items name children (GitHub's).
func (r *rules) taskLists(tracker string) bool { return r.kinds[tracker] == "github" }

// labelInits returns the initiative keys it's labels name.
func (r *rules) labelInits(it adapters.Item) []string {
	tpl, ok := r.labels[it.Ref.Tracker]
	if !ok {
		return nil
	}
	var out []string
	for _, l := range it.Labels {
		if key, ok := tpl.match(l); ok {
			out = append(out, key)
		}
	}
	return out
}
