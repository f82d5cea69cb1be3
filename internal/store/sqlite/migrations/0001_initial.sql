-- Confab schema, version 1. Times are Unix microseconds (INTEGER); JSON
-- documents are BLOBs stored verbatim.

CREATE TABLE contacts (
	id         TEXT    NOT NULL PRIMARY KEY,
	created_at INTEGER NOT NULL
) STRICT;

-- One row per attribute; norm is the value as IdentifyContact compares it
-- (trimmed; lower-cased for EmailAddress).
CREATE TABLE contact_attributes (
	contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	value      TEXT NOT NULL,
	norm       TEXT NOT NULL,
	PRIMARY KEY (contact_id, name)
) STRICT;

CREATE INDEX contact_attributes_by_value ON contact_attributes (name, norm);

CREATE TABLE interactions (
	id         TEXT    NOT NULL PRIMARY KEY,
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
	transcript BLOB,
	stats      BLOB
) STRICT;

CREATE INDEX interactions_by_created ON interactions (created_at, id);
CREATE INDEX interactions_by_queue ON interactions (queue, created_at, id);
CREATE INDEX interactions_by_status ON interactions (status, created_at, id);
CREATE INDEX interactions_by_state ON interactions (state, created_at, id);
CREATE INDEX interactions_by_contact ON interactions (contact_id) WHERE contact_id IS NOT NULL;

-- Intermediate transcripts. A session that has events gets a small integer
-- key (sid) so that the index every event insert updates compares integers
-- and stays small; it is the single largest cost of the hot write path.
-- Only the store's writer connection writes these tables.
CREATE TABLE event_sessions (
	sid        INTEGER NOT NULL PRIMARY KEY,
	session_id TEXT    NOT NULL UNIQUE
) STRICT;

CREATE TABLE session_events (
	sid      INTEGER NOT NULL,
	position INTEGER NOT NULL CHECK (position >= 0),
	event_id INTEGER NOT NULL,
	at       INTEGER NOT NULL,
	data     BLOB    NOT NULL,
	PRIMARY KEY (sid, position)
) STRICT;

CREATE TABLE documents (
	id           TEXT    NOT NULL PRIMARY KEY,
	session_id   TEXT    NOT NULL,
	name         TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	size         INTEGER NOT NULL CHECK (size >= 0),
	data         BLOB    NOT NULL,
	created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX documents_by_session ON documents (session_id, created_at, id);

CREATE TABLE agents (
	id         TEXT    NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	token_hash BLOB    NOT NULL UNIQUE,
	user_type  TEXT    NOT NULL CHECK (user_type IN ('AGENT', 'SUPERVISOR')),
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE settings (
	key   TEXT NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
