-- 0002: one roll-up snapshot per initiative per day, for progress over
-- time (burn-up). PutSnapshot upserts on the primary key.
--
-- day is TEXT YYYY-MM-DD, checked by the store before it is written, so
-- that text order is date order for the since and retention filters.

CREATE TABLE snapshots (
	initiative       TEXT    NOT NULL CHECK (initiative <> ''),
	day              TEXT    NOT NULL CHECK (length(day) = 10),
	total            INTEGER NOT NULL DEFAULT 0,
	done             INTEGER NOT NULL DEFAULT 0,
	in_progress      INTEGER NOT NULL DEFAULT 0,
	todo             INTEGER NOT NULL DEFAULT 0,
	done_by_count    REAL    NOT NULL DEFAULT 0,
	done_by_estimate REAL    NOT NULL DEFAULT 0,
	at_risk          INTEGER NOT NULL DEFAULT 0 CHECK (at_risk IN (0, 1)),
	updated_at       INTEGER,
	PRIMARY KEY (initiative, day)
) WITHOUT ROWID;
-- Listing every initiative by day, and retention, go by day first.
CREATE INDEX snapshots_day ON snapshots (day, initiative);
