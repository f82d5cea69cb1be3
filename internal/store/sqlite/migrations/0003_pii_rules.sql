-- Confab schema, version 3: the operator's masking rules
-- ([transcript-cleanup] apply-config ucs or mix), applied in position order.

CREATE TABLE pii_rules (
	id            TEXT    NOT NULL PRIMARY KEY,
	name          TEXT    NOT NULL,
	description   TEXT    NOT NULL DEFAULT '',
	pattern       TEXT    NOT NULL,
	spec          TEXT    NOT NULL DEFAULT '',
	min_digit_run INTEGER NOT NULL DEFAULT 0,
	position      INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX pii_rules_by_position ON pii_rules (position, id);
