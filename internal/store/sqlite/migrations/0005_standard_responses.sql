-- Confab schema, version 5: standard responses (canned replies) agents
-- insert into chats; attributes hold the eventAttributes of a structured
-- message (JSON text, '' for a plain response).

CREATE TABLE standard_responses (
	id         TEXT    NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	category   TEXT    NOT NULL DEFAULT '',
	shortcut   TEXT    NOT NULL DEFAULT '',
	text       TEXT    NOT NULL,
	attributes TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
