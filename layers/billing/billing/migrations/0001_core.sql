-- Core TwinMCP tables: users, API keys, libraries and the append-only usage log.
CREATE TABLE users (
    id          uuid PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);

CREATE TABLE api_keys (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users(id),
    key_hash    bytea NOT NULL UNIQUE,          -- sha256 of the key; the key itself is never stored
    prefix      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE libraries (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per metered API call batch; event_id is the producer's id and makes ingestion retry-safe.
CREATE TABLE usage_logs (
    event_id     text PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 128),
    user_id      uuid NOT NULL REFERENCES users(id),
    library_id   uuid REFERENCES libraries(id),
    occurred_at  timestamptz NOT NULL,
    requests     integer NOT NULL CHECK (requests > 0),
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_logs_user_time ON usage_logs (user_id, occurred_at);

-- Daily roll-up maintained in the same statement as the insert, so a period sums ~31 rows.
CREATE TABLE usage_daily (
    user_id   uuid NOT NULL REFERENCES users(id),
    day       date NOT NULL,
    requests  bigint NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (user_id, day)
);

CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER usage_logs_append_only BEFORE UPDATE ON usage_logs
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
