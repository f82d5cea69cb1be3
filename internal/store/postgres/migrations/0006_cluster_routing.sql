-- Routing across the cluster: each node's queued interactions, so agents
-- on every node are offered them, and the reservation of an open offer
-- (one node at a time offers an interaction). Times in microseconds.
CREATE TABLE cluster_routes (
    id          text   NOT NULL PRIMARY KEY,
    node        text   NOT NULL,
    queue       text   NOT NULL,
    since       bigint NOT NULL,
    interaction bytea  NOT NULL
);
CREATE INDEX cluster_routes_node ON cluster_routes (node);
CREATE TABLE cluster_offers (
    id    text   NOT NULL PRIMARY KEY,
    node  text   NOT NULL,
    until bigint NOT NULL
);
