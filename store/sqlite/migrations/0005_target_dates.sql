-- 0004: every change of an initiative's target date, with when tracksync
-- saw it: the date-slip history the dashboard and rollup show. The first
-- row of an initiative (from_day '') records the date first seen.
--
-- Days are TEXT YYYY-MM-DD ('' for no date), checked by the store.

CREATE TABLE target_dates (
	id         INTEGER PRIMARY KEY,
	initiative TEXT    NOT NULL CHECK (initiative <> ''),
	at         INTEGER NOT NULL,
	from_day   TEXT    NOT NULL CHECK (from_day = '' OR length(from_day) = 10),
	to_day     TEXT    NOT NULL CHECK (to_day = '' OR length(to_day) = 10)
);
CREATE INDEX target_dates_initiative ON target_dates (initiative, at, id);
