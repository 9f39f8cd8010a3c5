// Package roadmap is the tracksync adapter for a roadmap kept as a YAML file
// in git by product managers: a list of initiatives under `initiatives:`.
//
// tracksync reads every initiative as an adapters.Item of kind initiative and
// writes synced fields (status and progress first of all) back into the file
// without reformatting it. The file is parsed with the gopkg.in/yaml.v3 Node
// API, but writes are not a re-encode of the tree: yaml.v3's encoder drops
// blank lines, re-indents and moves comments, which would turn every sync into
// a noisy diff in the PM's git history. Instead each write is a set of byte
// splices at the positions the parser reported (a value replaced in place, a
// line appended after the initiative's last key, lines removed), with values
// rendered by yaml.v3 so quoting is always valid. The same change is applied
// to a copy of the node tree, and the spliced text is re-parsed and compared
// with that tree before anything is written: if a splice would not mean what
// was intended, the write fails and the file is untouched.
//
// File shape:
//
//	# Roadmap 2027 — owned by product
//	initiatives:
//	  - key: INIT-1
//	    title: Self-serve onboarding
//	    description: |
//	      Markdown text...
//	    owner: ana@acme.com
//	    status: in_progress   # planned | in_progress | at_risk | done | cancelled
//	    due: 2027-03-31
//	    priority: high
//	    labels: [growth]
//	    children: [PLAT-12, acme/platform#45]
//	    progress: 0.42        # written by tracksync
//	    team: growth          # any other scalar key is a free field
//
// Mapping to adapters.Item: Ref{Tracker: name, Project: the file's base
// name, ID and Key: key, URL: file://<abs path>#<key>}; Title; Body is the
// description without its trailing line breaks; Status the native status
// with its configured category; Assignees [owner]; Labels in file order;
// Priority; Due (YYYY-MM-DD). Fields holds every other scalar key by its
// name (progress among them) plus "children" as adapters.EncodeList of the
// children (sorted, so that a PM reordering children is not a change; a
// write keeps the file's order for the entries that stay and appends new
// ones). Free keys whose value is a list or mapping are kept in the file but
// not exposed. Patch fields custom:<name> write the free key <name>.
// SyncKey is the value of tracksync_id:, the key Create stores.
//
// Version is a hash of the initiative's content (keys sorted, comments and
// quoting ignored), so a PM re-indenting or commenting the file does not
// count as a change. The file has no per-item timestamps: UpdatedAt is the
// time this Tracker first saw the current version of an initiative (its
// injected clock), except for an initiative seen for the first time since
// the Tracker was made, which gets the file's modification time when that is
// earlier. Items keep their UpdatedAt across reads as long as their content
// does not change; a new process starts over from the file's mtime.
//
// Create appends an initiative after the last one with the next free
// INIT-<n> key and a tracksync_id: key holding the idempotency key; Update
// rewrites values in place (a line comment after the value keeps its
// column), appends missing keys after the initiative's last key and removes
// keys whose new value is empty; Delete removes the initiative's lines.
// Every write re-reads the file first, and is written atomically (a temp
// file in the same folder renamed over it, permissions kept, symlinks
// followed). Calls on one Tracker are serialised; a write whose file
// changed on disk since it was read (a PM saving) is redone, and after a
// few attempts refused with ErrConflict.
//
// Merge keys work as in YAML: an initiative with <<: *defaults has the
// shared mapping's keys it does not set itself. A write of such a key adds
// the initiative's own (the shared mapping is never edited); removing one
// is refused (ErrUnsupported), since the shared value would stay.
//
// List scopes and cursors are described on List; children are available
// in file order from Children for the roll-up.
//
// A file that does not parse, has duplicate keys, an initiative without a
// key, an unknown status or a bad due date is an error for every call (a
// *ParseError naming the path, line and key), never a partial read: a
// silently skipped initiative would look deleted to the sync engine.
package roadmap
