package sync

import (
	"strings"

	"github.com/tracksync/tracksync/store"
)

// Link identity. A copy carries a key made from its source item's identity
// (the source tracker instance and the item's id) and the target tracker
// instance, and nothing of the flow's name:
//
//	ts2|jira@acme.atlassian.net|10012|github@api.github.com
//
// so renaming a flow, splitting one into two, or running a flow over items
// that another flow (a one-off migration) copied, finds the copies instead
// of making more. Keys of the first format, flow/side/id, are still read.

const keyPrefix = "ts2|"

// keyEscaper keeps a component from holding the separator.
var (
	keyEscaper   = strings.NewReplacer("%", "%25", "|", "%7C")
	keyUnescaper = strings.NewReplacer("%7C", "|", "%25", "%")
)

// itemKey is the idempotency key of the copy, in tracker instance to, of
// item id of tracker instance from.
func itemKey(from, id, to string) string {
	return keyPrefix + keyEscaper.Replace(from) + "|" + keyEscaper.Replace(id) + "|" + keyEscaper.Replace(to)
}

// parsedKey is what a sync key says about the item carrying it.
type parsedKey struct {
	// from, id, to: a ts2 key (the carrier is the copy, in instance to, of
	// item id in instance from).
	from, id, to string
	// flow, side: a first-format key (flow/side/id): the carrier is the
	// copy of item id on side of flow.
	flow string
	side store.Side
}

func parseKey(key string) (parsedKey, bool) {
	if rest, ok := strings.CutPrefix(key, keyPrefix); ok {
		parts := strings.Split(rest, "|")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return parsedKey{}, false
		}
		return parsedKey{from: keyUnescaper.Replace(parts[0]), id: keyUnescaper.Replace(parts[1]), to: keyUnescaper.Replace(parts[2])}, true
	}
	// flow/side/id: flow names hold no slash; the id may (owner/repo#n).
	flow, rest, ok := strings.Cut(key, "/")
	if !ok || flow == "" {
		return parsedKey{}, false
	}
	s, id, ok := strings.Cut(rest, "/")
	if !ok || (s != "a" && s != "b") || id == "" {
		return parsedKey{}, false
	}
	return parsedKey{flow: flow, side: store.Side(s), id: id}, true
}

// identity is the tracker instance on side s (see mapping.TrackerIdentity);
// a flow built without one is identified by its trackers' kinds and names.
func (f *Flow) identity(s store.Side) string {
	i := sideIdx(s)
	if f.Identity[i] != "" {
		return f.Identity[i]
	}
	return f.Map.Side(s).Kind + "@name:" + f.side(s).Name()
}

// copyKey is the key of the copy, on the side opposite s, of item id on s.
func (f *Flow) copyKey(s store.Side, id string) string {
	return itemKey(f.identity(s), id, f.identity(s.Other()))
}

// counterpartOf reads the key of an item on side s: the id, on the other
// side, of the item it is a copy of. A first-format key of this flow must
// name the other side; one of another flow (a renamed or split flow, a
// migration) is taken at its word and checked against the other side's
// items by the caller.
func (f *Flow) counterpartOf(s store.Side, key string) (string, bool) {
	k, ok := parseKey(key)
	if !ok {
		return "", false
	}
	if k.flow == "" {
		return k.id, k.to == f.identity(s) && k.from == f.identity(s.Other())
	}
	if k.flow == f.Map.Name {
		return k.id, k.side == s.Other()
	}
	return k.id, true
}
