package notify

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tracksync/tracksync/rollup"
	"github.com/tracksync/tracksync/store"
)

// Message is what a sink sends, in plain words; each sink dresses it in
// its own format (Block Kit, an Adaptive Card, JSON).
type Message struct {
	Kind string
	// Title is one line: "INIT-1 Checkout v2 is at risk".
	Title string
	// Lines are paragraphs of plain text.
	Lines []string
	// Facts are label/value pairs (the two sides of a conflict).
	Facts []Fact
	// Links are buttons: the item, the dashboard.
	Links []Link
	// Events are the outbox events the message carries (several when
	// grouped), Payloads their payloads.
	Events   []store.Event
	Payloads []Payload
	// Severity is "warning" for bad news, "good" for good news, "" else.
	Severity string
}

// Fact is one label/value pair of a message.
type Fact struct{ Label, Value string }

// Link is a button or link of a message.
type Link struct{ Text, URL string }

// Text is the message as plain text (the fallback text of Slack, logs).
func (m Message) Text() string {
	var b strings.Builder
	b.WriteString(m.Title)
	for _, l := range m.Lines {
		b.WriteString("\n" + l)
	}
	for _, f := range m.Facts {
		b.WriteString("\n" + f.Label + ": " + f.Value)
	}
	for _, l := range m.Links {
		b.WriteString("\n" + l.Text + ": " + l.URL)
	}
	return b.String()
}

// Renderer turns events into messages.
type Renderer struct {
	// Dashboard is the dashboard's URL ("" for no link).
	Dashboard string
}

// dashboardLink links the dashboard, at one initiative's card when
// initiative is set.
func (r Renderer) dashboardLink(initiative string) []Link {
	if r.Dashboard == "" {
		return nil
	}
	u := r.Dashboard
	if initiative != "" {
		u = strings.TrimRight(u, "/") + "/?initiative=" + url.QueryEscape(initiative)
	}
	return []Link{{Text: "Dashboard", URL: u}}
}

func itemLink(label, u string) []Link {
	if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") {
		return nil
	}
	return []Link{{Text: "Open " + label, URL: u}}
}

func initName(p Payload) string {
	return strings.TrimSpace(p.Initiative + " " + p.Title)
}

// groupKey is the key events are grouped by: the conflicts of one run of
// one flow are one message; every other event is its own.
func groupKey(e store.Event, p Payload) string {
	if e.Kind == KindConflictHeld {
		return fmt.Sprintf("%s|%s|%d", e.Kind, p.Flow, p.RunID)
	}
	return fmt.Sprintf("event|%d", e.ID)
}

// Group renders events (with their decoded payloads) as messages, one per
// group, in the order of each group's first event.
func (r Renderer) Group(events []store.Event, payloads []Payload) []Message {
	var order []string
	groups := map[string][]int{}
	for i, e := range events {
		k := groupKey(e, payloads[i])
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	out := make([]Message, 0, len(order))
	for _, k := range order {
		var evs []store.Event
		var ps []Payload
		for _, i := range groups[k] {
			evs = append(evs, events[i])
			ps = append(ps, payloads[i])
		}
		m := r.render(evs[0].Kind, ps)
		m.Kind, m.Events, m.Payloads = evs[0].Kind, evs, ps
		out = append(out, m)
	}
	return out
}

// render words one message of kind for ps (several only for conflicts).
func (r Renderer) render(kind string, ps []Payload) Message {
	p := ps[0]
	var m Message
	switch kind {
	case KindAtRisk:
		m.Title, m.Severity = initName(p)+" is at risk", "warning"
		if len(p.Reasons) > 0 {
			m.Lines = append(m.Lines, "Why: "+strings.Join(p.Reasons, "; ")+".")
		}
		m.Lines = append(m.Lines, fmt.Sprintf("%d%% done.", p.Percent))
		m.Links = append(itemLink(p.Initiative, p.URL), r.dashboardLink(p.Initiative)...)
	case KindOnTrack:
		m.Title, m.Severity = initName(p)+" is back on track", "good"
		m.Lines = append(m.Lines, fmt.Sprintf("%d%% done.", p.Percent))
		m.Links = append(itemLink(p.Initiative, p.URL), r.dashboardLink(p.Initiative)...)
	case KindDateMoved:
		sl := rollup.Slip{From: p.From, To: p.To}
		m.Title = initName(p) + ": target date moved"
		if sl.Days() > 0 {
			m.Severity = "warning"
		}
		m.Lines = append(m.Lines, "Target date "+sl.Words()+".")
		m.Links = append(itemLink(p.Initiative, p.URL), r.dashboardLink(p.Initiative)...)
	case KindConflictHeld:
		m.Severity = "warning"
		if len(ps) == 1 {
			c := p.Conflict
			m.Title = fmt.Sprintf("Conflict held in flow %s: %s of %s", p.Flow, c.Field, c.AKey)
			m.Facts = []Fact{{Label: c.ATracker + " " + c.AKey, Value: c.AValue}, {Label: c.BTracker + " " + c.BKey, Value: c.BValue}}
			m.Lines = append(m.Lines, "Both sides changed it differently; settle it with: "+c.ResolveCommand())
			m.Links = append(itemLink(c.AKey, c.AURL), itemLink(c.BKey, c.BURL)...)
		} else {
			m.Title = fmt.Sprintf("%d conflicts held in flow %s (run %d)", len(ps), p.Flow, p.RunID)
			m.Lines = append(m.Lines, "Both sides changed these fields differently; settle each with `tracksync conflicts resolve ID --take a|b` (list them: tracksync conflicts list --flow "+p.Flow+").")
			for _, q := range ps {
				c := q.Conflict
				m.Facts = append(m.Facts, Fact{Label: fmt.Sprintf("#%d %s of %s", c.ID, c.Field, c.AKey), Value: fmt.Sprintf("%s: %s · %s: %s", c.ATracker, c.AValue, c.BTracker, c.BValue)})
			}
		}
		m.Links = append(m.Links, r.dashboardLink("")...)
	case KindRunFailed:
		m.Title, m.Severity = fmt.Sprintf("Sync run %d of flow %s failed", p.RunID, p.Flow), "warning"
		m.Lines = append(m.Lines, p.Error)
		m.Links = r.dashboardLink("")
	case KindValveStopped:
		m.Title, m.Severity = fmt.Sprintf("Safety valve stopped run %d of flow %s", p.RunID, p.Flow), "warning"
		m.Lines = append(m.Lines, p.Error, "Nothing was written. Check the plan (tracksync plan --flow "+p.Flow+"), then rerun with --force if it is intended.")
		m.Links = r.dashboardLink("")
	case KindFlowStale:
		m.Title, m.Severity = "Flow "+p.Flow+" has not synced successfully for a while", "warning"
		if p.LastSuccess.IsZero() {
			m.Lines = append(m.Lines, "It has never succeeded.")
		} else {
			m.Lines = append(m.Lines, "Last success "+p.LastSuccess.UTC().Format("2006-01-02 15:04 UTC")+".")
		}
		if p.Error != "" {
			m.Lines = append(m.Lines, "Last error: "+p.Error)
		}
		m.Links = r.dashboardLink("")
	case KindDigest:
		m.Title = "Weekly roll-up: " + p.Headline
		m.Lines = slices.Clone(p.Lines)
		m.Links = r.dashboardLink("")
	case KindTest:
		m.Title = "tracksync test message"
		m.Lines = []string{"If you read this, tracksync can reach this channel.", "Sent " + time.Now().UTC().Format("2006-01-02 15:04 UTC") + "."}
		m.Links = r.dashboardLink("")
	default:
		m.Title = "tracksync: " + kind
	}
	return m
}

// DigestPayload words a roll-up report as the weekly digest: the summary
// header and this week's changes (the dashboard's words), then one line
// per initiative at risk or whose date moved.
//
// A non-empty set (initiative keys, any case) narrows the report to those
// initiatives first: the digest of one team's initiatives.
func DigestPayload(rep rollup.Report, set []string) Payload {
	if set = normSet(set); set != nil {
		rep.Rollups = slices.DeleteFunc(slices.Clone(rep.Rollups), func(r rollup.Rollup) bool {
			return !slices.Contains(set, strings.ToUpper(r.Initiative.Key))
		})
	}
	s := rep.Summary()
	p := Payload{Headline: s.Headline(), Lines: slices.Clone(s.Changes), Set: set}
	for _, ro := range rollup.Ordered(rep.Rollups) {
		key := rollup.Key(ro.Initiative)
		line := ""
		if ro.AtRisk {
			line = "at risk: " + strings.Join(ro.Reasons, "; ")
		}
		if sw := rollup.SlipWords(rep.Slips[key]); sw != "" {
			line = strings.TrimPrefix(line+"; "+sw, "; ")
		}
		if line != "" {
			p.Lines = append(p.Lines, fmt.Sprintf("%s %s — %s", ro.Initiative.Key, ro.Title, line))
		}
	}
	return p
}
