-- Documents are streamed: their content moves to document_chunks (one row
-- per 256 KiB chunk, in order), so no statement ever holds a whole file.
-- A document row gains its file-id in the session, its uploader, the
-- SHA-256 of its content, the customer downloads taken, and a complete
-- flag: a row stays incomplete while its chunks are written, and rows left
-- incomplete by a crash are removed when the store opens.

CREATE TABLE documents_v2 (
	id           TEXT    NOT NULL PRIMARY KEY,
	session_id   TEXT    NOT NULL DEFAULT '',
	file_id      TEXT    NOT NULL DEFAULT '',
	owner        TEXT    NOT NULL DEFAULT '',
	name         TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	size         INTEGER NOT NULL CHECK (size >= 0),
	sha256       TEXT    NOT NULL DEFAULT '',
	downloads    INTEGER NOT NULL DEFAULT 0 CHECK (downloads >= 0),
	complete     INTEGER NOT NULL DEFAULT 0 CHECK (complete IN (0, 1)),
	created_at   INTEGER NOT NULL,
	CHECK (file_id = '' OR session_id <> '')
) STRICT;

CREATE TABLE document_chunks (
	document_id TEXT    NOT NULL REFERENCES documents_v2 (id) ON DELETE CASCADE,
	seq         INTEGER NOT NULL CHECK (seq >= 0),
	data        BLOB    NOT NULL,
	PRIMARY KEY (document_id, seq)
) STRICT;

INSERT INTO documents_v2 (id, session_id, name, content_type, size, complete, created_at)
	SELECT id, session_id, name, content_type, size, 1, created_at FROM documents;
INSERT INTO document_chunks (document_id, seq, data)
	SELECT id, 0, data FROM documents WHERE length(data) > 0;

DROP INDEX documents_by_session;
DROP TABLE documents;
ALTER TABLE documents_v2 RENAME TO documents;

CREATE INDEX documents_by_session ON documents (session_id, created_at, id);
CREATE INDEX documents_by_age ON documents (created_at);
CREATE UNIQUE INDEX documents_file_ids ON documents (session_id, file_id) WHERE file_id <> '';

-- Pending outbound work that must survive a restart (push notifications
-- waiting to be resent).
CREATE TABLE outbox (
	kind       TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	value      BLOB    NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (kind, key)
) STRICT;
