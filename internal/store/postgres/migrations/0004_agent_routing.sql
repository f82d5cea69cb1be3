-- Routing attributes of agent accounts: the BOT type, the queues an agent
-- serves (comma-separated names) and its capacity.
ALTER TABLE agents DROP CONSTRAINT agents_user_type_check;
ALTER TABLE agents ADD CONSTRAINT agents_user_type_check CHECK (user_type IN ('AGENT', 'SUPERVISOR', 'BOT'));
ALTER TABLE agents ADD COLUMN queues text NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN capacity integer NOT NULL DEFAULT 1 CHECK (capacity BETWEEN 1 AND 100);
