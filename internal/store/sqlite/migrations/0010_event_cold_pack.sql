-- event_cold holds packs instead of single events: a row is the events of
-- one open session that one move took from the log (eventlog.go), in
-- position order, as one blob (eventpack.go: per event its position, event
-- id and time as 8-byte big-endian integers, its data's length as a 4-byte
-- one, then its data), with the session's sid, the lowest and highest
-- position in it (lo, hi) and its number of events (n). A move of 4096 rows
-- over 200 open sessions writes about 200 rows and 200 index entries, not
-- 4096 of each. Rows stay numbered in the order they are moved (id); the
-- index on (sid, lo, hi) finds a session's packs (restoration, replays,
-- purges by range of lo).
CREATE TABLE event_cold_pack (
	id   INTEGER NOT NULL PRIMARY KEY,
	sid  INTEGER NOT NULL,
	lo   INTEGER NOT NULL CHECK (lo >= 0),
	hi   INTEGER NOT NULL CHECK (hi >= lo),
	n    INTEGER NOT NULL CHECK (n > 0),
	data BLOB    NOT NULL
) STRICT;

-- Every session's cold rows become packs of at most 4096 positions.
INSERT INTO event_cold_pack (sid, lo, hi, n, data)
	SELECT l.sid, min(l.position), max(l.position), count(*),
		unhex(group_concat(printf('%016x%016x%016x%08x', l.position, l.event_id, l.at, length(l.data)) || hex(l.data), '' ORDER BY l.position))
	FROM event_cold AS l GROUP BY l.sid, l.position >> 12 ORDER BY l.sid, min(l.position);

DROP TABLE event_cold;

ALTER TABLE event_cold_pack RENAME TO event_cold;

CREATE INDEX event_cold_place ON event_cold (sid, lo, hi);
