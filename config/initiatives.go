package config

// Defaults Parse applies inside the initiatives section.
const (
	DefaultInitiativeStatus = "pm"
	// DefaultChildLabel is the label template of link label and tasklist.
	DefaultChildLabel = "initiative:{key}"
	DefaultCreateKind = "epic"
	// DefaultRollupSchedule is how often the daemon refreshes roll-ups.
	DefaultRollupSchedule = DefaultSchedule
	DefaultBlockedLabel   = "blocked"
)

// Values the initiatives section accepts, for checks and messages.
var (
	InitiativeStatuses = []string{"pm", "children"}
	ChildLinks         = []string{"parent", "label", "refs", "tasklist"}
	CreateKinds        = []string{"epic", "issue"}
	RollupWeights      = []string{"count", "estimate"}
)

// Initiatives is the initiatives section: where initiatives live, how their
// children are found in each tracker, and how progress is rolled up and
// written back. nil when the file has no initiatives key.
type Initiatives struct {
	Source InitiativeSource `yaml:"source"`
	// Status is who owns the initiative's status: "pm" (default: people
	// set it, tracksync never writes it) or "children" (tracksync writes
	// it from the children: all done -> done, any started -> in progress).
	Status string `yaml:"status"`
	// Children keeps every item, even a broken one, so that Children[i]
	// is children[i] in the file and checks name the right index.
	Children []ChildRule  `yaml:"children,present" null:"empty child rule (want {tracker: ..., link: ...})"`
	Rollup   RollupConfig `yaml:"rollup"`
}

// InitiativeSource is the tracker holding the initiatives.
type InitiativeSource struct {
	Tracker string `yaml:"tracker"` // a key of Config.Trackers
	// Scope selects the initiatives in that tracker (a JQL such as
	// 'issuetype = Initiative'); "" for every item of kind initiative.
	Scope string `yaml:"scope"`
}

// ChildRule says how one tracker's items hang under initiatives.
type ChildRule struct {
	Tracker string `yaml:"tracker"` // a key of Config.Trackers
	// Link is how an initiative's direct children in this tracker are
	// found: "parent" (items whose parent is the initiative or an item
	// created for it), "label" (items labelled Label), "refs" (the keys
	// listed in the initiative's children field) or "tasklist" (the task
	// list of the tracking issue labelled Label or created for it).
	Link string `yaml:"link"`
	// Label is the label template for link label and tasklist; "{key}" is
	// replaced by the initiative's key. Default "initiative:{key}".
	Label string `yaml:"label"`
	// Scope is what to read from this tracker to build the child tree
	// (the tracker's query language); "" for everything.
	Scope string `yaml:"scope"`
	// Create, when set, creates a delivery item in this tracker for each
	// initiative that has none (fan-out).
	Create *CreateRule `yaml:"create"`
}

// CreateRule is the fan-out of one child tracker.
type CreateRule struct {
	// Project is the Jira project key or GitHub repository (owner/name) to
	// create in; "" for the tracker's default.
	Project string `yaml:"project"`
	// Kind is the kind of item made: epic (default) or issue.
	Kind string `yaml:"type" check:"lower"`
}

// RollupConfig tunes the roll-up computation and its outputs.
type RollupConfig struct {
	// Weight is what percent done means in write-back and the at-risk
	// rule: "count" (done items / items) or "estimate". Default: estimate
	// when Estimate is set, else count.
	Weight string `yaml:"weight"`
	// Estimate is, by tracker name, where an item's estimate is read.
	Estimate map[string]Estimate `yaml:"estimate"`
	// DefaultEstimate weighs items without an estimate; 0 means 1.
	DefaultEstimate float64      `yaml:"default_estimate"`
	AtRisk          AtRiskConfig `yaml:"at_risk"`
	WriteBack       WriteBack    `yaml:"write_back"`
	// Schedule is how often the daemon refreshes roll-ups incrementally
	// besides after every sync run ('@every 5m' by default).
	Schedule string `yaml:"schedule"`
}

// Estimate reads one tracker's estimates: from a numeric custom field by
// display name (Jira 'Story Points'), or from size labels worth a number.
// Exactly one of the two is set.
type Estimate struct {
	Field  string
	Labels map[string]float64
}

// AtRiskConfig holds the at-risk rules. A passed target date always counts.
type AtRiskConfig struct {
	// DaysBeforeDue and MinDone: at risk when the target date is at most
	// DaysBeforeDue days away and less than MinDone (0..1) is done.
	DaysBeforeDue int     `yaml:"days_before_due" check:"days"`
	MinDone       float64 `yaml:"min_done"`
	// BlockedStatuses and BlockedLabels mark a not-done child as blocked,
	// which puts its initiative at risk (default labels: [blocked]).
	BlockedStatuses []string `yaml:"blocked_statuses"`
	BlockedLabels   []string `yaml:"blocked_labels"`
}

// WriteBack says where roll-ups are written. `write_back: true` sets
// Source and Tracking; false (the default) writes nothing.
type WriteBack struct {
	// Source writes progress (and status when Initiatives.Status is
	// "children") to the initiative: the roadmap file's progress key, or
	// Field on a Jira initiative.
	Source bool `yaml:"source"`
	// Field is the custom field (display name) receiving the percent done
	// on a Jira initiative; "" for none.
	Field string `yaml:"field"`
	// Comment keeps one summary comment up to date on the initiative, in
	// trackers with comments.
	Comment bool `yaml:"comment"`
	// Tracking writes a progress line and a checklist of the initiative's
	// children between markers in the body of each GitHub tracking issue
	// (a GitHub child found by link tasklist or label, or created for it).
	Tracking bool `yaml:"tracking"`
}
