-- The cluster: the node registry with leases, and one owner row per live
-- session with the epoch that fences writes.

CREATE TABLE cluster_nodes (
	id          text    NOT NULL PRIMARY KEY,
	urls        bytea   NOT NULL,
	lease_until bigint  NOT NULL,
	draining    boolean NOT NULL DEFAULT false
);

CREATE TABLE session_owners (
	session_id text   NOT NULL PRIMARY KEY,
	node_id    text   NOT NULL,
	epoch      bigint NOT NULL CHECK (epoch > 0)
);

CREATE INDEX session_owners_by_node ON session_owners (node_id);
