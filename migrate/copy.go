package migrate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/store"
)

// maxBody is the longest body a target takes, by kind (characters).
var maxBody = map[string]int{"github": 65536, "jira": 32767}

// targetOf returns the copy of the item at pos when it exists.
func (m *run) targetOf(pos int) (adapters.Ref, bool) {
	e := m.entries[pos]
	return e.link.B, e.link.ID != 0
}

// body is the copy's body: references rewritten to the copies that exist,
// truncated to what the target takes.
func (m *run) body(e *entry) string {
	src := m.o.Map.Value(m.src, e.src, adapters.FieldBody)
	out, _ := m.idx.rewrite(src, e.src.Ref, m.targetOf)
	if n, ok := maxBody[m.o.To.Kind]; ok && len([]rune(out)) > n {
		note := "\n\n… (truncated: the full text is at " + cmp.Or(e.src.Ref.URL, e.src.Ref.String()) + ")"
		out = string([]rune(out)[:n-len([]rune(note))]) + note
		m.rep.warn("truncated_body", e.src.Ref, "body of %d characters cut to %d (the limit of %s)", len([]rune(src)), n, m.o.To.Kind)
	}
	return out
}

// taskList is what a target without a parent field gets instead: the
// parent's copy lists its children's copies as a task list, checked where
// they are done (GitHub renders it as a tracking issue).
func (m *run) taskList(e *entry) string {
	if len(e.children) == 0 || has(m.o.To.Tracker.Capabilities(), adapters.FieldParent) || !m.o.Map.Writes(adapters.FieldBody, m.dst) {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n\n**Sub-issues**\n\n")
	for _, c := range e.children {
		mark := " "
		if c.src.StatusCategory == adapters.CategoryDone {
			mark = "x"
		}
		fmt.Fprintf(&b, "- [%s] %s\n", mark, cmp.Or(c.link.B.Key, c.link.B.ID))
	}
	return strings.TrimRight(b.String(), "\n")
}

// unresolved reports whether text (a copy's body as stored) still names
// an item of the migration by its source key or URL: a reference its
// create could not resolve because that item had no copy yet. Keys survive
// the target's markup conversion, so this holds after a round trip.
func (m *run) unresolved(text string, self adapters.Ref) bool {
	_, pending := m.idx.rewrite(text, self, func(int) (adapters.Ref, bool) { return adapters.Ref{}, false })
	return pending
}

// warnKind sorts the mapping's warnings for the report.
func warnKind(field string) string {
	switch field {
	case adapters.FieldAssignees:
		return "unknown_user"
	case adapters.FieldStatus:
		return "unmapped_status"
	}
	return "mapping"
}

// copyItem builds the copy of e: every field the map writes toward the
// target, translated; the parent is the parent's copy.
func (m *run) copyItem(e *entry) adapters.Item {
	fm := m.o.Map
	caps := m.o.To.Tracker.Capabilities()
	it := adapters.Item{Kind: e.src.Kind}
	if len(caps.Kinds) > 0 && !slices.Contains(caps.Kinds, it.Kind) {
		it.Kind = caps.Kinds[0]
		if slices.Contains(caps.Kinds, adapters.KindIssue) {
			it.Kind = adapters.KindIssue
		}
		m.rep.warn("kind_changed", e.src.Ref, "%s cannot hold a %s: copied as a %s", m.o.To.Tracker.Name(), e.src.Kind, it.Kind)
	}
	if len(e.children) > 0 && it.Kind == adapters.KindIssue && slices.Contains(caps.Kinds, adapters.KindEpic) && has(caps, adapters.FieldParent) {
		// A tracking issue (its task list names its sub-issues) becomes
		// an epic where the target has them.
		it.Kind = adapters.KindEpic
	}
	for _, r := range fm.Rules {
		if !fm.Writes(r.Field, m.dst) {
			continue
		}
		var out string
		switch r.Field {
		case adapters.FieldParent:
			continue
		case adapters.FieldBody:
			out = m.body(e)
			if n := countAttachments(out); n > 0 && m.rep.warn("attachment_linked", e.src.Ref, "%d attachment(s) left as links to the originals (not copied)", n) {
				m.rep.Counts.AttachmentLinks += n
			}
		default:
			v := fm.Value(m.src, e.src, r.Field)
			var warns []string
			out, warns = fm.Translate(r.Field, m.dst, v, "")
			for _, w := range warns {
				m.rep.warn(warnKind(r.Field), e.src.Ref, "%s", w)
			}
		}
		if err := fm.Apply(m.dst, &it, r.Field, out); err != nil {
			m.rep.warn("mapping", e.src.Ref, "%s: %v", r.Field, err)
		}
	}
	if p := e.src.Parent; p != nil && !p.IsZero() && m.writesParent() {
		if pe, ok := m.byID[p.ID]; ok && pe.link.ID != 0 {
			pr := pe.link.B
			it.Parent = &pr
		} else {
			m.rep.warn("parent_outside", e.src.Ref, "parent %s is not part of the migration: the copy has no parent", p)
		}
	}
	if _, ok := caps.Category(it.Status); it.Status != "" && !ok && len(caps.Statuses) > 0 {
		// Not a status of the target (no map names it): the nearest of
		// its workflow, an in-progress status falling back to to-do.
		was := it.Status
		it.Status = ""
		for _, cat := range []adapters.StatusCategory{e.src.StatusCategory, adapters.CategoryTodo} {
			for _, s := range caps.Statuses {
				if it.Status == "" && s.Category == cat {
					it.Status = s.Name
				}
			}
		}
		m.rep.warn("unmapped_status", e.src.Ref, "status %q is not a status of %s and no map names it: copied as %q", was, m.o.To.Tracker.Name(), cmp.Or(it.Status, caps.Statuses[0].Name))
	}
	if it.Status == "" {
		for _, s := range caps.Statuses {
			if s.Category == e.src.StatusCategory {
				it.Status = s.Name
				break
			}
		}
		if it.Status == "" && len(caps.Statuses) > 0 {
			it.Status = caps.Statuses[0].Name
		}
	}
	return it
}

// writesParent reports whether copies get their parent's copy as parent:
// when the target holds parents and the map does not keep the field from
// it (a map of a source without parents, like GitHub's, has no parent
// rule: the hierarchy then comes from task lists).
func (m *run) writesParent() bool {
	if !has(m.o.To.Tracker.Capabilities(), adapters.FieldParent) {
		return false
	}
	if _, ok := m.o.Map.Rule(adapters.FieldParent); ok {
		return m.o.Map.Writes(adapters.FieldParent, m.dst)
	}
	return !has(m.o.From.Tracker.Capabilities(), adapters.FieldParent)
}

// createAll makes the copies that do not exist yet, parents first, in
// batches where the target takes them.
func (m *run) createAll(ctx context.Context) error {
	var todo []*entry
	for _, e := range m.entries {
		if e.link.ID == 0 {
			todo = append(todo, e)
		}
	}
	m.o.Progress.Phase("creating on "+m.o.To.Tracker.Name(), len(todo))
	bulk, isBulk := m.o.To.Tracker.(adapters.BulkCreator)
	for _, b := range m.batches(todo) {
		var err error
		if isBulk {
			err = m.createBatch(ctx, bulk, b)
		} else {
			err = m.createOne(ctx, b[0])
		}
		if err != nil {
			return err
		}
		m.o.Progress.Add(len(b))
	}
	return nil
}

// batches splits the creates into requests: one item each, or up to
// BatchSize for a bulk target. A batch never holds an item and its parent.
func (m *run) batches(todo []*entry) [][]*entry {
	size := 1
	if _, ok := m.o.To.Tracker.(adapters.BulkCreator); ok {
		size = m.o.BatchSize
	}
	var out [][]*entry
	for i := 0; i < len(todo); {
		j := i
		in := map[string]bool{}
		for j < len(todo) && j-i < size {
			if p := todo[j].src.Parent; p != nil && in[p.ID] {
				break
			}
			in[todo[j].src.Ref.ID] = true
			j++
		}
		out = append(out, todo[i:j])
		i = j
	}
	return out
}

func (m *run) request(e *entry) adapters.CreateRequest {
	it := m.copyItem(e)
	key := CopyKey(m.o.From.Identity, e.src.Ref.ID, m.o.To.Identity)
	return adapters.CreateRequest{Item: it, Options: adapters.CreateOptions{IdempotencyKey: key, BackLink: e.src.Ref.URL, Scope: m.o.To.Scope}}
}

// intent journals the creates of batch before they are made.
func (m *run) intent(ctx context.Context, batch []*entry, reqs []adapters.CreateRequest) ([]int64, error) {
	ids := make([]int64, len(batch))
	err := m.st.Tx(ctx, func(tx store.Ops) error {
		for i, e := range batch {
			id, err := tx.JournalIntent(ctx, store.JournalEntry{RunID: m.runID, Flow: m.flow, Op: "create", Side: store.SideB, Target: e.src.Ref, IdempotencyKey: reqs[i].Options.IdempotencyKey})
			if err != nil {
				return err
			}
			ids[i] = id
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("migration %s: journaling %d create(s): %w", m.o.ID, len(batch), err)
	}
	return ids, nil
}

// linked records a made (or found) copy: its link and the journal entry.
func (m *run) linked(ctx context.Context, tx store.Ops, e *entry, jid int64, key string, res adapters.CreateResult) error {
	l, err := tx.CreateLink(ctx, store.Link{Flow: m.flow, Key: key, A: e.src.Ref, B: res.Item.Ref})
	if errors.Is(err, store.ErrExists) {
		l, err = tx.FindLinkByKey(ctx, m.flow, key)
	}
	if err != nil {
		return fmt.Errorf("linking %s with its copy %s: %w", e.src.Ref, res.Item.Ref, err)
	}
	if err := tx.JournalFinish(ctx, jid, store.JournalDone, res.Item.Ref, l.ID, "", store.Lease{}); err != nil {
		return err
	}
	e.link, e.target, e.fresh = l, res.Item, true
	if res.Existed {
		m.rep.Counts.Found++
		e.fresh = false // made by an earlier run, perhaps from older values
	} else {
		m.rep.Counts.Created++
	}
	return nil
}

func (m *run) createOne(ctx context.Context, e *entry) error {
	req := m.request(e)
	ids, err := m.intent(ctx, []*entry{e}, []adapters.CreateRequest{req})
	if err != nil {
		return err
	}
	var res adapters.CreateResult
	err = m.write(func() error {
		var err error
		res, err = m.o.To.Tracker.Create(ctx, req.Item, req.Options)
		return err
	})
	if errors.Is(err, errCrashed) {
		return err
	}
	if err != nil {
		m.journalFailed(ctx, ids, err)
		return fmt.Errorf("migration %s: creating the copy of %s on %s: %w", m.o.ID, e.src.Ref, m.o.To.Tracker.Name(), err)
	}
	return m.st.Tx(ctx, func(tx store.Ops) error { return m.linked(ctx, tx, e, ids[0], req.Options.IdempotencyKey, res) })
}

func (m *run) createBatch(ctx context.Context, bulk adapters.BulkCreator, batch []*entry) error {
	reqs := make([]adapters.CreateRequest, len(batch))
	for i, e := range batch {
		reqs[i] = m.request(e)
	}
	ids, err := m.intent(ctx, batch, reqs)
	if err != nil {
		return err
	}
	var res []adapters.CreateResult
	err = m.write(func() error {
		var err error
		res, err = bulk.CreateMany(ctx, reqs)
		return err
	})
	if errors.Is(err, errCrashed) {
		return err
	}
	if err == nil && len(res) != len(reqs) {
		err = fmt.Errorf("the bulk create answered %d results for %d creates", len(res), len(reqs))
	}
	if err != nil {
		m.journalFailed(ctx, ids, err)
		return fmt.Errorf("migration %s: creating %d copies (%s..%s) on %s: %w", m.o.ID, len(batch), batch[0].src.Ref, batch[len(batch)-1].src.Ref, m.o.To.Tracker.Name(), err)
	}
	return m.st.Tx(ctx, func(tx store.Ops) error {
		for i, e := range batch {
			if err := m.linked(ctx, tx, e, ids[i], reqs[i].Options.IdempotencyKey, res[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// journalFailed marks creates that failed. They stay pending when the
// failure may have taken effect; the idempotency key finds such a copy
// on the next run either way.
func (m *run) journalFailed(ctx context.Context, ids []int64, err error) {
	for _, id := range ids {
		_ = m.st.JournalFinish(context.WithoutCancel(ctx), id, store.JournalPending, adapters.Ref{}, 0, err.Error(), store.Lease{})
	}
}

// settleJournal completes the create intents interrupted runs left
// pending: done where the copy is linked now (found by its key), failed
// where it is not (the next run makes it, by the same key).
func (m *run) settleJournal(ctx context.Context) error {
	pending, err := m.st.PendingJournal(ctx, m.flow)
	if err != nil {
		return fmt.Errorf("migration %s: reading its journal: %w", m.o.ID, err)
	}
	for _, j := range pending {
		e, ok := m.byID[j.Target.ID]
		var err error
		if ok && e.link.ID != 0 {
			err = m.st.JournalFinish(ctx, j.ID, store.JournalDone, e.link.B, e.link.ID, "", store.Lease{})
		} else {
			err = m.st.JournalFinish(ctx, j.ID, store.JournalFailed, adapters.Ref{}, 0, "interrupted; a later run makes the copy by the same key", store.Lease{})
		}
		if err != nil {
			return fmt.Errorf("migration %s: completing journal entry %d: %w", m.o.ID, j.ID, err)
		}
	}
	return nil
}

// finishAll finishes every created item not finished yet.
func (m *run) finishAll(ctx context.Context) error {
	var todo []*entry
	for _, e := range m.entries {
		if !e.done && e.link.ID != 0 {
			todo = append(todo, e)
		}
		if e.done {
			m.rep.Counts.Done++
		}
	}
	m.o.Progress.Phase("finishing (references, status, comments)", len(todo))
	for _, e := range todo {
		if err := m.finish(ctx, e); err != nil {
			return err
		}
		m.o.Progress.Add(1)
	}
	return nil
}

// finish brings one copy to its final state and records its base.
func (m *run) finish(ctx context.Context, e *entry) error {
	to := m.o.To.Tracker
	ref := e.link.B
	if !e.fresh {
		// Made by an earlier run (or found by its key): read it as it is.
		it, err := to.Get(ctx, ref)
		m.rep.Counts.Requests++
		if err != nil {
			return fmt.Errorf("migration %s: reading the copy %s of %s: %w", m.o.ID, ref, e.src.Ref, err)
		}
		e.target = it
	}
	want := m.copyItem(e)
	fm := m.o.Map
	var fields []string
	for _, r := range fm.Rules {
		if !fm.Writes(r.Field, m.dst) || r.Field == adapters.FieldParent {
			continue
		}
		if r.Field == adapters.FieldBody {
			// The create wrote the body with the references it could
			// resolve (to items copied before its batch); the rest
			// resolve now.
			want.Body = m.body(e)
			list := m.taskList(e)
			want.Body += list
			if m.unresolved(e.target.Body, e.src.Ref) || list != "" && !strings.Contains(e.target.Body, strings.TrimSpace(list)) {
				fields = append(fields, fm.PatchFields(r.Field, m.dst)...)
			}
			continue
		}
		if fm.Value(m.dst, e.target, r.Field) != fm.Value(m.dst, want, r.Field) {
			fields = append(fields, fm.PatchFields(r.Field, m.dst)...)
		}
	}
	if w := want.Parent; w != nil && m.writesParent() && (e.target.Parent == nil || e.target.Parent.ID != w.ID) {
		fields = append(fields, adapters.FieldParent)
	}
	fields = compact(fields)
	if len(fields) > 0 {
		var got adapters.Item
		err := m.write(func() error {
			var err error
			got, err = to.Update(ctx, ref, adapters.Patch{Fields: fields, Item: want})
			return err
		})
		if errors.Is(err, errCrashed) {
			return err
		}
		if err != nil {
			return fmt.Errorf("migration %s: updating the copy %s of %s (%s): %w", m.o.ID, ref, e.src.Ref, strings.Join(fields, ", "), err)
		}
		e.target = got
		m.rep.Counts.Updates++
	}
	cls, err := m.copyComments(ctx, e)
	if err != nil {
		return err
	}
	var note *store.CommentLink
	if m.o.CommentOnSource {
		if note, err = m.noteOnSource(ctx, e); err != nil {
			return err
		}
	}
	err = m.st.Tx(ctx, func(tx store.Ops) error {
		base := store.Base{LinkID: e.link.ID, A: fieldValues(e.src), B: fieldValues(e.target), AVersion: e.src.Version, BVersion: e.target.Version, SyncedAt: m.o.Clock().UTC()}
		if err := tx.PutBase(ctx, base); err != nil {
			return fmt.Errorf("migration %s: recording %s as done: %w", m.o.ID, e.src.Ref, err)
		}
		for _, c := range cls {
			if !c.fresh {
				continue
			}
			if err := tx.PutCommentLink(ctx, store.CommentLink{LinkID: e.link.ID, AID: c.src, BID: c.dst, BodyHash: bodyHash(c.srcBody) + ":" + bodyHash(c.dstBody)}); err != nil {
				return fmt.Errorf("migration %s: recording the comments copied to %s: %w", m.o.ID, e.link.B, err)
			}
		}
		e.done = true
		m.rep.Counts.Finished++
		if m.o.Link != nil {
			return m.handOver(ctx, tx, e, e.src, e.target, cls, note)
		}
		return nil
	})
	if err == nil {
		m.o.Logger.Info("migrated", "migration", m.o.ID, "source", e.src.Ref.String(), "copy", e.link.B.String(), "updated", strings.Join(fields, ","), "comments", len(cls))
	}
	return err
}

func compact(fields []string) []string {
	var out []string
	for _, f := range fields {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// fieldValues are every field of it, canonical, for the migration's base.
func fieldValues(it adapters.Item) map[string]string {
	out := map[string]string{}
	for _, f := range adapters.StandardFields {
		out[f] = adapters.FieldValue(it, f)
	}
	for k, v := range it.Fields {
		out[adapters.CustomPrefix+k] = v
	}
	return out
}

// commentSide is the side the source's comments are keyed by: the
// source's side in the hand-over flow, else a.
func (m *run) commentSide() store.Side {
	if m.o.Link != nil {
		return m.o.Link.SourceSide
	}
	return store.SideA
}

// header names a copied comment's author and time, which the target sets
// to the migrating account and now.
func header(c adapters.Comment) string {
	who := cmp.Or(c.Author, "someone")
	return fmt.Sprintf("_%s wrote on %s:_\n\n", who, c.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
}

// copyComments copies e's comments in order, skipping those copied
// already; it returns the comment pairs (source id, copy id, bodies).
func (m *run) copyComments(ctx context.Context, e *entry) ([]commentPair, error) {
	if len(e.comments) == 0 {
		return nil, nil
	}
	c, ok := m.o.To.Tracker.(adapters.Commenter)
	if !ok {
		m.rep.warn("mapping", e.src.Ref, "%s takes no comments: %d comment(s) not copied", m.o.To.Tracker.Name(), len(e.comments))
		return nil, nil
	}
	done, err := m.st.ListCommentLinks(ctx, e.link.ID)
	if err != nil {
		return nil, fmt.Errorf("migration %s: reading the comments copied to %s: %w", m.o.ID, e.link.B, err)
	}
	have := map[string]store.CommentLink{}
	for _, cl := range done {
		have[cl.AID] = cl
	}
	var out []commentPair
	for _, sc := range e.comments {
		body, _ := m.idx.rewrite(sc.Body, e.src.Ref, m.targetOf)
		body = header(sc) + body
		if cl, ok := have[sc.ID]; ok {
			out = append(out, commentPair{src: sc.ID, dst: cl.BID, srcBody: sc.Body, dstBody: body})
			continue
		}
		key := commentKey(e.link.Key, m.commentSide(), sc.ID)
		var made adapters.Comment
		err := m.write(func() error {
			var err error
			made, err = c.AddComment(ctx, e.link.B, adapters.Comment{Body: body}, key)
			return err
		})
		if errors.Is(err, errCrashed) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("migration %s: copying comment %s of %s to %s: %w", m.o.ID, sc.ID, e.src.Ref, e.link.B, err)
		}
		// Recorded with the item's base (one transaction for the item): a
		// copy made before a crash is found again by its key.
		m.rep.Counts.Comments++
		out = append(out, commentPair{src: sc.ID, dst: made.ID, srcBody: sc.Body, dstBody: made.Body, fresh: true})
	}
	return out, nil
}

type commentPair struct {
	src, dst, srcBody, dstBody string
	fresh                      bool // made by this run, not recorded yet
}

// noteOnSource comments on the source item where its copy is. It returns
// the note as a comment link of the hand-over flow that pairs it with no
// copy, so the flow leaves it where it is.
func (m *run) noteOnSource(ctx context.Context, e *entry) (*store.CommentLink, error) {
	c, ok := m.o.From.Tracker.(adapters.Commenter)
	if !ok {
		return nil, nil
	}
	where := cmp.Or(e.link.B.URL, e.link.B.String())
	key := "migrate:" + m.o.ID + "/moved/" + e.src.Ref.ID
	var made adapters.Comment
	err := m.write(func() error {
		var err error
		made, err = c.AddComment(ctx, e.src.Ref, adapters.Comment{Body: fmt.Sprintf("Moved to %s (%s) by tracksync migrate %s.", where, e.link.B.Key, m.o.ID)}, key)
		return err
	})
	if errors.Is(err, errCrashed) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("migration %s: commenting on %s where its copy is: %w", m.o.ID, e.src.Ref, err)
	}
	m.rep.Counts.SourceComments++
	return &store.CommentLink{AID: made.ID, BID: "migrate-note:" + made.ID, BodyHash: bodyHash(made.Body) + ":" + bodyHash(made.Body)}, nil
}

// handOver links the pair under the hand-over flow, with the base the
// flow would have recorded had it made the copy, and its comment pairs.
func (m *run) handOver(ctx context.Context, tx store.Ops, e *entry, src, dst adapters.Item, cls []commentPair, note *store.CommentLink) error {
	h := m.o.Link
	fm := h.Map
	ss, ds := h.SourceSide, h.SourceSide.Other()
	l := store.Link{Flow: fm.Name, Key: e.link.Key}
	if ss == store.SideA {
		l.A, l.B = e.link.A, e.link.B
	} else {
		l.A, l.B = e.link.B, e.link.A
	}
	if _, err := tx.FindLinkByKey(ctx, fm.Name, l.Key); err == nil {
		return nil // handed over already
	}
	got, err := tx.CreateLink(ctx, l)
	if err != nil {
		return fmt.Errorf("migration %s: linking %s with %s under flow %s: %w", m.o.ID, l.A, l.B, fm.Name, err)
	}
	base := store.Base{LinkID: got.ID, A: map[string]string{}, B: map[string]string{}, SyncedAt: m.o.Clock().UTC()}
	sv, dv := base.A, base.B
	if ss == store.SideB {
		sv, dv = base.B, base.A
	}
	for _, r := range fm.Rules {
		sv[r.Field] = fm.Value(ss, src, r.Field)
		dv[r.Field] = fm.Value(ds, dst, r.Field)
	}
	if ss == store.SideA {
		base.AVersion, base.BVersion = src.Version, dst.Version
	} else {
		base.AVersion, base.BVersion = dst.Version, src.Version
	}
	if err := tx.PutBase(ctx, base); err != nil {
		return fmt.Errorf("migration %s: recording the base of %s under flow %s: %w", m.o.ID, l.A, fm.Name, err)
	}
	for _, c := range cls {
		cl := store.CommentLink{LinkID: got.ID, AID: c.src, BID: c.dst, BodyHash: bodyHash(c.srcBody) + ":" + bodyHash(c.dstBody)}
		if ss == store.SideB {
			cl = store.CommentLink{LinkID: got.ID, AID: c.dst, BID: c.src, BodyHash: bodyHash(c.dstBody) + ":" + bodyHash(c.srcBody)}
		}
		if err := tx.PutCommentLink(ctx, cl); err != nil {
			return err
		}
	}
	if note != nil {
		cl := *note
		cl.LinkID = got.ID
		if ss == store.SideB {
			cl.AID, cl.BID = cl.BID, cl.AID
		}
		if err := tx.PutCommentLink(ctx, cl); err != nil {
			return err
		}
	}
	m.rep.Counts.Linked++
	return nil
}

// handOverDone links, under the hand-over flow, the pairs an earlier run
// finished without handing them over: both items are read again.
func (m *run) handOverDone(ctx context.Context) error {
	name := m.o.Link.Map.Name
	for _, e := range m.entries {
		if !e.done || e.link.ID == 0 {
			continue
		}
		if _, err := m.st.FindLinkByKey(ctx, name, e.link.Key); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("migration %s: reading the link of %s under flow %s: %w", m.o.ID, e.src.Ref, name, err)
		}
		src, err := m.o.From.Tracker.Get(ctx, e.link.A)
		if err != nil {
			return fmt.Errorf("migration %s: reading %s to hand it over: %w", m.o.ID, e.link.A, err)
		}
		dst, err := m.o.To.Tracker.Get(ctx, e.link.B)
		if err != nil {
			return fmt.Errorf("migration %s: reading %s to hand it over: %w", m.o.ID, e.link.B, err)
		}
		m.rep.Counts.Requests += 2
		cls, err := m.st.ListCommentLinks(ctx, e.link.ID)
		if err != nil {
			return err
		}
		var pairs []commentPair
		for _, cl := range cls {
			pairs = append(pairs, commentPair{src: cl.AID, dst: cl.BID, srcBody: commentBody(src.Comments, cl.AID), dstBody: commentBody(dst.Comments, cl.BID)})
		}
		if err := m.st.Tx(ctx, func(tx store.Ops) error { return m.handOver(ctx, tx, e, src, dst, pairs, nil) }); err != nil {
			return err
		}
	}
	return nil
}

func commentBody(cs []adapters.Comment, id string) string {
	for _, c := range cs {
		if c.ID == id {
			return c.Body
		}
	}
	return ""
}
