-- The event log becomes 16 chunk tables, event_log_0 to event_log_15, each
-- holding one contiguous range of seqs (eventchunk.go): the writer appends
-- to one chunk until it holds its share of the log's span, then to an empty
-- one. The log is consumed from its low end by moving a watermark
-- (event_log_state.trimmed): every row below it is gone from the log (moved
-- to event_cold, or a closed session's), whether or not a chunk table still
-- holds it, and a chunk table whose rows are all below the watermark is
-- emptied whole (DELETE without WHERE: SQLite frees its pages without
-- writing them), instead of the rows being deleted one by one, which wrote
-- every page of the range to the WAL once more. The view event_log is the
-- log's live rows, for reading; the writer reads and writes the chunk
-- tables themselves. Only the store's writer connection writes these.
CREATE TABLE event_log_0 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

-- The log's rows, as one chunk (copied, not renamed: a rename parses the
-- whole schema again).
INSERT INTO event_log_0 (seq, sid, position, event_id, at, data)
	SELECT seq, sid, position, event_id, at, data FROM event_log ORDER BY seq;

CREATE TABLE event_log_1 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_2 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_3 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_4 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_5 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_6 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_7 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_8 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_9 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_10 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_11 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_12 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_13 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_14 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_15 (
	seq      INTEGER NOT NULL PRIMARY KEY,
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL
) STRICT;

CREATE TABLE event_log_state (
	id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 0),
	trimmed INTEGER NOT NULL
) STRICT;

INSERT INTO event_log_state (id, trimmed) VALUES (0, coalesce((SELECT min(seq) FROM event_log_0), 0));

DROP TABLE event_log;

CREATE VIEW event_log AS
	SELECT seq, sid, position, event_id, at, data FROM event_log_0 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_1 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_2 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_3 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_4 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_5 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_6 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_7 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_8 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_9 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_10 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_11 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_12 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_13 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_14 WHERE seq >= (SELECT trimmed FROM event_log_state)
	UNION ALL
	SELECT seq, sid, position, event_id, at, data FROM event_log_15 WHERE seq >= (SELECT trimmed FROM event_log_state);
