-- Intermediate transcripts become an append-only log: one row per event,
-- keyed by a per-store sequence (seq, the rowid), with no other index, so
-- a batch of events from many sessions appends to the last pages of one
-- B-tree instead of dirtying a page of every session's index.
--
-- event_sessions says where a session's events are: the rows of the block
-- [first_seq, block_end) (all of them the session's, written in one piece
-- when the store opened or when the session was moved up the log), and the
-- rows from tail_from on whose sid is the session's, outside the block.
-- A closed session loses its event_sessions row at once; its rows are
-- removed later with every row below the oldest open session, by range.
-- Only the store's writer connection writes these tables.
CREATE TABLE event_log (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

INSERT INTO event_log (sid, position, event_id, at, data)
	SELECT sid, position, event_id, at, data FROM session_events ORDER BY sid, position;

ALTER TABLE event_sessions ADD COLUMN first_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE event_sessions ADD COLUMN block_end INTEGER NOT NULL DEFAULT 0;
ALTER TABLE event_sessions ADD COLUMN tail_from INTEGER NOT NULL DEFAULT 0;

UPDATE event_sessions SET first_seq = b.f, block_end = b.e, tail_from = b.e
	FROM (SELECT sid, min(seq) AS f, max(seq) + 1 AS e FROM event_log GROUP BY sid) AS b
	WHERE b.sid = event_sessions.sid;

-- Sessions without events start their (empty) block at the end of the log.
UPDATE event_sessions SET first_seq = e.e, block_end = e.e, tail_from = e.e
	FROM (SELECT coalesce(max(seq), 0) + 1 AS e FROM event_log) AS e
	WHERE event_sessions.sid NOT IN (SELECT sid FROM event_log);

DROP TABLE session_events;
