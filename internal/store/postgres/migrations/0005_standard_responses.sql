-- Confab schema for PostgreSQL, version 5: standard responses (canned
-- replies) agents insert into chats; attributes hold the eventAttributes of
-- a structured message (JSON text, '' for a plain response) (SQLite
-- version 5).

CREATE TABLE standard_responses (
	id         text   NOT NULL PRIMARY KEY,
	name       text   NOT NULL,
	category   text   NOT NULL DEFAULT '',
	shortcut   text   NOT NULL DEFAULT '',
	text       text   NOT NULL,
	attributes text   NOT NULL DEFAULT '',
	created_at bigint NOT NULL,
	updated_at bigint NOT NULL
);
