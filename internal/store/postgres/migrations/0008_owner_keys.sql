-- The owner row of a live session keeps a SHA-256 of its creator's secure
-- key, so that any node finds the session of a client that sends the key
-- alone (CometD publishes without chatId, /genesys/2/chat-ntf file
-- operations). Rows of sessions created before this migration have none.
ALTER TABLE session_owners ADD COLUMN key_hash bytea;

CREATE INDEX session_owners_by_key ON session_owners (key_hash) WHERE key_hash IS NOT NULL;
