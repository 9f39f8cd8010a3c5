-- 0004: per-item run history (`tracksync runs show RUN`): what each run
-- did with each item, the fields it wrote (old and new values, JSON) and
-- why it skipped or failed one. Rows go with their run.

CREATE TABLE run_items (
	run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	seq     INTEGER NOT NULL,
	link_id INTEGER NOT NULL DEFAULT 0,
	side    TEXT    NOT NULL DEFAULT '',
	item    TEXT    NOT NULL,
	source  TEXT    NOT NULL DEFAULT '',
	action  TEXT    NOT NULL CHECK (action <> ''),
	fields  TEXT    NOT NULL DEFAULT '[]',
	reason  TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
