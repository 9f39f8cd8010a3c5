-- 0001: the initial schema.
--
-- Times are INTEGER unix nanoseconds in UTC; NULL is the zero time.
-- Field maps are JSON objects of strings ("null" for a nil map).

CREATE TABLE links (
	-- AUTOINCREMENT: a deleted link's id is never given to another, so
	-- nothing that still names it (a journal entry, a run) can reach an
	-- unrelated pair.
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	flow       TEXT    NOT NULL,
	-- NULL when the engine gave no key: UNIQUE treats NULLs as distinct.
	key        TEXT,
	a_tracker  TEXT    NOT NULL,
	a_project  TEXT    NOT NULL DEFAULT '',
	a_id       TEXT    NOT NULL,
	a_key      TEXT    NOT NULL DEFAULT '',
	a_url      TEXT    NOT NULL DEFAULT '',
	b_tracker  TEXT    NOT NULL,
	b_project  TEXT    NOT NULL DEFAULT '',
	b_id       TEXT    NOT NULL,
	b_key      TEXT    NOT NULL DEFAULT '',
	b_url      TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	-- The id comes before the tracker so that these indexes also serve
	-- FindLink, which matches on (flow, side id) alone.
	UNIQUE (flow, a_id, a_tracker),
	UNIQUE (flow, b_id, b_tracker),
	UNIQUE (flow, key)
);

CREATE TABLE bases (
	link_id   INTEGER PRIMARY KEY REFERENCES links (id) ON DELETE CASCADE,
	a_fields  TEXT    NOT NULL,
	b_fields  TEXT    NOT NULL,
	a_version TEXT    NOT NULL DEFAULT '',
	b_version TEXT    NOT NULL DEFAULT '',
	synced_at INTEGER
);

CREATE TABLE comment_links (
	-- id keeps insertion order, which is the order ListCommentLinks returns.
	id        INTEGER PRIMARY KEY,
	link_id   INTEGER NOT NULL REFERENCES links (id) ON DELETE CASCADE,
	a_id      TEXT    NOT NULL,
	b_id      TEXT    NOT NULL,
	body_hash TEXT    NOT NULL DEFAULT '',
	UNIQUE (link_id, a_id)
);

CREATE TABLE cursors (
	flow   TEXT NOT NULL,
	side   TEXT NOT NULL CHECK (side IN ('a', 'b')),
	cursor TEXT NOT NULL,
	PRIMARY KEY (flow, side)
) WITHOUT ROWID;

-- The journal is history: it has no foreign key to links, so deleting a
-- link keeps the record of the writes made for it (undo needs them).
CREATE TABLE journal (
	id              INTEGER PRIMARY KEY,
	run_id          INTEGER NOT NULL DEFAULT 0,
	flow            TEXT    NOT NULL,
	link_id         INTEGER NOT NULL DEFAULT 0,
	op              TEXT    NOT NULL,
	side            TEXT    NOT NULL,
	target_tracker  TEXT    NOT NULL DEFAULT '',
	target_project  TEXT    NOT NULL DEFAULT '',
	target_id       TEXT    NOT NULL DEFAULT '',
	target_key      TEXT    NOT NULL DEFAULT '',
	target_url      TEXT    NOT NULL DEFAULT '',
	idempotency_key TEXT    NOT NULL DEFAULT '',
	before_fields   TEXT    NOT NULL DEFAULT 'null',
	after_fields    TEXT    NOT NULL DEFAULT 'null',
	result_tracker  TEXT    NOT NULL DEFAULT '',
	result_project  TEXT    NOT NULL DEFAULT '',
	result_id       TEXT    NOT NULL DEFAULT '',
	result_key      TEXT    NOT NULL DEFAULT '',
	result_url      TEXT    NOT NULL DEFAULT '',
	state           TEXT    NOT NULL,
	error           TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	done_at         INTEGER
);
CREATE INDEX journal_state ON journal (state, flow);
CREATE INDEX journal_run ON journal (run_id);

CREATE TABLE conflicts (
	id          INTEGER PRIMARY KEY,
	flow        TEXT    NOT NULL,
	link_id     INTEGER NOT NULL,
	field       TEXT    NOT NULL,
	base        TEXT    NOT NULL DEFAULT '',
	a_value     TEXT    NOT NULL DEFAULT '',
	b_value     TEXT    NOT NULL DEFAULT '',
	state       TEXT    NOT NULL,
	resolution  TEXT    NOT NULL DEFAULT '',
	value       TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	resolved_at INTEGER
);
-- At most one open conflict per link and field: PutConflict upserts on it.
CREATE UNIQUE INDEX conflicts_open ON conflicts (link_id, field) WHERE state = 'open';
CREATE INDEX conflicts_flow ON conflicts (flow, state);

CREATE TABLE runs (
	id          INTEGER PRIMARY KEY,
	flow        TEXT    NOT NULL,
	state       TEXT    NOT NULL,
	dry_run     INTEGER NOT NULL DEFAULT 0,
	started_at  INTEGER NOT NULL,
	finished_at INTEGER,
	counts      TEXT    NOT NULL DEFAULT '{}',
	error       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX runs_flow ON runs (flow, id);

CREATE TABLE locks (
	name       TEXT    PRIMARY KEY,
	owner      TEXT    NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
