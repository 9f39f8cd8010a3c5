package jira

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/tracksync/tracksync/adapters"
	"github.com/tracksync/tracksync/adapters/internal/rest"
)

// moveTo walks the issue through its workflow to status target: at each
// status it takes the first hop of the shortest known path, learning a
// status's transitions (GET .../transitions, cached per project, issue
// type and status) the first time it stands there. With a warm cache a
// status change costs one request per hop. from is the current status
// (nil to read it).
func (t *Tracker) moveTo(ctx context.Context, ref adapters.Ref, target string, known *wireIssue) error {
	if _, ok := t.caps.Category(target); !ok {
		return adapters.Permanent(fmt.Errorf("moving jira issue %s to %q: no such status in the workflow: %w", ref.Key, target, adapters.ErrInvalid))
	}
	if known == nil {
		w, err := t.getWire(ctx, ref, "status,issuetype,project")
		if err != nil {
			return fmt.Errorf("moving to %q: %w", target, err)
		}
		known = &w
	}
	cur := *known
	from := cur.status().Name
	wf := cur.project() + "/" + cur.issueType().Name + "/"
	key := cur.Key
	tried := map[string]int{}
	for hops := 0; from != target; hops++ {
		if hops > 3*len(t.caps.Statuses)+3 {
			return fmt.Errorf("moving jira issue %s to %q: gave up after %d hops, now at %q", key, target, hops, from)
		}
		tr, err := t.nextHop(ctx, cur.ID, wf, from, target)
		if err != nil {
			return fmt.Errorf("moving jira issue %s from %q to %q: %w", key, from, target, err)
		}
		fields, err := t.screenFields(tr)
		if err != nil {
			return fmt.Errorf("moving jira issue %s from %q to %q: transition %q: %w", key, from, target, tr.Name, err)
		}
		body := map[string]any{"transition": map[string]string{"id": tr.ID}}
		if len(fields) > 0 {
			body["fields"] = fields
		}
		err = t.c.do(ctx, http.MethodPost, t.path("/issue/"+url.PathEscape(cur.ID)+"/transitions"), body, nil)
		if err == nil {
			from = tr.To.Name
			continue
		}
		var ae *adapters.APIError
		stale := errors.As(err, &ae) && ae.Status == http.StatusBadRequest && strings.Contains(ae.Message, "not valid")
		if !stale && !ambiguous(ctx, err) {
			return fmt.Errorf("moving jira issue %s from %q to %q by transition %q: %w", key, from, target, tr.Name, err)
		}
		// The workflow changed under the cache, someone moved the issue,
		// or the answer was lost: forget what we knew and look again.
		if tried[from+"→"+tr.ID]++; tried[from+"→"+tr.ID] > 2 {
			return fmt.Errorf("moving jira issue %s from %q to %q by transition %q: %w", key, from, target, tr.Name, err)
		}
		t.mu.Lock()
		delete(t.trans, wf+from)
		t.mu.Unlock()
		now, gerr := t.getWire(ctx, ref, "status")
		if gerr != nil {
			return fmt.Errorf("moving jira issue %s to %q: %w", key, target, gerr)
		}
		from = now.status().Name
	}
	return nil
}

// transitions returns the transitions out of status from, cached.
func (t *Tracker) transitions(ctx context.Context, issueID, wf, from string) ([]wireTransition, error) {
	t.mu.Lock()
	trs, ok := t.trans[wf+from]
	t.mu.Unlock()
	if ok {
		return trs, nil
	}
	var res struct {
		Transitions []wireTransition `json:"transitions"`
	}
	if err := t.c.doShape(ctx, http.MethodGet, t.path("/issue/"+url.PathEscape(issueID)+"/transitions?expand=transitions.fields"), nil, &res, rest.Object("the transitions", "transitions")); err != nil {
		return nil, fmt.Errorf("reading transitions: %w", err)
	}
	t.mu.Lock()
	t.trans[wf+from] = res.Transitions
	t.mu.Unlock()
	return res.Transitions, nil
}

// nextHop picks the transition to take from status from towards target:
// the first hop of a shortest path through the statuses whose transitions
// are known; when the known graph does not reach target, the first hop
// towards the nearest status not explored yet.
func (t *Tracker) nextHop(ctx context.Context, issueID, wf, from, target string) (wireTransition, error) {
	if _, err := t.transitions(ctx, issueID, wf, from); err != nil {
		return wireTransition{}, err
	}
	t.mu.Lock()
	graph := map[string][]wireTransition{}
	for k, v := range t.trans {
		if s, ok := strings.CutPrefix(k, wf); ok {
			graph[s] = v
		}
	}
	t.mu.Unlock()
	type step struct {
		first wireTransition
		at    string
	}
	seen := map[string]bool{from: true}
	queue := []step{{at: from}}
	var frontier *step
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		out, known := graph[s.at]
		if !known {
			if frontier == nil {
				f := s
				frontier = &f
			}
			continue
		}
		// Stable order keeps the route reproducible.
		out = append([]wireTransition(nil), out...)
		sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
		for _, tr := range out {
			next := tr.To.Name
			if seen[next] {
				continue
			}
			seen[next] = true
			first := s.first
			if s.at == from {
				first = tr
			}
			if next == target {
				return first, nil
			}
			queue = append(queue, step{first: first, at: next})
		}
	}
	if frontier != nil {
		return frontier.first, nil
	}
	return wireTransition{}, adapters.Permanent(fmt.Errorf("the workflow has no path to %q: %w", target, adapters.ErrInvalid))
}

// screenFields fills the transition screen's required fields from
// Options.TransitionDefaults (by field id or name), or says which field
// is missing.
func (t *Tracker) screenFields(tr wireTransition) (map[string]any, error) {
	out := map[string]any{}
	ids := make([]string, 0, len(tr.Fields))
	for id := range tr.Fields {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		meta := tr.Fields[id]
		if !meta.Required {
			continue
		}
		v, ok := t.o.TransitionDefaults[id]
		if !ok {
			v, ok = t.o.TransitionDefaults[meta.Name]
		}
		if !ok {
			return nil, adapters.Permanent(fmt.Errorf("its screen requires field %q (%s) and no default is configured for it: set trackers.%s.transition_defaults.%s: %w", meta.Name, id, t.name, meta.Name, adapters.ErrInvalid))
		}
		if len(meta.AllowedValues) > 0 {
			i := slices.IndexFunc(meta.AllowedValues, func(a wireNamed) bool { return a.Name == v || a.Value == v || a.ID == v })
			if i < 0 {
				return nil, adapters.Permanent(fmt.Errorf("the default %q for required field %q (%s) is not one of its allowed values: %w", v, meta.Name, id, adapters.ErrInvalid))
			}
			// The matched value by id: every kind takes it, while a select
			// list (option) refuses {"name": ...}.
			switch a := meta.AllowedValues[i]; {
			case a.ID != "":
				out[id] = map[string]string{"id": a.ID}
			case a.Value != "":
				out[id] = map[string]string{"value": a.Value}
			default:
				out[id] = map[string]string{"name": a.Name}
			}
			continue
		}
		if t.ctype[id] == "textarea" || meta.Schema.kind() == "textarea" {
			// Multi-line text: an Atlassian Document on Cloud, as in
			// customJSON.
			out[id] = t.writeBody(v)
			continue
		}
		out[id] = v
	}
	return out, nil
}
