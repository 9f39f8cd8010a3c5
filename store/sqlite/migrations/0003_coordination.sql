-- 0003: coordination between processes sharing one store (several
-- `serve` replicas, a laptop run beside a server): fencing tokens on
-- leases and in the journal, flow generations, webhook delivery ids, a
-- key-value space per tracker, shared rate budgets and the outbox.
--
-- Times are INTEGER unix nanoseconds in UTC, as in 0001.

-- A lease's fencing token. Unlock keeps the row (owner '' and expired)
-- so the counter never goes back: the next holder gets a greater token.
ALTER TABLE locks ADD COLUMN token INTEGER NOT NULL DEFAULT 0;

-- The lease each journaled write was made under ('' and 0: none).
ALTER TABLE journal ADD COLUMN lease_name TEXT NOT NULL DEFAULT '';
ALTER TABLE journal ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;

CREATE TABLE generations (
	name       TEXT    PRIMARY KEY,
	generation INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE deliveries (
	tracker    TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (tracker, id)
) WITHOUT ROWID;
-- Clean-up deletes by expiry.
CREATE INDEX deliveries_expires ON deliveries (expires_at);

CREATE TABLE kv (
	scope TEXT NOT NULL CHECK (scope <> ''),
	key   TEXT NOT NULL CHECK (key <> ''),
	value TEXT NOT NULL,
	PRIMARY KEY (scope, key)
) WITHOUT ROWID;

CREATE TABLE rate_buckets (
	bucket     TEXT    PRIMARY KEY,
	-- May be negative: tokens reserved ahead of the refill.
	tokens     REAL    NOT NULL,
	updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE events (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	kind         TEXT    NOT NULL,
	-- NULL when the event has no key: UNIQUE treats NULLs as distinct.
	dedup_key    TEXT    UNIQUE,
	payload      BLOB,
	created_at   INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL,
	last_error   TEXT    NOT NULL DEFAULT '',
	claimed_by   TEXT    NOT NULL DEFAULT '',
	claim_until  INTEGER NOT NULL DEFAULT 0,
	-- Delivered events stay, so that their key keeps de-duplicating.
	delivered_at INTEGER
);
-- Claims look for undelivered, due events, oldest first.
CREATE INDEX events_due ON events (next_attempt, id) WHERE delivered_at IS NULL;
