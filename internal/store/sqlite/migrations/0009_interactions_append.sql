-- Interaction records become a table keyed for appends: rows are numbered
-- in the order they are created (rid, the rowid), so the open interactions,
-- which routing updates again and again, share the table's last pages
-- instead of each sitting on its own page of a B-tree keyed by random
-- session ids; a unique index on id, whose entries are a few bytes, finds
-- a record. The final transcript and statistics, written once at close,
-- go to interaction_finals, numbered in the order interactions close, so
-- they fill its last pages whole, and an update of a record's state or
-- attached data never rewrites them (nor grows the row and splits its
-- page). The status index becomes an index of the open interactions only
-- (what restoration and the open filters read); a status filter on closed
-- ones reads the created index.
CREATE TABLE interactions_v9 (
	rid        INTEGER NOT NULL PRIMARY KEY,
	id         TEXT    NOT NULL UNIQUE,
	session_id TEXT    NOT NULL,
	tenant     TEXT    NOT NULL,
	endpoint   TEXT    NOT NULL,
	queue      TEXT    NOT NULL,
	contact_id TEXT    REFERENCES contacts (id),
	subject    TEXT    NOT NULL,
	user_data  BLOB,
	status     TEXT    NOT NULL CHECK (status IN ('open', 'closed')),
	state      TEXT    NOT NULL,
	owner      TEXT    NOT NULL,
	version    INTEGER NOT NULL CHECK (version > 0),
	created_at INTEGER NOT NULL,
	closed_at  INTEGER,
	final_id   INTEGER
) STRICT;

CREATE TABLE interaction_finals (
	fid        INTEGER NOT NULL PRIMARY KEY,
	transcript BLOB,
	stats      BLOB
) STRICT;

INSERT INTO interactions_v9 (id, session_id, tenant, endpoint, queue, contact_id, subject, user_data,
		status, state, owner, version, created_at, closed_at)
	SELECT id, session_id, tenant, endpoint, queue, contact_id, subject, user_data,
		status, state, owner, version, created_at, closed_at
	FROM interactions ORDER BY created_at, id;

-- Finals in the order the interactions closed; fid = rid keeps the
-- migration one statement each way, later closes append after them.
INSERT INTO interaction_finals (fid, transcript, stats)
	SELECT n.rid, o.transcript, o.stats FROM interactions AS o JOIN interactions_v9 AS n ON n.id = o.id
	WHERE o.transcript IS NOT NULL OR o.stats IS NOT NULL;
UPDATE interactions_v9 SET final_id = rid WHERE rid IN (SELECT fid FROM interaction_finals);

DROP INDEX interactions_by_created;
DROP INDEX interactions_by_queue;
DROP INDEX interactions_by_status;
DROP INDEX interactions_by_state;
DROP INDEX interactions_by_contact;
DROP TABLE interactions;
ALTER TABLE interactions_v9 RENAME TO interactions;

CREATE INDEX interactions_by_created ON interactions (created_at, id);
CREATE INDEX interactions_by_queue ON interactions (queue, created_at, id);
CREATE INDEX interactions_open ON interactions (created_at, id) WHERE status = 'open';
CREATE INDEX interactions_by_contact ON interactions (contact_id) WHERE contact_id IS NOT NULL;
-- The state index holds the closed interactions only: an open one's state
-- changes at every routing step, and each change moved its entry to a
-- random place of the index (the largest part of the pages a session's
-- life wrote). State filters read the open interactions through
-- interactions_open (at most the sessions open at once) and the closed ones
-- through this index (sqlite.Store.ListInteractions).
CREATE INDEX interactions_closed_by_state ON interactions (state, created_at, id) WHERE status = 'closed';
