-- Routing attributes of agent accounts: the BOT type, the queues an agent
-- serves (comma-separated names) and its capacity. SQLite cannot change a
-- CHECK constraint in place, so the table is rebuilt.
CREATE TABLE agents_new (
	id         TEXT    NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	token_hash BLOB    NOT NULL UNIQUE,
	user_type  TEXT    NOT NULL CHECK (user_type IN ('AGENT', 'SUPERVISOR', 'BOT')),
	queues     TEXT    NOT NULL DEFAULT '',
	capacity   INTEGER NOT NULL DEFAULT 1 CHECK (capacity BETWEEN 1 AND 100),
	created_at INTEGER NOT NULL
) STRICT;

INSERT INTO agents_new (id, name, token_hash, user_type, created_at)
	SELECT id, name, token_hash, user_type, created_at FROM agents;

DROP TABLE agents;

ALTER TABLE agents_new RENAME TO agents;
