-- event_cold becomes a table keyed for appends: its rows are numbered in
-- the order they are moved (id, the rowid), so one move's rows, written
-- session by session, fill the table's last pages whole instead of each
-- landing on its own page of a (sid, position) B-tree among every other
-- session's; a separate unique index on (sid, position), whose entries are
-- a few bytes, finds a session's rows (restoration, replays, purges). The
-- writer moves the log's oldest rows in large, rare steps (eventlog.go), so
-- that each session's moved rows are contiguous in both.
CREATE TABLE event_cold_append (
	id       INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

INSERT INTO event_cold_append (sid, position, event_id, at, data)
	SELECT sid, position, event_id, at, data FROM event_cold ORDER BY sid, position;

DROP TABLE event_cold;

ALTER TABLE event_cold_append RENAME TO event_cold;

CREATE UNIQUE INDEX event_cold_place ON event_cold (sid, position);
