package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/mapping"
	"github.com/tracksync/tracksync/store"
)

// translateFunc converts field value v into side to's vocabulary; current
// is side to's value, returned as is when already equivalent.
type translateFunc func(field string, to store.Side, v, current string) (string, []string)

// rule is one synced field, compiled for the diff.
type rule struct {
	field string
	toA   bool // changes may be written to side A
	toB   bool
	owner store.Side
}

// planner holds what the pure diff needs about a flow.
type planner struct {
	flow      string
	policy    string // newest | a-wins | b-wins | manual
	rules     []rule
	comments  [2]bool // comments may be written to A, to B
	translate translateFunc
	fm        *mapping.Flow // reads and writes fields as the flow sees them
	caps      [2]adapters.Capabilities
	warnings  []string
	// unresolved holds parent values that could not be translated because
	// the parent is not linked yet.
	unresolved map[string]bool
	// goneLinks are links one side of which this run found gone.
	goneLinks map[int64]bool
	// err is the first failure inside translate (reading the state for a
	// parent's link), which translateFunc cannot return.
	err error
}

// fail records err for takeErr, keeping the first.
func (p *planner) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// takeErr returns and clears the failure recorded by translate.
func (p *planner) takeErr() error {
	err := p.err
	p.err = nil
	return err
}

// pairInput is one linked pair as read from both trackers and the store.
type pairInput struct {
	link    store.Link
	base    store.Base
	hasBase bool
	a, b    adapters.Item
	// Comments, when comment sync is on and either side changed.
	withComments bool
	ca, cb       []adapters.Comment
	clinks       []store.CommentLink
}

// pairPlan is what the diff decided for one pair.
type pairPlan struct {
	in      *pairInput
	base    store.Base // the base to record once every write of the pair succeeded
	upd     [2]*Op     // update of side A, side B
	other   []*Op      // conflicts and comment ops
	changed bool       // base differs from the stored one
	linkOp  *Op        // set when the pair is linked (or relinked) by this run
	owned   bool       // base maps are this plan's own, not the store's
}

func sideIdx(s store.Side) int {
	if s == store.SideA {
		return 0
	}
	return 1
}

// diffPair computes the 3-way merge of one pair against its base.
func (p *planner) diffPair(in *pairInput) *pairPlan {
	pp := &pairPlan{in: in, base: store.Base{LinkID: in.link.ID, A: in.base.A, B: in.base.B, AVersion: in.a.Version, BVersion: in.b.Version, SyncedAt: in.base.SyncedAt}}
	if !in.hasBase || pp.base.A == nil || pp.base.B == nil {
		pp.base.A, pp.base.B = map[string]string{}, map[string]string{}
		pp.owned, pp.changed = true, true
	}
	for _, r := range p.rules {
		p.diffField(pp, r)
	}
	if in.withComments {
		p.diffComments(pp)
	}
	return pp
}

// setBase records field f's new base values. The stored base maps are
// shared until the first change, so a pair that did not move allocates
// nothing (a full reconcile compares every pair).
func (pp *pairPlan) setBase(f, a, b string, keep bool) {
	curA, okA := pp.base.A[f]
	curB, okB := pp.base.B[f]
	if keep {
		return // held: the old base (or its absence) stays
	}
	if okA && okB && curA == a && curB == b {
		return
	}
	if !pp.owned {
		pp.base.A, pp.base.B = maps.Clone(pp.base.A), maps.Clone(pp.base.B)
		pp.owned = true
	}
	pp.base.A[f], pp.base.B[f] = a, b
	pp.changed = true
}

func (p *planner) diffField(pp *pairPlan, r rule) {
	in := pp.in
	f := r.field
	aVal := p.fm.Value(store.SideA, in.a, f)
	bVal := p.fm.Value(store.SideB, in.b, f)
	baseA, okA := in.base.A[f]
	baseB, okB := in.base.B[f]
	known := in.hasBase && okA && okB
	aCh := !known || aVal != baseA
	bCh := !known || bVal != baseB
	if !known {
		// No agreed value (a new pair, a newly synced field): a side
		// that has nothing never wins over one that has something.
		if aVal == "" && bVal != "" {
			aCh = false
		} else if bVal == "" && aVal != "" {
			bCh = false
		}
	}

	newA, newB := aVal, bVal
	switch {
	case !aCh && !bCh:
		// Nothing moved since the last agreement.
	case aCh && !bCh:
		if r.toB {
			newB = p.toSide(f, store.SideB, aVal, bVal)
		}
	case !aCh && bCh:
		if r.toA {
			newA = p.toSide(f, store.SideA, bVal, aVal)
		}
	default:
		if p.equivalent(f, aVal, bVal) {
			break
		}
		if adapters.IsListField(f) && r.toA && r.toB && known {
			newA, newB = p.mergeSet(f, aVal, bVal, baseA, baseB)
			break
		}
		winner := p.winner(r, in.a, in.b)
		if !known && p.policy == "manual" {
			// No agreed value yet: two items that both existed (matched
			// on first contact, linked by hand). Under manual nothing
			// either side holds is overwritten, not even by a one-way
			// field's source, until a person settles it.
			winner = ""
		}
		info := &ConflictInfo{Field: f, Base: baseA, A: aVal, B: bVal, Policy: p.policyFor(r)}
		if winner == "" && info.Policy == "newest" {
			info.Policy = "newest (tie: both edited within the same " + max(p.caps[0].TimePrecision, p.caps[1].TimePrecision).String() + ")"
		}
		op := &Op{Kind: OpConflict, LinkID: in.link.ID, LinkKey: in.link.Key, Target: in.link.A, Source: in.link.B, Conflict: info, pair: pp}
		pp.other = append(pp.other, op)
		switch winner {
		case store.SideA:
			info.Winner = "a"
			newB = p.toSide(f, store.SideB, aVal, bVal)
		case store.SideB:
			info.Winner = "b"
			newA = p.toSide(f, store.SideA, bVal, aVal)
		default:
			// Held: keep the old base for this field so the conflict stays
			// visible on every run until a person settles it.
			pp.setBase(f, "", "", true)
			return
		}
	}
	if f == adapters.FieldParent && (p.unresolved[aVal] || p.unresolved[bVal]) {
		// A parent not linked yet: write nothing, agree on nothing.
		return
	}
	pp.setBase(f, newA, newB, false)
	if newA != aVal {
		p.addChange(pp, store.SideA, f, aVal, newA)
	}
	if newB != bVal {
		p.addChange(pp, store.SideB, f, bVal, newB)
	}
}

func (p *planner) policyFor(r rule) string {
	switch {
	case r.toA && !r.toB:
		return "b-owns-field"
	case r.toB && !r.toA:
		return "a-owns-field"
	case r.owner == store.SideA:
		return "a-owns-field"
	case r.owner == store.SideB:
		return "b-owns-field"
	}
	return p.policy
}

// winner decides a conflict: a one-way field belongs to its source side,
// then a per-field owner, then the flow's policy. "" means hold it.
func (p *planner) winner(r rule, a, b adapters.Item) store.Side {
	switch {
	case r.toB && !r.toA:
		return store.SideA
	case r.toA && !r.toB:
		return store.SideB
	case r.owner != "":
		return r.owner
	}
	switch p.policy {
	case "a-wins":
		return store.SideA
	case "b-wins":
		return store.SideB
	case "manual":
		return ""
	}
	return p.newest(a, b)
}

// newest orders the two sides' last edits at the coarser of their
// timestamp precisions. Edits it cannot order (GitHub's whole second
// against a Jira edit inside that second) are a tie, and a tie is held
// for a person: picking a side would silently drop the other's edit half
// the time. Timestamps equal at full precision go to A, as they always
// have, so the outcome stays deterministic.
func (p *planner) newest(a, b adapters.Item) store.Side {
	prec := max(p.caps[0].TimePrecision, p.caps[1].TimePrecision)
	if prec > 0 && !a.UpdatedAt.Equal(b.UpdatedAt) && a.UpdatedAt.Truncate(prec).Equal(b.UpdatedAt.Truncate(prec)) {
		return ""
	}
	if b.UpdatedAt.After(a.UpdatedAt) {
		return store.SideB
	}
	return store.SideA
}

func (p *planner) equivalent(f, aVal, bVal string) bool {
	if aVal == bVal {
		return true
	}
	got, _ := p.translate(f, store.SideB, aVal, bVal)
	return got == bVal
}

// toSide translates v into side to's vocabulary, warning once per problem.
// For set fields, values on side to that have no counterpart on the other
// side (an assignee missing from the user table) are kept rather than
// silently removed.
func (p *planner) toSide(f string, to store.Side, v, current string) string {
	out, warns := p.translate(f, to, v, current)
	for _, w := range warns {
		p.warn(w)
	}
	if !adapters.IsListField(f) || current == "" {
		return out
	}
	cur, _ := adapters.DecodeList(current)
	keep, _ := adapters.DecodeList(out)
	for _, e := range cur {
		back, _ := p.translate(f, to.Other(), adapters.EncodeList([]string{e}), "")
		if back == "" {
			keep = append(keep, e)
		}
	}
	return adapters.EncodeList(keep)
}

// mergeSet merges two concurrent edits of a set field element by element:
// B's additions and removals since the base are applied to A's current set.
func (p *planner) mergeSet(f, aVal, bVal, baseA, baseB string) (string, string) {
	bInA, _ := p.translate(f, store.SideA, bVal, aVal)
	baseBInA, _ := p.translate(f, store.SideA, baseB, baseA)
	cur, _ := adapters.DecodeList(aVal)
	now, _ := adapters.DecodeList(bInA)
	was, _ := adapters.DecodeList(baseBInA)
	set := map[string]bool{}
	for _, e := range cur {
		set[e] = true
	}
	wasSet := map[string]bool{}
	for _, e := range was {
		wasSet[e] = true
	}
	nowSet := map[string]bool{}
	for _, e := range now {
		nowSet[e] = true
		if !wasSet[e] {
			set[e] = true
		}
	}
	for _, e := range was {
		if !nowSet[e] {
			delete(set, e)
		}
	}
	merged := make([]string, 0, len(set))
	for e := range set {
		merged = append(merged, e)
	}
	newA := adapters.EncodeList(merged)
	return newA, p.toSide(f, store.SideB, newA, bVal)
}

func (p *planner) addChange(pp *pairPlan, s store.Side, f, from, to string) {
	i := sideIdx(s)
	op := pp.upd[i]
	if op == nil {
		in := pp.in
		target, source, item := in.link.A, in.link.B, in.a
		if s == store.SideB {
			target, source, item = in.link.B, in.link.A, in.b
		}
		op = &Op{Kind: OpUpdate, Side: s, LinkID: in.link.ID, LinkKey: in.link.Key, Target: target, Source: source, IfVersion: item.Version, pair: pp}
		pp.upd[i] = op
	}
	op.Fields = append(op.Fields, FieldChange{Field: f, From: from, To: to})
	if p.destructive(s, f, from, to) {
		op.Destructive = true
	}
}

// destructive reports whether writing to on side s closes an item or
// removes an assignee: what the safety valve weighs.
func (p *planner) destructive(s store.Side, f, from, to string) bool {
	switch f {
	case adapters.FieldStatus:
		caps := p.caps[sideIdx(s)]
		cf, _ := caps.Category(plainStatus(from))
		ct, _ := caps.Category(plainStatus(to))
		return ct == adapters.CategoryDone && cf != adapters.CategoryDone
	case adapters.FieldAssignees:
		was, _ := adapters.DecodeList(from)
		now, _ := adapters.DecodeList(to)
		for _, w := range was {
			found := false
			for _, n := range now {
				if n == w {
					found = true
					break
				}
			}
			if !found {
				return true
			}
		}
	}
	return false
}

func (p *planner) warn(w string) {
	for _, x := range p.warnings {
		if x == w {
			return
		}
	}
	p.warnings = append(p.warnings, w)
}

// commentKey is the idempotency key of the copy of comment id from side s.
func commentKey(linkKey string, s store.Side, id string) string {
	return fmt.Sprintf("%s/comment/%s/%s", linkKey, s, id)
}

func bodyHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

// diffComments copies new comments across and carries edits of copied ones.
// CommentLink.BodyHash holds "hashA:hashB" of the bodies last agreed on, so
// each side's edit is seen on its own. A comment carrying tracksync's key
// (Comment.SyncKey) is a copy: it is paired with its source, never copied
// back, even when the bookkeeping of its creation was lost.
func (p *planner) diffComments(pp *pairPlan) {
	in := pp.in
	linked := [2]map[string]store.CommentLink{{}, {}}
	for _, cl := range in.clinks {
		linked[0][cl.AID] = cl
		linked[1][cl.BID] = cl
	}
	byID := [2]map[string]adapters.Comment{{}, {}}
	byKey := [2]map[string]adapters.Comment{{}, {}}
	for i, cs := range [][]adapters.Comment{in.ca, in.cb} {
		for _, c := range cs {
			byID[i][c.ID] = c
			if c.SyncKey != "" {
				byKey[i][c.SyncKey] = c
			}
		}
	}
	paired := [2]map[string]bool{{}, {}}
	for i, s := range []store.Side{store.SideA, store.SideB} {
		o := 1 - i
		for _, c := range [][]adapters.Comment{in.ca, in.cb}[i] {
			if cl, ok := linked[i][c.ID]; ok {
				if i == 0 {
					if copyB, ok := byID[1][cl.BID]; ok {
						p.commentEdit(pp, cl, c, copyB)
					} // else the copy was deleted on B: leave it gone
				}
				continue
			}
			if paired[i][c.ID] {
				continue
			}
			if srcID, ok := copyOf(in.link.Key, s.Other(), c.SyncKey); ok {
				// c is our copy of comment srcID on the other side.
				if src, ok := byID[o][srcID]; ok && !paired[o][srcID] {
					if _, l := linked[o][srcID]; !l {
						pp.other = append(pp.other, p.commentPair(pp, s.Other(), src, c))
						paired[i][c.ID], paired[o][srcID] = true, true
					}
				}
				continue
			}
			if cp, ok := byKey[o][commentKey(in.link.Key, s, c.ID)]; ok && !paired[o][cp.ID] {
				if _, l := linked[o][cp.ID]; !l {
					pp.other = append(pp.other, p.commentPair(pp, s, c, cp))
					paired[i][c.ID], paired[o][cp.ID] = true, true
					continue
				}
			}
			if !in.hasBase && len(in.clinks) == 0 {
				// First contact of two items that both existed: a comment
				// already on the other side with the same text (copied by
				// hand or by another tool) is paired, not copied again.
				if cp, ok := sameBody(c, [][]adapters.Comment{in.ca, in.cb}[o], paired[o], linked[o]); ok {
					pp.other = append(pp.other, p.commentPair(pp, s, c, cp))
					paired[i][c.ID], paired[o][cp.ID] = true, true
					continue
				}
			}
			if p.comments[o] {
				pp.other = append(pp.other, p.commentAdd(pp, s.Other(), c))
			}
		}
	}
}

// sameBody finds an unpaired comment among cs with c's text (white space
// aside).
func sameBody(c adapters.Comment, cs []adapters.Comment, paired map[string]bool, linked map[string]store.CommentLink) (adapters.Comment, bool) {
	want := strings.Join(strings.Fields(c.Body), " ")
	for _, x := range cs {
		if paired[x.ID] || x.SyncKey != "" {
			continue
		}
		if _, l := linked[x.ID]; l {
			continue
		}
		if strings.Join(strings.Fields(x.Body), " ") == want {
			return x, true
		}
	}
	return adapters.Comment{}, false
}

// copyOf reads a comment key commentKey made for link key linkKey and
// source side s, returning the source comment's ID.
func copyOf(linkKey string, s store.Side, key string) (string, bool) {
	id, ok := strings.CutPrefix(key, fmt.Sprintf("%s/comment/%s/", linkKey, s))
	return id, ok && id != ""
}

// commentPair records that cp (on the side opposite src's side s) is the
// copy of src: state only, no tracker call.
func (p *planner) commentPair(pp *pairPlan, s store.Side, src, cp adapters.Comment) *Op {
	in := pp.in
	to := s.Other()
	target, source := in.link.B, in.link.A
	if to == store.SideA {
		target, source = in.link.A, in.link.B
	}
	return &Op{Kind: OpCommentLink, Side: to, LinkID: in.link.ID, LinkKey: in.link.Key, Target: target, Source: source,
		Comment: &CommentOp{SourceID: src.ID, TargetID: cp.ID, Body: src.Body, TargetBody: cp.Body}, pair: pp}
}

func (p *planner) commentAdd(pp *pairPlan, to store.Side, c adapters.Comment) *Op {
	in := pp.in
	target, source := in.link.B, in.link.A
	if to == store.SideA {
		target, source = in.link.A, in.link.B
	}
	return &Op{Kind: OpCommentAdd, Side: to, LinkID: in.link.ID, LinkKey: in.link.Key, Target: target, Source: source,
		Comment: &CommentOp{SourceID: c.ID, Body: c.Body, Key: commentKey(in.link.Key, to.Other(), c.ID)}, pair: pp}
}

func (p *planner) commentEdit(pp *pairPlan, cl store.CommentLink, a, b adapters.Comment) {
	ha, hb := bodyHash(a.Body), bodyHash(b.Body)
	wantA, wantB := splitHash(cl.BodyHash)
	aCh, bCh := ha != wantA, hb != wantB
	if !aCh && !bCh || a.Body == b.Body {
		return
	}
	to := store.SideB
	switch {
	case aCh && bCh:
		if b.UpdatedAt.After(a.UpdatedAt) {
			to = store.SideA
		}
	case bCh:
		to = store.SideA
	}
	if !p.comments[sideIdx(to)] {
		return
	}
	in := pp.in
	op := &Op{Kind: OpCommentEdit, Side: to, LinkID: in.link.ID, LinkKey: in.link.Key, pair: pp}
	if to == store.SideB {
		op.Target, op.Source = in.link.B, in.link.A
		op.Comment = &CommentOp{SourceID: a.ID, TargetID: b.ID, Body: a.Body}
	} else {
		op.Target, op.Source = in.link.A, in.link.B
		op.Comment = &CommentOp{SourceID: b.ID, TargetID: a.ID, Body: b.Body}
	}
	pp.other = append(pp.other, op)
}

func splitHash(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// createItem builds the counterpart of src on side to: every field the
// flow writes to that side, translated.
func (p *planner) createItem(src adapters.Item, to store.Side) (adapters.Item, store.Base) {
	it := adapters.Item{Kind: src.Kind}
	base := store.Base{A: map[string]string{}, B: map[string]string{}}
	srcBase, dstBase := base.A, base.B
	if to == store.SideA {
		srcBase, dstBase = base.B, base.A
	}
	for _, r := range p.rules {
		if (to == store.SideA && !r.toA) || (to == store.SideB && !r.toB) {
			continue
		}
		v := p.fm.Value(to.Other(), src, r.field)
		out := p.toSide(r.field, to, v, "")
		if r.field == adapters.FieldParent && p.unresolved[v] {
			continue // settled once the parent is linked: base left unknown
		}
		if err := p.fm.Apply(to, &it, r.field, out); err != nil {
			p.warn(fmt.Sprintf("%s: %v", src.Ref, err))
			continue
		}
		srcBase[r.field] = v
		dstBase[r.field] = out
	}
	if it.Status == "" {
		// A status must exist on create: the first status of the target
		// in the source's category, or the target's first status.
		caps := p.caps[sideIdx(to)]
		for _, s := range caps.Statuses {
			if s.Category == src.StatusCategory {
				it.Status = s.Name
				break
			}
		}
		if it.Status == "" && len(caps.Statuses) > 0 {
			it.Status = caps.Statuses[0].Name
		}
	}
	return it, base
}

// sortOps orders a plan for stable output and a safe apply: links and
// creates first, then updates, conflicts, comments, archives, unlinks.
func sortOps(ops []Op) {
	rank := map[OpKind]int{OpLink: 0, OpCreate: 1, OpConflict: 2, OpUpdate: 3, OpCommentLink: 4, OpCommentAdd: 4, OpCommentEdit: 5, OpArchive: 6, OpUnlink: 7}
	sort.SliceStable(ops, func(i, j int) bool { return rank[ops[i].Kind] < rank[ops[j].Kind] })
}

// plainStatus strips the status label from a status value as
// mapping.Flow.Value reads it ("open [status: in progress]").
func plainStatus(v string) string {
	if i := strings.Index(v, " ["); i > 0 && strings.HasSuffix(v, "]") {
		return v[:i]
	}
	return v
}
