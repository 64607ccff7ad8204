-- Audit rows also say where a request came from.
ALTER TABLE audit_events ADD COLUMN ip text, ADD COLUMN user_agent text;
