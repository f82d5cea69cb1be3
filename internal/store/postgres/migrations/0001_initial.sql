-- Confab schema for PostgreSQL, version 1: the same records as the SQLite
-- store at its version 2. Times are Unix microseconds (bigint); JSON
-- documents are bytea stored verbatim.

CREATE TABLE contacts (
	id         text   NOT NULL PRIMARY KEY,
	created_at bigint NOT NULL
);

CREATE TABLE contact_attributes (
	contact_id text NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	name       text NOT NULL,
	value      text NOT NULL,
	norm       text NOT NULL,
	PRIMARY KEY (contact_id, name)
);

CREATE INDEX contact_attributes_by_value ON contact_attributes (name, norm);

CREATE TABLE interactions (
	id         text   NOT NULL PRIMARY KEY,
	session_id text   NOT NULL,
	tenant     text   NOT NULL,
	endpoint   text   NOT NULL,
	queue      text   NOT NULL,
	contact_id text   REFERENCES contacts (id),
	subject    text   NOT NULL,
	user_data  bytea,
	status     text   NOT NULL CHECK (status IN ('open', 'closed')),
	state      text   NOT NULL,
	owner      text   NOT NULL,
	version    bigint NOT NULL CHECK (version > 0),
	created_at bigint NOT NULL,
	closed_at  bigint,
	transcript bytea,
	stats      bytea
);

CREATE INDEX interactions_by_created ON interactions (created_at, id);
CREATE INDEX interactions_by_queue ON interactions (queue, created_at, id);
CREATE INDEX interactions_by_status ON interactions (status, created_at, id);
CREATE INDEX interactions_by_state ON interactions (state, created_at, id);
CREATE INDEX interactions_by_contact ON interactions (contact_id) WHERE contact_id IS NOT NULL;

CREATE TABLE session_events (
	session_id text   NOT NULL,
	position   bigint NOT NULL CHECK (position >= 0),
	event_id   bigint NOT NULL,
	at         bigint NOT NULL,
	data       bytea  NOT NULL,
	PRIMARY KEY (session_id, position)
);

CREATE TABLE documents (
	id           text    NOT NULL PRIMARY KEY,
	session_id   text    NOT NULL DEFAULT '',
	file_id      text    NOT NULL DEFAULT '',
	owner        text    NOT NULL DEFAULT '',
	name         text    NOT NULL,
	content_type text    NOT NULL,
	size         bigint  NOT NULL CHECK (size >= 0),
	sha256       text    NOT NULL DEFAULT '',
	downloads    integer NOT NULL DEFAULT 0 CHECK (downloads >= 0),
	complete     boolean NOT NULL DEFAULT false,
	created_at   bigint  NOT NULL,
	CHECK (file_id = '' OR session_id <> '')
);

CREATE TABLE document_chunks (
	document_id text    NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
	seq         integer NOT NULL CHECK (seq >= 0),
	data        bytea   NOT NULL,
	PRIMARY KEY (document_id, seq)
);

CREATE INDEX documents_by_session ON documents (session_id, created_at, id);
CREATE INDEX documents_by_age ON documents (created_at);
CREATE UNIQUE INDEX documents_file_ids ON documents (session_id, file_id) WHERE file_id <> '';

CREATE TABLE outbox (
	kind       text   NOT NULL,
	key        text   NOT NULL,
	value      bytea  NOT NULL,
	updated_at bigint NOT NULL,
	PRIMARY KEY (kind, key)
);

CREATE TABLE agents (
	id         text   NOT NULL PRIMARY KEY,
	name       text   NOT NULL,
	token_hash bytea  NOT NULL UNIQUE,
	user_type  text   NOT NULL CHECK (user_type IN ('AGENT', 'SUPERVISOR')),
	created_at bigint NOT NULL
);

CREATE TABLE settings (
	key   text NOT NULL PRIMARY KEY,
	value text NOT NULL
);
