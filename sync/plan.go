package sync

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// OpKind is what an operation does.
type OpKind string

// Operation kinds. Only create, update, archive, comment_add and
// comment_edit call a tracker; link, unlink, conflict and base touch the
// state store alone.
const (
	OpCreate      OpKind = "create"       // make a counterpart on Side from Source
	OpUpdate      OpKind = "update"       // write Fields on Target (on Side)
	OpArchive     OpKind = "archive"      // close Target (on_delete: close)
	OpCommentAdd  OpKind = "comment_add"  // copy a comment to Target
	OpCommentEdit OpKind = "comment_edit" // carry a comment edit to Target
	OpCommentLink OpKind = "comment_link" // pair a comment with its earlier copy (found by its sync key)
	OpLink        OpKind = "link"         // pair two existing items (our own earlier copy found by its sync key)
	OpUnlink      OpKind = "unlink"       // forget a pair (a side was deleted or left scope)
	OpConflict    OpKind = "conflict"     // a field both sides changed: settled by policy or held
)

// Writes reports whether the op calls a tracker.
func (k OpKind) Writes() bool {
	switch k {
	case OpCreate, OpUpdate, OpArchive, OpCommentAdd, OpCommentEdit:
		return true
	}
	return false
}

// FieldChange is one field an update writes.
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// ConflictInfo describes a field both sides changed to different values.
type ConflictInfo struct {
	Field  string `json:"field"`
	Base   string `json:"base"` // side A's base value
	A      string `json:"a"`
	B      string `json:"b"`
	Policy string `json:"policy"`
	// Winner is "a" or "b" when the policy settled it, "" when held.
	Winner string `json:"winner,omitempty"`
}

// CommentOp is the payload of a comment operation.
type CommentOp struct {
	SourceID string `json:"source_id"`           // the comment being copied
	TargetID string `json:"target_id,omitempty"` // the copy, for edits
	Body     string `json:"body"`
	Key      string `json:"key,omitempty"` // idempotency key of an add
	// TargetBody is the copy's body, for comment_link.
	TargetBody string `json:"target_body,omitempty"`
}

// Op is one planned operation.
type Op struct {
	Kind    OpKind       `json:"kind"`
	Side    store.Side   `json:"side,omitempty"` // the side written
	LinkID  int64        `json:"link_id,omitempty"`
	LinkKey string       `json:"link_key,omitempty"`
	Target  adapters.Ref `json:"target,omitempty"` // the item written
	Source  adapters.Ref `json:"source,omitempty"` // where the values come from
	// IfVersion is the version of Target the plan was computed from.
	IfVersion string         `json:"if_version,omitempty"`
	Fields    []FieldChange  `json:"fields,omitempty"`
	Item      *adapters.Item `json:"item,omitempty"` // create payload, in Side's vocabulary
	Comment   *CommentOp     `json:"comment,omitempty"`
	Conflict  *ConflictInfo  `json:"conflict,omitempty"`
	Reason    string         `json:"reason,omitempty"`
	// Rule is the match rule that paired a link's items on first contact
	// (key, reference, file, title); "" for a revived link.
	Rule string `json:"rule,omitempty"`
	// Destructive marks ops the safety valve counts: closing, archiving,
	// or removing an assignee.
	Destructive bool `json:"destructive,omitempty"`

	pair *pairPlan // the pair this op belongs to, for apply
}

// Plan is everything one run of a flow would do.
type Plan struct {
	Flow     string    `json:"flow"`
	Full     bool      `json:"full"`
	Linked   int       `json:"linked"` // links in the flow before the run
	Ops      []Op      `json:"ops"`
	Warnings []string  `json:"warnings,omitempty"`
	Cursors  [2]string `json:"-"` // A, B cursors to store after a clean apply
	// Relisted names the sides listed in full because their cursor had
	// expired (adapters.ErrCursorExpired).
	Relisted []store.Side `json:"relisted,omitempty"`
	Pending  int          `json:"pending_journal,omitempty"`
	// Unlinked counts the items each side listed that no link holds and
	// that carry no tracksync key (nor are linked by another flow): the
	// work each tracker held before this flow.
	Unlinked [2]int `json:"unlinked"`
	// FirstContact: the flow has no links yet (its first run).
	FirstContact bool `json:"first_contact,omitempty"`
	// Stop, set by Engine.Plan, says why the safety valve would stop a run
	// of this plan (without --force).
	Stop string `json:"stop,omitempty"`
	// Ambiguous lists items with several candidate counterparts: neither
	// linked nor copied.
	Ambiguous []Ambiguity `json:"ambiguous,omitempty"`

	pairs   []*pairPlan
	opPtrs  []*Op
	planner *planner
	// wrote: what apply wrote, by side and ID (see applier.wrote).
	wrote *[2]map[string]adapters.Item
}

// Writes counts the operations that call a tracker.
func (p *Plan) Writes() int {
	n := 0
	for _, op := range p.Ops {
		if op.Kind.Writes() {
			n++
		}
	}
	return n
}

// Count returns how many ops of kind the plan holds.
func (p *Plan) Count(kind OpKind) int {
	n := 0
	for _, op := range p.Ops {
		if op.Kind == kind {
			n++
		}
	}
	return n
}

// Held returns the conflicts the plan holds for a person.
func (p *Plan) Held() []Op {
	var out []Op
	for _, op := range p.Ops {
		if op.Kind == OpConflict && op.Conflict.Winner == "" {
			out = append(out, op)
		}
	}
	return out
}

// Destructive counts the items the safety valve weighs: items closed,
// archived or reassigned, each once however many ops touch it (a close
// under on_delete: close is an archive and an unlink of one item).
func (p *Plan) Destructive() int {
	seen := map[string]bool{}
	for _, op := range p.Ops {
		if op.Destructive {
			seen[op.Target.Tracker+"\x00"+op.Target.ID] = true
		}
	}
	return len(seen)
}

// WriteJSON writes the plan as indented JSON.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// WriteText writes the plan for people: one line per op, then a summary.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "flow %s: %d linked", p.Flow, p.Linked)
	if p.Full {
		b.WriteString(" (full reconcile)")
	}
	b.WriteString("\n")
	if p.FirstContact && p.Unlinked != [2]int{} {
		fmt.Fprintf(&b, "  first contact: %d unlinked item(s) on side a and %d on side b before matching\n", p.Unlinked[0], p.Unlinked[1])
	}
	if p.Pending > 0 {
		fmt.Fprintf(&b, "  %d interrupted write(s) from an earlier run will be reconciled first\n", p.Pending)
	}
	for _, op := range p.Ops {
		b.WriteString("  ")
		b.WriteString(op.String())
		b.WriteString("\n")
	}
	for _, a := range p.Ambiguous {
		fmt.Fprintf(&b, "  %s\n", a)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	counts := map[OpKind]int{}
	for _, op := range p.Ops {
		counts[op.Kind]++
	}
	kinds := make([]string, 0, len(counts))
	for k, n := range counts {
		kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(kinds)
	if p.Stop != "" {
		fmt.Fprintf(&b, "  stop: %s\n", p.Stop)
	}
	if len(kinds) == 0 {
		b.WriteString("  nothing to do\n")
	} else {
		fmt.Fprintf(&b, "  %s\n", strings.Join(kinds, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (op Op) String() string {
	switch op.Kind {
	case OpCreate:
		return fmt.Sprintf("create on %s: copy of %s %q", op.Side, op.Source, op.Item.Title)
	case OpUpdate:
		parts := make([]string, len(op.Fields))
		for i, f := range op.Fields {
			parts[i] = fmt.Sprintf("%s: %s -> %s", f.Field, short(f.From), short(f.To))
		}
		return fmt.Sprintf("update %s (%s): %s", op.Target, op.Side, strings.Join(parts, "; "))
	case OpArchive:
		return fmt.Sprintf("archive %s (%s): %s", op.Target, op.Side, op.Reason)
	case OpCommentAdd:
		return fmt.Sprintf("add comment to %s (copy of comment %s)", op.Target, op.Comment.SourceID)
	case OpCommentEdit:
		return fmt.Sprintf("edit comment %s on %s", op.Comment.TargetID, op.Target)
	case OpCommentLink:
		return fmt.Sprintf("pair comment %s with its copy %s on %s", op.Comment.SourceID, op.Comment.TargetID, op.Target)
	case OpLink:
		if op.Rule != "" {
			return fmt.Sprintf("link %s with %s: matched by %s: %s", op.Source, op.Target, op.Rule, op.Reason)
		}
		return fmt.Sprintf("link %s with %s: %s", op.Source, op.Target, op.Reason)
	case OpUnlink:
		return fmt.Sprintf("unlink link %d (%s): %s", op.LinkID, op.Target, op.Reason)
	case OpConflict:
		c := op.Conflict
		verdict := "held for a person (tracksync conflicts)"
		if c.Winner != "" {
			verdict = "settled by " + c.Policy + ": " + c.Winner + " wins"
		}
		return fmt.Sprintf("conflict on %s field %s: a=%s b=%s base=%s, %s", op.Target, c.Field, short(c.A), short(c.B), short(c.Base), verdict)
	}
	return string(op.Kind)
}

// short quotes a value for one-line output, eliding long bodies.
func short(s string) string {
	const max = 60
	r := []rune(s)
	if len(r) > max {
		s = string(r[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
