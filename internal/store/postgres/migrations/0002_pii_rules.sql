-- Confab schema for PostgreSQL, version 2: the operator's masking rules
-- ([transcript-cleanup] apply-config ucs or mix), applied in position order
-- (SQLite version 3).

CREATE TABLE pii_rules (
	id            text    NOT NULL PRIMARY KEY,
	name          text    NOT NULL,
	description   text    NOT NULL DEFAULT '',
	pattern       text    NOT NULL,
	spec          text    NOT NULL DEFAULT '',
	min_digit_run integer NOT NULL DEFAULT 0,
	position      integer NOT NULL,
	updated_at    bigint  NOT NULL
);

CREATE INDEX pii_rules_by_position ON pii_rules (position, id);
