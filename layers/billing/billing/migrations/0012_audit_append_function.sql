-- One round trip extends the audit chain: the lock, the previous hash, the timestamp, the hash and the row, on
-- the server. The caller hands over the canonical event without its timestamp (`rest`: the JSON array's tail,
-- as billing.ports.db.audit.row_hash writes it); the hash comes out byte for byte as row_hash computes it.
-- Each statement of a VOLATILE function takes a new snapshot: the previous hash is read after the lock.
-- The lock lasts until the transaction ends, so the chain grows one commit at a time. `durable` false (reads:
-- a transaction that records that someone looked, and changes nothing) commits it without waiting for the WAL
-- flush (synchronous_commit off for this transaction only): the chain stays whole, since a later durable commit
-- flushes every earlier record; a database crash can lose the last fraction of a second of read events.
CREATE FUNCTION audit_append(lock_key bigint, p_actor text, p_action text, p_target_type text, p_target_id text,
                             p_details jsonb, p_ip text, p_user_agent text, rest text, durable boolean)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    prev bytea;
    at timestamptz;
    utc timestamp;
    iso text;
    new_seq bigint;
BEGIN
    IF NOT durable THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    PERFORM pg_advisory_xact_lock(lock_key);
    SELECT hash INTO prev FROM audit_events ORDER BY seq DESC LIMIT 1;
    at := date_trunc('milliseconds', clock_timestamp());
    utc := at AT TIME ZONE 'UTC';
    -- Python's datetime.isoformat() of an aware UTC datetime: microseconds only when not zero.
    iso := to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN date_part('microseconds', utc)::bigint % 1000000 = 0 THEN '' ELSE '.' || to_char(utc, 'US') END
        || '+00:00';
    INSERT INTO audit_events (occurred_at, actor, action, target_type, target_id, details, ip, user_agent,
                              prev_hash, hash)
    VALUES (at, p_actor, p_action, p_target_type, p_target_id, p_details, p_ip, p_user_agent, prev,
            sha256(COALESCE(prev, ''::bytea) || convert_to('["' || iso || '",' || rest, 'UTF8')))
    RETURNING seq INTO new_seq;
    RETURN new_seq;
END $$;
