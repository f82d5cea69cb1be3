-- The events of a session that stays open while the log grows move once,
-- to event_cold, keyed (sid, position), instead of being copied up the log
-- again and again (migration 0006's blocks): the writer moves the oldest
-- rows of the log, a bounded range per batch, the open sessions' ones to
-- event_cold, and deletes the range from the log in the same transaction,
-- so every event is in exactly one of the two tables. A session's events
-- are its event_cold rows and its event_log rows from tail_from on.
--
-- A closed session's cold rows are removed later, by range of positions, a
-- bounded number per batch: until then its sid stays in event_cold_dead
-- (with the end of its positions), so that no new session gets it.
-- Only the store's writer connection writes these tables.
CREATE TABLE event_cold (
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL,
	PRIMARY KEY (sid, position)
) STRICT, WITHOUT ROWID;

CREATE TABLE event_cold_dead (
	sid      INTEGER NOT NULL PRIMARY KEY,
	next_pos INTEGER NOT NULL
) STRICT;

-- Every open session's rows, as migration 0006's bookkeeping places them
-- (its block and its rows from tail_from on), go to event_cold; the log
-- starts again empty, after the highest seq it had.
INSERT OR IGNORE INTO event_cold (sid, position, event_id, at, data)
	SELECT l.sid, l.position, l.event_id, l.at, l.data
	FROM event_log AS l JOIN event_sessions AS s ON s.sid = l.sid
	WHERE (l.seq >= s.first_seq AND l.seq < s.block_end) OR l.seq >= s.tail_from
	ORDER BY l.sid, l.position, l.seq;

UPDATE event_sessions SET tail_from = (SELECT coalesce(max(seq), 0) + 1 FROM event_log);

DELETE FROM event_log;

ALTER TABLE event_sessions DROP COLUMN first_seq;
ALTER TABLE event_sessions DROP COLUMN block_end;
