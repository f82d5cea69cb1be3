-- The node holding each agent's routing desk in a cluster: one desk per
-- agent across the nodes, so its capacity is counted in one place.
CREATE TABLE cluster_desks (
    agent text NOT NULL PRIMARY KEY,
    node  text NOT NULL,
    token text NOT NULL
);
