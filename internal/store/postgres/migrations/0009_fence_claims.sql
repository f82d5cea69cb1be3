-- The claims counted per old owner: a claim of a session from a node adds
-- one to the node's row in its own transaction, so that a writer that has
-- read a session's owner row with its node's count knows the row is
-- unchanged while the count is (fencetrust.go). A node that never lost a
-- session has no row (count 0).
CREATE TABLE fence_claims (
	node_id text   NOT NULL PRIMARY KEY,
	claims  bigint NOT NULL CHECK (claims > 0)
);
