package initiatives

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/notify"
	"github.com/tracksync/tracksync/rollup"
	"github.com/tracksync/tracksync/store"
)

// TrackingWriter is implemented by trackers that keep a tracking section
// in an item's body (GitHub): a summary line and a checklist of children
// between markers, the rest of the body left alone.
type TrackingWriter interface {
	UpdateTracking(ctx context.Context, parent adapters.Ref, summary string, children []adapters.Item) (adapters.Item, error)
}

// StatusPoster is implemented by trackers whose initiatives keep status
// updates rather than comments (an Asana portfolio's projects): one update
// by tracksync, replaced when its text or status type changes (status
// updates cannot be edited). CanPostStatus says whether ref is such an
// item; PostStatus writes nothing when tracksync's latest update already
// says text with health, and reports whether it wrote.
type StatusPoster interface {
	CanPostStatus(ref adapters.Ref) bool
	PostStatus(ctx context.Context, ref adapters.Ref, text, health string) (bool, error)
}

// SourceChecker is implemented by source trackers that can tell, without
// a request, that a source scope cannot hold what the config asks of it
// (writeStatus: initiatives.status is children): an Asana portfolio's
// projects keep a status only in an enum custom field.
type SourceChecker interface {
	CheckInitiativeSource(scope string, writeStatus bool) error
}

// The healths a status update carries (Asana's status types).
const (
	healthOnTrack  = "on_track"
	healthAtRisk   = "at_risk"
	healthComplete = "complete"
)

// health is r's state in a status update's words: all children done is
// complete, at risk is at risk, anything else on track.
func health(r rollup.Rollup) string {
	if cat, ok := statusFor(r); ok && cat == adapters.CategoryDone {
		return healthComplete
	}
	if r.AtRisk {
		return healthAtRisk
	}
	return healthOnTrack
}

// commentKey is the idempotency key of the summary comment on an initiative.
func commentKey(r adapters.Ref) string { return "tracksync-rollup/" + r.Tracker + "/" + r.ID }

// after does, for the initiatives in res.Changed, fan-out, write-back and
// snapshots, collecting errors so one refused write does not stop the rest.
// touched are further initiatives to fan out and write back (their own
// item changed) whose roll-up did not change.
func (s *Service) after(ctx context.Context, res *Result, touched []adapters.Ref, full bool) error {
	var errs []error
	if !s.o.ReadOnly {
		created, err := s.fanOut(ctx, mergeRefs(res.Changed, touched))
		res.Created = created
		if err != nil {
			errs = append(errs, err)
		}
		if len(created) > 0 {
			// Their roll-ups changed too.
			res.Changed = mergeRefs(res.Changed, s.g.initsOf(created))
		}
		n, err := s.writeBack(ctx, mergeRefs(res.Changed, touched), full)
		res.Written = n
		if err != nil {
			errs = append(errs, err)
		}
	}
	n, err := s.snapshot(ctx, res.Changed, full)
	res.Snapshots = n
	if err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func mergeRefs(a, b []adapters.Ref) []adapters.Ref {
	out := slices.Clone(a)
	for _, r := range b {
		if !slices.ContainsFunc(out, func(x adapters.Ref) bool { return rollup.Key(x) == rollup.Key(r) }) {
			out = append(out, r)
		}
	}
	return out
}

// fanOut creates, for each initiative in inits that is not done and has no
// direct child in a child tracker with create, the delivery item there,
// and links it. The create carries an idempotency key, so a crash between
// the create and the link finds the item again instead of making another.
func (s *Service) fanOut(ctx context.Context, inits []adapters.Ref) ([]adapters.Ref, error) {
	var created []adapters.Ref
	var errs []error
	for _, rule := range s.cfg.Children {
		if rule.Create == nil {
			continue
		}
		t := s.o.Trackers[rule.Tracker]
		for _, ir := range inits {
			init, ok := s.g.fanOutTarget(ir, rule.Tracker)
			if !ok {
				continue
			}
			kind := adapters.Kind(rule.Create.Kind)
			if kind == "" {
				kind = adapters.KindEpic
			}
			it := adapters.Item{
				Ref:   adapters.Ref{Tracker: rule.Tracker, Project: rule.Create.Project},
				Kind:  kind,
				Title: init.Title,
				Body:  strings.TrimSpace(init.Body + "\n\nDelivers initiative " + init.Ref.Key + "."),
			}
			if tpl, ok := s.rules.labels[rule.Tracker]; ok {
				it.Labels = []string{tpl.label(init.Ref.Key)}
			}
			if rule.Tracker == init.Ref.Tracker {
				p := init.Ref
				it.Parent = &p
			}
			key := "initiatives/" + rule.Tracker + "/" + init.Ref.Tracker + "/" + init.Ref.ID
			cr, err := t.Create(ctx, it, adapters.CreateOptions{IdempotencyKey: key, BackLink: init.Ref.URL, Scope: rule.Scope})
			if err != nil {
				errs = append(errs, fmt.Errorf("initiatives: creating the %s in %s for initiative %s: %w", kind, rule.Tracker, init.Ref.Key, err))
				continue
			}
			link := store.Link{Flow: FanoutFlow(rule.Tracker), Key: key, A: init.Ref, B: cr.Item.Ref}
			if _, err := s.o.Store.CreateLink(ctx, link); err != nil && !errors.Is(err, store.ErrExists) {
				errs = append(errs, fmt.Errorf("initiatives: linking %s to initiative %s: %w", cr.Item.Ref, init.Ref.Key, err))
				continue
			}
			if !cr.Existed {
				s.log.Info("created a delivery item for an initiative", "initiative", init.Ref.Key, "tracker", rule.Tracker, "item", cr.Item.Ref.Key)
			}
			s.g.addFanout(rollup.Key(ir), rule.Tracker, cr.Item)
			created = append(created, cr.Item.Ref)
		}
	}
	return created, errors.Join(errs...)
}

// percent is done as a whole percent (99, not 100, short of done).
func percent(f float64) int { return rollup.Percent(f) }

// progressValue is done as the roadmap's progress: a fraction with two
// decimals, which, like percent, reads 1 only when all is done.
func progressValue(f float64) string {
	return strconv.FormatFloat(float64(percent(f))/100, 'f', -1, 64)
}

// summary is the one-line progress text of r.
func (s *Service) summary(r rollup.Rollup) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Progress: %d%%**", percent(s.Done(r)))
	if s.byEstimate() {
		b.WriteString(" by estimate")
	}
	fmt.Fprintf(&b, " · %d of %d done, %d in progress, %d to do", r.Counts[adapters.CategoryDone], r.Total, r.Counts[adapters.CategoryInProgress], r.Counts[adapters.CategoryTodo])
	if !r.Target.IsZero() {
		fmt.Fprintf(&b, " · target %s", r.Target.Format(time.DateOnly))
	}
	if r.AtRisk {
		fmt.Fprintf(&b, " · **at risk**: %s", strings.Join(r.Reasons, "; "))
	}
	return b.String()
}

// statusFor is the category children drive the initiative to, and false
// when they drive nothing (no children).
func statusFor(r rollup.Rollup) (adapters.StatusCategory, bool) {
	switch {
	case r.Total == 0:
		return "", false
	case r.Counts[adapters.CategoryDone] == r.Total:
		return adapters.CategoryDone, true
	case r.Counts[adapters.CategoryDone]+r.Counts[adapters.CategoryInProgress] > 0:
		return adapters.CategoryInProgress, true
	}
	return adapters.CategoryTodo, true
}

// pickStatus is the status children drive initiative init to, and false
// when it has a fitting one already. The category decides (so a Jira
// initiative In Review is not moved to In Progress); within it, an
// initiative at risk takes a status named for it (an enum field's "At
// risk") where the tracker has one, and one back on track leaves it.
func pickStatus(statuses []adapters.StatusDef, r rollup.Rollup, init adapters.Item) (adapters.StatusDef, bool) {
	cat, ok := statusFor(r)
	if !ok {
		return adapters.StatusDef{}, false
	}
	risky := func(name string) bool {
		n := strings.ToLower(name)
		return strings.Contains(n, "risk") || strings.Contains(n, "off track")
	}
	first, match := -1, -1
	for i, st := range statuses {
		if st.Category != cat {
			continue
		}
		if first < 0 {
			first = i
		}
		if match < 0 && risky(st.Name) == r.AtRisk {
			match = i
		}
	}
	switch {
	case first < 0:
		return adapters.StatusDef{}, false
	case init.StatusCategory == cat:
		if match < 0 || risky(init.Status) == r.AtRisk {
			return adapters.StatusDef{}, false
		}
		return statuses[match], true
	case match >= 0:
		return statuses[match], true
	}
	return statuses[first], true
}

// writeBack writes the roll-ups of inits where the config says: the
// initiative's progress (and status) fields, a summary comment, and the
// tracking section of its GitHub tracking issues. Only what differs from
// the tracker's current value is written.
func (s *Service) writeBack(ctx context.Context, inits []adapters.Ref, full bool) (int, error) {
	wb := s.cfg.Rollup.WriteBack
	if !wb.Source && !wb.Comment && !wb.Tracking && s.cfg.Status != "children" {
		return 0, nil
	}
	n := 0
	var errs []error
	for _, ir := range inits {
		w, ok := s.g.writeState(ir)
		if !ok {
			continue
		}
		wrote, err := s.writeSource(ctx, w)
		if err != nil {
			errs = append(errs, err)
		} else if wrote {
			n++
		}
		text := s.summary(w.r)
		if wb.Comment {
			wrote, err := s.comment(ctx, w.init, text, health(w.r), full)
			if err != nil {
				errs = append(errs, err)
			} else if wrote {
				n++
			}
		}
		if wb.Tracking {
			wrote, terrs := s.writeTracking(ctx, w, text, full)
			n += wrote
			errs = append(errs, terrs...)
		}
	}
	return n, errors.Join(errs...)
}

// initWrite is what writeBack writes for one initiative: the initiative
// item, its roll-up, its direct children and those of them that are
// tracking issues.
type initWrite struct {
	init     adapters.Item
	r        rollup.Rollup
	children []adapters.Item
	tracking []adapters.Item
}

// writeSource writes progress (the roadmap's progress, the configured
// field) and, with status: children, the status onto the initiative
// itself, in one update when any differs.
func (s *Service) writeSource(ctx context.Context, w initWrite) (bool, error) {
	wb := s.cfg.Rollup.WriteBack
	src := s.o.Trackers[s.cfg.Source.Tracker]
	init, r := w.init, w.r
	var p adapters.Patch
	if wb.Source {
		if s.o.Kinds[s.cfg.Source.Tracker] == "roadmap" {
			v := progressValue(s.Done(r))
			if init.Fields["progress"] != v {
				p.Fields = append(p.Fields, adapters.CustomPrefix+"progress")
				setField(&p.Item, "progress", v)
			}
		}
		if wb.Field != "" {
			v := strconv.Itoa(percent(s.Done(r)))
			if cur, err := strconv.ParseFloat(init.Fields[wb.Field], 64); err != nil || int(math.Round(cur)) != percent(s.Done(r)) {
				p.Fields = append(p.Fields, adapters.CustomPrefix+wb.Field)
				setField(&p.Item, wb.Field, v)
			}
		}
	}
	if s.cfg.Status == "children" {
		if st, ok := pickStatus(src.Capabilities().Statuses, r, init); ok {
			p.Fields = append(p.Fields, adapters.FieldStatus)
			p.Item.Status, p.Item.StatusCategory = st.Name, st.Category
		}
	}
	if len(p.Fields) == 0 {
		return false, nil
	}
	p.IfVersion = init.Version
	got, err := src.Update(ctx, init.Ref, p)
	switch {
	case errors.Is(err, adapters.ErrConflict):
		// Someone edited it meanwhile: the next refresh reads the edit
		// and writes again.
		s.log.Info("initiative changed while writing its roll-up; retrying next refresh", "initiative", init.Ref.Key)
		return false, nil
	case err != nil:
		return false, fmt.Errorf("initiatives: writing the roll-up of %s (%s) to %s: %w", init.Ref.Key, strings.Join(p.Fields, ", "), s.cfg.Source.Tracker, err)
	}
	s.g.record(got, true)
	return true, nil
}

// writeTracking writes the roll-up section (text, and a checklist of the
// initiative's other direct children, then the tracking issue's own) into
// each of the initiative's tracking issues whose section changed (every
// one on a full refresh); it returns how many it wrote.
func (s *Service) writeTracking(ctx context.Context, w initWrite, text string, full bool) (int, []error) {
	n := 0
	var errs []error
	for _, ti := range w.tracking {
		tw, ok := s.o.Trackers[ti.Ref.Tracker].(TrackingWriter)
		if !ok {
			continue
		}
		var kids []adapters.Item
		seen := map[string]bool{rollup.Key(ti.Ref): true}
		// A copy: each tracking issue adds its own children.
		list := slices.Clone(w.children)
		list = append(list, s.g.childItems(ti.Ref)...)
		for _, c := range list {
			if k := rollup.Key(c.Ref); !seen[k] && c.Ref.ID != "" {
				seen[k] = true
				kids = append(kids, c)
			}
		}
		sig := "tracking\x00" + text + "\x00" + fmt.Sprint(doneList(kids))
		wk := rollup.Key(ti.Ref)
		if s.written.unchanged(wk, sig) && !full {
			continue
		}
		line := strings.Replace(text, "**Progress:", "**"+w.init.Ref.Key+" progress:", 1)
		if _, err := tw.UpdateTracking(ctx, ti.Ref, line, kids); err != nil {
			errs = append(errs, fmt.Errorf("initiatives: writing the tracking section of %s for %s: %w", ti.Ref, w.init.Ref.Key, err))
			continue
		}
		n++
		s.written.remember(wk, sig)
	}
	return n, errs
}

// doneList is what a checklist shows of items: key and done.
func doneList(items []adapters.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Ref.Key + "=" + string(it.StatusCategory)
	}
	return out
}

// comment keeps one summary comment on the initiative up to date, or one
// status update (with health) where the initiative keeps those.
func (s *Service) comment(ctx context.Context, init adapters.Item, text, health string, full bool) (bool, error) {
	wk := "comment\x00" + rollup.Key(init.Ref)
	sig := text + "\x00" + health
	if s.written.unchanged(wk, sig) && !full {
		return false, nil
	}
	// Emphasis as *…*, the form every tracker's Markdown reads back as
	// (Jira's ADF and wiki, Asana's rich text): with _…_ the comment read
	// back never equalled this, and every full read edited it again.
	body := text + "\n\n*Kept up to date by tracksync.*"
	if sp, ok := s.o.Trackers[init.Ref.Tracker].(StatusPoster); ok && sp.CanPostStatus(init.Ref) {
		wrote, err := sp.PostStatus(ctx, init.Ref, body, health)
		if err != nil {
			return false, fmt.Errorf("initiatives: writing the status update on %s: %w", init.Ref.Key, err)
		}
		s.written.remember(wk, sig)
		return wrote, nil
	}
	cm := s.o.Trackers[init.Ref.Tracker].(adapters.Commenter)
	key := commentKey(init.Ref)
	cs, err := cm.Comments(ctx, init.Ref)
	if err != nil {
		return false, fmt.Errorf("initiatives: reading the comments of %s: %w", init.Ref.Key, err)
	}
	wrote := false
	i := slices.IndexFunc(cs, func(c adapters.Comment) bool { return c.SyncKey == key })
	switch {
	case i < 0:
		_, err = cm.AddComment(ctx, init.Ref, adapters.Comment{Body: body}, key)
		wrote = true
	case strings.TrimSpace(cs[i].Body) != strings.TrimSpace(body):
		c := cs[i]
		c.Body = body
		_, err = cm.EditComment(ctx, init.Ref, c)
		wrote = true
	}
	if err != nil {
		return false, fmt.Errorf("initiatives: writing the summary comment on %s: %w", init.Ref.Key, err)
	}
	s.written.remember(wk, sig)
	return wrote, nil
}

func setField(it *adapters.Item, k, v string) {
	if it.Fields == nil {
		it.Fields = map[string]string{}
	}
	it.Fields[k] = v
}

// snapshot stores today's figures of inits (of every initiative when
// full), skipping those equal to what was last stored today, and with them,
// in one transaction, each change of a target date (the date-slip history)
// and, when Options.Events, the outbox events of what changed: an
// initiative turned at risk or back on track, its target date moved.
func (s *Service) snapshot(ctx context.Context, inits []adapters.Ref, full bool) (int, error) {
	if s.o.Store == nil {
		return 0, nil
	}
	if err := s.prime(ctx); err != nil {
		return 0, err
	}
	now := s.now().UTC()
	day := now.Format(time.DateOnly)
	var snaps []store.Snapshot
	var dates []store.DateChange
	var events []store.Event
	// A new day: every initiative gets its point.
	all := full || s.g.anyInit(s.hist.before(day))
	for _, r := range s.g.initRollups(inits, all) {
		key := rollup.Key(r.Initiative)
		p := s.eventPayload(r)
		target := ""
		if !r.Target.IsZero() {
			target = r.Target.UTC().Format(time.DateOnly)
		}
		if known, seen := s.hist.target(key); (seen && known != target) || (!seen && target != "") {
			dates = append(dates, store.DateChange{Initiative: key, At: now, From: known, To: target})
			if seen && s.o.Events {
				p.From, p.To = known, target
				events = append(events, notify.DateMoved(p, now))
			}
		}
		sn := store.Snapshot{
			Initiative: key, Day: day, Total: r.Total,
			Done: r.Counts[adapters.CategoryDone], InProgress: r.Counts[adapters.CategoryInProgress], Todo: r.Counts[adapters.CategoryTodo],
			DoneByCount: r.DoneByCount, DoneByEstimate: r.DoneByEstimate, AtRisk: r.AtRisk,
		}
		last, had := s.hist.last(sn.Initiative)
		if s.o.Events && r.AtRisk != last.AtRisk && (had || r.AtRisk) {
			if r.AtRisk {
				events = append(events, notify.AtRisk(p, now))
			} else {
				events = append(events, notify.OnTrack(p, now))
			}
		}
		last.UpdatedAt = time.Time{}
		if last == sn {
			continue
		}
		sn.UpdatedAt = now
		snaps = append(snaps, sn)
	}
	if len(snaps) == 0 && len(dates) == 0 && len(events) == 0 {
		return 0, nil
	}
	err := s.o.Store.Tx(ctx, func(tx store.Ops) error {
		for _, sn := range snaps {
			if err := tx.PutSnapshot(ctx, sn); err != nil {
				return err
			}
		}
		for _, d := range dates {
			if err := tx.PutDateChange(ctx, d); err != nil {
				return err
			}
		}
		for _, e := range events {
			if _, err := tx.PutEvent(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("initiatives: storing roll-up snapshots: %w", err)
	}
	s.hist.stored(snaps, dates)
	return len(snaps), nil
}

// eventPayload describes initiative r for an outbox event.
func (s *Service) eventPayload(r rollup.Rollup) notify.Payload {
	d := r.DoneByCount
	if s.byEstimate() {
		d = r.DoneByEstimate
	}
	key := r.Initiative.Key
	if key == "" {
		key = r.Initiative.ID
	}
	return notify.Payload{Initiative: key, Ref: rollup.Key(r.Initiative), Title: r.Title, URL: r.Initiative.URL,
		Reasons: slices.Clone(r.Reasons), Percent: percent(d)}
}

// prime reads, once per process, what the last process stored: the latest
// snapshot of each initiative (so a restart does not announce every
// at-risk initiative again) and the target-date history.
func (s *Service) prime(ctx context.Context) error {
	if s.hist.isPrimed() {
		return nil
	}
	since := s.now().UTC().AddDate(0, 0, -40).Format(time.DateOnly)
	snaps, err := s.o.Store.ListSnapshots(ctx, "", since)
	if err != nil {
		return fmt.Errorf("initiatives: reading the last snapshots: %w", err)
	}
	changes, err := s.o.Store.ListDateChanges(ctx, "")
	if err != nil {
		return fmt.Errorf("initiatives: reading the target date history: %w", err)
	}
	s.hist.prime(snaps, since, changes)
	return nil
}

// Slips returns the target-date history of every initiative by rollup key.
func (s *Service) Slips() map[string][]rollup.Slip { return s.hist.slipsCopy() }

// writeMemory remembers what write-back last wrote to each target (a
// summary comment or status update, a tracking section) as a signature,
// so that only changes are written. Its methods are safe for concurrent
// use.
type writeMemory struct {
	mu   sync.Mutex
	sigs map[string]string
}

func newWriteMemory() *writeMemory { return &writeMemory{sigs: map[string]string{}} }

// unchanged reports whether sig is what was last written to target.
func (w *writeMemory) unchanged(target, sig string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sigs[target] == sig
}

// remember records that sig was written to target.
func (w *writeMemory) remember(target, sig string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sigs[target] = sig
}
