-- Usage at bulk rates. The foreign key from usage_logs to users ran one locking look-up per event, a third of
-- the cost of an insert; both ingestion paths check their customers once per batch instead, and every new event
-- also writes its (user, day) roll-up row in the same statement, whose own foreign key still rejects an unknown
-- customer. Users are never deleted (erasure marks them), so no event can lose its customer.
ALTER TABLE usage_logs DROP CONSTRAINT IF EXISTS usage_logs_user_id_fkey;
